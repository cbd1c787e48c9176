"""Hostile and broken bundles through the reader and through ``trialdesk screen`` (in-process).

The strategies live with the engine's (``tests/engine/strategies.py``): its corrupted bundles
(random deletions, wrong types, invalid dates and units, duplicate ids, unknown types, nesting),
and, added for these tests, evidence fields of the wrong JSON type, huge strings, and bytes or
JSON that are no bundle at all. The properties:

- the reader returns a record or raises :class:`InputError` naming the file; nothing else;
- every data issue is located (``Type/id`` or ``Type/#n``) and says why;
- a criterion whose only evidence is a malformed resource is never ``pass``, and the issue
  names that resource;
- the CLI exits 0 with strict JSON, or 2 with ``file: reason`` on stderr; it never crashes.
"""

from __future__ import annotations

import copy
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from engine.strategies import (AS_OF, ELIGIBLE, EXAMPLES, NOT_BUNDLES, WRONG_TYPES, corrupted_bundles, example,
                               huge_strings, malformed_evidence)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from trialdesk.cli import app
from trialdesk.engine.screen import screen
from trialdesk.errors import InputError
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.load import load

PROTOCOL = load()
FAST = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))
LOCATED = re.compile(r"^[A-Z][A-Za-z]*/(#\d+|\S+)$|^Bundle")


def _outcomes(result: dict, criterion: str) -> list[str]:
    return [c["outcome"] for r in result["results"] for c in r["criteria"] if c["id"] == criterion]


def _is_well_located(issue: dict) -> bool:
    return bool(LOCATED.match(issue["resource"])) and bool(issue["message"].strip())


# -- the reader ------------------------------------------------------------------------------

@FAST
@given(case=malformed_evidence())
def test_a_criterion_whose_only_evidence_is_malformed_never_passes(case):
    name, criterion, ids, bundle, how = case
    record = read_bundle(json.dumps(bundle).encode(), "hostile.json")
    result = screen(PROTOCOL, record, AS_OF).to_json("hostile.json")
    outcomes = _outcomes(result, criterion)
    assert outcomes and "pass" not in outcomes, (name, criterion, how)
    issues = result["data_issues"]
    assert all(_is_well_located(i) for i in issues), issues
    named = {i["resource"] for i in issues}
    assert any(f"Observation/{i}" in named for i in ids), (how, named)


@st.composite
def with_huge_strings(draw: st.DrawFn) -> tuple[bytes, str, str]:
    """(bytes, resource reference, field): one string field of one resource made 10k to 300k characters."""
    bundle = example(draw(st.sampled_from(sorted(ELIGIBLE))))
    observations = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Observation"
                    and "valueQuantity" in e["resource"]]
    target = draw(st.sampled_from(observations))
    field = draw(st.sampled_from(["id", "status", "effectiveDateTime", "unit"]))
    huge = draw(huge_strings())
    ref = f"Observation/{target['id']}"
    if field == "unit":
        target["valueQuantity"]["unit"] = target["valueQuantity"]["code"] = huge
    else:
        target[field] = huge
    return json.dumps(bundle).encode(), ref, field


@settings(max_examples=12, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(case=with_huge_strings())
def test_huge_strings_are_read_or_refused_and_located(case):
    data, ref, field = case
    try:
        record = read_bundle(data, "huge.json")
    except InputError as error:
        assert error.source == "huge.json" and error.message, field
        return
    result = screen(PROTOCOL, record, AS_OF).to_json("huge.json")
    json.dumps(result, allow_nan=False)
    issues = result["data_issues"]
    assert all(_is_well_located(i) for i in issues)
    if field != "id":  # a huge status, date or unit is not a reading: the issue names the resource
        assert ref in {i["resource"] for i in issues}, (field, issues)


@FAST
@given(data=NOT_BUNDLES)
def test_anything_that_is_not_a_bundle_is_an_input_error_naming_the_file(data):
    try:
        read_bundle(data, "odd.json")
    except InputError as error:
        assert error.source == "odd.json" and error.message.strip() and str(error).startswith("odd.json: ")


# -- trialdesk screen, in-process ---------------------------------------------------------------

RUNNER = CliRunner()


def run_cli(data: bytes, *extra: str):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.json"
        path.write_bytes(data)
        result = RUNNER.invoke(app, ["screen", str(path), "--as-of", AS_OF.isoformat(), "--format", "json", *extra])
    return result


def _check_cli(result) -> dict | None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 2), (result.exit_code, result.output[-500:])
    if result.exit_code == 2:
        assert "input.json" in result.stderr and result.stderr.strip(), result.stderr
        return None
    obj = json.loads(result.stdout)
    json.dumps(obj, allow_nan=False)
    return obj


