"""Builds the example FHIR R4 bundles in this folder (synthetic patients, no real data).

Run ``python examples/build.py`` after changing a patient; a test checks that the
committed files equal what this script writes. Every example is screened on
2026-03-02 (the README's command) and differs from an eligible patient in one
way, named in its file name.
"""

from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path

from trialdesk.patient.fhir.builder import CVX, ICD10, LOINC, RXNORM, SNOMED, PatientBuilder

AS_OF = date(2026, 3, 2)
HERE = Path(__file__).parent
TD = "urn:trialdesk:"


def day(days_before: int) -> str:
    return (AS_OF - timedelta(days=days_before)).isoformat()


class Patient(PatientBuilder):
    def __init__(self, pid: str, gender: str, birth: str) -> None:
        super().__init__(pid, gender, birth, AS_OF)


def common_screening(p: Patient, female_of_childbearing_potential: bool) -> None:
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


def sle_eligible() -> Patient:
    """16-year-old girl with refractory SLE, every criterion met."""
    p = Patient("sle-eligible", "female", "2009-06-15")
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


def srns_eligible() -> Patient:
    """9-year-old boy with multidrug-resistant FSGS, Lansky score instead of ECOG (CL-1)."""
    p = Patient("srns-eligible", "male", "2016-09-20")
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


def variants() -> dict[str, Patient]:
    """Each ineligible example changes one thing in an eligible patient."""
    out = {"sle-eligible": sle_eligible(), "srns-eligible": srns_eligible()}

    p = sle_eligible()
    p.pid = "sle-live-vaccine"
    p.vaccine("21", "varicella virus vaccine", 10)
    out["sle-live-vaccine"] = p

    p = srns_eligible()
    p.drug(RXNORM, "121191", "rituximab", day(14), day(14), mg_per_day=375)
    out["srns-rituximab-2-weeks"] = p

    p = sle_eligible()
    p.resources = [r for r in p.resources if r.get("code", {}).get("coding", [{}])[0].get("code") != "10230-1"]
    p.qty("10230-1", 54, "%", 12)
    out["sle-lvef-54"] = p

    p = sle_eligible()
    p.resources = [r for r in p.resources
                   if not (r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] in ("1920-8", "1742-6"))]
    p.qty("1920-8", 28, "U/L", 45, high=40)
    out["sle-stale-liver-tests"] = p

    p = srns_eligible()
    p.resources = [r for r in p.resources
                   if not (r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "5196-1")]
    p.result("5196-1", True, 5)
    p.qty("42595-9", 2.0e5, "[IU]/mL", 5, high=20)
    out["srns-hepatitis-b"] = p

    p = srns_eligible()
    p.resources = [r for r in p.resources
                   if not (r["resourceType"] == "Observation" and r["code"]["coding"][0]["code"] == "14682-9")]
    p.qty("14682-9", 420, "umol/L", 6)
    out["srns-egfr-below-30"] = p

    p = sle_eligible()
    p.condition(SNOMED, "91175000", "Seizure", "2025-08-01", status="resolved")
    out["sle-old-seizure"] = p

    p = Patient("patient-only", "female", "2014-05-05")
    out["patient-only"] = p
    for name, patient in out.items():
        patient.resources[0]["id"] = patient.pid = name
        for r in patient.resources[1:]:
            for key in ("subject", "patient", "individual"):
                if key in r:
                    r[key] = {"reference": f"Patient/{name}"}
    return out


def build() -> dict[str, dict]:
    return {f"{name}.json": copy.deepcopy(p.bundle()) for name, p in variants().items()}


def main() -> None:
    for name, bundle in build().items():
        (HERE / name).write_text(json.dumps(bundle, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
