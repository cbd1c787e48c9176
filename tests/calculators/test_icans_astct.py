"""ASTCT ICANS grade: adult ICE and paediatric CAPD rows of Lee 2019 (clinical.md 8.2), CLI."""

import pytest

from trialdesk.calculators.icans_astct import DOMAINS, SCORES, icans_astct
from trialdesk.calculators.registry import run
from trialdesk.errors import CalculatorError

LEE = "Lee 2019 ICANS table (clinical.md 8.2)"
PEDS = "Lee 2019 paediatric ICANS table, CAPD row (clinical.md 8.2; NCIt C188936)"
QUIET = {"consciousness": "alert", "seizure": "none", "motor_weakness": "no",
         "cerebral_edema": "none"}


def _case(age: float, expected: int, source: str, **given: object) -> tuple:
    return age, {**QUIET, **given}, expected, source


CASES = [  # age, inputs, expected grade, source
    _case(30, 0, f"{LEE}: ICE 10 and no other domain -> no ICANS", ice=10),
    _case(30, 1, f"{LEE} G1: ICE 7-9 (upper end)", ice=9),
    _case(30, 1, f"{LEE} G1: ICE 7-9; boundary ICE 7 is still G1", ice=7),
    _case(30, 2, f"{LEE} G2: ICE 3-6; boundary ICE 6 is G2", ice=6),
    _case(30, 2, f"{LEE} G2: ICE 3-6 (lower end)", ice=3),
    _case(30, 3, f"{LEE} G3: ICE 0-2 (upper end)", ice=2),
    _case(30, 3, f"{LEE}: ICE 0 but awake (e.g. global aphasia) = G3", ice=0),
    _case(30, 4, f"{LEE}: ICE 0 and unarousable = G4", ice=0, consciousness="unarousable"),
    _case(30, 4, f"{LEE} G4: unarousable, unable to undergo ICE (score omitted)",
          consciousness="unarousable"),
    _case(13, 1, f"{LEE}: ICE for 'adults and children > 12'; age 13 uses ICE 7-9", ice=8),
    _case(10, 0, f"{PEDS}: CAPD 0 -> no encephalopathy", capd=0),
    _case(10, 1, f"{PEDS} G1: CAPD 1-8 (lower end)", capd=1),
    _case(10, 1, f"{PEDS} G1: CAPD 1-8; boundary CAPD 8 is G1 when awake", capd=8),
    _case(10, 3, f"{PEDS} G3: CAPD >= 9; boundary CAPD 9", capd=9),
    _case(10, 3, f"{PEDS} G3: CAPD >= 9 (maximum 32)", capd=32),
    _case(10, 2, f"{PEDS} G2: CAPD 1-8 with awakening to voice (consciousness row)",
          capd=8, consciousness="voice"),
    _case(10, 4, f"{PEDS} G4: unable to perform CAPD (unarousable)",
          consciousness="unarousable"),
    _case(12, 3, f"{PEDS}: 'children 12 and under' -> age 12 uses CAPD; CAPD 9 = G3", capd=9),
    _case(12.9, 1, f"{PEDS}: age in completed years (criteria.md), 12.9 -> 12 -> CAPD", capd=5),
    _case(30, 1, f"{LEE} G1 depressed consciousness: awakens spontaneously", ice=10,
          consciousness="spontaneous"),
    _case(30, 2, f"{LEE} G2: awakens to voice", ice=10, consciousness="voice"),
    _case(30, 3, f"{LEE} G3: awakens only to tactile stimulus", ice=10,
          consciousness="tactile"),
    _case(30, 3, f"{LEE} G3 seizure: any clinical seizure resolving rapidly", ice=10,
          seizure="rapid"),
    _case(30, 4, f"{LEE} G4 seizure: prolonged (> 5 min) or repetitive", ice=10,
          seizure="prolonged"),
    _case(30, 4, f"{LEE} G4 motor: deep focal motor weakness", ice=10, motor_weakness="yes"),
    _case(30, 3, f"{LEE} G3 raised ICP: focal/local edema on neuroimaging", ice=10,
          cerebral_edema="focal"),
    _case(30, 4, f"{LEE} G4 raised ICP: diffuse cerebral edema", ice=10,
          cerebral_edema="diffuse"),
    _case(30, 3, f"{LEE}: most severe domain decides (ICE 8 = G1, seizure rapid = G3)", ice=8,
          seizure="rapid"),
    _case(8, 4, f"{PEDS}: most severe domain decides (CAPD 12 = G3, diffuse edema = G4)",
          capd=12, cerebral_edema="diffuse"),
]


def test_tables_match_lee_2019() -> None:
    bands = {key: [(low, high, row.grade) for low, high, row in score.bands]
             for key, score in SCORES.items()}
    assert bands == {"ice": [(10, 10, 0), (7, 9, 1), (3, 6, 2), (0, 2, 3)],
                     "capd": [(0, 0, 0), (1, 8, 1), (9, 32, 3)]}
    assert {key: score.unable.grade for key, score in SCORES.items()} == {"ice": 4, "capd": 4}
    assert {domain: {code: row.grade for code, row in rows.items()}
            for domain, rows in DOMAINS.items()} == {
        "consciousness": {"alert": 0, "spontaneous": 1, "voice": 2, "tactile": 3,
                          "unarousable": 4},
        "seizure": {"none": 0, "rapid": 3, "prolonged": 4},
        "motor-weakness": {"no": 0, "yes": 4},
        "cerebral-edema": {"none": 0, "focal": 3, "diffuse": 4},
    }


