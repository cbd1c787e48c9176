"""Both cohorts: CD19+ B-cell depletion and recovery, IgG and hypogammaglobulinaemia, steroid dose.

Thresholds are protocol data (``schedule.yaml`` parameters): CD19+ B cells
below ``cd19_depleted_below_per_ul`` count as depleted, and the first value at
or above it after depletion as recovery; IgG below the laboratory's lower
reference limit is hypogammaglobulinaemia, below ``igg_severe_below_g_l``
severe. Both thresholds are trialdesk defaults for the investigators to
confirm; no source in clinical.md fixes them.
"""

from __future__ import annotations

from datetime import date

from trialdesk.calculators.base import fmt
from trialdesk.calculators.steroids import SOURCE as STEROID_SOURCE
from trialdesk.followup.outcome import VALUE, Outcome, judged, not_evaluable
from trialdesk.followup.records import Subject
from trialdesk.followup.treatment import steroid_dose, weight_near

CD19_SOURCE = "schedule.yaml parameter cd19_depleted_below_per_ul (trialdesk default)"
IGG_SOURCE = "laboratory lower reference limit; severe: schedule.yaml parameter igg_severe_below_g_l (trialdesk default)"


def cd19_depleted(subject: Subject, day: date, below: float) -> Outcome:
    name = "cd19-depleted"
    lab = subject.lab("cd19", day)
    if lab is None:
        return not_evaluable(name, CD19_SOURCE, [f"CD19+ B cells on {day}"])
    return judged(name, CD19_SOURCE, lab.value < below,
                  f"CD19+ {fmt(lab.value)} /uL ({lab.given}); depleted below {fmt(below)} /uL", lab.value)


def cd19_course(subject: Subject, below: float) -> tuple[date | None, date | None]:
    """The first date CD19+ B cells were depleted after the infusion, and the first recovery after it."""
    values = sorted((x.day, x.value) for x in subject.labs if x.test == "cd19" and x.day >= subject.infusion)
    depleted = next((d for d, v in values if v < below), None)
    recovered = None if depleted is None else next((d for d, v in values if d > depleted and v >= below), None)
    return depleted, recovered


def hypogammaglobulinaemia(subject: Subject, day: date, severe_below: float) -> list[Outcome]:
    """IgG below the lab's lower limit, and below the severe threshold, on ``day``."""
    lab = subject.lab("igg", day)
    if lab is None:
        return [not_evaluable(n, IGG_SOURCE, [f"IgG on {day}"])
                for n in ("hypogammaglobulinaemia", "igg-severe")]
    shown = f"IgG {fmt(lab.value)} g/L ({lab.given})"
    low = (not_evaluable("hypogammaglobulinaemia", IGG_SOURCE, [f"the lower reference limit of the IgG of {day}"])
           if lab.low is None else
           judged("hypogammaglobulinaemia", IGG_SOURCE, lab.value < lab.low, f"{shown}; lower limit {fmt(lab.low)} g/L",
                  lab.value))
    return [low, judged("igg-severe", IGG_SOURCE, lab.value < severe_below,
                        f"{shown}; severe below {fmt(severe_below)} g/L", lab.value)]


def steroid(subject: Subject, day: date, weight_window_days: int) -> Outcome:
    """Prednisone-equivalent mg/day on ``day`` (value), with mg/kg/day in the detail when a weight is near."""
    dose = steroid_dose(subject, day)
    if dose.mg is None:
        return not_evaluable("steroid-dose", STEROID_SOURCE, dose.missing)
    weight = weight_near(subject, day, weight_window_days)
    per_kg = "" if weight is None or not dose.mg else f" = {fmt(dose.mg / weight[0])} mg/kg/day at {fmt(weight[0])} kg"
    return Outcome("steroid-dose", VALUE, dose.detail + per_kg, STEROID_SOURCE, dose.mg)
