"""eGFR equations: sourced tables, clinical.md 3.7 comparison, properties, boundaries.

Every expected value names its source: a published worked example, an official
calculator, or the hand arithmetic from the equation (intermediate values shown).
"""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.calculators.egfr_bedside_schwartz import egfr_bedside_schwartz
from trialdesk.calculators.egfr_ckd_epi_2021 import COEFFICIENTS, egfr_ckd_epi_2021
from trialdesk.calculators.egfr_ckid_u25 import egfr_ckid_u25, k_factor
from trialdesk.calculators.units import convert
from trialdesk.errors import CalculatorError

KIDNEY_EPI = "kidney.epi 1.3.0 reference example (scientific-tools-org/kidney.epi @ d38527c,"
CKID_SHINY = (
    "official CKiD U25 code, github.com/ckidstudy/CKiD_U25 @ 70d07cd, "
    "'R Code for U25eGFR calculation.R' header, values 'Calculated from Shinyapps.io':"
)

CKD_EPI_CASES = [  # scr mg/dL, age, sex, expected, tolerance, source
    (1.4, 60, "male", 57.54, 0.005,
     f"{KIDNEY_EPI} docs/reference/egfr.ckdepi.cr.2021.html): 1.4 mg/dl, 60, Male -> 57.54"),
    (1.0, 18, "male", 111.9, 0.05,
     "clinical.md 3.7 [COMPUTED], re-derived by hand from Inker 2021 eq.: 1.0/0.9 = 1.11111; "
     "1.11111^-1.200 = 0.88123; 0.9938^18 = 0.89409; 142 x 0.88123 x 0.89409 = 111.88"),
    (0.7, 50, "female", 105.30, 0.01,
     "hand, Inker 2021 eq.: Scr = kappa so min and max terms are 1; 0.9938^50 = 0.73274; "
     "142 x 0.73274 x 1.012 = 105.30"),
    (0.5, 40, "female", 121.52, 0.01,
     "hand, Inker 2021 eq.: 0.5/0.7 = 0.71429; 0.71429^-0.241 = 1.08447; 0.9938^40 = 0.77976; "
     "142 x 1.08447 x 0.77976 x 1.012 = 121.52"),
    (1.0, 18, "female", 83.75, 0.01,
     "hand, Inker 2021 eq.: 1.0/0.7 = 1.42857; 1.42857^-1.200 = 0.65181; 0.9938^18 = 0.89409; "
     "142 x 0.65181 x 0.89409 x 1.012 = 83.75"),
    (2.5, 70, "male", 26.96, 0.01,
     "hand, Inker 2021 eq.: 2.5/0.9 = 2.77778; 2.77778^-1.200 = 0.29347; 0.9938^70 = 0.64704; "
     "142 x 0.29347 x 0.64704 = 26.96"),
    (0.6, 30, "male", 133.18, 0.01,
     "hand, Inker 2021 eq.: 0.6/0.9 = 0.66667; 0.66667^-0.302 = 1.13026; 0.9938^30 = 0.82979; "
     "142 x 1.13026 x 0.82979 = 133.18"),
]


@pytest.mark.parametrize(
    ("scr", "age", "sex", "expected", "tolerance", "source"),
    CKD_EPI_CASES,
    ids=[f"{c[2]}-{c[1]}y-scr{c[0]}" for c in CKD_EPI_CASES],
)
def test_ckd_epi_2021(
    scr: float, age: int, sex: str, expected: float, tolerance: float, source: str
) -> None:
    assert egfr_ckd_epi_2021(scr, age, sex).value == pytest.approx(expected, abs=tolerance)


