"""SLE cohort inclusion criteria, at the edges criteria.md fixes.

Every scenario is the eligible SLE patient of scenarios_inc.py with one thing
changed, screened on 2026-03-02 unless a row says otherwise. The first column
of each table (``rule``) names the criteria.md / data.md rule the row checks.
"""

from __future__ import annotations

from datetime import date

import pytest

from scenarios_inc import (
    ANA, AS_OF, HCQ, ICD10CM, MMF, PREDNISOLONE, WEIGHT, born, cases, expect, screen_sle, sle_patient,
    window_30,
)
from trialdesk.patient.fhir.builder import ICD10, LOINC, RXNORM, SNOMED

SLE_CRITERIA = ("INC-CONSENT", "INC-SURVIVAL", "INC-ECOG", "INC-LVEF", "INC-ECG", "INC-RENAL", "INC-LIVER",
                "INC-LUNG", "INC-PREGNANCY-TEST", "INC-CONTRACEPTION", "SLE-AGE", "SLE-CLASSIFICATION",
                "SLE-REFRACTORY", "SLE-SLEDAI", "SLE-NO-CNS", "SLE-NO-MAS")


@pytest.mark.parametrize("as_of", [AS_OF, date(2026, 3, 31), date(2026, 3, 30), date(2026, 3, 1)])
def test_base_patient_is_eligible(protocol, as_of):
    """criteria.md Outcomes: the scenarios' starting point passes every criterion tested here,
    on every screening date used below; history criteria say "no record of ..." when nothing matches."""
    screened = screen_sle(protocol, sle_patient(as_of))
    assert {c: screened[c]["outcome"] for c in SLE_CRITERIA} == dict.fromkeys(SLE_CRITERIA, "pass")
    assert screened.overall == "eligible"
    for criterion in ("SLE-NO-CNS", "SLE-NO-MAS"):
        assert "no record of" in screened[criterion]["reason"]


# -- SLE-AGE --------------------------------------------------------------------


@pytest.mark.parametrize("rule, birth, outcome", cases([
    ("age 5 today (completed years) -> pass", born(5), "pass"),
    ("age 4, 5th birthday tomorrow -> fail", born(5, tomorrow=True), "fail"),
    ("data.md: year-only birthDate 2021 -> age from 2021-01-01 = 5 -> pass", "2021", "pass"),
    ("no birthDate -> unknown", None, "unknown"),
]))
def test_age(protocol, rule, birth, outcome):
    """criteria.md SLE-AGE: age >= 5 in completed years on as_of; data.md: partial birth dates flagged."""
    result = expect(screen_sle(protocol, sle_patient(birth=birth)), "SLE-AGE", outcome)
    if birth == "2021":
        assert "year" in str(result["evidence"]) + result["reason"], "a partial birth date is flagged"


# -- SLE-CLASSIFICATION ------------------------------------------------------------


