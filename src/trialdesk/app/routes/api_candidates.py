"""Candidates: the screening log, the workspace, data import, screening, review, signature."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from trialdesk.app import audit, workspace as ws
from trialdesk.app.deps import (CanDecide, CanEnroll, CanRead, CanSign, CanWrite, NowDep, RuntimeDep, SeenVersion,
                                SessionDep)
from trialdesk.app.errors import NotFound, PermissionDenied, Throttled
from trialdesk.app.schemas import (CandidateCreate, CandidatePublic, CandidateUpdate, DecisionIn, EnrollIn, LabIn,
                                   SignIn, WithdrawIn)
from trialdesk.app.security import record_attempt, throttled
from trialdesk.app.routes.api_auth import client_of

router = APIRouter(tags=["candidates"])

FHIR_BODY = {"requestBody": {"required": False, "description": "A FHIR R4 Bundle (or a bare Patient); "
                             "without a body the candidate's current data are screened again",
                             "content": {"application/fhir+json": {"schema": {"type": "object"}},
                                         "application/json": {"schema": {"type": "object"}}}}}


def _public(db, c) -> dict:  # type: ignore[no-untyped-def]
    return {"number": c.number, "cohort": c.cohort, "as_of": c.as_of, "enrollment": c.enrollment,
            "lymphodepletion": c.lymphodepletion, "infusion": c.infusion, "status": ws.status_of(db, c),
            "row_version": c.row_version}


@router.get("/candidates", tags=["screening log"])
def screening_log(auth: CanRead, db: SessionDep) -> dict:
    """Every candidate with status, cohort, failing criteria and open review items; counts."""
    return ws.screening_log(db)


@router.post("/candidates", response_model=CandidatePublic, status_code=201)
def create(body: CandidateCreate, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep) -> dict:
    c = ws.create_candidate(db, rt.engine, auth.user, now, body.cohort, body.as_of, body.enrollment, body.infusion,
                            body.lymphodepletion)
    return _public(db, c)


@router.get("/candidates/{number}")
def workspace(number: str, auth: CanRead, db: SessionDep, response: Response) -> dict:
    """The checklist (outcome, reason, evidence, clarifications, eligible_from/valid_until, needs, decision),
    the missing-data panel, the verdict and the signatures with their validity.

    ``candidate.row_version`` (also the ``ETag``) is what to send as ``If-Match`` with a change."""
    c = ws.candidate_by_number(db, number)
    response.headers["ETag"] = f'"{c.row_version}"'
    return ws.checklist(db, c)


@router.patch("/candidates/{number}", response_model=CandidatePublic)
def change(number: str, body: CandidateUpdate, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
           seen: SeenVersion) -> dict:
    c = ws.candidate_by_number(db, number)
    changes = body.model_dump(exclude_unset=True, exclude={"reason"})
    return _public(db, ws.update_candidate(db, rt.engine, auth.user, now, c, changes, body.reason, seen=seen))


@router.post("/candidates/{number}/screenings", openapi_extra=FHIR_BODY)
async def screen(number: str, request: Request, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
                 seen: SeenVersion,
                 cohort: Annotated[str | None, Query(max_length=16)] = None, as_of: date | None = None,
                 enrollment: date | None = None, infusion: date | None = None) -> JSONResponse:
    """Import a FHIR bundle (if one is posted) and screen; returns the ``trialdesk screen`` JSON object.

    Query parameters that are given change the candidate's cohort and dates first.
    """
    c = await run_in_threadpool(ws.candidate_by_number, db, number)
    changes = {k: v for k, v in {"cohort": cohort, "as_of": as_of, "enrollment": enrollment,
                                  "infusion": infusion}.items() if v is not None}
    body = await request.body()
    if changes:
        await run_in_threadpool(ws.update_candidate, db, rt.engine, auth.user, now, c, changes, rescreen=False,
                                seen=seen)
        if seen is not None:  # the version this request's own change left: the screening below follows it
            seen = c.row_version
    if body.strip():
        s = await run_in_threadpool(ws.import_bundle, db, rt.engine, auth.user, now, c, body, seen=seen)
    else:
        s = await run_in_threadpool(ws.run_screening, db, rt.engine, auth.user, now, c, seen=seen)
    return JSONResponse(json.loads(s.result), headers={"Location": f"/api/candidates/{c.number}"})


@router.get("/candidates/{number}/screening")
def current_screening(number: str, auth: CanRead, db: SessionDep) -> dict:
    """The current screening's ``trialdesk screen`` JSON object."""
    return ws.screen_json(db, ws.candidate_by_number(db, number))


