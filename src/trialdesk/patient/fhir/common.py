"""Shared pieces of the FHIR readers: wire types, dates, codings, located errors.

Wire types are ``msgspec`` Structs holding only the fields the contract
(``data.md``) reads; unknown fields are skipped while decoding. Readers raise
:class:`Malformed` with a located message; the bundle turns it into a
:class:`~trialdesk.patient.model.DataIssue` and goes on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import msgspec

from trialdesk.patient import model

class Wire(msgspec.Struct, rename="camel"):
    """Base of every wire type: snake_case fields read from FHIR's camelCase names."""


class Coding(Wire):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class Concept(Wire):
    """A CodeableConcept."""

    coding: list[Coding] = []
    text: str | None = None


class Quantity(Wire):
    value: float | None = None
    comparator: str | None = None
    unit: str | None = None
    system: str | None = None
    code: str | None = None


class Period(Wire):
    start: str | None = None
    end: str | None = None


class Reference(Wire):
    reference: str | None = None
    display: str | None = None


class Head(Wire):
    """The two fields every resource has; ``id`` untyped so any resource decodes."""

    resource_type: str | None = None
    id: Any = None


class Malformed(Exception):
    """A resource that cannot be read; the message says where and why."""


@dataclass(slots=True)
class Source:
    """Where a resource sits: ``ref`` ("Type/id"), JSON ``path`` in the file,
    and the bundle's Medication resources by reference, as (raw, path)."""

    ref: str
    path: str
    medications: Mapping[str, tuple[msgspec.Raw, str]]

    def fail(self, field: str, why: str) -> Malformed:
        return Malformed(f"{why} - at `{self.path}.{field}`")

    def date(self, value: str | None, field: str) -> date | None:
        """The date of a FHIR date/dateTime (earliest day if partial), or None if absent."""
        if value is None:
            return None
        parsed = parse_date(value)
        if parsed is None:
            raise self.fail(field, f"unparseable date {value!r}")
        return parsed[0]

    def ignored(self, why: str, codes: tuple[model.Coding, ...]) -> model.DataIssue:
        return model.DataIssue(self.ref, "ignored", why, codes)


# FHIR R4 date/dateTime (ASCII digits only; the time and zone are checked, then dropped).
_DATE = re.compile(
    r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})"
    r"(?:T([01][0-9]|2[0-3]):[0-5][0-9](?::([0-5][0-9]|60)(?:\.[0-9]+)?)?"
    r"(?:Z|[+-](?:0[0-9]|1[0-4]):[0-5][0-9])?)?)?)?"
)


@lru_cache(maxsize=8192)
def parse_date(text: str) -> tuple[date, str] | None:
    """``(earliest date, precision)`` of "YYYY", "YYYY-MM", "YYYY-MM-DD" or a
    dateTime (date as written, zone ignored); None if unparseable.

    >>> parse_date("2019-06")
    (datetime.date(2019, 6, 1), 'month')
    """
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day = match.groups()[:3]
    try:
        when = date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        return None
    return when, "day" if day else "month" if month else "year"


def codes(concept: Concept | None) -> tuple[model.Coding, ...]:
    """The concept's codings that have both a system and a code."""
    if concept is None:
        return ()
    return tuple(model.Coding(c.system, c.code, c.display) for c in concept.coding if c.system and c.code)


def require_codes(concept: Concept | None, src: Source, field: str) -> tuple[model.Coding, ...]:
    """Like :func:`codes`, but a concept without a usable coding is malformed."""
    found = codes(concept)
    if not found:
        if concept is None:
            raise src.fail(field, "no code")
        raise src.fail(f"{field}.coding", f"no coding with a system and code (text {concept.text!r})")
    return found


def unit_of(quantity: Quantity) -> str | None:
    """The UCUM code when the system is UCUM, else the free-text unit (or the code)."""
    if quantity.code and quantity.system == model.UCUM:
        return quantity.code
    return quantity.unit or quantity.code


def first_code(concept: Concept | None) -> str | None:
    """The first coding's code (for status-like concepts such as clinicalStatus)."""
    if concept is None:
        return None
    return next((c.code for c in concept.coding if c.code), None)


def locate(message: str, path: str) -> str:
    """Rebase a msgspec message ("... - at `$.status`") onto ``path`` in the file."""
    if " - at `$" in message:
        return message.replace(" - at `$", f" - at `{path}", 1)
    return f"{message} - at `{path}`"


#: Where each resource type carries the codes a criterion matches (default: ``code``).
CODE_FIELDS = {
    "DiagnosticReport": ("conclusionCode",),
    "Immunization": ("vaccineCode",),
    "MedicationStatement": ("medicationCodeableConcept",),
    "MedicationAdministration": ("medicationCodeableConcept",),
    "MedicationRequest": ("medicationCodeableConcept",),
}


def salvage(raw: msgspec.Raw | bytes, resource_type: str) -> tuple[str | None, tuple[model.Coding, ...]]:
    """``(id, codes)`` of a resource that could not be read, read leniently as plain JSON."""
    try:
        obj = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return None, ()
    if not isinstance(obj, dict):
        return None, ()
    found = [c for key in CODE_FIELDS.get(resource_type, ("code",)) for c in _plain_codings(obj.get(key))]
    rid = obj.get("id")
    return rid if isinstance(rid, str) else None, tuple(found)


def _plain_codings(value: Any) -> list[model.Coding]:
    """The well-formed codings of a plain-JSON CodeableConcept (or a list of them)."""
    found = []
    for concept in value if isinstance(value, list) else [value]:
        coding = concept.get("coding") if isinstance(concept, dict) else None
        for c in coding if isinstance(coding, list) else ():
            if isinstance(c, dict) and isinstance(c.get("system"), str) and isinstance(c.get("code"), str):
                display = c.get("display") if isinstance(c.get("display"), str) else None
                found.append(model.Coding(c["system"], c["code"], display))
    return found
