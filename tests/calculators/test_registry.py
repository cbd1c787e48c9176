"""Registry: every CLI name runs from key=value strings; bad input raises CalculatorError."""

import json

import pytest

from trialdesk.calculators.registry import CALCULATORS, run
from trialdesk.errors import CalculatorError, UnitError

RUNS = [  # name, params, expected value, tolerance, source
    ("crs-astct", {"fever": "yes", "hypotension": "one-vasopressor", "hypoxia": "low-flow"}, 3, 0,
     "Lee 2019 ASTCT CRS table (clinical.md 8.1): one vasopressor is grade 3, the worse of hypotension/hypoxia"),
    ("icans-astct", {"age": "8", "capd": "9", "consciousness": "alert", "seizure": "none", "motor-weakness": "no",
                     "cerebral-edema": "none"}, 3, 0,
     "Lee 2019 ICANS table, paediatric CAPD row (clinical.md 8.2): CAPD >= 9 is grade 3"),
    ("ctcae-v5", {"term": "alt", "value": "120U/L", "uln": "40U/L"}, 1, 0,
     "CTCAE v5.0 ALT increased (clinical.md 8.3): >ULN-3.0 x ULN is grade 1; 120/40 = 3.0 exactly"),
    ("ipna-response", {"upcr": "22.6mg/mmol", "albumin": "32g/L"}, 0, 0,
     "IPNA 2022 Table 1 (clinical.md 6.1): UPCR <= 0.2 g/g is complete remission; 22.6 mg/mmol x 8.84 = 199.8 mg/g"),
    ("egfr-ckd-epi-2021", {"creatinine": "1.4mg/dL", "age": "60", "sex": "male"}, 57.54, 0.005,
     "kidney.epi 1.3.0 example egfr.ckdepi.cr.2021(1.4, 60, 'Male', 'mg/dl') -> 57.54"),
    ("egfr-ckd-epi-2021", {"creatinine": "88.4umol/L", "age": "18", "sex": "male"}, 111.9, 0.05,
     "clinical.md 3.7; 88.4 umol/L = 1.0 mg/dL (test_egfr hand derivation: 111.88)"),
    ("egfr-ckid-u25",
     {"creatinine": "1.9mg/dL", "age": "15", "sex": "female", "height": "160cm"}, 32.5, 0.05,
     "official CKiD U25 R code header (Shinyapps.io): female 15 y 1.6 m SCr 1.9 -> 32.5"),
    ("egfr-ckid-u25",
     {"creatinine": "88.4 µmol/L", "age": "18", "sex": "male", "height": "1.75m"}, 88.9, 0.005,
     "clinical.md 3.7; hand: 50.8 x 1.75 / 1.0 = 88.90"),
    ("egfr-bedside-schwartz", {"creatinine": "1.4mg/dL", "height": "90cm"}, 26.55, 0.005,
     "kidney.epi 1.3.0 example egfr.schwartz(1.4, height_cm = 90) -> 26.55"),
    ("egfr-bedside-schwartz", {"creatinine": "1.0mg/dl", "height": "1.75m"}, 72.3, 0.05,
     "clinical.md 3.7; hand: 0.413 x 175 / 1.0 = 72.275"),
    ("prednisone-equivalent", {"drug": "methylprednisolone", "dose": "48mg"}, 60, 1e-9,
     "hand, data.md factor 1.25: 48 x 1.25 = 60"),
    ("prednisone-equivalent", {"drug": "hydrocortisone", "dose": "0.1g"}, 25, 1e-9,
     "hand: 0.1 g = 100 mg; data.md factor 0.25: 100 x 0.25 = 25"),
    ("sledai-2k", {"descriptors": "arthritis,rash,low-complement"}, 8, 0,
     "Gladman 2002 weights: 4 + 2 + 2 = 8"),
    ("sledai-2k", {"descriptors": ""}, 0, 0, "no descriptor present"),
    ("eular-acr-2019",
     {"ana": "1:160", "items": "acute-pericarditis, low-c3-and-c4"}, 10, 0,
     "Aringer 2019 weights: 6 + 4 = 10"),
    ("uln-ratio", {"value": "120U/L", "uln": "40 IU/L"}, 3.0, 1e-12, "hand: 120 / 40 = 3.0"),
    ("uln-ratio", {"value": "30umol/L", "uln": "1.2mg/dL", "analyte": "bilirubin"},
     1.461988, 1e-6, "hand: 1.2 mg/dL x 17.1 = 20.52 umol/L; 30 / 20.52 = 1.461988"),
    ("convert", {"value": "88umol/L", "to": "mg/dL", "analyte": "creatinine"}, 0.995475, 1e-6,
     "clinical.md 3.1: 88 / 88.4 = 0.995475"),
    ("convert", {"value": "20mg/mmol", "to": "g/g"}, 0.1768, 1e-9,
     "clinical.md 6.1: 20 x 8.84 mg/g = 176.8 mg/g = 0.1768 g/g"),
]


