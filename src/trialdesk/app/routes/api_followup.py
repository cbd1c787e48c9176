"""Follow-up of enrolled subjects (issue 6): the record (import, entries), the subject view, figures,
cohort tables and SDTM exports.

Each entry is one item of the follow-up file format (docs/followup.md) as JSON; it is added to the
subject's document, which is checked whole by the file reader: a 422 names ``where`` and ``why``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import Field

from trialdesk.app import audit, followup_records as fr, followup_views as fv, workspace as ws
from trialdesk.app.deps import (PERMISSIONS, Auth, CanAssess, CanReadFollowup, CanWriteFollowup, NowDep, RuntimeDep,
                                SeenVersion, SessionDep)
from trialdesk.app.errors import Invalid
from trialdesk.app.schemas import Strict

router = APIRouter(tags=["follow-up"])

Reason = Annotated[str | None, Field(None, max_length=2000, description="Why: required when a recorded value "
                                                                        "is changed or removed")]


class DoseIn(Strict):
    dose: dict[str, Any] = Field(description="{kind: lymphodepletion | car-nk, agent, dose, unit, date, lot}")
    replaces: int | None = Field(None, ge=0, description="Index of the dose this entry corrects")
    reason: Reason = None


class VisitIn(Strict):
    visit: dict[str, Any] = Field(description="{visit, date, vitals, labs, sledai, pga, bilag, hemolytic_anemia, "
                                              "gi_activity, crs, icans}: merged into the visit with that id "
                                              "(unscheduled: that id and date)")
    reason: Reason = None


class MedicationIn(Strict):
    medication: dict[str, Any] | None = Field(None, description="{drug, kind, daily_dose_mg, start, end}")
    replaces: int | None = Field(None, ge=0)
    medications_complete_through: str | None = Field(None, max_length=10)
    reason: Reason = None


class AdverseEventIn(Strict):
    adverse_event: dict[str, Any] = Field(description="{term, grade, onset, resolved, serious, related, infection}")
    replaces: int | None = Field(None, ge=0)
    reason: Reason = None


def may_assess(auth: Auth) -> bool:
    """Whether ``auth`` may set the investigator's values (AE seriousness and relatedness, PGA, BILAG)."""
    return auth.user.role in PERMISSIONS["followup:assess"]


def _version(f) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return {"version": f.version, "sha256": f.sha256, "kind": f.kind, "created_at": f.created_at.isoformat()}


def put_item(doc: dict[str, Any], key: str, item: Any, replaces: int | None) -> dict[str, Any]:
    """``doc`` with ``item`` appended to list ``key``, or in place of entry ``replaces``."""
    items = list(doc.get(key, []))
    if replaces is None:
        items.append(item)
    elif 0 <= replaces < len(items):
        items[replaces] = item
    else:
        raise fr.FollowupRefused("replaces", f"there is no {key}[{replaces}] (the record has {len(items)})")
    return {**doc, key: items}


def merge_visit(doc: dict[str, Any], entry: Any) -> dict[str, Any]:
    """``doc`` with ``entry`` merged into the visit of the same id (unscheduled: same id and date).

    Vitals and labs are merged key by key; every other key given replaces the visit's.
    """
    if not isinstance(entry, dict):
        return {**doc, "visits": [*doc.get("visits", []), entry]}  # the reader names the problem
    visits = list(doc.get("visits", []))
    same = [i for i, v in enumerate(visits) if isinstance(v, dict) and v.get("visit") == entry.get("visit")
            and (entry.get("visit") != "unscheduled" or v.get("date") == entry.get("date"))]
    if not same:
        return {**doc, "visits": [*visits, entry]}
    merged = dict(visits[same[0]])
    for key, value in entry.items():
        if key in ("vitals", "labs") and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    visits[same[0]] = merged
    return {**doc, "visits": visits}


def visit_label(entry: Any) -> str:
    return f"visit {entry.get('visit')} {entry.get('date')}" if isinstance(entry, dict) else "visit"


@router.get("/candidates/{number}/followup")
def followup(number: str, auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep) -> dict:
    """The subject as of today: schedule (due, overdue, done, out of window, what each visit collects and
    what a visit done lacks), endpoints per visit, safety summary (worst CRS/ICANS, DLT window), records."""
    c = ws.candidate_by_number(db, number)
    return fv.subject_view(db, rt.engine.protocol, c, now.date())


