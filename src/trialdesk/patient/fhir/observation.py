"""Observation -> model.Observation (labs, scores, assessments, attestations)."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import (
    Concept,
    Period,
    Quantity,
    Reference,
    Source,
    Wire,
    codes,
    require_codes,
    unit_of,
)

COUNTED = frozenset({"final", "amended", "corrected", "preliminary"})
DROPPED = frozenset({"cancelled", "entered-in-error"})
INTERPRETATION_SYSTEMS = frozenset({
    None,
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    "http://hl7.org/fhir/v3/ObservationInterpretation",
    "http://terminology.hl7.org/CodeSystem/v2-0078",
    "http://hl7.org/fhir/v2/0078",
})


class Ratio(Wire):
    numerator: Quantity | None = None
    denominator: Quantity | None = None


class Range(Wire):
    low: Quantity | None = None
    high: Quantity | None = None


class ComponentResource(Wire):
    code: Concept
    value_quantity: Quantity | None = None
    value_integer: int | None = None
    value_boolean: bool | None = None


class ObservationResource(Wire):
    status: str
    code: Concept
    id: str | None = None
    effective_date_time: str | None = None
    effective_instant: str | None = None
    effective_period: Period | None = None
    issued: str | None = None
    value_quantity: Quantity | None = None
    value_integer: int | None = None
    value_boolean: bool | None = None
    value_codeable_concept: Concept | None = None
    value_string: str | None = None
    value_ratio: Ratio | None = None
    interpretation: list[Concept] = []
    reference_range: list[Range] = []
    component: list[ComponentResource] = []
    performer: list[Reference] = []


def read(res: ObservationResource, src: Source) -> model.Observation | model.DataIssue | None:
    """The observation; None if cancelled or entered in error.

    Another status that does not count (``registered``, ``unknown``), or no date at all,
    gives an ``ignored`` issue carrying the codes, so a criterion on them is unknown.
    A comparator (``<20``) leaves ``value`` None and keeps "<20" as ``text``.
    """
    if res.status in DROPPED:
        return None
    found = require_codes(res.code, src, "code")
    if res.status not in COUNTED:
        return src.ignored(f"status {res.status!r} is not final, amended, corrected or preliminary", found)
    when = (
        src.date(res.effective_date_time, "effectiveDateTime")
        or src.date(res.effective_instant, "effectiveInstant")
        or (src.date(res.effective_period.start, "effectivePeriod.start") if res.effective_period else None)
        or src.date(res.issued, "issued")
    )
    if when is None:
        return src.ignored("no effectiveDateTime, effectiveInstant, effectivePeriod.start or issued: "
                           "the result cannot be placed in a screening window", found)
    value, unit, text = _quantity(res.value_quantity)
    if res.value_integer is not None:
        value = float(res.value_integer)
    concept = res.value_codeable_concept
    low, high, range_unit = _range(res.reference_range)
    return model.Observation(
        ref=src.ref,
        codes=found,
        status=res.status,
        date=when,
        value=value,
        unit=unit,
        value_bool=res.value_boolean,
        value_codes=codes(concept),
        text=res.value_string or (concept.text if concept else None) or text,
        ratio=_ratio(res.value_ratio, src),
        interpretation=tuple(
            c.code
            for interpretation in res.interpretation
            for c in interpretation.coding
            if c.code and c.system in INTERPRETATION_SYSTEMS
        ),
        ref_low=low,
        ref_high=high,
        ref_unit=range_unit,
        components=tuple(_component(c, src, f"component[{k}]") for k, c in enumerate(res.component)),
        performer=_who(res.performer),
    )


def _quantity(q: Quantity | None) -> tuple[float | None, str | None, str | None]:
    """``(value, unit, text)``; a value with a comparator is not a value, but text."""
    if q is None:
        return None, None, None
    unit = unit_of(q)
    if q.comparator and q.value is not None:
        return None, unit, f"{q.comparator}{q.value:.15g}"
    return q.value, unit, None


def _ratio(ratio: Ratio | None, src: Source) -> tuple[float, float] | None:
    if ratio is None:
        return None
    num, den = ratio.numerator, ratio.denominator
    if num is None or den is None or num.value is None or den.value is None:
        raise src.fail("valueRatio", "a ratio needs a numerator and a denominator value")
    return num.value, den.value


def _range(ranges: list[Range]) -> tuple[float | None, float | None, str | None]:
    """referenceRange[0]: low, high, and the unit of the range (UCUM code wins)."""
    if not ranges:
        return None, None, None
    low, high = ranges[0].low, ranges[0].high
    bound = high or low
    unit = (bound.code or bound.unit) if bound else None
    return (low.value if low else None), (high.value if high else None), unit


def _component(c: ComponentResource, src: Source, field: str) -> model.Component:
    found = require_codes(c.code, src, f"{field}.code")
    value, unit, _ = _quantity(c.value_quantity)
    if c.value_integer is not None:
        value = float(c.value_integer)
    return model.Component(found, c.value_boolean, value, unit)


def _who(performers: list[Reference]) -> str | None:
    if not performers:
        return None
    return performers[0].reference or performers[0].display