@pytest.mark.parametrize(
    ("name", "params", "expected", "tolerance", "source"),
    RUNS,
    ids=[f"{r[0]}-{i}" for i, r in enumerate(RUNS)],
)
def test_run(name: str, params: dict[str, str], expected: float, tolerance: float,
             source: str) -> None:
    result = run(name, params)
    assert result.value == pytest.approx(expected, abs=tolerance)
    assert json.loads(json.dumps(result.to_json()))["value"] == pytest.approx(result.value)


def test_every_contract_name_is_registered_and_exercised() -> None:
    assert set(CALCULATORS) == {
        "egfr-ckd-epi-2021", "egfr-ckid-u25", "egfr-bedside-schwartz", "prednisone-equivalent",
        "sledai-2k", "eular-acr-2019", "uln-ratio", "convert",
        "crs-astct", "icans-astct", "ctcae-v5", "ipna-response",
    }
    assert {r[0] for r in RUNS} == set(CALCULATORS)


def test_unit_invariance_through_the_cli() -> None:
    mg = run("egfr-ckid-u25", {"creatinine": "1.0mg/dL", "age": "10", "sex": "f",
                               "height": "1.3m"})
    umol = run("egfr-ckid-u25", {"creatinine": "88.4umol/L", "age": "10", "sex": "f",
                                 "height": "130cm"})
    assert umol.value == pytest.approx(mg.value, rel=1e-12)


def test_converted_inputs_show_what_was_typed() -> None:
    result = run("egfr-ckd-epi-2021", {"creatinine": "88umol/L", "age": "50", "sex": "male"})
    assert result.inputs["creatinine"] == "88 umol/L = 0.9955 mg/dL"
    same = run("egfr-ckd-epi-2021", {"creatinine": "1mg/dL", "age": "50", "sex": "male"})
    assert same.inputs["creatinine"] == "1 mg/dL"


def test_eular_json_carries_classified() -> None:
    data = run("eular-acr-2019", {"ana": "<1:80", "items": "joint-involvement"}).to_json()
    assert data["classified"] is False and data["entry_criterion"] is False


@pytest.mark.parametrize(("age", "years"), [("18", 18), ("18.5", 18.5), ("216mo", 18), ("18a", 18)])
def test_age_is_a_number_or_a_time_quantity(age: str, years: float) -> None:
    result = run("egfr-ckd-epi-2021", {"creatinine": "1mg/dL", "age": age, "sex": "male"})
    assert result.inputs["age"] == years


EPI = {"creatinine": "1.0mg/dL", "age": "50", "sex": "male"}

