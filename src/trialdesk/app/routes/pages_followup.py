"""Follow-up pages: the subject page (schedule, endpoints, timeline, entry forms) and the cohort page.

The forms build the same items of the follow-up file format as the JSON API and go through the
same checks (:mod:`trialdesk.app.followup_records`): a field the reader refuses is a 422 page
naming where and why. An empty field is left out (missing), never zero.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from trialdesk.app import followup_records as fr, followup_views as fv, workspace as ws
from trialdesk.app.deps import (Auth, CanAssess, CanReadFollowup, CanWriteFollowup, NowDep, Runtime, RuntimeDep,
                                SeenVersion, SessionDep)
from trialdesk.app.errors import Conflict, Invalid, TooLarge
from trialdesk.app.routes.api_followup import may_assess, merge_visit, put_item, visit_label
from trialdesk.app.routes.pages import render
from trialdesk.calculators.crs_astct import DOMAINS as CRS_DOMAINS
from trialdesk.calculators.icans_astct import DOMAINS as ICANS_DOMAINS
from trialdesk.calculators.sledai_2k import DESCRIPTORS
from trialdesk.followup.records import BILAG_DOMAINS, BILAG_GRADES, DOSE_KINDS, LAB_TESTS, MEDICATION_KINDS, VITALS

router = APIRouter(include_in_schema=False)

MAX_FIELD = 2000


def _fields(form: Any) -> dict[str, str]:
    """The form's text fields, stripped (the CSRF token and row version left out)."""
    out = {}
    for key, value in form.multi_items():
        if isinstance(value, str) and key not in ("csrf_token", "row_version"):
            if len(value) > MAX_FIELD:
                raise Invalid(f"{key}: at most {MAX_FIELD} characters")
            out[key] = value.strip()
    return out


def _number(text: str) -> Any:
    """A number as the file would hold it; text that is not one is passed on for the reader to refuse."""
    try:
        return int(text) if text.lstrip("-").isdigit() else float(text)
    except ValueError:
        return text


def _given(f: dict[str, str], **keys: str) -> dict[str, Any]:
    """``{item key: value}`` for the non-empty form fields ``{item key: field name}``."""
    return {k: f[name] for k, name in keys.items() if f.get(name)}


def _yes_no(text: str) -> bool | str:
    return {"yes": True, "no": False}.get(text, text)


def _visit_head(f: dict[str, str]) -> dict[str, Any]:
    return {"visit": f.get("visit", ""), "date": f.get("date", "")}


def _back(number: str, section: str) -> RedirectResponse:
    return RedirectResponse(f"/candidates/{number}/followup#{section}", status_code=303)


async def _save(request: Request, db: Session, rt: Runtime, auth: Auth, now: datetime, seen: int | None, number: str,
                section: str, what: Callable[[dict[str, str]], str],
                build: Callable[[dict, dict[str, str]], dict]) -> Response:
    """Build the entry from the form fields, store it (:func:`followup_records.change`), back to the section."""
    f = _fields(await request.form())
    c = ws.candidate_by_number(db, number)
    await run_in_threadpool(fr.change, db, rt.engine.protocol, auth.user, now, c, "form", what(f),
                            lambda doc: build(doc, f), f.get("reason") or None, may_assess(auth), seen)
    return _back(c.number, section)


@router.get("/candidates/{number}/followup")
def followup_page(number: str, request: Request, auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep,
                  now: NowDep) -> HTMLResponse:
    """The subject page; a candidate that cannot have a follow-up yet gets the reason."""
    c = ws.candidate_by_number(db, number)
    protocol = rt.engine.protocol
    try:
        view = fv.subject_view(db, protocol, c, now.date())
    except Conflict as exc:
        return render(request, "followup.html", auth, c=c, v=None, problem=exc.message)
    return render(request, "followup.html", auth, c=c, v=view, problem=None, schedule=protocol.schedule,
                  lab_tests=LAB_TESTS, vitals=VITALS, dose_kinds=DOSE_KINDS, medication_kinds=MEDICATION_KINDS,
                  sledai=DESCRIPTORS, bilag_domains=BILAG_DOMAINS, bilag_grades=BILAG_GRADES,
                  crs=CRS_DOMAINS, icans=ICANS_DOMAINS)


@router.post("/candidates/{number}/followup/import")
async def import_page(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                      now: NowDep, seen: SeenVersion) -> Response:
    """Import a follow-up file (YAML or JSON) for this subject."""
    form = await request.form()
    upload = form.get("document")
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise Invalid("document: choose a follow-up file (YAML or JSON)")
    content = await upload.read()
    if len(content) > rt.settings.max_upload_bytes:
        raise TooLarge("the file is over the upload limit")
    protocol = rt.engine.protocol
    raw = fr.parse_upload(content, upload.filename.lower().endswith(".json"), protocol.id)
    c = ws.candidate_by_number(db, number)
    reason = _fields(form).get("reason") or None
    await run_in_threadpool(fr.import_document, db, protocol, auth.user, now, c, raw, reason,
                            may_assess(auth), seen)
    return _back(c.number, "followup-import")


def _replaces(f: dict[str, str]) -> int | None:
    text = f.get("replaces", "")
    if not text:
        return None
    if not text.isdigit():
        raise Invalid(f"replaces: {text!r} is not an entry number")
    return int(text)


def _dose(doc: dict, f: dict[str, str]) -> dict:
    item = {**_given(f, kind="kind", agent="agent", unit="unit", date="date", lot="lot"),
            **({"dose": _number(f["dose"])} if f.get("dose") else {})}
    return put_item(doc, "doses", item, _replaces(f))


