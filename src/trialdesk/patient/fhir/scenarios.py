"""Eligible patients as FHIR scenarios: the examples, the tests and the demo start from these.

Each recipe builds (with ``cls``, a PatientBuilder or a subclass with more helpers) a patient
who meets every criterion of one cohort on ``as_of``
(recent results are dated relative to it, histories on fixed dates); a scenario
that tests one criterion changes one thing in it.
"""

from __future__ import annotations

from datetime import date

from trialdesk.patient.fhir.builder import ICD10, LOINC, RXNORM, SNOMED, TD, PatientBuilder

AS_OF = date(2026, 3, 2)


def common_screening(p: PatientBuilder, female_of_childbearing_potential: bool) -> None:
    """Everything both cohorts need, normal and fresh (SI units, as the site reports)."""
    p.consent(10)
    p.attest("predicted-survival-12w", True)
    for code in ("no-major-condition", "labs-not-significant", "investigator-no-concern"):
        p.attest(code, True)
    p.qty("10230-1", 62, "%", 12)                           # LVEF
    p.obs(LOINC, "8601-7", 12, valueCodeableConcept={"coding": [{"system": f"{TD}ecg", "code": "normal"}]})
    p.qty("1920-8", 28, "U/L", 5, high=40)                  # AST
    p.qty("1742-6", 22, "U/L", 5, high=40)                  # ALT
    p.qty("14631-6", 8.5, "umol/L", 5, high=21)             # total bilirubin, SI
    p.qty("59408-5", 98, "%", 5)                            # SpO2
    for code in ("5196-1", "16933-4", "16128-1", "7918-6", "47236-5"):  # HBsAg, anti-HBc, anti-HCV, HIV, syphilis
        p.result(code, False, 5)
    p.obs(LOINC, "72493-0", 5, valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260415000",
                                                                 "display": "Not detected"}]})  # CMV DNA
    if female_of_childbearing_potential:
        p.result("2118-8", False, 3)                        # serum hCG
        p.attest("contraception-agreed", True)


def sle_eligible(as_of: date = AS_OF, pid: str = "sle-eligible", gender: str | None = "female",
                 birth: str | None = "2009-06-15", cls: type[PatientBuilder] = PatientBuilder) -> PatientBuilder:
    """16-year-old girl with refractory SLE, every criterion met on ``as_of``."""
    p = cls(pid, gender, birth, as_of)
    common_screening(p, female_of_childbearing_potential=True)
    p.condition(SNOMED, "55464009", "Systemic lupus erythematosus", "2023-04-01")
    p.qty("8302-2", 158, "cm", 5)
    p.qty("29463-7", 50, "kg", 5)
    p.qty("14682-9", 62, "umol/L", 5)                       # creatinine, SI
    p.obs(LOINC, "89247-1", 5, valueInteger=1)             # ECOG
    p.obs(LOINC, "5048-4", 400, valueString="1:320")        # ANA titer
    p.assessment("eular-acr-2019", ["acute-cutaneous-lupus", "joint-involvement", "low-c3-and-c4",
                                    "anti-dsdna-or-anti-smith"], 400)
    p.assessment("sledai-2k", ["arthritis", "rash", "low-complement", "increased-dna-binding"], 5)
    p.drug(RXNORM, "8638", "prednisolone", "2025-01-10", mg_per_day=15)
    p.drug(RXNORM, "5521", "hydroxychloroquine", "2023-04-15", mg_per_day=200)
    p.drug(RXNORM, "68149", "mycophenolate mofetil", "2023-06-01", mg_per_day=1500)
    return p


def srns_eligible(as_of: date = AS_OF, pid: str = "srns-eligible", gender: str | None = "male",
                  birth: str | None = "2016-09-20", cls: type[PatientBuilder] = PatientBuilder) -> PatientBuilder:
    """9-year-old boy with multidrug-resistant FSGS, Lansky score instead of ECOG (CL-1)."""
    p = cls(pid, gender, birth, as_of)
    common_screening(p, female_of_childbearing_potential=False)
    p.condition(SNOMED, "236381000", "Steroid-resistant nephrotic syndrome", "2022-02-01")
    p.condition(ICD10, "N04.1", "Nephrotic syndrome, focal and segmental glomerular lesions", "2022-03-10")
    p.qty("8302-2", 131, "cm", 6)
    p.qty("29463-7", 29, "kg", 6)
    p.qty("14682-9", 48, "umol/L", 6)
    p.obs(f"{TD}assessment", "lansky", 6, valueInteger=80)
    p.qty("34366-5", 320, "mg/mmol", 6)                     # UPCR, SI: 2.83 g/g
    p.drug(RXNORM, "42316", "tacrolimus", "2024-01-15", mg_per_day=3)
    p.drug(RXNORM, "68149", "mycophenolate mofetil", "2024-03-01", "2025-06-30", mg_per_day=600)
    return p
