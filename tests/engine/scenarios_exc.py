"""Scenarios for the SRNS-inclusion and exclusion tests (criteria.md).

Every test starts from an otherwise-eligible SRNS patient (a copy of
``examples/build.py``'s ``srns_eligible``, screened on 2026-03-02) and changes
one thing. ``girl()`` is the same patient as a 14-year-old girl of
childbearing potential, for the pregnancy criteria. The builder has no method
for some resources; the functions below add them as raw FHIR R4 dicts.
"""

from __future__ import annotations

from datetime import date

from conftest import outcomes, run_screen
from trialdesk.patient.fhir.scenarios import srns_eligible
from trialdesk.patient.fhir.builder import ICD10, LOINC, RXNORM, SNOMED, TD, PatientBuilder

AS_OF = date(2026, 3, 2)
ATC = "http://www.whocc.no/atc"
VERDICT = {"pass": "eligible", "fail": "ineligible", "unknown": "incomplete", "review": "needs_review"}
# LOINC codes of the results the scenarios change
HBSAG, ANTI_HBC, HBV_DNA = "5196-1", "16933-4", "42595-9"
ANTI_HCV, HCV_RNA, HCV_RNA_QUAL = "16128-1", "11011-4", "11259-9"
HIV_AB, TREPONEMAL, RPR, CMV_DNA = "7918-6", "47236-5", "20507-0", "72493-0"
HCG_SERUM, HCG_URINE, NYHA = "2118-8", "2106-3", "88020-3"
UPCR_SI, UPCR_MASS = "34366-5", "2890-2"


def srns_patient(pid: str = "srns", sex: str = "male", birth: str | None = "2016-09-20") -> PatientBuilder:
    """A child with multidrug-resistant FSGS meeting every criterion on AS_OF (the shared SRNS scenario)."""
    return srns_eligible(AS_OF, pid, sex, birth)


def girl() -> PatientBuilder:
    """The SRNS patient as a 14-year-old girl of childbearing potential: negative serum hCG 3 days ago."""
    p = srns_patient("srns-girl", "female", "2011-09-20")
    p.result(HCG_SERUM, False, 3)
    p.attest("contraception-agreed", True)
    return p


def screen(protocol, p: PatientBuilder, **dates) -> tuple[dict[str, dict], str]:
    """(criterion id -> result JSON, overall verdict) of the SRNS cohort."""
    screening = run_screen(protocol, p, "SRNS", **dates)
    overall = next(r["overall"] for r in screening.to_json()["results"] if r["cohort"] == "SRNS")
    return outcomes(screening, "SRNS"), overall


def check(protocol, p: PatientBuilder, criterion: str, outcome: str, overall: str | None = "auto", **dates) -> dict:
    """Assert one criterion's outcome and the overall verdict; return the criterion's result.

    ``overall="auto"`` expects the verdict the outcome alone gives (the scenario
    changed nothing else); None skips the check (the change touches other criteria).
    """
    results, verdict = screen(protocol, p, **dates)
    got = results[criterion]
    assert got["outcome"] == outcome, f"{criterion}: {got['outcome']} ({got['reason']})"
    if overall is not None:
        assert verdict == (VERDICT[outcome] if overall == "auto" else overall), verdict
    return got


def without(p: PatientBuilder, *codes: str) -> PatientBuilder:
    """Remove the resources whose code, drug or vaccine code is one of ``codes``."""
    def coded(r: dict) -> set[str]:
        concept = r.get("code") or r.get("medicationCodeableConcept") or r.get("vaccineCode") or {}
        return {c.get("code") for c in concept.get("coding", [])}
    p.resources = [r for r in p.resources if r["resourceType"] == "Patient" or not coded(r) & set(codes)]
    return p


def without_drugs(p: PatientBuilder) -> PatientBuilder:
    """Remove every medication statement (the steroid-sparing history)."""
    p.resources = [r for r in p.resources if r["resourceType"] != "MedicationStatement"]
    return p


def _raw(p: PatientBuilder, rtype: str, body: dict, subject: str = "subject") -> dict:
    res = {"resourceType": rtype, "id": f"{rtype.lower()}-{len(p.resources)}",
           subject: {"reference": f"Patient/{p.pid}"}, **body}
    p.resources.append(res)
    return res


def concept(system: str, code: str, display: str) -> dict:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def procedure(p: PatientBuilder, code: str, display: str, when: str | None = None, *,
              start: str | None = None, end: str | None = None) -> dict:
    """A completed SNOMED procedure on ``when``, or over ``performedPeriod`` [start, end] (end open if None)."""
    period = {"start": start, **({"end": end} if end else {})}
    timing = {"performedDateTime": when} if when else {"performedPeriod": period}
    return _raw(p, "Procedure", {"status": "completed", "code": concept(SNOMED, code, display), **timing})


def condition(p: PatientBuilder, system: str, code: str, display: str, onset: str, status: str = "active",
              abated: str | None = None) -> dict:
    """A condition with a clinical status and, optionally, an abatement date."""
    c = p.condition(system, code, display, onset, status)
    if abated:
        c["abatementDateTime"] = abated
    return c


def allergy(p: PatientBuilder, system: str, code: str, display: str, *, criticality: str | None = None,
            severity: str | None = None, manifestation: tuple[str, str] = ("271807003", "Eruption of skin"),
            kind: str = "allergy", verification: str = "confirmed") -> dict:
    """An AllergyIntolerance with one reaction (default manifestation: skin eruption)."""
    reaction: dict = {"manifestation": [concept(SNOMED, *manifestation)]}
    if severity:
        reaction["severity"] = severity
    body = {"code": concept(system, code, display), "type": kind, "reaction": [reaction], "recordedDate": "2020-05-01",
            "verificationStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                "code": verification}]}}
    if criticality:
        body["criticality"] = criticality
    return _raw(p, "AllergyIntolerance", body, "patient")


def administration(p: PatientBuilder, system: str, code: str, display: str, when: str) -> dict:
    """A completed MedicationAdministration on one day."""
    return _raw(p, "MedicationAdministration", {"status": "completed", "effectiveDateTime": when,
                                                "medicationCodeableConcept": concept(system, code, display)})


def request(p: PatientBuilder, system: str, code: str, display: str, authored: str, valid_end: str) -> dict:
    """A completed MedicationRequest valid from ``authored`` to ``valid_end``."""
    return _raw(p, "MedicationRequest", {
        "status": "completed", "intent": "order", "authoredOn": authored,
        "medicationCodeableConcept": concept(system, code, display),
        "dispenseRequest": {"validityPeriod": {"start": authored, "end": valid_end}}})


def research_subject(p: PatientBuilder, study: str, start: str, end: str | None, status: str = "on-study") -> dict:
    """A ResearchSubject of ``study`` (identifier value) over [start, end] (end open if None)."""
    period = {"start": start, **({"end": end} if end else {})}
    return _raw(p, "ResearchSubject", {"status": status, "study": {"identifier": {"value": study}},
                                       "period": period}, "individual")


def biopsy_report(p: PatientBuilder, code: str, display: str, when: str) -> dict:
    """A renal pathology DiagnosticReport (LOINC 11526-1) with one SNOMED conclusion code."""
    return _raw(p, "DiagnosticReport", {"status": "final", "code": concept(LOINC, "11526-1", "Pathology study"),
                                        "effectiveDateTime": when, "conclusionCode": [concept(SNOMED, code, display)]})

