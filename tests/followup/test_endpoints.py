"""Endpoints of the synthetic follow-up (examples/followup.yaml) against values computed by hand.

Every expected value below is computed by hand from the definition named in its comment
(clinical.md sections 6-8 and the module docstrings), not read back from the code.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest
import yaml

from trialdesk.followup import safety
from trialdesk.followup.cohort import rate_table, toxicity_table, wilson
from trialdesk.followup.evaluate import evaluate
from trialdesk.followup.outcome import MET, NOT_EVALUABLE, NOT_MET, VALUE
from trialdesk.followup.read import parse_followup
from trialdesk.protocol.load import load

PROTOCOL = load()
FIXTURE = Path(__file__).parents[2] / "examples" / "followup.yaml"
RAW = yaml.safe_load(FIXTURE.read_text())
AS_OF = date(2026, 4, 15)
REPORTS = {r.subject.id: r for r in evaluate(parse_followup(RAW, PROTOCOL), PROTOCOL, AS_OF)}


def outcome(subject: str, visit: str, endpoint: str):
    found = REPORTS[subject].at(visit).get(endpoint)
    assert found is not None, f"{subject} {visit} has no {endpoint}"
    return found


# -- SLE-01 (adult) ---------------------------------------------------------------------------

def test_sle01_sledai_change():
    # computed by hand from SLEDAI-2K weights (Gladman 2002, clinical.md 1): baseline arthritis 4 + rash 2
    # + proteinuria 4 + low complement 2 + increased DNA binding 2 = 14; day 28 low complement 2 +
    # DNA binding 2 = 4 -> change -10; month 2 DNA binding 2 -> -12; month 3 none -> -14
    assert [outcome("SLE-01", v, "sledai-2k-change").value for v in ("d28", "m2", "m3")] == [-10, -12, -14]


def test_sle01_sri4_met_at_day_28():
    # computed by hand from SRI-4 (Furie 2009, clinical.md 7): SLEDAI 14 -> 4 is a drop of 10 >= 4;
    # BILAG B (mucocutaneous, musculoskeletal, renal) -> C, so no new A and no new B; PGA 2.0 -> 0.4
    # is a change of -1.6 < +0.3
    assert outcome("SLE-01", "d28", "sri-4").status == MET
    # day 21 has no BILAG (the schedule does not collect it then): not evaluable, never met
    d21 = outcome("SLE-01", "d21", "sri-4")
    assert d21.status == NOT_EVALUABLE and "BILAG-2004" in d21.missing[0]


def test_sle01_lldas_doris_drug_free_over_time():
    # computed by hand from LLDAS (Franklyn 2016 Table 1), DORIS 2021 and drug-free remission:
    # day 28: SLEDAI 4 with serology only, PGA 0.4, but prednisone 15 mg/day > 7.5 (LLDAS) and > 5 (DORIS)
    assert [outcome("SLE-01", "d28", e).status for e in ("lldas", "doris-remission", "drug-free-remission")] == \
        [NOT_MET, NOT_MET, NOT_MET]
    # month 2: SLEDAI 2 (DNA binding, already present at day 28 so not new), PGA 0.3, prednisone 5 mg/day:
    # LLDAS (<= 7.5) met; DORIS met at exactly 5 mg (<= 5, the abstract's reading); not drug-free (5 mg)
    assert [outcome("SLE-01", "m2", e).status for e in ("lldas", "doris-remission", "drug-free-remission")] == \
        [MET, MET, NOT_MET]
    # month 3: prednisone stopped 31 March, mycophenolate stopped before lymphodepletion, only
    # hydroxychloroquine (an antimalarial, allowed): drug-free remission met
    assert outcome("SLE-01", "m3", "drug-free-remission").status == MET


def test_sle01_b_cells_igg_and_steroid_dose():
    # CD19 < 10 /uL first on day 21 (2 cells/uL), first >= 10 after it on 12 April = day 90
    # (19 + 28 + 31 + 12 days from 12 January)
    summary = REPORTS["SLE-01"].summary_of("cd19-depletion")
    assert summary.value == 21 and "recovered 2026-04-12 (day 90)" in summary.detail
    # IgG 6.8 g/L < lower limit 7.0 -> hypogammaglobulinaemia; >= 4 g/L -> not severe
    assert outcome("SLE-01", "m2", "hypogammaglobulinaemia").status == MET
    assert outcome("SLE-01", "m2", "igg-severe").status == NOT_MET
    # prednisone 15 mg/day x factor 1 (steroids.py) at 60 kg = 0.25 mg/kg/day
    d28 = outcome("SLE-01", "d28", "steroid-dose")
    assert d28.value == 15 and "0.25 mg/kg/day" in d28.detail


def test_sle01_safety():
    r = REPORTS["SLE-01"]
    # computed by hand from ASTCT CRS (Lee 2019, clinical.md 8.1): day 2 fever + hypotension without
    # vasopressor (G2) + low-flow oxygen (G2) -> grade 2; ICE 9 -> ICANS grade 1 (ICE 7-9)
    assert r.summary_of("worst-crs").value == 2 and "day 2" in r.summary_of("worst-crs").detail
    assert r.summary_of("worst-icans").value == 1
    # CTCAE v5 (clinical.md 8.3): ALT 220 U/L, ULN 40 -> 5.5 x ULN, baseline 30 normal -> > 5.0-20.0 = grade 3
    assert r.summary_of("worst-lab-toxicity").value == 3
    # neutrophils 1.2 x 10^9/L: < 1.5-1.0 = grade 2; day 28 1.6 (< LLN 1.8) and Hb 105 g/L (< LLN 115) grade 1
    assert r.summary_of("worst-cytopenia").value == 2
    # the related grade-3 ALT increase on day 7 is the candidate DLT; the CRS (grade 2) is not
    dlt = r.summary_of("dlt-candidate")
    assert dlt.status == MET and "Alanine aminotransferase increased grade 3" in dlt.detail and "CRS" not in dlt.detail


# -- SLE-02 (child) and SLE-03 (missing data) ---------------------------------------------------

def test_sle02_clldas_at_exactly_015_mg_per_kg():
    # computed by hand from cLLDAS (Smith 2023): age 11; prednisolone 6 mg / 40 kg = 0.15 mg/kg/day
    # (<= 0.15, and 6 <= 7.5 mg); SLEDAI 2 (low complement, not major organ), nothing new since day 21
    # (rash resolved), PGA 0.8 <= 1
    clldas = outcome("SLE-02", "d28", "clldas")
    assert clldas.status == MET and "0.15 mg/kg/day" in clldas.detail
    assert REPORTS["SLE-02"].at("d28").get("lldas") is None  # the adult LLDAS does not apply at 11
    # DORIS: clinical SLEDAI 0 (serology allowed) but PGA 0.8 is not < 0.5
    assert outcome("SLE-02", "d28", "doris-remission").status == NOT_MET
    assert REPORTS["SLE-02"].summary_of("worst-icans").value == 1  # CAPD 4: grade 1 (CAPD 1-8)
    # no candidate DLT and follow-up reached day 28 (17 February) ...
    assert safety.dlt(REPORTS["SLE-02"].subject, 28, AS_OF).status == NOT_MET
    # ... but the daily CRS/ICANS checks of days 3 to 14 and those of days 21 and 28 were not recorded,
    # so "no DLT" cannot be concluded
    dlt = REPORTS["SLE-02"].summary_of("dlt-candidate")
    assert dlt.status == NOT_EVALUABLE and "d3 (" in dlt.missing[0] and "d28 (" in dlt.missing[0]


def test_sle03_missing_data_is_never_remission():
    for endpoint in ("sri-4", "lldas", "doris-remission", "drug-free-remission"):
        o = outcome("SLE-03", "d28", endpoint)
        assert o.status == NOT_EVALUABLE and o.detail.startswith("not evaluable: missing")
    assert "PGA on 2026-03-02" in outcome("SLE-03", "d28", "doris-remission").missing
    # SLEDAI arthritis 4 + rash 2 + hematuria 4 = 10 -> rash 2: change -8 needs no PGA
    assert outcome("SLE-03", "d28", "sledai-2k-change").value == -8
    # no CD19+ count after the infusion: depletion is not evaluable (it used to say "not met")
    assert REPORTS["SLE-03"].summary_of("cd19-depletion").status == NOT_EVALUABLE


# -- SRNS ---------------------------------------------------------------------------------------

def test_srns01_ipna_course():
    # computed by hand from IPNA (clinical.md 6.1; UPCR in g/g, CL-8):
    # day 21: 0.2 < 1.5 < 2 and albumin 31 >= 30 -> partial remission (code 1)
    # day 28: UPCR 1.9, albumin 3.0 g/dL = 30 g/L exactly (>= 30) -> partial remission
    # month 2: UPCR 0.2 exactly (<= 0.2) -> complete remission (code 0)
    # month 3: UPCR 2.5, 2.2, 2.0 on 13, 14, 15 April (>= 2 on 3 consecutive days) after CR -> relapse (3)
    assert [outcome("SRNS-01", v, "ipna-status").value for v in ("d21", "d28", "m2", "m3")] == [1, 1, 0, 3]
    assert outcome("SRNS-01", "d28", "ipna-remission").status == MET
    assert outcome("SRNS-01", "d28", "ipna-complete-remission").status == NOT_MET
    assert outcome("SRNS-01", "m3", "ipna-relapse").status == MET


def test_srns01_egfr_ckid_u25():
    # computed by hand from CKiD U25 (Pierce 2021, clinical.md 3.4): male, 9 years: K = 39.0 x 1.008^(9-12)
    # = 39.0 / 1.024192512 = 38.07878; creatinine 44 umol/L / 88.4 = 0.497738 mg/dL; height 1.30 m:
    # eGFR = 38.07878 x 1.30 / 0.497738 = 99.455
    assert outcome("SRNS-01", "d28", "egfr").value == pytest.approx(99.455, abs=0.01)
    # baseline: creatinine 40 umol/L at screening, same K (age 9) and height, so the eGFR ratio is the inverse
    # creatinine ratio 40/44 = 0.90909: a change of -9.09 %
    assert outcome("SRNS-01", "d28", "egfr-change").value == pytest.approx(-9.09, abs=0.01)


def test_srns01_safety_and_b_cells():
    r = REPORTS["SRNS-01"]
    # neutrophils 400 /uL = 0.4 x 10^9/L < 0.5 -> CTCAE grade 4; platelets 60 (< 75-50) grade 2
    assert r.summary_of("worst-cytopenia").value == 4
    assert r.summary_of("worst-crs").value == 0
    # IgG 3.5 g/L on day 28: below the lower limit 5.5 and below 4 g/L
    assert outcome("SRNS-01", "d28", "igg-severe").status == MET
    assert r.summary_of("cd19-depletion").value == 21


def test_srns02_adult_egfr_crs_grade_3_and_missing_albumin():
    # computed by hand from CKD-EPI 2021 (Inker 2021, clinical.md 3.2): female 20 y, Scr 1.1 mg/dL > 0.7:
    # 142 x (1.1/0.7)^-1.200 x 0.9938^20 x 1.012 = 142 x 0.58134 x 0.88304 x 1.012 = 73.77
    assert outcome("SRNS-02", "d28", "egfr").value == pytest.approx(73.77, abs=0.01)
    # UPCR 0.1 <= 0.2 -> complete remission without albumin; UPCR 1.0 without albumin -> not evaluable
    assert outcome("SRNS-02", "d21", "ipna-complete-remission").status == MET
    d28 = outcome("SRNS-02", "d28", "ipna-remission")
    assert d28.status == NOT_EVALUABLE and "serum albumin on 2026-03-01" in d28.missing[0]
    r = REPORTS["SRNS-02"]
    # fever + one vasopressor -> ASTCT CRS grade 3 on day 1: a candidate DLT
    assert r.summary_of("worst-crs").value == 3
    assert r.summary_of("dlt-candidate").status == MET
    assert r.summary_of("infections").value == 1


def test_srns03_dlt_window_not_complete():
    # seen last on day 14 (15 March); day 28 is 29 March: the window cannot be closed as "no DLT"
    dlt = REPORTS["SRNS-03"].summary_of("dlt-candidate")
    assert dlt.status == NOT_EVALUABLE and "2026-03-29" in dlt.missing[0]


# -- cohort table -------------------------------------------------------------------------------

def test_cohort_rates_with_wilson_ci_at_day_28():
    rows = {(r.cohort, r.endpoint): r for r in rate_table(list(REPORTS.values()), "d28")}
    sri4 = rows["SLE", "sri-4"]
    # SLE-01 and SLE-02 met, SLE-03 not evaluable: 2 of 2 evaluable; with x = n the Wilson lower bound is
    # n / (n + z^2) = 2 / (2 + 3.841459) = 0.34238 (Wilson 1927), the upper bound 1
    assert (sri4.n, sri4.evaluable, sri4.met) == (3, 2, 2)
    assert sri4.ci[0] == pytest.approx(0.34238, abs=1e-5) and sri4.ci[1] == 1.0
    assert sri4.rate_all == pytest.approx(2 / 3)
    # LLDAS (SLE-01, 15 mg: not met) and cLLDAS (SLE-02: met) pooled: 1 of 2
    assert (rows["SLE", "lldas/clldas"].met, rows["SLE", "lldas/clldas"].evaluable) == (1, 2)
    # SRNS: only SRNS-01 evaluable at day 28 (partial remission): 1/1, lower bound 1 / 4.841459 = 0.20655
    pr = rows["SRNS", "ipna-remission"]
    assert (pr.evaluable, pr.met) == (1, 1) and pr.ci[0] == pytest.approx(0.20655, abs=1e-5)
    tox = {(r.cohort, r.endpoint): r for r in toxicity_table(list(REPORTS.values()))}
    assert tox["SRNS", "worst-crs"].by_grade == {0: 2, 3: 1} and tox["SRNS", "worst-crs"].at_least(3) == 1
    assert tox["SLE", "worst-crs"].by_grade == {0: 2, 2: 1}


@pytest.mark.parametrize("x,n,low,high", [
    # Wilson 1927 score interval, computed by hand: 2/3 -> centre (0.6667 + 0.6402) / 2.2805 = 0.5731,
    # half-width 1.96 x sqrt(0.07407 + 0.10671) / 2.2805 = 0.3654
    (2, 3, 0.2077, 0.9385),
    # 0/5: upper bound z^2 / (n + z^2) = 3.841459 / 8.841459 = 0.4345
    (0, 5, 0.0, 0.4345),
])
def test_wilson(x, n, low, high):
    lo, hi = wilson(x, n)
    assert (round(lo, 4), round(hi, 4)) == (low, high)


# -- boundaries, on edited copies of one subject ----------------------------------------------

def _edited(subject_id: str, edit) -> dict:
    raw = copy.deepcopy(RAW)
    raw["subjects"] = [copy.deepcopy(s) for s in raw["subjects"] if s["id"] == subject_id]
    edit(raw["subjects"][0])
    (report,) = evaluate(parse_followup(raw, PROTOCOL), PROTOCOL, AS_OF)
    return report


def _visit(subject: dict, visit: str) -> dict:
    return next(v for v in subject["visits"] if v["visit"] == visit)


def test_clldas_just_above_015_mg_per_kg_is_not_met():
    # 6 mg / 39.9 kg = 0.15038 mg/kg/day > 0.15 (Smith 2023)
    r = _edited("SLE-02", lambda s: _visit(s, "d28")["vitals"].update(weight=39.9))
    assert r.at("d28").get("clldas").status == NOT_MET


def test_clldas_caps_at_75_mg_whatever_the_weight():
    # 8 mg at 60 kg is 0.133 mg/kg/day (<= 0.15) but 8 > 7.5 mg/day: not met (Smith 2023 "max 7.5 mg")
    def edit(s):
        s["medications"][0]["daily_dose_mg"] = 8
        _visit(s, "d28")["vitals"].update(weight=60)
    assert _edited("SLE-02", edit).at("d28").get("clldas").status == NOT_MET


def test_doris_clinical_sledai_zero_with_positive_serology():
    # DORIS 2021: clinical SLEDAI = 0 irrespective of serology. SLE-02 at day 28 with PGA 0.4 and
    # prednisolone 5 mg: low complement alone -> remission; adding arthritis (clinical) -> not
    def edit(s, extra=()):
        s["medications"][0]["daily_dose_mg"] = 5
        d28 = _visit(s, "d28")
        d28["pga"] = 0.4
        d28["sledai"] = ["low-complement", "increased-dna-binding", *extra]
    assert _edited("SLE-02", edit).at("d28").get("doris-remission").status == MET
    assert _edited("SLE-02", lambda s: edit(s, ["arthritis"])).at("d28").get("doris-remission").status == NOT_MET
    # PGA exactly 0.5 is not < 0.5
    assert _edited("SLE-02", lambda s: (edit(s), _visit(s, "d28").update(pga=0.5))).at("d28") \
        .get("doris-remission").status == NOT_MET


@pytest.mark.parametrize("upcr,albumin,code", [
    # IPNA partial remission: 0.2 < UPCR < 2 g/g and albumin >= 30 g/L (clinical.md 6.1)
    (1.99, 30.0, 1),   # just below 2, albumin exactly 30: partial
    (1.99, 29.9, 2),   # albumin below 30: no remission
    (2.0, 35.0, 2),    # UPCR exactly 2 is nephrotic range, not partial
    (0.21, 30.0, 1),   # just above 0.2: partial, not complete
    (0.2, 25.0, 0),    # exactly 0.2: complete, whatever the albumin
])
def test_ipna_partial_remission_thresholds(upcr, albumin, code):
    def edit(s):
        _visit(s, "d28")["labs"].update(upcr={"value": upcr, "unit": "g/g"}, albumin={"value": albumin, "unit": "g/L"})
    assert _edited("SRNS-01", edit).at("d28").get("ipna-status").value == code


def test_relapse_needs_three_consecutive_days():
    # drop 14 April: only 2 consecutive days >= 2 g/g (14 missing breaks the run) -> no remission, not relapse
    def edit(s):
        s["visits"] = [v for v in s["visits"] if v.get("date") != date(2026, 4, 14)]
    r = _edited("SRNS-01", edit)
    assert r.at("m3").get("ipna-status").value == 2 and r.at("m3").get("ipna-relapse").status == NOT_MET


def test_steroid_dose_unknown_after_the_medication_list_ends():
    r = _edited("SLE-01", lambda s: s.update(medications_complete_through=date(2026, 3, 1)))
    # month 2 (12 March) is after 1 March: dose unknown, so neither LLDAS nor DORIS can be met
    for endpoint in ("steroid-dose", "lldas", "doris-remission"):
        assert r.at("m2").get(endpoint).status == NOT_EVALUABLE
    assert r.at("d28").get("steroid-dose").status == VALUE


def test_implausible_values_are_not_evaluable_not_a_crash():
    # UPCR 450 typed as g/g (it was mg/mmol) is beyond ipna-response's plausibility limit (50 g/g);
    # a lower limit of 0 cannot grade a decrease (CTCAE needs LLN > 0)
    def edit(s):
        _visit(s, "d28")["labs"]["upcr"] = {"value": 450, "unit": "g/g"}
        _visit(s, "d7")["labs"]["platelets"] = {"value": 60, "unit": "10^9/L", "low": 0}
    r = _edited("SRNS-01", edit)
    status = r.at("d28").get("ipna-status")
    assert status.status == NOT_EVALUABLE and "not plausible" in status.missing[0]
    assert "platelets of 2026-01-22" in r.summary_of("worst-cytopenia").detail
