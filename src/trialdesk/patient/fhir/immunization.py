"""Immunization -> model.Immunization (completed only)."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import Concept, Source, Wire, require_codes

DROPPED = frozenset({"not-done", "entered-in-error"})


class ImmunizationResource(Wire):
    status: str
    id: str | None = None
    vaccine_code: Concept | None = None
    occurrence_date_time: str | None = None


def read(res: ImmunizationResource, src: Source) -> model.Immunization | model.DataIssue | None:
    """The immunization if completed; None if not done or in error.

    ``date`` is occurrenceDateTime (None for an ``occurrenceString``).
    """
    if res.status in DROPPED:
        return None
    found = require_codes(res.vaccine_code, src, "vaccineCode")
    if res.status != "completed":
        return src.ignored(f"status {res.status!r} is not completed", found)
    return model.Immunization(src.ref, found, src.date(res.occurrence_date_time, "occurrenceDateTime"))
