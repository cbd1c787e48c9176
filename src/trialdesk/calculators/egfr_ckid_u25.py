"""CKiD U25 creatinine equation, ages 1 to < 26.

    eGFR = K x height (m) / Scr (mg/dL)

K depends on sex and age (piecewise, continuous age):

    sex     1 <= age < 12          12 <= age < 18         age >= 18
    male    39.0 x 1.008^(age-12)  39.0 x 1.045^(age-12)  50.8
    female  36.1 x 1.008^(age-12)  36.1 x 1.023^(age-12)  41.4

Source: Pierce CB, Munoz A, Ng DK, Warady BA, Furth SL, Schwartz GJ. Age- and
sex-dependent clinical equations to estimate glomerular filtration rates in
children and young adults with chronic kidney disease. Kidney Int
2021;99:948-956 (PMID 33301749); official code github.com/ckidstudy/CKiD_U25
(R/SAS/Stata; clinical.md 3.4). The official code is followed, not kidney.epi,
which holds K constant for 15 <= age < 18 (clinical.md 3.4, "Discrepancy").
The protocol passes age in completed years (criteria.md "eGFR"); fractional
ages are accepted as the official code does.
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

NAME = "egfr-ckid-u25"
UNIT = "mL/min/{1.73_m2}"
SOURCE = (
    "Pierce CB, Munoz A, Ng DK, Warady BA, Furth SL, Schwartz GJ. Age- and sex-dependent "
    "clinical equations to estimate glomerular filtration rates in children and young adults "
    "with chronic kidney disease. Kidney Int 2021;99:948-956; official code "
    "github.com/ckidstudy/CKiD_U25"
)
MIN_AGE, MAX_AGE = 1, 26  # 1 <= age < 26
HEIGHT_M = (0.3, 2.5)  # plausibility limits; the official code documents 0.6-2 m


class Band(NamedTuple):
    """K = k12 x growth^(age - 12) for ``start <= age < end``; constant if growth is None."""

    start: float
    end: float
    k12: float
    growth: float | None


AGE_CENTRE = 12
K_TABLE: dict[str, tuple[Band, ...]] = {
    "male": (Band(1, 12, 39.0, 1.008), Band(12, 18, 39.0, 1.045), Band(18, 26, 50.8, None)),
    "female": (Band(1, 12, 36.1, 1.008), Band(12, 18, 36.1, 1.023), Band(18, 26, 41.4, None)),
}


def k_factor(sex: str, age: float) -> tuple[float, str]:
    """K for ``sex`` and ``age``, and the K formula with numbers substituted."""
    band = next(b for b in K_TABLE[sex] if b.start <= age < b.end)
    if band.growth is None:
        return band.k12, f"K = {band.k12:g}"
    k = band.k12 * band.growth ** (age - AGE_CENTRE)
    return k, f"K = {band.k12:g} x {band.growth:g}^({fmt(age)}-{AGE_CENTRE}) = {k:.2f}"


def egfr_ckid_u25(
    creatinine_mg_dl: float, age: float, sex: str, height_m: float
) -> CalcResult:
    """eGFR (mL/min/1.73 m2) from creatinine (mg/dL), age (years), sex and height (m).

    Raises CalculatorError if age is outside 1 to < 26, creatinine or height
    is not > 0 and plausible, or sex is not male/female.
    """
    scr = require_creatinine(creatinine_mg_dl)
    years = require_between(age, "age", "years", 0, 120)
    if not MIN_AGE <= years < MAX_AGE:
        raise CalculatorError(
            f"CKiD U25 applies from age {MIN_AGE} to < {MAX_AGE}; got {fmt(years)}", "age"
        )
    sex = require_sex(sex, "CKiD U25")
    height = require_between(height_m, "height", "m", *HEIGHT_M)
    k, k_equation = k_factor(sex, years)
    value = k * height / scr
    equation = (
        f"{k_equation}; eGFR = K x height / Scr = {k:.2f} x {height:.2f} / {scr:.2f} "
        f"= {value:.1f}"
    )
    return CalcResult(
        name=NAME,
        value=value,
        unit=UNIT,
        inputs={
            "creatinine": f"{fmt(scr)} mg/dL",
            "age": plain(years),
            "sex": sex,
            "height": f"{fmt(height)} m",
        },
        equation=equation,
        source=SOURCE,
    )
