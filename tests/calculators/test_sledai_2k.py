"""SLEDAI-2K: the descriptor table against Gladman 2002 (clinical.md 1) and scoring."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.calculators.sledai_2k import DESCRIPTORS, NEUROLOGICAL, WINDOW, score
from trialdesk.errors import CalculatorError

# clinical.md 1 (Gladman 2002), codes as in data.md.
WEIGHTS = {
    "seizure": 8, "psychosis": 8, "organic-brain-syndrome": 8, "visual-disturbance": 8,
    "cranial-nerve-disorder": 8, "lupus-headache": 8, "cva": 8, "vasculitis": 8,
    "arthritis": 4, "myositis": 4, "urinary-casts": 4, "hematuria": 4, "proteinuria": 4,
    "pyuria": 4, "rash": 2, "alopecia": 2, "mucosal-ulcers": 2, "pleurisy": 2,
    "pericarditis": 2, "low-complement": 2, "increased-dna-binding": 2, "fever": 1,
    "thrombocytopenia": 1, "leukopenia": 1,
}


def test_table_matches_gladman_2002_and_data_md_codes() -> None:
    assert [d.code for d in DESCRIPTORS] == list(WEIGHTS)
    assert {d.code: d.weight for d in DESCRIPTORS} == WEIGHTS
    assert all(d.definition and d.window == WINDOW for d in DESCRIPTORS)
    assert WINDOW == "present at the visit or in the preceding 10 days"


def test_neurological_are_the_seven_seizure_to_cva() -> None:
    # data.md: "seizure ... cva (seven) are neurological"; vasculitis is not.
    assert NEUROLOGICAL == frozenset(list(WEIGHTS)[:7])
    assert "vasculitis" not in NEUROLOGICAL


def test_maximum_is_105() -> None:
    # clinical.md 1: 8x8 + 6x4 + 7x2 + 3x1 = 64 + 24 + 14 + 3 = 105.
    assert score(WEIGHTS).value == 105


CASES = [  # descriptors, expected, source
    ([], 0, "no descriptor present"),
    (["arthritis", "rash", "low-complement"], 8, "hand: 4 + 2 + 2 = 8"),
    (["proteinuria", "hematuria", "increased-dna-binding"], 10, "hand: 4 + 4 + 2 = 10"),
    (["seizure", "fever"], 9, "hand: 8 + 1 = 9"),
    (["rash", "rash", " Rash "], 2, "each descriptor counts once: 2"),
]


@pytest.mark.parametrize(("descriptors", "expected", "source"), CASES)
def test_score(descriptors: list[str], expected: int, source: str) -> None:
    assert score(descriptors).value == expected


def test_result_lists_counted_descriptors_in_table_order() -> None:
    result = score(["fever", "arthritis"])
    assert result.extra == {"descriptors": ["arthritis", "fever"]}
    assert result.equation == "arthritis 4 + fever 1 = 5"
    assert result.to_json()["descriptors"] == ["arthritis", "fever"]


def test_unknown_descriptor() -> None:
    with pytest.raises(CalculatorError, match="'hair-loss'") as err:
        score(["rash", "hair-loss"])
    assert err.value.field == "descriptors"


@given(st.sets(st.sampled_from(list(WEIGHTS))))
def test_total_is_sum_of_weights_and_within_0_105(present: set[str]) -> None:
    total = score(present).value
    assert total == sum(WEIGHTS[code] for code in present)
    assert 0 <= total <= 105
