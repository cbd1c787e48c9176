"""Every endpoint of every subject at every visit, and each subject's safety summary.

An endpoint is computed at a scheduled visit when the schedule says the visit
collects its data (so a missing result there is ``not evaluable``), and at an
unscheduled visit when its data were recorded that day. Efficacy endpoints
start after the infusion; CD19, IgG and the steroid dose are also shown before
it (the baseline of the timeline). Visits dated after ``as_of`` are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from trialdesk.followup import immunology, safety, sle, srns
from trialdesk.followup.completeness import missing_items
from trialdesk.followup.schedule import visit_dates
from trialdesk.followup.outcome import NOT_MET, Outcome, judged, not_evaluable
from trialdesk.followup.records import FollowUp, Subject
from trialdesk.protocol.model import Protocol, Schedule

#: schedule item -> the lab test (or "assessment") that shows it was recorded on an unscheduled day;
#: an unscheduled visit reports no medication review, so no steroid dose
_EVIDENCE = {"sledai-2k": "assessment", "upcr": "upcr", "cd19": "cd19", "igg": "igg", "chemistry": "creatinine"}


@dataclass(frozen=True)
class VisitEndpoints:
    visit: str  # schedule visit id or "unscheduled"
    day: date
    study_day: int
    outcomes: tuple[Outcome, ...]

    def get(self, endpoint: str) -> Outcome | None:
        return next((o for o in self.outcomes if o.endpoint == endpoint), None)


@dataclass(frozen=True)
class SubjectReport:
    subject: Subject
    visits: tuple[VisitEndpoints, ...]
    summary: tuple[Outcome, ...] = field(default_factory=tuple)

    def summary_of(self, endpoint: str) -> Outcome:
        return next(o for o in self.summary if o.endpoint == endpoint)

    def at(self, visit: str) -> VisitEndpoints | None:
        return next((v for v in self.visits if v.visit == visit), None)


def evaluate(followup: FollowUp, protocol: Protocol, as_of: date) -> list[SubjectReport]:
    """The endpoint reports of every subject of ``followup`` as of ``as_of``."""
    schedule = protocol.schedule
    if schedule is None:
        raise ValueError(f"protocol {protocol.id} has no schedule")
    return [evaluate_subject(s, schedule, as_of) for s in followup.subjects]


def evaluate_subject(subject: Subject, schedule: Schedule, as_of: date) -> SubjectReport:
    p = schedule.parameters
    weight_days = int(p["weight_window_days"])
    rows: list[VisitEndpoints] = []
    ipna_before: dict[date, str] = {}
    for visit_id, day in subject.visit_dates():
        if day > as_of:
            continue
        collects = _collected(subject, schedule, visit_id, day)
        after = day > subject.infusion
        out: list[Outcome] = []
        if subject.cohort == "SLE" and after and "sledai-2k" in collects:
            out += [sle.sledai_change(subject, day), sle.sri4(subject, day), sle.lldas(subject, day, weight_days),
                    sle.doris(subject, day), sle.drug_free_remission(subject, day)]
        if subject.cohort == "SRNS" and "upcr" in collects:
            status = srns.ipna_status(subject, day, int(p["upcr_consecutive_days"]), ipna_before)
            slug = srns.status_slug(status)
            if slug is not None:
                ipna_before[day] = slug
            if after:
                out += [status, srns.remission(status, complete_only=True), srns.remission(status, complete_only=False),
                        srns.relapse(status)]
        if subject.cohort == "SRNS" and "chemistry" in collects:
            out.append(srns.egfr(subject, day, weight_days))
            if after:
                out.append(srns.egfr_change(subject, day, weight_days))
        if "cd19" in collects:
            out.append(immunology.cd19_depleted(subject, day, p["cd19_depleted_below_per_ul"]))
        if "igg" in collects:
            out += immunology.hypogammaglobulinaemia(subject, day, p["igg_severe_below_g_l"])
        if "con-meds" in collects:
            out.append(immunology.steroid(subject, day, weight_days))
        if out:
            rows.append(VisitEndpoints(visit_id, day, subject.study_day(day), tuple(out)))
    return SubjectReport(subject, tuple(rows), tuple(_summary(subject, schedule, as_of)))


def _collected(subject: Subject, schedule: Schedule, visit_id: str, day: date) -> set[str]:
    """The items the visit should have collected (scheduled) or did record (unscheduled)."""
    if visit_id != "unscheduled":
        return set(schedule.visit(visit_id).items(subject.cohort))
    return {item for item, test in _EVIDENCE.items()
            if (subject.assessment(day) if test == "assessment" else subject.lab(test, day)) is not None}


def _unmonitored(subject: Subject, schedule: Schedule, window_days: int) -> list[str]:
    """The scheduled CRS/ICANS checks of the DLT window that were not done or lack an assessment:
    without them, no DLT candidate found is not the same as none occurred."""
    out = []
    for visit in schedule.visits:
        target = visit_dates(visit, subject.infusion).target
        if "crs-icans" not in visit.items(subject.cohort) or not 0 <= (target - subject.infusion).days <= window_days:
            continue
        done = subject.visits.get(visit.id)
        lacking = ["visit not recorded"] if done is None else missing_items(subject, ("crs-icans",), done).get("crs-icans")
        if lacking:
            out.append(f"{visit.id} ({target}): {', '.join(lacking)}")
    return out


def _summary(subject: Subject, schedule: Schedule, as_of: date) -> list[Outcome]:
    p = schedule.parameters
    below = p["cd19_depleted_below_per_ul"]
    depleted, recovered = immunology.cd19_course(subject, below)
    course = [d for d in (depleted, recovered) if d is not None and d <= as_of]
    measured = any(x.test == "cd19" and subject.infusion <= x.day <= as_of for x in subject.labs)
    cd19 = (not_evaluable("cd19-depletion", immunology.CD19_SOURCE, [f"a CD19+ count after the infusion up to {as_of}"])
            if not measured else
            Outcome("cd19-depletion", NOT_MET, f"no CD19+ value below {below:g} /uL after the infusion",
                    immunology.CD19_SOURCE)
            if not course else
            judged("cd19-depletion", immunology.CD19_SOURCE, True,
                   f"depleted from {depleted} (day {subject.study_day(depleted)})"  # type: ignore[arg-type]
                   + (f", recovered {recovered} (day {subject.study_day(recovered)})"
                      if recovered is not None and recovered <= as_of else ", not recovered"),
                   float(subject.study_day(depleted))))  # type: ignore[arg-type]
    return [
        safety.worst_graded(subject, "crs", as_of),
        safety.worst_graded(subject, "icans", as_of),
        safety.dlt(subject, int(p["dlt_window_days"]), as_of, _unmonitored(subject, schedule, int(p["dlt_window_days"]))),
        safety.worst_lab(subject, safety.CYTOPENIA_TESTS, as_of, "worst-cytopenia"),
        safety.worst_lab(subject, None, as_of, "worst-lab-toxicity"),
        safety.infections(subject, as_of),
        cd19,
    ]
