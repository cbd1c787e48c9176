"""ASTCT CRS grade: every row of Lee 2019's CRS table (clinical.md 8.1), fever rule, CLI."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.calculators.crs_astct import DOMAINS, crs_astct
from trialdesk.calculators.registry import run
from trialdesk.errors import CalculatorError

LEE = "Lee 2019 ASTCT CRS table (clinical.md 8.1)"

# The grade each code sets on its own, read off the table.
ROW_GRADES = {
    "fever": {"no": 0, "yes": 1},
    "hypotension": {"none": 0, "no-vasopressor": 2, "one-vasopressor": 3,
                    "multiple-vasopressors": 4},
    "hypoxia": {"none": 0, "low-flow": 2, "high-flow": 3, "positive-pressure": 4},
}

CASES = [  # fever, hypotension, hypoxia, expected grade, source
    ("no", "none", "none", 0, f"{LEE}: no row met, no CRS"),
    ("yes", "none", "none", 1, f"{LEE} G1: fever >= 38.0 C, no hypotension, no hypoxia"),
    ("yes", "no-vasopressor", "none", 2, f"{LEE} G2 hypotension: not requiring vasopressors"),
    ("yes", "none", "low-flow", 2, f"{LEE} G2 hypoxia: low-flow cannula <= 6 L/min or blow-by"),
    ("yes", "one-vasopressor", "none", 3, f"{LEE} G3 hypotension: a vasopressor +/- vasopressin"),
    ("yes", "none", "high-flow", 3,
     f"{LEE} G3 hypoxia: high-flow > 6 L/min, facemask, non-rebreather or Venturi mask"),
    ("yes", "multiple-vasopressors", "none", 4,
     f"{LEE} G4 hypotension: multiple vasopressors (excluding vasopressin)"),
    ("yes", "none", "positive-pressure", 4, f"{LEE} G4 hypoxia: CPAP, BiPAP, intubation"),
    ("yes", "one-vasopressor", "low-flow", 3,
     "clinical.md 8.1 worked example: fever + one vasopressor + low-flow O2 = G3"),
    ("yes", "no-vasopressor", "positive-pressure", 4,
     f"{LEE}: the more severe of hypotension (G2) and hypoxia (G4)"),
    ("yes", "multiple-vasopressors", "high-flow", 4,
     f"{LEE}: the more severe of hypotension (G4) and hypoxia (G3)"),
    ("no", "no-vasopressor", "none", 2,
     ("Lee 2019 'Fever' (clinical.md 8.1): after antipyretic/anti-cytokine therapy fever is "
     "not required; hypotension not requiring vasopressors = G2")),
    ("no", "none", "high-flow", 3,
     "Lee 2019 'Fever': fever not required after therapy; high-flow oxygen = G3"),
    ("no", "one-vasopressor", "positive-pressure", 4,
     "Lee 2019 'Fever': fever not required after therapy; positive pressure = G4"),
    (" YES ", "None", "Low-Flow", 2, f"{LEE} G2 hypoxia; codes are read case-insensitively"),
]


def test_table_matches_lee_2019() -> None:
    assert {domain: {code: row.grade for code, row in rows.items()}
            for domain, rows in DOMAINS.items()} == ROW_GRADES


@pytest.mark.parametrize(("fever", "hypotension", "hypoxia", "expected", "source"), CASES,
                         ids=[f"{c[0].strip()}-{c[1]}-{c[2]}".lower() for c in CASES])
def test_crs_grade(fever: str, hypotension: str, hypoxia: str, expected: int,
                   source: str) -> None:
    result = crs_astct(fever, hypotension, hypoxia)
    assert result.value == expected
    assert result.unit == "grade"
    assert result.source.startswith("Lee DW")


@given(*(st.sampled_from(list(ROW_GRADES[d])) for d in ROW_GRADES))
def test_grade_is_the_most_severe_row(fever: str, hypotension: str, hypoxia: str) -> None:
    expected = max(ROW_GRADES["fever"][fever], ROW_GRADES["hypotension"][hypotension],
                   ROW_GRADES["hypoxia"][hypoxia])
    assert crs_astct(fever, hypotension, hypoxia).value == expected


def test_equation_names_the_deciding_rows() -> None:
    result = crs_astct("yes", "one-vasopressor", "low-flow")
    assert result.equation == (
        "grade 3 set by the G3 row: hypotension one-vasopressor "
        "(hypotension requiring a vasopressor with or without vasopressin)"
    )
    tie = crs_astct("yes", "one-vasopressor", "high-flow").equation
    assert "hypotension one-vasopressor" in tie and " and hypoxia high-flow" in tie
    assert crs_astct("no", "none", "none").equation.startswith("grade 0: no row above grade 0")


def test_fever_no_with_hypotension_says_why_it_is_graded() -> None:
    assert "not required after antipyretic or anti-cytokine therapy" in crs_astct(
        "no", "no-vasopressor", "none").equation
    assert "antipyretic" not in crs_astct("yes", "no-vasopressor", "none").equation


@pytest.mark.parametrize(("fever", "hypotension", "hypoxia", "field"), [
    ("maybe", "none", "none", "fever"),
    ("yes", "vasopressin", "none", "hypotension"),
    ("yes", "none", "nasal-cannula", "hypoxia"),
])
def test_unknown_code_names_the_domain(fever: str, hypotension: str, hypoxia: str,
                                       field: str) -> None:
    with pytest.raises(CalculatorError, match=f"{field} must be one of") as err:
        crs_astct(fever, hypotension, hypoxia)
    assert err.value.field == field


def test_cli_json_value_is_the_grade() -> None:
    params = {"fever": "yes", "hypotension": "one-vasopressor", "hypoxia": "low-flow"}
    data = run("crs-astct", params).to_json()
    assert data["value"] == 3 and data["unit"] == "grade"  # clinical.md 8.1 worked example
    assert data["inputs"] == params


@pytest.mark.parametrize(("params", "field"), [
    ({"fever": "yes", "hypotension": "none"}, "hypoxia"),
    ({"fever": "yes", "hypotension": "none", "hypoxia": "none", "tocilizumab": "yes"},
     "tocilizumab"),
    ({"fever": "yes", "hypotension": "low", "hypoxia": "none"}, "hypotension"),
])
def test_cli_bad_keys(params: dict[str, str], field: str) -> None:
    with pytest.raises(CalculatorError) as err:
        run("crs-astct", params)
    assert err.value.field == field