@router.post("/candidates/{number}/followup/doses")
async def dose_page(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                    now: NowDep, seen: SeenVersion) -> Response:
    return await _save(request, db, rt, auth, now, seen, number, "followup-doses", lambda f: "dose", _dose)


def _visit(doc: dict, f: dict[str, str]) -> dict:
    entry = _visit_head(f)
    vitals = {k: _number(f[f"vital-{k}"]) for k in VITALS if f.get(f"vital-{k}")}
    labs = {}
    for test in LAB_TESTS:
        if not f.get(f"lab-{test}-value"):
            continue
        labs[test] = {"value": _number(f[f"lab-{test}-value"]), "unit": f.get(f"lab-{test}-unit", ""),
                      **{k: _number(f[f"lab-{test}-{k}"]) for k in ("low", "high") if f.get(f"lab-{test}-{k}")}}
    if vitals:
        entry["vitals"] = vitals
    if labs:
        entry["labs"] = labs
    return merge_visit(doc, entry)


@router.post("/candidates/{number}/followup/visits")
async def visit_page(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                     now: NowDep, seen: SeenVersion) -> Response:
    return await _save(request, db, rt, auth, now, seen, number, "followup-visit",
                       lambda f: visit_label(_visit_head(f)), _visit)


def _activity(doc: dict, f: dict[str, str]) -> dict:
    entry = _visit_head(f)
    if f.get("sledai-scored") == "yes":
        entry["sledai"] = [d.code for d in DESCRIPTORS if f.get(f"sledai-{d.code}") == "on"]
    if f.get("pga"):
        entry["pga"] = _number(f["pga"])
    bilag = {d: f[f"bilag-{d}"] for d in BILAG_DOMAINS if f.get(f"bilag-{d}")}
    if bilag:
        entry["bilag"] = bilag
    for key in ("hemolytic_anemia", "gi_activity"):
        if f.get(key):
            entry[key] = _yes_no(f[key])
    return merge_visit(doc, entry)


@router.post("/candidates/{number}/followup/disease-activity")
async def activity_page(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                        now: NowDep, seen: SeenVersion) -> Response:
    return await _save(request, db, rt, auth, now, seen, number, "followup-activity",
                       lambda f: visit_label(_visit_head(f)), _activity)


def _crs_icans(doc: dict, f: dict[str, str]) -> dict:
    entry = _visit_head(f)
    crs = _given(f, fever="crs-fever", hypotension="crs-hypotension", hypoxia="crs-hypoxia")
    if crs:
        entry["crs"] = crs
    icans = {**_given(f, consciousness="icans-consciousness", seizure="icans-seizure",
                      motor_weakness="icans-motor-weakness", cerebral_edema="icans-cerebral-edema"),
             **{k: _number(f[f"icans-{k}"]) for k in ("ice", "capd") if f.get(f"icans-{k}")}}
    if icans:
        entry["icans"] = icans
    if not crs and not icans:
        raise Invalid("enter the CRS domains, the ICANS domains, or both")
    return merge_visit(doc, entry)


@router.post("/candidates/{number}/followup/crs-icans")
async def crs_icans_page(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                         now: NowDep, seen: SeenVersion) -> Response:
    return await _save(request, db, rt, auth, now, seen, number, "followup-crs-icans",
                       lambda f: visit_label(_visit_head(f)), _crs_icans)


def _medication(doc: dict, f: dict[str, str]) -> dict:
    item = _given(f, drug="drug", kind="kind", start="start", end="end")
    if f.get("daily_dose_mg"):
        item["daily_dose_mg"] = _number(f["daily_dose_mg"])
    if not item and not f.get("complete_through"):
        raise Invalid("enter a medication, the date the list is complete through, or both")
    if item:
        doc = put_item(doc, "medications", item, _replaces(f))
    if f.get("complete_through"):
        doc = {**doc, "medications_complete_through": f["complete_through"]}
    return doc


@router.post("/candidates/{number}/followup/medications")
async def medication_page(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                          now: NowDep, seen: SeenVersion) -> Response:
    return await _save(request, db, rt, auth, now, seen, number, "followup-medications", lambda f: "medication",
                       _medication)


def _adverse_event(doc: dict, f: dict[str, str]) -> dict:
    item: dict[str, Any] = _given(f, term="term", onset="onset", resolved="resolved")
    if f.get("grade"):
        item["grade"] = _number(f["grade"])
    for key in ("serious", "related", "infection"):
        if f.get(key):
            item[key] = _yes_no(f[key])
    return put_item(doc, "adverse_events", item, _replaces(f))


@router.post("/candidates/{number}/followup/adverse-events")
async def adverse_event_page(number: str, request: Request, auth: CanAssess, db: SessionDep, rt: RuntimeDep,
                             now: NowDep, seen: SeenVersion) -> Response:
    return await _save(request, db, rt, auth, now, seen, number, "followup-adverse-events",
                       lambda f: "adverse event", _adverse_event)


@router.get("/followup")
def cohort_page(request: Request, auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
                visit: str | None = None) -> HTMLResponse:
    """Cohort tables (rates with Wilson 95 % intervals, worst toxicity grades), the swimmer plot, exports."""
    view = fv.cohort_view(db, rt.engine.protocol, now.date(), visit or None)
    return render(request, "followup_cohort.html", auth, v=view, domains=fv.DOMAINS)
