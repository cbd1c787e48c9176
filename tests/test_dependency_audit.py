"""Dependency audit: ``pip-audit`` (pinned in the ``test`` extra) over the installed environment.

pip-audit asks PyPI's JSON API for each installed ``name==version`` (``/pypi/NAME/VERSION/json``,
whose ``vulnerabilities`` come from the OSV/PyPA advisory database). When that service cannot be
reached, pip-audit marks every dependency "not found on PyPI and could not be audited" and still
prints "No known vulnerabilities found" with exit code 0. This test does not let that pass
silently:

- a known vulnerability in any dependency: **fail**, naming package, version, advisory and fix;
- some dependencies audited, others not: **fail**, naming the unaudited ones;
- none audited (the vulnerability service is unreachable, as on a machine whose only network
  is a package-index mirror): **skip** with that reason, shown in the test summary (``-rs``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class AuditOutcome:
    vulnerable: list[str]
    unaudited: list[str]
    audited: int


def classify(report: dict) -> AuditOutcome:
    """Sort pip-audit's JSON report (``-f json``) into vulnerable, unaudited and audited dependencies."""
    vulnerable, unaudited, audited = [], [], 0
    for dep in report["dependencies"]:
        if "skip_reason" in dep:
            unaudited.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        audited += 1
        for v in dep.get("vulns", []):
            fixed = ", ".join(v.get("fix_versions") or []) or "no fix released"
            vulnerable.append(f"{dep['name']} {dep['version']}: {v['id']} (fixed in {fixed})")
    return AuditOutcome(vulnerable, unaudited, audited)


def _dep(name: str, version: str, vulns: list | None = None, skip: str | None = None) -> dict:
    return {"name": name, "skip_reason": skip} if skip else {"name": name, "version": version, "vulns": vulns or []}


def test_classify_reads_vulnerabilities_and_unaudited_dependencies():
    report = {"dependencies": [
        _dep("jinja2", "3.1.2", [{"id": "GHSA-h5c8-rqwp-cp95", "fix_versions": ["3.1.3"], "aliases": []}]),
        _dep("msgspec", "0.22.0"),
        _dep("mystery", "1.0", skip="Dependency not found on PyPI and could not be audited: mystery (1.0)"),
    ], "fixes": []}
    outcome = classify(report)
    assert outcome.vulnerable == ["jinja2 3.1.2: GHSA-h5c8-rqwp-cp95 (fixed in 3.1.3)"]
    assert outcome.unaudited == ["mystery: Dependency not found on PyPI and could not be audited: mystery (1.0)"]
    assert outcome.audited == 2


def test_installed_dependencies_have_no_known_vulnerabilities():
    run = subprocess.run([sys.executable, "-m", "pip_audit", "--local", "--skip-editable", "--format", "json",
                          "--progress-spinner", "off", "--timeout", "30"],
                         capture_output=True, text=True, timeout=600)
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"pip-audit gave no report (exit {run.returncode}): {run.stderr.strip()[-2000:]}")
    outcome = classify(report)
    assert not outcome.vulnerable, "known vulnerabilities:\n" + "\n".join(outcome.vulnerable)
    if outcome.audited == 0 and outcome.unaudited:
        pytest.skip(f"pip-audit could not reach its vulnerability database (PyPI's /pypi/NAME/VERSION/json): "
                    f"none of the {len(outcome.unaudited)} installed dependencies was audited")
    assert not outcome.unaudited, "dependencies pip-audit could not audit:\n" + "\n".join(outcome.unaudited)
