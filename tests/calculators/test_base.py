"""CalcResult: the JSON shape every calculator returns."""

import json

import pytest

from trialdesk.calculators.base import CalcResult, plain


def _result(**extra: object) -> CalcResult:
    return CalcResult(
        name="demo",
        value=1.5,
        unit="mg/dL",
        inputs={"creatinine": "1.5 mg/dL", "age": 50},
        equation="1.5 = 1.5",
        source="nowhere",
        extra=extra,
    )


def test_to_json_puts_extra_at_top_level() -> None:
    data = _result(classified=True).to_json()
    assert data == {
        "name": "demo",
        "value": 1.5,
        "unit": "mg/dL",
        "inputs": {"creatinine": "1.5 mg/dL", "age": 50},
        "equation": "1.5 = 1.5",
        "source": "nowhere",
        "classified": True,
    }
    assert json.loads(json.dumps(data)) == data


def test_extra_may_not_shadow_a_core_key() -> None:
    with pytest.raises(ValueError, match="value"):
        _result(value=2)


def test_result_is_frozen() -> None:
    with pytest.raises(AttributeError):
        _result().value = 3  # type: ignore[misc]


@pytest.mark.parametrize(("number", "expected"), [(50.0, 50), (12.5, 12.5)])
def test_plain_keeps_whole_numbers_as_int(number: float, expected: object) -> None:
    assert plain(number) == expected
    assert type(plain(number)) is type(expected)
