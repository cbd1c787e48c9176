"""MedicationStatement, -Administration and -Request -> model.MedicationExposure.

The drug is ``medicationCodeableConcept``, or the ``code`` of the Medication
that ``medicationReference`` points at (contained "#id", "Medication/id" or a
bundle fullUrl); failing both, the reference's display as the drug's name.
"""

from __future__ import annotations

from datetime import date

import msgspec

from trialdesk.patient import model
from trialdesk.patient.fhir.common import (
    Concept,
    Head,
    Malformed,
    Period,
    Quantity,
    Reference,
    Source,
    Wire,
    codes,
    locate,
)
from trialdesk.patient.fhir.dose import Dosage, daily_dose, dose_mg

STATEMENT_DROPPED = frozenset({"entered-in-error", "not-taken"})
ADMINISTRATION_DROPPED = frozenset({"entered-in-error", "not-done"})
REQUEST_DROPPED = frozenset({"entered-in-error", "cancelled", "draft"})


class MedicationResource(Wire):
    id: str | None = None
    code: Concept | None = None


class DrugResource(Wire):
    status: str
    id: str | None = None
    medication_codeable_concept: Concept | None = None
    medication_reference: Reference | None = None
    contained: list[msgspec.Raw] = []


class StatementResource(DrugResource):
    effective_date_time: str | None = None
    effective_period: Period | None = None
    dosage: list[Dosage] = []


class AdministrationDosage(Wire):
    dose: Quantity | None = None


class AdministrationResource(DrugResource):
    effective_date_time: str | None = None
    effective_period: Period | None = None
    dosage: AdministrationDosage | None = None


class DispenseRequest(Wire):
    validity_period: Period | None = None


class RequestResource(DrugResource):
    authored_on: str | None = None
    dispense_request: DispenseRequest | None = None
    dosage_instruction: list[Dosage] = []


_MEDICATION = msgspec.json.Decoder(MedicationResource)
_HEAD = msgspec.json.Decoder(Head)


def read_statement(res: StatementResource, src: Source) -> model.MedicationExposure | None:
    """effectiveDateTime is a single day; effectivePeriod without end is ongoing."""
    if res.status in STATEMENT_DROPPED:
        return None
    start, end = _when(res, src)
    found, text, names = _drug(res, src)
    return model.MedicationExposure(src.ref, found, text, start, end, *daily_dose(res.dosage, names))


def read_administration(res: AdministrationResource, src: Source) -> model.MedicationExposure | None:
    """A single administration: its dose (``dosage.dose``) is the day's dose."""
    if res.status in ADMINISTRATION_DROPPED:
        return None
    start, end = _when(res, src)
    found, text, names = _drug(res, src)
    dose = res.dosage.dose if res.dosage else None
    mg, note = dose_mg(dose, names) if dose is not None else (None, "no dose given")
    return model.MedicationExposure(src.ref, found, text, start, end, mg, note)


def read_request(res: RequestResource, src: Source) -> model.MedicationExposure | None:
    """From authoredOn to dispenseRequest.validityPeriod.end; without an end, an
    active request is ongoing and any other a single day."""
    if res.status in REQUEST_DROPPED:
        return None
    validity = res.dispense_request.validity_period if res.dispense_request else None
    start = src.date(res.authored_on, "authoredOn")
    end = None
    if validity is not None:
        start = start or src.date(validity.start, "dispenseRequest.validityPeriod.start")
        end = src.date(validity.end, "dispenseRequest.validityPeriod.end")
    if end is None and res.status != "active":
        end = start
    found, text, names = _drug(res, src)
    return model.MedicationExposure(
        src.ref, found, text, start, end, *daily_dose(res.dosage_instruction, names)
    )


def _when(res: StatementResource | AdministrationResource, src: Source) -> tuple[date | None, date | None]:
    if res.effective_date_time is not None:
        day = src.date(res.effective_date_time, "effectiveDateTime")
        return day, day
    if res.effective_period is not None:
        period = res.effective_period
        return src.date(period.start, "effectivePeriod.start"), src.date(period.end, "effectivePeriod.end")
    return None, None


def _drug(res: DrugResource, src: Source) -> tuple[tuple[model.Coding, ...], str | None, list[str]]:
    """``(codes, text, names)``: names are the displays and text, for the strength."""
    concept = res.medication_codeable_concept or _referenced(res, src)
    found = codes(concept)
    text = concept.text or (res.medication_reference.display if res.medication_reference else None)
    if not found and not text:
        raise src.fail("medicationCodeableConcept", "the drug has neither a code nor a name")
    names = [c.display for c in found if c.display] + ([text] if text else [])
    return found, text, names


def _referenced(res: DrugResource, src: Source) -> Concept:
    ref = res.medication_reference
    if ref is None:
        raise src.fail("medicationCodeableConcept", "no medicationCodeableConcept or medicationReference")
    target = ref.reference or ""
    if target.startswith("#"):
        for k, raw in enumerate(res.contained):
            head = _decode(_HEAD, raw, f"{src.path}.contained[{k}]")
            if head.resource_type == "Medication" and head.id == target[1:]:
                return _medication(raw, f"{src.path}.contained[{k}]")
    elif target in src.medications:
        return _medication(*src.medications[target])
    if ref.display:
        return Concept(text=ref.display)
    raise src.fail("medicationReference", f"{target!r} is not a Medication in the bundle")


def _medication(raw: msgspec.Raw, path: str) -> Concept:
    medication = _decode(_MEDICATION, raw, path)
    if medication.code is None:
        raise Malformed(f"the referenced Medication has no code - at `{path}.code`")
    return medication.code


def _decode(decoder: msgspec.json.Decoder, raw: msgspec.Raw, path: str):
    try:
        return decoder.decode(raw)
    except msgspec.DecodeError as error:
        raise Malformed(f"the referenced Medication could not be read: {locate(str(error), path)}") from None
