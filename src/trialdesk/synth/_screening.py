"""The screening panel of cohort patients and the events of the exclusion facets.

Panel items are dated around a per-patient visit 1-20 days before ``as_of`` (30 days
exactly for 4 % of complete patients' items: the freshness edge). ``partial`` patients
miss each item with probability 0.3; ``stale`` patients have each measurement 31-90
days old with probability 0.4. Attestations, consent and survival follow their facets.
"""

from __future__ import annotations

import numpy as np

from trialdesk.synth import _catalogue as cat
from trialdesk.synth._chunk import Chunk, add_months
from trialdesk.synth._cohorts import to_upcr
from trialdesk.synth._mix import option

CRITICAL_HIGH, SEVERE = cat.CRITICALITIES.index("high"), cat.SEVERITIES.index("severe")


class Panel:
    """Decides, item by item, which panel patients have a measurement and its date."""

    def __init__(self, c: Chunk, who: np.ndarray) -> None:
        self.c = c
        self.base = c.days(1, 20, len(who))
        self.partial = c.is_completeness("partial")[who]
        self.stale = c.is_completeness("stale")[who]
        self.edge30 = c.is_completeness("complete")[who]

    def item(self, who: np.ndarray, fixed=None) -> tuple[np.ndarray, np.ndarray]:
        """(positions among the panel patients that have the item, its day); ``fixed`` = days before
        as_of instead of the visit's."""
        c = self.c
        k = len(who)
        off = np.minimum(self.base[who] + c.days(0, 3, k), 30) if fixed is None else np.asarray(fixed) + np.zeros(k, int)
        if fixed is None:
            off = np.where(self.edge30[who] & c.chance(0.04, k), 30, off)
        stale = self.stale[who] & c.chance(0.4, k)
        off = np.where(stale, c.days(31, 90, k), off)
        keep = ~(self.partial[who] & c.chance(0.3, k))
        return who[keep], c.A - off[keep]


