"""The bundle envelope: what is accepted, what is an InputError, and real-world files."""

from __future__ import annotations

import json
from datetime import date

import pytest
from fhir_bundles import PATIENT, SHARED_DATA, make_bundle, read

from trialdesk.errors import InputError
from trialdesk.patient.fhir import read_bundle

SYNTHEA = sorted((SHARED_DATA / "synthea_r4_bundles").glob("*.json"))
HL7 = SHARED_DATA / "hl7_fhir_r4_examples"
CONDITION = {
    "resourceType": "Condition",
    "id": "c1",
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "55464009"}]},
}


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"{not json", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2]", "not a JSON object: Expected `object`, got `array`"),
        (b'"Bundle"', "not a JSON object: Expected `object`, got `str`"),
        (b'{"type": "collection"}', "no resourceType"),
        (json.dumps(CONDITION | {"resourceType": "Observation"}).encode(), "resourceType is 'Observation'"),
        (b'{"resourceType": "Bundle", "entry": {}}', "Expected `array`, got `object` - at `$.entry`"),
        (make_bundle(CONDITION, patient=None), "holds no Patient"),
        (make_bundle(PATIENT | {"id": "p2"}), "holds 2 Patients (p1, p2)"),
        (make_bundle(patient={"resourceType": "Patient", "gender": "male"}), "the Patient has no id"),
        (make_bundle(patient={"resourceType": "Patient", "id": 7}), "the Patient could not be read"),
    ],
    ids=["garbage", "empty", "array", "string", "no-type", "observation", "entry-object", "no-patient",
         "two-patients", "patient-no-id", "patient-id-int"],
)
def test_unusable_input_is_an_input_error(data, expected):
    with pytest.raises(InputError, match="^x.json: ") as caught:
        read_bundle(data, "x.json")
    assert expected in caught.value.message
    assert caught.value.source == "x.json"


@pytest.mark.parametrize("reference, used", [
    (None, True),                                           # no owner named: cannot be checked
    ("Patient/p1", True),
    ("Patient/p1/_history/3", True),
    ("https://ehr.example.org/fhir/Patient/p1", True),
    ("urn:uuid:4f1c1b0e-0000-4000-8000-000000000001", True),  # the Patient entry's fullUrl
    ("#contained", True),
    ("Patient/p2", False),
    ("https://ehr.example.org/fhir/Patient/p10", False),
    ("urn:uuid:4f1c1b0e-0000-4000-8000-000000000002", False),
    ("Group/ward-3", False),
])
def test_a_record_of_another_patient_is_reported_and_not_used(reference, used):
    condition = CONDITION | ({"subject": {"reference": reference}} if reference else {})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:4f1c1b0e-0000-4000-8000-000000000001", "resource": PATIENT},
        {"resource": condition}]}
    record = read_bundle(json.dumps(bundle).encode(), "x.json")
    assert [c.ref for c in record.conditions] == (["Condition/c1"] if used else [])
    if not used:
        [issue] = record.issues
        assert (issue.ref, issue.kind) == ("Condition/c1", "ignored")
        assert f"refers to {reference}, not to this bundle's Patient" in issue.message
        assert [c.code for c in issue.codes] == ["55464009"]  # a criterion it could decide says unknown


@pytest.mark.parametrize("kind", ["collection", "transaction", "batch", "searchset", "document", "whatever"])
def test_any_bundle_type_is_read(kind):
    record = read(CONDITION, type=kind)
    assert record.patient.id == "p1"
    assert [c.ref for c in record.conditions] == ["Condition/c1"]


def test_a_bare_patient_is_a_one_patient_bundle():
    record = read_bundle(json.dumps(PATIENT).encode(), "p.json")
    assert (record.patient.id, record.patient.gender, record.patient.birth_date) == ("p1", "female", date(1990, 5, 17))
    assert record.conditions == () and record.issues == ()


@pytest.mark.parametrize(
    "birth, expected, precision",
    [
        ("1990-05-17", date(1990, 5, 17), "day"),
        ("1990-05", date(1990, 5, 1), "month"),
        ("1990", date(1990, 1, 1), "year"),
    ],
)
def test_partial_birth_date_is_the_earliest_day_with_its_precision(birth, expected, precision):
    patient = read(patient=PATIENT | {"birthDate": birth}).patient
    assert (patient.birth_date, patient.birth_precision) == (expected, precision)


def test_unreadable_birth_date_and_gender_are_issues_not_errors():
    record = read(patient=PATIENT | {"birthDate": "17/05/1990", "gender": "F"})
    assert record.patient.birth_date is None and record.patient.gender is None
    messages = sorted(i.message for i in record.issues)
    assert messages == [
        "unknown gender 'F' - at `$.entry[0].resource.gender`",
        "unparseable date '17/05/1990' - at `$.entry[0].resource.birthDate`",
    ]


