"""Exclusion criteria (EXC-*) at the edges of their thresholds and windows, as criteria.md defines them.

Each scenario changes one thing in an otherwise-eligible SRNS patient
(scenarios_exc.srns_patient), screened on 2026-03-02. "Within N before X"
is the closed interval [X - N, X]; weeks are 7 days, months calendar months.
"""

from __future__ import annotations

from datetime import date

import pytest
from scenarios_exc import (
    ANTI_HBC,
    ANTI_HCV,
    ATC,
    CMV_DNA,
    HBSAG,
    HBV_DNA,
    HCG_SERUM,
    HCG_URINE,
    HCV_RNA,
    HCV_RNA_QUAL,
    HIV_AB,
    ICD10,
    LOINC,
    NYHA,
    RPR,
    RXNORM,
    SNOMED,
    TD,
    TREPONEMAL,
    administration,
    allergy,
    check,
    concept,
    condition,
    girl,
    procedure,
    request,
    research_subject,
    srns_patient,
    without,
)
from trialdesk.patient.fhir.builder import CVX

V3 = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
ICD10_CM = "http://hl7.org/fhir/sid/icd-10-cm"


def apply(change, patient=srns_patient):
    p = patient()
    change(p)
    return p


def both(*changes):
    def change(p):
        for c in changes:
            c(p)
    return change


def lab(code, positive=None, *, load=None, high=None, text=None, flag=None, days=5):
    """Replace the results of ``code`` by one: SNOMED positive/negative, a viral ``load`` against its
    reference range ``high``, a valueString ``text`` or an interpretation ``flag``; with none, remove them."""
    def change(p):
        without(p, code)
        if positive is not None:
            p.result(code, positive, days)
        elif load is not None:
            p.qty(code, load, "[IU]/mL", days, high=high)
        elif text is not None:
            p.obs(LOINC, code, days, valueString=text)
        elif flag is not None:
            p.obs(LOINC, code, days, interpretation=[concept(V3, flag, flag)])
    return change


# -- EXC-ALLERGY ----------------------------------------------------------------------

CYCLOPHOSPHAMIDE = (RXNORM, "3002", "cyclophosphamide")
PENICILLIN = (RXNORM, "70618", "penicillin")
ANAPHYLAXIS = ("39579001", "Anaphylaxis")


