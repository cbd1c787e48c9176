"""What the follow-up pages and API show: a subject's schedule and endpoints, the figures, the cohort
tables and the SDTM exports, all computed on request from the stored documents by the follow-up library
(:mod:`trialdesk.followup`), as of today.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.app import audit
from trialdesk.app.errors import Conflict, NotFound
from trialdesk.app.followup_records import FollowupRefused, current, document, subject
from trialdesk.app.models import Candidate, FollowupVersion, User
from trialdesk.followup.cohort import rate_table, toxicity_table
from trialdesk.followup.completeness import missing_items
from trialdesk.followup.evaluate import SubjectReport, evaluate_subject
from trialdesk.followup.plots import draw_swimmer, draw_timeline
from trialdesk.followup.safety import lab_grades
from trialdesk.followup.schedule import out_of_window, visit_status
from trialdesk.followup.sdtm import export_all
from trialdesk.protocol.model import Protocol

__all__ = ["DOMAINS", "cohort_view", "export", "figure", "report", "subject_view", "swimmer"]

DOMAINS = ("dm", "ex", "ae", "lb", "vs", "subjects")
FIGURE_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
_PYPLOT = threading.Lock()  # matplotlib's pyplot state is not thread-safe; requests run in a thread pool


def report(db: Session, protocol: Protocol, c: Candidate, today: date) -> SubjectReport:
    """The subject's endpoints as of ``today``, from the current document.

    Raises:
        Conflict: the stored document no longer reads (e.g. the infusion date moved before a visit's check).
    """
    schedule = protocol.schedule
    if schedule is None:
        raise Conflict(f"protocol {protocol.id} has no schedule")
    try:
        s = subject(document(db, c), protocol)
    except FollowupRefused as exc:  # e.g. the header changed since it was stored
        raise Conflict(f"the stored follow-up of {c.number} no longer passes the checks: {exc.message}") from None
    return evaluate_subject(s, schedule, today)


def subject_view(db: Session, protocol: Protocol, c: Candidate, today: date) -> dict[str, Any]:
    """Schedule (status, window, what to collect, what a visit done lacks), endpoints per visit, safety."""
    schedule = protocol.schedule
    r = report(db, protocol, c, today)
    s = r.subject
    late = {d.visit.id: when for d, when in out_of_window(schedule, s.infusion, s.visits)}  # type: ignore[arg-type]
    visits = []
    for st in visit_status(schedule, s.infusion, today, set(s.visits)):  # type: ignore[arg-type]
        v, done = st.dates.visit, s.visits.get(st.dates.visit.id)
        items = v.items(s.cohort)
        visits.append({
            "visit": v.id, "label": v.label, "target": st.dates.target.isoformat(),
            "opens": st.dates.opens.isoformat(), "closes": st.dates.closes.isoformat(), "status": st.status,
            "done": None if done is None else done.isoformat(), "out_of_window": v.id in late,
            "collects": [{"item": i, "label": schedule.items.get(i, i)} for i in items],  # type: ignore[union-attr]
            "missing": ({item: what for item, what in missing_items(s, items, done).items()}
                        if done is not None and done <= today else {}),
        })
    p = schedule.parameters  # type: ignore[union-attr]
    window = int(p["dlt_window_days"])
    fv = current(db, c)
    return {
        "candidate": {"number": c.number, "subject_id": s.id, "cohort": s.cohort, "infusion": s.infusion.isoformat()},
        "as_of": today.isoformat(), "study_day": s.study_day(today),
        "version": None if fv is None else {"version": fv.version, "sha256": fv.sha256,
                                            "created_at": fv.created_at.isoformat()},
        "schedule": visits,
        "unscheduled": [d.isoformat() for d in s.unscheduled],
        "after_today": sorted(d.isoformat() for _, d in s.visit_dates() if d > today),
        "endpoints": [{"visit": v.visit, "date": v.day.isoformat(), "day": v.study_day,
                       "endpoints": [o.to_json() for o in v.outcomes]} for v in r.visits],
        "summary": [o.to_json() for o in r.summary],
        "dlt_window": {"from": s.infusion.isoformat(), "to": (s.infusion + timedelta(days=window)).isoformat(),
                       "days": window, "outcome": r.summary_of("dlt-candidate").to_json()},
        "graded": [{"kind": g.kind, "date": g.day.isoformat(), "day": s.study_day(g.day), "grade": g.grade,
                    "inputs": {k: str(v) for k, v in g.result.inputs.items()}} for g in s.graded],
        "lab_grades": [{"test": g.lab.test, "date": g.lab.day.isoformat(), "value": g.lab.given, "grade": g.grade}
                       for g in lab_grades(s) if g.grade],
        "doses": [{"kind": d.kind, "agent": d.agent, "dose": d.dose, "unit": d.unit, "date": d.day.isoformat(),
                   "lot": d.lot} for d in s.doses],
        "adverse_events": [{"term": a.term, "grade": a.grade, "onset": a.onset.isoformat(),
                            "resolved": a.resolved.isoformat() if a.resolved else None, "serious": a.serious,
                            "related": a.related, "infection": a.infection} for a in s.adverse_events],
        "medications": [{"drug": m.drug, "kind": m.kind, "daily_dose_mg": m.daily_dose_mg,
                         "start": m.start.isoformat(), "end": m.end.isoformat() if m.end else None}
                        for m in s.medications],
        "medications_complete_through": (s.medications_complete_through.isoformat()
                                         if s.medications_complete_through else None),
    }


def _draw(draw, suffix: str) -> bytes:  # type: ignore[no-untyped-def]
    with TemporaryDirectory() as folder, _PYPLOT:
        out = Path(folder) / f"figure.{suffix}"
        draw(out)
        return out.read_bytes()


def figure(db: Session, protocol: Protocol, c: Candidate, today: date, suffix: str) -> bytes:
    """The subject's timeline (:func:`trialdesk.followup.plots.draw_timeline`) as SVG or PNG."""
    r = report(db, protocol, c, today)
    p = protocol.schedule.parameters  # type: ignore[union-attr]
    return _draw(lambda out: draw_timeline(r, out, int(p["dlt_window_days"]), p["cd19_depleted_below_per_ul"],
                                           p["igg_severe_below_g_l"]), suffix)


def _enrolled(db: Session) -> list[Candidate]:
    """Enrolled candidates with a stored follow-up record, by screening number."""
    ids = select(FollowupVersion.candidate_id).distinct()
    return list(db.execute(select(Candidate).where(Candidate.disposition == "enrolled", Candidate.id.in_(ids))
                           .order_by(Candidate.number)).scalars())


def reports(db: Session, protocol: Protocol, today: date) -> tuple[list[SubjectReport], list[dict[str, str]]]:
    """Every subject's report, and the subjects whose record cannot be read now (number and why)."""
    out, problems = [], []
    for c in _enrolled(db):
        try:
            out.append(report(db, protocol, c, today))
        except Conflict as exc:
            problems.append({"number": c.number, "problem": exc.message})
    return out, problems


def default_visit(protocol: Protocol, found: list[SubjectReport], today: date) -> str:
    """The latest scheduled visit any subject has done (as ``trialdesk followup report``)."""
    order = [v.id for v in protocol.schedule.visits]  # type: ignore[union-attr]
    done = {v for r in found for v, d in r.subject.visits.items() if d <= today}
    return max(done, key=order.index) if done else order[0]


def cohort_view(db: Session, protocol: Protocol, today: date, visit: str | None) -> dict[str, Any]:
    """Remission rates with Wilson 95 % intervals at ``visit`` and worst toxicity grades, per cohort."""
    found, problems = reports(db, protocol, today)
    order = [v.id for v in protocol.schedule.visits]  # type: ignore[union-attr]
    if visit is not None and visit not in order:
        raise NotFound(f"{visit!r} is not a visit of the schedule")
    visit = visit or default_visit(protocol, found, today)
    return {
        "as_of": today.isoformat(), "visit": visit, "visits": order, "problems": problems,
        "subjects": [{"subject_id": r.subject.id, "cohort": r.subject.cohort,
                      "infusion": r.subject.infusion.isoformat(),
                      "worst_crs": r.summary_of("worst-crs").value, "worst_icans": r.summary_of("worst-icans").value,
                      "dlt": r.summary_of("dlt-candidate").status} for r in found],
        "rates": [{"cohort": x.cohort, "endpoint": x.endpoint, "visit": x.visit, "n": x.n, "evaluable": x.evaluable,
                   "met": x.met, "rate": x.rate, "ci95": list(x.ci) if x.ci else None, "rate_all_nri": x.rate_all}
                  for x in rate_table(found, visit)],
        "toxicity": [{"cohort": t.cohort, "endpoint": t.endpoint, "n": t.n, "evaluable": t.evaluable,
                      "by_grade": {str(g): n for g, n in t.by_grade.items()}, "grade_3_or_more": t.at_least(3)}
                     for t in toxicity_table(found)],
    }


def swimmer(db: Session, protocol: Protocol, today: date, suffix: str) -> bytes:
    found, _ = reports(db, protocol, today)
    if not found:
        raise NotFound("no enrolled subject has a follow-up record yet")
    window = int(protocol.schedule.parameters["dlt_window_days"])  # type: ignore[union-attr]
    return _draw(lambda out: draw_swimmer(found, out, window), suffix)


def export(db: Session, protocol: Protocol, user: User, now: datetime, domain: str | None) -> tuple[bytes, str]:
    """One SDTM-named CSV (``domain``) or all of them in a zip (``None``), audited as an export.

    The files are those of ``trialdesk followup report`` (:func:`trialdesk.followup.sdtm.export_all`),
    as of today, with the efficacy columns of the summary at the default visit.
    """
    today = now.date()
    found, problems = reports(db, protocol, today)
    if problems:
        raise Conflict("cannot export while a record does not read: "
                       + "; ".join(f"{p['number']}: {p['problem']}" for p in problems))
    visit = default_visit(protocol, found, today)
    with TemporaryDirectory() as folder:
        written = export_all(protocol.id, found, {k.id: k.title for k in protocol.cohorts.values()}, visit,
                             protocol.schedule.parameters["cd19_depleted_below_per_ul"],  # type: ignore[union-attr]
                             today, Path(folder))
        files = {p.stem: p.read_bytes() for p in written}
    rows = {name: sum(1 for _ in csv.DictReader(io.StringIO(content.decode("utf-8"))))
            for name, content in files.items()}
    if domain is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            for name in DOMAINS:
                info = zipfile.ZipInfo(f"{name}.csv", date_time=(today.year, today.month, today.day, 0, 0, 0))
                z.writestr(info, files[name], zipfile.ZIP_DEFLATED)
        body, fmt = buffer.getvalue(), "zip"
    else:
        body, fmt, rows = files[domain], "csv", {domain: rows[domain]}
    audit.append(db, at=now, actor=user, action="export", history_type="=", entity_type="followup",
                 entity_key="sdtm", new={"format": fmt, "rows": rows, "subjects": len(found),
                                         "as_of": today.isoformat(), "sha256": hashlib.sha256(body).hexdigest()})
    db.commit()
    return body, fmt


