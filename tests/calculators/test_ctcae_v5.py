"""CTCAE v5 laboratory grades: the rule table against CTCAE v5.0 / admiral, boundaries, CLI.

Sources: CTCAE v5.0 (clinical.md 8.3) and its machine coding in pharmaverse/admiral
``data-raw/adlb_grading/ncictcaev5.json`` ("admiral" below), which settles the edge cases the
printed table leaves open (inclusive bounds, baseline use).
"""

import pytest

from trialdesk.calculators.ctcae_v5 import COUNT_UNIT, TERMS, ctcae_v5, read_count
from trialdesk.calculators.registry import run
from trialdesk.errors import CalculatorError, UnitError

LIVER = "CTCAE v5 {term} increased"
ALT = LIVER.format(term="ALT")
BILI = "CTCAE v5 Blood bilirubin increased"
CREA = "CTCAE v5 Creatinine increased"

# Each term's rules as 'G<n> <op> <bound> [x basis]', transcribed from CTCAE v5.0 (clinical.md 8.3).
RULES = {
    "alt": ["G1 > 1 x ULN", "G2 > 3 x ULN", "G3 > 5 x ULN", "G4 > 20 x ULN",
            "G1 >= 1.5 x baseline", "G2 > 3 x baseline", "G3 > 5 x baseline",
            "G4 > 20 x baseline"],
    "bilirubin": ["G1 > 1 x ULN", "G2 > 1.5 x ULN", "G3 > 3 x ULN", "G4 > 10 x ULN",
                  "G1 > 1 x baseline", "G2 > 1.5 x baseline", "G3 > 3 x baseline",
                  "G4 > 10 x baseline"],
    "creatinine": ["G1 > 1 x ULN", "G2 > 1.5 x ULN", "G3 > 3 x ULN", "G4 > 6 x ULN",
                   "G2 > 1.5 x baseline", "G3 > 3 x baseline"],
    "neutrophils": ["G1 < 1 x LLN", "G2 < 1.5 10*9/L", "G3 < 1 10*9/L", "G4 < 0.5 10*9/L"],
    "platelets": ["G1 < 1 x LLN", "G2 < 75 10*9/L", "G3 < 50 10*9/L", "G4 < 25 10*9/L"],
    "wbc": ["G1 < 1 x LLN", "G2 < 3 10*9/L", "G3 < 2 10*9/L", "G4 < 1 10*9/L"],
    "lymphocytes": ["G1 < 1 x LLN", "G2 < 0.8 10*9/L", "G3 < 0.5 10*9/L", "G4 < 0.2 10*9/L"],
    "anemia": ["G1 < 1 x LLN", "G2 < 100 g/L", "G3 < 80 g/L"],
}


def test_rule_table_matches_ctcae_v5() -> None:
    table = {code: [f"G{r.grade} {r.text(t.unit)}" for r in t.rules] for code, t in TERMS.items()}
    assert table == {**RULES, "ast": RULES["alt"]}
    assert {code: t.limit for code, t in TERMS.items()} == {
        "alt": "uln", "ast": "uln", "bilirubin": "uln", "creatinine": "uln",
        "neutrophils": "lln", "platelets": "lln", "wbc": "lln", "lymphocytes": "lln",
        "anemia": "lln",
    }