@router.get("/candidates/{number}/bundle", responses={200: {"description": "The FHIR R4 Bundle", "content": {
    "application/fhir+json": {"schema": {"type": "object"}}}}})
def bundle(number: str, auth: CanRead, db: SessionDep, now: NowDep) -> JSONResponse:
    """The candidate's current FHIR bundle (an export: recorded in the audit trail)."""
    c = ws.candidate_by_number(db, number)
    dv = ws.latest_data(db, c)
    if dv is None:
        raise NotFound(f"no data for {c.number}")
    audit.append(db, at=now, actor=auth.user, action="export", history_type="=", entity_type="data",
                 entity_key=c.number, new={"version": dv.version, "sha256": dv.sha256, "format": "fhir+json"})
    db.commit()
    return JSONResponse(json.loads(dv.content), media_type="application/fhir+json")


@router.post("/candidates/{number}/labs")
def add_lab(number: str, body: LabIn, auth: CanWrite, db: SessionDep, rt: RuntimeDep, now: NowDep,
            seen: SeenVersion) -> dict:
    """Enter one lab result by form (a new data version); the candidate is screened again."""
    c = ws.candidate_by_number(db, number)
    ws.add_lab(db, rt.engine, auth.user, now, c, body.measure, body.value, body.unit, body.date, body.reference_high,
               seen=seen)
    return ws.checklist(db, c)


@router.post("/candidates/{number}/decisions", tags=["review"])
def decide(number: str, body: DecisionIn, auth: CanDecide, db: SessionDep, now: NowDep, seen: SeenVersion) -> dict:
    """Resolve one ``review`` item with a decision (pass/fail) and a reason."""
    c = ws.candidate_by_number(db, number)
    ws.decide(db, auth.user, now, c, body.criterion_id, body.decision, body.reason, seen=seen)
    return ws.checklist(db, c)


def check_signer_password(db, rt, auth, password: str, request: Request, now) -> None:  # type: ignore[no-untyped-def]
    """The signer re-enters the password; failures count towards log-in throttling."""
    client = client_of(request)
    if throttled(db, rt.settings, auth.user.username, client, now):
        raise Throttled("too many failed password entries: try again later")
    if not rt.passwords.verify(auth.user, password):
        record_attempt(db, auth.user.username, client, now, False)
        audit.append(db, at=now, actor=auth.user, action="sign_failed", history_type="=", entity_type="signature",
                     entity_key=auth.user.username, reason="password does not match")
        db.commit()
        raise PermissionDenied("the password does not match: not signed")


@router.post("/candidates/{number}/signatures", tags=["review"], status_code=201)
def sign(number: str, body: SignIn, request: Request, auth: CanSign, db: SessionDep, rt: RuntimeDep,
         now: NowDep, seen: SeenVersion) -> dict:
    """Sign the eligibility decision for the current state by entering the password again."""
    c = ws.candidate_by_number(db, number)
    check_signer_password(db, rt, auth, body.password, request, now)
    sig = ws.sign(db, auth.user, now, c, seen=seen)
    return ws.signature_json(sig, ws.state_of(db, c))


@router.post("/candidates/{number}/enroll", response_model=CandidatePublic)
def enroll(number: str, body: EnrollIn, auth: CanEnroll, db: SessionDep, now: NowDep, seen: SeenVersion) -> dict:
    c = ws.candidate_by_number(db, number)
    return _public(db, ws.enroll(db, auth.user, now, c, body.subject_id, seen=seen))


@router.post("/candidates/{number}/withdraw", response_model=CandidatePublic)
def withdraw(number: str, body: WithdrawIn, auth: CanWrite, db: SessionDep, now: NowDep, seen: SeenVersion) -> dict:
    c = ws.candidate_by_number(db, number)
    return _public(db, ws.withdraw(db, auth.user, now, c, body.reason, seen=seen))
