"""Drop what is dated after the screening date, saying so.

A record dated after ``as_of`` cannot be evidence at screening: it is removed
and reported as a ``future`` DataIssue (with its codes and date). A birth date
after ``as_of`` is ``impossible``: the patient is kept with the birth date
unknown.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from trialdesk.patient.model import DataIssue, PatientRecord

#: Record field of the PatientRecord -> the attribute holding the record's date.
DATED = {
    "observations": "date",
    "conditions": "onset",
    "procedures": "start",
    "medications": "start",
    "immunizations": "date",
    "allergies": "onset",
    "consents": "date",
    "studies": "start",
}


def censor(record: PatientRecord, as_of: date) -> PatientRecord:
    """A copy of ``record`` without the records dated after ``as_of``.

    Example:
        >>> from trialdesk.patient.model import Demographics, Immunization
        >>> rec = PatientRecord(Demographics("p", "female", date(1990, 1, 1)),
        ...                     immunizations=(Immunization("Immunization/1", (), date(2027, 1, 2)),))
        >>> out = censor(rec, date(2026, 3, 2))
        >>> out.immunizations, out.issues[0].message
        ((), 'dated 2027-01-02, after the screening date 2026-03-02: ignored')
    """
    issues = list(record.issues)
    changes = {}
    for field, attribute in DATED.items():
        kept = []
        for item in getattr(record, field):
            when = getattr(item, attribute)
            if when is not None and when > as_of:
                message = f"dated {when.isoformat()}, after the screening date {as_of.isoformat()}: ignored"
                issues.append(DataIssue(item.ref, "future", message, getattr(item, "codes", ()), when))
            else:
                kept.append(item)
        changes[field] = tuple(kept)
    patient = record.patient
    born = patient.birth_date
    if born is not None and born > as_of:
        message = f"birth date {born.isoformat()} is after the screening date {as_of.isoformat()}"
        issues.append(DataIssue(f"Patient/{patient.id}", "impossible", f"{message}: age unknown", (), born))
        patient = replace(patient, birth_date=None)
    return replace(record, patient=patient, issues=tuple(issues), unused=dict(record.unused), **changes)
