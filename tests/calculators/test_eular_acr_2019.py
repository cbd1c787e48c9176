"""2019 EULAR/ACR: item table (Aringer 2019, clinical.md 2), scoring rules, titer parsing."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.calculators.eular_acr_2019 import ITEMS, classify, parse_titer
from trialdesk.errors import CalculatorError

C, I = "clinical", "immunologic"
# clinical.md 2 (Aringer 2019, ARD Table 1), codes as in data.md.
TABLE = [
    ("fever", "constitutional", C, 2),
    ("leukopenia", "hematologic", C, 3),
    ("thrombocytopenia", "hematologic", C, 4),
    ("autoimmune-hemolysis", "hematologic", C, 4),
    ("delirium", "neuropsychiatric", C, 2),
    ("psychosis", "neuropsychiatric", C, 3),
    ("seizure", "neuropsychiatric", C, 5),
    ("alopecia", "mucocutaneous", C, 2),
    ("oral-ulcers", "mucocutaneous", C, 2),
    ("subacute-cutaneous-or-discoid-lupus", "mucocutaneous", C, 4),
    ("acute-cutaneous-lupus", "mucocutaneous", C, 6),
    ("pleural-or-pericardial-effusion", "serosal", C, 5),
    ("acute-pericarditis", "serosal", C, 6),
    ("joint-involvement", "musculoskeletal", C, 6),
    ("proteinuria", "renal", C, 4),
    ("lupus-nephritis-class-2-or-5", "renal", C, 8),
    ("lupus-nephritis-class-3-or-4", "renal", C, 10),
    ("antiphospholipid-antibodies", "antiphospholipid", I, 2),
    ("low-c3-or-c4", "complement", I, 3),
    ("low-c3-and-c4", "complement", I, 4),
    ("anti-dsdna-or-anti-smith", "sle-specific-antibodies", I, 6),
]
ALL = [row[0] for row in TABLE]


def test_table_matches_aringer_2019() -> None:
    assert [tuple(item) for item in ITEMS] == TABLE
    assert len({item.domain for item in ITEMS if item.kind == C}) == 7
    assert len({item.domain for item in ITEMS if item.kind == I}) == 3


def test_maximum_is_51() -> None:
    # clinical.md 2: 2+4+5+6+6+6+10 + 2+4+6 = 51 (highest item of each domain).
    result = classify(160, ALL)
    assert result.value == 51
    assert result.extra["clinical_domains"] == 7
    assert len(result.extra["counted"]) == 10


CASES = [  # titer, items, score, classified, source (hand, Aringer 2019 rules)
    (160, ["proteinuria", "lupus-nephritis-class-3-or-4"], 10, True,
     "domain max rule, renal: max(4, 10) = 10; 10 >= 10 with a clinical item"),
    (160, ["low-c3-or-c4", "low-c3-and-c4", "fever"], 6, False,
     "domain max rule, complement: max(3, 4) = 4; + fever 2 = 6"),
    (160, ["alopecia", "oral-ulcers", "acute-pericarditis"], 8, False,
     "domain max rule, mucocutaneous: max(2, 2) = 2, not 4; + 6 = 8"),
    (160, ["acute-pericarditis", "low-c3-and-c4"], 10, True,
     "exactly 10: 6 + 4 = 10 -> classified"),
    (160, ["acute-pericarditis", "low-c3-or-c4"], 9, False, "9: 6 + 3 = 9 -> not classified"),
    (160, ["anti-dsdna-or-anti-smith", "low-c3-and-c4", "antiphospholipid-antibodies"], 12,
     False, "no clinical item: 6 + 4 + 2 = 12 but 0 clinical criteria -> not classified"),
    (80, ["joint-involvement", "anti-dsdna-or-anti-smith"], 12, True,
     "entry 1:80 met (>= 1:80); 6 + 6 = 12"),
    (40, ["joint-involvement", "anti-dsdna-or-anti-smith"], 12, False,
     "entry 1:40 not met (< 1:80): not classified whatever the score"),
    (0, ["joint-involvement", "anti-dsdna-or-anti-smith"], 12, False, "ANA negative"),
]


@pytest.mark.parametrize(("titer", "items", "expected", "classified", "source"), CASES)
def test_classify(
    titer: float, items: list[str], expected: int, classified: bool, source: str
) -> None:
    result = classify(titer, items)
    assert result.value == expected
    assert result.extra["classified"] is classified
    assert result.extra["entry_criterion"] is (titer >= 80)


def test_unknown_ana_gives_unknown_entry_and_no_classification() -> None:
    result = classify(None, ["joint-involvement", "anti-dsdna-or-anti-smith"])
    assert result.extra == {
        "classified": False,
        "entry_criterion": None,
        "clinical_domains": 1,
        "counted": ["joint-involvement", "anti-dsdna-or-anti-smith"],
    }
    assert result.inputs["ana"] == "unknown"


def test_equation_shows_dropped_items() -> None:
    result = classify(160, ["proteinuria", "lupus-nephritis-class-3-or-4"])
    assert "lupus-nephritis-class-3-or-4 10 = 10" in result.equation
    assert "not counted, lower in its domain: proteinuria" in result.equation
    assert result.to_json()["classified"] is True


def test_errors() -> None:
    with pytest.raises(CalculatorError, match="'rash'") as err:
        classify(160, ["rash"])
    assert err.value.field == "items"
    with pytest.raises(CalculatorError) as err:
        classify(-80, [])
    assert err.value.field == "ana"


@given(st.sets(st.sampled_from(ALL)), st.sampled_from([None, 0, 40, 80, 160, 1280]))
def test_rules_hold_for_any_item_set(items: set[str], titer: float | None) -> None:
    result = classify(titer, items)
    counted = [item for item in ITEMS if item.code in result.extra["counted"]]
    assert 0 <= result.value <= 51
    assert len({item.domain for item in counted}) == len(counted)  # one per domain
    for item in counted:  # and it is the domain's highest present
        present = [i.weight for i in ITEMS if i.domain == item.domain and i.code in items]
        assert item.weight == max(present)
    expected = (
        titer is not None and titer >= 80 and result.value >= 10
        and any(item.kind == C for item in counted)
    )
    assert result.extra["classified"] is expected


TITERS = [  # text, parsed, meaning for the 1:80 entry criterion
    ("1:160", 160, "met"),
    ("1/160", 160, "met"),
    ("160", 160, "met"),
    (" 1 : 80 ", 80, "met"),
    ("1:40", 40, "not met"),
    ("negative", 0, "not met"),
    ("Negative", 0, "not met"),
    ("阴性", 0, "not met"),
    ("0", 0, "not met"),
    ("<1:80", 0, "below 1:80 -> negative"),
    ("<1:40", 0, "below 1:40 -> negative"),
    ("<=1:40", 0, "at most 1:40 -> negative"),
    (">=1:160", 160, "at least 1:160 -> met (lower bound)"),
    ("≥1:80", 80, "at least 1:80 -> met"),
    (">1:80", 80, "above 1:80 -> met (lower bound)"),
    ("<1:160", None, "could be 1:80 or negative -> undecidable"),
    ("≤1:80", None, "could be 1:80 or less -> undecidable"),
    (">1:40", None, "could be 1:80 or less than 1:80 -> undecidable"),
    ("positive", None, "no titer -> undecidable"),
    ("阳性", None, "no titer -> undecidable"),
]


@pytest.mark.parametrize(("text", "expected", "meaning"), TITERS)
def test_parse_titer(text: str, expected: float | None, meaning: str) -> None:
    assert parse_titer(text) == expected


@pytest.mark.parametrize("text", ["", "1:", "1:0", "abc", "1:160 speckled", "1:-80"])
def test_parse_titer_rejects(text: str) -> None:
    with pytest.raises(CalculatorError) as err:
        parse_titer(text)
    assert err.value.field == "ana"
