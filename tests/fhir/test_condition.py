"""Condition and biopsy pathology (DiagnosticReport.conclusionCode)."""

from __future__ import annotations

from datetime import date

import pytest
from fhir_bundles import read

from trialdesk.patient.model import ICD10, LOINC, SNOMED, Coding

LUPUS = {"coding": [{"system": SNOMED, "code": "200936003", "display": "Lupus erythematosus"}]}


def condition(clinical: str | None = "active", verification: str | None = None, **fields) -> dict:
    out = {"resourceType": "Condition", "id": "c1", "code": LUPUS, "onsetDateTime": "2019-04-02"}
    if clinical:
        out["clinicalStatus"] = {"coding": [{"code": clinical}]}
    if verification:
        out["verificationStatus"] = {"coding": [{"code": verification}]}
    return out | fields


@pytest.mark.parametrize(
    "clinical, active",
    [("active", True), ("recurrence", True), ("relapse", True), ("inactive", False), ("remission", False),
     ("resolved", False), (None, None), ("something-else", None)],
)
def test_clinical_status_maps_to_active(clinical, active):
    assert read(condition(clinical)).conditions[0].active is active


@pytest.mark.parametrize("verification", ["refuted", "entered-in-error"])
def test_refuted_and_entered_in_error_are_dropped(verification):
    record = read(condition(verification=verification))
    assert record.conditions == () and record.issues == ()


@pytest.mark.parametrize("verification", ["confirmed", "unconfirmed", "provisional", "differential"])
def test_other_verification_statuses_are_kept(verification):
    assert len(read(condition(verification=verification)).conditions) == 1


@pytest.mark.parametrize(
    "fields, onset",
    [
        ({}, date(2019, 4, 2)),
        ({"onsetDateTime": None, "onsetPeriod": {"start": "2018-07"}}, date(2018, 7, 1)),
        ({"onsetDateTime": None, "recordedDate": "2020-01-09T10:00:00Z"}, date(2020, 1, 9)),
        ({"onsetDateTime": None, "onsetString": "childhood"}, None),
    ],
    ids=["onsetDateTime", "onsetPeriod", "recordedDate", "none"],
)
def test_onset_fallbacks(fields, onset):
    resource = {k: v for k, v in condition(**fields).items() if v is not None}
    assert read(resource).conditions[0].onset == onset


def test_abatement_and_icd10_codes():
    found = read(condition("resolved", code={"coding": [{"system": ICD10, "code": "N04.1"}]},
                           abatementDateTime="2021-12-31")).conditions[0]
    assert (found.codes, found.abatement) == ((Coding(ICD10, "N04.1"),), date(2021, 12, 31))


def test_a_condition_without_code_is_malformed_and_the_rest_is_read():
    no_code = {k: v for k, v in condition().items() if k != "code"} | {"id": "c2"}
    record = read(no_code, condition())
    assert [c.ref for c in record.conditions] == ["Condition/c1"]
    assert [(i.ref, i.message) for i in record.issues] == [("Condition/c2", "no code - at `$.entry[1].resource.code`")]


def pathology(**fields) -> dict:
    return {"resourceType": "DiagnosticReport", "id": "bx", "status": "final",
            "code": {"coding": [{"system": LOINC, "code": "11526-1"}]}, "effectiveDateTime": "2024-09-12",
            "conclusionCode": [{"coding": [{"system": SNOMED, "code": "236403004", "display": "FSGS"}]},
                               {"coding": [{"system": SNOMED, "code": "236381000"}]}]} | fields


def test_biopsy_conclusion_codes_become_a_finding_dated_by_the_report():
    (finding,) = read(pathology()).conditions
    assert finding.ref == "DiagnosticReport/bx"
    assert [c.code for c in finding.codes] == ["236403004", "236381000"]
    assert (finding.active, finding.onset) == (None, date(2024, 9, 12))


@pytest.mark.parametrize("fields", [{"conclusionCode": []}, {"status": "entered-in-error"}, {"status": "cancelled"}])
def test_reports_without_conclusion_or_withdrawn_give_nothing(fields):
    record = read(pathology(**fields))
    assert record.conditions == () and record.issues == () and record.unused == {}


def test_a_text_only_conclusion_is_malformed_with_the_coded_ones_salvaged():
    record = read(pathology(conclusionCode=[{"coding": [{"system": SNOMED, "code": "44785005"}]}, {"text": "MCD"}]))
    assert record.conditions == ()
    (issue,) = record.issues
    assert issue.message == (
        "no coding with a system and code (text 'MCD') - at `$.entry[1].resource.conclusionCode[1].coding`"
    )
    assert issue.codes == (Coding(SNOMED, "44785005"),)
