"""CKD-EPI 2021 creatinine equation (race-free), adults.

    eGFR = 142 x min(Scr/k, 1)^a x max(Scr/k, 1)^-1.200 x 0.9938^age x 1.012 [female]

k = 0.7 (female) / 0.9 (male); a = -0.241 (female) / -0.302 (male); Scr in
mg/dL (IDMS-traceable); age in years; eGFR in mL/min/1.73 m2.

Source: Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin
C-based equations to estimate GFR without race. N Engl J Med
2021;385:1737-1749 (clinical.md 3.2). Developed in adults: applies from age 18.
"""

from __future__ import annotations

from typing import NamedTuple

from trialdesk.calculators.base import (
    CalcResult,
    fmt,
    plain,
    require_between,
    require_creatinine,
    require_sex,
)
from trialdesk.errors import CalculatorError

NAME = "egfr-ckd-epi-2021"
UNIT = "mL/min/{1.73_m2}"
SOURCE = (
    "Inker LA, Eneanya ND, Coresh J, et al. New creatinine- and cystatin C-based equations "
    "to estimate GFR without race. N Engl J Med 2021;385:1737-1749"
)
MIN_AGE = 18
MAX_AGE = 120  # plausibility limit, not part of the equation


class Coefficients(NamedTuple):
    kappa: float
    alpha: float
    sex_factor: float


CONSTANT = 142.0
BETA = -1.200
AGE_BASE = 0.9938
COEFFICIENTS: dict[str, Coefficients] = {
    "female": Coefficients(kappa=0.7, alpha=-0.241, sex_factor=1.012),
    "male": Coefficients(kappa=0.9, alpha=-0.302, sex_factor=1.0),
}


def egfr_ckd_epi_2021(creatinine_mg_dl: float, age: float, sex: str) -> CalcResult:
    """eGFR (mL/min/1.73 m2) from serum creatinine (mg/dL), age (years) and sex.

    Raises CalculatorError if creatinine is not > 0 and plausible, age is
    below 18 (or implausible), or sex is not male/female.
    """
    scr = require_creatinine(creatinine_mg_dl)
    years = require_between(age, "age", "years", 0, MAX_AGE)
    if years < MIN_AGE:
        raise CalculatorError(f"CKD-EPI 2021 applies from age {MIN_AGE}; got {fmt(years)}", "age")
    sex = require_sex(sex, "CKD-EPI 2021")
    c = COEFFICIENTS[sex]
    ratio = scr / c.kappa
    value = (
        CONSTANT
        * min(ratio, 1.0) ** c.alpha
        * max(ratio, 1.0) ** BETA
        * AGE_BASE**years
        * c.sex_factor
    )
    s = f"{scr:.2f}/{c.kappa:g}"
    equation = (
        f"{CONSTANT:g} x min({s},1)^{c.alpha:g} x max({s},1)^{BETA:.3f} "
        f"x {AGE_BASE:g}^{fmt(years)} x {c.sex_factor:g} [{sex}] = {value:.1f}"
    )
    return CalcResult(
        name=NAME,
        value=value,
        unit=UNIT,
        inputs={"creatinine": f"{fmt(scr)} mg/dL", "age": plain(years), "sex": sex},
        equation=equation,
        source=SOURCE,
    )