FILE_BODY = {"requestBody": {"required": True, "description": "A follow-up file (docs/followup.md) with this one "
                                                             "subject, or the subject's mapping alone",
                             "content": {"application/yaml": {"schema": {"type": "string"}},
                                         "application/json": {"schema": {"type": "object"}}}}}


@router.post("/candidates/{number}/followup", status_code=201, openapi_extra=FILE_BODY)
async def import_followup(number: str, request: Request, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                          now: NowDep, seen: SeenVersion,
                          reason: Annotated[str | None, Query(max_length=2000)] = None) -> dict:
    """Import the subject's record: a follow-up file (YAML, or JSON with a JSON content type) with this one
    subject, or the subject's mapping alone. It replaces the record as the next version."""
    content = await request.body()
    protocol = rt.engine.protocol
    raw = fr.parse_upload(content, "json" in request.headers.get("content-type", ""), protocol.id)
    c = ws.candidate_by_number(db, number)
    f = await run_in_threadpool(fr.import_document, db, protocol, auth.user, now, c, raw, reason,
                                may_assess(auth), seen)
    return _version(f)


@router.get("/candidates/{number}/followup/versions")
def followup_versions(number: str, auth: CanReadFollowup, db: SessionDep) -> list[dict]:
    """Every stored version of the record (none is ever overwritten)."""
    return [_version(f) for f in fr.versions(db, ws.candidate_by_number(db, number))]