ERRORS = [  # name, params, error, field, message
    ("egfr-mdrd", {}, CalculatorError, "name", "unknown calculator 'egfr-mdrd'"),
    ("egfr-ckd-epi-2021", {"creatinine": "1mg/dL", "sex": "male"}, CalculatorError, "age",
     r"missing key\(s\) \['age'\]"),
    ("egfr-ckd-epi-2021", {**EPI, "race": "x"}, CalculatorError, "race",
     r"unknown key\(s\) \['race'\]"),
    ("egfr-ckd-epi-2021", {**EPI, "creatinine": "1.0"}, UnitError, "creatinine", "no unit"),
    ("egfr-ckd-epi-2021", {**EPI, "creatinine": "120cm"}, UnitError, "creatinine",
     "cannot convert cm"),
    ("egfr-ckd-epi-2021", {**EPI, "creatinine": "88umol/l", "age": "12"}, CalculatorError, "age",
     "CKD-EPI 2021 applies from age 18; got 12"),
    ("egfr-ckd-epi-2021", {**EPI, "creatinine": "-1mg/dL"}, CalculatorError, "creatinine",
     "creatinine must be > 0, got -1 mg/dL"),
    ("egfr-ckd-epi-2021", {**EPI, "creatinine": "88mg/dL"}, CalculatorError, "creatinine",
     "was it umol/L"),
    ("egfr-ckd-epi-2021", {**EPI, "age": "old"}, CalculatorError, "age", "cannot read"),
    ("egfr-ckd-epi-2021", {**EPI, "age": "nan"}, CalculatorError, "age", "finite"),
    ("egfr-ckd-epi-2021", {**EPI, "sex": "unknown"}, CalculatorError, "sex", "male or female"),
    ("egfr-ckid-u25", {**EPI, "age": "10", "height": "120"}, UnitError, "height", "no unit"),
    ("egfr-ckid-u25", {**EPI, "age": "30", "height": "1.8m"}, CalculatorError, "age",
     "CKiD U25 applies from age 1 to < 26"),
    ("egfr-bedside-schwartz", {"creatinine": "1mg/dL", "height": "1.2kg"}, UnitError, "height",
     "cannot convert kg"),
    ("prednisone-equivalent", {"drug": "prednisone", "dose": "48"}, UnitError, "dose", "no unit"),
    ("prednisone-equivalent", {"drug": "budesonide", "dose": "9mg"}, CalculatorError, "drug",
     "unknown glucocorticoid"),
    ("sledai-2k", {"descriptors": "rash,hair-loss"}, CalculatorError, "descriptors",
     "hair-loss"),
    ("eular-acr-2019", {"ana": "lots", "items": ""}, CalculatorError, "ana", "ANA titer"),
    ("eular-acr-2019", {"ana": "1:160", "items": "rash"}, CalculatorError, "items", "rash"),
    ("eular-acr-2019", {"ana": "1:160"}, CalculatorError, "items", "missing"),
    ("uln-ratio", {"value": "50U/L", "uln": "0U/L"}, CalculatorError, "uln", "uln must be > 0"),
    ("uln-ratio", {"value": "30umol/L", "uln": "1.2mg/dL"}, UnitError, "uln",
     "needs a known analyte"),
    ("uln-ratio", {"value": "50", "uln": "40U/L"}, UnitError, "value", "no unit"),
    ("convert", {"value": "88umol/L", "to": "mg/dL"}, UnitError, "to", "needs a known analyte"),
    ("convert", {"value": "88umol/L", "to": "stone"}, UnitError, "to", "unknown unit"),
]


@pytest.mark.parametrize(
    ("name", "params", "error", "field", "message"),
    ERRORS,
    ids=[f"{e[0]}-{e[3]}-{i}" for i, e in enumerate(ERRORS)],
)
def test_bad_input_raises(name: str, params: dict[str, str], error: type[CalculatorError],
                          field: str, message: str) -> None:
    with pytest.raises(error, match=message) as raised:
        run(name, params)
    assert raised.value.field == field
    assert isinstance(raised.value, CalculatorError)
