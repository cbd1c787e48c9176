"""Prednisone equivalents: every drug, against the sources of the factor table."""

import math

import pytest

from trialdesk.calculators.steroids import PREDNISONE_FACTORS, prednisone_equivalent
from trialdesk.errors import CalculatorError

CASES = [  # drug, dose mg, expected mg prednisone, source
    ("prednisone", 10, 10.0, "data.md factor 1: 10 x 1 = 10"),
    ("prednisolone", 5, 5.0, "clinical.md 5: prednisolone 5 mg = prednisone 5 mg; data.md 1"),
    ("methylprednisolone", 4, 5.0,
     "clinical.md 5: methylprednisolone 4 mg = prednisone 5 mg; data.md 1.25: 4 x 1.25 = 5"),
    ("methylprednisolone", 48, 60.0, "hand, data.md 1.25: 48 x 1.25 = 60"),
    ("triamcinolone", 4, 5.0, "clinical.md 5: triamcinolone 4 mg = 5 mg; 4 x 1.25 = 5"),
    ("hydrocortisone", 20, 5.0, "clinical.md 5: hydrocortisone 20 mg = 5 mg; 20 x 0.25 = 5"),
    ("cortisone", 25, 5.0, "clinical.md 5: cortisone 25 mg = 5 mg; 25 x 0.2 = 5"),
    ("dexamethasone", 0.75, 5.0025,
     "clinical.md 5: dexamethasone 0.75 mg = 5 mg; data.md 6.67: 0.75 x 6.67 = 5.0025"),
    ("dexamethasone", 4, 26.68, "hand, data.md 6.67: 4 x 6.67 = 26.68"),
    ("betamethasone", 0.6, 4.998,
     "clinical.md 5 (US tables): betamethasone 0.6 mg = 5 mg; data.md 8.33: 0.6 x 8.33 = 4.998"),
    ("deflazacort", 6, 5.0,
     "clinical.md 5, BNF: prednisolone 5 mg = deflazacort 6 mg; 6 x 5/6 = 5"),
]


@pytest.mark.parametrize(("drug", "dose", "expected", "source"), CASES)
def test_prednisone_equivalent(drug: str, dose: float, expected: float, source: str) -> None:
    result = prednisone_equivalent(drug, dose)
    assert result.value == pytest.approx(expected, abs=1e-9)
    assert result.unit == "mg prednisone"


def test_every_drug_in_the_table_has_a_sourced_case() -> None:
    assert {case[0] for case in CASES} == set(PREDNISONE_FACTORS)


def test_factors_are_exactly_those_fixed_in_data_md() -> None:
    # data.md "Prednisone equivalents"; deflazacort from the BNF equivalence (clinical.md 5).
    assert PREDNISONE_FACTORS == {
        "prednisone": 1, "prednisolone": 1, "methylprednisolone": 1.25, "triamcinolone": 1.25,
        "hydrocortisone": 0.25, "cortisone": 0.2, "dexamethasone": 6.67, "betamethasone": 8.33,
        "deflazacort": 5 / 6,
    }


def test_equation_and_inputs() -> None:
    result = prednisone_equivalent(" Methylprednisolone ", 48)
    assert result.inputs == {"drug": "methylprednisolone", "dose": "48 mg"}
    assert result.equation == "48 mg methylprednisolone x 1.25 = 60 mg prednisone"
    assert prednisone_equivalent("prednisone", 0).value == 0


def test_unknown_drug_lists_the_known_ones() -> None:
    with pytest.raises(CalculatorError) as err:
        prednisone_equivalent("budesonide", 9)
    assert err.value.field == "drug"
    assert all(drug in str(err.value) for drug in PREDNISONE_FACTORS)


@pytest.mark.parametrize("dose", [-5, math.nan, math.inf])
def test_impossible_dose(dose: float) -> None:
    with pytest.raises(CalculatorError) as err:
        prednisone_equivalent("prednisone", dose)
    assert err.value.field == "dose"
