"""A second trial is a second protocol folder: no engine change (issue 2, item 1)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from trialdesk.patient.fhir.builder import SNOMED, PatientBuilder
from trialdesk.protocol.lint import lint
from trialdesk.protocol.load import default_path, load

REGISTRY = """Inclusion Criteria:
- Adults aged 18 years or older with heart failure;
- Left ventricular ejection fraction of at least 40%.
"""
PROTOCOL = """
id: demo-heart
version: "0.1"
title: A made-up heart-failure study, to show that a protocol is data
registry: registry.txt
measures:
  lvef: {label: LVEF, valueset: lvef, unit: "%", plausible: [5, 95]}
cohorts:
  HF:
    title: heart failure
    entry: {has: {condition: heart-failure, match: any}}
"""
CRITERIA = """
- id: AGE
  title: Adult
  type: inclusion
  cohorts: [HF]
  source: Adults aged 18 years or older with heart failure;
  rule: {pass_if: {ge: [age, 18]}}
- id: LVEF
  title: LVEF >= 40%
  type: inclusion
  cohorts: [HF]
  source: Left ventricular ejection fraction of at least 40%.
  rule: {pass_if: {ge: [{latest: lvef}, 40]}}
"""


def make_protocol(folder: Path) -> Path:
    (folder / "valuesets").mkdir(parents=True)
    (folder / "registry.txt").write_text(REGISTRY, encoding="utf-8")
    (folder / "protocol.yaml").write_text(PROTOCOL, encoding="utf-8")
    (folder / "criteria.yaml").write_text(CRITERIA, encoding="utf-8")
    shipped = default_path() / "valuesets"
    for name in ("measures.yaml", "conditions.yaml"):  # reuse the shipped code lists
        shutil.copy(shipped / name, folder / "valuesets" / name)
    return folder


def test_a_second_protocol_loads_and_screens_through_the_cli(tmp_path):
    folder = make_protocol(tmp_path / "demo-heart")
    protocol = load(folder)
    assert [c.id for c in protocol.criteria] == ["AGE", "LVEF"]
    assert not [w for w in lint(protocol) if w.severity == "error"]
    p = PatientBuilder("hf-1", "male", "1960-01-01", __import__("datetime").date(2026, 3, 2))
    p.condition(SNOMED, "84114007", "Heart failure", "2024-01-01")
    p.qty("10230-1", 38, "%", 3)
    bundle = tmp_path / "hf-1.json"
    bundle.write_text(json.dumps(p.bundle()), encoding="utf-8")
    run = subprocess.run([str(Path(sys.executable).with_name("trialdesk")), "screen", str(bundle), "--protocol",
                          str(folder), "--as-of", "2026-03-02", "--format", "json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["protocol"]["id"] == "demo-heart"
    (hf,) = result["results"]
    assert hf["cohort"] == "HF" and hf["overall"] == "ineligible"
    assert {c["id"]: c["outcome"] for c in hf["criteria"]} == {"AGE": "pass", "LVEF": "fail"}
