"""Glucocorticoid dose and other immunosuppression on a date, from the medication list.

The daily glucocorticoid dose is the sum over the glucocorticoids taken that
day of dose x prednisone factor (:mod:`trialdesk.calculators.steroids`;
prednisolone and prednisone are equivalent 1:1). The dose is unknown, never 0,
when the date is after ``medications_complete_through`` (or that date is not
given) or when a glucocorticoid taken that day has no dose.
mg/kg/day uses the body weight nearest the date within the schedule's
``weight_window_days`` (protocol CL-5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from trialdesk.calculators.base import fmt
from trialdesk.calculators.steroids import prednisone_equivalent
from trialdesk.followup.records import Subject


@dataclass(frozen=True, slots=True)
class SteroidDose:
    """Prednisone-equivalent mg/day on a date, or None with ``missing`` saying why."""

    mg: float | None
    detail: str
    missing: tuple[str, ...] = ()


def steroid_dose(subject: Subject, day: date) -> SteroidDose:
    """The prednisone-equivalent glucocorticoid dose (mg/day) of ``subject`` on ``day``."""
    through = subject.medications_complete_through
    if through is None or day > through:
        known = "not given" if through is None else f"only through {through}"
        return SteroidDose(None, "", (f"medication list complete on {day} (medications_complete_through {known})",))
    taken = [m for m in subject.medications if m.kind == "glucocorticoid" and m.active_on(day)]
    undosed = [m.drug for m in taken if m.daily_dose_mg is None]
    if undosed:
        return SteroidDose(None, "", tuple(f"daily dose of {d} on {day}" for d in undosed))
    parts = [prednisone_equivalent(m.drug, m.daily_dose_mg) for m in taken]  # type: ignore[arg-type]
    total = sum(p.value for p in parts)
    shown = "; ".join(p.equation for p in parts) or "no glucocorticoid"
    return SteroidDose(total, f"{shown}: {fmt(total)} mg/day prednisone-equivalent")


def weight_near(subject: Subject, day: date, window_days: int) -> tuple[float, date] | None:
    """Body weight (kg) nearest ``day`` within ``window_days``, with its date."""
    return subject.nearest_vital("weight", day, window_days)


def other_immunosuppression(subject: Subject, day: date) -> list[str] | None:
    """Immunosuppressants and biologics taken on ``day``, or None if the list is not known complete then."""
    through = subject.medications_complete_through
    if through is None or day > through:
        return None
    return sorted({m.drug for m in subject.medications
                   if m.kind in ("immunosuppressant", "biologic") and m.active_on(day)})
