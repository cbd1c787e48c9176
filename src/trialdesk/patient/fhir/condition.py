"""Condition, and DiagnosticReport.conclusionCode (biopsy pathology) -> model.Condition."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import Concept, Period, Source, Wire, first_code, require_codes

ACTIVE = {
    "active": True,
    "recurrence": True,
    "relapse": True,
    "inactive": False,
    "remission": False,
    "resolved": False,
}
REFUTED = frozenset({"refuted", "entered-in-error"})
REPORT_DROPPED = frozenset({"cancelled", "entered-in-error"})


class ConditionResource(Wire):
    id: str | None = None
    code: Concept | None = None
    clinical_status: Concept | None = None
    verification_status: Concept | None = None
    onset_date_time: str | None = None
    onset_period: Period | None = None
    recorded_date: str | None = None
    abatement_date_time: str | None = None
    abatement_period: Period | None = None


class DiagnosticReportResource(Wire):
    status: str
    id: str | None = None
    conclusion_code: list[Concept] = []
    effective_date_time: str | None = None
    effective_period: Period | None = None
    issued: str | None = None


def read(res: ConditionResource, src: Source) -> model.Condition | None:
    """The condition; None if refuted or entered in error.

    ``onset``: onsetDateTime, else onsetPeriod.start, else recordedDate.
    ``abatement``: abatementDateTime, else abatementPeriod.end.
    """
    if first_code(res.verification_status) in REFUTED:
        return None
    found = require_codes(res.code, src, "code")
    clinical = first_code(res.clinical_status)
    return model.Condition(
        ref=src.ref,
        codes=found,
        active=ACTIVE.get(clinical) if clinical else None,
        onset=src.date(res.onset_date_time, "onsetDateTime")
        or (src.date(res.onset_period.start, "onsetPeriod.start") if res.onset_period else None)
        or src.date(res.recorded_date, "recordedDate"),
        abatement=src.date(res.abatement_date_time, "abatementDateTime")
        or (src.date(res.abatement_period.end, "abatementPeriod.end") if res.abatement_period else None),
    )


def read_report(res: DiagnosticReportResource, src: Source) -> model.Condition | None:
    """A report's conclusion codes as one finding (active None, onset = report date).

    None when the report has no conclusionCode, or is cancelled or entered in error.
    """
    if res.status in REPORT_DROPPED or not res.conclusion_code:
        return None
    found = tuple(
        c
        for k, concept in enumerate(res.conclusion_code)
        for c in require_codes(concept, src, f"conclusionCode[{k}]")
    )
    return model.Condition(
        ref=src.ref,
        codes=found,
        active=None,
        onset=src.date(res.effective_date_time, "effectiveDateTime")
        or (src.date(res.effective_period.start, "effectivePeriod.start") if res.effective_period else None)
        or src.date(res.issued, "issued"),
    )
