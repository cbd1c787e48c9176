"""SRNS cohort inclusion criteria at their edges, as criteria.md defines them.

Each scenario changes one thing in an otherwise-eligible SRNS patient
(scenarios_exc.srns_patient: tacrolimus since 2024-01-15 plus mycophenolate
2024-03-01..2025-06-30, UPCR 320 mg/mmol 6 days before screening on 2026-03-02).
"""

from __future__ import annotations

import pytest
from scenarios_exc import (
    ICD10,
    RXNORM,
    SNOMED,
    UPCR_MASS,
    UPCR_SI,
    biopsy_report,
    check,
    screen,
    srns_patient,
    without,
    without_drugs,
)


def test_baseline_srns_patient_meets_every_criterion(protocol):
    """criteria.md Outcomes: the unchanged scenario patient is eligible, every criterion pass or not_applicable."""
    results, overall = screen(protocol, srns_patient())
    assert overall == "eligible"
    assert {r["outcome"] for r in results.values()} <= {"pass", "not_applicable"}


# -- SRNS-AGE -------------------------------------------------------------------

@pytest.mark.parametrize("rule, birth, outcome", [
    ("age >= 3 in completed years: third birthday on the screening date", "2023-03-02", "pass"),
    ("age >= 3 in completed years: one day short of 3 years", "2023-03-03", "fail"),
    ("data.md Patient: year-month birth date -> earliest possible date (2023-03-01), age 3", "2023-03", "pass"),
    ("data.md Patient: year-month birth date -> earliest possible date (2023-04-01), age 2", "2023-04", "fail"),
    ("Outcomes: missing data never pass; no birth date -> unknown", None, "unknown"),
])
def test_srns_age(protocol, rule, birth, outcome):
    check(protocol, srns_patient(birth=birth), "SRNS-AGE", outcome)


# -- SRNS-DIAGNOSIS ---------------------------------------------------------------

def _steroid_dependent(p):
    without(p, "236381000").condition(SNOMED, "236382007", "Steroid-dependent nephrotic syndrome", "2022-02-01")


def _srns_in_remission(p):
    without(p, "236381000").condition(SNOMED, "236381000", "Steroid-resistant nephrotic syndrome", "2022-02-01",
                                      status="remission")


def _fsgs_pathology_only(p):
    without(p, "236381000", "N04.1").condition(SNOMED, "236403004", "Focal segmental glomerulosclerosis", "2022-03-10")


@pytest.mark.parametrize("rule, change, outcome", [
    ("SRNS diagnosis recorded -> pass (recorded, whatever its clinical status)", _srns_in_remission, "pass"),
    ("nephrotic syndrome (N04.1) recorded without steroid resistance -> fail",
     lambda p: without(p, "236381000"), "fail"),
    ("steroid-dependent nephrotic syndrome is not steroid resistance -> fail", _steroid_dependent, "fail"),
    ("no nephrotic syndrome diagnosis at all (biopsy pathology only) -> unknown", _fsgs_pathology_only, "unknown"),
])
def test_srns_diagnosis(protocol, rule, change, outcome):
    p = srns_patient()
    change(p)
    check(protocol, p, "SRNS-DIAGNOSIS", outcome)


# -- SRNS-MULTIDRUG -----------------------------------------------------------------

def upcr(value, unit, days=6, code=UPCR_MASS):
    """Replace the UPCR with one result."""
    def change(p):
        without(p, UPCR_SI).qty(code, value, unit, days)
    return change


def upcr_series(*points):
    """Replace the UPCR with a series of (g/g, days before screening)."""
    def change(p):
        without(p, UPCR_SI)
        for value, days in points:
            p.qty(UPCR_MASS, value, "g/g", days)
    return change


def history(*drugs, then=None):
    """Replace the steroid-sparing history with (rxnorm, name, start, end) statements; then apply ``then``."""
    def change(p):
        without_drugs(p)
        for code, name, start, end in drugs:
            p.drug(RXNORM, code, name, start, end, mg_per_day=3)
        if then:
            then(p)
    return change


def no_upcr(p):
    without(p, UPCR_SI)


