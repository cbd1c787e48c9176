"""Real-world FHIR R4 read in place from ../shared/data: screened without error, sensibly.

The 60 Synthea bundles are transaction Bundles of ordinary patients: none has SLE or
nephrotic syndrome, so none is assigned a cohort, and forcing one never makes them eligible.
The official HL7 examples, wrapped in one collection Bundle, must screen as well.
Skipped when the shared data folder is absent (e.g. a fresh clone without ../shared).
"""

from __future__ import annotations

import json
from functools import cache

import pytest

from conftest import AS_OF, SHARED
from trialdesk.engine.dates import completed_years
from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle

SYNTHEA = SHARED / "data" / "synthea_r4_bundles"
HL7 = SHARED / "data" / "hl7_fhir_r4_examples"
OUTCOMES = {"pass", "fail", "unknown", "review", "not_applicable"}
VERDICTS = {"eligible", "ineligible", "incomplete", "needs_review"}
ENTRY_CRITERION = {"SLE": "SLE-CLASSIFICATION", "SRNS": "SRNS-DIAGNOSIS"}

BUNDLES = sorted(SYNTHEA.glob("*.json")) if SYNTHEA.is_dir() else []
needs_synthea = pytest.mark.skipif(not BUNDLES, reason=f"shared Synthea bundles not found at {SYNTHEA}")
needs_hl7 = pytest.mark.skipif(not HL7.is_dir(), reason=f"shared HL7 examples not found at {HL7}")


@cache
def _record(path):
    return read_bundle(path.read_bytes(), path.name)


def _check_result(protocol, result: dict, cohort: str) -> None:
    ids = [c["id"] for c in result["criteria"]]
    assert sorted(ids) == sorted(c.id for c in protocol.for_cohort(cohort)), "every criterion exactly once"
    outcomes = [c["outcome"] for c in result["criteria"]]
    assert set(outcomes) <= OUTCOMES
    assert result["overall"] in VERDICTS


@needs_synthea
def test_all_sixty_bundles_are_there():
    assert len(BUNDLES) == 60


@needs_synthea
@pytest.mark.parametrize("path", BUNDLES, ids=[p.name.split("_")[0] + "_" + p.name.split("_")[1] for p in BUNDLES])
def test_synthea_bundle_screens_sensibly(protocol, path):
    record = _record(path)
    assert record.patient.id and record.patient.birth_date is not None

    found = screen(protocol, record, AS_OF).to_json(str(path))
    json.dumps(found, allow_nan=False)
    assert found["results"] == [], "no SLE or nephrotic syndrome: no cohort"
    assert any("no diagnosis for a cohort" in note for note in found["notes"])
    assert found["patient"]["id"] == record.patient.id
    assert isinstance(found["patient"]["age"], int) and 0 <= found["patient"]["age"] < 130

    for cohort, entry in ENTRY_CRITERION.items():
        forced = screen(protocol, record, AS_OF, cohort=cohort).to_json(str(path))
        assert [r["cohort"] for r in forced["results"]] == [cohort]
        result = forced["results"][0]
        _check_result(protocol, result, cohort)
        assert result["overall"] != "eligible"
        outcome = {c["id"]: c["outcome"] for c in result["criteria"]}
        assert outcome[entry] != "pass", f"{entry} passed without SLE/SRNS evidence"


@needs_synthea
def test_synthea_adults_get_an_egfr_on_their_latest_creatinine_date(protocol):
    """Synthea codes creatinine LOINC 38483-4 (data.md). Screened on the day of their latest
    creatinine (on AS_OF it is years old), adults get a CKD-EPI 2021 eGFR: INC-RENAL is decided."""
    decided = 0
    for path in BUNDLES:
        record = _record(path)
        dates = [o.date for o in record.observations
                 if o.date is not None and any(c.code == "38483-4" for c in o.codes)]
        if not dates or completed_years(record.patient.birth_date, max(dates)) < 18:
            continue
        result = screen(protocol, record, max(dates), cohort="SRNS").to_json()["results"][0]
        renal = next(c for c in result["criteria"] if c["id"] == "INC-RENAL")
        assert renal["outcome"] in {"pass", "review"}, (path.name, renal["reason"])
        decided += 1
    assert decided >= 10


@needs_hl7
def test_hl7_examples_in_a_collection_bundle_screen(protocol):
    resources = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(HL7.glob("*.json"))]
    assert any(r["resourceType"] == "Patient" and r["id"] == "example" for r in resources)
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}
    record = read_bundle(json.dumps(bundle).encode(), "hl7-examples.json")
    assert record.patient.id == "example"

    found = screen(protocol, record, AS_OF).to_json()
    assert found["results"] == []
    assert found["not_used"].get("Encounter") == 1, "a resource the protocol does not use is kept and counted"
    for issue in found["data_issues"]:  # e.g. observation-decimal has no coded code
        assert issue["resource"] and issue["message"]
    for cohort in ENTRY_CRITERION:
        result = screen(protocol, record, AS_OF, cohort=cohort).to_json()["results"][0]
        _check_result(protocol, result, cohort)
        assert result["overall"] != "eligible"


@needs_hl7
def test_hl7_patient_example_alone_is_read(protocol):
    record = read_bundle((HL7 / "patient-example.json").read_bytes(), "patient-example.json")
    result = screen(protocol, record, AS_OF, cohort="SLE").to_json()
    assert result["patient"] == {"id": "example", "age": 51, "sex": "male"}
    assert result["results"][0]["overall"] != "eligible"
