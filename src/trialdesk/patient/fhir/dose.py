"""Daily dose in mg from a FHIR Dosage (data.md, "Medication exposure").

dose = ``doseAndRate[0].doseQuantity`` in mg (g, ug/mcg converted), or, when
it counts tablets or capsules, count x the one strength stated in the drug's
name ("predniSONE 5 MG Oral Tablet"); times ``timing.repeat.frequency`` per
``period`` ``periodUnit`` (default once a day). Anything else gives no dose
(None) and a note saying why: a dose is never guessed, and never zero.
"""

from __future__ import annotations

import math

import re
from collections.abc import Sequence
from typing import Any

from trialdesk.patient.fhir.common import Concept, Quantity, Wire, first_code
from trialdesk.patient.model import SNOMED, UCUM

MG_PER_UNIT = {
    "mg": 1.0, "milligram": 1.0, "milligrams": 1.0, "毫克": 1.0,
    "g": 1000.0, "gram": 1000.0, "grams": 1000.0, "克": 1000.0,
    "ug": 0.001, "mcg": 0.001, "µg": 0.001, "μg": 0.001, "microgram": 0.001, "micrograms": 0.001,
    "微克": 0.001,
}
#: Units that count tablets or capsules (free text, UCUM annotations, v3 orderableDrugForm).
UNIT_FORMS = frozenset({
    "tab", "tabs", "tablet", "tablets", "{tab}", "{tbl}", "{tablet}", "{tablets}",
    "cap", "caps", "capsule", "capsules", "{cap}", "{capsule}", "{capsules}", "片", "粒",
})
#: SNOMED tablet and capsule, as unit of presentation and as basic dose form.
SNOMED_UNIT_FORMS = frozenset({"732936001", "385055001", "732937005", "385049006"})
#: Days per UCUM unit of time (FHIR periodUnit); mo and a as UCUM defines them.
DAYS_PER_UNIT = {
    "s": 1 / 86400, "min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.4375, "a": 365.25,
}
#: Doses per day of the HL7 GTSAbbreviation timing codes, used when there is no ``repeat``.
DOSES_PER_DAY_BY_CODE = {
    "QD": 1.0, "AM": 1.0, "PM": 1.0, "BED": 1.0, "BID": 2.0, "TID": 3.0, "QID": 4.0,
    "QOD": 0.5, "Q4H": 6.0, "Q6H": 4.0, "Q8H": 3.0, "WK": 1 / 7,
}
_STRENGTH = re.compile(r"(\d+(?:\.\d+)?)\s*(mg|mcg|ug|µg|μg|g|毫克|微克|克)(?![a-z/])", re.IGNORECASE)
_SOLID_FORM = re.compile(r"tablet|capsule|片|胶囊", re.IGNORECASE)


class Repeat(Wire):
    frequency: int | None = None
    frequency_max: int | None = None
    period: float | None = None
    period_max: float | None = None
    period_unit: str | None = None
    day_of_week: list[str] = []
    time_of_day: list[str] = []
    when: list[str] = []


class Timing(Wire):
    repeat: Repeat | None = None
    code: Concept | None = None


class DoseAndRate(Wire):
    dose_quantity: Quantity | None = None
    dose_range: Any = None


class Dosage(Wire):
    text: str | None = None
    timing: Timing | None = None
    as_needed_boolean: bool | None = None
    as_needed_codeable_concept: Concept | None = None
    dose_and_rate: list[DoseAndRate] = []


# Above this, a daily dose is a data error (the largest pulse, methylprednisolone 1 g x 3, is far below).
MAX_PLAUSIBLE_MG_PER_DAY = 100_000.0


