"""Medication exposure: periods, statuses, the drug, and the daily dose in mg."""

from __future__ import annotations

from datetime import date

import pytest
from fhir_bundles import read

from trialdesk.patient.model import RXNORM, UCUM, Coding

PREDNISONE_TABLET = {
    "coding": [{"system": RXNORM, "code": "312617", "display": "predniSONE 5 MG Oral Tablet"}],
    "text": "predniSONE 5 MG Oral Tablet",
}


def dosage(dose: dict | None = None, **repeat) -> dict:
    out = {"doseAndRate": [{"doseQuantity": dose}]} if dose is not None else {}
    return out | ({"timing": {"repeat": repeat}} if repeat else {})


def statement(id="s1", **fields) -> dict:
    return {"resourceType": "MedicationStatement", "id": id, "status": "active",
            "medicationCodeableConcept": PREDNISONE_TABLET, "effectivePeriod": {"start": "2025-06-01"}} | fields


def exposure(resource: dict):
    record = read(resource)
    assert record.issues == ()
    (medication,) = record.medications
    return medication


def dose_of(dose: dict | None = None, concept: dict = PREDNISONE_TABLET, **repeat):
    medication = exposure(statement(dosage=[dosage(dose, **repeat)], medicationCodeableConcept=concept))
    return medication.daily_dose_mg, medication.dose_note


@pytest.mark.parametrize(
    "dose, repeat, mg",
    [
        ({"value": 20, "unit": "mg"}, {}, 20),
        ({"value": 20, "system": UCUM, "code": "mg"}, {"frequency": 1, "period": 1, "periodUnit": "d"}, 20),
        ({"value": 10, "unit": "MG"}, {"frequency": 2, "period": 1, "periodUnit": "d"}, 20),
        ({"value": 250, "system": UCUM, "code": "mg"}, {"frequency": 1, "period": 12, "periodUnit": "h"}, 500),
        ({"value": 0.5, "system": UCUM, "code": "g"}, {"frequency": 2, "period": 1, "periodUnit": "d"}, 1000),
        ({"value": 500, "unit": "mcg"}, {}, 0.5),
        ({"value": 500, "system": UCUM, "code": "ug"}, {}, 0.5),
        ({"value": 700, "unit": "mg"}, {"frequency": 1, "period": 1, "periodUnit": "wk"}, 100),
        ({"value": 10, "unit": "mg"}, {"frequency": 1, "period": 2, "periodUnit": "d"}, 5),
        ({"value": 5, "unit": "毫克"}, {"frequency": 3}, 15),
    ],
    ids=["mg-default-daily", "ucum-mg", "twice-daily", "every-12h", "grams", "mcg", "ug", "weekly",
         "every-other-day", "chinese-mg"],
)
def test_dose_in_mg_times_frequency_per_period(dose, repeat, mg):
    assert dose_of(dose, **repeat) == (pytest.approx(mg), None)


@pytest.mark.parametrize(
    "dose", [{"value": 2, "unit": "tablet"}, {"value": 2, "system": UCUM, "code": "{tbl}"}, {"value": 2, "unit": "片"},
             {"value": 2, "system": "http://snomed.info/sct", "code": "732936001"}],
    ids=["tablet", "ucum-tbl", "chinese", "snomed"],
)
def test_tablet_count_times_the_strength_in_the_display(dose):
    assert dose_of(dose, frequency=2, period=1, periodUnit="d") == (20, None)


def test_a_unitless_count_of_a_tablet_product_is_read_as_tablets_and_says_so():
    mg, note = dose_of({"value": 1})
    assert mg == 5 and note == "dose without a unit read as 1 x 5 mg tablet(s)"


@pytest.mark.parametrize(
    "dose, concept, repeat, note",
    [
        (None, PREDNISONE_TABLET, {}, "no dose quantity"),
        ({"value": 5, "unit": "mL"}, PREDNISONE_TABLET, {}, "dose unit 'mL' is not a mass or a tablet count"),
        ({"value": 1, "unit": "tablet"}, {"text": "prednisone"}, {},
         "dose counts 'tablet' but no single strength in mg is stated in ['prednisone']"),
        ({"value": 1, "unit": "tablet"},
         {"text": "Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet"}, {},
         "dose counts 'tablet' but no single strength in mg is stated in "
         "['Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet']"),
        ({"value": 1}, {"text": "Simvastatin 10 MG"}, {}, "dose 1 has no unit"),
        ({"value": 0, "unit": "mg"}, PREDNISONE_TABLET, {}, "dose 0 is not a dose amount"),
        ({"value": 5, "unit": "mg", "comparator": "<"}, PREDNISONE_TABLET, {}, "dose <5 is not a dose amount"),
        ({"value": 5, "unit": "mg"}, PREDNISONE_TABLET,
         {"frequency": 1, "frequencyMax": 2, "period": 1, "periodUnit": "d"},
         "the schedule varies (frequencyMax/periodMax)"),
        ({"value": 5, "unit": "mg"}, PREDNISONE_TABLET, {"dayOfWeek": ["mon"]},
         "the schedule is on given weekdays ['mon']"),
        ({"value": 5, "unit": "mg"}, PREDNISONE_TABLET, {"period": 1}, "a period without a periodUnit"),
        ({"value": 5, "unit": "mg"}, PREDNISONE_TABLET, {"frequency": 0}, "0 per 1 d is not a schedule"),
    ],
    ids=["no-quantity", "volume", "no-strength", "combination", "unitless-no-form", "zero", "comparator",
         "variable", "weekdays", "period-without-unit", "zero-frequency"],
)
def test_an_unreadable_dose_is_none_with_the_reason_never_zero(dose, concept, repeat, note):
    assert dose_of(dose, concept, **repeat) == (None, note)


