"""Bedside Schwartz equation (2009), children.

    eGFR = 0.413 x height (cm) / Scr (mg/dL)

Source: Schwartz GJ, Munoz A, Schneider MF, et al. New equations to estimate
GFR in children with CKD. J Am Soc Nephrol 2009;20:629-637 (PMC2653687;
clinical.md 3.3). Derived in the CKiD cohort, ages 1-16 with CKD; the protocol
uses CKiD U25 instead (criteria.md "eGFR"), so this is for comparison.
"""

from __future__ import annotations

from trialdesk.calculators.base import CalcResult, fmt, require_between, require_creatinine

NAME = "egfr-bedside-schwartz"
UNIT = "mL/min/{1.73_m2}"
SOURCE = (
    "Schwartz GJ, Munoz A, Schneider MF, et al. New equations to estimate GFR in children "
    "with CKD. J Am Soc Nephrol 2009;20:629-637"
)
K = 0.413
HEIGHT_CM = (30.0, 250.0)  # plausibility limits (catch metres passed as cm)


def egfr_bedside_schwartz(creatinine_mg_dl: float, height_cm: float) -> CalcResult:
    """eGFR (mL/min/1.73 m2) from creatinine (mg/dL) and height (cm).

    Raises CalculatorError if creatinine or height is not > 0 and plausible.
    """
    scr = require_creatinine(creatinine_mg_dl)
    height = require_between(height_cm, "height", "cm", *HEIGHT_CM)
    value = K * height / scr
    return CalcResult(
        name=NAME,
        value=value,
        unit=UNIT,
        inputs={"creatinine": f"{fmt(scr)} mg/dL", "height": f"{fmt(height)} cm"},
        equation=f"{K:g} x {fmt(height)} / {scr:.2f} = {value:.1f}",
        source=SOURCE,
    )
