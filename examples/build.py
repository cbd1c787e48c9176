"""Builds the example FHIR R4 bundles in this folder (synthetic patients, no real data).

Run ``python examples/build.py`` after changing a patient; a test checks that the
committed files equal what this script writes. Every example is screened on
2026-03-02 (the README's command) and differs from an eligible patient in one
way, named in its file name.
"""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path

from trialdesk.patient.fhir.builder import CVX, RXNORM, SNOMED, PatientBuilder
from trialdesk.patient.fhir.scenarios import sle_eligible, srns_eligible

AS_OF = date(2026, 3, 2)
HERE = Path(__file__).parent


def variants() -> dict[str, PatientBuilder]:
    """Each ineligible example changes one thing in an eligible patient."""
    out = {"sle-eligible": sle_eligible(), "srns-eligible": srns_eligible()}

    p = sle_eligible()
    p.pid = "sle-live-vaccine"
    p.vaccine("21", "varicella virus vaccine", 10)
    out["sle-live-vaccine"] = p

    p = srns_eligible()
    p.drug(RXNORM, "121191", "rituximab", p.day(14), p.day(14), mg_per_day=375)
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

    p = PatientBuilder("patient-only", "female", "2014-05-05", AS_OF)
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
