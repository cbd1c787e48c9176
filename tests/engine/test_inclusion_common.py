"""Inclusion criteria common to both cohorts, at the edges criteria.md fixes.

Every scenario is the eligible SLE patient of scenarios_inc.py with one thing
changed, screened on 2026-03-02. The first column of each table (``rule``)
names the criteria.md / data.md rule the row checks.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from scenarios_inc import (
    ALT, AS_OF, AST, CREA_MASS, CREA_SI, ECG, ECOG, EGFR_REPORTED, HCG_SERUM, HCG_URINE, HEIGHT, ICD10CM,
    KARNOFSKY, LVEF, NCIT, SPO2, TBIL_MASS, TBIL_SI, TD, born, cases, expect, quantity, screen_sle,
    sle_patient, window_30,
)
from trialdesk.patient.fhir.builder import ICD10, LOINC, SNOMED

# -- INC-CONSENT ----------------------------------------------------------------


@pytest.mark.parametrize("rule, status, scope, attested, outcome", cases([
    ("Consent status active, scope research -> pass", "active", "research", None, "pass"),
    ("attestation consent-signed = true -> pass", None, None, True, "pass"),
    ("attestation consent-signed = false is no consent -> unknown", None, None, False, "unknown"),
    ("Consent not active -> unknown", "inactive", "research", None, "unknown"),
    ("Consent scope not research -> unknown", "active", "patient-privacy", None, "unknown"),
    ("no Consent, no attestation -> unknown", None, None, None, "unknown"),
]))
def test_consent(protocol, rule, status, scope, attested, outcome):
    """criteria.md INC-CONSENT: an active research Consent or consent-signed = true; else unknown."""
    p = sle_patient().without("Consent")
    if status:
        consent = p.consent(10)
        consent["status"] = status
        consent["scope"]["coding"][0]["code"] = scope
    if attested is not None:
        p.attest("consent-signed", attested)
    expect(screen_sle(protocol, p), "INC-CONSENT", outcome)


# -- INC-SURVIVAL ----------------------------------------------------------------


@pytest.mark.parametrize("rule, attested, observation, outcome", cases([
    ("attestation predicted-survival-12w true -> pass", True, None, "pass"),
    ("attestation predicted-survival-12w false -> fail", False, None, "fail"),
    ("predicted-survival-weeks 12 wk (>= 12) -> pass", None, {"valueQuantity": quantity(12, "wk")}, "pass"),
    ("predicted-survival-weeks 11 wk (< 12) -> fail", None, {"valueQuantity": quantity(11, "wk")}, "fail"),
    pytest.param("data.md: predicted-survival-weeks as valueInteger 12 (weeks) -> pass", None, {"valueInteger": 12},
                 "pass"),
    ("neither -> unknown", None, None, "unknown"),
]))
def test_survival(protocol, rule, attested, observation, outcome):
    """criteria.md INC-SURVIVAL: the attestation, or predicted-survival-weeks >= 12; else unknown."""
    p = sle_patient().without("predicted-survival-12w")
    if attested is not None:
        p.attest("predicted-survival-12w", attested)
    if observation:
        p.obs(f"{TD}assessment", "predicted-survival-weeks", 3, **observation)
    expect(screen_sle(protocol, p), "INC-SURVIVAL", outcome)


# -- INC-ECOG (CL-1) -------------------------------------------------------------

ECOG_SCALE = (LOINC, ECOG)
KARNOFSKY_SCALE = (LOINC, KARNOFSKY)
LANSKY_LOCAL = (f"{TD}assessment", "lansky")
LANSKY_NCIT = (NCIT, "C38144")


@pytest.mark.parametrize("rule, scores, outcome", cases([
    ("ECOG 2 (<= 2) -> pass", [(ECOG_SCALE, {"valueInteger": 2}, 5)], "pass"),
    ("ECOG 3 (>= 3) -> fail", [(ECOG_SCALE, {"valueInteger": 3}, 5)], "fail"),
    ("data.md: ECOG as a concept whose text ends in the number ('ECOG grade 3') -> fail",
     [(ECOG_SCALE, {"valueCodeableConcept": {"text": "ECOG grade 3"}}, 5)], "fail"),
    ("CL-1: no ECOG, Karnofsky 50 -> pass", [(KARNOFSKY_SCALE, {"valueInteger": 50}, 5)], "pass"),
    ("CL-1: no ECOG, Karnofsky 40 -> fail", [(KARNOFSKY_SCALE, {"valueInteger": 40}, 5)], "fail"),
    ("CL-1: no ECOG, Lansky 50 -> pass", [(LANSKY_LOCAL, {"valueInteger": 50}, 5)], "pass"),
    ("CL-1: no ECOG, Lansky 40 -> fail", [(LANSKY_LOCAL, {"valueInteger": 40}, 5)], "fail"),
    ("CL-1: Lansky coded NCIt C38144 (data.md) 50 -> pass", [(LANSKY_NCIT, {"valueInteger": 50}, 5)], "pass"),
    ("an ECOG present decides: ECOG 3 with Karnofsky 80 -> fail",
     [(ECOG_SCALE, {"valueInteger": 3}, 5), (KARNOFSKY_SCALE, {"valueInteger": 80}, 5)], "fail"),
    ("CL-1: the latest of either scale decides: Karnofsky 40 (10 days), Lansky 60 (3 days) -> pass",
     [(KARNOFSKY_SCALE, {"valueInteger": 40}, 10), (LANSKY_LOCAL, {"valueInteger": 60}, 3)], "pass"),
    ("no ECOG, Karnofsky or Lansky -> unknown", [], "unknown"),
]))
def test_ecog(protocol, rule, scores, outcome):
    """criteria.md INC-ECOG: latest ECOG <= 2; without ECOG, the latest Karnofsky or Lansky >= 50 (CL-1)."""
    p = sle_patient().without(ECOG)
    for (system, code), value, days_before in scores:
        p.obs(system, code, days_before, **value)
    expect(screen_sle(protocol, p), "INC-ECOG", outcome)


# -- INC-LVEF, INC-ECG -------------------------------------------------------------


@pytest.mark.parametrize("rule, lvefs, outcome", cases([
    ("LVEF 55 (>= 55) -> pass", [(55, 12)], "pass"),
    ("LVEF 54 (< 55) -> fail", [(54, 12)], "fail"),
    ("LVEF 54.9 (< 55) -> fail", [(54.9, 12)], "fail"),
    ("the latest LVEF decides: 62 twenty days ago, 54 three days ago -> fail", [(62, 20), (54, 3)], "fail"),
    ("LVEF missing -> unknown", [], "unknown"),
]))
def test_lvef(protocol, rule, lvefs, outcome):
    """criteria.md INC-LVEF: latest LVEF >= 55 pass, < 55 fail, missing unknown."""
    p = sle_patient().without(LVEF)
    for value, days_before in lvefs:
        p.qty(LVEF, value, "%", days_before)
    expect(screen_sle(protocol, p), "INC-LVEF", outcome)


@pytest.mark.parametrize("rule, impression, outcome", cases([
    ("ECG normal -> pass", "normal", "pass"),
    ("ECG abnormal-not-significant -> pass", "abnormal-not-significant", "pass"),
    ("ECG abnormal-significant -> fail", "abnormal-significant", "fail"),
    ("ECG missing -> unknown", None, "unknown"),
]))
def test_ecg(protocol, rule, impression, outcome):
    """criteria.md INC-ECG: latest impression normal / abnormal-not-significant pass, abnormal-significant fail."""
    p = sle_patient().without(ECG)
    if impression:
        p.obs(LOINC, ECG, 12, valueCodeableConcept={"coding": [{"system": f"{TD}ecg", "code": impression}]})
    expect(screen_sle(protocol, p), "INC-ECG", outcome)


# -- Freshness (criteria.md "Dates and windows") -----------------------------------

# measurement (as named in `needs`), the criterion resting on it, its code, how to add it N days before as_of
FRESHNESS = cases([
    ("LVEF", "INC-LVEF", LVEF, lambda p, d: p.qty(LVEF, 62, "%", d)),
    ("ECG", "INC-ECG", ECG, lambda p, d: p.obs(LOINC, ECG, d, valueCodeableConcept={
        "coding": [{"system": f"{TD}ecg", "code": "normal"}]})),
    ("ECOG", "INC-ECOG", ECOG, lambda p, d: p.obs(LOINC, ECOG, d, valueInteger=1)),
    ("SpO2", "INC-LUNG", SPO2, lambda p, d: p.qty(SPO2, 98, "%", d)),
    ("AST", "INC-LIVER", AST, lambda p, d: p.qty(AST, 28, "U/L", d, high=40)),
    ("creatinine", "INC-RENAL", CREA_SI, lambda p, d: p.qty(CREA_SI, 62, "umol/L", d)),
])


@pytest.mark.parametrize("measure, criterion, code, add", FRESHNESS)
def test_measurement_exactly_30_days_old_counts(protocol, measure, criterion, code, add):
    """criteria.md: the latest value dated within 30 days before as_of counts (closed interval);
    the pass lasts until the value goes stale (valid_until = its date + 30)."""
    p = sle_patient().without(code)
    add(p, 30)
    result = expect(screen_sle(protocol, p), criterion, "pass")
    assert result["valid_until"] == AS_OF.isoformat()


@pytest.mark.parametrize("measure, criterion, code, add", FRESHNESS)
def test_measurement_31_days_old_is_unknown(protocol, measure, criterion, code, add):
    """criteria.md: older values -> unknown ("latest X is N days old"); needs names what and when."""
    p = sle_patient().without(code)
    add(p, 31)
    result = expect(screen_sle(protocol, p), criterion, "unknown")
    assert "31 days old" in result["reason"]
    first, last = window_30()
    assert any(measure.lower() in n["what"].lower() and first in (n["window"] or "") and last in (n["window"] or "")
               for n in result["needs"]), result["needs"]


def test_valid_until_is_as_of_plus_remaining_freshness(protocol):
    """criteria.md freshness 30 days: an LVEF 12 days old keeps INC-LVEF passing 18 more days."""
    result = expect(screen_sle(protocol, sle_patient()), "INC-LVEF", "pass")
    assert result["valid_until"] == (AS_OF + timedelta(days=18)).isoformat()


def test_valid_until_follows_the_oldest_lab_it_rests_on(protocol):
    """criteria.md freshness: INC-LIVER rests on AST, ALT and TBIL; ALT 20 days old expires first."""
    p = sle_patient().without(ALT)
    p.qty(ALT, 22, "U/L", 20, high=40)
    result = expect(screen_sle(protocol, p), "INC-LIVER", "pass")
    assert result["valid_until"] == (AS_OF + timedelta(days=10)).isoformat()


# -- INC-RENAL and eGFR (criteria.md "eGFR") ---------------------------------------
# Expected eGFRs, computed by hand from the published equations:
#   CKiD U25 (Pierce 2021), girl 16 y, 158 cm: K = 36.1 x 1.023^4 = 39.54; eGFR = K x 1.58 / Scr[mg/dL]
#   CKD-EPI 2021, woman 30 y: 142 x (Scr/0.7)^-1.200 x 0.9938^30 x 1.012
CHILD, ADULT = "2009-06-15", born(30)


@pytest.mark.parametrize("rule, birth, code, value, unit, outcome", cases([
    ("CKiD U25: 184 umol/L -> eGFR 30.01 -> pass", CHILD, CREA_SI, 184, "umol/L", "pass"),
    ("CKiD U25: same creatinine in mg/dL (184 / 88.4) -> pass", CHILD, CREA_MASS, 2.0814, "mg/dL", "pass"),
    ("CKiD U25: 185 umol/L -> eGFR 29.85 -> review", CHILD, CREA_SI, 185, "umol/L", "review"),
    ("CKiD U25: same creatinine in mg/dL (185 / 88.4) -> review", CHILD, CREA_MASS, 2.0928, "mg/dL", "review"),
    ("CKD-EPI 2021: 195 umol/L -> eGFR 30.08 -> pass", ADULT, CREA_SI, 195, "umol/L", "pass"),
    ("CKD-EPI 2021: same creatinine in mg/dL (195 / 88.4) -> pass", ADULT, CREA_MASS, 2.2059, "mg/dL", "pass"),
    ("CKD-EPI 2021: 196 umol/L -> eGFR 29.89 -> review", ADULT, CREA_SI, 196, "umol/L", "review"),
    ("CKD-EPI 2021: same creatinine in mg/dL (196 / 88.4) -> review", ADULT, CREA_MASS, 2.2172, "mg/dL", "review"),
]))
def test_egfr_from_creatinine(protocol, rule, birth, code, value, unit, outcome):
    """criteria.md eGFR / INC-RENAL: CKiD U25 below 18, CKD-EPI 2021 from 18, either creatinine unit;
    eGFR >= 30 pass, < 30 review."""
    p = sle_patient(birth=birth).without(CREA_SI)
    p.qty(code, value, unit, 5)
    expect(screen_sle(protocol, p), "INC-RENAL", outcome)


def _egfr_evidence(result: dict) -> dict | None:
    return next((e for e in result["evidence"] if "equation" in e and "inputs" in e), None)


@pytest.mark.parametrize("rule, creatinine, outcome, egfr", cases([
    ("criteria.md eGFR: evidence on a review", 185, "review", 29.9),
    pytest.param("criteria.md eGFR: evidence on a pass", 62, "pass", 89.1),
]))
def test_egfr_evidence_shows_equation_inputs_and_value(protocol, rule, creatinine, outcome, egfr):
    """criteria.md eGFR: "Show equation, inputs and value in the evidence"."""
    p = sle_patient().without(CREA_SI)
    p.qty(CREA_SI, creatinine, "umol/L", 5)
    shown = _egfr_evidence(expect(screen_sle(protocol, p), "INC-RENAL", outcome))
    assert shown is not None
    assert "ckid" in shown["derived"].lower() and shown["result"] == pytest.approx(egfr, abs=0.1)


@pytest.mark.parametrize("rule, birth, height_days_before, outcome", cases([
    ("CKiD U25: height 90 days before the creatinine counts", CHILD, 95, "pass"),
    ("CKiD U25: height 91 days before the creatinine -> unknown", CHILD, 96, "unknown"),
    ("CKiD U25: no height -> unknown", CHILD, None, "unknown"),
    ("age 17 (18th birthday tomorrow) -> CKiD U25, no height -> unknown", born(18, tomorrow=True), None, "unknown"),
    ("age 18 today -> CKD-EPI 2021 needs no height -> pass", born(18), None, "pass"),
]))
def test_egfr_height_for_children(protocol, rule, birth, height_days_before, outcome):
    """criteria.md eGFR: age < 18 -> CKiD U25 with the height nearest the creatinine (5 days
    before as_of) and within 90 days of it, else unknown; age >= 18 -> CKD-EPI 2021."""
    p = sle_patient(birth=birth).without(HEIGHT)
    if height_days_before is not None:
        p.qty(HEIGHT, 158, "cm", height_days_before)
    result = expect(screen_sle(protocol, p), "INC-RENAL", outcome)
    if outcome == "unknown":
        assert any("height" in n["what"] for n in result["needs"]), result["needs"]


@pytest.mark.parametrize("rule, creatinine, reported, outcome", cases([
    ("no creatinine: reported eGFR 30 -> pass", None, 30, "pass"),
    ("no creatinine: reported eGFR 29.9 -> review", None, 29.9, "review"),
    ("creatinine (eGFR 89) wins over a reported eGFR 20 -> pass", 62, 20, "pass"),
    ("creatinine (eGFR 29.85) wins over a reported eGFR 60 -> review", 185, 60, "review"),
    ("no creatinine and no eGFR -> unknown", None, None, "unknown"),
]))
def test_reported_egfr_only_without_creatinine(protocol, rule, creatinine, reported, outcome):
    """criteria.md eGFR: use a reported eGFR only if no creatinine is available."""
    p = sle_patient().without(CREA_SI)
    if creatinine is not None:
        p.qty(CREA_SI, creatinine, "umol/L", 5)
    if reported is not None:
        p.qty(EGFR_REPORTED, reported, "mL/min/{1.73_m2}", 5)
    expect(screen_sle(protocol, p), "INC-RENAL", outcome)


def test_creatinine_without_unit_is_unknown(protocol):
    """criteria.md Units: a missing unit on a value that needs one -> unknown, never a guess."""
    p = sle_patient().without(CREA_SI)
    p.obs(LOINC, CREA_SI, 5, valueQuantity={"value": 62})
    expect(screen_sle(protocol, p), "INC-RENAL", "unknown")


@pytest.mark.parametrize("rule, add, outcome", cases([
    ("haemodialysis 30 days before as_of -> review",
     lambda p: p.procedure("302497006", "Hemodialysis", 30), "review"),
    ("haemodialysis 31 days before as_of: outside INC-RENAL's window (EXC-RRT judges it, CL-2) -> pass",
     lambda p: p.procedure("302497006", "Hemodialysis", 31), "pass"),
    ("peritoneal dialysis on as_of -> review",
     lambda p: p.procedure("71192002", "Peritoneal dialysis", 0), "review"),
    ("active dialysis dependence Z99.2 -> review",
     lambda p: p.condition(ICD10, "Z99.2", "Dependence on renal dialysis", p.day(200)), "review"),
]))
def test_dialysis_window(protocol, rule, add, outcome):
    """criteria.md INC-RENAL: dialysis in the 30 days before as_of -> review, whatever the eGFR."""
    p = sle_patient()
    add(p)
    expect(screen_sle(protocol, p), "INC-RENAL", outcome)


def test_dialysis_without_creatinine_is_unknown(protocol):
    """criteria.md INC-RENAL: no creatinine/eGFR -> unknown (CL-12: even with dialysis recorded)."""
    p = sle_patient().without(CREA_SI)
    p.procedure("302497006", "Hemodialysis", 3)
    result = expect(screen_sle(protocol, p), "INC-RENAL", "unknown")
    assert any("creatinine" in n["what"] for n in result["needs"]), result["needs"]


# -- INC-LIVER (criteria.md "Units and reference ranges") ---------------------------

NORMAL_LIVER = {AST: (28, "U/L", 40), ALT: (22, "U/L", 40), TBIL_SI: (8.5, "umol/L", 21)}


@pytest.mark.parametrize("rule, labs, outcome", cases([
    ("AST 120 U/L = 3.0 x ULN 40 -> pass", {AST: (120, "U/L", 40)}, "pass"),
    ("AST 121 U/L = 3.03 x ULN -> fail", {AST: (121, "U/L", 40)}, "fail"),
    ("ALT 120 U/L = 3.0 x ULN 40 -> pass", {ALT: (120, "U/L", 40)}, "pass"),
    ("ALT 121 U/L = 3.03 x ULN -> fail", {ALT: (121, "U/L", 40)}, "fail"),
    ("TBIL 42 umol/L = 2.0 x ULN 21 -> pass", {TBIL_SI: (42, "umol/L", 21)}, "pass"),
    ("TBIL 42.1 umol/L = 2.005 x ULN -> fail", {TBIL_SI: (42.1, "umol/L", 21)}, "fail"),
    ("TBIL 2.4 mg/dL = 2.0 x ULN 1.2 mg/dL -> pass", {TBIL_SI: None, TBIL_MASS: (2.4, "mg/dL", 1.2)}, "pass"),
    ("TBIL 2.41 mg/dL = 2.008 x ULN -> fail", {TBIL_SI: None, TBIL_MASS: (2.41, "mg/dL", 1.2)}, "fail"),
    ("AST without referenceRange (no site table) -> unknown", {AST: (28, "U/L", None)}, "unknown"),
    ("ALT missing -> unknown", {ALT: None}, "unknown"),
    ("any above fails even with another missing", {AST: (121, "U/L", 40), ALT: None}, "fail"),
]))
def test_liver(protocol, rule, labs, outcome):
    """criteria.md INC-LIVER: AST, ALT <= 3.0 x ULN and TBIL <= 2.0 x ULN (ULN = the observation's
    referenceRange.high); any above fail; any missing, or no ULN, unknown."""
    p = sle_patient().without(AST, ALT, TBIL_SI)
    for code, lab in {**NORMAL_LIVER, **labs}.items():
        if lab is not None:
            p.qty(code, lab[0], lab[1], 5, high=lab[2])
    expect(screen_sle(protocol, p), "INC-LIVER", outcome)


def test_missing_uln_asks_for_the_labs_upper_limit(protocol):
    """criteria.md Units: with no referenceRange.high and no site table the ULN is unknown, never invented."""
    p = sle_patient().without(AST)
    p.qty(AST, 28, "U/L", 5)
    result = expect(screen_sle(protocol, p), "INC-LIVER", "unknown")
    assert any("upper limit of normal" in n["what"] and "AST" in n["what"] for n in result["needs"]), result["needs"]


@pytest.mark.parametrize("rule, code, value, unit, high, high_unit, outcome", cases([
    pytest.param("TBIL 41 umol/L, ULN 1.2 mg/dL (20.5 umol/L) = 1.998 x ULN -> pass",
                 TBIL_SI, 41, "umol/L", 1.2, "mg/dL", "pass"),
    pytest.param("TBIL 2.5 mg/dL (42.75 umol/L), ULN 21 umol/L = 2.04 x ULN -> fail",
                 TBIL_MASS, 2.5, "mg/dL", 21, "umol/L", "fail"),
]))
def test_tbil_reference_range_in_the_other_unit(protocol, rule, code, value, unit, high, high_unit, outcome):
    """criteria.md Units: bilirubin in umol/L or mg/dL (17.1); the ULN is referenceRange.high, in its own unit."""
    p = sle_patient().without(TBIL_SI)
    p.obs(LOINC, code, 5, valueQuantity=quantity(value, unit), referenceRange=[{"high": quantity(high, high_unit)}])
    expect(screen_sle(protocol, p), "INC-LIVER", outcome)


# -- INC-LUNG ----------------------------------------------------------------------

ILD = (SNOMED, "233703007", "Interstitial lung disease")
ARDS = (SNOMED, "67782005", "Acute respiratory distress syndrome")
PULMONARY_HYPERTENSION = (SNOMED, "70995007", "Pulmonary hypertension")
PULMONARY_EMBOLISM = (SNOMED, "59282003", "Pulmonary embolism")
SLE_LUNG = (SNOMED, "196138005", "Lung disease with systemic lupus erythematosus")


def _lung_condition(p, spec, onset_days: int = 100, status: str = "active", abated_days: int | None = None):
    condition = p.condition(*spec, p.day(onset_days), status=status)
    if abated_days is not None:
        condition["abatementDateTime"] = p.day(abated_days)


@pytest.mark.parametrize("rule, spo2, add, outcome", cases([
    ("SpO2 92 (>= 92) -> pass", 92, None, "pass"),
    ("SpO2 91 (< 92) -> fail", 91, None, "fail"),
    ("SpO2 missing -> unknown", None, None, "unknown"),
    ("interstitial lung disease active -> fail", 98, lambda p: _lung_condition(p, ILD), "fail"),
    ("pulmonary embolism (ICD-10 I26.9) active -> fail", 98,
     lambda p: _lung_condition(p, (ICD10, "I26.9", "Pulmonary embolism")), "fail"),
    ("lung involvement of SLE (ICD-10-CM M32.13) active -> fail", 98,
     lambda p: _lung_condition(p, (ICD10CM, "M32.13", "Lung involvement in SLE")), "fail"),
    ("ILD resolved, abated 30 days before as_of: in the window -> fail", 98,
     lambda p: _lung_condition(p, ILD, 400, "resolved", 30), "fail"),
    ("ILD resolved, abated 31 days before as_of -> pass", 98,
     lambda p: _lung_condition(p, ILD, 400, "resolved", 31), "pass"),
    ("serious lung condition decides even when SpO2 is missing -> fail", None,
     lambda p: _lung_condition(p, ILD), "fail"),
    pytest.param("ARDS (SNOMED) active -> fail", 98, lambda p: _lung_condition(p, ARDS), "fail"),
    pytest.param("pulmonary hypertension (SNOMED) active -> fail", 98,
                 lambda p: _lung_condition(p, PULMONARY_HYPERTENSION), "fail"),
    pytest.param("pulmonary embolism (SNOMED) active -> fail", 98, lambda p: _lung_condition(p, PULMONARY_EMBOLISM),
                 "fail"),
    pytest.param("lung involvement of SLE (SNOMED) active -> fail", 98, lambda p: _lung_condition(p, SLE_LUNG),
                 "fail"),
    ("pneumonia belongs to EXC-INFECTION, not here -> pass", 98,
     lambda p: _lung_condition(p, (SNOMED, "233604007", "Pneumonia"), 3), "pass"),
]))
def test_lung(protocol, rule, spo2, add, outcome):
    """criteria.md INC-LUNG: SpO2 < 92 or a serious lung condition active in the last 30 days fail;
    SpO2 missing unknown; else pass."""
    p = sle_patient().without(SPO2)
    if spo2 is not None:
        p.qty(SPO2, spo2, "%", 5)
    if add:
        add(p)
    expect(screen_sle(protocol, p), "INC-LUNG", outcome)


# -- FOCBP, INC-PREGNANCY-TEST, INC-CONTRACEPTION -------------------------------------


@pytest.mark.parametrize("rule, gender, birth, add, focbp", cases([
    ("male -> not FOCBP", "male", "2009-06-15", None, False),
    ("female 11 (12th birthday tomorrow) -> not FOCBP", "female", born(12, tomorrow=True), None, False),
    ("female 12 (birthday today) -> FOCBP", "female", born(12), None, True),
    ("female 54 (55th birthday tomorrow) -> FOCBP", "female", born(55, tomorrow=True), None, True),
    ("female 55 -> not FOCBP", "female", born(55), None, False),
    ("childbearing-potential false overrides a 20-year-old", "female", born(20),
     lambda p: p.attest("childbearing-potential", False), False),
    ("childbearing-potential true overrides a 58-year-old (both directions)", "female", born(58),
     lambda p: p.attest("childbearing-potential", True), True),
    ("hysterectomy (SNOMED 116140006) recorded", "female", born(30),
     lambda p: p.procedure("116140006", "Total hysterectomy", 400), False),
    ("absence of both ovaries (ICD-10-CM Z90.722) recorded", "female", born(30),
     lambda p: p.condition(ICD10CM, "Z90.722", "Acquired absence of ovaries, bilateral", "2020-01-01"), False),
    ("postmenopausal state (SNOMED 76498008) recorded", "female", born(50),
     lambda p: p.condition(SNOMED, "76498008", "Postmenopausal state", "2024-01-01"), False),
]))
def test_focbp_decides_whether_pregnancy_and_contraception_apply(protocol, rule, gender, birth, add, focbp):
    """criteria.md FOCBP: female, 12 <= age < 55, unless childbearing-potential says otherwise or
    hysterectomy / bilateral oophorectomy / menopause is recorded; not FOCBP -> not_applicable (= pass)."""
    p = sle_patient(gender=gender, birth=birth)
    if add:
        add(p)
    screened = screen_sle(protocol, p)
    for criterion in ("INC-PREGNANCY-TEST", "INC-CONTRACEPTION"):
        expect(screened, criterion, "pass" if focbp else "not_applicable")
    assert screened.overall == "eligible"


@pytest.mark.parametrize("rule, code, positive, days_before, outcome", cases([
    ("negative serum hCG 7 days old -> pass", HCG_SERUM, False, 7, "pass"),
    ("negative serum hCG 8 days old -> unknown", HCG_SERUM, False, 8, "unknown"),
    ("negative urine hCG -> pass", HCG_URINE, False, 2, "pass"),
    ("positive serum hCG -> fail", HCG_SERUM, True, 2, "fail"),
    ("positive urine hCG -> fail", HCG_URINE, True, 2, "fail"),
    ("no pregnancy test -> unknown", None, None, None, "unknown"),
]))
def test_pregnancy_test(protocol, rule, code, positive, days_before, outcome):
    """criteria.md INC-PREGNANCY-TEST for a FOCBP (the 16-year-old girl); window 7 days."""
    p = sle_patient().without(HCG_SERUM)
    if code:
        p.result(code, positive, days_before)
    result = expect(screen_sle(protocol, p), "INC-PREGNANCY-TEST", outcome)
    if days_before == 7:
        assert result["valid_until"] == AS_OF.isoformat()
    if outcome == "unknown":
        first = (AS_OF - timedelta(days=7)).isoformat()
        assert any(first in (n["window"] or "") for n in result["needs"]), result["needs"]


@pytest.mark.parametrize("rule, agreed, outcome", cases([
    ("contraception-agreed true -> pass", True, "pass"),
    ("contraception-agreed false -> fail", False, "fail"),
    ("contraception-agreed missing -> unknown", None, "unknown"),
]))
def test_contraception(protocol, rule, agreed, outcome):
    """criteria.md INC-CONTRACEPTION for a FOCBP: contraception-agreed true pass, false fail, missing unknown."""
    p = sle_patient().without("contraception-agreed")
    if agreed is not None:
        p.attest("contraception-agreed", agreed)
    expect(screen_sle(protocol, p), "INC-CONTRACEPTION", outcome)
