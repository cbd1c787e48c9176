"""Procedure -> model.Procedure (completed procedures only)."""

from __future__ import annotations

from trialdesk.patient import model
from trialdesk.patient.fhir.common import Concept, Period, Source, Wire, require_codes

DROPPED = frozenset({"not-done", "entered-in-error", "preparation"})


class ProcedureResource(Wire):
    status: str
    id: str | None = None
    code: Concept | None = None
    performed_date_time: str | None = None
    performed_period: Period | None = None


def read(res: ProcedureResource, src: Source) -> model.Procedure | model.DataIssue | None:
    """The procedure if completed; None if not done, in preparation or in error.

    Any other status (``in-progress``, ``on-hold``, ``stopped``, ``unknown``)
    gives an ``ignored`` issue carrying the codes: it may have happened.
    """
    if res.status in DROPPED:
        return None
    found = require_codes(res.code, src, "code")
    if res.status != "completed":
        return src.ignored(f"status {res.status!r} is not completed", found)
    if res.performed_date_time is not None:
        start = end = src.date(res.performed_date_time, "performedDateTime")
    elif res.performed_period is not None:
        start = src.date(res.performed_period.start, "performedPeriod.start")
        end = src.date(res.performed_period.end, "performedPeriod.end")
    else:
        start = end = None
    return model.Procedure(src.ref, found, start, end)