@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(case=st.one_of(corrupted_bundles().map(lambda c: c[0]), NOT_BUNDLES),
       cohort=st.sampled_from([[], ["--cohort", "SLE"], ["--cohort", "SRNS"]]))
def test_the_screen_command_never_crashes_on_broken_input(case, cohort):
    obj = _check_cli(run_cli(case, *cohort))
    if obj is not None:
        assert all(_is_well_located(i) for i in obj["data_issues"]), obj["data_issues"]


@settings(max_examples=20, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(case=malformed_evidence())
def test_the_screen_command_never_passes_on_malformed_evidence(case):
    name, criterion, ids, bundle, how = case
    obj = _check_cli(run_cli(json.dumps(bundle).encode()))
    assert obj is not None, how
    outcomes = _outcomes(obj, criterion)
    assert outcomes and "pass" not in outcomes, (name, criterion, how)


@settings(max_examples=10, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(st.one_of(corrupted_bundles().map(lambda c: c[0]), NOT_BUNDLES), min_size=2, max_size=4))
def test_a_folder_of_broken_files_gives_one_line_per_file(files):
    """A batch: exit 0 if every file was screened, 1 if some could not be read; one JSON line per
    file in name order, each a screening or ``{"file", "error"}``."""
    with tempfile.TemporaryDirectory() as folder:
        names = [f"b{i}.json" for i in range(len(files))]
        for name, data in zip(names, files):
            (Path(folder) / name).write_bytes(data)
        result = RUNNER.invoke(app, ["screen", folder, "--as-of", AS_OF.isoformat(), "--format", "jsonl"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [Path(line["file"]).name for line in lines] == names
    errors = [line for line in lines if "error" in line]
    assert all(e["error"].strip() for e in errors)
    assert result.exit_code == (1 if errors else 0), (result.exit_code, errors)


@lru_cache(maxsize=1)
def _failing_evidence() -> list[tuple[str, str, tuple[str, ...]]]:
    """(example, criterion, evidence refs) for every criterion an example fails."""
    out = []
    for path in sorted(EXAMPLES.glob("*.json")):
        result = screen(PROTOCOL, read_bundle(path.read_bytes(), path.name), AS_OF).to_json(path.name)
        out += [(path.stem, c["id"], tuple(e["resource"] for e in c["evidence"]))
                for r in result["results"] for c in r["criteria"] if c["outcome"] == "fail" and c["evidence"]]
    return out


@st.composite
def malformed_failing_evidence(draw: st.DrawFn) -> tuple[str, str, dict, str]:
    """An example with every resource behind one failing criterion given a field of the wrong type."""
    name, criterion, refs = draw(st.sampled_from(_failing_evidence()))
    bundle = example(name)
    resources = [e["resource"] for e in bundle["entry"] if f"{e['resource']['resourceType']}/{e['resource'].get('id')}"
                 in refs]
    field = draw(st.sampled_from(sorted({k for r in resources for k in r} - {"resourceType", "id"})))
    wrong = draw(WRONG_TYPES.filter(lambda v: not isinstance(v, type(resources[0].get(field)))))
    for r in resources:
        if field in r:
            r[field] = copy.deepcopy(wrong)
    return name, criterion, bundle, f"{field}={wrong!r}"[:200]


@FAST
@given(case=malformed_failing_evidence())
def test_a_failing_criterion_never_turns_pass_when_its_evidence_is_malformed(case):
    """Found by this test: a drug or vaccine whose code could not be read let EXC-BCELL-THERAPY and
    EXC-LIVE-VACCINE pass ("no record of ..."); such a record now makes them unknown."""
    name, criterion, bundle, how = case
    result = screen(PROTOCOL, read_bundle(json.dumps(bundle).encode(), "x.json"), AS_OF).to_json("x.json")
    outcomes = _outcomes(result, criterion)
    assert outcomes and "pass" not in outcomes, (name, criterion, how)