@pytest.mark.parametrize("key", ["ice", "capd"])
def test_every_score_falls_in_exactly_one_band(key: str) -> None:
    score = SCORES[key]
    for points in range(score.top + 1):
        assert sum(low <= points <= high for low, high, _ in score.bands) == 1


@pytest.mark.parametrize(("age", "inputs", "expected", "source"), CASES,
                         ids=[f"{i}-{c[3][:40]}" for i, c in enumerate(CASES)])
def test_icans_grade(age: float, inputs: dict[str, object], expected: int, source: str) -> None:
    result = icans_astct(age, **inputs)  # type: ignore[arg-type]
    assert result.value == expected
    assert result.unit == "grade"


def test_equation_names_the_deciding_row() -> None:
    assert icans_astct(30, **QUIET, ice=6).equation == "grade 2 set by the G2 row: ice 6 (ICE 3-6)"
    result = icans_astct(8, **{**QUIET, "consciousness": "voice"}, capd=8)
    assert result.equation == "grade 2 set by the G2 row: consciousness voice (awakens to voice)"
    assert result.inputs == {"age": 8, "capd": 8, "consciousness": "voice", "seizure": "none",
                             "motor-weakness": "no", "cerebral-edema": "none"}


ERRORS = [  # age, inputs, field, message, why
    (8, {"ice": 9}, "ice", "ice is not used at age 8", "ICE is for ages > 12 (Lee 2019)"),
    (12, {"ice": 9}, "ice", "give capd", "12 and under use CAPD"),
    (13, {"capd": 5}, "capd", "capd is not used at age 13", "CAPD is for ages <= 12"),
    (30, {}, "ice", r"ice \(0-10\) is needed", "no score and not unarousable"),
    (5, {}, "capd", r"capd \(0-32\) is needed", "no score and not unarousable"),
    (30, {"ice": 11}, "ice", "from 0 to 10", "ICE has 10 points"),
    (30, {"ice": "7.5"}, "ice", "whole number", "ICE points are whole"),
    (30, {"ice": "seven"}, "ice", "whole number", "not a number"),
    (8, {"capd": -1}, "capd", "from 0 to 32", "CAPD is 0-32"),
    (8, {"capd": 33}, "capd", "from 0 to 32", "CAPD is 0-32"),
    (30, {"ice": 9, "consciousness": "drowsy"}, "consciousness", "must be one of", "unknown"),
    (30, {"ice": 9, "seizure": "yes"}, "seizure", "must be one of", "unknown"),
    (30, {"ice": 9, "motor_weakness": "mild"}, "motor-weakness", "must be one of", "unknown"),
    (30, {"ice": 9, "cerebral_edema": "yes"}, "cerebral-edema", "must be one of", "unknown"),
    (0, {"capd": 3}, "age", "must be > 0", "age must be positive"),
]


@pytest.mark.parametrize(("age", "given", "field", "message", "why"), ERRORS,
                         ids=[f"{e[2]}-{e[4]}" for e in ERRORS])
def test_bad_input_names_the_key(age: float, given: dict[str, object], field: str,
                                 message: str, why: str) -> None:
    with pytest.raises(CalculatorError, match=message) as err:
        icans_astct(age, **{**QUIET, **given})  # type: ignore[arg-type]
    assert err.value.field == field


CLI = {"consciousness": "alert", "seizure": "none", "motor-weakness": "no",
       "cerebral-edema": "none"}


@pytest.mark.parametrize(("params", "expected", "source"), [
    ({"age": "45", "ice": "7", **CLI}, 1, f"{LEE} G1: ICE 7-9"),
    ({"age": "45", "ice": "6", **CLI}, 2, f"{LEE} G2: ICE 3-6"),
    ({"age": "96mo", "capd": "8", **CLI}, 1, f"{PEDS} G1: CAPD 1-8 (age 96 months = 8 years)"),
    ({"age": "8", "capd": "9", **CLI}, 3, f"{PEDS} G3: CAPD >= 9"),
    ({"age": "15", **CLI, "consciousness": "unarousable"}, 4, f"{LEE} G4: unarousable"),
])
def test_cli(params: dict[str, str], expected: int, source: str) -> None:
    data = run("icans-astct", params).to_json()
    assert data["value"] == expected and data["unit"] == "grade"


@pytest.mark.parametrize(("params", "field"), [
    ({"age": "8", "ice": "9", **CLI}, "ice"),
    ({"age": "14", "capd": "9", **CLI}, "capd"),
    ({"ice": "9", **CLI}, "age"),
    ({"age": "old", "ice": "9", **CLI}, "age"),
    ({"age": "30", "ice": "9", **CLI, "tremor": "yes"}, "tremor"),
])
def test_cli_bad_input(params: dict[str, str], field: str) -> None:
    with pytest.raises(CalculatorError) as err:
        run("icans-astct", params)
    assert err.value.field == field
