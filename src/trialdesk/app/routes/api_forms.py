"""Data entry by form and corrections (JSON): each entry is a new data version, then a new screening.

Every route answers with the candidate's checklist, as ``GET /api/candidates/{number}`` does.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from sqlalchemy.orm import Session

from trialdesk.app import data_entry, forms, workspace as ws
from trialdesk.app.deps import (Auth, CanAttest, CanRead, CanWrite, NowDep, Runtime, RuntimeDep, SeenVersion,
                                SessionDep)
from trialdesk.app.errors import Invalid
from trialdesk.app.form_schemas import (AttestationIn, CorrectableIn, CorrectionIn, EcgIn, EularIn, MedicationIn,
                                        PerformanceIn, SledaiIn)

router = APIRouter(tags=["data entry"])


def _enter(db: Session, rt: Runtime, auth: Auth, now: datetime, number: str, built: forms.Built,
           body: CorrectableIn, seen: int | None) -> dict:
    c = ws.candidate_by_number(db, number)
    data_entry.enter(db, rt.engine, auth.user, now, c, built, body.replaces, body.reason, seen)
    return ws.checklist(db, c)


@router.get("/candidates/{number}/records")
def records(number: str, auth: CanRead, db: SessionDep, rt: RuntimeDep) -> dict:
    """The records of the current data version (record id, type, what, date, form or import), to correct."""
    return data_entry.records(db, ws.candidate_by_number(db, number), rt.engine.protocol)


@router.post("/candidates/{number}/performance-status")
def performance(number: str, body: PerformanceIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
                seen: SeenVersion) -> dict:
    """ECOG, Karnofsky or Lansky score (INC-ECOG)."""
    built = forms.performance(rt.engine.protocol, body.scale, body.score, body.date, now.date())
    return _enter(db, rt, auth, now, number, built, body, seen)


@router.post("/candidates/{number}/ecg")
def ecg(number: str, body: EcgIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
        seen: SeenVersion) -> dict:
    """ECG impression (INC-ECG). LVEF is a numeric result: ``POST .../labs`` with measure ``lvef``."""
    built = forms.ecg(rt.engine.protocol, body.impression, body.date, now.date(), body.finding)
    return _enter(db, rt, auth, now, number, built, body, seen)


@router.post("/candidates/{number}/sledai-2k")
def sledai(number: str, body: SledaiIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
           seen: SeenVersion) -> dict:
    """SLEDAI-2K descriptor checklist of one visit (SLE-SLEDAI, SLE-NO-CNS, EXC-CNS)."""
    built = forms.sledai(rt.engine.protocol, body.descriptors, body.date, now.date())
    return _enter(db, rt, auth, now, number, built, body, seen)


@router.post("/candidates/{number}/eular-acr-2019")
def eular(number: str, body: EularIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
          seen: SeenVersion) -> dict:
    """2019 EULAR/ACR items, and optionally the ANA titer (SLE-CLASSIFICATION)."""
    if body.replaces and body.ana_titer is not None:
        raise Invalid("a correction replaces one record: correct the assessment and the ANA titer separately")
    built = forms.eular(rt.engine.protocol, body.items, body.date, now.date(), body.ana_titer, body.ana_date)
    return _enter(db, rt, auth, now, number, built, body, seen)


@router.post("/candidates/{number}/medications")
def medication(number: str, body: MedicationIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
               seen: SeenVersion) -> dict:
    """A course of a drug with dose, unit, route and period (the medication criteria)."""
    built = forms.medication(rt.engine.protocol, body.drug, body.dose, body.unit, body.route, body.start, now.date(),
                             body.end, body.frequency, body.period, body.period_unit, body.record)
    return _enter(db, rt, auth, now, number, built, body, seen)


@router.post("/candidates/{number}/attestations")
def attestation(number: str, body: AttestationIn, auth: CanAttest, db: SessionDep, rt: RuntimeDep, now: NowDep,
                seen: SeenVersion) -> dict:
    """An investigator's attestation (consent, survival, contraception, ...), with who and when."""
    built = forms.attestation(rt.engine.protocol, body.code, body.value, body.date or now.date(), auth.user, now)
    return _enter(db, rt, auth, now, number, built, body, seen)


@router.post("/candidates/{number}/corrections")
def correction(number: str, body: CorrectionIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
               seen: SeenVersion) -> dict:
    """Remove a record of the current data, or replace it with a corrected resource; a reason is required."""
    if (body.action == "replace") != (body.resource is not None):
        raise Invalid("'replace' needs the corrected resource; 'remove' takes none")
    c = ws.candidate_by_number(db, number)
    data_entry.correct(db, rt.engine, auth.user, now, c, body.record, body.reason, body.resource, seen)
    return ws.checklist(db, c)