def test_dose_range_several_instructions_and_none():
    ranged = {"doseAndRate": [{"doseRange": {"low": {"value": 1}, "high": {"value": 2}}}]}
    assert exposure(statement(dosage=[ranged])).dose_note == "the dose is a range"
    two = [dosage({"value": 20, "unit": "mg"}), dosage({"value": 10, "unit": "mg"})]
    assert exposure(statement(dosage=two)).dose_note == "2 dosage instructions (a taper or split dose): not added up"
    assert exposure(statement()).dose_note == "no dosage given"


def test_timing_code_without_repeat():
    bid = {"doseAndRate": [{"doseQuantity": {"value": 5, "unit": "mg"}}],
           "timing": {"code": {"coding": [{"code": "BID"}]}}}
    assert exposure(statement(dosage=[bid])).daily_dose_mg == 10


def test_statement_period_open_end_is_ongoing_and_a_date_time_is_one_day():
    assert (exposure(statement()).start, exposure(statement()).end) == (date(2025, 6, 1), None)
    single = {k: v for k, v in statement().items() if k != "effectivePeriod"} | {"effectiveDateTime": "2025-06-03"}
    assert (exposure(single).start, exposure(single).end) == (date(2025, 6, 3), date(2025, 6, 3))


@pytest.mark.parametrize("status", ["entered-in-error", "not-taken"])
def test_statement_statuses_ignored(status):
    assert read(statement(status=status)).medications == ()


def request(**fields) -> dict:
    return {"resourceType": "MedicationRequest", "id": "r1", "status": "active", "intent": "order",
            "medicationCodeableConcept": PREDNISONE_TABLET, "authoredOn": "2025-03-04T09:00:00Z",
            "dosageInstruction": [dosage({"value": 2}, frequency=1, period=1, periodUnit="d")]} | fields


@pytest.mark.parametrize(
    "fields, start, end",
    [
        ({}, date(2025, 3, 4), None),
        ({"status": "stopped"}, date(2025, 3, 4), date(2025, 3, 4)),
        ({"status": "completed", "dispenseRequest": {"validityPeriod": {"start": "2025-03-04", "end": "2025-06-04"}}},
         date(2025, 3, 4), date(2025, 6, 4)),
        ({"authoredOn": None, "dispenseRequest": {"validityPeriod": {"start": "2025-03-05"}}}, date(2025, 3, 5), None),
    ],
    ids=["active-ongoing", "stopped-one-day", "validity-period", "validity-start-only"],
)
def test_request_period(fields, start, end):
    medication = exposure({k: v for k, v in request(**fields).items() if v is not None})
    assert (medication.start, medication.end) == (start, end)
    assert medication.daily_dose_mg == 10  # two 5 mg tablets a day, no unit given (Synthea)


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled", "draft"])
def test_request_statuses_ignored(status):
    assert read(request(status=status)).medications == ()


def test_administration_is_one_day_with_its_dose():
    given = {"resourceType": "MedicationAdministration", "id": "a1", "status": "completed",
             "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6902",
                                                       "display": "methylprednisolone"}]},
             "effectiveDateTime": "2025-07-01T10:00:00+08:00", "dosage": {"dose": {"value": 0.5, "unit": "g"}}}
    medication = exposure(given)
    assert (medication.start, medication.end, medication.daily_dose_mg) == (date(2025, 7, 1), date(2025, 7, 1), 500)
    assert read(given | {"status": "not-done"}).medications == ()


def test_drug_from_a_contained_or_bundled_medication_or_the_reference_display():
    contained = statement(medicationCodeableConcept=None, medicationReference={"reference": "#m"},
                          contained=[{"resourceType": "Medication", "id": "m", "code": PREDNISONE_TABLET}])
    assert exposure(contained).codes[0].code == "312617"
    bundled = statement(medicationCodeableConcept=None, medicationReference={"reference": "Medication/m2"})
    medication = {"resourceType": "Medication", "id": "m2", "code": {"text": "泼尼松"}}
    record = read(bundled, medication)
    assert record.medications[0].text == "泼尼松" and record.unused == {}
    by_name = statement(medicationCodeableConcept=None,
                        medicationReference={"reference": "Medication/x", "display": "他克莫司"})
    assert (exposure(by_name).codes, exposure(by_name).text) == ((), "他克莫司")


def test_an_unknown_drug_is_malformed():
    record = read(statement(medicationCodeableConcept=None, medicationReference={"reference": "Medication/x"}))
    assert record.medications == ()
    assert record.issues[0].message == (
        "'Medication/x' is not a Medication in the bundle - at `$.entry[1].resource.medicationReference`"
    )
    record = read(statement(medicationCodeableConcept={"coding": [{"system": RXNORM, "code": "312617"}]},
                            effectivePeriod={"start": "soon"}))
    assert record.issues[0].codes == (Coding(RXNORM, "312617"),)