U25_CASES = [  # scr mg/dL, age, sex, height m, expected, tolerance, source
    (0.9, 11, "male", 1.2, 51.6, 0.05, f"{CKID_SHINY} male 11 y 1.2 m SCr 0.9 -> 51.6"),
    (0.9, 11, "female", 1.2, 47.8, 0.05, f"{CKID_SHINY} female 11 y 1.2 m SCr 0.9 -> 47.8"),
    (1.9, 15, "male", 1.6, 37.5, 0.05, f"{CKID_SHINY} male 15 y 1.6 m SCr 1.9 -> 37.5"),
    (1.9, 15, "female", 1.6, 32.5, 0.05, f"{CKID_SHINY} female 15 y 1.6 m SCr 1.9 -> 32.5"),
    (2.1, 20, "male", 1.81, 43.8, 0.05, f"{CKID_SHINY} male 20 y 1.81 m SCr 2.1 -> 43.8"),
    (2.1, 20, "female", 1.81, 35.7, 0.05, f"{CKID_SHINY} female 20 y 1.81 m SCr 2.1 -> 35.7"),
    (1.4, 10, "male", 0.9, 24.68, 0.005,
     f"{KIDNEY_EPI} docs/reference/egfr.ckid_u25.cr.html): 1.4 mg/dl, 10 y, 90 cm, Male -> "
     "24.68 (kidney.epi agrees with the official code below age 15)"),
    (1.0, 18, "male", 1.75, 88.9, 0.005,
     "clinical.md 3.7 [COMPUTED], re-derived by hand: K = 50.8 (male >= 18); "
     "50.8 x 1.75 / 1.0 = 88.90"),
    (1.0, 12, "male", 1.5, 58.5, 1e-9,
     "hand, official code (SAS 'age >= 12 and age < 18'): K = 39.0 x 1.045^0 = 39.0; "
     "39.0 x 1.5 / 1.0 = 58.50"),
    (1.0, 12, "female", 1.5, 54.15, 1e-9,
     "hand, official code: K = 36.1 x 1.023^0 = 36.1; 36.1 x 1.5 / 1.0 = 54.15"),
    (1.0, 17, "male", 1.7, 82.62, 0.005,
     "hand, official code: K = 39.0 x 1.045^5 = 48.601; 48.601 x 1.7 / 1.0 = 82.62 "
     "(kidney.epi's constant K 41.8 would give 71.06: clinical.md 3.4 discrepancy)"),
    (1.0, 17, "female", 1.6, 64.72, 0.005,
     "hand, official code: K = 36.1 x 1.023^5 = 40.447; 40.447 x 1.6 / 1.0 = 64.72"),
    (0.5, 3, "female", 0.95, 63.84, 0.005,
     "hand, official code: K = 36.1 x 1.008^-9 = 33.602; 33.602 x 0.95 / 0.5 = 63.84"),
]


@pytest.mark.parametrize(
    ("scr", "age", "sex", "height_m", "expected", "tolerance", "source"),
    U25_CASES,
    ids=[f"{c[2]}-{c[1]}y-scr{c[0]}-{c[3]}m" for c in U25_CASES],
)
def test_ckid_u25(
    scr: float, age: float, sex: str, height_m: float,
    expected: float, tolerance: float, source: str,
) -> None:
    assert egfr_ckid_u25(scr, age, sex, height_m).value == pytest.approx(expected, abs=tolerance)


SCHWARTZ_CASES = [  # scr mg/dL, height cm, expected, tolerance, source
    (1.4, 90, 26.55, 0.005,
     f"{KIDNEY_EPI} docs/reference/egfr.schwartz.html): 1.4 mg/dl, 90 cm, classic -> 26.55"),
    (1.0, 175, 72.3, 0.05,
     "clinical.md 3.7 [COMPUTED], re-derived by hand from Schwartz 2009: 0.413 x 175 / 1.0 "
     "= 72.275"),
    (0.5, 120, 99.12, 1e-9, "hand, Schwartz 2009: 0.413 x 120 / 0.5 = 99.12"),
]


@pytest.mark.parametrize(("scr", "height_cm", "expected", "tolerance", "source"), SCHWARTZ_CASES)
def test_bedside_schwartz(
    scr: float, height_cm: float, expected: float, tolerance: float, source: str
) -> None:
    assert egfr_bedside_schwartz(scr, height_cm).value == pytest.approx(expected, abs=tolerance)


def test_clinical_md_3_7_discontinuity_at_18() -> None:
    # clinical.md 3.7: male 18 y, 175 cm, Scr 1.0 mg/dL -> U25 88.9, CKD-EPI 111.9,
    # bedside Schwartz 72.3 (each re-derived by hand in the tables above).
    assert round(egfr_ckid_u25(1.0, 18, "male", 1.75).value, 1) == 88.9
    assert round(egfr_ckd_epi_2021(1.0, 18, "male").value, 1) == 111.9
    assert round(egfr_bedside_schwartz(1.0, 175).value, 1) == 72.3


