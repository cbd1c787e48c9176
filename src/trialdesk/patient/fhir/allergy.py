"""AllergyIntolerance -> model.Allergy."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import Concept, Period, Source, Wire, codes, first_code, require_codes

REFUTED = frozenset({"refuted", "entered-in-error"})


class Reaction(Wire):
    severity: str | None = None
    manifestation: list[Concept] = []


class AllergyResource(Wire):
    id: str | None = None
    code: Concept | None = None
    type: str | None = None
    criticality: str | None = None
    verification_status: Concept | None = None
    reaction: list[Reaction] = []
    onset_date_time: str | None = None
    onset_period: Period | None = None
    recorded_date: str | None = None


def read(res: AllergyResource, src: Source) -> model.Allergy | None:
    """The allergy; None if refuted or entered in error.

    ``onset``: onsetDateTime, else onsetPeriod.start, else recordedDate.
    """
    if first_code(res.verification_status) in REFUTED:
        return None
    return model.Allergy(
        ref=src.ref,
        codes=require_codes(res.code, src, "code"),
        text=res.code.text if res.code else None,
        type=res.type,
        criticality=res.criticality,
        severities=tuple(r.severity for r in res.reaction if r.severity),
        manifestations=tuple(c for r in res.reaction for m in r.manifestation for c in codes(m)),
        onset=src.date(res.onset_date_time, "onsetDateTime")
        or (src.date(res.onset_period.start, "onsetPeriod.start") if res.onset_period else None)
        or src.date(res.recorded_date, "recordedDate"),
    )
