"""units: spellings, conversions (sourced table + round trips), CLI quantities."""

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trialdesk.calculators.units import (
    ANALYTE_FACTORS,
    UNITS,
    convert,
    normalize_unit,
    parse_quantity,
)
from trialdesk.errors import CalculatorError, UnitError

ALIASES = [  # text, canonical
    ("µmol/L", "umol/L"),
    ("μmol/L", "umol/L"),
    ("umol/l", "umol/L"),
    ("UMOL/L", "umol/L"),
    ("mmol/l", "mmol/L"),
    ("mg/dl", "mg/dL"),
    ("MG/DL", "mg/dL"),
    ("g/l", "g/L"),
    ("mg/mmol", "mg/mmol"),
    ("mg/mg", "mg/mg"),
    ("g/g", "g/g"),
    ("mg/g", "mg/g"),
    ("%", "%"),
    ("cm", "cm"),
    ("m", "m"),
    ("mm", "mm"),
    ("[in_i]", "[in_i]"),
    ("in", "[in_i]"),
    ("kg", "kg"),
    ("g", "g"),
    ("[lb_av]", "[lb_av]"),
    ("lb", "[lb_av]"),
    ("U/L", "U/L"),
    ("u/l", "U/L"),
    ("IU/L", "[IU]/L"),
    ("wk", "wk"),
    ("d", "d"),
    ("mo", "mo"),
    ("a", "a"),
    ("mL/min/{1.73_m2}", "mL/min/{1.73_m2}"),
    ("mL/min/1.73m2", "mL/min/{1.73_m2}"),
    ("ml/min/1.73 m2", "mL/min/{1.73_m2}"),
    ("mL/min/1.73m²", "mL/min/{1.73_m2}"),
    (" mg / dL ", "mg/dL"),
]


@pytest.mark.parametrize(("text", "canonical"), ALIASES)
def test_normalize_unit_accepts_aliases(text: str, canonical: str) -> None:
    assert normalize_unit(text) == canonical


@pytest.mark.parametrize("text", ["furlong", "", "mg/dm", "mEq/L"])
def test_normalize_unit_rejects_unknown_units(text: str) -> None:
    with pytest.raises(UnitError, match="unknown unit"):
        normalize_unit(text)


def test_giga_per_litre_is_not_read_as_grams_per_litre() -> None:
    # A cell count such as "150 G/L" (10^9/L) must not become a mass concentration.
    with pytest.raises(UnitError, match="cell count"):
        normalize_unit("G/L")


CONVERSIONS = [  # value, from, to, analyte, expected, tolerance, source
    (88.4, "umol/L", "mg/dL", "creatinine", 1.0, 1e-9,
     "clinical.md 3.1: Scr (mg/dL) = Scr (umol/L) / 88.4"),
    (1.2, "mg/dL", "umol/L", "creatinine", 106.08, 1e-9,
     "hand, clinical.md 3.1: 1.2 x 88.4 = 106.08"),
    (0.1, "mmol/L", "mg/dL", "creatinine", 1.131222, 1e-6,
     "hand, clinical.md 3.1: 0.1 mmol/L = 100 umol/L; 100 / 88.4 = 1.131222"),
    (17.1, "umol/L", "mg/dL", "bilirubin", 1.0, 1e-9,
     "criteria.md Units: bilirubin factor 17.1"),
    (2.0, "mg/dL", "umol/L", "bilirubin", 34.2, 1e-9, "hand: 2.0 x 17.1 = 34.2"),
    (20, "mg/mmol", "g/g", None, 0.1768, 1e-9,
     "clinical.md 6.1 unit trap; hand: 20 x 8.84 mg/g = 176.8 mg/g = 0.1768 g/g"),
    (22.6, "mg/mmol", "g/g", None, 0.2, 3e-4,
     "clinical.md 6.1: 200 mg/g = 22.6 mg/mmol; hand: 22.6 x 8.84 = 199.784 mg/g"),
    (2000, "mg/g", "mg/mmol", None, 226.244, 1e-3,
     "clinical.md 6.1: 2000 mg/g = 226 mg/mmol; hand: 2000 / 8.84 = 226.244"),
    (0.2, "mg/mg", "g/g", None, 0.2, 1e-12, "criteria.md Units: mg/mg = g/g"),
    (300, "mg/g", "g/g", None, 0.3, 1e-12, "hand: 300 mg/g x 0.001 = 0.3 g/g"),
    (1, "g/L", "mg/dL", None, 100, 1e-12, "hand: 1 g/L = 1000 mg / 10 dL = 100 mg/dL"),
    (10, "mg/L", "mg/dL", None, 1, 1e-12, "hand: 10 mg/L = 10 mg / 10 dL = 1 mg/dL"),
    (3.5, "g/dL", "g/L", None, 35, 1e-12, "hand: 3.5 g/dL x 10 dL/L = 35 g/L"),
    (120, "cm", "m", None, 1.2, 1e-12, "hand: 120 / 100"),
    (1750, "mm", "m", None, 1.75, 1e-12, "hand: 1750 / 1000"),
    (60, "[in_i]", "cm", None, 152.4, 1e-9, "UCUM [in_i] = 2.54 cm: 60 x 2.54 = 152.4"),
    (154, "[lb_av]", "kg", None, 69.8532, 1e-4,
     "UCUM [lb_av] = 0.45359237 kg: 154 x 0.45359237 = 69.8532"),
    (48, "mg", "g", None, 0.048, 1e-12, "hand: 48 / 1000"),
    (40, "[IU]/L", "U/L", None, 40, 1e-12, "enzyme activity: IU/L = U/L"),
    (12, "wk", "d", None, 84, 1e-12, "UCUM wk = 7 d: 12 x 7 = 84"),
    (1, "a", "mo", None, 12, 1e-12, "UCUM a = 365.25 d, mo = 30.4375 d: 365.25 / 30.4375 = 12"),
    (55, "%", "%", None, 55, 0, "identity"),
]


