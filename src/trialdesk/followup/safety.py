"""Safety after the infusion: worst CRS/ICANS grade, laboratory toxicity, the DLT window, infections.

* CRS and ICANS grades are the ASTCT grades computed when the file was read
  (:mod:`trialdesk.calculators.crs_astct`, ``icans_astct``).
* Laboratory toxicity: every result after the infusion is graded by CTCAE v5
  (:mod:`trialdesk.calculators.ctcae_v5`) against the lab's own ULN/LLN; ALT,
  AST, bilirubin and creatinine also against the baseline (the latest result
  on or before the infusion). A result without the limit its term needs is
  listed as not gradable, never as grade 0.
* The DLT window is days 0 to ``dlt_window_days`` after the infusion. The
  registry record defines no DLT, so trialdesk lists *candidates* for the
  investigator: CRS or ICANS grade >= 3, and adverse events of grade >= 3
  recorded as related, starting in the window. With none, the window is
  "not met" only once follow-up has reached its last day.
* Infections are the adverse events recorded with ``infection: true``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from trialdesk.calculators.crs_astct import SOURCE as ASTCT_SOURCE
from trialdesk.calculators.ctcae_v5 import SOURCE as CTCAE_SOURCE
from trialdesk.calculators.ctcae_v5 import TERMS, ctcae_v5
from trialdesk.calculators.base import CalcResult
from trialdesk.errors import CalculatorError
from trialdesk.followup.outcome import VALUE, Outcome, judged, not_evaluable
from trialdesk.followup.records import Lab, Subject

#: lab test -> CTCAE v5 term code (calculators/ctcae_v5.TERMS)
CTCAE_TERM = {"alt": "alt", "ast": "ast", "bilirubin": "bilirubin", "creatinine": "creatinine",
              "neutrophils": "neutrophils", "platelets": "platelets", "wbc": "wbc", "lymphocytes": "lymphocytes",
              "hemoglobin": "anemia"}
CYTOPENIA_TESTS = ("neutrophils", "platelets", "wbc", "lymphocytes", "hemoglobin")
DLT_GRADE = 3
DLT_SOURCE = ("trialdesk reading (the registry record defines no DLT): CRS/ICANS grade >= 3 (ASTCT 2019) or a related "
              "adverse event of CTCAE grade >= 3 starting on days 0 to dlt_window_days")


@dataclass(frozen=True, slots=True)
class LabGrade:
    """A CTCAE v5 grade of one result, or ``problem`` saying why it could not be graded."""

    lab: Lab
    term: str
    result: CalcResult | None
    problem: str | None = None

    @property
    def grade(self) -> int | None:
        return None if self.result is None else int(self.result.value)


def lab_grades(subject: Subject, through: date | None = None) -> list[LabGrade]:
    """CTCAE v5 grades of every gradable result dated after the infusion (and on or before ``through``)."""
    out = []
    for lab in sorted(subject.labs, key=lambda x: (x.day, x.test)):
        if lab.test not in CTCAE_TERM or lab.day <= subject.infusion or (through and lab.day > through):
            continue
        term = TERMS[CTCAE_TERM[lab.test]]
        limit = lab.high if term.limit == "uln" else lab.low
        if limit is None:
            out.append(LabGrade(lab, term.name, None,
                                f"the {term.limit.upper()} of the {lab.test} of {lab.day} (to grade it)"))
            continue
        base = None
        if term.baseline:
            before = subject.latest_lab(lab.test, subject.infusion)
            base = before.value if before is not None else None
        try:
            out.append(LabGrade(lab, term.name, ctcae_v5(CTCAE_TERM[lab.test], lab.value, limit, base)))
        except CalculatorError as exc:
            out.append(LabGrade(lab, term.name, None, f"a usable {lab.test} of {lab.day} ({exc})"))
    return out


def worst_graded(subject: Subject, kind: str, through: date) -> Outcome:
    """Worst ASTCT grade of ``kind`` ("crs" or "icans") among assessments up to ``through``."""
    name = f"worst-{kind}"
    found = [g for g in subject.graded if g.kind == kind and g.day <= through]
    if not found:
        return not_evaluable(name, ASTCT_SOURCE, [f"{kind.upper()} assessments up to {through}"])
    worst = max(found, key=lambda g: (g.grade, -g.day.toordinal()))
    return Outcome(name, VALUE, f"worst {kind.upper()} grade {worst.grade} on {worst.day} "
                                f"(day {subject.study_day(worst.day)}; {worst.result.equation}); "
                                f"{len(found)} assessment(s)", ASTCT_SOURCE, float(worst.grade))


def worst_lab(subject: Subject, tests: tuple[str, ...] | None, through: date, name: str) -> Outcome:
    """Worst CTCAE v5 grade among results of ``tests`` (all gradable tests if None) up to ``through``."""
    grades = [g for g in lab_grades(subject, through) if tests is None or g.lab.test in tests]
    graded = [g for g in grades if g.grade is not None]
    problems = [g.problem for g in grades if g.problem]
    if not graded:
        return not_evaluable(name, CTCAE_SOURCE, problems or [f"laboratory results after the infusion up to {through}"])
    worst = max(graded, key=lambda g: (g.grade, -g.lab.day.toordinal()))
    detail = (f"worst grade {worst.grade}: {worst.result.equation} on {worst.lab.day} "  # type: ignore[union-attr]
              f"(day {subject.study_day(worst.lab.day)}); {len(graded)} result(s) graded")
    if problems:
        detail += f"; not gradable: {'; '.join(problems)}"
    return Outcome(name, VALUE, detail, CTCAE_SOURCE, float(worst.grade))  # type: ignore[arg-type]


def dlt_candidates(subject: Subject, window_days: int, as_of: date) -> list[str]:
    """Descriptions of the candidate DLTs in the window, known by ``as_of`` (see the module docstring)."""
    last = min(subject.infusion + timedelta(days=window_days), as_of)
    found = [(g.day, f"{g.kind.upper()} grade {g.grade} on {g.day} (day {subject.study_day(g.day)})")
             for g in subject.graded if g.grade >= DLT_GRADE and subject.infusion <= g.day <= last]
    found += [(a.onset, f"{a.term} grade {a.grade} from {a.onset} (day {subject.study_day(a.onset)}, related)")
              for a in subject.adverse_events
              if a.grade >= DLT_GRADE and a.related and subject.infusion <= a.onset <= last]
    return [text for _, text in sorted(found)]


def dlt(subject: Subject, window_days: int, as_of: date, unmonitored: Sequence[str] = ()) -> Outcome:
    """Whether a candidate DLT occurred in days 0 to ``window_days``; ``unmonitored`` lists the
    scheduled CRS/ICANS checks of the window that are missing (then "none" cannot be concluded)."""
    name = "dlt-candidate"
    last = subject.infusion + timedelta(days=window_days)
    found = dlt_candidates(subject, window_days, as_of)
    if found:
        return judged(name, DLT_SOURCE, True, "; ".join(found) + " (for the investigator to adjudicate)")
    followed = max([d for _, d in subject.visit_dates()] + ([subject.last_contact] if subject.last_contact else []),
                   default=subject.infusion)
    if min(as_of, followed) < last:
        return not_evaluable(name, DLT_SOURCE, [f"follow-up through day {window_days} ({last}); last seen {followed}"])
    if unmonitored:
        return not_evaluable(name, DLT_SOURCE, [f"the CRS/ICANS checks of the DLT window: {'; '.join(unmonitored)}"])
    return judged(name, DLT_SOURCE, False, f"no CRS/ICANS grade >= {DLT_GRADE} and no related grade >= {DLT_GRADE} "
                                           f"adverse event from {subject.infusion} to {last}")


def infections(subject: Subject, through: date) -> Outcome:
    """How many infections (adverse events flagged infection) started up to ``through``, and the worst grade."""
    found = [a for a in subject.adverse_events if a.infection and subject.infusion <= a.onset <= through]
    detail = "; ".join(f"{a.term} grade {a.grade} from {a.onset}{' (serious)' if a.serious else ''}" for a in found)
    return Outcome("infections", VALUE, detail or "no infection recorded", "adverse events recorded with infection: true",
                   float(len(found)))