def daily_dose(dosages: list[Dosage], names: Sequence[str]) -> tuple[float | None, str | None]:
    """``(mg per day, note)`` from ``dosage[0]``; ``names`` are the drug's displays and text.

    >>> daily_dose([Dosage(dose_and_rate=[DoseAndRate(dose_quantity=Quantity(value=2, unit="tablet"))])],
    ...            ["predniSONE 5 MG Oral Tablet"])
    (10.0, None)
    """
    if not dosages:
        return None, "no dosage given"
    if len(dosages) > 1:
        return None, f"{len(dosages)} dosage instructions (a taper or split dose): not added up"
    dosage = dosages[0]
    quantity = dosage.dose_and_rate[0].dose_quantity if dosage.dose_and_rate else None
    if quantity is None:
        if dosage.dose_and_rate and dosage.dose_and_rate[0].dose_range is not None:
            return None, "the dose is a range"
        return None, f"no dose quantity (text {dosage.text!r})" if dosage.text else "no dose quantity"
    mg, note = dose_mg(quantity, names)
    if mg is None:
        return None, note
    per_day, why = _doses_per_day(dosage.timing)
    if per_day is None:
        return None, why
    if dosage.as_needed_boolean or dosage.as_needed_codeable_concept is not None:
        note = "; ".join(filter(None, [note, "as needed: the most allowed per day"]))
    daily = mg * per_day
    if not math.isfinite(daily) or daily > MAX_PLAUSIBLE_MG_PER_DAY:
        return None, f"{daily:g} mg/day is not a plausible daily dose"
    return daily, note


def dose_mg(quantity: Quantity, names: Sequence[str]) -> tuple[float | None, str | None]:
    """``(mg, note)`` of one dose; a unitless count of a tablet/capsule product is read as tablets."""
    value = quantity.value
    if value is None:
        return None, "the dose quantity has no value"
    if value <= 0 or quantity.comparator:
        return None, f"dose {quantity.comparator or ''}{value:.15g} is not a dose amount"
    unit = quantity.code if quantity.code and quantity.system == UCUM else quantity.unit or quantity.code
    if unit is None:
        strength = _strength(names)
        if strength is not None and any(_SOLID_FORM.search(n) for n in names):
            note = f"dose without a unit read as {value:.15g} x {strength:.15g} mg tablet(s)"
            return value * strength, note
        return None, f"dose {value:.15g} has no unit"
    if (factor := MG_PER_UNIT.get(unit.lower())) is not None:
        return value * factor, None
    if unit.lower() in UNIT_FORMS or (quantity.system == SNOMED and quantity.code in SNOMED_UNIT_FORMS):
        strength = _strength(names)
        if strength is None:
            return None, f"dose counts {unit!r} but no single strength in mg is stated in {list(names)}"
        return value * strength, None
    return None, f"dose unit {unit!r} is not a mass or a tablet count"


def _strength(names: Sequence[str]) -> float | None:
    """The one strength in mg stated by the names (each stating exactly one), else None."""
    found = set()
    for name in names:
        strengths = _STRENGTH.findall(name)
        if len(strengths) == 1:
            amount, unit = strengths[0]
            found.add(float(amount) * MG_PER_UNIT[unit.lower()])
    return found.pop() if len(found) == 1 else None


def _doses_per_day(timing: Timing | None) -> tuple[float | None, str | None]:
    if timing is None:
        return 1.0, None
    repeat = timing.repeat
    if repeat is None:
        code = first_code(timing.code)
        if code is None:
            return 1.0, None
        per_day = DOSES_PER_DAY_BY_CODE.get(code.upper())
        return (per_day, None) if per_day else (None, f"timing code {code!r} not understood")
    if repeat.frequency_max or repeat.period_max:
        return None, "the schedule varies (frequencyMax/periodMax)"
    if repeat.day_of_week:
        return None, f"the schedule is on given weekdays {repeat.day_of_week}"
    if repeat.frequency is None and repeat.when:
        return None, f"the schedule is given only as times of day {repeat.when}"
    frequency = repeat.frequency if repeat.frequency is not None else len(repeat.time_of_day) or 1
    period = 1.0 if repeat.period is None else repeat.period
    unit = repeat.period_unit or ("d" if repeat.period is None else None)
    days = DAYS_PER_UNIT.get(unit or "")
    if days is None:
        return None, f"period unit {unit!r} not understood" if unit else "a period without a periodUnit"
    if period <= 0 or frequency <= 0:
        return None, f"{frequency} per {period:.15g} {unit} is not a schedule"
    return frequency / (period * days), None