@pytest.mark.parametrize(
    ("value", "from_unit", "to_unit", "analyte", "expected", "tolerance", "source"),
    CONVERSIONS,
    ids=[f"{c[0]} {c[1]}->{c[2]}" for c in CONVERSIONS],
)
def test_convert_matches_sourced_values(
    value: float, from_unit: str, to_unit: str, analyte: str | None,
    expected: float, tolerance: float, source: str,
) -> None:
    assert convert(value, from_unit, to_unit, analyte) == pytest.approx(expected, abs=tolerance)


def test_analyte_name_is_case_insensitive() -> None:
    assert convert(88.4, "umol/L", "mg/dL", " Creatinine ") == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("from_unit", "to_unit", "analyte"),
    [
        ("cm", "mg/dL", None),
        ("mg/dL", "mg/mmol", "creatinine"),
        ("kg", "cm", None),
        ("U/L", "umol/L", "bilirubin"),
    ],
)
def test_convert_between_dimensions_names_both_units(
    from_unit: str, to_unit: str, analyte: str | None
) -> None:
    with pytest.raises(UnitError) as raised:
        convert(1.0, from_unit, to_unit, analyte)
    assert normalize_unit(from_unit) in str(raised.value)
    assert normalize_unit(to_unit) in str(raised.value)


@pytest.mark.parametrize("analyte", [None, "", "glucose"])
def test_molar_to_mass_needs_a_known_analyte(analyte: str | None) -> None:
    with pytest.raises(UnitError, match=r"umol/L to mg/dL needs a known analyte"):
        convert(88.0, "umol/L", "mg/dL", analyte)


SAME_DIMENSION_PAIRS = [
    (a, b) for a, b in itertools.product(UNITS, UNITS) if UNITS[a][0] == UNITS[b][0]
]
MOLAR_MASS_PAIRS = [
    (a, b, analyte)
    for a, b in itertools.permutations(UNITS, 2)
    if {UNITS[a][0], UNITS[b][0]} == {"molar concentration", "mass concentration"}
    for analyte in ANALYTE_FACTORS
]
VALUES = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)


@given(pair=st.sampled_from(SAME_DIMENSION_PAIRS), value=VALUES)
def test_round_trip_within_a_dimension(pair: tuple[str, str], value: float) -> None:
    a, b = pair
    assert convert(convert(value, a, b), b, a) == pytest.approx(value, rel=1e-12)


@given(case=st.sampled_from(MOLAR_MASS_PAIRS), value=VALUES)
def test_round_trip_molar_and_mass(case: tuple[str, str, str], value: float) -> None:
    a, b, analyte = case
    there = convert(value, a, b, analyte)
    assert convert(there, b, a, analyte) == pytest.approx(value, rel=1e-12)


def test_every_dimension_has_a_round_trip_case() -> None:
    dimensions = {UNITS[a][0] for a, _ in SAME_DIMENSION_PAIRS}
    assert dimensions == {dimension for dimension, _ in UNITS.values()}
    # 4 mass x 2 molar units, both directions, each analyte
    assert len(MOLAR_MASS_PAIRS) == 4 * 2 * 2 * len(ANALYTE_FACTORS)


QUANTITIES = [  # text, value, unit
    ("88umol/L", 88.0, "umol/L"),
    ("88 µmol/L", 88.0, "umol/L"),
    ("1.0mg/dL", 1.0, "mg/dL"),
    ("120cm", 120.0, "cm"),
    ("1.2m", 1.2, "m"),
    ("48mg", 48.0, "mg"),
    ("0.2 g/g", 0.2, "g/g"),
    (".5 mg/dl", 0.5, "mg/dL"),
    ("-1mg/dL", -1.0, "mg/dL"),
    ("1e2 mg/L", 100.0, "mg/L"),
    ("22.6mg/mmol", 22.6, "mg/mmol"),
]


@pytest.mark.parametrize(("text", "value", "unit"), QUANTITIES)
def test_parse_quantity(text: str, value: float, unit: str) -> None:
    assert parse_quantity(text) == (value, unit)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("abc", CalculatorError),
        ("", CalculatorError),
        ("mg/dL", CalculatorError),
        ("12", UnitError),
        ("12 furlongs", UnitError),
        ("1.0 mg/dL extra", UnitError),
    ],
)
def test_parse_quantity_rejects(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_quantity(text)