CASES = [  # term, value, limit (ULN/LLN), baseline, expected, source
    ("alt", 40, 40, None, 0, f"{ALT} G1 '>ULN': exactly the ULN is normal"),
    ("alt", 41, 40, None, 1, f"{ALT} G1 '>ULN - 3.0 x ULN'"),
    ("alt", 120, 40, None, 1, f"{ALT} G1 '>ULN - 3.0 x ULN': exactly 3.0 x ULN is still G1"),
    ("alt", 121, 40, None, 2, f"{ALT} G2 '>3.0 - 5.0 x ULN'"),
    ("alt", 200, 40, None, 2, f"{ALT} G2 '>3.0 - 5.0 x ULN': exactly 5.0 x ULN is still G2"),
    ("alt", 201, 40, None, 3, f"{ALT} G3 '>5.0 - 20.0 x ULN'"),
    ("alt", 800, 40, None, 3, f"{ALT} G3: exactly 20.0 x ULN is still G3"),
    ("alt", 801, 40, None, 4, f"{ALT} G4 '>20.0 x ULN'"),
    ("ast", 120, 40, None, 1, "CTCAE v5 AST increased G1: exactly 3.0 x ULN"),
    ("ast", 121, 40, 30, 2,
     "CTCAE v5 AST G2 '>3.0 - 5.0 x ULN if baseline was normal' (baseline 30 <= ULN)"),
    ("alt", 121, 40, 40, 2,
     f"{ALT}: baseline = ULN is normal (admiral BNRIND high = BASE > ANRHI) -> x ULN"),
    ("alt", 100, 40, 80, 0,
     (f"{ALT} G1 '1.5 - 3.0 x baseline if baseline was abnormal': 1.25 x baseline is below it, "
     "although 2.5 x ULN")),
    ("alt", 119, 40, 80, 0, f"{ALT}: abnormal baseline, 1.4875 x baseline < 1.5"),
    ("alt", 120, 40, 80, 1,
     f"{ALT} G1 '1.5 - 3.0 x baseline': exactly 1.5 x baseline is G1 (admiral >= 1.5*BASE)"),
    ("alt", 240, 40, 80, 1, f"{ALT} G1: exactly 3.0 x baseline is still G1"),
    ("alt", 241, 40, 80, 2, f"{ALT} G2 '>3.0 - 5.0 x baseline if baseline was abnormal'"),
    ("alt", 400, 40, 80, 2, f"{ALT} G2: exactly 5.0 x baseline is still G2"),
    ("alt", 401, 40, 80, 3, f"{ALT} G3 '>5.0 - 20.0 x baseline'"),
    ("alt", 1601, 40, 80, 4, f"{ALT} G4 '>20.0 x baseline'"),
    ("bilirubin", 20, 20, None, 0, f"{BILI} G1 '>ULN': exactly the ULN is normal"),
    ("bilirubin", 30, 20, None, 1, f"{BILI} G1 '>ULN - 1.5 x ULN': exactly 1.5 x ULN"),
    ("bilirubin", 31, 20, None, 2, f"{BILI} G2 '>1.5 - 3.0 x ULN'"),
    ("bilirubin", 60, 20, None, 2, f"{BILI} G2: exactly 3.0 x ULN"),
    ("bilirubin", 61, 20, None, 3, f"{BILI} G3 '>3.0 - 10.0 x ULN'"),
    ("bilirubin", 201, 20, None, 4, f"{BILI} G4 '>10.0 x ULN'"),
    ("bilirubin", 30, 20, 30, 0,
     f"{BILI} G1 '>1.0 - 1.5 x baseline if baseline was abnormal': equal to baseline is G0"),
    ("bilirubin", 31, 20, 30, 1, f"{BILI} G1 '>1.0 - 1.5 x baseline'"),
    ("bilirubin", 46, 20, 30, 2, f"{BILI} G2 '>1.5 - 3.0 x baseline'"),
    ("bilirubin", 91, 20, 30, 3, f"{BILI} G3 '>3.0 - 10.0 x baseline'"),
    ("bilirubin", 301, 20, 30, 4, f"{BILI} G4 '>10.0 x baseline'"),
    ("creatinine", 100, 100, None, 0, f"{CREA} G1 '>ULN': exactly the ULN is normal"),
    ("creatinine", 150, 100, None, 1, f"{CREA} G1 '>ULN - 1.5 x ULN'"),
    ("creatinine", 151, 100, None, 2, f"{CREA} G2 '>1.5 - 3.0 x ULN'"),
    ("creatinine", 301, 100, None, 3, f"{CREA} G3 '>3.0 - 6.0 x ULN'"),
    ("creatinine", 601, 100, None, 4, f"{CREA} G4 '>6.0 x ULN'"),
    ("creatinine", 60, 100, 40, 0, f"{CREA} G2 '>1.5 - 3.0 x baseline': exactly 1.5x is not"),
    ("creatinine", 61, 100, 40, 2,
     f"{CREA} G2 '>1.5 - 3.0 x baseline', below the ULN (admiral applies BASE whenever present)"),
    ("creatinine", 121, 100, 40, 3, f"{CREA} G3 '>3.0 x baseline' (1.21 x ULN would be G1)"),
    ("creatinine", 601, 100, 40, 4, f"{CREA} G4 '>6.0 x ULN' (baseline rules stop at G3)"),
    ("creatinine", 170, 100, 120, 2,
     f"{CREA} G2 '>1.5 - 3.0 x ULN' (1.42 x an abnormal baseline does not lower it)"),
    ("neutrophils", 1.8, 1.8, None, 0, "CTCAE v5 Neutrophil count decreased: '<LLN', = LLN"),
    ("neutrophils", 1.5, 1.8, None, 1, "Neutrophils G1 '<LLN - 1.5 x 10e9/L': 1.5 is G1"),
    ("neutrophils", 1.49, 1.8, None, 2, "Neutrophils G2 '<1.5 - 1.0 x 10e9/L'"),
    ("neutrophils", 1.0, 1.8, None, 2, "Neutrophils G2: exactly 1.0 is G2"),
    ("neutrophils", 0.99, 1.8, None, 3, "Neutrophils G3 '<1.0 - 0.5 x 10e9/L'"),
    ("neutrophils", 0.5, 1.8, None, 3, "Neutrophils G3: exactly 0.5 is G3"),
    ("neutrophils", 0.49, 1.8, None, 4, "Neutrophils G4 '<0.5 x 10e9/L'"),
    ("neutrophils", 1.4, 1.2, None, 2,
     "Neutrophils G2 '<1.5': absolute, whatever the LLN (admiral GRADE_2_CODE AVAL < 1.5)"),
    ("platelets", 130, 125, None, 0, "CTCAE v5 Platelet count decreased: not < LLN"),
    ("platelets", 75, 125, None, 1, "Platelets G1 '<LLN - 75.0 x 10e9/L': 75 is G1"),
    ("platelets", 74, 125, None, 2, "Platelets G2 '<75.0 - 50.0 x 10e9/L'"),
    ("platelets", 49, 125, None, 3, "Platelets G3 '<50.0 - 25.0 x 10e9/L'"),
    ("platelets", 25, 125, None, 3, "Platelets G3: exactly 25 is G3"),
    ("platelets", 24, 125, None, 4, "Platelets G4 '<25.0 x 10e9/L'"),
    ("wbc", 3.0, 3.5, None, 1, "CTCAE v5 WBC decreased G1 '<LLN - 3.0 x 10e9/L'"),
    ("wbc", 2.9, 3.5, None, 2, "WBC G2 '<3.0 - 2.0 x 10e9/L'"),
    ("wbc", 1.9, 3.5, None, 3, "WBC G3 '<2.0 - 1.0 x 10e9/L'"),
    ("wbc", 0.9, 3.5, None, 4, "WBC G4 '<1.0 x 10e9/L'"),
    ("lymphocytes", 0.8, 1.1, None, 1, "CTCAE v5 Lymphocyte count decreased G1 '<LLN - 0.8'"),
    ("lymphocytes", 0.79, 1.1, None, 2, "Lymphocytes G2 '<0.8 - 0.5 x 10e9/L'"),
    ("lymphocytes", 0.49, 1.1, None, 3, "Lymphocytes G3 '<0.5 - 0.2 x 10e9/L'"),
    ("lymphocytes", 0.19, 1.1, None, 4, "Lymphocytes G4 '<0.2 x 10e9/L'"),
    ("anemia", 115, 115, None, 0, "CTCAE v5 Anemia: Hgb = LLN is not < LLN"),
    ("anemia", 100, 115, None, 1, "Anemia G1 'Hgb <LLN - 100 g/L': 100 is G1"),
    ("anemia", 99, 115, None, 2, "Anemia G2 '<100 - 80 g/L'"),
    ("anemia", 80, 115, None, 2, "Anemia G2: exactly 80 g/L is G2"),
    ("anemia", 79, 115, None, 3, "Anemia G3 '<80 g/L'"),
    ("anemia", 30, 115, None, 3,
     "Anemia G4 is 'life-threatening consequences': clinical, so the lab grade stops at G3"),
]


