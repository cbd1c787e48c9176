"""ResearchSubject -> model.StudyParticipation."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import Period, Source, Wire


class Identifier(Wire):
    value: str | None = None


class StudyReference(Wire):
    identifier: Identifier | None = None


class ResearchSubjectResource(Wire):
    id: str | None = None
    status: str | None = None
    study: StudyReference | None = None
    period: Period | None = None


def read(res: ResearchSubjectResource, src: Source) -> model.StudyParticipation:
    """``study`` is study.identifier.value (None when the study is not identified)."""
    ident = res.study.identifier if res.study else None
    period = res.period or Period()
    return model.StudyParticipation(
        ref=src.ref,
        study=ident.value if ident else None,
        start=src.date(period.start, "period.start"),
        end=src.date(period.end, "period.end"),
        status=res.status,
    )