@pytest.mark.parametrize("rule, ana_results, outcome", cases([
    ("entry ANA 1:80 (string) -> pass", [({"valueString": "1:80"}, 400)], "pass"),
    ("entry ANA 1:40 (string) -> fail", [({"valueString": "1:40"}, 400)], "fail"),
    ("data.md: ANA as valueRatio 1/80 -> pass",
     [({"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 80}}}, 400)], "pass"),
    ("data.md: ANA as valueRatio 1/40 -> fail",
     [({"valueRatio": {"numerator": {"value": 1}, "denominator": {"value": 40}}}, 400)], "fail"),
    ("data.md: ANA as valueQuantity 80 (the denominator) -> pass", [({"valueQuantity": {"value": 80}}, 400)], "pass"),
    ("ANA negative -> fail", [({"valueCodeableConcept": {"coding": [{"system": SNOMED, "code": "260385009"}]}}, 400)],
     "fail"),
    ("ANA >= 1:80 ever: 1:160 five years ago, negative last month -> pass",
     [({"valueString": "1:160"}, 1830), ({"valueString": "negative"}, 30)], "pass"),
    ("no ANA -> unknown", [], "unknown"),
]))
def test_classification_ana_entry(protocol, rule, ana_results, outcome):
    """criteria.md SLE-CLASSIFICATION: entry criterion ANA >= 1:80 ever (the assessment scores 22)."""
    p = sle_patient().without(ANA)
    for value, days_before in ana_results:
        p.obs(LOINC, ANA, days_before, **value)
    expect(screen_sle(protocol, p), "SLE-CLASSIFICATION", outcome)


@pytest.mark.parametrize("rule, items, outcome", cases([
    ("score 10 (joint 6 + low C3 and C4 4) with a clinical item -> pass",
     ["joint-involvement", "low-c3-and-c4"], "pass"),
    ("score 9 (joint 6 + low C3 or C4 3) -> fail", ["joint-involvement", "low-c3-or-c4"], "fail"),
    ("score 10 from immunological items only (anti-dsDNA 6 + low C3 and C4 4): no clinical item -> fail",
     ["anti-dsdna-or-anti-smith", "low-c3-and-c4"], "fail"),
    ("only the highest item per domain: acute cutaneous 6 + oral ulcers + alopecia + low C3 or C4 3 = 9 -> fail",
     ["acute-cutaneous-lupus", "oral-ulcers", "alopecia", "low-c3-or-c4"], "fail"),
    ("lupus nephritis class III/IV alone = 10, clinical -> pass", ["lupus-nephritis-class-3-or-4"], "pass"),
    ("no EULAR/ACR assessment (SLE diagnosis recorded is not enough) -> unknown", None, "unknown"),
]))
def test_classification_score(protocol, rule, items, outcome):
    """criteria.md SLE-CLASSIFICATION: score >= 10 with >= 1 clinical criterion, highest item per domain
    (ANA 1:320 recorded)."""
    p = sle_patient().without("eular-acr-2019")
    if items is not None:
        p.assessment("eular-acr-2019", items, 400)
    expect(screen_sle(protocol, p), "SLE-CLASSIFICATION", outcome)


def test_classification_uses_the_latest_assessment(protocol):
    """criteria.md SLE-CLASSIFICATION: items as recorded in the latest EULAR/ACR assessment
    (the base one, 400 days ago, scores 22; a later one scores 9)."""
    p = sle_patient()
    p.assessment("eular-acr-2019", ["joint-involvement", "low-c3-or-c4"], 100)
    expect(screen_sle(protocol, p), "SLE-CLASSIFICATION", "fail")


# -- SLE-REFRACTORY ---------------------------------------------------------------

PREDNISONE, METHYLPRED, AZATHIOPRINE = ("8640", "prednisone"), ("6902", "methylprednisolone"), ("1256", "azathioprine")


def _steroid(p, drug, start: str, end: str | None, dose: float | dict | None) -> None:
    """A MedicationStatement; ``dose`` in mg/day, a raw doseQuantity (dict), or None (no dosage)."""
    statement = p.drug(RXNORM, *drug, start, end, mg_per_day=None if isinstance(dose, dict) else dose)
    if isinstance(dose, dict):
        statement["dosage"] = [{"doseAndRate": [{"doseQuantity": dose}]}]


COURSE_START = 290  # days before as_of; the weight (50 kg) is recorded mid-course, 245 days before


@pytest.mark.parametrize("rule, days, mg, weight, agents, hydroxychloroquine, outcome", cases([
    ("(a) 90 days at 50 mg = 1.0 mg/kg/day, HCQ, MMF + azathioprine -> pass", 90, 50, True, 2, True, "pass"),
    ("(a) 89 days at 1.0 mg/kg/day -> fail", 89, 50, True, 2, True, "fail"),
    ("(a) 90 days at 49 mg = 0.98 mg/kg/day -> fail", 90, 49, True, 2, True, "fail"),
    ("(a) only one listed agent (MMF) -> fail", 90, 50, True, 1, True, "fail"),
    ("(a) no hydroxychloroquine -> fail", 90, 50, True, 2, False, "fail"),
    ("(a) CL-5: no body weight within 90 days of the doses -> unknown", 90, 50, False, 2, True, "unknown"),
]))
def test_refractory_high_dose_path(protocol, rule, days, mg, weight, agents, hydroxychloroquine, outcome):
    """criteria.md SLE-REFRACTORY (a): >= 90 days at prednisone-equivalent >= 1 mg/kg/day (CL-5, weight
    nearest each dose within 90 days) AND hydroxychloroquine AND >= 2 listed agents. The course ended
    over 200 days ago, so path (c) does not hold (no glucocorticoid covers as_of)."""
    p = sle_patient().without(PREDNISOLONE)
    p.drug(RXNORM, *PREDNISONE, p.day(COURSE_START), p.day(COURSE_START - days + 1), mg_per_day=mg)
    if weight:
        p.qty(WEIGHT, 50, "kg", 245)
    if agents == 2:
        p.drug(RXNORM, *AZATHIOPRINE, "2024-01-01", mg_per_day=100)
    if not hydroxychloroquine:
        p.without(HCQ)
    expect(screen_sle(protocol, p), "SLE-REFRACTORY", outcome)


@pytest.mark.parametrize("rule, add, outcome", cases([
    ("no path holds (glucocorticoid started 3 months ago, no intolerance) -> fail", None, "fail"),
    ("(b) AllergyIntolerance type intolerance to hydroxychloroquine -> pass",
     lambda p: p.allergy(HCQ, "hydroxychloroquine"), "pass"),
    ("(b) intolerance to a listed agent (mycophenolate) -> pass",
     lambda p: p.allergy(MMF, "mycophenolate mofetil"), "pass"),
    ("(b) intolerance to a glucocorticoid (prednisone) -> pass", lambda p: p.allergy(*PREDNISONE), "pass"),
    ("(b) type allergy is not a recorded intolerance -> fail",
     lambda p: p.allergy(HCQ, "hydroxychloroquine", kind="allergy"), "fail"),
    ("(b) intolerance to a drug outside standard therapy (penicillin) -> fail",
     lambda p: p.allergy("7980", "penicillin G"), "fail"),
    ("(b) attestation intolerant-standard-therapy true -> pass",
     lambda p: p.attest("intolerant-standard-therapy", True), "pass"),
    ("(b) attestation intolerant-standard-therapy false -> fail",
     lambda p: p.attest("intolerant-standard-therapy", False), "fail"),
]))
def test_refractory_intolerance_path(protocol, rule, add, outcome):
    """criteria.md SLE-REFRACTORY (b): a recorded intolerance to glucocorticoids, hydroxychloroquine or a
    listed agent. Paths (a) and (c) do not hold: prednisolone 15 mg/day (0.3 mg/kg) started 90 days ago."""
    p = sle_patient().without(PREDNISOLONE)
    p.drug(RXNORM, PREDNISOLONE, "prednisolone", p.day(90), mg_per_day=15)
    if add:
        add(p)
    expect(screen_sle(protocol, p), "SLE-REFRACTORY", outcome)


SINCE_2025 = "2025-01-10"


@pytest.mark.parametrize("rule, statements, outcome", cases([
    ("(c) current dose 6 mg/day (> 5) -> pass", [(PREDNISONE, SINCE_2025, None, 6)], "pass"),
    ("(c) current dose 5 mg/day (not > 5) -> fail", [(PREDNISONE, SINCE_2025, None, 5)], "fail"),
    ("(c) methylprednisolone 4 mg = 5 mg prednisone -> fail", [(METHYLPRED, SINCE_2025, None, 4)], "fail"),
    ("(c) methylprednisolone 5 mg = 6.25 mg prednisone -> pass", [(METHYLPRED, SINCE_2025, None, 5)], "pass"),
    ("(c) statements covering as_of add up: 3 + 3 mg -> pass",
     [(PREDNISONE, SINCE_2025, None, 3), (PREDNISONE, "2025-06-01", None, 3)], "pass"),
    ("(c) first taken exactly 6 months before as_of (2025-09-02) -> pass", [(PREDNISONE, "2025-09-02", None, 10)],
     "pass"),
    ("(c) first taken 2025-09-03, under 6 months -> fail", [(PREDNISONE, "2025-09-03", None, 10)], "fail"),
    ("(c) statement ending the day before as_of does not cover it -> fail",
     [(PREDNISONE, SINCE_2025, "2026-03-01", 10)], "fail"),
    ("(c) statement ending on as_of covers it -> pass", [(PREDNISONE, SINCE_2025, "2026-03-02", 10)], "pass"),
    ("(c) data.md: no dosage -> dose unknown, never zero -> unknown", [(PREDNISONE, SINCE_2025, None, None)],
     "unknown"),
    ("(c) data.md: 2 tablets, strength not stated -> dose unknown -> unknown",
     [(PREDNISONE, SINCE_2025, None, {"value": 2, "unit": "tablet"})], "unknown"),
]))
def test_refractory_steroid_not_reducible_path(protocol, rule, statements, outcome):
    """criteria.md SLE-REFRACTORY (c): glucocorticoids first taken >= 6 months before as_of and the current
    prednisone-equivalent daily dose (statements covering as_of) > 5 mg; (a) and (b) do not hold."""
    p = sle_patient().without(PREDNISOLONE)
    for drug, start, end, dose in statements:
        _steroid(p, drug, start, end, dose)
    result = expect(screen_sle(protocol, p), "SLE-REFRACTORY", outcome)
    if outcome == "unknown":
        assert any("dose" in n["what"] for n in result["needs"]), result["needs"]


def test_refractory_without_any_medication_is_unknown(protocol):
    """criteria.md SLE-REFRACTORY: no medication history at all -> unknown."""
    p = sle_patient().without(PREDNISOLONE, HCQ, MMF)
    expect(screen_sle(protocol, p), "SLE-REFRACTORY", "unknown")


# -- SLE-SLEDAI -------------------------------------------------------------------


@pytest.mark.parametrize("rule, items, total, outcome", cases([
    ("computed 6 (arthritis 4 + rash 2), not > 6 -> fail", ["arthritis", "rash"], None, "fail"),
    ("computed 7 (+ fever 1) -> pass", ["arthritis", "rash", "fever"], None, "pass"),
    ("computed 8 (+ low complement 2) -> pass", ["arthritis", "rash", "low-complement"], None, "pass"),
    ("recorded total 6, no components -> fail", [], 6, "fail"),
    ("recorded total 8, no components -> pass", [], 8, "pass"),
    ("computed 6 wins over a recorded 10 -> fail", ["arthritis", "rash"], 10, "fail"),
    ("computed 8 wins over a recorded 4 -> pass", ["arthritis", "rash", "low-complement"], 4, "pass"),
    ("no SLEDAI-2K -> unknown", None, None, "unknown"),
]))
def test_sledai(protocol, rule, items, total, outcome):
    """criteria.md SLE-SLEDAI: total computed from descriptor components, or the recorded total when there
    are no components; > 6 pass, <= 6 fail, missing unknown."""
    p = sle_patient().without("sledai-2k")
    if items is not None:
        p.sledai(items, 5, total)
    expect(screen_sle(protocol, p), "SLE-SLEDAI", outcome)


def test_sledai_descriptor_recorded_false_does_not_count(protocol):
    """data.md SLEDAI-2K: one component per descriptor present or assessed; fever assessed absent -> 6 -> fail."""
    p = sle_patient().without("sledai-2k")
    assessment = p.sledai(["arthritis", "rash", "fever"], 5)
    assessment["component"][2]["valueBoolean"] = False
    expect(screen_sle(protocol, p), "SLE-SLEDAI", "fail")


def test_sledai_disagreeing_total_is_a_data_issue(protocol):
    """data.md SLEDAI-2K: if components and total disagree, the computed total wins and a warning is shown."""
    p = sle_patient().without("sledai-2k")
    assessment = p.sledai(["arthritis", "rash", "low-complement"], 5, total=4)
    screened = screen_sle(protocol, p)
    expect(screened, "SLE-SLEDAI", "pass")
    assert any(i["resource"] == f"Observation/{assessment['id']}" for i in screened.data_issues), screened.data_issues


def test_sledai_latest_assessment_decides(protocol):
    """criteria.md SLE-SLEDAI: the latest assessment (6, five days ago) decides over an older 10."""
    p = sle_patient().without("sledai-2k")
    p.sledai(["arthritis", "rash", "low-complement", "increased-dna-binding"], 20)
    p.sledai(["arthritis", "rash"], 5)
    expect(screen_sle(protocol, p), "SLE-SLEDAI", "fail")


@pytest.mark.parametrize("rule, days_before, outcome", cases([
    ("SLEDAI-2K exactly 30 days old counts -> pass", 30, "pass"),
    ("SLEDAI-2K 31 days old -> unknown", 31, "unknown"),
]))
def test_sledai_freshness(protocol, rule, days_before, outcome):
    """criteria.md SLE-SLEDAI: latest assessment within 30 days; valid_until / needs as for any measurement."""
    p = sle_patient().without("sledai-2k")
    p.sledai(["arthritis", "rash", "low-complement", "increased-dna-binding"], days_before)
    result = expect(screen_sle(protocol, p), "SLE-SLEDAI", outcome)
    if outcome == "pass":
        assert result["valid_until"] == AS_OF.isoformat()
    else:
        first, last = window_30()
        assert any("SLEDAI" in n["what"] and first in (n["window"] or "") and last in (n["window"] or "")
                   for n in result["needs"]), result["needs"]


# -- SLE-NO-CNS -------------------------------------------------------------------

SEIZURE = (SNOMED, "91175000", "Seizure")
CVA = (SNOMED, "230690007", "Cerebrovascular accident")
MENINGITIS = (ICD10, "G03.9", "Meningitis, unspecified")
PSYCHOSIS = (SNOMED, "69322001", "Psychotic disorder")
DELIRIUM = (SNOMED, "2776000", "Delirium")


@pytest.mark.parametrize("rule, spec, onset_days, status, abated_days, outcome", cases([
    ("seizure active (onset 100 days ago) -> fail", SEIZURE, 100, "active", None, "fail"),
    ("CVA resolved, no abatement: counts on its onset, 60 days ago -> fail", CVA, 60, "resolved", None, "fail"),
    ("CVA resolved, no abatement, onset 61 days ago -> pass", CVA, 61, "resolved", None, "pass"),
    ("CNS infection abated 60 days ago -> fail", MENINGITIS, 90, "resolved", 60, "fail"),
    ("CNS infection abated 61 days ago -> pass", MENINGITIS, 90, "resolved", 61, "pass"),
    ("visual disturbance of lupus (optic neuritis H46) active -> fail", (ICD10, "H46", "Optic neuritis"), 20,
     "active", None, "fail"),
    ("psychosis (ICD-10-CM F06.2) active -> fail", (ICD10CM, "F06.2", "Psychotic disorder with delusions"), 20,
     "active", None, "fail"),
    pytest.param("psychosis (SNOMED) active -> fail", PSYCHOSIS, 20, "active", None, "fail"),
    pytest.param("organic brain syndrome: delirium (SNOMED) active -> fail", DELIRIUM, 20, "active", None, "fail"),
]))
def test_no_cns_conditions(protocol, rule, spec, onset_days, status, abated_days, outcome):
    """criteria.md SLE-NO-CNS: a CNS disease active in the 60 days before as_of -> fail; else pass."""
    p = sle_patient()
    condition = p.condition(*spec, p.day(onset_days), status=status)
    if abated_days is not None:
        condition["abatementDateTime"] = p.day(abated_days)
    expect(screen_sle(protocol, p), "SLE-NO-CNS", outcome)


NEURO_DESCRIPTORS = ("seizure", "psychosis", "organic-brain-syndrome", "visual-disturbance", "cranial-nerve-disorder",
                     "lupus-headache", "cva")


@pytest.mark.parametrize("descriptor", NEURO_DESCRIPTORS)
def test_no_cns_sledai_neurological_descriptor_in_window(protocol, descriptor):
    """criteria.md SLE-NO-CNS: a SLEDAI-2K assessment in the 60-day window with a neurological
    descriptor -> fail, even if the latest assessment (5 days ago) has none."""
    p = sle_patient()
    p.sledai([descriptor, "arthritis"], 45)
    expect(screen_sle(protocol, p), "SLE-NO-CNS", "fail")


@pytest.mark.parametrize("rule, descriptor, days_before, outcome", cases([
    ("neurological descriptor exactly 60 days ago -> fail", "lupus-headache", 60, "fail"),
    ("neurological descriptor 61 days ago -> pass", "lupus-headache", 61, "pass"),
    ("vasculitis is not a neurological descriptor -> pass", "vasculitis", 45, "pass"),
]))
def test_no_cns_sledai_window(protocol, rule, descriptor, days_before, outcome):
    """criteria.md SLE-NO-CNS: only the seven neurological descriptors, only within 60 days."""
    p = sle_patient()
    p.sledai([descriptor], days_before)
    expect(screen_sle(protocol, p), "SLE-NO-CNS", outcome)


# -- SLE-NO-MAS (calendar months) ---------------------------------------------------

HLH = (SNOMED, "234437005", "Hemophagocytic lymphohistiocytosis")
HLH_ICD = (ICD10, "D76.1", "Haemophagocytic lymphohistiocytosis")


@pytest.mark.parametrize("rule, as_of, spec, onset, abated, outcome", cases([
    ("2026-03-31 minus 1 month = 2026-02-28: resolved MAS on 02-28 is inside -> fail",
     date(2026, 3, 31), HLH, "2026-02-28", None, "fail"),
    ("as_of 2026-03-31: MAS on 02-27 is outside -> pass", date(2026, 3, 31), HLH, "2026-02-27", None, "pass"),
    ("2026-03-30 minus 1 month = 2026-02-28: MAS on 02-28 inside -> fail",
     date(2026, 3, 30), HLH, "2026-02-28", None, "fail"),
    ("as_of 2026-03-30: MAS on 02-27 outside -> pass", date(2026, 3, 30), HLH, "2026-02-27", None, "pass"),
    ("2026-03-01 minus 1 month = 2026-02-01: MAS on 02-01 inside -> fail",
     date(2026, 3, 1), HLH_ICD, "2026-02-01", None, "fail"),
    ("as_of 2026-03-01: MAS on 01-31 outside -> pass", date(2026, 3, 1), HLH_ICD, "2026-01-31", None, "pass"),
    ("MAS abated 2026-02-28, as_of 2026-03-31 -> fail", date(2026, 3, 31), HLH, "2025-12-01", "2026-02-28", "fail"),
    ("MAS abated 2026-02-27, as_of 2026-03-31 -> pass", date(2026, 3, 31), HLH, "2025-12-01", "2026-02-27", "pass"),
]))
def test_no_mas_one_calendar_month(protocol, rule, as_of, spec, onset, abated, outcome):
    """criteria.md SLE-NO-MAS: MAS/HLH active in [as_of - 1 month, as_of] -> fail; months are calendar
    months clamped at month end; a resolved condition without abatement counts on its onset date."""
    p = sle_patient(as_of)
    condition = p.condition(*spec, onset, status="resolved")
    if abated:
        condition["abatementDateTime"] = abated
    expect(screen_sle(protocol, p), "SLE-NO-MAS", outcome)


def test_no_mas_active_since_long_ago(protocol):
    """criteria.md SLE-NO-MAS / data.md: an active condition with an old onset is active in the window."""
    p = sle_patient()
    p.condition(*HLH, "2025-01-01")
    expect(screen_sle(protocol, p), "SLE-NO-MAS", "fail")