@pytest.mark.parametrize("rule, change, outcome", [
    ("allergy to cyclophosphamide, criticality low -> fail (any criticality)",
     lambda p: allergy(p, *CYCLOPHOSPHAMIDE, criticality="low"), "fail"),
    ("allergy to cyclophosphamide, no criticality -> fail", lambda p: allergy(p, *CYCLOPHOSPHAMIDE), "fail"),
    ("cyclophosphamide recorded as intolerance (AllergyIntolerance) -> fail",
     lambda p: allergy(p, *CYCLOPHOSPHAMIDE, kind="intolerance"), "fail"),
    ("data.md: cyclophosphamide named in Chinese only (环磷酰胺, a local code) -> fail",
     lambda p: allergy(p, "urn:site:drug", "CTX-01", "环磷酰胺"), "fail"),
    ("allergy to fludarabine -> fail", lambda p: allergy(p, RXNORM, "24698", "fludarabine", criticality="low"), "fail"),
    ("allergy to obinutuzumab -> fail",
     lambda p: allergy(p, RXNORM, "974779", "obinutuzumab", criticality="low"), "fail"),
    ("any allergy with criticality high -> fail", lambda p: allergy(p, *PENICILLIN, criticality="high"), "fail"),
    ("any allergy with a severe reaction -> fail",
     lambda p: allergy(p, *PENICILLIN, criticality="low", severity="severe"), "fail"),
    ("any allergy with anaphylaxis as manifestation -> fail",
     lambda p: allergy(p, *PENICILLIN, criticality="low", severity="moderate", manifestation=ANAPHYLAXIS), "fail"),
    ("anaphylaxis history (Condition) -> fail",
     lambda p: condition(p, SNOMED, *ANAPHYLAXIS, "2019-05-01", "resolved"), "fail"),
    ("a mild, low-criticality allergy to another drug -> pass",
     lambda p: allergy(p, *PENICILLIN, criticality="low", severity="mild"), "pass"),
    ("data.md: a refuted cyclophosphamide allergy is ignored -> pass",
     lambda p: allergy(p, *CYCLOPHOSPHAMIDE, criticality="high", verification="refuted"), "pass"),
])
def test_allergy(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-ALLERGY", outcome)


# -- EXC-INFECTION -------------------------------------------------------------------

UTI = (ICD10, "N39.0", "Urinary tract infection, site not specified")
AMOXICILLIN = (RXNORM, "723", "amoxicillin")


def infection(onset_days, drug_days=None, drug=AMOXICILLIN, code=UTI, status="active", abated_days=None):
    """An infection (onset, optional abatement) and, optionally, a drug given on one day."""
    def change(p):
        condition(p, *code, p.day(onset_days), status, p.day(abated_days) if abated_days is not None else None)
        if drug_days is not None:
            p.drug(*drug, p.day(drug_days), p.day(drug_days))
    return change


def prophylaxis(p):
    p.drug(RXNORM, "10831", "sulfamethoxazole / trimethoprim", "2025-06-01")


@pytest.mark.parametrize("rule, change, outcome", [
    ("active infection AND systemic anti-infective in the week -> fail", infection(3, 2), "fail"),
    ("pneumonia under a systemic antibiotic -> fail (pneumonia belongs here)",
     infection(4, 1, code=(SNOMED, "233604007", "Pneumonia")), "fail"),
    ("window edge: infection and antibiotic exactly 7 days before screening -> fail",
     infection(7, 7, status="resolved", abated_days=7), "fail"),
    ("window edge: infection and antibiotic 8 days before screening -> pass",
     infection(10, 8, status="resolved", abated_days=8), "pass"),
    ("anti-infective by ATC J01 code (ceftriaxone) -> fail",
     infection(3, 2, drug=(ATC, "J01DD04", "ceftriaxone")), "fail"),
    ("antiviral (ATC J05, aciclovir) for an infection -> fail",
     infection(3, 2, drug=(RXNORM, "281", "acyclovir"), code=(SNOMED, "88594005", "Herpes simplex")), "fail"),
    ("infection alone, no systemic anti-infective -> pass", infection(3), "pass"),
    ("prophylaxis with no active infection does not count -> pass", prophylaxis, "pass"),
    ("sepsis active in the week -> fail, even untreated", infection(2, code=(SNOMED, "91302008", "Sepsis")), "fail"),
    ("CL-14: a topical antibiotic is not systemic -> pass",
     infection(3, 2, drug=(RXNORM, "4053", "erythromycin 0.5% ophthalmic ointment")), "pass"),
    ("hydroxychloroquine is an antimalarial, not an anti-infective here -> pass",
     infection(3, 2, drug=(RXNORM, "5521", "hydroxychloroquine")), "pass"),
    ("chronic hepatitis B under entecavir is judged by EXC-HBV, not here -> pass",
     infection(900, 2, drug=(RXNORM, "306266", "entecavir"), code=(ICD10, "B18.1", "Chronic viral hepatitis B")),
     "pass"),
])
def test_infection(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-INFECTION", outcome)


def test_infection_with_a_single_antibiotic_administration(protocol):
    """EXC-INFECTION: an anti-infective given in the week as a MedicationAdministration counts -> fail."""
    p = srns_patient()
    condition(p, *UTI, p.day(3))
    administration(p, ATC, "J01DD04", "ceftriaxone", p.day(1))
    check(protocol, p, "EXC-INFECTION", "fail")


# -- EXC-HEART-FAILURE ----------------------------------------------------------------

def heart_failure(nyha=None, days=5):
    def change(p):
        condition(p, SNOMED, "84114007", "Heart failure", "2024-01-01")
        if nyha is not None:
            p.obs(LOINC, NYHA, days, valueInteger=nyha)
    return change


@pytest.mark.parametrize("rule, change, outcome", [
    ("latest NYHA class 3 -> fail", heart_failure(3), "fail"),
    ("latest NYHA class 4 -> fail", heart_failure(4), "fail"),
    ("latest NYHA class 2 -> pass", heart_failure(2), "pass"),
    ("data.md: NYHA as a coded value ending in a roman numeral ('Class III') -> fail",
     lambda p: p.obs(LOINC, NYHA, 5, valueCodeableConcept={"text": "NYHA Class III"}), "fail"),
    ("heart failure recorded with no NYHA class -> unknown", heart_failure(), "unknown"),
    ("CL-9: heart failure with a NYHA class 31 days old counts as no NYHA class -> unknown",
     heart_failure(3, days=31), "unknown"),
    ("no heart failure recorded -> pass", lambda p: p, "pass"),
])
def test_heart_failure(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-HEART-FAILURE", outcome)


# -- EXC-CARDIAC ----------------------------------------------------------------------

def mi(onset):
    return lambda p: condition(p, SNOMED, "22298006", "Myocardial infarction", onset, "resolved")


@pytest.mark.parametrize("rule, change, outcome", [
    ("congenital heart disease, any status (resolved) -> fail",
     lambda p: condition(p, SNOMED, "13213009", "Congenital heart disease", "2016-09-20", "resolved", "2017-03-01"),
     "fail"),
    ("congenital heart disease by ICD-10 Q21.0 (VSD) -> fail",
     lambda p: condition(p, ICD10, "Q21.0", "Ventricular septal defect", "2016-09-20", "inactive"), "fail"),
    ("MI onset exactly 6 months before screening (2025-09-02), resolved -> fail", mi("2025-09-02"), "fail"),
    ("MI onset 6 months and 1 day before screening (2025-09-01) -> pass", mi("2025-09-01"), "pass"),
    ("MI is an event: onset 2024, still coded active -> pass",
     lambda p: condition(p, SNOMED, "22298006", "Myocardial infarction", "2024-05-01"), "pass"),
    ("severe arrhythmia (ventricular tachycardia) active on as_of -> fail",
     lambda p: condition(p, SNOMED, "25569003", "Ventricular tachycardia", "2026-01-10"), "fail"),
    ("severe arrhythmia resolved before as_of -> pass",
     lambda p: condition(p, SNOMED, "25569003", "Ventricular tachycardia", "2025-10-01", "resolved", "2025-11-01"),
     "pass"),
    ("pericardial effusion active -> fail",
     lambda p: condition(p, ICD10, "I31.3", "Pericardial effusion (noninflammatory)", "2026-02-20"), "fail"),
    ("myocarditis active -> fail", lambda p: condition(p, SNOMED, "50920009", "Myocarditis", "2026-02-20"), "fail"),
    ("CL-11: a vasopressor given on the screening date -> fail",
     lambda p: administration(p, ATC, "C01CA03", "norepinephrine", p.day(0)), "fail"),
    ("CL-11: a vasopressor given before the screening date only -> pass",
     lambda p: administration(p, ATC, "C01CA03", "norepinephrine", p.day(2)), "pass"),
    ("CL-11: an epinephrine auto-injector is not a vasopressor -> pass",
     lambda p: p.drug(RXNORM, "1870230", "Epinephrine 0.3 ML Auto-Injector", "2025-01-01"), "pass"),
])
def test_cardiac(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-CARDIAC", outcome)


def test_cardiac_mi_eligible_from(protocol):
    """EXC-CARDIAC / protocol-language timeline: MI on 2025-09-02 leaves the 6-month window on 2026-03-03."""
    got = check(protocol, apply(mi("2025-09-02")), "EXC-CARDIAC", "fail")
    assert got["eligible_from"] == "2026-03-03"


# -- EXC-RRT (anchored on the infusion date; CL-2) --------------------------------------

HD = ("302497006", "Hemodialysis")


@pytest.mark.parametrize("rule, change, infusion, outcome, overall", [
    ("dialysis on infusion - 3 months (2026-03-01 for infusion 2026-06-01) -> fail",
     lambda p: procedure(p, *HD, "2026-03-01"), "2026-06-01", "fail", "ineligible"),
    ("dialysis 1 day before infusion - 3 months -> pass even though 1 day before screening (INC-RENAL reviews it)",
     lambda p: procedure(p, *HD, "2026-03-01"), "2026-06-02", "pass", "needs_review"),
    ("dialysis 7 weeks before screening but > 3 months before infusion -> pass",
     lambda p: procedure(p, *HD, "2026-01-10"), "2026-04-11", "pass", "eligible"),
    ("anchored on infusion, not screening: dialysis 2025-11-20 (> 3 months before screening) for infusion 2026-02-15",
     lambda p: procedure(p, *HD, "2025-11-20"), "2026-02-15", "fail", "ineligible"),
    ("dialysis course started > 3 months before screening, ending inside infusion - 3 months -> fail",
     lambda p: procedure(p, *HD, start="2025-10-01", end="2026-02-01"), "2026-04-15", "fail", "ineligible"),
    ("dialysis dependence (Z99.2) active -> fail",
     lambda p: condition(p, ICD10, "Z99.2", "Dependence on renal dialysis", "2025-08-01"),
     "2026-04-15", "fail", "ineligible"),
    ("dialysis dependence ended before infusion - 3 months -> pass",
     lambda p: condition(p, ICD10, "Z99.2", "Dependence on renal dialysis", "2025-01-01", "resolved", "2025-12-01"),
     "2026-04-15", "pass", "eligible"),
])
def test_rrt_anchored_on_infusion(protocol, rule, change, infusion, outcome, overall):
    check(protocol, apply(change), "EXC-RRT", outcome, overall, infusion=date.fromisoformat(infusion))


def test_rrt_ongoing_dialysis_period_fails(protocol):
    """EXC-RRT ('has been or is being performed'): dialysis open since 2025-10-01 is in the window -> fail."""
    check(protocol, apply(lambda p: procedure(p, *HD, start="2025-10-01")), "EXC-RRT", "fail",
          infusion=date(2026, 4, 15))


@pytest.mark.parametrize("rule, day, outcome", [
    ("no infusion date: window ends on as_of; dialysis on as_of - 3 months (2025-12-02) -> fail", "2025-12-02", "fail"),
    ("no infusion date: dialysis on 2025-12-01 -> pass", "2025-12-01", "pass"),
])
def test_rrt_without_infusion_date_uses_screening_date(protocol, rule, day, outcome):
    check(protocol, apply(lambda p: procedure(p, *HD, day)), "EXC-RRT", outcome)


def test_rrt_eligible_from_is_an_infusion_date(protocol):
    """EXC-RRT timeline: dialysis 2026-03-01 stays within 3 months before infusions up to 2026-06-01."""
    got = check(protocol, apply(lambda p: procedure(p, *HD, "2026-03-01")), "EXC-RRT", "fail",
                infusion=date(2026, 5, 1))
    assert got["eligible_from"] == "2026-06-02"


# -- EXC-HBV / EXC-HCV ------------------------------------------------------------------

HBSAG_POS = lab(HBSAG, True)


@pytest.mark.parametrize("rule, change, outcome", [
    ("both serologies negative -> pass", lambda p: p, "pass"),
    ("HBsAg positive and HBV DNA above the range -> fail", both(HBSAG_POS, lab(HBV_DNA, load=2e5, high=20)), "fail"),
    ("HBsAg positive, HBV DNA within the range -> pass", both(HBSAG_POS, lab(HBV_DNA, load=15, high=20)), "pass"),
    ("HBsAg positive, HBV DNA equal to the upper limit is not above it -> pass",
     both(HBSAG_POS, lab(HBV_DNA, load=20, high=20)), "pass"),
    ("anti-HBc positive (HBsAg negative) and HBV DNA above the range -> fail",
     both(lab(ANTI_HBC, True), lab(HBV_DNA, load=500, high=20)), "fail"),
    ("data.md: HBV DNA with interpretation H (no range) is above the range -> fail",
     both(HBSAG_POS, lab(HBV_DNA, flag="H")), "fail"),
    ("HBsAg positive, HBV DNA missing -> unknown", HBSAG_POS, "unknown"),
    ("HBsAg positive, HBV DNA 31 days old -> unknown",
     both(HBSAG_POS, lab(HBV_DNA, load=2e5, high=20, days=31)), "unknown"),
    ("serology missing (no HBsAg) -> unknown", lab(HBSAG), "unknown"),
])
def test_hbv(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-HBV", outcome)


@pytest.mark.parametrize("rule, change, outcome", [
    ("either positive: anti-HBc positive, HBV DNA above the range, HBsAg not done -> fail",
     both(lab(HBSAG), lab(ANTI_HBC, True), lab(HBV_DNA, load=2e5, high=20)), "fail"),
    ("either positive: HBsAg positive, HBV DNA within the range, anti-HBc not done -> pass",
     both(lab(ANTI_HBC), HBSAG_POS, lab(HBV_DNA, load=15, high=20)), "pass"),
])
def test_hbv_one_positive_serology_is_enough(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-HBV", outcome)


ANTI_HCV_POS = lab(ANTI_HCV, True)


@pytest.mark.parametrize("rule, change, outcome", [
    ("anti-HCV negative -> pass", lambda p: p, "pass"),
    ("anti-HCV positive and HCV RNA above the range -> fail",
     both(ANTI_HCV_POS, lab(HCV_RNA, load=8e4, high=15)), "fail"),
    ("anti-HCV positive, HCV RNA within the range -> pass", both(ANTI_HCV_POS, lab(HCV_RNA, load=10, high=15)), "pass"),
    ("anti-HCV positive, qualitative HCV RNA 'detected' -> above the range -> fail",
     both(ANTI_HCV_POS, lab(HCV_RNA_QUAL, text="detected")), "fail"),
    ("anti-HCV positive, qualitative HCV RNA 'not detected' -> pass",
     both(ANTI_HCV_POS, lab(HCV_RNA_QUAL, text="not detected")), "pass"),
    ("anti-HCV positive, HCV RNA missing -> unknown", ANTI_HCV_POS, "unknown"),
    ("anti-HCV missing -> unknown", lab(ANTI_HCV), "unknown"),
])
def test_hcv(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-HCV", outcome)


# -- EXC-HIV / EXC-SYPHILIS / EXC-CMV (qualitative results; data.md value forms) ------------

SEROLOGY = [("EXC-HIV", HIV_AB), ("EXC-SYPHILIS", TREPONEMAL), ("EXC-CMV", CMV_DNA)]


@pytest.mark.parametrize("criterion, code", SEROLOGY)
@pytest.mark.parametrize("rule, value, outcome", [
    ("SNOMED positive -> fail", {"positive": True}, "fail"),
    ("SNOMED negative -> pass", {"positive": False}, "pass"),
    ("valueString '阳性' -> fail", {"text": "阳性"}, "fail"),
    ("valueString '阴性' -> pass", {"text": "阴性"}, "pass"),
    ("valueString 'reactive' -> fail", {"text": "reactive"}, "fail"),
    ("interpretation POS -> fail", {"flag": "POS"}, "fail"),
    ("interpretation NEG -> pass", {"flag": "NEG"}, "pass"),
    ("missing -> unknown", {}, "unknown"),
])
def test_qualitative_serology(protocol, criterion, code, rule, value, outcome):
    check(protocol, apply(lab(code, **value)), criterion, outcome)


@pytest.mark.parametrize("criterion, code", SEROLOGY)
@pytest.mark.parametrize("rule, days, outcome", [
    ("Freshness: serology dated exactly 30 days before screening counts", 30, "pass"),
    ("Freshness: serology 31 days old -> unknown", 31, "unknown"),
])
def test_serology_freshness(protocol, criterion, code, rule, days, outcome):
    check(protocol, apply(lab(code, False, days=days)), criterion, outcome)


@pytest.mark.parametrize("rule, treponemal_days, rpr_days", [
    ("any syphilis test positive: treponemal positive, later RPR negative -> fail", 10, 5),
    ("any syphilis test positive: treponemal positive, earlier RPR negative -> fail", 5, 10),
])
def test_syphilis_any_test_positive(protocol, rule, treponemal_days, rpr_days):
    change = both(lab(TREPONEMAL, True, days=treponemal_days), lab(RPR, False, days=rpr_days))
    check(protocol, apply(change), "EXC-SYPHILIS", "fail")


@pytest.mark.parametrize("rule, load, outcome", [
    ("CMV DNA above the range -> fail", 1200, "fail"),
    ("CMV DNA within the range -> pass", 300, "pass"),
])
def test_cmv_viral_load(protocol, rule, load, outcome):
    check(protocol, apply(lab(CMV_DNA, load=load, high=500)), "EXC-CMV", outcome)


# -- EXC-HERPES (12 weeks = 84 days) --------------------------------------------------------

ZOSTER = (SNOMED, "4740000", "Herpes zoster")


@pytest.mark.parametrize("rule, change, outcome", [
    ("herpes zoster active in the window -> fail", lambda p: condition(p, *ZOSTER, p.day(30)), "fail"),
    ("zoster with onset long before the window, still active -> fail",
     lambda p: condition(p, *ZOSTER, p.day(200)), "fail"),
    ("herpes simplex (ICD-10 B00.9) active -> fail",
     lambda p: condition(p, ICD10, "B00.9", "Herpesviral infection, unspecified", p.day(10)), "fail"),
    ("zoster abated exactly 84 days before screening -> fail",
     lambda p: condition(p, *ZOSTER, p.day(100), "resolved", p.day(84)), "fail"),
    ("zoster abated 85 days before screening -> pass",
     lambda p: condition(p, *ZOSTER, p.day(100), "resolved", p.day(85)), "pass"),
    ("resolved without abatement date counts on its onset: onset 84 days before -> fail",
     lambda p: condition(p, *ZOSTER, p.day(84), "resolved"), "fail"),
    ("resolved without abatement date: onset 85 days before -> pass",
     lambda p: condition(p, *ZOSTER, p.day(85), "resolved"), "pass"),
])
def test_herpes(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-HERPES", outcome)


def test_herpes_eligible_from(protocol):
    """EXC-HERPES timeline: zoster abated 2025-12-08 (84 days) leaves the 12-week window on 2026-03-03."""
    got = check(protocol, apply(lambda p: condition(p, *ZOSTER, p.day(100), "resolved", "2025-12-08")),
                "EXC-HERPES", "fail")
    assert got["eligible_from"] == "2026-03-03"


# -- EXC-CNS (CL-3) -------------------------------------------------------------------------

SEIZURE = (SNOMED, "91175000", "Seizure")


def sledai_seizure(days):
    return lambda p: p.assessment("sledai-2k", ["seizure"], days)


@pytest.mark.parametrize("rule, change, outcome", [
    ("seizure exactly 60 days before screening -> fail",
     lambda p: condition(p, *SEIZURE, p.day(60), "resolved"), "fail"),
    ("CL-3: seizure 61 days before screening -> review",
     lambda p: condition(p, *SEIZURE, p.day(61), "resolved"), "review"),
    ("CL-3: seizure history years ago -> review",
     lambda p: condition(p, *SEIZURE, "2019-05-01", "resolved", "2019-05-02"), "review"),
    ("CL-3: 'history of single seizure' situation -> review",
     lambda p: condition(p, SNOMED, "703151001", "History of single seizure", "2020-01-01"), "review"),
    ("epilepsy (ICD-10 G40.9) active -> fail",
     lambda p: condition(p, ICD10, "G40.9", "Epilepsy, unspecified", "2018-01-01"), "fail"),
    ("SLEDAI-2K scoring 'seizure' exactly 60 days before screening -> fail", sledai_seizure(60), "fail"),
    ("other active CNS disease (cerebral infarction) -> fail",
     lambda p: condition(p, ICD10, "I63.9", "Cerebral infarction, unspecified", "2026-01-20"), "fail"),
    ("other CNS disease no longer active -> pass",
     lambda p: condition(p, ICD10, "I63.9", "Cerebral infarction, unspecified", "2020-01-20", "resolved", "2020-03-01"),
     "pass"),
])
def test_cns(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-CNS", outcome)


def test_cns_older_sledai_seizure_goes_to_review(protocol):
    """CL-3: a seizure scored in a SLEDAI-2K assessment 61 days before screening is seizure history -> review."""
    check(protocol, apply(sledai_seizure(61)), "EXC-CNS", "review")


# -- EXC-MALIGNANCY -------------------------------------------------------------------------

@pytest.mark.parametrize("rule, system, code, display, status", [
    ("malignant neoplasm ever: ICD-10 C prefix with dot (C50.9)",
     ICD10, "C50.9", "Malignant neoplasm of breast", "active"),
    ("malignant neoplasm ever: ICD-10 C prefix without dot (C509)",
     ICD10, "C509", "Malignant neoplasm of breast", "active"),
    ("ever: a resolved malignancy still excludes", ICD10, "C91.0", "Acute lymphoblastic leukaemia", "resolved"),
    ("ever: malignancy in remission still excludes", ICD10, "C91.0", "Acute lymphoblastic leukaemia", "remission"),
    ("non-melanoma skin cancer included (ICD-10-CM C44.91)",
     ICD10_CM, "C44.91", "Basal cell carcinoma of skin", "resolved"),
    ("malignant neoplasm by SNOMED 363346000", SNOMED, "363346000", "Malignant neoplastic disease", "resolved"),
])
def test_malignancy_ever(protocol, rule, system, code, display, status):
    p = srns_patient()
    condition(p, system, code, display, "2018-04-01", status)
    check(protocol, p, "EXC-MALIGNANCY", "fail")


def test_benign_neoplasm_is_not_malignancy(protocol):
    """EXC-MALIGNANCY: only malignant neoplasms count; a benign naevus (D22.9) -> pass."""
    check(protocol, apply(lambda p: condition(p, ICD10, "D22.9", "Melanocytic naevi, unspecified", "2018-04-01")),
          "EXC-MALIGNANCY", "pass")


# -- EXC-IMMUNODEFICIENCY --------------------------------------------------------------------

@pytest.mark.parametrize("rule, system, code, display, outcome", [
    ("primary immunodeficiency (CVID, D83.9) recorded -> fail",
     ICD10, "D83.9", "Common variable immunodeficiency", "fail"),
    ("secondary immunodeficiency (D84.821, drug-induced) recorded -> fail", ICD10_CM, "D84.821",
     "Immunodeficiency due to drugs", "fail"),
    ("HIV disease (B24) recorded -> fail", ICD10, "B24", "Unspecified HIV disease", "fail"),
    ("HIV infection (SNOMED 86406008) recorded -> fail",
     SNOMED, "86406008", "Human immunodeficiency virus infection", "fail"),
    ("no immunodeficiency: iron deficiency anaemia -> pass", ICD10, "D50.9", "Iron deficiency anaemia", "pass"),
])
def test_immunodeficiency(protocol, rule, system, code, display, outcome):
    p = srns_patient()
    condition(p, system, code, display, "2021-01-01")
    check(protocol, p, "EXC-IMMUNODEFICIENCY", outcome)


# -- EXC-TRANSPLANT (3 months; acute GVHD 2 weeks, CL-10) -------------------------------------

KIDNEY_TX, HSCT = ("70536003", "Transplant of kidney"), ("234336002", "Hemopoietic stem cell transplant")
AGVHD = (SNOMED, "402355000", "Acute graft-versus-host disease")


@pytest.mark.parametrize("rule, change, outcome", [
    ("kidney transplant exactly 3 months before screening (2025-12-02) -> fail",
     lambda p: procedure(p, *KIDNEY_TX, "2025-12-02"), "fail"),
    ("kidney transplant 3 months and 1 day before (2025-12-01) -> pass",
     lambda p: procedure(p, *KIDNEY_TX, "2025-12-01"), "pass"),
    ("HSCT exactly 3 months before -> fail", lambda p: procedure(p, *HSCT, "2025-12-02"), "fail"),
    ("transplant status (Z94.0) with onset within 3 months -> fail",
     lambda p: condition(p, ICD10, "Z94.0", "Kidney transplant status", "2026-01-15"), "fail"),
    ("transplant status (Z94.0) dated years ago -> pass",
     lambda p: condition(p, ICD10, "Z94.0", "Kidney transplant status", "2022-01-15"), "pass"),
    ("CL-10: acute GVHD active within 2 weeks, grade not coded -> fail",
     lambda p: condition(p, *AGVHD, p.day(20)), "fail"),
    ("acute GVHD abated exactly 14 days before screening -> fail",
     lambda p: condition(p, *AGVHD, p.day(40), "resolved", p.day(14)), "fail"),
    ("acute GVHD abated 15 days before screening -> pass",
     lambda p: condition(p, *AGVHD, p.day(40), "resolved", p.day(15)), "pass"),
])
def test_transplant(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-TRANSPLANT", outcome)


@pytest.mark.parametrize("rule, change, eligible_from", [
    ("transplant on 2025-12-02 leaves the 3-month window on 2026-03-03",
     lambda p: procedure(p, *KIDNEY_TX, "2025-12-02"), "2026-03-03"),
    ("acute GVHD abated 2026-02-16 leaves the 2-week window on 2026-03-03",
     lambda p: condition(p, *AGVHD, p.day(40), "resolved", "2026-02-16"), "2026-03-03"),
])
def test_transplant_eligible_from(protocol, rule, change, eligible_from):
    assert check(protocol, apply(change), "EXC-TRANSPLANT", "fail")["eligible_from"] == eligible_from


# -- EXC-LIVE-VACCINE (4 weeks = 28 days) -----------------------------------------------------

@pytest.mark.parametrize("rule, cvx, display, days, outcome, eligible_from", [
    ("live vaccine exactly 28 days before screening -> fail; leaves the window the next day",
     "21", "varicella virus vaccine", 28, "fail", "2026-03-03"),
    ("live vaccine 29 days before screening -> pass", "21", "varicella virus vaccine", 29, "pass", None),
    ("live vaccine (MMR) 10 days before -> fail until 29 days after it", "03", "MMR", 10, "fail", "2026-03-21"),
    ("data.md: 'unspecified formulation' that may be live (zoster 188) counts as live",
     "188", "zoster vaccine, unspecified formulation", 5, "fail", "2026-03-26"),
    ("inactivated vaccine (influenza 140) -> pass",
     "140", "Influenza, seasonal, injectable, preservative free", 5, "pass", None),
    ("recombinant zoster vaccine (Shingrix 187) is not live -> pass",
     "187", "zoster vaccine recombinant", 5, "pass", None),
])
def test_live_vaccine(protocol, rule, cvx, display, days, outcome, eligible_from):
    got = check(protocol, apply(lambda p: p.vaccine(cvx, display, days)), "EXC-LIVE-VACCINE", outcome)
    assert got["eligible_from"] == eligible_from


def _undated_live_vaccine(p):
    del p.vaccine("21", "varicella virus vaccine", 10)["occurrenceDateTime"]


@pytest.mark.parametrize("rule, change, outcome", [
    ("data.md Immunization: a live vaccine 'not-done' was not given -> pass",
     lambda p: p.vaccine("21", "varicella virus vaccine", 10).update(status="not-done"), "pass"),
    ("a live vaccine with no date cannot be placed outside the window -> unknown", _undated_live_vaccine, "unknown"),
])
def test_live_vaccine_status_and_date(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-LIVE-VACCINE", outcome)


# -- EXC-BCELL-THERAPY (1 calendar month before enrollment) --------------------------------------

RITUXIMAB = (RXNORM, "121191", "rituximab")


def b_cell(on, drug=RITUXIMAB):
    return lambda p: p.drug(*drug, on, on)


@pytest.mark.parametrize("rule, change, enrollment, outcome, eligible_from", [
    ("drug exactly 1 month before enrollment (2026-02-20 for 2026-03-20) -> fail",
     b_cell("2026-02-20"), "2026-03-20", "fail", "2026-03-21"),
    ("drug 1 month and 1 day before enrollment -> pass", b_cell("2026-02-19"), "2026-03-20", "pass", None),
    ("month end: 2026-03-31 minus 1 month = 2026-02-28, drug on 2026-02-28 inside -> fail",
     b_cell("2026-02-28"), "2026-03-31", "fail", "2026-04-01"),
    ("month end: drug on 2026-02-27 outside -> pass", b_cell("2026-02-27"), "2026-03-31", "pass", None),
    ("anchored on enrollment: drug 10 days before screening but > 1 month before enrollment -> pass",
     b_cell("2026-02-20"), "2026-04-10", "pass", None),
    ("no enrollment date: window ends on as_of; drug on as_of - 1 month (2026-02-02) -> fail",
     b_cell("2026-02-02"), None, "fail", "2026-03-03"),
    ("no enrollment date: drug on 2026-02-01 -> pass", b_cell("2026-02-01"), None, "pass", None),
])
def test_bcell_therapy_window(protocol, rule, change, enrollment, outcome, eligible_from):
    dates = {"enrollment": date.fromisoformat(enrollment)} if enrollment else {}
    got = check(protocol, apply(change), "EXC-BCELL-THERAPY", outcome, **dates)
    assert got["eligible_from"] == eligible_from


@pytest.mark.parametrize("rule, change", [
    ("obinutuzumab", b_cell("2026-02-20", (RXNORM, "974779", "obinutuzumab"))),
    ("ofatumumab", b_cell("2026-02-20", (RXNORM, "712566", "ofatumumab"))),
    ("ocrelizumab", b_cell("2026-02-20", (RXNORM, "1876366", "ocrelizumab"))),
    ("inebilizumab (ATC only)", b_cell("2026-02-20", (ATC, "L04AG10", "inebilizumab"))),
    ("belimumab, ongoing since 2025", lambda p: p.drug(RXNORM, "1092437", "belimumab", "2025-01-10")),
    ("telitacicept (local code)", b_cell("2026-02-20", (f"{TD}drug", "telitacicept", "telitacicept"))),
    ("telitacicept by its Chinese name only (no code)", lambda p: p.resources.append({
        "resourceType": "MedicationStatement", "id": "ms-cn", "status": "completed",
        "subject": {"reference": "Patient/srns"}, "medicationCodeableConcept": {"text": "泰它西普"},
        "effectivePeriod": {"start": "2026-02-20", "end": "2026-02-20"}})),
    ("another anti-CD19 agent (blinatumomab)", b_cell("2026-02-20", (ATC, "L01FX07", "blinatumomab"))),
    ("rituximab as a MedicationAdministration", lambda p: administration(p, *RITUXIMAB, "2026-02-20")),
    ("rituximab as a MedicationRequest", lambda p: request(p, *RITUXIMAB, "2026-02-10", "2026-02-20")),
])
def test_bcell_agents(protocol, rule, change):
    """EXC-BCELL-THERAPY: each listed agent (and any other anti-CD19/CD20/CD22/BAFF/APRIL) in the window -> fail."""
    check(protocol, apply(change), "EXC-BCELL-THERAPY", "fail")


def test_bcell_drug_ended_before_window(protocol):
    """EXC-BCELL-THERAPY: belimumab stopped 2026-01-15, before [as_of - 1 month, as_of] -> pass."""
    check(protocol, apply(lambda p: p.drug(RXNORM, "1092437", "belimumab", "2025-01-10", "2026-01-15")),
          "EXC-BCELL-THERAPY", "pass")


def test_bcell_drug_of_another_patient_is_not_evidence_either_way(protocol):
    """EXC-BCELL-THERAPY: a rituximab statement whose subject is another patient is reported and not
    used; since it could decide the criterion, the criterion is unknown, not pass (nor fail)."""
    def other_patients_rituximab(p):
        p.drug(*RITUXIMAB, "2026-02-20", "2026-02-20")["subject"] = {"reference": "Patient/someone-else"}

    got = check(protocol, apply(other_patients_rituximab), "EXC-BCELL-THERAPY", "unknown")
    assert "refers to Patient/someone-else" in got["reason"]


# -- EXC-PREGNANT (positive serum hCG within 7 days) ----------------------------------------------

@pytest.mark.parametrize("rule, change, outcome, overall", [
    ("positive serum hCG exactly 7 days before screening -> fail", lab(HCG_SERUM, True, days=7), "fail", "ineligible"),
    ("positive serum hCG 8 days before: not within 7 days -> pass (INC-PREGNANCY-TEST then unknown)",
     lab(HCG_SERUM, True, days=8), "pass", "incomplete"),
    ("positive serum hCG as valueString '阳性' -> fail", lab(HCG_SERUM, text="阳性", days=2), "fail", "ineligible"),
    ("only blood counts: positive urine hCG -> pass (INC-PREGNANCY-TEST fails)",
     both(lab(HCG_SERUM), lab(HCG_URINE, True, days=2)), "pass", "ineligible"),
    ("negative serum hCG -> pass", lab(HCG_SERUM, False, days=2), "pass", "eligible"),
    ("no pregnancy test -> pass (INC-PREGNANCY-TEST then unknown)", lab(HCG_SERUM), "pass", "incomplete"),
])
def test_pregnant(protocol, rule, change, outcome, overall):
    check(protocol, apply(change, girl), "EXC-PREGNANT", outcome, overall)


def test_pregnant_not_tested_male_passes(protocol):
    """EXC-PREGNANT: no positive serum hCG (a boy, never tested) -> pass."""
    check(protocol, srns_patient(), "EXC-PREGNANT", "pass")


# -- EXC-OTHER-TRIAL (3 months before enrollment) --------------------------------------------------

@pytest.mark.parametrize("rule, change, outcome", [
    ("another study's period ends on enrollment - 3 months (2025-12-31) -> overlaps -> fail",
     lambda p: research_subject(p, "NCT01234567", "2025-06-01", "2025-12-31"), "fail"),
    ("another study's period ended 2025-12-30, before the window -> pass",
     lambda p: research_subject(p, "NCT01234567", "2025-06-01", "2025-12-30"), "pass"),
    ("ongoing participation (open period) -> fail",
     lambda p: research_subject(p, "NCT01234567", "2025-01-01", None), "fail"),
    ("the period decides, not the status: 'off-study' with an overlapping period -> fail",
     lambda p: research_subject(p, "NCT01234567", "2025-06-01", "2026-01-15", "off-study"), "fail"),
    ("the period decides, not the status: 'on-study' with a period before the window -> pass",
     lambda p: research_subject(p, "NCT01234567", "2025-01-01", "2025-06-01", "on-study"), "pass"),
    ("this study (carnk-aid) is not another study -> pass",
     lambda p: research_subject(p, "carnk-aid", "2026-02-20", None, "candidate"), "pass"),
    ("attestation 'other-trial-3m' true -> fail", lambda p: p.attest("other-trial-3m", True), "fail"),
    ("attestation 'other-trial-3m' false -> pass", lambda p: p.attest("other-trial-3m", False), "pass"),
    ("no record -> no other study -> pass", lambda p: p, "pass"),
])
def test_other_trial(protocol, rule, change, outcome):
    check(protocol, apply(change), "EXC-OTHER-TRIAL", outcome, enrollment=date(2026, 3, 31))


@pytest.mark.parametrize("rule, end, outcome", [
    ("no enrollment date: window ends on as_of; period ending 2025-12-02 overlaps -> fail", "2025-12-02", "fail"),
    ("no enrollment date: period ending 2025-12-01 -> pass", "2025-12-01", "pass"),
])
def test_other_trial_without_enrollment_uses_screening_date(protocol, rule, end, outcome):
    check(protocol, apply(lambda p: research_subject(p, "NCT01234567", "2025-06-01", end)), "EXC-OTHER-TRIAL", outcome)


# -- investigator attestations (CL-13: the latest one decides) ---------------------------------------

ATTESTED = [("EXC-MAJOR-CONDITION", "no-major-condition"), ("EXC-LAB-SIGNIFICANT", "labs-not-significant"),
            ("EXC-INVESTIGATOR", "investigator-no-concern")]


@pytest.mark.parametrize("criterion, code", ATTESTED)
@pytest.mark.parametrize("rule, values, outcome", [
    ("attestation true -> pass", [(True, 1)], "pass"),
    ("attestation false -> fail", [(False, 1)], "fail"),
    ("attestation missing -> unknown", [], "unknown"),
    ("CL-13: the latest attestation decides (false, then true) -> pass", [(False, 20), (True, 2)], "pass"),
    ("CL-13: the latest attestation decides (true, then false) -> fail", [(True, 20), (False, 2)], "fail"),
    ("CL-13: an attestation dated after screening does not count", [(True, 2), (False, -1)], "pass"),
])
def test_investigator_attestations(protocol, criterion, code, rule, values, outcome):
    p = without(srns_patient(), code)
    for value, days in values:
        p.attest(code, value, days)
    check(protocol, p, criterion, outcome)


# -- malformed records (data.md: never pass) --------------------------------------------------------

def raw(resource):
    return lambda p: p.resources.append({"id": f"bad-{resource['resourceType'].lower()}", **resource})


MALFORMED_HIV = raw({"resourceType": "Observation", "status": "final", "code": concept(LOINC, HIV_AB, "HIV 1+2 Ab"),
                     "subject": {"reference": "Patient/srns"}, "effectiveDateTime": "2026-02-3O",
                     "valueString": "positive"})


@pytest.mark.parametrize("rule, criterion, change", [
    ("an Immunization with a live CVX and an unparseable date", "EXC-LIVE-VACCINE", raw({
        "resourceType": "Immunization", "status": "completed", "patient": {"reference": "Patient/srns"},
        "vaccineCode": concept(CVX, "21", "varicella virus vaccine"), "occurrenceDateTime": "2026-02-30"})),
    ("a B-cell drug statement with an unparseable start", "EXC-BCELL-THERAPY", raw({
        "resourceType": "MedicationStatement", "status": "completed", "subject": {"reference": "Patient/srns"},
        "medicationCodeableConcept": concept(*RITUXIMAB), "effectivePeriod": {"start": "20/02/2026"}})),
    ("a dialysis procedure with an unparseable date", "EXC-RRT", raw({
        "resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/srns"},
        "code": concept(SNOMED, *HD), "performedDateTime": "last week"})),
    ("a malignancy condition with an unparseable onset", "EXC-MALIGNANCY", raw({
        "resourceType": "Condition", "subject": {"reference": "Patient/srns"},
        "code": concept(ICD10, "C50.9", "Malignant neoplasm of breast"), "onsetDateTime": "2019-13-01"})),
    ("a cyclophosphamide allergy with an unparseable recorded date", "EXC-ALLERGY", raw({
        "resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/srns"},
        "code": concept(*CYCLOPHOSPHAMIDE), "criticality": "low", "recordedDate": "unknown"})),
    ("the only HIV antibody result, with an unparseable date", "EXC-HIV",
     both(lab(HIV_AB), MALFORMED_HIV)),
])
def test_malformed_matching_record_gives_unknown(protocol, rule, criterion, change):
    """data.md: a criterion whose codes match a malformed resource is unknown, never pass."""
    check(protocol, apply(change), criterion, "unknown")


def test_malformed_result_beside_a_readable_one_gives_unknown(protocol):
    """data.md: a malformed 'positive' HIV result beside a readable negative one -> unknown, not pass."""
    check(protocol, apply(MALFORMED_HIV), "EXC-HIV", "unknown")


# -- what every result carries (criteria.md Outcomes and Clarifications) ------------------------

@pytest.mark.parametrize("criterion, change", [
    ("EXC-HBV", HBSAG_POS),
    ("EXC-HCV", lab(ANTI_HCV)),
    ("EXC-HIV", lab(HIV_AB)),
    ("EXC-INVESTIGATOR", lambda p: without(p, "investigator-no-concern")),
    pytest.param("EXC-HEART-FAILURE", heart_failure()),
    pytest.param("EXC-HBV", lab(HBSAG)),
    pytest.param("EXC-LIVE-VACCINE", _undated_live_vaccine),
])
def test_unknown_says_what_to_collect(protocol, criterion, change):
    """Outcomes: an unknown 'says exactly which data' - its needs name what to collect."""
    got = check(protocol, apply(change), criterion, "unknown")
    assert got["needs"] and all(n["what"] for n in got["needs"])


@pytest.mark.parametrize("criterion, clarifications", [
    ("EXC-CNS", {"CL-3"}),
    ("EXC-RRT", {"CL-2", "CL-4"}),
    ("EXC-CARDIAC", {"CL-4", "CL-11"}),
    ("EXC-MAJOR-CONDITION", {"CL-6"}),
    ("EXC-HEART-FAILURE", {"CL-9"}),
    ("EXC-TRANSPLANT", {"CL-10"}),
    ("EXC-INFECTION", {"CL-14"}),
])
def test_clarifications_shown_next_to_the_criterion(protocol, criterion, clarifications):
    """Clarifications: the software shows each CL-n next to the criterion it touches."""
    got = check(protocol, srns_patient(), criterion, "pass")
    assert clarifications <= set(got["clarifications"])
