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
from typing import NamedTuple, cast

from trialdesk.calculators import eular_acr_2019, sledai_2k, units
from trialdesk.calculators.base import CalcResult, fmt
from trialdesk.calculators.crs_astct import crs_astct
from trialdesk.calculators.ctcae_v5 import COUNT_UNIT, ctcae_v5, read_count, term
from trialdesk.calculators.egfr_bedside_schwartz import egfr_bedside_schwartz
from trialdesk.calculators.egfr_ckd_epi_2021 import egfr_ckd_epi_2021
from trialdesk.calculators.egfr_ckid_u25 import egfr_ckid_u25
from trialdesk.calculators.icans_astct import icans_astct
from trialdesk.calculators.ipna_response import ipna_response
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


def _crs(p: Params) -> CalcResult:
    return crs_astct(p["fever"], p["hypotension"], p["hypoxia"])


def _icans(p: Params) -> CalcResult:
    return icans_astct(_age(p), p["consciousness"], p["seizure"], p["motor-weakness"],
                       p["cerebral-edema"], p.get("ice"), p.get("capd"))


def _ctcae(p: Params) -> CalcResult:
    """Counts read with ``ctcae_v5.read_count``; other values converted to the term's unit."""
    t = term(p["term"])
    wrong = "lln" if t.limit == "uln" else "uln"
    if wrong in p:
        raise CalculatorError(f"{t.name} is graded against the {t.limit.upper()}: give "
                              f"{t.limit}=, not {wrong}=", wrong)
    if t.limit not in p:
        raise CalculatorError(f"missing key {t.limit!r}: {t.name} is graded against the "
                              f"{t.limit.upper()}", t.limit)

    def read_one(key: str) -> _Quantity:
        if t.unit != COUNT_UNIT:
            return _quantity(p, key, t.unit, t.analyte)
        with _about(key):
            count, given = read_count(p[key])
        return _Quantity(count, given, not given.endswith(f" {COUNT_UNIT}"))

    read = {key: read_one(key) for key in ("value", t.limit, "baseline") if key in p}
    baseline = read["baseline"].value if "baseline" in read else None
    result = ctcae_v5(p["term"], read["value"].value, read[t.limit].value, baseline)
    return _show_given(result, *read.items())


def _ipna(p: Params) -> CalcResult:
    """``upcr`` is one quantity or up to 3 comma-separated days, oldest first."""
    days = [_quantity({"upcr": text}, "upcr", "g/g") for text in _codes(p, "upcr")]
    albumin = _quantity(p, "albumin", "g/L")
    result = ipna_response([day.value for day in days], albumin.value, p.get("previous"))
    in_g_g = cast(list[str], result.inputs["upcr"])
    shown = [f"{day.given} = {value}" if day.converted else value
             for day, value in zip(days, in_g_g, strict=True)]
    return _show_given(dataclasses.replace(result, inputs={**result.inputs, "upcr": shown}),
                       ("albumin", albumin))


CALCULATORS: dict[str, Calculator] = {
    "egfr-ckd-epi-2021": Calculator(_ckd_epi, ("creatinine", "age", "sex")),
    "egfr-ckid-u25": Calculator(_ckid_u25, ("creatinine", "age", "sex", "height")),
    "egfr-bedside-schwartz": Calculator(_bedside_schwartz, ("creatinine", "height")),
    "prednisone-equivalent": Calculator(_prednisone, ("drug", "dose")),
    "sledai-2k": Calculator(_sledai, ("descriptors",)),
    "eular-acr-2019": Calculator(_eular, ("ana", "items")),
    "uln-ratio": Calculator(_uln_ratio, ("value", "uln"), ("analyte",)),
    "convert": Calculator(_convert, ("value", "to"), ("analyte",)),
    "crs-astct": Calculator(_crs, ("fever", "hypotension", "hypoxia")),
    "icans-astct": Calculator(
        _icans, ("age", "consciousness", "seizure", "motor-weakness", "cerebral-edema"),
        ("ice", "capd"),
    ),
    "ctcae-v5": Calculator(_ctcae, ("term", "value"), ("uln", "lln", "baseline")),
    "ipna-response": Calculator(_ipna, ("upcr", "albumin"), ("previous",)),
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
