"""Screening one patient: criteria -> outcomes -> overall verdict per cohort.

Outcome rules (criteria.md, Outcomes): any ``fail`` makes a cohort
``ineligible``; else any ``unknown`` makes it ``incomplete``; else any
``review`` makes it ``needs_review``; else ``eligible``. ``not_applicable``
counts as ``pass``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from trialdesk.engine.context import Context
from trialdesk.engine.dates import completed_years
from trialdesk.engine.interpret import Interpreter
from trialdesk.engine.results import Need, Res, Truth
from trialdesk.patient.censor import censor
from trialdesk.patient.model import PatientRecord
from trialdesk.protocol.model import Criterion, Protocol
from trialdesk.site import ReferenceIntervals

OVERALL_ORDER = (("fail", "ineligible"), ("unknown", "incomplete"), ("review", "needs_review"))


@dataclass
class CriterionResult:
    id: str
    outcome: str
    reason: str
    evidence: list[dict] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    eligible_from: date | None = None
    valid_until: date | None = None
    clarifications: tuple[str, ...] = ()

    def to_json(self) -> dict:
        return {"id": self.id, "outcome": self.outcome, "reason": self.reason, "evidence": self.evidence,
                "eligible_from": self.eligible_from.isoformat() if self.eligible_from else None,
                "valid_until": self.valid_until.isoformat() if self.valid_until else None,
                "needs": [n.to_json() for n in self.needs], "clarifications": list(self.clarifications)}


@dataclass
class CohortResult:
    cohort: str
    overall: str
    criteria: list[CriterionResult]

    def to_json(self) -> dict:
        return {"cohort": self.cohort, "overall": self.overall, "criteria": [c.to_json() for c in self.criteria]}


@dataclass
class Screening:
    protocol: Protocol
    record: PatientRecord
    dates: dict[str, date]
    results: list[CohortResult]
    notes: list[str]
    issues: list

    def to_json(self, file: str | None = None) -> dict:
        p = self.record.patient
        age = None if p.birth_date is None else completed_years(p.birth_date, self.dates["as_of"])
        out = {"file": file,
               "protocol": {"id": self.protocol.id, "version": self.protocol.version,
                            "sha256": self.protocol.sha256},
               "patient": {"id": p.id, "age": age, "sex": p.gender},
               "as_of": self.dates["as_of"].isoformat(),
               "enrollment": self.dates["enrollment"].isoformat(),
               "infusion": self.dates["infusion"].isoformat(),
               "results": [r.to_json() for r in self.results],
               "clarifications": {cl: self.protocol.clarifications[cl].text for cl in sorted(
                   {cl for r in self.results for c in r.criteria for cl in c.clarifications},
                   key=lambda cl: int(cl.split("-")[1]))},
               "notes": self.notes,
               "data_issues": [{"resource": i.ref, "kind": i.kind, "message": i.message} for i in self.issues],
               "not_used": dict(sorted(self.record.unused.items()))}
        return out


def overall(outcomes: list[str]) -> str:
    for outcome, verdict in OVERALL_ORDER:
        if outcome in outcomes:
            return verdict
    return "eligible"


def _steps(interp: Interpreter, criterion: Criterion) -> tuple[str, Res, list[Res]]:
    """Run the decision list: (outcome, deciding result, results of the FALSE steps before it)."""
    passed: list[Res] = []
    for step in criterion.rule:
        if step.when is None:
            text = step.reason or "; ".join(r.text for r in passed)
            return step.then, Res(Truth.TRUE, text, [e for r in passed for e in r.evidence],
                                  [n for r in passed for n in r.needs]), passed
        r = interp.truth(step.when)
        if r.truth is Truth.TRUE:
            if step.reason:
                r = Res(r.truth, f"{step.reason}: {r.text}", r.evidence, r.needs, r.until, r.by)
            return step.then, r, passed
        if r.truth is Truth.UNKNOWN and step.if_unknown == "unknown":
            return "unknown", r, passed
        passed.append(r)
    raise AssertionError("a rule always ends with 'otherwise'")  # guaranteed by the loader


def evaluate(interp: Interpreter, criterion: Criterion) -> CriterionResult:
    """One criterion's outcome, reason, evidence, needs and timeline hints."""
    if criterion.applies_if is not None:
        gate = interp.truth(criterion.applies_if)
        if gate.truth is Truth.FALSE:
            return CriterionResult(criterion.id, "not_applicable", f"does not apply: {gate.text}", gate.evidence,
                                   clarifications=criterion.clarifications)
        if gate.truth is Truth.UNKNOWN:
            return CriterionResult(criterion.id, "unknown", f"cannot tell whether it applies: {gate.text}",
                                   gate.evidence, gate.needs, clarifications=criterion.clarifications)
    outcome, decided, before = _steps(interp, criterion)
    result = CriterionResult(criterion.id, outcome, decided.text, decided.evidence,
                             clarifications=criterion.clarifications)
    if outcome == "unknown":
        result.needs = decided.needs or ([Need(criterion.collect)] if criterion.collect else [])
        if criterion.collect and not decided.needs:
            result.reason = f"{decided.text} ({criterion.collect})"
    elif outcome == "fail" and decided.until is not None and decided.by == frozenset({"lookback"}):
        result.eligible_from = decided.until + timedelta(days=1)
    elif outcome == "pass":
        fresh = [r.until for r in [decided, *before] if r.until is not None and "fresh" in r.by]
        if fresh:
            result.valid_until = min(fresh)
    return result


def cohorts_of(interp: Interpreter, protocol: Protocol) -> list[str]:
    """Cohorts whose entry diagnosis the record holds (UNKNOWN counts as a candidate)."""
    return [cid for cid, c in protocol.cohorts.items() if interp.truth(c.entry).truth is not Truth.FALSE]


def screen(protocol: Protocol, record: PatientRecord, as_of: date, enrollment: date | None = None,
           infusion: date | None = None, cohort: str | None = None,
           reference_intervals: ReferenceIntervals | None = None) -> Screening:
    """Screen one patient's record under ``protocol`` on ``as_of``.

    Records dated after ``as_of`` are ignored and reported. Without ``cohort``
    the cohorts come from the recorded diagnoses; with it, exactly that cohort.
    """
    notes = []
    if enrollment is None:
        notes.append(f"no enrollment date given: windows before enrollment end on the screening date {as_of}")
    if infusion is None:
        notes.append(f"no infusion date given: windows before infusion end on the screening date {as_of}")
    dates = {"as_of": as_of, "enrollment": enrollment or as_of, "infusion": infusion or as_of}
    record = censor(record, as_of)
    ctx = Context(protocol, record, dates, reference_intervals)
    interp = Interpreter(ctx)
    chosen = [cohort] if cohort else cohorts_of(interp, protocol)
    if not chosen:
        titles = " or ".join(c.title for c in protocol.cohorts.values())
        notes.append(f"no diagnosis for a cohort of this trial ({titles}) is recorded: not screened "
                     "(choose a cohort to screen anyway)")
    results = []
    for cid in chosen:
        criteria = [evaluate(interp, c) for c in protocol.for_cohort(cid)]
        results.append(CohortResult(cid, overall([c.outcome for c in criteria]), criteria))
    issues = list(record.issues) + _dedupe(ctx.issues)
    return Screening(protocol, record, dates, results, notes, issues)


def _dedupe(issues: list) -> list:
    seen, out = set(), []
    for i in issues:
        key = (i.ref, i.kind, i.message)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out