def screening(c: Chunk) -> None:
    A = c.A
    who = np.flatnonzero(c.is_completeness("complete", "partial", "stale"))
    P = Panel(c, who)
    n = len(who)
    f = {name: c.facets[name][who] for name in c.facets}
    opt = lambda facet, *names: np.isin(f[facet], [option(facet, o) for o in names])  # noqa: E731

    # LVEF, SpO2, ECG
    lvef = np.where(opt("lvef", "at_55"), 55.0, np.where(opt("lvef", "at_54"), 54.0, c.days(56, 72, n)))
    code = c.pick(cat.idx("lvef", "lvef_us", "lvef_2d"), n, p=[0.8, 0.1, 0.1])
    w, d = P.item(np.arange(n))
    c.meas(who[w], code[w], d, lvef[w])
    spo2 = np.where(opt("spo2", "at_92"), 92.0, np.where(opt("spo2", "at_91"), 91.0, c.days(94, 100, n)))
    code = c.pick(cat.idx("spo2", "spo2_art"), n, p=[0.9, 0.1])
    w, d = P.item(np.arange(n))
    c.meas(who[w], code[w], d, spo2[w])
    ecg = np.array(cat.idx("ecg_normal", "ecg_ans", "ecg_as"))[f["ecg"]]
    w, d = P.item(np.arange(n))
    c.meas(who[w], "ecg", d, vconcept=ecg[w])

    # liver: AST and ALT with the lab's ULN; bilirubin in umol/L or mg/dL
    uln = c.pick([35.0, 40.0, 50.0], n)
    ast = np.where(opt("liver", "ast_at_3x"), 3 * uln, np.where(opt("liver", "ast_above"), 3 * uln + 1,
                                                                 np.round(uln * c.uniform(0.4, 0.9, n))))
    alt = np.where(opt("liver", "alt_at_3x"), 3 * uln, np.where(opt("liver", "alt_above"), np.round(3.1 * uln),
                                                                 np.round(uln * c.uniform(0.3, 0.9, n))))
    w, d = P.item(np.arange(n))
    c.meas(who[w], "ast", d, ast[w], high=np.where(opt("liver", "no_uln"), np.nan, uln)[w])
    w, d = P.item(np.arange(n))
    c.meas(who[w], "alt", d, alt[w], high=uln[w])
    si = opt("tbil_unit", "umol")
    tuln = np.where(si, c.pick([17.1, 21.0], n), c.pick([1.0, 1.2], n))
    tbil = np.where(opt("liver", "tbil_at_2x"), 2 * tuln, np.where(opt("liver", "tbil_above"), 2.2 * tuln,
                                                                    tuln * c.uniform(0.2, 0.8, n)))
    tbil = np.where(si, np.round(tbil, 1), np.round(tbil, 2))
    w, d = P.item(np.arange(n))
    c.meas(who[w], np.where(si, cat.INDEX["tbil_umol"], cat.INDEX["tbil_mg"])[w], d, tbil[w],
           np.where(si, cat.UNIT["umol/L"], cat.UNIT["mg/dL"])[w], high=tuln[w])

    # kidney: creatinine (or a reported eGFR), height for children, weight
    age = c.age[who]
    scr = np.where(age < 18, 0.2 + 0.03 * age, np.where(c.gender[who] == 1, 0.9, 0.72)) * c.uniform(0.85, 1.15, n)
    scr = np.where(opt("renal", "egfr_below_30"), np.where(age < 18, c.uniform(2.6, 4.5, n), c.uniform(3.6, 6.5, n)), scr)
    scr = np.where(opt("renal", "dialysis_recent", "dialysis_2m"), c.uniform(5.0, 9.0, n), scr)
    unit = f["creat_unit"]
    scr = np.where(unit == 0, np.round(scr * 88.4), np.round(scr, 2))
    ccode = np.array(cat.idx("creat_umol", "creat_mg", "creat_blood"))[unit]
    cunit = np.array([cat.UNIT["umol/L"], cat.UNIT["mg/dL"], cat.UNIT["mg/dL"]])[unit]
    has_creat = ~opt("renal", "reported_egfr")
    w, d = P.item(np.flatnonzero(has_creat))
    c.meas(who[w], ccode[w], d, scr[w], cunit[w])
    creat_day = np.full(n, -1, np.int64)
    creat_day[w] = d
    r = np.flatnonzero(~has_creat)
    w2, d2 = P.item(r)
    c.meas(who[w2], "egfr_2021", d2, np.round(c.uniform(40, 115, len(w2))))
    # CKiD U25 needs a height within 90 days of the creatinine (facet height)
    h = f["height"]
    gap = np.where(h == option("height", "within_90"), np.where(c.chance(0.3, n), 90, c.days(1, 89, n)),
                   np.where(h == option("height", "outside_90"), c.days(91, 200, n), 0))
    kid = np.flatnonzero((h >= 0) & (h != option("height", "none")) & (creat_day >= 0))
    hday = creat_day[kid] - gap[kid]
    c.meas(who[kid], "height", hday, c.height_at(who[kid], hday))
    adult = np.flatnonzero((h < 0) & c.chance(0.5, n))
    w, d = P.item(adult)
    c.meas(who[w], "height", d, c.height_at(who[w], d))
    w, d = P.item(np.arange(n))
    c.meas(who[w], "weight", d, c.weight_at(who[w], d))
    # dialysis (facet renal)
    for name, first, last in (("dialysis_recent", 2, 60), ("dialysis_2m", 61, 150), ("dialysis_4m", 125, 220)):
        m = who[opt("renal", name)]
        gone = {"dialysis_recent": None, "dialysis_2m": A - 61, "dialysis_4m": None}[name]
        for k in range(12):
            step = first + k * (last - first) // 11
            day = A - step if name != "dialysis_4m" else add_months(np.full(len(m), A), -4) - k * 8
            c.proc(m, "hemodialysis", day)
        if name == "dialysis_recent":
            c.cond(m, "dialysis_dep", A - 200)
        elif name == "dialysis_2m":
            c.cond(m, "dialysis_dep", A - 200, gone)
        else:
            c.cond(m, "dialysis_dep", A - 300, add_months(np.full(len(m), A), -4))

    # performance status
    child = age < 16
    w, d = P.item(np.flatnonzero(opt("performance", "ecog_ok", "ecog_3")))
    ecog = np.where(opt("performance", "ecog_3"), 3, c.pick([0, 1, 1, 2], n))
    c.meas(who[w], "ecog", d, ecog[w].astype(float))
    karn = np.where(opt("performance", "karnofsky_40"), 40, c.pick([50, 60, 70, 80, 90, 100], n)).astype(float)
    as_karnofsky = opt("performance", "karnofsky", "karnofsky_40") | (opt("performance", "lansky") & ~child)
    w, d = P.item(np.flatnonzero(as_karnofsky))
    c.meas(who[w], "karnofsky", d, karn[w])
    w, d = P.item(np.flatnonzero(opt("performance", "lansky") & child))
    c.assess(who[w], "lansky", d, karn[w])

    # serology
    sero = f["serology"]
    have = sero != option("serology", "missing")
    pos = lambda *names: np.isin(sero, [option("serology", x) for x in names])  # noqa: E731
    for key, positive in (("hbsag", pos("hbv_above", "hbv_within", "hbv_no_dna")),
                          ("anti_hbc", pos("hbv_above", "hbv_within", "hbv_no_dna", "anti_hbc_above")),
                          ("anti_hcv", pos("hcv_above", "hcv_within"))):
        w, d = P.item(np.flatnonzero(have))
        c.qual(who[w], key, positive[w], d)
    hiv_code = c.pick(cat.idx("hiv", "hiv_combo"), n, p=[0.8, 0.2])
    w, d = P.item(np.flatnonzero(have))
    c.qual(who[w], hiv_code[w], pos("hiv")[w], d)
    syph = np.where(pos("syphilis") | c.chance(0.3, n), cat.INDEX["rpr"], cat.INDEX["treponemal"])
    w, d = P.item(np.flatnonzero(have))
    c.qual(who[w], syph[w], pos("syphilis")[w], d)
    w, d = P.item(np.flatnonzero(have))
    c.qual(who[w], "cmv", pos("cmv")[w], d, detected=True)
    above = pos("hbv_above", "anti_hbc_above")
    within = pos("hbv_within")
    hbv = np.where(above, np.round(c.uniform(2e3, 2e6, n)), np.where(c.chance(0.3, n), 20.0, c.days(1, 19, n)))
    w, d = P.item(np.flatnonzero(above | within))
    c.meas(who[w], "hbv_dna", d, hbv[w], high=20.0)
    hcv_above, hcv_within = pos("hcv_above"), pos("hcv_within")
    hcv = np.where(hcv_above, np.round(c.uniform(1e4, 1e6, n)), np.where(c.chance(0.3, n), 15.0, c.days(1, 14, n)))
    w, d = P.item(np.flatnonzero(hcv_above | hcv_within))
    c.meas(who[w], "hcv_rna", d, hcv[w], high=15.0)

    # pregnancy test and contraception (females 12-54)
    preg = f["pregnancy"]
    fresh = c.days(0, 6, n)
    back = np.where(preg == option("pregnancy", "at_7d"), 7, np.where(preg == option("pregnancy", "stale_8d"), 8, fresh))
    serum = np.isin(preg, [option("pregnancy", x) for x in ("serum_neg", "serum_pos", "at_7d", "stale_8d")])
    w, d = P.item(np.flatnonzero(serum), back[serum])
    c.qual(who[w], "hcg_serum", (preg == option("pregnancy", "serum_pos"))[w], d)
    urine = np.flatnonzero(preg == option("pregnancy", "urine_neg"))
    w, d = P.item(urine, back[urine])
    c.qual(who[w], "hcg_urine", False, d)
    con = f["contraception"]
    for value, name in ((True, "true"), (False, "false")):
        m = who[con == option("contraception", name)]
        c.attest(m, "contraception-agreed", A - c.days(0, 14, len(m)), value)

    # attestations, consent, predicted survival
    at = f["attest"]
    codes = ("no-major-condition", "labs-not-significant", "investigator-no-concern")
    false_one = c.rng.integers(0, 3, n)
    for k, code in enumerate(codes):
        give = np.isin(at, [option("attest", x) for x in ("all_true", "one_false", "latest_decides")])
        give |= (at == option("attest", "some_missing")) & c.chance(0.5, n) & (false_one != k)
        value = ~((at == option("attest", "one_false")) & (false_one == k))
        m = np.flatnonzero(give)
        c.attest(who[m], code, A - c.days(0, 10, len(m)), value[m])
        old = np.flatnonzero((at == option("attest", "latest_decides")) & (false_one == k))
        c.attest(who[old], code, A - 40, False)
    m = who[f["consent"] == option("consent", "resource")]
    c.consent(m, A - c.days(3, 30, len(m)))
    this = m[c.chance(0.1, len(m))]
    c.study(this, "carnk-aid", A - 2)  # this trial's own ResearchSubject: not another study
    m = who[f["consent"] == option("consent", "attestation")]
    c.attest(m, "consent-signed", A - c.days(3, 30, len(m)))
    sv = f["survival"]
    for name, value in (("attest_true", True), ("attest_false", False)):
        m = who[sv == option("survival", name)]
        c.attest(m, "predicted-survival-12w", A - c.days(0, 14, len(m)), value)
    for name, weeks in (("weeks_52", 52.0), ("weeks_12", 12.0), ("weeks_10", 10.0)):
        m = who[sv == option("survival", name)]
        c.assess(m, "survival", A - c.days(0, 14, len(m)), weeks, "wk")

    # SLEDAI-2K (SLE)
    sl = f["sledai"]
    for name, sets in (("above_6", (("arthritis", "rash", "low-complement", "increased-dna-binding"),
                                    ("arthritis", "proteinuria"), ("vasculitis", "arthritis", "rash"),
                                    ("arthritis", "hematuria", "proteinuria", "low-complement", "increased-dna-binding"))),
                       ("exactly_6", (("arthritis", "rash"), ("proteinuria", "low-complement"))),
                       ("exactly_7", (("arthritis", "rash", "fever"),)), ("low", (("rash", "alopecia"),)),
                       ("neuro", (("seizure", "arthritis"),))):
        idx = np.flatnonzero(sl == option("sledai", name))
        w, d = P.item(idx)
        choice = c.rng.integers(0, len(sets), len(w))
        for k, items in enumerate(sets):
            s = choice == k
            total = sum({"seizure": 8, "vasculitis": 8, "arthritis": 4, "proteinuria": 4, "hematuria": 4,
                         "rash": 2, "alopecia": 2, "low-complement": 2, "increased-dna-binding": 2,
                         "fever": 1}[i] for i in items)
            recorded = np.where(c.chance(0.3, int(s.sum())), float(total), np.nan)
            comps = [(f"sledai_{i}", True) for i in items]
            if "fever" not in items:
                comps.append(("sledai_fever", False))  # assessed and absent
            c.assess(who[w[s]], "sledai", d[s], recorded, items=comps)
    w, d = P.item(np.flatnonzero(sl == option("sledai", "total_only")))
    c.assess(who[w], "sledai", d, 8.0)

    # UPCR (nephrotic patients with a panel)
    md = f["multidrug"]
    ne = np.flatnonzero((md >= 0) & (md != option("multidrug", "upcr_missing")))
    remission = md[ne] == option("multidrug", "path1_remission")
    gg = np.where(remission, c.uniform(0.05, 0.15, len(ne)), c.uniform(0.4, 5.0, len(ne)))
    code, unit, value = to_upcr(c, who[ne], gg)
    edge = c.chance(0.3, len(ne))
    at_02 = {cat.UNIT["g/g"]: 0.2, cat.UNIT["mg/g"]: 200.0, cat.UNIT["mg/mmol"]: 21.0}
    above_02 = {cat.UNIT["g/g"]: 0.201, cat.UNIT["mg/g"]: 201.0, cat.UNIT["mg/mmol"]: 23.0}
    for u in at_02:
        value = np.where(edge & remission & (unit == u), at_02[u], value)
        value = np.where(edge & ~remission & (unit == u), above_02[u], value)
    w, d = P.item(ne)
    k = np.searchsorted(ne, w)
    c.meas(who[w], code[k], d, value[k], unit[k])
    miss = np.flatnonzero(md == option("multidrug", "upcr_missing"))
    code, unit, value = to_upcr(c, who[miss], c.uniform(0.5, 4, len(miss)))
    c.meas(who[miss], code, A - c.days(40, 80, len(miss)), value, unit)

    # NYHA class with heart failure (facet cardiac)
    for name, cls in (("hf_nyha3", 3.0), ("hf_nyha2", 2.0)):
        w, d = P.item(np.flatnonzero(f["cardiac"] == option("cardiac", name)))
        c.meas(who[w], "nyha", d, cls)