TAC, CSA = ("42316", "tacrolimus"), ("3008", "cyclosporine")
MMF, RTX = ("68149", "mycophenolate mofetil"), ("121191", "rituximab")


@pytest.mark.parametrize("rule, change, outcome", [
    # path 1 (>= 12 months, >= 2 classes incl. a CNI): the latest UPCR within 30 days decides
    ("path 1 and latest UPCR 0.25 g/g > 0.2 -> pass", upcr(0.25, "g/g"), "pass"),
    ("path 1 and latest UPCR 0.2 g/g: complete remission (<= 0.2) -> fail", upcr(0.2, "g/g"), "fail"),
    ("Units: UPCR 200 mg/g = 0.2 g/g -> complete remission -> fail", upcr(200, "mg/g"), "fail"),
    ("Units: UPCR 250 mg/g = 0.25 g/g -> pass", upcr(250, "mg/g"), "pass"),
    ("CL-8: 22.6 mg/mmol x 8.84 = 0.1998 g/g -> complete remission -> fail",
     upcr(22.6, "mg/mmol", code=UPCR_SI), "fail"),
    ("CL-8: 22.7 mg/mmol x 8.84 = 0.2007 g/g > 0.2 -> pass", upcr(22.7, "mg/mmol", code=UPCR_SI), "pass"),
    ("CL-8: 21 mg/mmol (above IPNA's 20) is 0.186 g/g -> complete remission -> fail",
     upcr(21, "mg/mmol", code=UPCR_SI), "fail"),
    ("Units: a UPCR without a unit -> unknown, never a guess", upcr(2.5, ""), "unknown"),
    ("Freshness: UPCR dated exactly 30 days before screening still counts", upcr(2.5, "g/g", days=30), "pass"),
    ("Freshness: UPCR 31 days old -> no UPCR within 30 days -> unknown", upcr(2.5, "g/g", days=31), "unknown"),
    ("path 1 and no UPCR at all -> unknown", no_upcr, "unknown"),
    ("path 1 and relapse (UPCR 2.0 g/g) after a complete remission (0.15 g/g) -> pass",
     upcr_series((0.15, 200), (2.0, 6)), "pass"),
    ("path 1 span: first start 2025-03-02, exactly 12 months before screening -> path 1 -> pass",
     history((*TAC, "2025-03-02", None), (*MMF, "2025-03-02", "2025-09-01")), "pass"),
    ("path 1 span: 1 day short of 12 months -> only path 2 (CNI >= 3 months) -> review",
     history((*TAC, "2025-03-03", None), (*MMF, "2025-03-03", "2025-09-01")), "review"),
    ("path 1 needs 2 mechanism classes: two CNIs are one class -> only path 2 -> review",
     history((*CSA, "2023-01-01", "2024-01-01"), (*TAC, "2024-01-02", None)), "review"),
    ("path 1 needs >= 1 CNI: mycophenolate + rituximab over 2 years, no CNI -> neither path -> fail",
     history((*MMF, "2023-01-01", None), (*RTX, "2024-01-10", "2024-01-10")), "fail"),
    # path 2 only (a CNI >= 3 months): investigator's judgement
    ("only path 2 (tacrolimus 4 months) and latest UPCR > 0.2 -> review",
     history((*TAC, "2025-11-01", None)), "review"),
    ("path 2 edge: tacrolimus from 2025-12-02, exactly 3 months -> review",
     history((*TAC, "2025-12-02", None)), "review"),
    ("path 2 edge: tacrolimus from 2025-12-03, 1 day short of 3 months -> neither path -> fail",
     history((*TAC, "2025-12-03", None)), "fail"),
    ("only path 2 and latest UPCR 0.2 g/g (complete remission) -> fail",
     history((*TAC, "2025-11-01", None), then=upcr(0.2, "g/g")), "fail"),
    ("only path 2 and no UPCR within 30 days -> unknown", history((*TAC, "2025-11-01", None), then=no_upcr), "unknown"),
    # treatment history first
    ("no steroid-sparing history -> neither path -> fail", history(), "fail"),
    ("treatment history first: neither path -> fail even with no UPCR", history(then=no_upcr), "fail"),
    ("CL-14: tacrolimus ointment is not systemic, so no CNI -> neither path -> fail",
     history(("42316", "tacrolimus 0.1% topical ointment", "2023-01-01", None)), "fail"),
])
def test_srns_multidrug(protocol, rule, change, outcome):
    p = srns_patient()
    change(p)
    check(protocol, p, "SRNS-MULTIDRUG", outcome)


