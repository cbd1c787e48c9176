"""The workspace page's data-entry and correction forms (``_forms.html``); they post here.

Each handler parses the form fields, calls the same :mod:`trialdesk.app.forms` functions as the
JSON API and returns to the form's section of the workspace page.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from trialdesk.app import data_entry, forms, workspace as ws
from trialdesk.app.deps import Auth, CanAttest, CanWrite, NowDep, Runtime, RuntimeDep, SeenVersion, SessionDep
from trialdesk.app.errors import Invalid
from trialdesk.app.routes.pages import Text, _date

router = APIRouter(include_in_schema=False)

Short = Annotated[str, Form(max_length=80)]
Ref = Annotated[str, Form(max_length=120)]  # "Type/id": a FHIR id has up to 64 characters
MAX_RESOURCE = 100_000


def _float(value: str, name: str) -> float:
    try:
        return float(value.strip())
    except ValueError:
        raise Invalid(f"{name}: {value!r} is not a number") from None


def _int(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise Invalid(f"{name}: {value!r} is not a whole number") from None


def _required_date(value: str, name: str) -> date:
    found = _date(value, name)
    if found is None:
        raise Invalid(f"{name} is required")
    return found


def _enter(db: Session, rt: Runtime, auth: Auth, now: datetime, number: str, built: forms.Built, replaces: str,
           reason: str, seen: int | None, section: str) -> Response:
    c = ws.candidate_by_number(db, number)
    data_entry.enter(db, rt.engine, auth.user, now, c, built, replaces.strip() or None, reason or None, seen)
    return RedirectResponse(f"/candidates/{c.number}#{section}", status_code=303)


@router.post("/candidates/{number}/performance-status")
def performance(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
                scale: Short, score: Short, when: Short, replaces: Ref = "", reason: Text = "") -> Response:
    built = forms.performance(rt.engine.protocol, scale, _int(score, "score"),
                              _required_date(when, "assessment date"), now.date())
    return _enter(db, rt, auth, now, number, built, replaces, reason, seen, "form-performance")


@router.post("/candidates/{number}/ecg")
def ecg(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
        impression: Short, when: Short, finding: Text = "", replaces: Ref = "", reason: Text = "") -> Response:
    built = forms.ecg(rt.engine.protocol, impression, _required_date(when, "ECG date"), now.date(), finding)
    return _enter(db, rt, auth, now, number, built, replaces, reason, seen, "form-cardiac")


@router.post("/candidates/{number}/sledai-2k")
def sledai(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
           when: Short, descriptors: Annotated[list[str], Form(max_length=24)] = [],  # noqa: B006 - FastAPI default
           replaces: Ref = "", reason: Text = "") -> Response:
    built = forms.sledai(rt.engine.protocol, descriptors, _required_date(when, "visit date"), now.date())
    return _enter(db, rt, auth, now, number, built, replaces, reason, seen, "form-sledai")


@router.post("/candidates/{number}/eular-acr-2019")
def eular(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
          when: Short, items: Annotated[list[str], Form(max_length=21)] = [],  # noqa: B006 - FastAPI default
          ana_titer: Short = "", ana_date: Short = "", replaces: Ref = "", reason: Text = "") -> Response:
    titer = _int(ana_titer, "ANA titer") if ana_titer.strip() else None
    if replaces.strip() and titer is not None:
        raise Invalid("a correction replaces one record: correct the assessment and the ANA titer separately")
    built = forms.eular(rt.engine.protocol, items, _required_date(when, "assessment date"), now.date(), titer,
                        _date(ana_date, "ANA date"))
    return _enter(db, rt, auth, now, number, built, replaces, reason, seen, "form-eular")


@router.post("/candidates/{number}/medications")
def medication(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
               drug: Short, dose: Short, unit: Short, route: Short, start: Short, end: Short = "",
               frequency: Short = "1", period: Short = "1", period_unit: Short = "d", record: Short = "statement",
               replaces: Ref = "", reason: Text = "") -> Response:
    built = forms.medication(rt.engine.protocol, drug, _float(dose, "dose"), unit, route,
                             _required_date(start, "start date"), now.date(), _date(end, "end date"),
                             _int(frequency, "doses per period"), _float(period, "period"), period_unit,
                             record)
    return _enter(db, rt, auth, now, number, built, replaces, reason, seen, "form-medication")


@router.post("/candidates/{number}/attestations")
def attestation(number: str, auth: CanAttest, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
                code: Short, value: Short, when: Short = "", replaces: Ref = "", reason: Text = "") -> Response:
    if value not in ("yes", "no"):
        raise Invalid(f"the answer must be yes or no, not {value!r}")
    built = forms.attestation(rt.engine.protocol, code, value == "yes", _date(when, "attestation date") or now.date(),
                              auth.user, now)
    return _enter(db, rt, auth, now, number, built, replaces, reason, seen, "form-attestation")


@router.post("/candidates/{number}/corrections")
def correction(number: str, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep, seen: SeenVersion,
               record: Ref, action: Short, reason: Text,
               resource: Annotated[str, Form(max_length=MAX_RESOURCE)] = "") -> Response:
    if action not in ("remove", "replace"):
        raise Invalid(f"the action must be remove or replace, not {action!r}")
    replacement = None
    if action == "replace":
        try:
            replacement = json.loads(resource)
        except ValueError as exc:
            raise Invalid(f"the corrected resource is not JSON: {exc}") from None
    c = ws.candidate_by_number(db, number)
    data_entry.correct(db, rt.engine, auth.user, now, c, record, reason, replacement, seen)
    return RedirectResponse(f"/candidates/{c.number}#records", status_code=303)
