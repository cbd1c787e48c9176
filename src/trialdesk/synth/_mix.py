"""The population mix: groups, data completeness, and the facets that place people at the
criteria's edges. :func:`describe_mix` prints it as a table.

Each person belongs to one **group**. Cohort patients (``sle``, ``srns``, ``ns-other``,
``srns-sle``) get a **completeness** and, unless they have nothing but a diagnosis, one
option of every **facet** that applies to them. Facet options are drawn independently,
so a patient can sit on several edges at once; the option chosen for each facet is
kept in the ``persons`` table (``f_<facet>``) so a test can find, say, every complete
SLE patient with LVEF exactly 54 %.

Groups are allocated by quota (largest remainder) in every chunk, so even a few hundred
persons follow the proportions; facet options are drawn at random.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    name: str
    share: float
    cohorts: str  # which cohorts' entry diagnosis the group carries
    description: str


GROUPS: tuple[Group, ...] = (
    Group("general", 0.74, "-", "ordinary conditions, routine labs and vitals, vaccines, drugs, allergies"),
    Group("sle-like", 0.03, "-", "SLE-like but not SLE: rheumatoid arthritis, ANA 1:80-1:160, joint pain, "
                                "hydroxychloroquine, EULAR/ACR score < 10"),
    Group("renal-other", 0.03, "-", "kidney disease that is not nephrotic syndrome: CKD 1-4, IgA nephropathy, "
                                   "dialysis, reported eGFR"),
    Group("sle", 0.10, "SLE", "SLE, age 5-70, 90 % female, lupus nephritis in 30 %"),
    Group("srns", 0.065, "SRNS", "steroid-resistant nephrotic syndrome, age 3-40, 60 % children"),
    Group("ns-other", 0.025, "SRNS", "nephrotic syndrome without steroid resistance (steroid-sensitive, "
                                    "-dependent or unspecified): fails SRNS-DIAGNOSIS"),
    Group("srns-sle", 0.01, "SLE+SRNS", "SRNS with SLE as comorbidity (SRNS-COMORBID review; enters both cohorts)"),
)
GROUP_INDEX = {g.name: k for k, g in enumerate(GROUPS)}
COHORT_GROUPS = ("sle", "srns", "ns-other", "srns-sle")

COMPLETENESS: tuple[tuple[str, float, str], ...] = (
    ("complete", 0.40, "every screening measurement within 30 days (7 for hCG), attestations, history"),
    ("partial", 0.25, "as complete, but each screening measurement missing with probability 0.3"),
    ("stale", 0.15, "as complete, but each screening measurement 31-90 days old with probability 0.4"),
    ("history", 0.10, "diagnosis, treatment history and old labs (>= 120 days), no screening panel"),
    ("diagnosis", 0.10, "nothing but the diagnosis"),
)
COMPLETENESS_INDEX = {c[0]: k for k, c in enumerate(COMPLETENESS)}


@dataclass(frozen=True)
class Facet:
    name: str
    applies: str  # who draws it
    options: tuple[tuple[str, float, str], ...]


def _f(name: str, applies: str, *options: tuple[str, float, str]) -> Facet:
    total = sum(p for _, p, _ in options)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"facet {name}: probabilities add up to {total}")
    return Facet(name, applies, tuple(options))


PANEL = "cohort patients with a screening panel (complete, partial, stale)"
HISTORY = "cohort patients with a history (all but diagnosis-only)"
FACETS: tuple[Facet, ...] = (
    _f("profile", "cohort patients",
       ("typical", 0.75, "every other facet drawn as listed"),
       ("clean", 0.25, "every edge and exclusion facet at its first (normal) option: eligible when complete "
                       "(SLE; SRNS with srns_dx, a MCD/FSGS biopsy and path-1 history)")),
    _f("age_edge", "SLE and SRNS patients",
       ("none", 0.94, "age drawn from the group's range"),
       ("at_min", 0.03, "birthday on as_of: exactly 5 (SLE) / 3 (SRNS) years old -> age criterion passes"),
       ("below_min", 0.03, "turns 5 / 3 the day after as_of -> age criterion fails")),
    _f("lvef", PANEL, ("normal", 0.86, "LVEF 56-72 %"), ("at_55", 0.07, "LVEF exactly 55 % -> pass"),
       ("at_54", 0.07, "LVEF 54 % -> fail")),
    _f("spo2", PANEL, ("normal", 0.88, "SpO2 94-100 %"), ("at_92", 0.06, "SpO2 exactly 92 % -> pass"),
       ("at_91", 0.06, "SpO2 91 % -> fail")),
    _f("liver", PANEL,
       ("normal", 0.70, "AST, ALT, bilirubin within range, each with referenceRange.high"),
       ("ast_at_3x", 0.05, "AST exactly 3.0 x ULN -> pass"), ("ast_above", 0.04, "AST 3.025 x ULN -> fail"),
       ("alt_at_3x", 0.04, "ALT exactly 3.0 x ULN -> pass"), ("alt_above", 0.03, "ALT 3.1 x ULN -> fail"),
       ("tbil_at_2x", 0.05, "bilirubin exactly 2.0 x ULN -> pass"), ("tbil_above", 0.04, "bilirubin 2.2 x ULN -> fail"),
       ("no_uln", 0.05, "AST without referenceRange.high -> unknown (no site table)")),
    _f("creat_unit", PANEL, ("umol", 0.50, "creatinine 14682-9 umol/L"), ("mgdl", 0.35, "creatinine 2160-0 mg/dL"),
       ("blood", 0.15, "creatinine 38483-4 mg/dL (Synthea's code)")),
    _f("tbil_unit", PANEL, ("umol", 0.60, "bilirubin 14631-6 umol/L"), ("mgdl", 0.40, "bilirubin 1975-2 mg/dL")),
    _f("renal", PANEL,
       ("normal", 0.82, "creatinine giving eGFR >= 30"), ("egfr_below_30", 0.06, "high creatinine: eGFR < 30 -> review"),
       ("dialysis_recent", 0.03, "haemodialysis 3x/week up to 2 days ago -> INC-RENAL review, EXC-RRT fail"),
       ("dialysis_2m", 0.02, "last dialysis 2 months ago -> EXC-RRT fail"),
       ("dialysis_4m", 0.02, "last dialysis 4 months ago -> EXC-RRT pass"),
       ("reported_egfr", 0.05, "no creatinine, a reported eGFR (98979-8) instead")),
    _f("height", "patients under 18 with a screening creatinine",
       ("same_day", 0.55, "height on the creatinine date"), ("within_90", 0.20, "height 1-90 days before (90 exactly in part)"),
       ("outside_90", 0.15, "height 91-200 days before the creatinine -> eGFR unknown"),
       ("none", 0.10, "no height -> eGFR unknown")),
    _f("performance", PANEL,
       ("ecog_ok", 0.60, "ECOG 0-2"), ("ecog_3", 0.05, "ECOG 3 -> fail"),
       ("karnofsky", 0.12, "Karnofsky 50-100 (50 in part), no ECOG"), ("karnofsky_40", 0.03, "Karnofsky 40 -> fail"),
       ("lansky", 0.12, "Lansky 50-100 (local code; children, Karnofsky for adults)"),
       ("none", 0.08, "no performance score -> unknown")),
    _f("ecg", PANEL, ("normal", 0.80, "ECG normal"), ("ans", 0.13, "abnormal, not significant -> pass"),
       ("as", 0.07, "abnormal, significant -> fail")),
    _f("serology", PANEL,
       ("negative", 0.80, "HBsAg, anti-HBc, anti-HCV, HIV, syphilis negative; CMV not detected"),
       ("hbv_above", 0.025, "HBsAg positive, HBV DNA above range -> fail"),
       ("hbv_within", 0.025, "HBsAg positive, HBV DNA within range -> pass"),
       ("hbv_no_dna", 0.02, "HBsAg positive, no HBV DNA -> unknown"),
       ("anti_hbc_above", 0.015, "anti-HBc positive, HBV DNA above range -> fail"),
       ("hcv_above", 0.02, "anti-HCV positive, HCV RNA above range -> fail"),
       ("hcv_within", 0.02, "anti-HCV positive, HCV RNA within range -> pass"),
       ("hiv", 0.01, "HIV antibody positive -> fail"), ("syphilis", 0.015, "RPR positive -> fail"),
       ("cmv", 0.02, "CMV DNA detected -> fail"), ("missing", 0.03, "no serology -> unknown")),
    _f("pregnancy", "female patients 12-54 with a panel",
       ("serum_neg", 0.55, "negative serum hCG within 7 days"), ("urine_neg", 0.20, "negative urine hCG"),
       ("none", 0.10, "no pregnancy test -> unknown (FOCBP)"), ("serum_pos", 0.03, "positive serum hCG -> fail"),
       ("at_7d", 0.06, "negative serum hCG exactly 7 days old -> pass"),
       ("stale_8d", 0.06, "negative serum hCG 8 days old -> unknown")),
    _f("contraception", "female patients 12-54 with a panel",
       ("true", 0.85, "contraception-agreed true"), ("false", 0.03, "contraception-agreed false -> fail"),
       ("missing", 0.12, "no attestation -> unknown")),
    _f("focbp_override", "female patients 12-54 with a history",
       ("none", 0.88, "FOCBP by age and sex"), ("attest_false", 0.04, "childbearing-potential attested false"),
       ("hysterectomy", 0.04, "total hysterectomy recorded"), ("postmenopausal", 0.04, "postmenopausal state recorded")),
    _f("attest", PANEL,
       ("all_true", 0.75, "no-major-condition, labs-not-significant, investigator-no-concern true"),
       ("some_missing", 0.10, "one to three of them missing -> unknown"),
       ("one_false", 0.05, "one of them false -> fail"),
       ("latest_decides", 0.05, "an older false and a newer true (CL-13) -> pass"),
       ("none", 0.05, "none recorded")),
    _f("consent", PANEL, ("resource", 0.60, "active research Consent"), ("attestation", 0.25, "consent-signed true"),
       ("none", 0.15, "no consent -> unknown")),
    _f("survival", PANEL,
       ("attest_true", 0.70, "predicted-survival-12w true"), ("weeks_52", 0.12, "predicted survival 52 wk"),
       ("weeks_12", 0.03, "predicted survival exactly 12 wk -> pass"), ("weeks_10", 0.03, "10 wk -> fail"),
       ("attest_false", 0.02, "predicted-survival-12w false -> fail"), ("none", 0.10, "nothing -> unknown")),
    _f("vaccine", HISTORY,
       ("none", 0.90, "no recent vaccine"), ("live_28", 0.03, "live vaccine exactly 28 days ago -> fail"),
       ("live_29", 0.03, "live vaccine 29 days ago -> pass"), ("nonlive_5", 0.04, "inactivated vaccine 5 days ago -> pass")),
    _f("bcell", HISTORY,
       ("none", 0.90, "no B-cell drug in the last month"),
       ("rituximab_1m", 0.025, "rituximab exactly 1 calendar month before as_of -> fail"),
       ("rituximab_1m1d", 0.025, "rituximab 1 month and 1 day before -> pass"),
       ("belimumab_ongoing", 0.025, "belimumab ongoing -> fail"),
       ("telitacicept_ongoing", 0.025, "telitacicept ongoing (urn:trialdesk:drug) -> fail")),
    _f("infection", HISTORY,
       ("none", 0.88, "no recent infection"),
       ("treated_now", 0.03, "pneumonia active 4 days, cefuroxime for 3 days -> fail"),
       ("resolved_8d", 0.03, "UTI resolved 8 days ago, cephalexin ended 8 days ago (washout) -> pass"),
       ("prophylaxis", 0.04, "penicillin V ongoing without infection -> pass"),
       ("sepsis", 0.02, "sepsis active 3 days ago -> fail")),
    _f("herpes", HISTORY, ("none", 0.94, "no herpes"),
       ("at_84", 0.03, "herpes zoster resolved exactly 12 weeks ago -> fail"),
       ("at_85", 0.03, "herpes zoster resolved 85 days ago -> pass")),
    _f("cns", HISTORY,
       ("none", 0.88, "no CNS disease"), ("seizure_30", 0.025, "seizure 30 days ago, active -> fail"),
       ("seizure_60", 0.02, "seizure resolved exactly 60 days ago -> fail"),
       ("seizure_61", 0.02, "seizure resolved 61 days ago -> EXC-CNS review"),
       ("seizure_old", 0.02, "epilepsy resolved years ago -> review"),
       ("seizure_history", 0.015, "history of single seizure -> review"),
       ("cva_old", 0.02, "stroke resolved a year ago -> pass")),
    _f("cardiac", HISTORY,
       ("none", 0.86, "no heart disease"), ("chd", 0.015, "congenital heart disease -> fail"),
       ("mi_5m", 0.015, "myocardial infarction 5 months ago -> fail"),
       ("mi_7m", 0.015, "myocardial infarction 7 months ago -> pass"), ("vt", 0.015, "ventricular tachycardia active -> fail"),
       ("pericardial", 0.01, "pericardial effusion active -> fail"),
       ("myocarditis_old", 0.02, "myocarditis resolved a year ago -> pass"),
       ("hf_nyha3", 0.015, "heart failure, NYHA III -> fail"), ("hf_nyha2", 0.02, "heart failure, NYHA II -> pass"),
       ("hf_no_nyha", 0.015, "heart failure, no NYHA class -> unknown")),
    _f("other", HISTORY,
       ("none", 0.795, "no other exclusion"), ("malignancy", 0.02, "breast cancer (women) or colon cancer -> fail"),
       ("immunodeficiency", 0.015, "primary immunodeficiency -> fail"),
       ("transplant_2m", 0.015, "kidney transplant 2 months ago -> fail"),
       ("transplant_4m", 0.015, "kidney transplant 4 months ago -> pass"),
       ("gvhd", 0.01, "HSCT years ago, acute GVHD 10 days ago -> fail"),
       ("trial_2m", 0.02, "other study ended 2 months ago -> fail"), ("trial_4m", 0.02, "ended 4 months ago -> pass"),
       ("trial_open", 0.015, "other study ongoing -> fail"), ("trial_attest", 0.01, "other-trial-3m attested -> fail"),
       ("allergy_cyclophosphamide", 0.015, "allergy to cyclophosphamide -> fail"),
       ("anaphylaxis", 0.015, "shellfish allergy with anaphylaxis -> fail"),
       ("severe_allergy", 0.015, "penicillin allergy, criticality high, severe reaction -> fail"),
       ("lung_ild", 0.01, "interstitial lung disease active -> fail"),
       ("lung_pe_old", 0.01, "pulmonary embolism resolved 45 days ago -> pass")),
    _f("future", "everyone",
       ("none", 0.995, "nothing after as_of"), ("lab", 0.004, "one creatinine dated 1-30 days after as_of"),
       ("condition", 0.001, "one condition with onset after as_of")),
    # SLE
    _f("classification", "SLE patients with a history",
       ("classified", 0.80, "ANA 1:160-1:1280 and a 2019 EULAR/ACR assessment scoring >= 10"),
       ("ana_low", 0.04, "ANA 1:40 -> fail"), ("ana_negative", 0.04, "ANA negative -> fail"),
       ("no_ana", 0.04, "no ANA -> unknown"), ("low_score", 0.04, "score < 10 -> fail"),
       ("no_assessment", 0.04, "no EULAR/ACR assessment -> unknown")),
    _f("sledai", "SLE patients with a panel",
       ("above_6", 0.65, "SLEDAI-2K 8-16 from descriptors"), ("exactly_6", 0.07, "exactly 6 -> fail"),
       ("exactly_7", 0.07, "exactly 7 -> pass"), ("low", 0.07, "4 -> fail"),
       ("total_only", 0.07, "recorded total 8, no descriptors -> pass"),
       ("neuro", 0.07, "seizure descriptor (score 12) -> SLE-NO-CNS and EXC-CNS fail")),
    _f("refractory", "SLE patients with a history",
       ("a_full", 0.30, "prednisone >= 1 mg/kg/d for 90-150 days, hydroxychloroquine, 2 agents -> pass"),
       ("a_90_exact", 0.06, "prednisone exactly 1.0 mg/kg/d for exactly 90 days, then 5 mg -> pass"),
       ("a_89", 0.06, "the same for 89 days, then 5 mg -> fail"),
       ("b_intolerance", 0.08, "AllergyIntolerance (intolerance) to a standard drug -> pass"),
       ("b_attest", 0.05, "intolerant-standard-therapy attested -> pass"),
       ("c_current", 0.20, "glucocorticoid since >= 6 months, now 7.5-20 mg/d -> pass"),
       ("c_5mg", 0.06, "glucocorticoid since >= 6 months, now exactly 5 mg/d -> fail"),
       ("c_6m_exact", 0.04, "prednisone 10 mg/d started exactly 6 months ago -> pass"),
       ("c_recent", 0.04, "prednisone 10 mg/d started 5 months ago -> fail"),
       ("c_methylpred_4mg", 0.03, "methylprednisolone 4 mg/d (= 5 mg prednisone) -> fail"),
       ("dose_unknown", 0.04, "current prednisone with no dose -> unknown"),
       ("no_meds", 0.04, "no medication at all -> unknown")),
    _f("mas", "SLE patients with a history", ("none", 0.94, "no MAS"), ("active", 0.03, "HLH/MAS active -> fail"),
       ("resolved_40d", 0.03, "MAS resolved 40 days ago -> pass")),
    # SRNS
    _f("srns_dx", "SRNS patients", ("srns", 0.70, "236381000"), ("srns_child", 0.20, "449820008 (children)"),
       ("mdrns", 0.10, "717760006 multidrug-resistant NS")),
    _f("ns_dx", "ns-other patients", ("ssns", 0.40, "steroid-sensitive"), ("sdns", 0.30, "steroid-dependent"),
       ("ns", 0.20, "nephrotic syndrome (SNOMED)"), ("ns_icd", 0.10, "nephrotic syndrome N04.9 (ICD-10 + SNOMED)")),
    _f("biopsy", "nephrotic patients with a history",
       ("mcd", 0.30, "minimal change disease (SNOMED)"), ("mcd_icd", 0.10, "N04.0 (ICD-10 + SNOMED)"),
       ("fsgs", 0.25, "FSGS (SNOMED)"), ("fsgs_icd", 0.10, "N04.1 (ICD-10 + SNOMED)"),
       ("membranous", 0.08, "membranous -> fail"), ("none", 0.17, "no biopsy -> unknown")),
    _f("multidrug", "nephrotic patients with a history",
       ("path1_active", 0.30, "tacrolimus/ciclosporin + mycophenolate >= 12 months, UPCR > 0.2 -> pass"),
       ("path1_relapse", 0.12, "the same, UPCR <= 0.2 then >= 2 (relapse) -> pass"),
       ("path1_remission", 0.10, "the same, latest UPCR <= 0.2 (0.2 g/g or 21 mg/mmol exactly in part) -> fail"),
       ("path1_rituximab", 0.06, "CNI + rituximab (anti-CD20) >= 12 months -> pass"),
       ("path1_telitacicept", 0.04, "CNI + telitacicept >= 12 months -> pass"),
       ("path1_11m", 0.06, "CNI + mycophenolate over 11 months only (CNI >= 3 months) -> review"),
       ("path2", 0.12, "one CNI for 4-10 months, UPCR > 0.2 -> review"),
       ("path2_exact_3m", 0.04, "one CNI started exactly 3 months ago -> review"),
       ("cni_2m", 0.06, "one CNI for 2 months -> fail"), ("steroids_only", 0.06, "steroids only -> fail"),
       ("upcr_missing", 0.04, "path 1 history, no fresh UPCR -> unknown")),
    _f("upcr_unit", "nephrotic patients with a history",
       ("gg", 0.35, "2890-2 in g/g"), ("mgg", 0.25, "2890-2 in mg/g"), ("mgmmol", 0.40, "34366-5 in mg/mmol")),
)
FACET_INDEX = {f.name: k for k, f in enumerate(FACETS)}


def option(facet: str, name: str) -> int:
    """The index of option ``name`` of ``facet``."""
    names = [o[0] for o in FACETS[FACET_INDEX[facet]].options]
    return names.index(name)


def describe_mix() -> str:
    """The mix as Markdown tables: groups, completeness, and every facet with its options."""
    lines = ["| group | share | cohorts | what |", "|---|---:|---|---|"]
    lines += [f"| {g.name} | {g.share:.1%} | {g.cohorts} | {g.description} |" for g in GROUPS]
    lines += ["", "Cohort patients, by completeness:", "", "| completeness | share | what |", "|---|---:|---|"]
    lines += [f"| {name} | {share:.0%} | {what} |" for name, share, what in COMPLETENESS]
    lines += ["", "Facets (drawn independently for the patients they apply to):", "",
              "| facet | applies to | option | share | what |", "|---|---|---|---:|---|"]
    for f in FACETS:
        for k, (name, share, what) in enumerate(f.options):
            lines.append(f"| {f.name if k == 0 else ''} | {f.applies if k == 0 else ''} | {name} | {share:.1%} | {what} |")
    return "\n".join(lines)
