"""The protocol loader is strict and the linter catches what loads but is wrong.

Each case copies the shipped carnk-aid folder to tmp_path, edits one YAML file there, and
checks that ``load`` raises ProtocolValidationError naming the place (or that ``lint``
reports the problem). The shipped folder itself is never touched.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from conftest import SHARED
from trialdesk.errors import ProtocolError, ProtocolValidationError
from trialdesk.protocol.lint import lint
from trialdesk.protocol.load import default_path, load

#: criteria.md, "Criteria (stable ids)": the ids each cohort must be screened on.
COMMON = ["INC-CONSENT", "INC-SURVIVAL", "INC-ECOG", "INC-LVEF", "INC-ECG", "INC-RENAL", "INC-LIVER", "INC-LUNG",
          "INC-PREGNANCY-TEST", "INC-CONTRACEPTION"]
EXCLUSIONS = ["EXC-ALLERGY", "EXC-INFECTION", "EXC-HEART-FAILURE", "EXC-CARDIAC", "EXC-RRT", "EXC-HBV", "EXC-HCV",
              "EXC-HIV", "EXC-SYPHILIS", "EXC-CMV", "EXC-HERPES", "EXC-CNS", "EXC-MALIGNANCY", "EXC-IMMUNODEFICIENCY",
              "EXC-TRANSPLANT", "EXC-LIVE-VACCINE", "EXC-BCELL-THERAPY", "EXC-PREGNANT", "EXC-OTHER-TRIAL",
              "EXC-MAJOR-CONDITION", "EXC-LAB-SIGNIFICANT", "EXC-INVESTIGATOR"]
CONTRACT = {
    "SLE": COMMON + ["SLE-AGE", "SLE-CLASSIFICATION", "SLE-REFRACTORY", "SLE-SLEDAI", "SLE-NO-CNS", "SLE-NO-MAS"]
    + EXCLUSIONS,
    "SRNS": COMMON + ["SRNS-AGE", "SRNS-DIAGNOSIS", "SRNS-MULTIDRUG", "SRNS-BIOPSY", "SRNS-COMORBID"] + EXCLUSIONS,
}
CRITERIA_MD = SHARED / "protocol" / "criteria.md"


# -- the shipped protocol --------------------------------------------------------------------

def test_shipped_protocol_loads(protocol):
    assert protocol.id == "carnk-aid" and protocol.version
    assert set(protocol.cohorts) == {"SLE", "SRNS"}
    assert len(protocol.sha256) == 64


def test_shipped_protocol_lints_clean(protocol):
    assert lint(protocol) == []


@pytest.mark.parametrize("cohort", sorted(CONTRACT))
def test_each_cohort_has_exactly_the_criteria_of_criteria_md(protocol, cohort):
    ids = [c.id for c in protocol.for_cohort(cohort)]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == sorted(CONTRACT[cohort])


@pytest.mark.skipif(not CRITERIA_MD.exists(), reason="the shared contract is not beside the project")
def test_the_id_list_here_is_criteria_md():
    text = CRITERIA_MD.read_text(encoding="utf-8")
    section = text[text.index("## Criteria (stable ids)"):text.index("## Clarifications")]
    found: dict[str, list[str]] = {"common": [], "SLE": [], "SRNS": [], "exclusions": []}
    current = None
    for line in section.splitlines():
        if line.startswith("Common to both"):
            current = "common"
        elif line.startswith("SLE cohort"):
            current = "SLE"
        elif line.startswith("SRNS cohort"):
            current = "SRNS"
        elif line.startswith("Exclusions"):
            current = "exclusions"
        elif current and (m := re.match(r"\| ([A-Z]+(?:-[A-Z0-9]+)+) \|", line)):
            found[current].append(m.group(1))
    assert found["common"] == COMMON and found["exclusions"] == EXCLUSIONS
    for cohort in ("SLE", "SRNS"):
        assert COMMON + found[cohort] + EXCLUSIONS == CONTRACT[cohort]


# -- a copy to edit -------------------------------------------------------------------------

@pytest.fixture
def folder(tmp_path) -> Path:
    copy = tmp_path / "carnk-aid"
    shutil.copytree(default_path(), copy)
    return copy


def edit(folder: Path, name: str, change: Callable) -> None:
    """Load ``name`` (relative to the folder), let ``change`` mutate it, write it back."""
    path = folder / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def criterion(data: list, cid: str) -> dict:
    return next(c for c in data if c["id"] == cid)


def test_a_rewritten_copy_still_loads_and_lints_clean(folder):
    for name in ("protocol.yaml", "criteria.yaml", "valuesets/other.yaml"):
        edit(folder, name, lambda data: None)
    assert lint(load(folder)) == []


# -- the strict loader ---------------------------------------------------------------------------

def _unknown_criterion_key(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(colour="red"))


def _unknown_protocol_key(f):
    edit(f, "protocol.yaml", lambda d: d.update(sponsor="ACME"))


def _unknown_node_argument(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(
        rule={"pass_if": {"ge": [{"latest": {"measures": ["lvef"], "whithin": "P30D"}}, 55]}}))


def _unknown_code_system(f):
    edit(f, "valuesets/other.yaml", lambda d: d[0]["codes"][0].update(system="made-up-system"))


def _unknown_node(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(rule={"pass_if": {"approximately": [1, 2]}}))


def _unknown_bare_node(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "SLE-AGE").update(rule={"pass_if": {"ge": ["agee", 5]}}))


def _dangling_valueset(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "EXC-HERPES").update(
        rule={"fail_if": {"has": {"condition": "no-such-valueset", "within": "P12W"}}}))


def _dangling_measure_valueset(f):
    edit(f, "protocol.yaml", lambda d: d["measures"]["lvef"].update(valueset="no-such-valueset"))


def _dangling_measure(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(
        rule={"pass_if": {"ge": [{"latest": "no-such-measure"}, 55]}}))


def _measure_a_derived_node_reads_is_missing(f):
    # the EULAR/ACR node reads the measure 'eular-acr-2019' by its fixed id (found by an amendment
    # preview: such a protocol loaded, linted and then failed while screening an SLE candidate)
    edit(f, "protocol.yaml", lambda d: d["measures"].pop("eular-acr-2019"))


def _dangling_definition(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-PREGNANCY-TEST").update(applies_if={"ref": "no-such-def"}))


def _dangling_clarification(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(clarifications=["CL-99"]))


def _bad_window(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "EXC-LIVE-VACCINE").update(
        rule={"fail_if": {"has": {"immunization": "live-vaccine", "within": "P3X"}}}))


def _bad_anchor(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "EXC-LIVE-VACCINE").update(
        rule={"fail_if": {"has": {"immunization": "live-vaccine", "within": "P4W", "anchor": "birthday"}}}))


def _otherwise_not_last(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-RENAL")["rule"].append(
        {"when": {"lt": ["egfr", 15]}, "then": "fail"}))


def _no_otherwise(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-RENAL")["rule"].pop())


def _bad_outcome(f):
    edit(f, "criteria.yaml", lambda d: criterion(d, "INC-RENAL")["rule"][0].update(then="maybe"))


def _duplicate_criterion(f):
    edit(f, "criteria.yaml", lambda d: d.append(dict(criterion(d, "INC-LVEF"))))


def _duplicate_valueset(f):
    edit(f, "valuesets/other.yaml", lambda d: d.append(dict(d[0])))


REJECTED = {
    # case: (edit, text the error must contain)
    "unknown key in a criterion": (_unknown_criterion_key, "colour"),
    "unknown key in protocol.yaml": (_unknown_protocol_key, "sponsor"),
    "unknown key in a node": (_unknown_node_argument, "whithin"),
    "unknown code system": (_unknown_code_system, "made-up-system"),
    "unknown node": (_unknown_node, "approximately"),
    "unknown bare node": (_unknown_bare_node, "agee"),
    "dangling value set in a rule": (_dangling_valueset, "no-such-valueset"),
    "dangling value set of a measure": (_dangling_measure_valueset, "no-such-valueset"),
    "dangling measure": (_dangling_measure, "no-such-measure"),
    "measure read by a derived node missing": (_measure_a_derived_node_reads_is_missing, "eular-acr-2019"),
    "dangling definition": (_dangling_definition, "no-such-def"),
    "dangling clarification": (_dangling_clarification, "CL-99"),
    "bad window P3X": (_bad_window, "P3X"),
    "bad window anchor": (_bad_anchor, "birthday"),
    "otherwise not last": (_otherwise_not_last, "otherwise"),
    "no otherwise": (_no_otherwise, "otherwise"),
    "unknown outcome": (_bad_outcome, "maybe"),
    "duplicate criterion id": (_duplicate_criterion, "INC-LVEF"),
    "duplicate value set id": (_duplicate_valueset, "consent-research"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_strict_loader_rejects(folder, case):
    change, mentions = REJECTED[case]
    change(folder)
    with pytest.raises(ProtocolValidationError) as raised:
        load(folder)
    assert mentions in str(raised.value), str(raised.value)
    assert raised.value.where, "the error says where"


def test_error_names_the_criterion_and_step(folder):
    _otherwise_not_last(folder)
    with pytest.raises(ProtocolValidationError) as raised:
        load(folder)
    assert "INC-RENAL" in raised.value.where and "rule[2]" in raised.value.where


def test_unreadable_yaml_is_a_protocol_error(folder):
    (folder / "criteria.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    with pytest.raises(ProtocolError):
        load(folder)


# -- the linter ----------------------------------------------------------------------------------

def _lint_after(folder: Path, name: str, change: Callable) -> list:
    edit(folder, name, change)
    return lint(load(folder))


def test_lint_reports_a_source_not_in_the_registry(folder):
    found = _lint_after(folder, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(
        source="LVEF of at least 55 percent"))
    assert [(w.severity, w.where) for w in found] == [("error", "INC-LVEF")]
    assert "verbatim" in found[0].message


def test_lint_accepts_a_source_that_differs_only_in_whitespace(folder):
    found = _lint_after(folder, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(
        source=criterion(d, "INC-LVEF")["source"].replace(" ", "\n   ")))
    assert found == []


def test_lint_reports_an_empty_value_set(folder):
    found = _lint_after(folder, "valuesets/other.yaml", lambda d: d.append({"id": "nothing-here", "title": "Empty"}))
    assert any(w.severity == "error" and "nothing-here" in w.where and "empty" in w.message for w in found), found


def test_lint_reports_an_unused_value_set(folder):
    found = _lint_after(folder, "valuesets/other.yaml", lambda d: d.append({
        "id": "orphan", "title": "Used by nothing",
        "codes": [{"system": "snomed", "code": "91175000", "display": "Seizure"}]}))
    assert [(w.severity, w.where) for w in found] == [("warning", "valueset orphan")]
    assert "not used" in found[0].message


# -- lint on the command line --------------------------------------------------------------------

def _cli(*args: str | Path) -> subprocess.CompletedProcess:
    entry = Path(sys.executable).with_name("trialdesk")
    command = [str(entry)] if entry.exists() else [sys.executable, "-c", "from trialdesk.cli import main; main()"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=120)


def test_cli_lint_exits_1_on_lint_errors_and_2_when_it_cannot_load(folder):
    edit(folder, "criteria.yaml", lambda d: criterion(d, "INC-LVEF").update(source="not in the registry"))
    run = _cli("lint", folder)
    assert run.returncode == 1 and "INC-LVEF" in run.stdout and "1 error(s)" in run.stdout
    _dangling_clarification(folder)
    run = _cli("lint", folder)
    assert run.returncode == 2 and "CL-99" in run.stderr
