"""Properties of screening that must hold for every input, checked with Hypothesis.

- Demographics alone never make a patient eligible.
- A required measurement that is missing, stale or unreadable never lets its criterion pass.
- A corrupted bundle never crashes screening: it is an InputError (the envelope cannot be
  read) or a screening whose outcomes and verdicts follow criteria.md.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import AS_OF
from trialdesk.engine.screen import Screening, overall, screen
from trialdesk.errors import InputError
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.load import load

try:  # tests/engine is a plain folder today; keep working if it becomes a package
    from .strategies import (
        ELIGIBLE, INVALID_TIMES, OUTCOMES, corrupted_bundles, example as example_bundle, expected_overall,
        lost_measurements, patient_only_bundles, required_cases, without,
    )
except ImportError:
    from strategies import (
        ELIGIBLE, INVALID_TIMES, OUTCOMES, corrupted_bundles, example as example_bundle, expected_overall,
        lost_measurements, patient_only_bundles, required_cases, without,
    )

#: Loaded here rather than from the fixture, so Hypothesis's reports stay short.
PROTOCOL = load()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
COHORTS = ("SLE", "SRNS")


def screen_bytes(protocol, data: bytes, cohort: str | None = None, as_of: date = AS_OF) -> Screening:
    """Read and screen a document exactly as the CLI does."""
    return screen(protocol, read_bundle(data, "generated.json"), as_of, cohort=cohort)


def screen_dict(protocol, bundle: dict, cohort: str | None = None, as_of: date = AS_OF) -> dict:
    return screen_bytes(protocol, json.dumps(bundle).encode(), cohort, as_of).to_json("generated.json")


def assert_well_formed(protocol, result: dict, cohort: str | None) -> None:
    """The JSON result follows the contract whatever the data: ids, outcomes, verdicts."""
    # Serialisable; strictness (no Infinity token) is pinned by the deterministic tests
    # test_result_json_is_strict and test_an_overflowing_dose_keeps_the_json_strict.
    json.dumps(result, ensure_ascii=False)
    cohorts = [r["cohort"] for r in result["results"]]
    assert len(cohorts) == len(set(cohorts))
    if cohort is not None:
        assert cohorts == [cohort]
    for r in result["results"]:
        ids = [c["id"] for c in r["criteria"]]
        assert sorted(ids) == sorted(c.id for c in protocol.for_cohort(r["cohort"]))
        assert len(ids) == len(set(ids))
        outcomes = [c["outcome"] for c in r["criteria"]]
        assert set(outcomes) <= OUTCOMES, set(outcomes) - OUTCOMES
        assert r["overall"] == expected_overall(outcomes)
        for c in r["criteria"]:
            assert isinstance(c["reason"], str)
            if c["outcome"] == "unknown":
                assert c["reason"].strip(), f"{c['id']}: unknown without a reason"


# -- the verdict rule itself ----------------------------------------------------------

@given(st.lists(st.sampled_from(sorted(OUTCOMES)), max_size=12))
@settings(max_examples=100, deadline=None)
def test_overall_follows_criteria_md(outcomes):
    assert overall(outcomes) == expected_overall(outcomes)


# -- demographics alone -------------------------------------------------------------------

@given(bundle=patient_only_bundles(),
       as_of=st.dates(min_value=date(1950, 1, 1), max_value=date(2100, 12, 31)),
       cohort=st.sampled_from(COHORTS))
@example(bundle={"resourceType": "Bundle", "type": "collection",
                 "entry": [{"resource": {"resourceType": "Patient", "id": "p"}}]}, as_of=AS_OF, cohort="SLE")
@FAST
def test_patient_only_is_never_eligible(bundle, as_of, cohort):
    protocol = PROTOCOL
    forced = screen_dict(protocol, bundle, cohort, as_of)
    assert_well_formed(protocol, forced, cohort)
    assert forced["results"][0]["overall"] != "eligible"
    found = screen_dict(protocol, bundle, None, as_of)
    assert found["results"] == [] and found["notes"], "no diagnosis: no cohort, and a note saying so"


@given(bundle=patient_only_bundles(garbage=True), cohort=st.sampled_from(COHORTS))
@FAST
def test_patient_with_unreadable_demographics_is_screened_and_never_eligible(bundle, cohort):
    protocol = PROTOCOL
    result = screen_dict(protocol, bundle, cohort)
    assert_well_formed(protocol, result, cohort)
    assert result["results"][0]["overall"] != "eligible"


# -- required measurements ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ELIGIBLE))
def test_eligible_examples_are_the_baseline(protocol, name):
    result = screen_dict(protocol, example_bundle(name))
    assert [(r["cohort"], r["overall"]) for r in result["results"]] == [(ELIGIBLE[name], "eligible")]


@pytest.mark.parametrize("name,measurement", required_cases(),
                         ids=[f"{n}-{m.name.replace(' ', '-')}" for n, m in required_cases()])
def test_deleting_a_required_measurement_never_passes(protocol, name, measurement):
    cohort = ELIGIBLE[name]
    result = screen_dict(protocol, without(example_bundle(name), measurement), cohort)
    assert_well_formed(protocol, result, cohort)
    verdict = result["results"][0]
    criterion = next(c for c in verdict["criteria"] if c["id"] == measurement.criterion)
    assert criterion["outcome"] != "pass", criterion
    assert criterion["outcome"] == "unknown", criterion  # criteria.md: missing -> unknown
    assert verdict["overall"] != "eligible"


@given(case=lost_measurements())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_lost_measurement_never_passes(case):
    """Deleted, stale, future, cancelled, undated, unreadable, implausible or unit-less: never pass."""
    cohort = ELIGIBLE[case.example]
    result = screen_dict(PROTOCOL, case.bundle, cohort)
    assert_well_formed(PROTOCOL, result, cohort)
    verdict = result["results"][0]
    criterion = next(c for c in verdict["criteria"] if c["id"] == case.measurement.criterion)
    assert criterion["outcome"] != "pass", criterion
    assert verdict["overall"] != "eligible"


# -- corrupted bundles ------------------------------------------------------------------------

@given(case=corrupted_bundles(), cohort=st.sampled_from([None, *COHORTS]))
@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
def test_a_corrupted_bundle_never_crashes_screening(case, cohort):
    protocol = PROTOCOL
    data, mutations = case
    try:
        record = read_bundle(data, "corrupted.json")
    except InputError as error:
        assert error.source == "corrupted.json" and error.message, mutations
        return
    result = screen(protocol, record, AS_OF, cohort=cohort).to_json("corrupted.json")
    assert_well_formed(protocol, result, cohort)
    for issue in result["data_issues"]:
        assert issue["resource"] and issue["message"], issue


def _deeply_nested(depth: int) -> bytes:
    bundle = example_bundle("sle-eligible")
    bundle["entry"][6]["resource"]["extension"] = "__DEEP__"
    return json.dumps(bundle).replace('"__DEEP__"', "[" * depth + "]" * depth).encode()


def test_moderately_nested_resource_is_screened(protocol):
    result = screen_bytes(protocol, _deeply_nested(200)).to_json()
    assert_well_formed(protocol, result, None)


def test_very_deeply_nested_document_is_an_input_error_or_screened(protocol):
    try:
        result = screen_bytes(protocol, _deeply_nested(5000)).to_json()
    except InputError:
        return
    assert_well_formed(protocol, result, None)


# -- edge cases the properties found, pinned as plain regression tests ---------------------------

def _with_ast(value: float, uln: float) -> dict:
    bundle = example_bundle("sle-eligible")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource.get("code", {}).get("coding", [{}])[0].get("code") == "1920-8":
            resource["valueQuantity"]["value"] = value
            resource["referenceRange"][0]["high"]["value"] = uln
    return bundle


def _liver(result: dict) -> dict:
    return next(c for c in result["results"][0]["criteria"] if c["id"] == "INC-LIVER")


def test_an_impossible_uln_never_lets_liver_pass():
    result = screen_dict(PROTOCOL, _with_ast(5000, 1e9), "SLE")
    assert _liver(result)["outcome"] != "pass", _liver(result)["reason"]


def test_result_json_is_strict():
    result = screen_dict(PROTOCOL, _with_ast(28, 5e-324), "SLE")
    assert _liver(result)["outcome"] != "pass"
    json.dumps(result, allow_nan=False)


@pytest.mark.parametrize("when", INVALID_TIMES)
def test_an_invalid_datetime_is_a_data_issue(when):
    bundle = example_bundle("sle-eligible")
    lvef = next(e["resource"] for e in bundle["entry"] if e["resource"].get("id") == "observation-6")
    assert lvef["code"]["coding"][0]["code"] == "10230-1"
    lvef["effectiveDateTime"] = when
    result = screen_dict(PROTOCOL, bundle, "SLE")
    assert any(i["resource"] == "Observation/observation-6" for i in result["data_issues"])


def test_an_overflowing_dose_keeps_the_json_strict():
    bundle = example_bundle("sle-eligible")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "MedicationStatement" and "prednisolone" in json.dumps(resource):
            resource["dosage"][0]["doseAndRate"][0]["doseQuantity"]["value"] = 1e308
            resource["dosage"][0]["timing"]["repeat"]["frequency"] = 10
    result = screen_dict(PROTOCOL, bundle, "SLE")
    json.dumps(result, allow_nan=False)