@pytest.mark.parametrize(("code", "value", "limit", "baseline", "expected", "source"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in CASES])
def test_ctcae_grade(code: str, value: float, limit: float, baseline: float | None,
                     expected: int, source: str) -> None:
    result = ctcae_v5(code, value, limit, baseline)
    assert result.value == expected
    assert result.unit == "grade" and result.extra == {"ctcae_term": TERMS[code].name}


def test_equation_names_the_rule_and_the_baseline_decision() -> None:
    assert ctcae_v5("alt", 121, 40).equation == (
        "Alanine aminotransferase increased: 121 U/L = 3.025 x ULN meets the G2 rule '> 3 x ULN'"
    )
    assert ctcae_v5("alt", 100, 40, 80).equation == (
        "Alanine aminotransferase increased: 100 U/L meets no rule (G1 is '>= 1.5 x baseline'): "
        "grade 0; baseline 80 U/L > ULN (abnormal): graded x baseline"
    )
    assert ctcae_v5("alt", 121, 40, 30).equation.endswith("baseline 30 U/L <= ULN (normal): "
                                                          "graded x ULN")
    assert ctcae_v5("neutrophils", 0.8, 1.8).equation == (
        "Neutrophil count decreased: 0.8 10*9/L meets the G3 rule '< 1 10*9/L'"
    )


