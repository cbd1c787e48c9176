"""Patient -> Demographics (id, gender, birth date with its precision)."""

from __future__ import annotations

import msgspec

from trialdesk.errors import InputError
from trialdesk.patient import model
from trialdesk.patient.fhir.common import Wire, locate, parse_date, salvage

GENDERS = frozenset({"male", "female", "other", "unknown"})


class PatientResource(Wire):
    id: str | None = None
    gender: str | None = None
    birth_date: str | None = None


_DECODER = msgspec.json.Decoder(PatientResource)


def read(
    raw: msgspec.Raw | bytes, path: str, source: str
) -> tuple[model.Demographics, list[model.DataIssue]]:
    """Demographics and any issues; a Patient without an id is an InputError.

    An unreadable gender or birth date is reported and left unknown: the
    patient is still screened (age unknown).
    """
    try:
        res = _DECODER.decode(raw)
    except msgspec.DecodeError as error:
        pid, _ = salvage(raw, "Patient")
        if pid is None:
            raise InputError(source, f"the Patient could not be read: {locate(str(error), path)}") from None
        issue = model.DataIssue(f"Patient/{pid}", "malformed", locate(str(error), path))
        return model.Demographics(pid, None, None), [issue]
    if not res.id:
        raise InputError(source, f"the Patient has no id - at `{path}`")
    ref = f"Patient/{res.id}"
    issues = []
    gender = res.gender
    if gender is not None and gender not in GENDERS:
        issues.append(model.DataIssue(ref, "malformed", f"unknown gender {gender!r} - at `{path}.gender`"))
        gender = None
    birth, precision = None, "day"
    if res.birth_date is not None:
        parsed = parse_date(res.birth_date)
        if parsed is None:
            why = f"unparseable date {res.birth_date!r} - at `{path}.birthDate`"
            issues.append(model.DataIssue(ref, "malformed", why))
        else:
            birth, precision = parsed
    return model.Demographics(res.id, gender, birth, precision), issues
