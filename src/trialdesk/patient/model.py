"""The backend-neutral patient record that every source maps into.

FHIR bundles (``trialdesk.patient.fhir``) and, later, OMOP rows map into these
frozen records; the engine reads nothing else. Each record keeps ``ref``
("ResourceType/id") so that every verdict can cite its evidence.

Dates are calendar dates (``datetime.date``): the protocol's windows are whole
days (criteria.md, "Dates and windows"), so a time of day is dropped on input.
A value that could not be read is never guessed: the adapter reports a
:class:`DataIssue` instead, carrying the codes it saw so that a criterion that
would have matched the unreadable record becomes ``unknown``, not ``pass``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"
CVX = "http://hl7.org/fhir/sid/cvx"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
UCUM = "http://unitsofmeasure.org"


@dataclass(frozen=True, slots=True)
class Coding:
    """One code in one system; ``display`` is kept for name matching of drugs."""

    system: str
    code: str
    display: str | None = None


@dataclass(frozen=True, slots=True)
class Component:
    """An Observation component: a coded item with a boolean or numeric value."""

    codes: tuple[Coding, ...]
    value_bool: bool | None = None
    value: float | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """A measurement, test result, score, assessment or attestation.

    ``value``/``unit`` hold a numeric result (``unit`` is the UCUM code when
    given, else the free-text unit). ``ratio`` holds ``valueRatio`` as
    (numerator, denominator). ``text`` holds ``valueString`` or the
    ``valueCodeableConcept.text``; ``value_codes`` the concept's codings.
    """

    ref: str
    codes: tuple[Coding, ...]
    status: str | None
    date: date | None
    value: float | None = None
    unit: str | None = None
    value_bool: bool | None = None
    value_codes: tuple[Coding, ...] = ()
    text: str | None = None
    ratio: tuple[float, float] | None = None
    interpretation: tuple[str, ...] = ()
    ref_low: float | None = None
    ref_high: float | None = None
    ref_unit: str | None = None
    components: tuple[Component, ...] = ()
    performer: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    """A diagnosis, problem, or a pathology finding.

    ``active`` is True for clinicalStatus active/recurrence/relapse, False for
    inactive/remission/resolved, None when no clinicalStatus was given.
    ``onset`` is onsetDateTime, else onsetPeriod.start, else recordedDate.
    """

    ref: str
    codes: tuple[Coding, ...]
    active: bool | None
    onset: date | None
    abatement: date | None = None


@dataclass(frozen=True, slots=True)
class Procedure:
    """A completed procedure; ``end`` equals ``start`` for a single-day one."""

    ref: str
    codes: tuple[Coding, ...]
    start: date | None
    end: date | None


@dataclass(frozen=True, slots=True)
class MedicationExposure:
    """A period on a drug, from MedicationStatement, -Administration or -Request.

    ``end`` None means ongoing (open-ended). ``daily_dose_mg`` is the dose in
    mg per day when it could be read, else None with ``dose_note`` saying why.
    ``codes`` carry the drug's codings with their displays, ``text`` the
    concept's free text: drugs match by code or by ingredient name.
    """

    ref: str
    codes: tuple[Coding, ...]
    text: str | None
    start: date | None
    end: date | None
    daily_dose_mg: float | None = None
    dose_note: str | None = None


@dataclass(frozen=True, slots=True)
class Immunization:
    """A completed immunization."""

    ref: str
    codes: tuple[Coding, ...]
    date: date | None


@dataclass(frozen=True, slots=True)
class Allergy:
    """An AllergyIntolerance (refuted or entered-in-error ones are dropped)."""

    ref: str
    codes: tuple[Coding, ...]
    text: str | None
    type: str | None
    criticality: str | None
    severities: tuple[str, ...] = ()
    manifestations: tuple[Coding, ...] = ()
    onset: date | None = None


@dataclass(frozen=True, slots=True)
class Consent:
    """A Consent resource: status, scope codes and date."""

    ref: str
    status: str | None
    scopes: tuple[Coding, ...]
    date: date | None


@dataclass(frozen=True, slots=True)
class StudyParticipation:
    """A ResearchSubject: which study, over which period."""

    ref: str
    study: str | None
    start: date | None
    end: date | None
    status: str | None


@dataclass(frozen=True, slots=True)
class Demographics:
    """Patient.id, gender and birth date.

    ``birth_precision`` is "day", "month" or "year"; for a partial birthDate
    ``birth_date`` is the earliest possible date (data.md, Patient).
    """

    id: str
    gender: str | None
    birth_date: date | None
    birth_precision: str = "day"


@dataclass(frozen=True, slots=True)
class DataIssue:
    """A problem found in the input, located and explained.

    ``kind`` is one of ``malformed``, ``future``, ``impossible``, ``unit``,
    ``ignored``. ``codes`` are the codes the record carried, so a criterion
    whose value set matches them can say it could not be decided.
    """

    ref: str
    kind: str
    message: str
    codes: tuple[Coding, ...] = ()
    date: date | None = None


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """Everything the engine may use for one patient."""

    patient: Demographics
    observations: tuple[Observation, ...] = ()
    conditions: tuple[Condition, ...] = ()
    procedures: tuple[Procedure, ...] = ()
    medications: tuple[MedicationExposure, ...] = ()
    immunizations: tuple[Immunization, ...] = ()
    allergies: tuple[Allergy, ...] = ()
    consents: tuple[Consent, ...] = ()
    studies: tuple[StudyParticipation, ...] = ()
    issues: tuple[DataIssue, ...] = ()
    unused: dict[str, int] = field(default_factory=dict)
