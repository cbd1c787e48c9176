"""Calculators by CLI name, fed from ``key=value`` strings.

Quantities carry their unit (``creatinine=88umol/L``, ``height=1.2m``,
``dose=48mg``) and are converted here, through ``units``, to the unit each
equation takes; a missing or unknown unit is an error, never a guess. When a
unit was converted, the result's inputs show both (``88 umol/L = 0.9955 mg/dL``).
Lists are comma-separated codes. Every problem raises CalculatorError (or
UnitError) whose ``field`` names the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from trialdesk.calculators import eular_acr_2019, sledai_2k, units
from trialdesk.calculators.base import CalcResult, fmt
from trialdesk.calculators.egfr_bedside_schwartz import egfr_bedside_schwartz
from trialdesk.calculators.egfr_ckd_epi_2021 import egfr_ckd_epi_2021
from trialdesk.calculators.egfr_ckid_u25 import egfr_ckid_u25
from trialdesk.calculators.steroids import prednisone_equivalent
from trialdesk.calculators.uln import uln_ratio
from trialdesk.errors import CalculatorError

Params = Mapping[str, str]


@dataclass(frozen=True)
class Calculator:
    """A calculator as the CLI sees it: its keys and the adapter that reads them."""

    adapter: Callable[[Params], CalcResult]
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def __call__(self, params: Params) -> CalcResult:
        """Check the keys, then parse, convert and calculate."""
        missing = [key for key in self.required if key not in params]
        if missing:
            raise CalculatorError(f"missing key(s) {missing}; needs {self._keys()}", missing[0])
        unknown = sorted(set(params) - set(self.required) - set(self.optional))
        if unknown:
            raise CalculatorError(f"unknown key(s) {unknown}; takes {self._keys()}", unknown[0])
        return self.adapter({key: str(value) for key, value in params.items()})

    def _keys(self) -> str:
        return ", ".join([*self.required, *(f"[{key}]" for key in self.optional)])


class _Quantity(NamedTuple):
    value: float  # in the unit asked for
    given: str  # as typed, e.g. "88 umol/L"
    converted: bool


@contextmanager
def _about(key: str) -> Iterator[None]:
    """Name ``key`` in errors raised without a field."""
    try:
        yield
    except CalculatorError as err:
        if err.field is not None:
            raise
        raise type(err)(f"{key}: {err}", key) from err


def _quantity(params: Params, key: str, unit: str, analyte: str | None = None) -> _Quantity:
    with _about(key):
        value, given = units.parse_quantity(params[key])
        converted = units.convert(value, given, unit, analyte)
    return _Quantity(converted, f"{fmt(value)} {given}", given != units.normalize_unit(unit))


def _age(params: Params) -> float:
    """Age in years: a plain number, or a quantity in a time unit (``216mo``)."""
    text = params["age"].strip()
    try:
        return float(text)
    except ValueError:
        return _quantity(params, "age", "a").value


def _codes(params: Params, key: str) -> list[str]:
    return [code.strip() for code in params[key].split(",") if code.strip()]


def _show_given(result: CalcResult, *quantities: tuple[str, _Quantity]) -> CalcResult:
    """Record the value as typed next to the converted one in ``result.inputs``."""
    inputs = dict(result.inputs)
    for key, quantity in quantities:
        if quantity.converted:
            inputs[key] = f"{quantity.given} = {inputs[key]}"
    return dataclasses.replace(result, inputs=inputs)


def _ckd_epi(p: Params) -> CalcResult:
    scr = _quantity(p, "creatinine", "mg/dL", "creatinine")
    return _show_given(egfr_ckd_epi_2021(scr.value, _age(p), p["sex"]), ("creatinine", scr))


def _ckid_u25(p: Params) -> CalcResult:
    scr = _quantity(p, "creatinine", "mg/dL", "creatinine")
    height = _quantity(p, "height", "m")
    result = egfr_ckid_u25(scr.value, _age(p), p["sex"], height.value)
    return _show_given(result, ("creatinine", scr), ("height", height))


def _bedside_schwartz(p: Params) -> CalcResult:
    scr = _quantity(p, "creatinine", "mg/dL", "creatinine")
    height = _quantity(p, "height", "cm")
    result = egfr_bedside_schwartz(scr.value, height.value)
    return _show_given(result, ("creatinine", scr), ("height", height))


def _prednisone(p: Params) -> CalcResult:
    dose = _quantity(p, "dose", "mg")
    return _show_given(prednisone_equivalent(p["drug"], dose.value), ("dose", dose))


def _sledai(p: Params) -> CalcResult:
    return sledai_2k.score(_codes(p, "descriptors"))


def _eular(p: Params) -> CalcResult:
    return eular_acr_2019.classify(eular_acr_2019.parse_titer(p["ana"]), _codes(p, "items"))


def _uln_ratio(p: Params) -> CalcResult:
    with _about("value"):
        value, unit = units.parse_quantity(p["value"])
    uln = _quantity(p, "uln", unit, p.get("analyte"))
    result = uln_ratio(value, uln.value, p.get("analyte", "unspecified"), unit)
    return _show_given(result, ("uln", uln))


def _convert(p: Params) -> CalcResult:
    analyte = p.get("analyte")
    with _about("value"):
        value, unit = units.parse_quantity(p["value"])
    with _about("to"):
        target = units.normalize_unit(p["to"])
        result = units.convert(value, unit, target, analyte)
    factor = units.convert(1.0, unit, target, analyte)
    return CalcResult(
        name="convert",
        value=result,
        unit=target,
        inputs={"value": f"{fmt(value)} {unit}", "to": target, "analyte": analyte},
        equation=f"{fmt(value)} {unit} x {fmt(factor, 6)} = {fmt(result, 6)} {target}",
        source=units.SOURCE,
    )


CALCULATORS: dict[str, Calculator] = {
    "egfr-ckd-epi-2021": Calculator(_ckd_epi, ("creatinine", "age", "sex")),
    "egfr-ckid-u25": Calculator(_ckid_u25, ("creatinine", "age", "sex", "height")),
    "egfr-bedside-schwartz": Calculator(_bedside_schwartz, ("creatinine", "height")),
    "prednisone-equivalent": Calculator(_prednisone, ("drug", "dose")),
    "sledai-2k": Calculator(_sledai, ("descriptors",)),
    "eular-acr-2019": Calculator(_eular, ("ana", "items")),
    "uln-ratio": Calculator(_uln_ratio, ("value", "uln"), ("analyte",)),
    "convert": Calculator(_convert, ("value", "to"), ("analyte",)),
}


def run(name: str, params: Params) -> CalcResult:
    """Run the calculator ``name`` on CLI strings, e.g. ``run("convert", {...})``.

    Raises CalculatorError for an unknown name, a missing or unknown key, or an
    unreadable or impossible value (UnitError for unit problems).
    """
    if name not in CALCULATORS:
        raise CalculatorError(
            f"unknown calculator {name!r}; known: {', '.join(CALCULATORS)}", "name"
        )
    return CALCULATORS[name](params)