@pytest.mark.parametrize(("code", "value", "limit", "baseline", "field", "message"), [
    ("ggt", 100, 40, None, "term", "term must be one of"),
    ("alt", -1, 40, None, "value", "value must be >= 0"),
    ("alt", float("nan"), 40, None, "value", "finite"),
    ("alt", 100, 0, None, "uln", "uln must be > 0"),
    ("neutrophils", 1.0, -1.8, None, "lln", "lln must be > 0"),
    ("alt", 100, 40, 0, "baseline", "baseline must be > 0"),
    ("platelets", 50, 150, 200, "baseline", "without a baseline"),
    ("alt", 28, 1e-320, None, "uln", "not finite"),
])
def test_impossible_input(code: str, value: float, limit: float, baseline: float | None,
                          field: str, message: str) -> None:
    with pytest.raises(CalculatorError, match=message) as err:
        ctcae_v5(code, value, limit, baseline)
    assert err.value.field == field


@pytest.mark.parametrize("text", ["0.8 10*9/L", "0.8x10^9/L", "0.8 ×10^9/L", "0.8G/L",
                                  "0.8/nL", "0.8 10^3/µL", "800/uL", "800/mm3", "0.8e9/L"])
def test_count_spellings_are_one_value(text: str) -> None:
    assert read_count(text)[0] == pytest.approx(0.8, rel=1e-12)


@pytest.mark.parametrize(("text", "error", "message"), [
    ("0.8", UnitError, "has no unit"),
    ("0.8g/L", UnitError, "unknown count unit 'g/L'"),
    ("0.8 cells", UnitError, "unknown count unit"),
    ("few", CalculatorError, "cannot read"),
])
def test_count_units_are_checked(text: str, error: type[CalculatorError], message: str) -> None:
    with pytest.raises(error, match=message):
        read_count(text)


