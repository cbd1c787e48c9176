"""Ordinary health records for everyone: chronic and acute conditions, visits with vitals
and routine labs, vaccines, everyday drugs, procedures and allergies.

For cohort patients this history ends 120 days before ``as_of`` (``Chunk.cap``) and
leaves out body weight and height (their own blocks write those), so it never moves a
screening criterion: old labs are not fresh, acute infections are long resolved, and
their vaccines are older than any lookback window.
"""

from __future__ import annotations

import numpy as np

from trialdesk.synth._chunk import Chunk
from trialdesk.synth._population import NONE

YEAR = 365.25
#: (condition, share, minimum age, maximum age, female only, share resolved)
CHRONIC = (
    ("htn", 0.28, 35, 120, False, 0.0), ("t2dm", 0.10, 35, 120, False, 0.0), ("prediabetes", 0.12, 25, 120, False, 0.2),
    ("obesity", 0.18, 12, 120, False, 0.3), ("hyperlipidemia", 0.20, 35, 120, False, 0.0),
    ("oa_knee", 0.10, 50, 120, False, 0.0), ("back_pain", 0.10, 20, 120, False, 0.4),
    ("anemia", 0.05, 1, 120, False, 0.6), ("rhinitis", 0.15, 3, 120, False, 0.3), ("dermatitis", 0.06, 0, 120, False, 0.5),
    ("asthma_child", 0.09, 2, 17, False, 0.3), ("stress", 0.20, 18, 120, False, 0.7),
    ("chronic_sinusitis", 0.04, 15, 120, False, 0.5),
)
ACUTE = ("viral_sinusitis", "pharyngitis", "bronchitis", "otitis", "ankle_sprain", "ankle_fracture", "fever")
BACTERIAL = {"pharyngitis", "bronchitis", "otitis", "viral_sinusitis"}
ANTIBIOTICS = (("penicillin_v", 1000.0), ("cephalexin", 2000.0), ("cefuroxime", 500.0))
#: childhood schedule: (vaccine, age in days)
CHILDHOOD = (("hepb_ped", 1), ("hepb_ped", 35), ("dtap", 61), ("ipv", 61), ("hib", 61), ("rotavirus", 61),
             ("dtap", 122), ("ipv", 122), ("hib", 122), ("rotavirus", 122), ("hepb_ped", 183), ("dtap", 183),
             ("ipv", 183), ("mmr", 365), ("varicella", 366), ("dtap", 456), ("mmr", 1645), ("varicella", 1646),
             ("ipv", 1650), ("tdap", 4200), ("hpv", 4210), ("mcv4", 4215))
ENV_ALLERGENS = ("dander", "shellfish", "dust_mite", "grass", "latex", "nut", "bee")


def background(c: Chunk, no_drugs: np.ndarray) -> None:
    _conditions(c, no_drugs)
    _visits(c)
    _vaccines(c)
    _other(c)


def _span(c: Chunk, who: np.ndarray, min_age_years, back_years: float | None = None) -> np.ndarray:
    """A day between the person's ``min_age_years`` birthday (and ``back_years`` before as_of) and the cap."""
    low = c.birth[who] + np.floor(np.asarray(min_age_years) * YEAR).astype(np.int64)
    if back_years is not None:
        low = np.maximum(low, c.A - int(back_years * YEAR))
    return c.days(np.minimum(low, c.cap[who]), c.cap[who], len(who))


