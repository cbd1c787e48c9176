"""Otherwise-eligible SLE patients for the inclusion-criterion tests (test_inclusion_*.py).

``sle_patient()`` is the eligible 16-year-old girl of ``examples/build.py``
(``sle_eligible``), built relative to any screening date so that windows can be
tested at month ends. A test changes one thing: ``without`` drops the resources
a scenario replaces, and the builder methods add the new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from conftest import outcomes, run_screen
from trialdesk.patient.fhir.scenarios import sle_eligible
from trialdesk.patient.fhir.builder import LOINC, RXNORM, SNOMED, UCUM, PatientBuilder

AS_OF = date(2026, 3, 2)
TD = "urn:trialdesk:"
NCIT = "http://ncicb.nci.nih.gov/xml/owl/EVS/Thesaurus.owl"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"

# LOINC / local codes of the measurements the eligible patient carries
LVEF, ECG, AST, ALT, TBIL_SI, TBIL_MASS = "10230-1", "8601-7", "1920-8", "1742-6", "14631-6", "1975-2"
SPO2, HCG_SERUM, HCG_URINE, HEIGHT, WEIGHT = "59408-5", "2118-8", "2106-3", "8302-2", "29463-7"
CREA_SI, CREA_MASS, EGFR_REPORTED = "14682-9", "2160-0", "98979-8"
ECOG, KARNOFSKY, ANA = "89247-1", "89243-0", "5048-4"
PREDNISOLONE, HCQ, MMF = "8638", "5521", "68149"


def window_30(as_of: date = AS_OF) -> tuple[str, str]:
    """The first and last day of the 30-day freshness window, as ISO dates."""
    return (as_of - timedelta(days=30)).isoformat(), as_of.isoformat()


def born(age: int, as_of: date = AS_OF, tomorrow: bool = False) -> str:
    """A birth date giving exactly ``age`` on ``as_of`` (birthday that day), or one
    day later (``tomorrow``: still ``age - 1`` on ``as_of``)."""
    birth = as_of.replace(year=as_of.year - age) + timedelta(days=1 if tomorrow else 0)
    return birth.isoformat()


def quantity(value: float, unit: str) -> dict:
    """A UCUM valueQuantity (or referenceRange bound)."""
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def _codes(resource: dict) -> set[str]:
    concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
    return {c.get("code") for c in concept.get("coding", [])}


class Patient(PatientBuilder):
    """PatientBuilder plus the few resources the inclusion tests need."""

    def without(self, *codes: str) -> Patient:
        """Drop the resources coded with any of ``codes`` (or of a resource type in ``codes``)."""
        self.resources = [self.resources[0]] + [
            r for r in self.resources[1:] if r["resourceType"] not in codes and not _codes(r) & set(codes)]
        return self

    def procedure(self, code: str, display: str, days_before: int) -> dict:
        return self._add("Procedure", {"status": "completed", "performedDateTime": self.day(days_before),
                                       "code": {"coding": [{"system": SNOMED, "code": code, "display": display}]}})

    def allergy(self, code: str, display: str, kind: str = "intolerance") -> dict:
        return self._add("AllergyIntolerance", {"type": kind, "recordedDate": self.day(200),
                                                "code": {"coding": [{"system": RXNORM, "code": code,
                                                                     "display": display}]}})

    def sledai(self, items: list[str], days_before: int, total: int | None = None) -> dict:
        res = self.assessment("sledai-2k", items, days_before)
        if total is not None:
            res["valueInteger"] = total
        return res


def sle_patient(as_of: date = AS_OF, gender: str = "female", birth: str | None = "2009-06-15") -> Patient:
    """Refractory SLE, every criterion met (the shared eligible SLE scenario), screened on ``as_of``."""
    return sle_eligible(as_of, "sle", gender, birth, cls=Patient)


@dataclass
class Screened:
    """One SLE screening: criterion results by id, the overall verdict, data issues."""

    criteria: dict[str, dict]
    overall: str
    data_issues: list[dict]

    def __getitem__(self, criterion_id: str) -> dict:
        return self.criteria[criterion_id]


def screen_sle(protocol, patient: PatientBuilder, **dates) -> Screened:
    """Screen ``patient`` for the SLE cohort (``as_of`` defaults to the builder's date)."""
    screening = run_screen(protocol, patient, "SLE", **dates)
    result = screening.to_json()
    overall = next(r["overall"] for r in result["results"] if r["cohort"] == "SLE")
    return Screened(outcomes(screening, "SLE"), overall, result["data_issues"])


def expect(screened: Screened, criterion_id: str, outcome: str) -> dict:
    """Assert one criterion's outcome and what it implies for the verdict (criteria.md, Outcomes):
    a ``fail`` makes the cohort ineligible; an ``unknown`` says what to collect and never
    lets the cohort be eligible."""
    result = screened[criterion_id]
    assert result["outcome"] == outcome, result["reason"]
    if outcome == "fail":
        assert screened.overall == "ineligible"
    if outcome == "unknown":
        assert result["needs"], "an unknown must say which data to collect"
        assert screened.overall != "eligible"
    return result


def cases(rows: list) -> list:
    """Parametrize rows whose test id is their first column, the rule they check."""
    out = []
    for row in rows:
        values, marks = (row.values, row.marks) if hasattr(row, "values") else (row, ())
        out.append(pytest.param(*values, marks=marks, id=values[0]))
    return out

