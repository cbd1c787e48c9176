"""Treatment-history nodes for the refractoriness criteria (SLE-REFRACTORY,
SRNS-MULTIDRUG). Drugs are value-set ids or protocol drug groups; only
exposure on or before the screening date counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialdesk.engine.ast.base import Node


@dataclass(frozen=True, slots=True)
class HighDoseDays(Node):
    """TRUE if at least ``days`` days at a prednisone-equivalent dose >= ``mg_per_kg``
    per kg per day (weight nearest each day within the weight window; CL-5).

    Days whose dose or weight cannot be read are uncertain: UNKNOWN when they
    could tip the count.
    """

    KEY = "high_dose_days"
    READS = ("weight",)
    drugs: tuple[str, ...]
    mg_per_kg: str | float
    days: int


@dataclass(frozen=True, slots=True)
class AgentsAtLeast(Node):
    """TRUE if at least ``n`` distinct agents (value sets) of ``drugs`` were ever taken."""

    KEY = "agents_at_least"
    drugs: tuple[str, ...]
    n: int


@dataclass(frozen=True, slots=True)
class ClassesAtLeast(Node):
    """TRUE if drugs of at least ``n`` mechanism classes of ``classes`` were ever taken."""

    KEY = "classes_at_least"
    classes: str
    n: int


@dataclass(frozen=True, slots=True)
class StartedBefore(Node):
    """TRUE if the first exposure to ``drugs`` began at least ``months`` before screening."""

    KEY = "started_before"
    drugs: tuple[str, ...]
    months: int


@dataclass(frozen=True, slots=True)
class ExposureSpan(Node):
    """TRUE if exposure to ``drugs`` spans at least ``months`` calendar months,
    from the first start to the last end (or screening, if ongoing)."""

    KEY = "exposure_span"
    drugs: tuple[str, ...]
    months: int


@dataclass(frozen=True, slots=True)
class CurrentDoseAbove(Node):
    """TRUE if the prednisone-equivalent daily dose of the exposures covering the
    screening date exceeds ``mg``; UNKNOWN if one of them has no readable dose."""

    KEY = "current_dose_above"
    drugs: tuple[str, ...]
    mg: float
