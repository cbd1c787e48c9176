"""Observation: statuses, dates, every value form, and malformed observations."""

from __future__ import annotations

from datetime import date

import pytest
from fhir_bundles import read

from trialdesk.patient.model import LOINC, UCUM, Coding, Component

CREATININE = {"coding": [{"system": LOINC, "code": "2160-0", "display": "Creatinine"}]}


def obs(id="o1", **fields) -> dict:
    return {"resourceType": "Observation", "id": id, "status": "final", "code": CREATININE,
            "effectiveDateTime": "2025-11-03T08:15:00+08:00"} | fields


def one(**fields):
    record = read(obs(**fields))
    assert record.issues == ()
    (observation,) = record.observations
    return observation


@pytest.mark.parametrize("status", ["final", "amended", "corrected", "preliminary"])
def test_counted_statuses(status):
    assert one(status=status).status == status


@pytest.mark.parametrize("status", ["cancelled", "entered-in-error"])
def test_cancelled_and_entered_in_error_are_dropped(status):
    record = read(obs(status=status))
    assert record.observations == () and record.issues == ()


@pytest.mark.parametrize("status", ["registered", "unknown"])
def test_other_statuses_are_ignored_with_their_codes(status):
    record = read(obs(status=status))
    assert record.observations == ()
    (issue,) = record.issues
    assert (issue.ref, issue.kind, issue.codes[0].code) == ("Observation/o1", "ignored", "2160-0")


def test_codes_and_date_as_written_ignoring_the_time_zone():
    observation = one(effectiveDateTime="2025-11-03T23:30:00-10:00")
    assert observation.codes == (Coding(LOINC, "2160-0", "Creatinine"),)
    assert observation.date == date(2025, 11, 3)


@pytest.mark.parametrize(
    "fields, expected",
    [
        ({"effectivePeriod": {"start": "2024-02"}}, date(2024, 2, 1)),
        ({"issued": "2024-03-05T10:00:00Z"}, date(2024, 3, 5)),
        ({"effectivePeriod": {"end": "2024-02-10"}, "issued": "2024"}, date(2024, 1, 1)),
    ],
    ids=["period-start", "issued", "period-without-start"],
)
def test_date_falls_back_to_period_start_then_issued(fields, expected):
    observation = read({k: v for k, v in obs().items() if k != "effectiveDateTime"} | fields).observations[0]
    assert observation.date == expected


@pytest.mark.parametrize("fields", [{}, {"effectiveDateTime": None}, {"effectivePeriod": {"end": "2024-02-10"}}],
                         ids=["absent", "null", "period-without-start"])
def test_an_undated_result_is_an_ignored_issue_with_its_codes(fields):
    """Found by tests/fhir/test_hostile_bundles.py: an undated LVEF made INC-LVEF say "no LVEF"."""
    record = read({k: v for k, v in obs().items() if k != "effectiveDateTime"} | fields)
    assert record.observations == ()
    [issue] = record.issues
    assert issue.kind == "ignored" and "cannot be placed in a screening window" in issue.message
    assert issue.ref.startswith("Observation/") and issue.codes


def test_quantity_ucum_code_wins_over_free_text_unit():
    observation = one(valueQuantity={"value": 88.4, "unit": "micromol/L", "system": UCUM, "code": "umol/L"})
    assert (observation.value, observation.unit) == (88.4, "umol/L")


def test_quantity_without_ucum_keeps_the_free_text_unit():
    observation = one(valueQuantity={"value": 1.2, "unit": "mg/dL"})
    assert (observation.value, observation.unit) == (1.2, "mg/dL")


def test_a_value_with_a_comparator_is_not_a_number():
    observation = one(valueQuantity={"value": 20, "comparator": "<", "unit": "copies/mL"})
    assert (observation.value, observation.text, observation.unit) == (None, "<20", "copies/mL")


