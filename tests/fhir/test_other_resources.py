"""Procedure, Immunization, AllergyIntolerance, Consent and ResearchSubject."""

from __future__ import annotations

from datetime import date

import pytest
from fhir_bundles import read

from trialdesk.patient.model import CVX, RXNORM, SNOMED, Coding

DIALYSIS = {"coding": [{"system": SNOMED, "code": "302497006", "display": "Hemodialysis"}]}


def procedure(**fields) -> dict:
    return {"resourceType": "Procedure", "id": "pr", "status": "completed", "code": DIALYSIS,
            "performedPeriod": {"start": "2024-01-02T08:00:00Z", "end": "2024-01-02T12:00:00Z"}} | fields


def test_completed_procedure_with_period_or_date_time():
    assert (read(procedure()).procedures[0].start, read(procedure()).procedures[0].end) == (date(2024, 1, 2),) * 2
    single = read(procedure(performedPeriod=None, performedDateTime="2023-05")).procedures[0]
    assert (single.start, single.end) == (date(2023, 5, 1), date(2023, 5, 1))


@pytest.mark.parametrize("status", ["not-done", "entered-in-error", "preparation"])
def test_procedures_that_did_not_happen_are_dropped(status):
    record = read(procedure(status=status))
    assert record.procedures == () and record.issues == ()


@pytest.mark.parametrize("status", ["in-progress", "on-hold", "stopped", "unknown"])
def test_procedures_that_may_have_happened_are_ignored_with_their_codes(status):
    record = read(procedure(status=status))
    assert record.procedures == ()
    assert [(i.kind, i.codes[0].code) for i in record.issues] == [("ignored", "302497006")]


def immunization(**fields) -> dict:
    return {"resourceType": "Immunization", "id": "im", "status": "completed",
            "vaccineCode": {"coding": [{"system": CVX, "code": "03", "display": "MMR"}]},
            "occurrenceDateTime": "2025-10-01"} | fields


def test_completed_immunizations_only():
    assert read(immunization()).immunizations[0].date == date(2025, 10, 1)
    assert read(immunization(status="not-done")).immunizations == ()
    assert read(immunization(occurrenceDateTime=None, occurrenceString="as a child")).immunizations[0].date is None


def test_an_immunization_without_vaccine_code_is_malformed():
    (issue,) = read(immunization(vaccineCode={"text": "MMR"})).issues
    assert issue.message.endswith("at `$.entry[1].resource.vaccineCode.coding`")


def allergy(**fields) -> dict:
    return {"resourceType": "AllergyIntolerance", "id": "al", "type": "allergy", "criticality": "high",
            "code": {"coding": [{"system": RXNORM, "code": "7980", "display": "Penicillin G"}], "text": "penicillin"},
            "reaction": [{"severity": "severe",
                          "manifestation": [{"coding": [{"system": SNOMED, "code": "39579001"}]}]}],
            "recordedDate": "2010-03-04"} | fields


def test_allergy_fields():
    found = read(allergy()).allergies[0]
    assert (found.codes[0].code, found.text, found.type, found.criticality) == ("7980", "penicillin", "allergy", "high")
    assert found.severities == ("severe",) and found.manifestations == (Coding(SNOMED, "39579001"),)
    assert found.onset == date(2010, 3, 4)


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_allergies_are_dropped(verification):
    assert read(allergy(verificationStatus={"coding": [{"code": verification}]})).allergies == ()


def test_consent_and_research_subject():
    scope = "http://terminology.hl7.org/CodeSystem/consentscope"
    consent = {"resourceType": "Consent", "id": "cs", "status": "active", "dateTime": "2026-02-20T09:00:00+08:00",
               "scope": {"coding": [{"system": scope, "code": "research"}]}}
    subject = {"resourceType": "ResearchSubject", "id": "rs", "status": "on-study",
               "study": {"identifier": {"value": "other-trial"}}, "period": {"start": "2025-12-01"}}
    record = read(consent, subject)
    assert record.consents[0].scopes == (Coding(scope, "research"),)
    assert (record.consents[0].status, record.consents[0].date) == ("active", date(2026, 2, 20))
    study = record.studies[0]
    assert (study.study, study.start, study.end, study.status) == ("other-trial", date(2025, 12, 1), None, "on-study")
    assert read(subject | {"study": {"reference": "ResearchStudy/x"}}).studies[0].study is None