CLI = [  # params, expected, source
    ({"term": "alt", "value": "120U/L", "uln": "40U/L"}, 1, f"{ALT} G1: exactly 3.0 x ULN"),
    ({"term": "alt", "value": "200U/L", "uln": "40IU/L"}, 2, f"{ALT} G2: exactly 5.0 x ULN"),
    ({"term": "ALT", "value": "120U/L", "uln": "40U/L", "baseline": "80U/L"}, 1,
     f"{ALT} G1: exactly 1.5 x an abnormal baseline"),
    ({"term": "bilirubin", "value": "3.6mg/dL", "uln": "20.52umol/L"}, 2,
     (f"{BILI} G2: 3.6 mg/dL x 17.1 = 61.56 umol/L = exactly 3.0 x ULN; unrounded the float "
     "ratio is 3.0000000000000004, which would read as G3")),
    ({"term": "bilirubin", "value": "51.3umol/L", "uln": "1.2mg/dL"}, 2,
     f"{BILI} G2: 1.2 mg/dL = 20.52 umol/L; 51.3 / 20.52 = 2.5 x ULN"),
    ({"term": "creatinine", "value": "1.2mg/dL", "uln": "97umol/L", "baseline": "0.5mg/dL"}, 2,
     f"{CREA} G2: 1.2 / 0.5 = 2.4 x baseline (106 umol/L = 1.09 x ULN would be G1)"),
    ({"term": "neutrophils", "value": "0.8e9/L", "lln": "1.8x10^9/L"}, 3,
     "Neutrophils G3 '<1.0 - 0.5 x 10e9/L'"),
    ({"term": "platelets", "value": "49000/uL", "lln": "125G/L"}, 3,
     "Platelets G3 '<50.0 - 25.0 x 10e9/L': 49000/uL = 49 x 10^9/L"),
    ({"term": "lymphocytes", "value": "0.19 10*9/L", "lln": "1.1 10*9/L"}, 4,
     "Lymphocytes G4 '<0.2 x 10e9/L'"),
    ({"term": "wbc", "value": "2.9G/L", "lln": "3.5G/L"}, 2, "WBC G2 '<3.0 - 2.0 x 10e9/L'"),
    ({"term": "anemia", "value": "7.9g/dL", "lln": "115g/L"}, 3,
     "Anemia G3 '<80 g/L': 7.9 g/dL = 79 g/L"),
]


@pytest.mark.parametrize(("params", "expected", "source"), CLI,
                         ids=[f"{c[0]['term']}-{c[0]['value']}" for c in CLI])
def test_cli(params: dict[str, str], expected: int, source: str) -> None:
    data = run("ctcae-v5", params).to_json()
    assert data["value"] == expected and data["unit"] == "grade"


def test_cli_shows_converted_inputs_in_the_term_unit() -> None:
    result = run("ctcae-v5", {"term": "neutrophils", "value": "800/uL", "lln": "1.8G/L"})
    assert result.inputs == {"term": "neutrophils", "value": f"800 /uL = 0.8 {COUNT_UNIT}",
                             "lln": f"1.8 G/L = 1.8 {COUNT_UNIT}"}
    same = run("ctcae-v5", {"term": "neutrophils", "value": "0.8 10*9/L", "lln": "1.8 10*9/L"})
    assert same.inputs["value"] == "0.8 10*9/L" and same.value == result.value


@pytest.mark.parametrize(("params", "error", "field", "message"), [
    ({"term": "alt", "value": "120U/L"}, CalculatorError, "uln", "missing key 'uln'"),
    ({"term": "neutrophils", "value": "1G/L", "uln": "1.8G/L"}, CalculatorError, "uln",
     "graded against the LLN"),
    ({"term": "alt", "value": "120U/L", "lln": "40U/L"}, CalculatorError, "lln",
     "graded against the ULN"),
    ({"term": "alt", "value": "120", "uln": "40U/L"}, UnitError, "value", "no unit"),
    ({"term": "alt", "value": "120mg/dL", "uln": "40U/L"}, UnitError, "value", "cannot convert"),
    ({"term": "neutrophils", "value": "0.8g/L", "lln": "1.8G/L"}, UnitError, "value",
     "unknown count unit"),
    ({"term": "neutrophils", "value": "0.8G/L", "lln": "1.8"}, UnitError, "lln", "no unit"),
    ({"term": "platelets", "value": "50G/L", "lln": "150G/L", "baseline": "200G/L"},
     CalculatorError, "baseline", "without a baseline"),
    ({"term": "hb", "value": "50g/L", "lln": "120g/L"}, CalculatorError, "term", "anemia"),
    ({"value": "50g/L", "lln": "120g/L"}, CalculatorError, "term", "missing"),
    ({"term": "alt", "value": "28U/L", "uln": "1e-320U/L"}, CalculatorError, "uln",
     "not finite"),
])
def test_cli_bad_input_names_the_key(params: dict[str, str], error: type[CalculatorError],
                                     field: str, message: str) -> None:
    with pytest.raises(error, match=message) as err:
        run("ctcae-v5", params)
    assert err.value.field == field