def _conditions(c: Chunk, no_drugs: np.ndarray) -> None:
    age, n = c.age, c.n
    for key, share, lo, hi, female, resolved in CHRONIC:
        ok = (age >= lo) & (age <= hi) & (c.chance(share, n) & c.bg)
        if female:
            ok &= c.gender == 0
        who = np.flatnonzero(ok)
        onset = _span(c, who, lo)
        ab = np.where(c.chance(resolved, len(who)), onset + c.days(60, 1500, len(who)), NONE)
        ab = np.where((ab != NONE) & (ab > c.cap[who]), c.cap[who], ab)
        c.cond(who, key, onset, ab)
        if key == "htn":
            drugged = who[~no_drugs[who]]
            on = onset[~no_drugs[who]]
            for k, (drug, doses) in enumerate((("lisinopril", (10, 20)), ("enalapril", (10, 20)),
                                               ("ramipril", (5, 10)))):
                sel = c.rng.integers(0, 3, len(drugged)) == k
                mg = c.pick(doses, int(sel.sum())).astype(float)
                mg[c.chance(0.05, len(mg))] = np.nan  # a few statements without a dose, in both formats
                c.drug(drugged[sel], drug, on[sel], None, mg)
    # pregnancies
    who = np.flatnonzero((c.gender == 0) & (age >= 18) & (age <= 45) & (c.chance(0.06, n) & c.bg))
    onset = _span(c, who, 18, 10)
    c.cond(who, "pregnancy", onset, np.minimum(onset + 270, c.cap[who]))
    # acute episodes, some treated with an antibiotic course
    k = np.minimum(c.rng.poisson(1.2, n), 5)
    who = np.repeat(np.arange(n), k * c.bg)
    key = c.pick(ACUTE, len(who))
    onset = _span(c, who, 0, 10)
    ab = np.minimum(onset + c.days(5, 21, len(who)), c.cap[who])
    for code in ACUTE:
        sel = key == code
        c.cond(who[sel], code, onset[sel], ab[sel])
    treated = np.isin(key, list(BACTERIAL)) & c.chance(0.35, len(who)) & ~no_drugs[who]
    pick = c.rng.integers(0, len(ANTIBIOTICS), len(who))
    for j, (drug, mg) in enumerate(ANTIBIOTICS):
        sel = treated & (pick == j)
        c.drug(who[sel], drug, onset[sel], onset[sel] + c.days(5, 10, int(sel.sum())), mg)
    # everyday drugs
    who = np.flatnonzero((age >= 50) & (c.chance(0.15, n) & c.bg) & ~no_drugs)
    c.drug(who, "aspirin", _span(c, who, 50), None, c.pick([81.0, 100.0], len(who)))
    who = np.flatnonzero((age >= 16) & (c.chance(0.10, n) & c.bg) & ~no_drugs)
    start = _span(c, who, 16, 8)
    c.drug(who, "ibuprofen", start, start + c.days(3, 14, len(who)), c.pick([600.0, 1200.0, 1800.0], len(who)))


def _visits(c: Chunk) -> None:
    n, age = c.n, c.age
    k = np.minimum(1 + c.rng.poisson(2.0, n), 7)
    who = np.repeat(np.arange(n), k * c.bg)
    day = _span(c, who, 0, 6)
    m = len(who)
    a = np.maximum(age[who] - (c.A - day) / YEAR, 0)
    vit = who[a >= 3]
    dv, av = day[a >= 3], a[a >= 3]
    c.meas(vit, "sbp", dv, np.round(np.where(av < 18, c.rng.normal(105, 10, len(vit)),
                                             c.rng.normal(122, 15, len(vit)))))
    c.meas(vit, "dbp", dv, np.round(np.where(av < 18, c.rng.normal(65, 8, len(vit)), c.rng.normal(78, 10, len(vit)))))
    c.meas(vit, "hr", dv, np.round(np.where(av < 12, c.rng.normal(95, 12, len(vit)), c.rng.normal(74, 11, len(vit)))))
    # body size (not for cohort patients: their own blocks write weight and height)
    own = c.completeness[who] < 0
    height = c.height_at(who, day)
    weight = np.round(c.weight_at(who, day) * c.rng.normal(1, 0.02, m), 1)
    c.meas(who[own], "height", day[own], height[own])
    c.meas(who[own], "weight", day[own], weight[own])
    adult = own & (a >= 2)
    c.meas(who[adult], "bmi", day[adult], np.round(weight[adult] / (height[adult] / 100) ** 2, 1))
    # routine labs at half of the visits
    lab = c.chance(0.5, m) & (a >= 1)
    w, d, al = who[lab], day[lab], a[lab]
    q = len(w)
    c.meas(w, "glucose", d, np.round(c.rng.normal(96, 14, q)))
    c.meas(w, "sodium", d, np.round(c.rng.normal(140, 2.5, q)))
    c.meas(w, "potassium", d, np.round(c.rng.normal(4.2, 0.35, q), 1))
    c.meas(w, "hgb", d, np.round(c.rng.normal(13.6, 1.3, q), 1))
    c.meas(w, "creat_blood", d, np.round(np.where(al < 18, 0.25 + 0.035 * al, 0.9) * c.rng.normal(1, 0.15, q), 2))
    uln = c.pick([35.0, 40.0, 45.0], q)
    c.meas(w, "alt", d, np.round(np.maximum(c.rng.normal(22, 8, q), 5)), high=uln)
    c.meas(w, "ast", d, np.round(np.maximum(c.rng.normal(24, 7, q), 8)), high=uln)
    adult_lab = al >= 18
    c.meas(w[adult_lab], "chol", d[adult_lab], np.round(c.rng.normal(190, 35, int(adult_lab.sum()))))