@router.get("/candidates/{number}/followup/document", response_class=Response)
def followup_document(number: str, auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
                      format: Literal["yaml", "json"] = "yaml") -> Response:
    """The record as a follow-up file with this one subject (audited as an export: it holds the birth date)."""
    c = ws.candidate_by_number(db, number)
    doc = {"protocol": rt.engine.protocol.id, "subjects": [fr.document(db, c)]}
    body = (json.dumps(doc, ensure_ascii=False, indent=2) if format == "json"
            else yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)).encode("utf-8")
    audit.append(db, at=now, actor=auth.user, action="export", history_type="=", entity_type="followup",
                 entity_key=c.number, new={"format": format, "sha256": hashlib.sha256(body).hexdigest()})
    db.commit()
    return Response(body, media_type="application/json" if format == "json" else "application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="followup-{c.number}.{format}"'})


@router.post("/candidates/{number}/followup/doses", status_code=201)
def add_dose(number: str, body: DoseIn, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
             seen: SeenVersion) -> dict:
    """Lymphodepletion or CAR-NK dosing: agent, dose, unit, date, lot."""
    c = ws.candidate_by_number(db, number)
    return _version(fr.change(db, rt.engine.protocol, auth.user, now, c, "form", "dose",
                              lambda doc: put_item(doc, "doses", body.dose, body.replaces), body.reason,
                              may_assess(auth), seen))


@router.post("/candidates/{number}/followup/visits", status_code=201)
def add_visit(number: str, body: VisitIn, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
              seen: SeenVersion) -> dict:
    """A visit's data: vital signs, labs (value, unit, low/high), SLEDAI-2K descriptors, CRS and ICANS domains
    (graded by the ASTCT calculators, never typed); PGA and BILAG by the investigator only."""
    c = ws.candidate_by_number(db, number)
    return _version(fr.change(db, rt.engine.protocol, auth.user, now, c, "form", visit_label(body.visit),
                              lambda doc: merge_visit(doc, body.visit), body.reason, may_assess(auth), seen))


@router.post("/candidates/{number}/followup/medications", status_code=201)
def add_medication(number: str, body: MedicationIn, auth: CanWriteFollowup, db: SessionDep, rt: RuntimeDep,
                   now: NowDep, seen: SeenVersion) -> dict:
    """A concomitant glucocorticoid, immunosuppressant, biologic or antimalarial, and/or the date up to which
    the medication list is complete."""
    if body.medication is None and body.medications_complete_through is None:
        raise Invalid("give a medication, medications_complete_through, or both")

    def build(doc: dict[str, Any]) -> dict[str, Any]:
        if body.medication is not None:
            doc = put_item(doc, "medications", body.medication, body.replaces)
        if body.medications_complete_through is not None:
            doc = {**doc, "medications_complete_through": body.medications_complete_through}
        return doc

    c = ws.candidate_by_number(db, number)
    return _version(fr.change(db, rt.engine.protocol, auth.user, now, c, "form", "medication", build, body.reason,
                              may_assess(auth), seen))


@router.post("/candidates/{number}/followup/adverse-events", status_code=201)
def add_adverse_event(number: str, body: AdverseEventIn, auth: CanAssess, db: SessionDep, rt: RuntimeDep,
                      now: NowDep, seen: SeenVersion) -> dict:
    """An adverse event (CTCAE v5 term and grade, onset, resolution, serious, related, infection), by the
    investigator."""
    c = ws.candidate_by_number(db, number)
    return _version(fr.change(db, rt.engine.protocol, auth.user, now, c, "form", "adverse event",
                              lambda doc: put_item(doc, "adverse_events", body.adverse_event, body.replaces),
                              body.reason, True, seen))


def _figure(body: bytes, suffix: str, name: str, download: bool) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.{suffix}"'} if download else {}
    return Response(body, media_type=fv.FIGURE_TYPES[suffix], headers=headers)


def _timeline(number: str, suffix: str, db, rt, now, download: bool) -> Response:  # type: ignore[no-untyped-def]
    c = ws.candidate_by_number(db, number)
    return _figure(fv.figure(db, rt.engine.protocol, c, now.date(), suffix), suffix, f"timeline-{c.number}", download)


@router.get("/candidates/{number}/followup/timeline.svg", response_class=Response)
def timeline_svg(number: str, auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
                 download: bool = False) -> Response:
    """The subject's timeline as SVG: disease activity, UPCR, CD19, IgG, steroid dose; CRS/ICANS grades, lab
    CTCAE grades and adverse events; the DLT window shaded. ``download`` sends it as an attachment."""
    return _timeline(number, "svg", db, rt, now, download)


@router.get("/candidates/{number}/followup/timeline.png", response_class=Response)
def timeline_png(number: str, auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
                 download: bool = False) -> Response:
    """The subject's timeline as PNG."""
    return _timeline(number, "png", db, rt, now, download)


@router.get("/followup/cohort")
def cohort(auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
           visit: Annotated[str | None, Query(max_length=20)] = None) -> dict:
    """Remission rates with Wilson 95 % intervals at ``visit`` (default: the latest visit any subject has done)
    and worst CRS, ICANS, cytopenia and laboratory toxicity grades, per cohort."""
    return fv.cohort_view(db, rt.engine.protocol, now.date(), visit)


@router.get("/followup/swimmer.svg", response_class=Response)
def swimmer_svg(auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep, download: bool = False) -> Response:
    """The swimmer plot of every subject with a follow-up record, as SVG."""
    return _figure(fv.swimmer(db, rt.engine.protocol, now.date(), "svg"), "svg", "swimmer", download)


@router.get("/followup/swimmer.png", response_class=Response)
def swimmer_png(auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep, download: bool = False) -> Response:
    """The swimmer plot as PNG."""
    return _figure(fv.swimmer(db, rt.engine.protocol, now.date(), "png"), "png", "swimmer", download)


@router.get("/followup/export.csv", response_class=Response)
def export_csv(auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep,
               domain: Literal["dm", "ex", "ae", "lb", "vs", "subjects"]) -> Response:
    """One SDTM-named domain as CSV (DM, EX, AE, LB, VS, or the subject-level summary), audited as an export."""
    body, _ = fv.export(db, rt.engine.protocol, auth.user, now, domain)
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{domain}.csv"'})


@router.get("/followup/export.zip", response_class=Response)
def export_zip(auth: CanReadFollowup, db: SessionDep, rt: RuntimeDep, now: NowDep) -> Response:
    """Every domain (dm, ex, ae, lb, vs, subjects .csv) in one zip, audited as an export."""
    body, _ = fv.export(db, rt.engine.protocol, auth.user, now, None)
    return Response(body, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="followup-sdtm-{now.date()}.zip"'})
