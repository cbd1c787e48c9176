"""Shared fixtures: the shipped protocol, and screening a built bundle."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from trialdesk.engine.screen import Screening, screen
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.patient.fhir.builder import PatientBuilder
from trialdesk.protocol.load import load

SHARED = Path(__file__).resolve().parents[2] / "shared"
AS_OF = date(2026, 3, 2)


@pytest.fixture(scope="session")
def protocol():
    return load()


def run_screen(protocol, patient: PatientBuilder, cohort: str | None = None, **dates) -> Screening:
    """Serialise the builder's bundle to bytes and screen it, as the CLI does."""
    record = read_bundle(json.dumps(patient.bundle()).encode(), f"{patient.pid}.json")
    return screen(protocol, record, dates.pop("as_of", patient.as_of), cohort=cohort, **dates)


def outcomes(screening: Screening, cohort: str) -> dict[str, dict]:
    """criterion id -> its JSON result, for one cohort."""
    result = next(r for r in screening.to_json()["results"] if r["cohort"] == cohort)
    return {c["id"]: c for c in result["criteria"]}