# -- SRNS-BIOPSY ---------------------------------------------------------------------

def pathology(system, code, display):
    def change(p):
        without(p, "N04.1").condition(system, code, display, "2022-03-10")
    return change


def mcd_report(p):
    without(p, "N04.1")
    biopsy_report(p, "44785005", "Minimal change disease", "2022-03-10")


@pytest.mark.parametrize("rule, change, outcome", [
    ("biopsy-proven MCD by SNOMED 44785005 -> pass", pathology(SNOMED, "44785005", "Minimal change disease"), "pass"),
    ("biopsy-proven MCD by ICD-10 N04.0 -> pass",
     pathology(ICD10, "N04.0", "Nephrotic syndrome, minor glomerular abnormality"), "pass"),
    ("biopsy-proven FSGS by SNOMED 236403004 -> pass",
     pathology(SNOMED, "236403004", "Focal segmental glomerulosclerosis"), "pass"),
    ("biopsy-proven FSGS by ICD-10 N04.1 -> pass", lambda p: p, "pass"),
    ("data.md: pathology DiagnosticReport conclusionCode MCD -> pass", mcd_report, "pass"),
    ("another pathology recorded: membranous N04.2 -> fail",
     pathology(ICD10, "N04.2", "Nephrotic syndrome, diffuse membranous glomerulonephritis"), "fail"),
    ("another pathology recorded: membranous SNOMED 77182004 -> fail",
     pathology(SNOMED, "77182004", "Membranous glomerulonephritis"), "fail"),
    ("another pathology recorded: IgA nephropathy -> fail", pathology(SNOMED, "236407003", "IgA nephropathy"), "fail"),
    ("no biopsy pathology recorded -> unknown", lambda p: without(p, "N04.1"), "unknown"),
])
def test_srns_biopsy(protocol, rule, change, outcome):
    p = srns_patient()
    change(p)
    check(protocol, p, "SRNS-BIOPSY", outcome)


# -- SRNS-COMORBID --------------------------------------------------------------------

@pytest.mark.parametrize("rule, system, code, display, outcome", [
    ("SLE recorded (SNOMED) -> review (investigator's decision)",
     SNOMED, "55464009", "Systemic lupus erythematosus", "review"),
    ("SLE recorded (ICD-10 M32.1) -> review", ICD10, "M32.1", "SLE with organ involvement", "review"),
    ("a disease not needing long-term immunosuppression (otitis media) -> pass",
     SNOMED, "65363002", "Otitis media", "pass"),
])
def test_srns_comorbid(protocol, rule, system, code, display, outcome):
    p = srns_patient()
    p.condition(system, code, display, "2020-06-01")
    check(protocol, p, "SRNS-COMORBID", outcome)


@pytest.mark.parametrize("criterion, change", [
    ("SRNS-AGE", lambda p: p.resources[0].pop("birthDate")),
    ("SRNS-DIAGNOSIS", _fsgs_pathology_only),
    ("SRNS-MULTIDRUG", no_upcr),
    ("SRNS-BIOPSY", lambda p: without(p, "N04.1")),
])
def test_unknown_says_what_to_collect(protocol, criterion, change):
    """Outcomes: an unknown 'says exactly which data' - its needs name what to collect."""
    p = srns_patient()
    change(p)
    got = check(protocol, p, criterion, "unknown", overall=None)
    assert got["needs"] and all(n["what"] for n in got["needs"])


def test_multidrug_shows_its_clarifications(protocol):
    """Clarifications CL-4, CL-7 (adequacy confirmed by the investigator), CL-8 (UPCR units), CL-14 (systemic only)."""
    got = check(protocol, srns_patient(), "SRNS-MULTIDRUG", "pass")
    assert {"CL-4", "CL-7", "CL-8", "CL-14"} <= set(got["clarifications"])
