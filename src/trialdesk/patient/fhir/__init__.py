"""FHIR R4 ingestion: a patient's Bundle -> :class:`trialdesk.patient.model.PatientRecord`."""

from trialdesk.patient.fhir.bundle import read_bundle

__all__ = ["read_bundle"]
