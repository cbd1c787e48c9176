"""ULN ratio: value / upper limit of normal, same unit."""

import pytest

from trialdesk.calculators.uln import uln_ratio
from trialdesk.errors import CalculatorError


@pytest.mark.parametrize(
    ("value", "uln", "expected", "source"),
    [
        (120, 40, 3.0, "hand: 120 / 40 = 3.0 (the INC-LIVER limit for AST/ALT)"),
        (120.1, 40, 3.0025, "hand: 120.1 / 40 = 3.0025 (> 3.0: compared unrounded)"),
        (30, 20.52, 1.461988, "hand: 30 / 20.52 = 1.461988"),
        (0, 40, 0.0, "hand: 0 / 40 = 0"),
    ],
)
def test_uln_ratio(value: float, uln: float, expected: float, source: str) -> None:
    assert uln_ratio(value, uln, "alt", "U/L").value == pytest.approx(expected, abs=1e-6)


def test_record() -> None:
    result = uln_ratio(120, 40, "alt", "U/L")
    assert result.inputs == {"analyte": "alt", "value": "120 U/L", "uln": "40 U/L"}
    assert result.equation == "120 U/L / 40 U/L = 3.00 x ULN"


@pytest.mark.parametrize(
    ("value", "uln", "field"), [(50, 0, "uln"), (50, -40, "uln"), (-1, 40, "value")]
)
def test_impossible(value: float, uln: float, field: str) -> None:
    with pytest.raises(CalculatorError) as err:
        uln_ratio(value, uln, "alt", "U/L")
    assert err.value.field == field
