"""Small hand-written bundles for the FHIR reader tests, and where the shared data lives."""

from __future__ import annotations

import json
from pathlib import Path

from trialdesk.patient.fhir import read_bundle
from trialdesk.patient.model import PatientRecord

#: Third-party test data, read in place (never copied into the project): ../shared/data.
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

PATIENT = {"resourceType": "Patient", "id": "p1", "gender": "female", "birthDate": "1990-05-17"}


def make_bundle(*resources: dict, patient: dict | None = PATIENT, type: str = "collection") -> bytes:
    """A Bundle of ``type`` holding the patient (if any) and then ``resources``."""
    entries = ([patient] if patient else []) + list(resources)
    return json.dumps(
        {"resourceType": "Bundle", "type": type, "entry": [{"resource": r} for r in entries]}
    ).encode()


def read(*resources: dict, **options) -> PatientRecord:
    """Read a bundle of the test patient and ``resources`` (options as for :func:`make_bundle`)."""
    return read_bundle(make_bundle(*resources, **options), "test.json")