def test_a_malformed_patient_with_an_id_is_kept_as_unknown():
    record = read(patient=PATIENT | {"birthDate": 1990})
    assert (record.patient.id, record.patient.birth_date) == ("p1", None)
    assert record.issues[0].message == "Expected `str | null`, got `int` - at `$.entry[0].resource.birthDate`"


def test_types_the_protocol_does_not_use_are_counted_not_read():
    junk = {"resourceType": "Claim", "id": 5, "total": "not checked"}
    record = read(junk, junk, {"resourceType": "Encounter"}, CONDITION)
    assert record.unused == {"Claim": 2, "Encounter": 1}
    assert record.issues == () and len(record.conditions) == 1


def test_entries_without_a_type_or_resource():
    data = json.loads(make_bundle(CONDITION))
    data["entry"] += [{"request": {"method": "DELETE"}}, {"resource": {"id": "x"}}, {"resource": "text"}]
    record = read_bundle(json.dumps(data).encode(), "t.json")
    assert [(i.ref, i.message) for i in record.issues] == [
        ("Resource/#3", "no resourceType - at `$.entry[3].resource`"),
        ("Resource/#4", "Expected `object`, got `str` - at `$.entry[4].resource`"),
    ]
    assert len(record.conditions) == 1


def test_duplicate_ids_are_kept_and_reported():
    record = read(CONDITION, CONDITION)
    assert len(record.conditions) == 2
    (issue,) = record.issues
    assert (issue.ref, issue.kind) == ("Condition/c1", "malformed")
    assert issue.message.startswith("duplicate id")


def test_a_resource_without_id_is_referred_to_by_entry_index():
    record = read({k: v for k, v in CONDITION.items() if k != "id"})
    assert record.conditions[0].ref == "Condition/#1"


@pytest.mark.parametrize("path", SYNTHEA, ids=lambda p: p.name[:24])
def test_every_synthea_bundle_reads(path):
    record = read_bundle(path.read_bytes(), path.name)
    assert record.patient.birth_date is not None
    assert record.observations and record.conditions is not None
    assert record.issues == ()
    assert "Claim" in record.unused


def test_there_are_sixty_synthea_bundles():
    assert len(SYNTHEA) == 60


def test_hl7_examples_in_a_collection_bundle():
    resources = [json.loads(p.read_text()) for p in sorted(HL7.glob("*.json"))]
    record = read_bundle(make_bundle(*resources, patient=None), "hl7")
    assert record.patient.id == "example" and record.patient.birth_date == date(1974, 12, 25)
    assert record.unused == {"Encounter": 1}
    assert [c.codes[0].code for c in record.conditions] == ["39065001"]
    weight = record.observations[0]
    assert (weight.codes[0].code, weight.value, weight.unit) == ("29463-7", 185, "[lb_av]")
    assert weight.date == date(2016, 3, 28)
    # observation-decimal has only a text code: it cannot be matched, so it is reported; the two
    # medication examples are Donald Duck's (Patient/pat1), not this Patient's: reported, not used.
    assert sorted((i.ref, i.kind) for i in record.issues) == [
        ("MedicationRequest/medrx0301", "ignored"), ("MedicationStatement/example001", "ignored"),
        ("Observation/decimal", "malformed")]
    assert record.medications == ()
    assert all("refers to Patient/pat1, not to this bundle's Patient" in i.message
               for i in record.issues if i.kind == "ignored")


def test_hl7_medication_examples_read_when_they_name_the_bundles_patient():
    resources = [json.loads(p.read_text()) for p in sorted(HL7.glob("medication*.json"))]
    for r in resources:
        r["subject"] = {"reference": "Patient/example"}
    patient = json.loads((HL7 / "patient-example.json").read_text())
    record = read_bundle(make_bundle(patient, *resources, patient=None), "hl7")
    assert record.issues == ()
    request, statement = sorted(record.medications, key=lambda m: m.ref)
    assert request.codes[0].code == "430127000"  # contained Medication #med0310
    assert (request.start, request.end) == (date(2015, 1, 15), date(2016, 1, 15))
    assert statement.codes[0].code == "50580-506-02"  # contained Medication #med0309
    assert (statement.start, statement.end) == (date(2015, 1, 23), date(2015, 1, 23))
    assert request.daily_dose_mg is None and statement.daily_dose_mg is None
    assert statement.dose_note == "the dose is a range"


def test_the_bare_hl7_patient_example_reads():
    record = read_bundle((HL7 / "patient-example.json").read_bytes(), "patient-example.json")
    assert (record.patient.id, record.patient.gender) == ("example", "male")
