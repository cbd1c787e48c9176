"""Consent -> model.Consent (every status is kept; the engine wants ``active``)."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import Concept, Source, Wire, codes


class ConsentResource(Wire):
    id: str | None = None
    status: str | None = None
    scope: Concept | None = None
    date_time: str | None = None


def read(res: ConsentResource, src: Source) -> model.Consent:
    return model.Consent(src.ref, res.status, codes(res.scope), src.date(res.date_time, "dateTime"))
