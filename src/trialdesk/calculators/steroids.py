"""Prednisone-equivalent dose of a systemic glucocorticoid.

    prednisone-equivalent (mg) = dose (mg) x factor(drug)

The factor is 5 mg (prednisone's equivalent dose) divided by the drug's
equivalent dose (Meikle AW, Tyler FH. Am J Med 1977;63:200-207, as tabulated in
clinical.md 5). The protocol fixes the factors in data.md "Prednisone
equivalents": dexamethasone 6.67 (0.75 mg) and betamethasone 8.33 (0.6 mg, US
tables; the BNF's 0.75 mg would give 6.67). Deflazacort is not in data.md; its
factor 5/6 comes from the BNF equivalence "prednisolone 5 mg = deflazacort 6 mg"
(clinical.md 5). Oral/IV systemic dosing only.
"""

from __future__ import annotations

from trialdesk.calculators.base import CalcResult, fmt, require_finite
from trialdesk.errors import CalculatorError

NAME = "prednisone-equivalent"
UNIT = "mg prednisone"
SOURCE = (
    "Meikle AW, Tyler FH. Potency and duration of action of glucocorticoids. "
    "Am J Med 1977;63:200-207; factors fixed in protocol data.md (deflazacort: BNF)"
)

#: mg prednisone per mg of drug.
PREDNISONE_FACTORS: dict[str, float] = {
    "prednisone": 1.0,
    "prednisolone": 1.0,
    "methylprednisolone": 1.25,
    "triamcinolone": 1.25,
    "hydrocortisone": 0.25,
    "cortisone": 0.2,
    "dexamethasone": 6.67,
    "betamethasone": 8.33,
    "deflazacort": 5 / 6,
}


def prednisone_equivalent(drug: str, dose_mg: float) -> CalcResult:
    """The prednisone-equivalent of ``dose_mg`` of ``drug`` (English ingredient name).

    Raises CalculatorError for an unknown drug (the message lists the known
    ones) or a negative or non-finite dose.
    """
    key = str(drug).strip().lower()
    if key not in PREDNISONE_FACTORS:
        known = ", ".join(sorted(PREDNISONE_FACTORS))
        raise CalculatorError(f"unknown glucocorticoid {drug!r}; known: {known}", "drug")
    dose = require_finite(dose_mg, "dose", "mg")
    if dose < 0:
        raise CalculatorError(f"dose must be >= 0, got {fmt(dose)} mg", "dose")
    factor = PREDNISONE_FACTORS[key]
    value = dose * factor
    return CalcResult(
        name=NAME,
        value=value,
        unit=UNIT,
        inputs={"drug": key, "dose": f"{fmt(dose)} mg"},
        equation=f"{fmt(dose)} mg {key} x {fmt(factor)} = {fmt(value)} mg prednisone",
        source=SOURCE,
    )
