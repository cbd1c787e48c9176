"""The ``trialdesk`` command as a user runs it: a subprocess on the example bundles.

Contract (the CLI issue): ``screen PATH...`` takes files and folders (every *.json, sorted by
name); json (one file) prints one object, jsonl one line per bundle in input order; exit 0
whenever screening ran, 2 for bad usage or a lone file that is not a FHIR bundle, 1 for a batch
in which some file was bad (its line is {"file", "error"}). ``calc`` exits 2 for missing or
impossible input; ``lint`` exits 0 on the shipped protocol.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
AS_OF = "2026-03-02"
_ENTRY = Path(sys.executable).with_name("trialdesk")
TRIALDESK = [str(_ENTRY)] if _ENTRY.exists() else [sys.executable, "-c", "from trialdesk.cli import main; main()"]

#: example -> [(cohort, overall)] on 2026-03-02, cohorts found from the diagnoses
VERDICTS = {
    "patient-only": [],
    "sle-eligible": [("SLE", "eligible")],
    "sle-live-vaccine": [("SLE", "ineligible")],
    "sle-lvef-54": [("SLE", "ineligible")],
    "sle-old-seizure": [("SLE", "needs_review")],
    "sle-stale-liver-tests": [("SLE", "incomplete")],
    "srns-egfr-below-30": [("SRNS", "needs_review")],
    "srns-eligible": [("SRNS", "eligible")],
    "srns-hepatitis-b": [("SRNS", "ineligible")],
    "srns-rituximab-2-weeks": [("SRNS", "ineligible")],
}
CRITERION_KEYS = {"id", "outcome", "reason", "evidence", "eligible_from", "valid_until"}


def trialdesk(*args: str | Path, columns: int = 200) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run([*TRIALDESK, *map(str, args)], capture_output=True, text=True, env=env, timeout=120)


def jsonl(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def assert_screening_object(obj: dict, protocol) -> None:
    assert {"file", "protocol", "patient", "as_of", "results", "data_issues"} <= set(obj)
    assert obj["protocol"]["id"] == "carnk-aid" and obj["protocol"]["version"] == protocol.version
    assert {"id", "age", "sex"} <= set(obj["patient"])
    for result in obj["results"]:
        assert {"cohort", "overall", "criteria"} <= set(result)
        ids = [c["id"] for c in result["criteria"]]
        assert sorted(ids) == sorted(c.id for c in protocol.for_cohort(result["cohort"])), "each id exactly once"
        for criterion in result["criteria"]:
            assert CRITERION_KEYS <= set(criterion)


@pytest.fixture(scope="module")
def batch():
    """The examples folder screened once, as jsonl."""
    return trialdesk("screen", EXAMPLES, "--as-of", AS_OF, "--format", "jsonl")


@pytest.fixture
def not_a_bundle(tmp_path) -> Path:
    path = tmp_path / "observation.json"
    path.write_text(json.dumps({"resourceType": "Observation", "id": "o1", "status": "final"}))
    return path


# -- screen: formats, order, folders -------------------------------------------------------

def test_jsonl_folder_is_every_json_sorted_by_name(batch, protocol):
    assert batch.returncode == 0, batch.stderr
    objs = jsonl(batch.stdout)
    assert [Path(o["file"]).stem for o in objs] == sorted(VERDICTS)
    for obj in objs:
        assert_screening_object(obj, protocol)
        assert obj["as_of"] == AS_OF
        assert [(r["cohort"], r["overall"]) for r in obj["results"]] == VERDICTS[Path(obj["file"]).stem]


def test_json_one_file_is_one_object(protocol):
    run = trialdesk("screen", EXAMPLES / "sle-eligible.json", "--as-of", AS_OF, "--format", "json")
    assert run.returncode == 0, run.stderr
    obj = json.loads(run.stdout)
    assert isinstance(obj, dict)
    assert_screening_object(obj, protocol)
    assert obj["patient"] == {"id": "sle-eligible", "age": 16, "sex": "female"}
    assert obj["results"][0]["overall"] == "eligible"


def test_json_several_files_keep_input_order(protocol):
    names = ["srns-hepatitis-b", "patient-only", "sle-eligible"]
    run = trialdesk("screen", *(EXAMPLES / f"{n}.json" for n in names), "--as-of", AS_OF, "--format", "json")
    assert run.returncode == 0, run.stderr
    objs = json.loads(run.stdout)
    assert [Path(o["file"]).stem for o in objs] == names


def test_jsonl_keeps_input_order_across_files_and_folders(tmp_path, protocol):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copy(EXAMPLES / "sle-lvef-54.json", folder / "b.json")
    shutil.copy(EXAMPLES / "srns-eligible.json", folder / "a.json")
    (folder / "notes.txt").write_text("not a bundle, and not *.json: ignored")
    run = trialdesk("screen", EXAMPLES / "srns-hepatitis-b.json", folder, EXAMPLES / "sle-eligible.json",
                    "--as-of", AS_OF, "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    objs = jsonl(run.stdout)
    assert [Path(o["file"]).name for o in objs] == ["srns-hepatitis-b.json", "a.json", "b.json", "sle-eligible.json"]
    assert [o["patient"]["id"] for o in objs] == ["srns-hepatitis-b", "srns-eligible", "sle-lvef-54", "sle-eligible"]


def test_table_is_the_default_and_lists_each_file_in_order():
    names = ["sle-live-vaccine", "srns-eligible"]
    run = trialdesk("screen", *(EXAMPLES / f"{n}.json" for n in names), "--as-of", AS_OF)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert out.index("sle-live-vaccine.json") < out.index("srns-eligible.json")
    assert "SLE: ineligible" in out and "SRNS: eligible" in out
    assert "EXC-LIVE-VACCINE" in out


# -- screen: options ---------------------------------------------------------------------------

def test_cohort_forces_exactly_that_cohort(protocol):
    run = trialdesk("screen", EXAMPLES / "patient-only.json", EXAMPLES / "sle-eligible.json",
                    "--as-of", AS_OF, "--cohort", "SRNS", "--format", "jsonl")
    assert run.returncode == 0, run.stderr
    for obj in jsonl(run.stdout):
        assert_screening_object(obj, protocol)
        assert [r["cohort"] for r in obj["results"]] == ["SRNS"]
        result = obj["results"][0]
        assert result["overall"] != "eligible"
        assert {c["id"]: c["outcome"] for c in result["criteria"]}["SRNS-DIAGNOSIS"] != "pass"


def test_patient_only_forced_into_sle_is_incomplete():
    run = trialdesk("screen", EXAMPLES / "patient-only.json", "--as-of", AS_OF, "--cohort", "SLE", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert [(r["cohort"], r["overall"]) for r in json.loads(run.stdout)["results"]] == [("SLE", "incomplete")]


@pytest.mark.parametrize("enrollment,outcome", [("2026-03-16", "fail"), ("2026-03-17", "pass")])
def test_enrollment_date_moves_the_b_cell_window(enrollment, outcome):
    run = trialdesk("screen", EXAMPLES / "srns-rituximab-2-weeks.json", "--as-of", AS_OF,
                    "--enrollment", enrollment, "--infusion", "2026-03-20", "--format", "json")
    assert run.returncode == 0, run.stderr
    obj = json.loads(run.stdout)
    assert obj["enrollment"] == enrollment and obj["infusion"] == "2026-03-20"
    criteria = {c["id"]: c for c in obj["results"][0]["criteria"]}
    assert criteria["EXC-BCELL-THERAPY"]["outcome"] == outcome


# -- screen: exit codes --------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "json", "jsonl"])
def test_a_lone_non_bundle_exits_2_naming_the_file(not_a_bundle, fmt):
    run = trialdesk("screen", not_a_bundle, "--as-of", AS_OF, "--format", fmt)
    assert run.returncode == 2
    assert str(not_a_bundle) in run.stderr and "Observation" in run.stderr, run.stderr


def test_a_lone_non_json_file_exits_2(tmp_path):
    path = tmp_path / "garbage.json"
    path.write_bytes(b"\x00\x01 this is not json")
    run = trialdesk("screen", path, "--as-of", AS_OF, "--format", "json")
    assert run.returncode == 2
    assert str(path) in run.stderr and "JSON" in run.stderr


def test_a_bad_file_in_a_batch_gives_its_error_line_and_exit_1(not_a_bundle, protocol):
    run = trialdesk("screen", EXAMPLES / "sle-eligible.json", not_a_bundle, EXAMPLES / "srns-eligible.json",
                    "--as-of", AS_OF, "--format", "jsonl")
    assert run.returncode == 1
    first, bad, last = jsonl(run.stdout)
    assert set(bad) == {"file", "error"} and bad["file"] == str(not_a_bundle) and bad["error"]
    assert_screening_object(first, protocol)
    assert_screening_object(last, protocol)
    assert [first["results"][0]["overall"], last["results"][0]["overall"]] == ["eligible", "eligible"]
    assert str(not_a_bundle) in run.stderr


def test_a_bad_file_in_a_json_batch_is_an_error_object(not_a_bundle):
    run = trialdesk("screen", not_a_bundle, EXAMPLES / "sle-eligible.json", "--as-of", AS_OF, "--format", "json")
    assert run.returncode == 1
    bad, good = json.loads(run.stdout)
    assert bad["file"] == str(not_a_bundle) and bad["error"]
    assert good["results"][0]["overall"] == "eligible"


def test_a_bad_file_in_a_table_batch_exits_1(not_a_bundle):
    run = trialdesk("screen", EXAMPLES / "sle-eligible.json", not_a_bundle, "--as-of", AS_OF)
    assert run.returncode == 1
    assert "SLE: eligible" in run.stdout and str(not_a_bundle) in run.stderr


@pytest.mark.parametrize("args", [
    ["--as-of", "2026-13-01"],
    ["--as-of", "02/03/2026"],
    ["--as-of", "today"],
    ["--enrollment", "2026-02-30"],
    ["--infusion", "soon"],
    ["--cohort", "RA"],
    ["--format", "xml"],
], ids=lambda a: " ".join(a))
def test_bad_usage_exits_2(args):
    run = trialdesk("screen", EXAMPLES / "sle-eligible.json", *args)
    assert run.returncode == 2, run.stdout
    assert args[0] in run.stderr
    assert run.stdout == ""


def test_missing_path_and_empty_folder_exit_2(tmp_path):
    run = trialdesk("screen", tmp_path / "nope.json", "--as-of", AS_OF)
    assert run.returncode == 2 and "nope.json" in run.stderr
    run = trialdesk("screen", tmp_path, "--as-of", AS_OF)
    assert run.returncode == 2 and "no *.json" in run.stderr


def test_the_largest_date_does_not_crash(tmp_path):
    bundle = json.loads((EXAMPLES / "sle-eligible.json").read_text())
    for entry in bundle["entry"]:  # drugs started late, so the day-by-day dose walk is short
        if "effectivePeriod" in entry["resource"]:
            entry["resource"]["effectivePeriod"]["start"] = "9999-12-01"
    path = tmp_path / "late.json"
    path.write_text(json.dumps(bundle))
    run = trialdesk("screen", path, "--as-of", "9999-12-31", "--format", "json")
    assert run.returncode in (0, 2), run.stderr[-300:]
    assert "Traceback" not in run.stderr


def test_a_deeply_nested_file_exits_2_naming_it(tmp_path):
    bundle = json.loads((EXAMPLES / "sle-eligible.json").read_text())
    bundle["entry"][6]["resource"]["extension"] = "__DEEP__"
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(bundle).replace('"__DEEP__"', "[" * 5000 + "]" * 5000))
    run = trialdesk("screen", path, "--as-of", AS_OF, "--format", "json")
    assert run.returncode in (0, 2), run.stderr[-300:]
    assert "Traceback" not in run.stderr


# -- calc ----------------------------------------------------------------------------------------

CALCULATIONS = {
    "egfr-ckd-epi-2021": (["creatinine=1.0mg/dL", "age=50", "sex=male"], 91.69),
    "egfr-ckid-u25": (["creatinine=62umol/L", "age=16", "sex=female", "height=158cm"], 89.07),
    "egfr-bedside-schwartz": (["creatinine=0.5mg/dL", "height=131cm"], 108.2),
    "prednisone-equivalent": (["drug=methylprednisolone", "dose=16mg"], 20.0),
    "sledai-2k": (["descriptors=arthritis,rash,low-complement,increased-dna-binding"], 10),
    "eular-acr-2019": (["ana=1:320", "items=acute-cutaneous-lupus,joint-involvement"], 12),
    "uln-ratio": (["value=120U/L", "uln=40U/L", "analyte=ast"], 3.0),
    "convert": (["value=88.4umol/L", "to=mg/dL", "analyte=creatinine"], 1.0),
    "crs-astct": (["fever=yes", "hypotension=one-vasopressor", "hypoxia=low-flow"], 3),
    "icans-astct": (["age=8", "capd=9", "consciousness=alert", "seizure=none", "motor-weakness=no",
                     "cerebral-edema=none"], 3),
    "ctcae-v5": (["term=alt", "value=120U/L", "uln=40U/L"], 1),
    "ipna-response": (["upcr=22.6mg/mmol", "albumin=32g/L"], 0),
}


def test_every_calculator_is_covered():
    from trialdesk.calculators.registry import CALCULATORS

    assert set(CALCULATORS) == set(CALCULATIONS)


@pytest.mark.parametrize("name", sorted(CALCULATIONS))
def test_calc_json(name):
    params, expected = CALCULATIONS[name]
    run = trialdesk("calc", name, *params, "--format", "json")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert {"name", "value", "unit", "inputs", "source"} <= set(out)
    assert out["name"] == name and out["unit"] and out["source"]
    assert out["value"] == pytest.approx(expected, rel=1e-3)
    assert set(out["inputs"]) >= {p.split("=")[0] for p in params} - {"analyte"}


def test_calc_text():
    run = trialdesk("calc", "egfr-ckd-epi-2021", "creatinine=1.0mg/dL", "age=50", "sex=male")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("egfr-ckd-epi-2021: 91.69") and "source:" in run.stdout


@pytest.mark.parametrize("args,mentions", [
    (["egfr-ckd-epi-2021", "age=50", "sex=male"], "creatinine"),                          # missing key
    (["egfr-ckd-epi-2021", "creatinine=1", "age=50", "sex=male"], "unit"),               # missing unit
    (["egfr-ckd-epi-2021", "creatinine=-1mg/dL", "age=50", "sex=male"], "creatinine"),   # impossible
    (["egfr-ckd-epi-2021", "creatinine=50mg/dL", "age=50", "sex=male"], "plausible"),    # umol/L typed as mg/dL
    (["egfr-ckd-epi-2021", "creatinine=1mg/dL", "age=10", "sex=male"], "18"),            # outside the equation
    (["egfr-ckd-epi-2021", "creatinine=1mg/dL", "age=50", "sex=x"], "sex"),
    (["egfr-ckid-u25", "creatinine=62umol/L", "age=16", "sex=female", "height=13m"], "height"),
    (["egfr-bedside-schwartz", "creatinine=0.5furlong", "height=131cm"], "furlong"),
    (["prednisone-equivalent", "drug=aspirin", "dose=10mg"], "aspirin"),
    (["sledai-2k", "descriptors=nonsense"], "nonsense"),
    (["eular-acr-2019", "ana=garbage", "items=fever"], "garbage"),
    (["uln-ratio", "value=120U/L", "uln=0U/L"], "uln"),
    (["convert", "value=1mg/dL", "to=kg", "analyte=creatinine"], "kg"),
    (["egfr-ckd-epi-2021", "creatinine=1mg/dL", "age=50", "sex=male", "extra=1"], "extra"),
    (["egfr-ckd-epi-2021", "creatinine1mg/dL", "age=50", "sex=male"], "key=value"),
    (["no-such-calculator", "x=1"], "no-such-calculator"),
], ids=lambda a: a if isinstance(a, str) else " ".join(a))
def test_calc_missing_or_impossible_input_exits_2(args, mentions):
    run = trialdesk("calc", *args, "--format", "json")
    assert run.returncode == 2, run.stdout
    assert run.stdout == ""
    assert run.stderr.startswith("error: ") and mentions in run.stderr, run.stderr


@pytest.mark.parametrize("args", [
    ["uln-ratio", "value=28U/L", "uln=1e-320U/L"],                            # ratio would be inf
    ["convert", "value=1e308mg/dL", "to=umol/L", "analyte=creatinine"],       # result would be inf
    ["egfr-ckd-epi-2021", "creatinine=0.001mg/dL", "age=50", "sex=male"],     # below any plausible creatinine
], ids=["uln-denormal", "convert-overflow", "creatinine-too-low"])
def test_calc_impossible_values_exit_2(args):
    run = trialdesk("calc", *args, "--format", "json")
    assert run.returncode == 2, run.stdout
    assert run.stderr.startswith("error: ")


# -- lint ----------------------------------------------------------------------------------------

def test_lint_passes_on_the_shipped_protocol(protocol):
    run = trialdesk("lint")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"carnk-aid {protocol.version}" in run.stdout and "0 error(s)" in run.stdout
    assert f"{len(protocol.criteria)} criteria" in run.stdout