def test_integer_boolean_string_concept_and_ratio_values():
    assert one(valueInteger=3).value == 3.0
    assert one(valueBoolean=False).value_bool is False
    assert one(valueString="1:160").text == "1:160"
    assert one(valueRatio={"numerator": {"value": 1}, "denominator": {"value": 160}}).ratio == (1, 160)
    concept = one(valueCodeableConcept={"coding": [{"system": "http://snomed.info/sct", "code": "10828004"}],
                                        "text": "Positive"})
    assert (concept.value_codes[0].code, concept.text) == ("10828004", "Positive")


def test_interpretation_reference_range_and_performer():
    observation = one(
        interpretation=[{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
                                     "code": "H"}]}],
        referenceRange=[{"low": {"value": 0.5}, "high": {"value": 1.1}}, {"high": {"value": 9}}],
        performer=[{"reference": "Practitioner/dr-li", "display": "Dr Li"}],
    )
    assert observation.interpretation == ("H",)
    assert (observation.ref_low, observation.ref_high) == (0.5, 1.1)
    assert observation.performer == "Practitioner/dr-li"
    assert one(performer=[{"display": "Dr Li"}]).performer == "Dr Li"


def test_components_carry_their_codes_and_values():
    sledai = "urn:trialdesk:sledai-2k"
    observation = one(
        code={"coding": [{"system": "urn:trialdesk:assessment", "code": "sledai-2k"}]},
        component=[
            {"code": {"coding": [{"system": sledai, "code": "arthritis"}]}, "valueBoolean": True},
            {"code": {"coding": [{"system": sledai, "code": "fever"}]}, "valueBoolean": False},
            {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
             "valueQuantity": {"value": 120, "system": UCUM, "code": "mm[Hg]"}},
        ],
    )
    assert observation.components == (
        Component((Coding(sledai, "arthritis"),), value_bool=True),
        Component((Coding(sledai, "fever"),), value_bool=False),
        Component((Coding(LOINC, "8480-6"),), value=120, unit="mm[Hg]"),
    )


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"status": 1}, "Expected `str`, got `int` - at `$.entry[1].resource.status`"),
        ({"valueQuantity": {"value": "1.2"}},
         "Expected `float | null`, got `str` - at `$.entry[1].resource.valueQuantity.value`"),
        ({"effectiveDateTime": "2025-02-30"},
         "unparseable date '2025-02-30' - at `$.entry[1].resource.effectiveDateTime`"),
        ({"effectiveDateTime": "03/11/2025"},
         "unparseable date '03/11/2025' - at `$.entry[1].resource.effectiveDateTime`"),
        ({"code": {"text": "creatinine"}},
         "no coding with a system and code (text 'creatinine') - at `$.entry[1].resource.code.coding`"),
        ({"valueRatio": {"numerator": {"value": 1}}},
         "a ratio needs a numerator and a denominator value - at `$.entry[1].resource.valueRatio`"),
        ({"component": [{"valueBoolean": True}]},
         "Object missing required field `code` - at `$.entry[1].resource.component[0]`"),
    ],
    ids=["status-int", "value-string", "impossible-date", "date-format", "text-only-code", "half-ratio",
         "component-no-code"],
)
def test_malformed_observations_are_located_issues_and_the_rest_is_read(fields, message):
    good = obs(id="good", valueQuantity={"value": 1.0, "system": UCUM, "code": "mg/dL"})
    record = read(obs(id="bad", **fields), good)
    assert [o.ref for o in record.observations] == ["Observation/good"]
    (issue,) = record.issues
    assert (issue.ref, issue.kind, issue.message) == ("Observation/bad", "malformed", message)


def test_a_malformed_observation_keeps_the_codes_it_had():
    record = read(obs(valueQuantity={"value": "high"}))
    assert record.issues[0].codes == (Coding(LOINC, "2160-0", "Creatinine"),)


def test_an_observation_without_code_is_malformed():
    bad = {k: v for k, v in obs().items() if k != "code"}
    (issue,) = read(bad).issues
    assert issue.message == "Object missing required field `code` - at `$.entry[1].resource`"