def test_equation_text_shows_the_substituted_numbers() -> None:
    result = egfr_ckd_epi_2021(1.0, 50, "female")
    assert result.equation.startswith("142 x min(1.00/0.7,1)^-0.241 x max(1.00/0.7,1)^-1.200")
    assert result.equation.endswith(f"= {result.value:.1f}")
    assert result.inputs == {"creatinine": "1 mg/dL", "age": 50, "sex": "female"}
    assert "Inker" in result.source and result.unit == "mL/min/{1.73_m2}"
    u25 = egfr_ckid_u25(1.9, 15, "female", 1.6)
    assert u25.equation.startswith("K = 36.1 x 1.023^(15-12) = 38.65; ")


# --- CKiD U25 K table boundaries (official code: 12 <= age < 18, age >= 18) ---------------


@pytest.mark.parametrize(
    ("sex", "age", "expected", "source"),
    [
        ("male", 12, 39.0, "official code: 39.0 x 1.045^(12-12)"),
        ("female", 12, 36.1, "official code: 36.1 x 1.023^(12-12)"),
        ("male", 18, 50.8, "official code: age >= 18 -> 50.8"),
        ("female", 18, 41.4, "official code: age >= 18 -> 41.4"),
        ("male", 11.5, 39.0 * 1.008**-0.5, "official code: 39.0 x 1.008^(age-12), age < 12"),
        ("male", 17.5, 39.0 * 1.045**5.5, "official code: 39.0 x 1.045^(age-12), 12-<18"),
        ("female", 17.5, 36.1 * 1.023**5.5, "official code: 36.1 x 1.023^(age-12), 12-<18"),
        ("male", 16, 46.508, "hand: 39.0 x 1.045^4 = 46.508 (not kidney.epi's 41.8)"),
        ("male", 25.99, 50.8, "official code: age >= 18 -> 50.8"),
    ],
)
def test_k_table(sex: str, age: float, expected: float, source: str) -> None:
    assert k_factor(sex, age)[0] == pytest.approx(expected, abs=5e-4)


def test_k_is_continuous_at_12_and_nearly_so_at_18() -> None:
    for sex in ("male", "female"):
        assert k_factor(sex, 12 - 1e-9)[0] == pytest.approx(k_factor(sex, 12)[0], rel=1e-9)
    # At 18 the official pieces meet within 0.03 (39.0 x 1.045^6 = 50.788 vs 50.8;
    # 36.1 x 1.023^6 = 41.377 vs 41.4).
    assert k_factor("male", 18 - 1e-9)[0] == pytest.approx(50.788, abs=1e-3)
    assert k_factor("female", 18 - 1e-9)[0] == pytest.approx(41.377, abs=1e-3)


# --- applicability -----------------------------------------------------------------------


def test_ckd_epi_applies_from_18() -> None:
    assert egfr_ckd_epi_2021(1.0, 18, "male").value > 0
    with pytest.raises(CalculatorError, match="CKD-EPI 2021 applies from age 18; got 17") as err:
        egfr_ckd_epi_2021(1.0, 17, "male")
    assert err.value.field == "age"
    with pytest.raises(CalculatorError, match="got 17.99"):
        egfr_ckd_epi_2021(1.0, 17.99, "male")


@pytest.mark.parametrize("age", [1, 25, 25.99])
def test_ckid_u25_accepts_ages_1_to_under_26(age: float) -> None:
    assert egfr_ckid_u25(1.0, age, "female", 1.0).value > 0


@pytest.mark.parametrize("age", [0.5, 0.99, 26, 30])
def test_ckid_u25_refuses_ages_outside_1_to_under_26(age: float) -> None:
    with pytest.raises(CalculatorError, match="CKiD U25 applies from age 1 to < 26") as err:
        egfr_ckid_u25(1.0, age, "female", 1.0)
    assert err.value.field == "age"


