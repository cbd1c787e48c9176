"""Measurement, score and attestation nodes.

Value nodes (``VALUE = True``) yield a number, a code or a boolean, or
"missing" with the reason and what to collect. Measurements count only when
dated inside their freshness window (protocol parameter; criteria.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from trialdesk.engine.ast.base import Node, Window


@dataclass(frozen=True, slots=True)
class Latest(Node):
    """The latest value of a measure inside ``window`` (default: its freshness).

    Numeric measures are converted to the measure's unit; coded ones (ECG
    impression) yield the code. Missing, stale, unit-less, unknown-unit or
    implausible values yield "missing" with the reason.
    """

    KEY = "latest"
    VALUE = True
    measures: tuple[str, ...]
    window: Window | None = None


@dataclass(frozen=True, slots=True)
class Compare(Node):
    """``left op right`` for op in ge, gt, le, lt, eq, in; UNKNOWN if ``left`` is missing.

    ``right`` is a number, a parameter name (``{param: x}``) or, for ``in``, a
    list of codes.
    """

    KEY = "compare"
    op: str
    left: Node
    right: float | str | tuple[str, ...]

    def children(self) -> tuple[Node, ...]:
        return (self.left,)


@dataclass(frozen=True, slots=True)
class Age(Node):
    """Age in completed years on the screening date; missing without a birth date."""

    KEY = "age"
    VALUE = True


@dataclass(frozen=True, slots=True)
class Sex(Node):
    """TRUE when the administrative gender is ``value``; UNKNOWN if not recorded."""

    KEY = "sex"
    value: str


@dataclass(frozen=True, slots=True)
class Egfr(Node):
    """eGFR (mL/min/1.73 m2) per criteria.md "eGFR".

    From the latest fresh creatinine: CKiD U25 below age 18 (height nearest the
    creatinine date, within ``height_window_days``), CKD-EPI 2021 from 18. A
    reported eGFR is used only when no fresh creatinine exists.
    """

    KEY = "egfr"
    READS = ("creatinine", "egfr-reported", "height")
    VALUE = True


@dataclass(frozen=True, slots=True)
class UlnRatio(Node):
    """Latest value of a measure divided by its ULN (the observation's
    ``referenceRange.high``, else the site's reference-interval table)."""

    KEY = "uln_ratio"
    VALUE = True
    measure: str


@dataclass(frozen=True, slots=True)
class Sledai(Node):
    """SLEDAI-2K total of the latest fresh assessment (computed from components)."""

    KEY = "sledai_2k"
    READS = ("sledai-2k",)
    VALUE = True


@dataclass(frozen=True, slots=True)
class AnaTiter(Node):
    """Highest ANA titer ever recorded (denominator; a negative result is 0)."""

    KEY = "ana_titer"
    READS = ("ana",)
    VALUE = True


@dataclass(frozen=True, slots=True)
class EularClassified(Node):
    """2019 EULAR/ACR classification from the latest assessment and ANA ever."""

    KEY = "eular_acr_classified"
    READS = ("eular-acr-2019", "ana")


@dataclass(frozen=True, slots=True)
class Attestation(Node):
    """An investigator attestation's boolean (latest); missing if none recorded."""

    KEY = "attestation"
    VALUE = True
    code: str


@dataclass(frozen=True, slots=True)
class Attested(Node):
    """TRUE only when the attestation is recorded as true (absent: FALSE)."""

    KEY = "attested"
    code: str


@dataclass(frozen=True, slots=True)
class Positive(Node):
    """A qualitative test result in ``window`` (default: freshness).

    ``among`` latest: the latest result decides; any: TRUE if any result in the
    window is positive, FALSE if there are results and none is. UNKNOWN if no
    readable result.
    """

    KEY = "positive"
    measures: tuple[str, ...]
    among: str = "latest"
    window: Window | None = None


@dataclass(frozen=True, slots=True)
class AboveRange(Node):
    """Latest viral load above the reference range (value > referenceRange.high,
    or interpretation H/HH/POS/DET/A); FALSE when within; UNKNOWN if missing."""

    KEY = "above_range"
    measure: str
    window: Window | None = None


@dataclass(frozen=True, slots=True)
class AssessmentItem(Node):
    """TRUE if an assessment dated in ``window`` records any of ``items`` as present."""

    KEY = "assessment_item"
    assessment: str
    items: tuple[str, ...]
    window: Window


@dataclass(frozen=True, slots=True)
class RelapseAfterRemission(Node):
    """TRUE if a value >= ``relapse`` follows an earlier value <= ``remission``
    (a relapse after complete remission, IPNA 2020); any date before screening."""

    KEY = "relapse_after_remission"
    measure: str
    remission: float
    relapse: float


@dataclass(frozen=True, slots=True)
class IsTrue(Node):
    """TRUE if a boolean value (an attestation) is true, FALSE if false, UNKNOWN if missing."""

    KEY = "is_true"
    item: Node

    def children(self) -> tuple[Node, ...]:
        return (self.item,)
