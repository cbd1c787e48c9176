"""Units: the one place where spellings are normalised and values converted.

Canonical spellings follow UCUM (``umol/L``, ``[in_i]``, ``[lb_av]``,
``mL/min/{1.73_m2}``). Aliases are matched case-insensitively, ignoring spaces,
with ``µ``/``μ`` read as ``u``. One exception: ``G/L`` (giga per litre, a cell
count) is refused rather than read as grams per litre.

Conversions stay inside one dimension (``UNITS``), except molar <-> mass
concentration, which needs the analyte's factor (``ANALYTE_FACTORS``).
Sources:

* creatinine 1 mg/dL = 88.4 umol/L (molar mass 113.12 g/mol): clinical.md 3.1
  (kidney.epi ``R/service.check_plausibility.R``; MedCalc-Bench); criteria.md "Units".
* bilirubin 1 mg/dL = 17.1 umol/L (molar mass 584.66 g/mol): criteria.md "Units".
* UPCR 1 mg/mmol = 8.84 mg/g: criteria.md "Units"; it is 1 mg per mmol of
  creatinine, i.e. 1 mg / 113.12 mg, so it is derived from the creatinine factor.
* length, mass and time: UCUM definitions ([in_i] = 2.54 cm, [lb_av] =
  0.45359237 kg, mo = 30.4375 d, a = 365.25 d). Calendar months used for
  protocol windows are not this unit (criteria.md "Dates and windows").
"""

from __future__ import annotations

import math

import re

from trialdesk.errors import CalculatorError, UnitError

SOURCE = (
    "UCUM; creatinine 1 mg/dL = 88.4 umol/L, bilirubin 1 mg/dL = 17.1 umol/L, "
    "UPCR 1 mg/mmol = 8.84 mg/g (clinical.md 3.1; protocol criteria.md 'Units')"
)

#: umol/L per mg/dL, by analyte.
ANALYTE_FACTORS: dict[str, float] = {
    # clinical.md 3.1 (kidney.epi service.convert_creatinine; MedCalc-Bench MW 113.12);
    # criteria.md "Units"
    "creatinine": 88.4,
    # criteria.md "Units" (molar mass 584.66 g/mol)
    "bilirubin": 17.1,
}

_MOLAR = "molar concentration"
_MASS_CONC = "mass concentration"

#: canonical unit -> (dimension, size in the dimension's first unit)
UNITS: dict[str, tuple[str, float]] = {
    "mg/dL": (_MASS_CONC, 1.0),
    "mg/L": (_MASS_CONC, 0.1),
    "g/L": (_MASS_CONC, 100.0),
    "g/dL": (_MASS_CONC, 1000.0),
    "umol/L": (_MOLAR, 1.0),
    "mmol/L": (_MOLAR, 1000.0),
    "g/g": ("mass ratio", 1.0),
    "mg/mg": ("mass ratio", 1.0),
    "mg/g": ("mass ratio", 0.001),
    # mg per mmol creatinine; 1 mmol creatinine = 10000/88.4 mg = 113.12 mg, so
    # 1 mg/mmol = 88.4/10000 g/g = 8.84 mg/g (criteria.md "Units")
    "mg/mmol": ("mass ratio", ANALYTE_FACTORS["creatinine"] / 10_000),
    "m": ("length", 1.0),
    "cm": ("length", 0.01),
    "mm": ("length", 0.001),
    "[in_i]": ("length", 0.0254),
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "mg": ("mass", 1e-6),
    "[lb_av]": ("mass", 0.45359237),
    "U/L": ("enzyme activity", 1.0),
    "[IU]/L": ("enzyme activity", 1.0),
    "%": ("percent", 1.0),
    "d": ("time", 1.0),
    "wk": ("time", 7.0),
    "mo": ("time", 30.4375),
    "a": ("time", 365.25),
    "mL/min/{1.73_m2}": ("eGFR", 1.0),
}

_ALIASES: dict[str, str] = {
    **{unit.lower(): unit for unit in UNITS},
    "in": "[in_i]",
    "inch": "[in_i]",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "iu/l": "[IU]/L",
    "y": "a",
    "yr": "a",
    "year": "a",
    "years": "a",
    "month": "mo",
    "months": "mo",
    "w": "wk",
    "week": "wk",
    "weeks": "wk",
    "day": "d",
    "days": "d",
    "ml/min/1.73m2": "mL/min/{1.73_m2}",
    "ml/min/1.73_m2": "mL/min/{1.73_m2}",
}

_NUMBER_AND_UNIT = re.compile(r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)\s*(.*)")


def normalize_unit(text: str) -> str:
    """The canonical spelling of ``text``; UnitError if the unit is unknown."""
    compact = re.sub(r"\s+", "", str(text)).replace("µ", "u").replace("μ", "u")
    if compact[:1] == "G" and compact.upper() == "G/L":
        raise UnitError("G/L (10^9 cells per litre) is a cell count, not a concentration")
    key = compact.lower().replace("²", "2")
    if key not in _ALIASES:
        raise UnitError(f"unknown unit {text!r}")
    return _ALIASES[key]


def convert(value: float, from_unit: str, to_unit: str, analyte: str | None = None) -> float:
    """``value`` in ``from_unit`` expressed in ``to_unit``.

    Molar <-> mass concentration needs ``analyte`` (a key of ANALYTE_FACTORS).
    Raises UnitError for an unknown unit, different dimensions, or a missing
    or unknown analyte; the message names both units.
    """
    source, target = normalize_unit(from_unit), normalize_unit(to_unit)
    (dim_from, size_from), (dim_to, size_to) = UNITS[source], UNITS[target]
    if dim_from == dim_to:
        result = value * size_from / size_to
    elif {dim_from, dim_to} == {_MOLAR, _MASS_CONC}:
        factor = _analyte_factor(analyte, source, target)
        base = value * size_from
        base = base / factor if dim_from == _MOLAR else base * factor
        result = base / size_to
    else:
        raise UnitError(f"cannot convert {source} ({dim_from}) to {target} ({dim_to})")
    if not math.isfinite(result):
        raise UnitError(f"{value} {source} is out of range in {target}")
    return result


def _analyte_factor(analyte: str | None, source: str, target: str) -> float:
    key = (analyte or "").strip().lower()
    if key not in ANALYTE_FACTORS:
        known = ", ".join(sorted(ANALYTE_FACTORS))
        raise UnitError(
            f"converting {source} to {target} needs a known analyte ({known}); got {analyte!r}"
        )
    return ANALYTE_FACTORS[key]


def split_quantity(text: str) -> tuple[float, str]:
    """``(value, unit as typed)`` from a string such as ``"88umol/L"`` or ``"0.8x10^9/L"``.

    Raises CalculatorError if no number leads the text, UnitError if the unit is missing.
    """
    match = _NUMBER_AND_UNIT.fullmatch(str(text).strip())
    if match is None:
        raise CalculatorError(f"cannot read a number with a unit from {text!r}")
    number, unit = match.groups()
    if not unit:
        raise UnitError(f"{text!r} has no unit")
    return float(number), unit


def parse_quantity(text: str) -> tuple[float, str]:
    """``(value, canonical unit)`` from a string such as ``"88umol/L"`` or ``"0.2 g/g"``.

    Raises CalculatorError if no number leads the text, UnitError if the unit
    is missing or unknown.
    """
    number, unit = split_quantity(text)
    return number, normalize_unit(unit)