@pytest.mark.parametrize(
    ("call", "field", "message"),
    [
        (lambda: egfr_ckd_epi_2021(-1, 50, "male"), "creatinine",
         "creatinine must be > 0, got -1 mg/dL"),
        (lambda: egfr_ckd_epi_2021(0, 50, "male"), "creatinine",
         "creatinine must be > 0, got 0 mg/dL"),
        (lambda: egfr_ckd_epi_2021(math.nan, 50, "male"), "creatinine", "finite"),
        (lambda: egfr_ckd_epi_2021(88, 50, "male"), "creatinine", "was it umol/L"),
        (lambda: egfr_ckd_epi_2021(1.0, -3, "male"), "age", "age must be > 0"),
        (lambda: egfr_ckd_epi_2021(1.0, 150, "male"), "age", "not plausible"),
        (lambda: egfr_ckd_epi_2021(1.0, 50, "other"), "sex", "sex must be male or female"),
        (lambda: egfr_ckid_u25(1.0, 10, "unknown", 1.2), "sex", "sex must be male or female"),
        (lambda: egfr_ckid_u25(1.0, 10, "male", 120), "height", "check the unit"),
        (lambda: egfr_ckid_u25(1.0, 10, "male", 0), "height", "height must be > 0"),
        (lambda: egfr_bedside_schwartz(1.0, 1.2), "height", "check the unit"),
        (lambda: egfr_bedside_schwartz(-0.5, 120), "creatinine", "must be > 0"),
    ],
)
def test_impossible_inputs_raise_naming_the_field(call, field: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message) as err:
        call()
    assert err.value.field == field


@pytest.mark.parametrize("sex", ["M", "Female", " f "])
def test_sex_spellings(sex: str) -> None:
    assert egfr_ckd_epi_2021(1.0, 40, sex).inputs["sex"] in ("male", "female")


# --- properties --------------------------------------------------------------------------

SCR = st.floats(min_value=0.1, max_value=15, allow_nan=False)
ADULT_AGE = st.integers(min_value=18, max_value=100)
SEX = st.sampled_from(["male", "female"])


@given(scr=SCR, age=ADULT_AGE, sex=SEX)
def test_unit_invariance_umol_and_mg(scr: float, age: int, sex: str) -> None:
    umol = scr * 88.4
    via_umol = convert(umol, "umol/L", "mg/dL", "creatinine")
    assert egfr_ckd_epi_2021(via_umol, age, sex).value == pytest.approx(
        egfr_ckd_epi_2021(scr, age, sex).value, rel=1e-12
    )
    assert egfr_ckid_u25(via_umol, 20, sex, 1.7).value == pytest.approx(
        egfr_ckid_u25(scr, 20, sex, 1.7).value, rel=1e-12
    )


def test_unit_invariance_88_4_umol_equals_1_mg() -> None:
    one = convert(88.4, "umol/L", "mg/dL", "creatinine")
    assert egfr_ckd_epi_2021(one, 50, "male").value == pytest.approx(
        egfr_ckd_epi_2021(1.0, 50, "male").value
    )
    assert egfr_bedside_schwartz(one, 120).value == pytest.approx(
        egfr_bedside_schwartz(1.0, 120).value
    )


@given(a=SCR, b=SCR, age=ADULT_AGE, sex=SEX)
def test_ckd_epi_decreases_with_creatinine(a: float, b: float, age: int, sex: str) -> None:
    low, high = sorted((a, b))
    if high > low * (1 + 1e-9):  # a real difference, not a float rounding tie
        assert egfr_ckd_epi_2021(low, age, sex).value > egfr_ckd_epi_2021(high, age, sex).value


@given(scr=SCR, a=ADULT_AGE, b=ADULT_AGE, sex=SEX)
def test_ckd_epi_decreases_with_age(scr: float, a: int, b: int, sex: str) -> None:
    young, old = sorted((a, b))
    if young < old:
        assert egfr_ckd_epi_2021(scr, young, sex).value > egfr_ckd_epi_2021(scr, old, sex).value


@given(a=SCR, b=SCR, age=st.floats(min_value=1, max_value=25.99), sex=SEX)
def test_creatinine_based_children_equations_decrease_with_creatinine(
    a: float, b: float, age: float, sex: str
) -> None:
    low, high = sorted((a, b))
    if high > low * (1 + 1e-9):  # a real difference, not a float rounding tie
        assert egfr_ckid_u25(low, age, sex, 1.2).value > egfr_ckid_u25(high, age, sex, 1.2).value
        assert egfr_bedside_schwartz(low, 120).value > egfr_bedside_schwartz(high, 120).value


@given(age=ADULT_AGE, sex=SEX)
def test_ckd_epi_is_continuous_at_kappa(age: int, sex: str) -> None:
    kappa = COEFFICIENTS[sex].kappa
    at = egfr_ckd_epi_2021(kappa, age, sex).value
    below = egfr_ckd_epi_2021(kappa * (1 - 1e-9), age, sex).value
    above = egfr_ckd_epi_2021(kappa * (1 + 1e-9), age, sex).value
    assert below == pytest.approx(at, rel=1e-8)
    assert above == pytest.approx(at, rel=1e-8)
