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
    """A child with multidrug-resistant FSGS meeting every criterion on AS_OF (examples/build.py)."""
    p = PatientBuilder(pid, sex, birth, AS_OF)
    p.consent(10)
    p.attest("predicted-survival-12w", True)
    for code in ("no-major-condition", "labs-not-significant", "investigator-no-concern"):
        p.attest(code, True)
    p.qty("10230-1", 62, "%", 12)                                        # LVEF
    p.obs(LOINC, "8601-7", 12, valueCodeableConcept={"coding": [{"system": f"{TD}ecg", "code": "normal"}]})
    p.qty("1920-8", 28, "U/L", 5, high=40)                               # AST
    p.qty("1742-6", 22, "U/L", 5, high=40)                               # ALT
    p.qty("14631-6", 8.5, "umol/L", 5, high=21)                          # total bilirubin
    p.qty("59408-5", 98, "%", 5)                                         # SpO2
    for code in (HBSAG, ANTI_HBC, ANTI_HCV, HIV_AB, TREPONEMAL):
        p.result(code, False, 5)
    p.obs(LOINC, CMV_DNA, 5, valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260415000",
                                                               "display": "Not detected"}]})
    p.condition(SNOMED, "236381000", "Steroid-resistant nephrotic syndrome", "2022-02-01")
    p.condition(ICD10, "N04.1", "Nephrotic syndrome, focal and segmental glomerular lesions", "2022-03-10")
    p.qty("8302-2", 131, "cm", 6)
    p.qty("29463-7", 29, "kg", 6)
    p.qty("14682-9", 48, "umol/L", 6)                                    # creatinine
    p.obs(f"{TD}assessment", "lansky", 6, valueInteger=80)
    p.qty(UPCR_SI, 320, "mg/mmol", 6)                                    # 2.83 g/g
    p.drug(RXNORM, "42316", "tacrolimus", "2024-01-15", mg_per_day=3)
    p.drug(RXNORM, "68149", "mycophenolate mofetil", "2024-03-01", "2025-06-30", mg_per_day=600)
    return p


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

