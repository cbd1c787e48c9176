"""The result every calculator returns, and the input checks they share.

A calculator never returns a bare number: :class:`CalcResult` carries the
inputs it used (with units), the equation with those numbers substituted, and
the citation, so that a verdict built on it can show its evidence.

``value`` keeps full precision; only the ``equation`` text is rounded for
display. Thresholds (e.g. eGFR >= 30) are therefore compared on the exact value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from trialdesk.errors import CalculatorError

_CORE_KEYS = ("name", "value", "unit", "inputs", "equation", "source")

#: Largest serum creatinine accepted as plausible, mg/dL (= 3536 umol/L). Above
#: it the value is almost surely in umol/L but labelled mg/dL.
MAX_PLAUSIBLE_CREATININE_MG_DL = 40.0
MIN_PLAUSIBLE_CREATININE_MG_DL = 0.05  # the protocol's plausible floor (4.4 umol/L); below it, a unit mix-up


@dataclass(frozen=True)
class CalcResult:
    """One calculated value with its inputs, substituted equation and source."""

    name: str
    value: float
    unit: str
    inputs: dict[str, object]
    equation: str
    source: str
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clash = sorted(set(self.extra) & set(_CORE_KEYS))
        if clash:
            raise ValueError(f"extra must not reuse the keys {clash}")

    def to_json(self) -> dict[str, object]:
        """The result as a JSON-ready dict; ``extra`` entries sit at top level."""
        core = {key: getattr(self, key) for key in _CORE_KEYS}
        return {**core, **self.extra}


def fmt(number: float, digits: int = 4) -> str:
    """``number`` with up to ``digits`` significant figures, no trailing zeros."""
    return f"{number:.{digits}g}"


def plain(number: float) -> int | float:
    """``number`` as an int when it is whole (for JSON inputs: age 50, not 50.0)."""
    return int(number) if float(number).is_integer() else number


def require_finite(value: float, name: str, unit: str = "") -> float:
    """``value`` as a float, or CalculatorError if it is not a finite number."""
    number = float(value)
    if not math.isfinite(number):
        message = f"{name} must be a finite number, got {value} {unit}"
        raise CalculatorError(message.rstrip(), name)
    return number


def require_positive(value: float, name: str, unit: str) -> float:
    """``value`` if it is finite and > 0, else CalculatorError naming ``name``."""
    number = require_finite(value, name, unit)
    if number <= 0:
        raise CalculatorError(f"{name} must be > 0, got {fmt(number)} {unit}", name)
    return number


def require_between(value: float, name: str, unit: str, low: float, high: float) -> float:
    """``value`` if ``low <= value <= high``; the bounds are plausibility limits."""
    number = require_positive(value, name, unit)
    if not low <= number <= high:
        raise CalculatorError(
            f"{name} {fmt(number)} {unit} is not plausible (expected {fmt(low)} to {fmt(high)} "
            f"{unit}); check the unit",
            name,
        )
    return number


def require_creatinine(creatinine_mg_dl: float) -> float:
    """Serum creatinine in mg/dL, > 0 and plausible (catches umol/L passed as mg/dL)."""
    scr = require_positive(creatinine_mg_dl, "creatinine", "mg/dL")
    if scr < MIN_PLAUSIBLE_CREATININE_MG_DL:
        raise CalculatorError(
            f"creatinine {fmt(scr)} mg/dL is not plausible (< {fmt(MIN_PLAUSIBLE_CREATININE_MG_DL)} mg/dL); "
            "was it mmol/L?",
            "creatinine",
        )
    limit = MAX_PLAUSIBLE_CREATININE_MG_DL
    if scr > limit:
        raise CalculatorError(
            f"creatinine {fmt(scr)} mg/dL is not plausible (> {fmt(limit)} mg/dL); "
            "was it umol/L?",
            "creatinine",
        )
    return scr


def require_sex(sex: str, equation: str) -> str:
    """``"male"`` or ``"female"`` (also ``m``/``f``, any case); else CalculatorError."""
    text = str(sex).strip().lower()
    canonical = {"m": "male", "f": "female"}.get(text, text)
    if canonical not in ("male", "female"):
        raise CalculatorError(
            f"{equation} is sex-specific: sex must be male or female, got {sex!r}", "sex"
        )
    return canonical
