"""Ratio of a result to its upper limit of normal (ULN).

    ratio = value / ULN        (both in the same unit)

The ULN is the laboratory's (``referenceRange.high``) or the site's configured
table; it is never invented here (criteria.md "Units and reference ranges").
Thresholds such as "AST <= 3.0 x ULN" are then compared on the ratio, as in
NCI CTCAE v5.0 (clinical.md 8.3).
"""

from __future__ import annotations

from trialdesk.calculators.base import CalcResult, fmt, require_finite, require_positive
from trialdesk.errors import CalculatorError

NAME = "uln-ratio"
UNIT = "{x ULN}"
SOURCE = (
    "value / laboratory upper limit of normal (criteria.md 'Units and reference ranges'); "
    "NCI CTCAE v5.0, 2017"
)


def uln_ratio(value: float, uln: float, analyte: str, unit: str = "") -> CalcResult:
    """``value / uln``; both must already be in ``unit`` (recorded in the inputs).

    Raises CalculatorError if ``uln`` is not > 0 or ``value`` is negative.
    """
    result = require_finite(value, "value", unit)
    limit = require_positive(uln, "uln", unit)
    if result < 0:
        raise CalculatorError(f"value must be >= 0, got {fmt(result)} {unit}".rstrip(), "value")
    ratio = require_finite(result / limit, "ratio")
    suffix = f" {unit}" if unit else ""
    return CalcResult(
        name=NAME,
        value=ratio,
        unit=UNIT,
        inputs={
            "analyte": analyte,
            "value": f"{fmt(result)}{suffix}",
            "uln": f"{fmt(limit)}{suffix}",
        },
        equation=f"{fmt(result)}{suffix} / {fmt(limit)}{suffix} = {ratio:.2f} x ULN",
        source=SOURCE,
    )
