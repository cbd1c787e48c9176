"""Records dated after the screening date are removed and reported."""

from __future__ import annotations

from datetime import date

from fhir_bundles import PATIENT, read

from trialdesk.patient.censor import censor
from trialdesk.patient.model import SNOMED

AS_OF = date(2026, 3, 2)
CODE = {"coding": [{"system": SNOMED, "code": "55464009"}]}


def test_future_records_are_removed_with_a_future_issue():
    record = read(
        {"resourceType": "Condition", "id": "past", "code": CODE, "onsetDateTime": "2026-03-02T23:00:00Z"},
        {"resourceType": "Condition", "id": "later", "code": CODE, "onsetDateTime": "2027-01-02"},
        {"resourceType": "Observation", "id": "o", "status": "final", "code": CODE, "effectiveDateTime": "2026-03-03"},
        {"resourceType": "MedicationStatement", "id": "m", "status": "active", "medicationCodeableConcept": CODE,
         "effectivePeriod": {"start": "2026-04-01"}},
        {"resourceType": "Consent", "id": "cs", "status": "active", "dateTime": "2026-05-01"},
        {"resourceType": "ResearchSubject", "id": "rs", "period": {"start": "2026-06-01"}},
        {"resourceType": "Encounter", "id": "e"},
    )
    out = censor(record, AS_OF)
    assert [c.ref for c in out.conditions] == ["Condition/past"]
    assert out.observations == out.medications == out.consents == out.studies == ()
    future = {i.ref: i for i in out.issues if i.kind == "future"}
    assert set(future) == {
        "Condition/later", "Observation/o", "MedicationStatement/m", "Consent/cs", "ResearchSubject/rs"
    }
    assert future["Condition/later"].message == "dated 2027-01-02, after the screening date 2026-03-02: ignored"
    assert future["Condition/later"].codes[0].code == "55464009"
    assert future["Condition/later"].date == date(2027, 1, 2)
    assert out.unused == {"Encounter": 1} and out.patient == record.patient
    assert len(record.conditions) == 2  # the input is not changed


def test_a_birth_date_after_screening_is_impossible_and_unknown():
    out = censor(read(patient=PATIENT | {"birthDate": "2026-12"}), AS_OF)
    assert out.patient.birth_date is None and out.patient.id == "p1"
    (issue,) = out.issues
    assert (issue.ref, issue.kind) == ("Patient/p1", "impossible")
    assert issue.message == "birth date 2026-12-01 is after the screening date 2026-03-02: age unknown"


def test_nothing_in_the_future_changes_nothing():
    record = read({"resourceType": "Condition", "id": "c", "code": CODE, "onsetDateTime": "2020"})
    assert censor(record, AS_OF) == record