def exclusions(c: Chunk) -> None:
    """History events of the exclusion facets (cohort patients with a history)."""
    A = c.A
    month = lambda k, who: add_months(np.full(len(who), A), -k)  # noqa: E731
    # live vaccines
    for name, back in (("live_28", 28), ("live_29", 29)):
        w = c.where("vaccine", name)
        young = c.age[w] < 50
        c.vaccine(w[young], c.pick(cat.idx("varicella", "mmr", "laiv"), int(young.sum())), A - back)
        c.vaccine(w[~young], "zoster_live", A - back)
    w = c.where("vaccine", "nonlive_5")
    c.vaccine(w, c.pick(cat.idx("flu", "td", "tdap"), len(w)), A - 5)
    # B-cell targeted drugs
    for name, shift in (("rituximab_1m", 0), ("rituximab_1m1d", 1)):
        w = c.where("bcell", name)
        day = month(1, w) - shift
        c.drug(w, "rituximab", day, day, np.round(15 * c.weight_at(w, A) / 10) * 10)
    for name, drug in (("belimumab_ongoing", "belimumab"), ("telitacicept_ongoing", "telitacicept")):
        w = c.where("bcell", name)
        c.drug(w, drug, A - c.days(60, 400, len(w)))  # no dose, in both formats
    # infections
    w = c.where("infection", "treated_now")
    c.cond(w, "pneumonia", A - 4)
    c.drug(w, "cefuroxime", A - 3, None, 500.0)
    w = c.where("infection", "resolved_8d")
    c.cond(w, "uti", A - 15, A - 8)
    c.drug(w, "cephalexin", A - 15, A - 8, 2000.0)
    w = c.where("infection", "prophylaxis")
    c.drug(w, "penicillin_v", A - c.days(100, 600, len(w)), None, 500.0)
    c.cond(c.where("infection", "sepsis"), "sepsis", A - 3)
    for name, ended in (("at_84", 84), ("at_85", 85)):
        w = c.where("herpes", name)
        c.cond(w, c.pick(cat.idx("zoster", "hsv"), len(w), p=[0.7, 0.3]), A - 100, A - ended)
    # CNS
    c.cond(c.where("cns", "seizure_30"), "seizure", A - 30)
    c.cond(c.where("cns", "seizure_60"), "seizure", A - 62, A - 60)
    c.cond(c.where("cns", "seizure_61"), "seizure", A - 63, A - 61)
    w = c.where("cns", "seizure_old")
    start = A - c.days(800, 3000, len(w))
    c.cond(w, "epilepsy", start, start + 400)
    w = c.where("cns", "seizure_history")
    c.cond(w, "seizure_history", A - c.days(400, 3000, len(w)))
    c.cond(c.where("cns", "cva_old"), "cva", A - 400, A - 380)
    # heart
    w = c.where("cardiac", "chd")
    c.cond(w, "chd", c.birth[w])
    for name, k in (("mi_5m", 5), ("mi_7m", 7)):
        w = c.where("cardiac", name)
        day = month(k, w)
        c.cond(w, c.pick(cat.idx("ami", "ami_icd"), len(w), p=[0.7, 0.3]), day, day + 7)
    w = c.where("cardiac", "vt")
    c.cond(w, "vt", A - c.days(5, 60, len(w)))
    w = c.where("cardiac", "pericardial")
    c.cond(w, "pericardial", A - c.days(5, 60, len(w)))
    c.cond(c.where("cardiac", "myocarditis_old"), "myocarditis", A - 400, A - 380)
    w = c.where("cardiac", "hf_nyha3", "hf_nyha2", "hf_no_nyha")
    c.cond(w, c.pick(cat.idx("hf", "chf"), len(w)), A - c.days(100, 2000, len(w)))
    # other exclusions
    w = c.where("other", "malignancy")
    c.cond(w, np.where(c.gender[w] == 0, cat.INDEX["breast_ca"], cat.INDEX["colon_ca"]), A - c.days(100, 3000, len(w)))
    w = c.where("other", "immunodeficiency")
    c.cond(w, "pid", A - c.days(300, 3000, len(w)))
    for name, k in (("transplant_2m", 2), ("transplant_4m", 4)):
        w = c.where("other", name)
        day = month(k, w)
        c.proc(w, "kidney_tx", day)
        c.cond(w, "renal_tx_history", day)
    w = c.where("other", "gvhd")
    c.proc(w, "hsct", A - c.days(400, 2000, len(w)))
    c.cond(w, "agvhd", A - 10)
    for name, start, end in (("trial_2m", 400, 2), ("trial_4m", 400, 4)):
        w = c.where("other", name)
        c.study(w, "NCT05012345", A - start, month(end, w) - (1 if end == 4 else 0))
    w = c.where("other", "trial_open")
    c.study(w, "NCT04987654", A - 200)
    w = c.where("other", "trial_attest")
    c.attest(w, "other-trial-3m", A - c.days(1, 20, len(w)))
    w = c.where("other", "allergy_cyclophosphamide")
    c.allergy(w, "cyclophosphamide", A - c.days(200, 2000, len(w)), criticality=0, severity=0,
              manifestation="allergic_reaction")
    w = c.where("other", "anaphylaxis")
    c.allergy(w, "shellfish", A - c.days(200, 5000, len(w)), criticality=CRITICAL_HIGH, severity=SEVERE,
              manifestation="anaphylaxis")
    w = c.where("other", "severe_allergy")
    c.allergy(w, "penicillin_v", A - c.days(200, 5000, len(w)), criticality=CRITICAL_HIGH, severity=SEVERE,
              manifestation="allergic_reaction")
    w = c.where("other", "lung_ild")
    c.cond(w, "ild", A - c.days(100, 1000, len(w)))
    c.cond(c.where("other", "lung_pe_old"), "pe", A - 60, A - 45)
    # FOCBP overrides
    w = c.where("focbp_override", "attest_false")
    c.attest(w, "childbearing-potential", A - c.days(1, 30, len(w)), False)
    w = c.where("focbp_override", "hysterectomy")
    c.proc(w, "hysterectomy", A - c.days(200, 2000, len(w)))
    w = c.where("focbp_override", "postmenopausal")
    c.cond(w, "postmenopausal", A - c.days(200, 2000, len(w)))
    # deliberately future-dated records
    w = c.where("future", "lab")
    c.meas(w, "creat_blood", A + c.days(1, 30, len(w)), 0.8, future=True)
    w = c.where("future", "condition")
    c.cond(w, "stress", A + c.days(1, 30, len(w)), future=True)
