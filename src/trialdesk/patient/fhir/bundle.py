"""Read a FHIR R4 Bundle (or a bare Patient) into a :class:`PatientRecord`.

The envelope is decoded with each entry's resource left as raw JSON; a
resource is decoded (typed, validated) only if its type is one the protocol
uses, and other types are just counted in ``PatientRecord.unused``. A
resource that cannot be read becomes a located ``malformed`` DataIssue and
the rest of the bundle is still read.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import msgspec

from trialdesk.errors import InputError
from trialdesk.patient import model
from trialdesk.patient.fhir import (
    allergy,
    condition,
    consent,
    immunization,
    medication,
    observation,
    patient,
    procedure,
    research_subject,
)
from trialdesk.patient.fhir.common import Head, Malformed, Source, Wire, locate, salvage


class _Entry(Wire):
    full_url: str | None = None
    resource: msgspec.Raw = msgspec.Raw()


class _Reference(Wire):
    reference: str | None = None


class _Owner(Wire):
    """The reference that names whose record a resource is (``individual``: ResearchSubject)."""

    subject: _Reference | None = None
    patient: _Reference | None = None
    individual: _Reference | None = None


class _Envelope(Wire):
    resource_type: str | None = None
    entry: list[_Entry] = []


_READERS: dict[str, tuple[msgspec.json.Decoder, Callable[[Any, Source], Any]]] = {
    name: (msgspec.json.Decoder(wire), read)
    for name, wire, read in [
        ("Observation", observation.ObservationResource, observation.read),
        ("Condition", condition.ConditionResource, condition.read),
        ("DiagnosticReport", condition.DiagnosticReportResource, condition.read_report),
        ("Procedure", procedure.ProcedureResource, procedure.read),
        ("MedicationStatement", medication.StatementResource, medication.read_statement),
        ("MedicationAdministration", medication.AdministrationResource, medication.read_administration),
        ("MedicationRequest", medication.RequestResource, medication.read_request),
        ("Immunization", immunization.ImmunizationResource, immunization.read),
        ("AllergyIntolerance", allergy.AllergyResource, allergy.read),
        ("Consent", consent.ConsentResource, consent.read),
        ("ResearchSubject", research_subject.ResearchSubjectResource, research_subject.read),
    ]
}
_FIELDS = {
    model.Observation: "observations",
    model.Condition: "conditions",
    model.Procedure: "procedures",
    model.MedicationExposure: "medications",
    model.Immunization: "immunizations",
    model.Allergy: "allergies",
    model.Consent: "consents",
    model.StudyParticipation: "studies",
    model.DataIssue: "issues",
}
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_HEAD = msgspec.json.Decoder(Head)
_OWNER = msgspec.json.Decoder(_Owner)
_TYPE = re.compile(rb'\{\s*"resourceType"\s*:\s*"([A-Za-z]+)"')


def read_bundle(data: bytes, source: str) -> model.PatientRecord:
    """Read one patient's Bundle (any Bundle.type) or a bare Patient resource.

    Args:
        data: the JSON document.
        source: the file name or other label used in error messages.

    Returns:
        The patient's record; unreadable resources are in ``issues``.

    Raises:
        InputError: not JSON, not an object, neither a Bundle nor a Patient,
            or not exactly one Patient (with an id).
    """
    top = _envelope(data, source)
    if top.resource_type == "Patient":
        demographics, issues = patient.read(data, "$", source)
        return model.PatientRecord(demographics, issues=tuple(issues))
    if top.resource_type != "Bundle":
        raise InputError(source, f"resourceType is {top.resource_type!r}: expected a Bundle or a Patient")
    return _Reader(source).read(top.entry)


def _envelope(data: bytes, source: str) -> _Envelope:
    try:
        top = _ENVELOPE.decode(data)
    except msgspec.ValidationError as error:
        if " - at `" not in str(error):  # the document itself has the wrong type
            raise InputError(source, f"not a JSON object: {error}") from None
        raise InputError(source, f"not a readable Bundle: {error}") from None
    except msgspec.DecodeError as error:
        raise InputError(source, f"not JSON: {error}") from None
    except RecursionError:
        raise InputError(source, "JSON nested too deeply to be a FHIR bundle") from None
    if top.resource_type is None:
        raise InputError(source, "no resourceType: not a FHIR resource")
    return top


class _Reader:
    """Reads a bundle's entries into the record lists of one PatientRecord."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.out: dict[str, list] = {name: [] for name in _FIELDS.values()}
        self.unused: dict[str, int] = {}
        self.patients: list[model.Demographics] = []
        self.medications: dict[str, tuple[msgspec.Raw, str]] = {}
        self.seen: set[str] = set()
        self.owner: set[str] = set()  # the ways a resource may name the bundle's Patient

    def read(self, entries: list[_Entry]) -> model.PatientRecord:
        typed = [(k, self._type(k, e), e) for k, e in enumerate(entries) if len(e.resource)]
        for k, name, entry in typed:
            if name == "Medication":
                self._index_medication(k, entry)
            elif name == "Patient":
                self._index_patient(entry)
        for k, name, entry in typed:
            if name in _READERS:
                self._read(k, name, entry.resource)
            elif name == "Patient":
                demographics, issues = patient.read(entry.resource, f"$.entry[{k}].resource", self.source)
                self.patients.append(demographics)
                self.out["issues"].extend(issues)
            elif name is not None and name != "Medication":
                self.unused[name] = self.unused.get(name, 0) + 1
        if not self.patients:
            raise InputError(self.source, "the Bundle holds no Patient")
        if len(self.patients) > 1:
            ids = ", ".join(p.id for p in self.patients)
            message = f"the Bundle holds {len(self.patients)} Patients ({ids}): expected one"
            raise InputError(self.source, message)
        return model.PatientRecord(
            self.patients[0], **{name: tuple(items) for name, items in self.out.items()}, unused=self.unused
        )

    def _type(self, k: int, entry: _Entry) -> str | None:
        """The resource's type (None, with an issue, if it has none)."""
        match = _TYPE.match(entry.resource)
        if match:
            return match.group(1).decode()
        path = f"$.entry[{k}].resource"
        try:
            name = _HEAD.decode(entry.resource).resource_type
        except (msgspec.DecodeError, RecursionError) as error:
            self._issue(f"Resource/#{k}", locate(str(error), path))
            return None
        if name is None:
            self._issue(f"Resource/#{k}", f"no resourceType - at `{path}`")
        return name

    def _index_medication(self, k: int, entry: _Entry) -> None:
        path = f"$.entry[{k}].resource"
        if entry.full_url:
            self.medications[entry.full_url] = (entry.resource, path)
        try:
            rid = _HEAD.decode(entry.resource).id
        except (msgspec.DecodeError, RecursionError):
            return
        if isinstance(rid, str):
            self.medications[f"Medication/{rid}"] = (entry.resource, path)

    def _index_patient(self, entry: _Entry) -> None:
        if entry.full_url:
            self.owner.add(entry.full_url)
        try:
            pid = _HEAD.decode(entry.resource).id
        except (msgspec.DecodeError, RecursionError):
            return
        if isinstance(pid, str):
            self.owner.add(f"Patient/{pid}")

    def _someone_else(self, raw: msgspec.Raw) -> str | None:
        """The reference if the resource names a patient other than the bundle's, else None.

        ``Patient/<id>``, an absolute URL ending in it, a version (``/_history/n``) or the Patient
        entry's ``fullUrl`` (``urn:uuid:...``) name the bundle's Patient; a contained (``#``)
        reference or none at all cannot be checked and is accepted.
        """
        try:
            owner = _OWNER.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            return None  # the resource's own decoder reports it
        for field in (owner.subject, owner.patient, owner.individual):
            ref = field.reference if field is not None else None
            if not ref or ref.startswith("#") or ref in self.owner:
                continue
            tail = ref.split("/_history/")[0]
            if tail in self.owner or any(tail.endswith("/" + own) for own in self.owner if own.startswith("Patient/")):
                continue
            return ref
        return None

    def _read(self, k: int, name: str, raw: msgspec.Raw) -> None:
        decoder, read = _READERS[name]
        path = f"$.entry[{k}].resource"
        other = self._someone_else(raw) if self.owner else None
        if other is not None:
            rid, found = salvage(raw, name)
            self.out["issues"].append(model.DataIssue(
                f"{name}/{rid if rid else f'#{k}'}", "ignored",
                f"refers to {other}, not to this bundle's Patient: not used - at `{path}`", found))
            return
        try:
            res = decoder.decode(raw)
        except RecursionError:
            self._issue(f"{name}/#{k}", f"nested too deeply to read - at `{path}`")
            return
        except msgspec.DecodeError as error:
            rid, found = salvage(raw, name)
            self._issue(f"{name}/{rid if rid else f'#{k}'}", locate(str(error), path), found)
            return
        ref = f"{name}/{res.id}" if res.id else f"{name}/#{k}"
        if res.id:
            if ref in self.seen:
                self._issue(ref, f"duplicate id: {ref} appears more than once (again at `{path}`); both kept")
            self.seen.add(ref)
        try:
            record = read(res, Source(ref, path, self.medications))
        except Malformed as error:
            self._issue(ref, str(error), salvage(raw, name)[1])
            return
        if record is not None:
            self.out[_FIELDS[type(record)]].append(record)

    def _issue(self, ref: str, message: str, codes: tuple[model.Coding, ...] = ()) -> None:
        self.out["issues"].append(model.DataIssue(ref, "malformed", message, codes))
