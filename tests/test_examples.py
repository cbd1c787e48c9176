"""The committed example patients: rebuilt by examples/build.py, and each screens to the
verdict its name says (on 2026-03-02, the README's date), because of its one change only."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from conftest import AS_OF
from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BENIGN = {"pass", "not_applicable"}

#: file stem -> (cohort found from the diagnoses, overall, the one criterion that is not benign, its outcome)
SINGLE_CHANGE = {
    "sle-eligible": ("SLE", "eligible", None, None),
    "srns-eligible": ("SRNS", "eligible", None, None),
    "sle-live-vaccine": ("SLE", "ineligible", "EXC-LIVE-VACCINE", "fail"),
    "srns-rituximab-2-weeks": ("SRNS", "ineligible", "EXC-BCELL-THERAPY", "fail"),
    "sle-lvef-54": ("SLE", "ineligible", "INC-LVEF", "fail"),
    "sle-stale-liver-tests": ("SLE", "incomplete", "INC-LIVER", "unknown"),
    "srns-hepatitis-b": ("SRNS", "ineligible", "EXC-HBV", "fail"),
    "srns-egfr-below-30": ("SRNS", "needs_review", "INC-RENAL", "review"),
    "sle-old-seizure": ("SLE", "needs_review", "EXC-CNS", "review"),
}


def _build_module():
    spec = importlib.util.spec_from_file_location("examples_build", EXAMPLES / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _screen(protocol, name: str, cohort: str | None = None) -> dict:
    path = EXAMPLES / f"{name}.json"
    record = read_bundle(path.read_bytes(), str(path))
    return screen(protocol, record, AS_OF, cohort=cohort).to_json(str(path))


def _criteria(result: dict) -> dict[str, dict]:
    return {c["id"]: c for c in result["criteria"]}


# -- the files are what the builder writes ------------------------------------------------

def test_committed_examples_equal_what_build_py_builds():
    build = _build_module()
    assert build.AS_OF == AS_OF
    built = build.build()
    committed = {p.name for p in EXAMPLES.glob("*.json")}
    assert committed == set(built), "a file is committed but not built, or built but not committed"
    for name, bundle in built.items():
        text = (EXAMPLES / name).read_text(encoding="utf-8")
        assert json.loads(text) == bundle, f"{name} differs from build.py: run python examples/build.py"
        assert text == json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", f"{name}: formatting drifted"


def test_every_example_has_an_expectation():
    assert {p.stem for p in EXAMPLES.glob("*.json")} == set(SINGLE_CHANGE) | {"patient-only"}


# -- each screens to the verdict its name says ----------------------------------------------

@pytest.mark.parametrize("name", sorted(SINGLE_CHANGE))
def test_example_verdict_and_only_its_change_matters(protocol, name):
    cohort, verdict, changed, outcome = SINGLE_CHANGE[name]
    result = _screen(protocol, name)
    assert [r["cohort"] for r in result["results"]] == [cohort], "cohort comes from the diagnoses"
    cohort_result = result["results"][0]
    assert cohort_result["overall"] == verdict
    criteria = _criteria(cohort_result)
    assert sorted(criteria) == sorted(c.id for c in protocol.for_cohort(cohort))
    not_benign = {cid: c["outcome"] for cid, c in criteria.items() if c["outcome"] not in BENIGN}
    assert not_benign == ({changed: outcome} if changed else {}), "only the named change may matter"
    assert result["data_issues"] == []


def test_live_vaccine_fails_until_it_leaves_the_4_week_window(protocol):
    vaccine = _criteria(_screen(protocol, "sle-live-vaccine")["results"][0])["EXC-LIVE-VACCINE"]
    assert vaccine["outcome"] == "fail"
    # given 10 days before 2026-03-02 (2026-02-20); in [as_of - 28 d, as_of] up to 2026-03-20
    assert vaccine["eligible_from"] == "2026-03-21"
    assert any("Immunization/" in json.dumps(e) for e in vaccine["evidence"])


def test_rituximab_fails_until_one_month_before_enrollment_has_passed(protocol):
    bcell = _criteria(_screen(protocol, "srns-rituximab-2-weeks")["results"][0])["EXC-BCELL-THERAPY"]
    assert bcell["outcome"] == "fail"
    # given 2026-02-16; enrollment defaults to as_of; 2026-03-17 - 1 month = 2026-02-17 is the first clean window
    assert bcell["eligible_from"] == "2026-03-17"


def test_stale_liver_tests_say_what_to_collect_and_when(protocol):
    liver = _criteria(_screen(protocol, "sle-stale-liver-tests")["results"][0])["INC-LIVER"]
    assert liver["outcome"] == "unknown"
    needed = {n["what"]: n["window"] for n in liver["needs"]}
    assert {"AST", "ALT"} <= set(needed), liver["needs"]
    for window in needed.values():  # 30-day freshness before 2026-03-02
        assert "2026-01-31" in window and "2026-03-02" in window
    assert "45 days old" in liver["reason"]


def test_lvef_54_fails_with_its_value(protocol):
    lvef = _criteria(_screen(protocol, "sle-lvef-54")["results"][0])["INC-LVEF"]
    assert lvef["outcome"] == "fail" and lvef["eligible_from"] is None
    assert [e["value"] for e in lvef["evidence"]] == [54.0]


def test_hepatitis_b_fails_on_hbsag_and_dna(protocol):
    hbv = _criteria(_screen(protocol, "srns-hepatitis-b")["results"][0])["EXC-HBV"]
    assert hbv["outcome"] == "fail"
    values = [e.get("value") for e in hbv["evidence"]]
    assert "positive" in values and 2.0e5 in values, "the positive HBsAg and the HBV DNA above range"


def test_egfr_below_30_goes_to_the_investigator_with_the_equation(protocol):
    renal = _criteria(_screen(protocol, "srns-egfr-below-30")["results"][0])["INC-RENAL"]
    assert renal["outcome"] == "review"
    assert "egfr-ckid-u25" in json.dumps(renal["evidence"]), "a 9-year-old: CKiD U25"


def test_old_seizure_goes_to_the_investigator_with_cl_3(protocol):
    cns = _criteria(_screen(protocol, "sle-old-seizure")["results"][0])["EXC-CNS"]
    assert cns["outcome"] == "review" and "CL-3" in cns["clarifications"]


def test_patient_only_has_no_cohort_and_is_incomplete_when_forced(protocol):
    found = _screen(protocol, "patient-only")
    assert found["results"] == []
    assert any("no diagnosis" in note for note in found["notes"])
    forced = _screen(protocol, "patient-only", cohort="SLE")["results"][0]
    assert forced["cohort"] == "SLE" and forced["overall"] == "incomplete"


@pytest.mark.parametrize("name", ["sle-eligible", "srns-eligible"])
def test_measurement_passes_say_until_when_they_hold(protocol, name):
    """A pass resting on a fresh measurement carries valid_until (protocol-language.md, Timeline hints)."""
    criteria = _criteria(_screen(protocol, name)["results"][0])
    for cid in ("INC-ECOG", "INC-LVEF", "INC-ECG", "INC-RENAL", "INC-LIVER", "INC-LUNG", "EXC-HBV", "EXC-HCV",
                "EXC-HIV", "EXC-SYPHILIS", "EXC-CMV"):
        assert criteria[cid]["outcome"] == "pass" and criteria[cid]["valid_until"], cid
    assert criteria["INC-LVEF"]["valid_until"] == "2026-03-20"  # LVEF of 2026-02-18 + 30 days


@pytest.mark.parametrize("name", ["sle-eligible", "srns-eligible"])
def test_renal_pass_shows_the_egfr_equation(protocol, name):
    """criteria.md, eGFR: show equation, inputs and value in the evidence, on a pass too."""
    renal = _criteria(_screen(protocol, name)["results"][0])["INC-RENAL"]
    assert renal["outcome"] == "pass"
    assert "egfr-ckid-u25" in json.dumps(renal["evidence"]), renal