def _vaccines(c: Chunk) -> None:
    n, age = c.n, c.age
    # seasonal influenza over the last 1-5 seasons
    k = np.where((c.chance(0.45, n) & c.bg), c.rng.integers(1, 6, n), 0)
    who = np.repeat(np.arange(n), k * c.bg)
    season = np.concatenate([np.arange(j) for j in k]) if len(k) else np.empty(0, np.int64)
    day = c.A - 20 - (season * 365).astype(np.int64) - c.days(0, 150, len(who))
    ok = (day <= c.cap[who]) & (day >= c.birth[who] + 183)
    c.vaccine(who[ok], "flu", day[ok])
    # the childhood schedule, for those young enough to have electronic records of it
    young = np.flatnonzero((age < 26) & c.bg)
    for code, at in CHILDHOOD:
        day = c.birth[young] + at + c.days(0, 20, len(young))
        ok = day <= c.cap[young]
        c.vaccine(young[ok], code, day[ok])
    adult = np.flatnonzero((age >= 26) & (c.chance(0.5, n) & c.bg))
    c.vaccine(adult, "td", _span(c, adult, 20, 10))
    old = np.flatnonzero((age >= 65) & (c.chance(0.5, n) & c.bg))
    c.vaccine(old, "pcv13", _span(c, old, 65, 5))
    old = np.flatnonzero((age >= 60) & (c.chance(0.15, n) & c.bg))
    c.vaccine(old, "zoster_live", _span(c, old, 60, 8))


def _other(c: Chunk) -> None:
    n, age = c.n, c.age
    who = np.flatnonzero((age >= 50) & (c.chance(0.10, n) & c.bg))
    c.proc(who, "colonoscopy", _span(c, who, 50, 10))
    who = np.flatnonzero((c.chance(0.08, n) & c.bg) & (age >= 10))
    c.proc(who, "ecg_proc", _span(c, who, 10, 8))
    who = np.flatnonzero((c.chance(0.04, n) & c.bg) & (age >= 5))
    c.proc(who, "spirometry", _span(c, who, 5, 8))
    who = np.flatnonzero((c.chance(0.08, n) & c.bg))
    key = c.pick(ENV_ALLERGENS, len(who))
    day = _span(c, who, 1)
    for code in ENV_ALLERGENS:
        sel = key == code
        c.allergy(who[sel], code, day[sel], criticality=0)
    who = np.flatnonzero((c.chance(0.02, n) & c.bg))
    c.allergy(who, "penicillin_v", _span(c, who, 1), criticality=0, severity=0, manifestation="allergic_reaction")
