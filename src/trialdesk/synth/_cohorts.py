"""Disease histories: SLE, nephrotic syndrome, and the look-alikes of the general population.

SLE: diagnosis (SNOMED, ICD-10 M32.9 or Synthea's "Lupus erythematosus"), lupus nephritis
in 30 %, ANA and a 2019 EULAR/ACR assessment (facet ``classification``), the treatment
history of facet ``refractory`` with the body weights that CL-5's mg/kg needs (one within
90 days of every glucocorticoid day), an old SLEDAI-2K, and MAS (facet ``mas``).

Nephrotic syndrome: diagnoses (facets ``srns_dx``/``ns_dx``), biopsy pathology (facet
``biopsy``, a resolved condition dated the biopsy day), induction prednisone, the
steroid-sparing history of facet ``multidrug`` and a UPCR series every 90 days up to
100 days before ``as_of`` in the unit of facet ``upcr_unit``.
"""

from __future__ import annotations

import numpy as np

from trialdesk.synth import _catalogue as cat
from trialdesk.synth._chunk import Chunk, add_months
from trialdesk.synth._mix import FACET_INDEX, FACETS

YEAR = 365.25
EULAR_CLASSIFIED = (
    ("acute-cutaneous-lupus", "joint-involvement", "low-c3-and-c4", "anti-dsdna-or-anti-smith"),  # 22
    ("joint-involvement", "anti-dsdna-or-anti-smith"),  # 12
    ("lupus-nephritis-class-3-or-4", "anti-dsdna-or-anti-smith", "low-c3-or-c4"),  # 19
    ("fever", "leukopenia", "alopecia", "low-c3-or-c4"),  # exactly 10
    ("oral-ulcers", "joint-involvement", "low-c3-or-c4"),  # 11
)
EULAR_LOW = (("fever", "alopecia", "low-c3-or-c4"), ("joint-involvement", "low-c3-or-c4"))  # 7, 9
SLEDAI_OLD = ("arthritis", "rash", "low-complement", "increased-dna-binding")


def _sets(c: Chunk, who: np.ndarray, code: str, day: np.ndarray, prefix: str, sets, value=np.nan) -> None:
    """One assessment per person with the items of a randomly chosen set as components (True)."""
    choice = c.rng.integers(0, len(sets), len(who))
    for k, items in enumerate(sets):
        sel = choice == k
        c.assess(who[sel], code, day[sel], value, items=[(f"{prefix}_{i}", True) for i in items])


def onsets(c: Chunk, who: np.ndarray, min_days, max_years: float, min_onset_age: float) -> np.ndarray:
    """Onset days: between ``min_days`` and ``max_years`` before as_of, not before ``min_onset_age``."""
    latest_back = np.floor((c.A - c.birth[who]) - min_onset_age * YEAR).astype(np.int64)
    high = np.maximum(np.minimum(int(max_years * YEAR), latest_back), min_days)
    return c.A - c.days(min_days, high, len(who))


# -- SLE ------------------------------------------------------------------------------------------

def sle(c: Chunk) -> np.ndarray:
    """SLE diagnoses and histories; returns the persons who must have no drug at all."""
    A = c.A
    who = np.flatnonzero(c.is_group("sle"))
    onset = onsets(c, who, 226, 12, 4)
    code = c.pick(cat.idx("sle", "sle_icd", "le"), len(who), p=[0.8, 0.1, 0.1])
    c.cond(who, code, onset)
    hist = c.completeness[who] != 4  # not diagnosis-only
    who, onset = who[hist], onset[hist]
    ln = c.chance(0.3, len(who))
    c.cond(who[ln], c.pick(cat.idx("ln", "ln4"), int(ln.sum())), np.minimum(onset[ln] + c.days(30, 700, int(ln.sum())),
                                                                            A - 30))
    _classification(c, who, onset)
    no_drugs = _refractory(c, who, onset)
    old = who[onset + 30 <= A - 61]
    _sets(c, old, "sledai", onset[onset + 30 <= A - 61] + 30, "sledai", (SLEDAI_OLD,))
    c.cond(c.where("mas", "active"), "hlh", A - 20)
    w = c.where("mas", "resolved_40d")
    c.cond(w, "hlh", A - 55, A - 40)
    return no_drugs


def _classification(c: Chunk, who: np.ndarray, onset: np.ndarray) -> None:
    f = c.facets["classification"][who]
    names = [o[0] for o in _facet("classification")]
    ana_day = onset - c.days(5, 60, len(who))
    ana_code = c.pick(cat.idx("ana", "ana_hep2"), len(who), p=[0.8, 0.2])
    titer = np.where(f == names.index("ana_low"), 40.0, c.pick([160.0, 320.0, 640.0, 1280.0], len(who)))
    numeric = ~np.isin(f, [names.index("ana_negative"), names.index("no_ana")])
    c.meas(who[numeric], ana_code[numeric], ana_day[numeric], titer[numeric], "{titer}")
    neg = f == names.index("ana_negative")
    c.qual(who[neg], "ana", False, ana_day[neg])
    day = onset - c.days(0, 4, len(who))
    classified = ~np.isin(f, [names.index("low_score"), names.index("no_assessment")])
    _sets(c, who[classified], "eular", day[classified], "eular", EULAR_CLASSIFIED)
    low = f == names.index("low_score")
    _sets(c, who[low], "eular", day[low], "eular", EULAR_LOW)


def _facet(name: str):
    return FACETS[FACET_INDEX[name]].options


def _weights(c: Chunk, who: np.ndarray, start: np.ndarray, stop: int, skip_lo=None, skip_hi=None) -> None:
    """A body weight every 120 days from ``start`` to ``stop`` (none inside [skip_lo, skip_hi])."""
    k = np.maximum((stop - start) // 120 + 1, 1)
    rep = np.repeat(np.arange(len(who)), k)
    step = np.concatenate([np.arange(j) for j in k]) if len(k) else np.empty(0, np.int64)
    day = start[rep] + 120 * step
    w = who[rep]
    keep = day <= stop
    if skip_lo is not None:
        keep &= (day < skip_lo[rep]) | (day > skip_hi[rep])
    w, day = np.concatenate([w[keep], who]), np.concatenate([day[keep], np.broadcast_to(stop, who.shape)])
    c.meas(w, "weight", day, c.weight_at(w, day))


def _glucocorticoid(c: Chunk, n: int) -> np.ndarray:
    return c.pick(cat.idx("prednisone", "prednisolone"), n, p=[0.7, 0.3])


def _hcq(c: Chunk, who, start, weight, end=None) -> None:
    mg = np.clip(np.round(5 * weight / 100) * 100, 100, 400)
    c.drug(who, "hydroxychloroquine", start, end, mg)


def _refractory(c: Chunk, who: np.ndarray, onset: np.ndarray) -> np.ndarray:
    A = c.A
    f = c.facets["refractory"][who]
    names = [o[0] for o in _facet("refractory")]
    sel = lambda *opts: np.isin(f, [names.index(o) for o in opts])  # noqa: E731
    start = onset + 7
    weight0 = c.weight_at(who, start)
    # (a) high dose for >= 90 days (or exactly 90 / 89 at exactly 1.0 mg/kg), HCQ, two agents
    a = sel("a_full", "a_90_exact", "a_89")
    wa, sa = who[a], start[a]
    exact = sel("a_90_exact", "a_89")[a]
    window_w = np.where(exact, np.round(weight0[a]), weight0[a])
    dose = np.where(exact, window_w, np.ceil(window_w / 5) * 5)
    length = np.where(sel("a_90_exact")[a], 90, np.where(sel("a_89")[a], 89, c.days(90, 150, len(wa))))
    end = sa + length - 1
    gc = _glucocorticoid(c, len(wa))
    c.drug(wa, gc, sa, end, dose)
    taper = np.where(exact, 5.0, c.pick([7.5, 10.0, 15.0], len(wa)))
    c.drug(wa, gc, end + 1, None, taper)
    for off in (-3, 30, 60):
        c.meas(wa, "weight", sa + off, window_w)
    c.meas(wa, "weight", end, window_w)
    _weights(c, wa, sa - 3, A - 1, sa - 45, end + 45)
    _hcq(c, wa, sa, weight0[a])
    _two_agents(c, wa, onset[a], weight0[a])
    # (b) intolerance, recorded or attested; a short glucocorticoid course
    b = sel("b_intolerance", "b_attest")
    wb, sb = who[b], start[b]
    c.drug(wb, _glucocorticoid(c, len(wb)), sb, sb + 59, 20.0)
    _weights(c, wb, sb - 3, sb + 60)
    intol = sel("b_intolerance")[b]
    substance = c.pick(cat.idx("hydroxychloroquine", "mycophenolate", "azathioprine"), len(wb))
    wi = wb[intol]
    c.allergy(wi, substance[intol], sb[intol] + 40, type_="intolerance", criticality=0)
    hcq_intol = intol & (substance == cat.INDEX["hydroxychloroquine"])
    _hcq(c, wb[hcq_intol], sb[hcq_intol], weight0[b][hcq_intol], sb[hcq_intol] + 30)
    _hcq(c, wb[~hcq_intol], sb[~hcq_intol], weight0[b][~hcq_intol])
    other = intol & (substance != cat.INDEX["hydroxychloroquine"])
    c.drug(wb[other], substance[other], sb[other] + 10, sb[other] + 40, np.where(
        substance[other] == cat.INDEX["mycophenolate"], 1000.0, 100.0))
    wt = wb[~intol]
    c.attest(wt, "intolerant-standard-therapy", A - c.days(1, 30, len(wt)))
    # (c) glucocorticoid for >= 6 months and still above 5 mg/day, and the edges around it
    for option, drug, mg, first in (("c_current", None, None, start), ("c_5mg", None, 5.0, start),
                                     ("c_methylpred_4mg", "methylprednisolone", 4.0, start),
                                     ("c_6m_exact", "prednisone", 10.0, None), ("c_recent", "prednisone", 10.0, None),
                                     ("dose_unknown", "prednisone", np.nan, start)):
        m = sel(option)
        w = who[m]
        if option == "c_6m_exact":
            s = add_months(np.full(len(w), A), -6)
        elif option == "c_recent":
            s = add_months(np.full(len(w), A), -5)
        else:
            s = first[m]
        code = _glucocorticoid(c, len(w)) if drug is None else cat.INDEX[drug]
        dose = c.pick([7.5, 10.0, 12.5, 15.0, 20.0], len(w)) if mg is None else np.full(len(w), mg)
        if option == "c_5mg":  # an earlier 60 days at 20 mg, then 5 mg for good
            c.drug(w, code, s, s + 59, 20.0)
            s = s + 60
        c.drug(w, code, s, None, dose)
        _weights(c, w, s - 3, A - 1)
        _hcq(c, w, first[m] if option not in ("c_6m_exact", "c_recent") else s, weight0[m])
        mmf = c.chance(0.5, len(w)) & (option in ("c_current", "c_5mg"))
        c.drug(w[mmf], "mycophenolate", onset[m][mmf] + 30, None, _mmf_dose(weight0[m][mmf]))
    return who[sel("no_meds")]


def _mmf_dose(weight: np.ndarray) -> np.ndarray:
    return np.clip(np.round(30 * weight / 250) * 250, 250, 2000)


def _two_agents(c: Chunk, who: np.ndarray, onset: np.ndarray, weight: np.ndarray) -> None:
    """Mycophenolate plus one of azathioprine, tacrolimus, cyclophosphamide pulses, belimumab, rituximab."""
    c.drug(who, "mycophenolate", onset + 30, None, _mmf_dose(weight))
    pick = c.rng.integers(0, 5, len(who))
    w, o, wt = who[pick == 0], onset[pick == 0], weight[pick == 0]
    c.drug(w, "azathioprine", o + 200, None, np.clip(np.round(2 * wt / 25) * 25, 25, 150))
    w, o, wt = who[pick == 1], onset[pick == 1], weight[pick == 1]
    c.drug(w, "tacrolimus", o + 150, None, np.clip(np.round(0.05 * wt * 2) / 2, 0.5, 4))
    for k in range(6):
        w, o, wt = who[pick == 2], onset[pick == 2], weight[pick == 2]
        c.drug(w, "cyclophosphamide", o + 20 + 28 * k, o + 20 + 28 * k, np.clip(np.round(15 * wt / 50) * 50, 200, 1000))
    for k in range(3):
        w, o, wt = who[pick == 3], onset[pick == 3], weight[pick == 3]
        c.drug(w, "belimumab", o + 60 + 14 * k, o + 60 + 14 * k, np.round(10 * wt))
    for k in range(2):
        w, o = who[pick == 4], onset[pick == 4]
        c.drug(w, "rituximab", o + 100 + 14 * k, o + 100 + 14 * k, 1000.0)


# -- nephrotic syndrome ---------------------------------------------------------------------------

def to_upcr(c: Chunk, who: np.ndarray, gg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(code, unit, value) of UPCR values given in g/g, in each person's unit (facet upcr_unit)."""
    unit = c.facets["upcr_unit"][who]
    unit = np.where(unit < 0, 2, unit)  # patients without the facet: mg/mmol
    code = np.where(unit == 2, cat.INDEX["upcr_si"], cat.INDEX["upcr_mass"])
    units = np.array([cat.UNIT["g/g"], cat.UNIT["mg/g"], cat.UNIT["mg/mmol"]])[unit]
    value = np.where(unit == 0, np.round(gg, 3), np.where(unit == 1, np.round(gg * 1000), np.round(gg * 1000 / 8.84, 1)))
    return code, units, value


def nephrotic(c: Chunk) -> None:
    A = c.A
    group = c.is_group("srns", "ns-other", "srns-sle")
    who = np.flatnonzero(group)
    hist = c.completeness[who] != 4
    f = c.facets["multidrug"][who]
    names = [o[0] for o in _facet("multidrug")]
    sel = lambda *opts: np.isin(f, [names.index(o) for o in opts])  # noqa: E731
    path1 = sel("path1_active", "path1_relapse", "path1_remission", "path1_rituximab", "path1_telitacicept",
                "upcr_missing")
    n = len(who)
    # the first steroid-sparing drug (CNI) starts at s; the disease 60 days earlier
    s = np.where(path1, onsets(c, who, 430, 10, 1) + 60, 0)
    s = np.where(sel("path1_11m"), A - c.days(300, 330, n), s)
    s = np.where(sel("path2"), A - c.days(120, 300, n), s)
    s = np.where(sel("path2_exact_3m"), add_months(np.full(n, A), -3), s)
    s = np.where(sel("cni_2m"), A - c.days(40, 60, n), s)
    t0 = np.where(s != 0, s - 60, onsets(c, who, 120, 5, 1))
    t0 = np.where(hist, t0, onsets(c, who, 60, 6, 1))
    t0 = np.maximum(t0, c.birth[who] + 180)
    # diagnoses
    srns = c.is_group("srns", "srns-sle")[who]
    dx = c.facets["srns_dx"][who]
    adult = c.age[who] >= 18
    dx = np.where((dx == 1) & adult, 0, dx)
    code = np.array(cat.idx("srns", "srns_child", "mdrns"))[np.maximum(dx, 0)]
    resistant = np.where(hist, np.minimum(t0 + 56, A), t0)
    c.cond(who[srns], code[srns], resistant[srns])
    first = srns & hist & c.chance(0.5, n)
    c.cond(who[first], c.pick(cat.idx("ns", "ns_icd"), int(first.sum())), t0[first])
    other = ~srns
    nd = c.facets["ns_dx"][who][other]
    c.cond(who[other], np.array(cat.idx("ssns", "sdns", "ns", "ns_icd"))[np.maximum(nd, 0)], t0[other])
    both = c.is_group("srns-sle")[who]
    sle_onset = onsets(c, who[both], 365, 10, 5)
    c.cond(who[both], "sle", sle_onset)
    _hcq(c, who[both & hist], sle_onset[hist[both]] + 10, c.weight_at(who[both & hist], A))
    # everything below is history
    who, t0, s, f = who[hist], t0[hist], s[hist], f[hist]
    path1, n = path1[hist], int(hist.sum())
    sel = lambda *opts: np.isin(f, [names.index(o) for o in opts])  # noqa: E731
    weight = c.weight_at(who, t0)
    c.meas(who, "weight", t0, weight)
    c.drug(who, _glucocorticoid(c, n), t0, t0 + 55, np.minimum(60, np.maximum(np.round(2 * weight / 5) * 5, 5)))
    steroid_only = sel("steroids_only")
    relapse = who[steroid_only]
    again = t0[steroid_only] + c.days(90, 100, len(relapse))
    c.drug(relapse, "prednisone", again, np.minimum(again + 41, A - 10), 40.0)
    # calcineurin inhibitor from s
    cni = s != 0
    tac = c.chance(0.7, n)
    w, st, wt = who[cni & tac], s[cni & tac], weight[cni & tac]
    c.drug(w, "tacrolimus", st, None, np.clip(np.round(0.1 * wt * 2) / 2, 0.5, 8))
    w, st, wt = who[cni & ~tac], s[cni & ~tac], weight[cni & ~tac]
    c.drug(w, "ciclosporin", st, None, np.clip(np.round(5 * wt / 25) * 25, 25, 400))
    # second mechanism
    mmf = sel("path1_active", "path1_relapse", "path1_remission", "path1_11m", "upcr_missing")
    stopped = c.chance(0.3, n) & ~sel("path1_11m")
    w = who[mmf & stopped]
    c.drug(w, "mycophenolate", s[mmf & stopped] + 60, A - c.days(30, 200, len(w)), _mmf_dose(weight[mmf & stopped]))
    w = who[mmf & ~stopped]
    c.drug(w, "mycophenolate", s[mmf & ~stopped] + 30, None, _mmf_dose(weight[mmf & ~stopped]))
    r = sel("path1_rituximab")
    for k in (0, 14):
        c.drug(who[r], "rituximab", s[r] + 120 + k, s[r] + 120 + k, np.round(15 * weight[r] / 10) * 10)
    t = sel("path1_telitacicept")
    c.drug(who[t], "telitacicept", s[t] + 90, A - 60)  # no dose, in both formats
    # biopsy pathology: a resolved condition dated the biopsy day
    b = c.facets["biopsy"][who]
    bday = np.minimum(t0 + c.days(20, 50, n), A - 1)
    keys = cat.idx("mcd", "mcd_icd", "fsgs", "fsgs_icd", "membranous")
    for k, key in enumerate(keys):
        m = b == k
        c.cond(who[m], key, bday[m], bday[m])
    # UPCR every 90 days from t0 up to 100 days before as_of
    k = np.maximum((A - 100 - t0) // 90 + 1, 1)
    rep = np.repeat(np.arange(n), k)
    j = np.concatenate([np.arange(x) for x in k]) if n else np.empty(0, np.int64)
    day = t0[rep] + 90 * j
    ok = day <= A - 100
    gg = np.where(j == 0, c.uniform(3, 10, len(rep)), c.uniform(0.5, 6, len(rep)))
    relapsed = sel("path1_relapse")[rep]
    last = j == k[rep] - 1
    gg = np.where(relapsed & (j == k[rep] - 2), c.uniform(0.05, 0.15, len(rep)), gg)
    exact = c.chance(0.3, n)[rep]
    gg = np.where(relapsed & last, np.where(exact, 2.0, c.uniform(2.5, 6, len(rep))), gg)
    code, unit, value = to_upcr(c, who[rep], gg)
    exact_si = relapsed & last & exact & (unit == cat.UNIT["mg/mmol"])
    value = np.where(exact_si, 227.0, value)  # 227 mg/mmol = 2.007 g/g
    c.meas(who[rep][ok], code[ok], day[ok], value[ok], unit[ok])


# -- the look-alikes in the general population ------------------------------------------------------

def sle_like(c: Chunk) -> None:
    who = np.flatnonzero(c.is_group("sle-like"))
    n = len(who)
    onset = onsets(c, who, 200, 15, 12)
    for key, share in (("ra", 0.6), ("joint_pain", 0.5), ("fatigue", 0.3)):
        m = c.chance(share, n)
        c.cond(who[m], key, onset[m])
    ana = c.chance(0.8, n)
    c.meas(who[ana], "ana", onset[ana] - 20, c.pick([80.0, 160.0], int(ana.sum())), "{titer}")
    c.qual(who[~ana], "ana", False, onset[~ana] - 20)
    e = c.chance(0.3, n)
    _sets(c, who[e], "eular", onset[e] - 10, "eular", EULAR_LOW)
    h = c.chance(0.4, n)
    c.drug(who[h], "hydroxychloroquine", onset[h], None, c.pick([200.0, 400.0], int(h.sum())))
    p = c.chance(0.2, n)
    c.drug(who[p], "prednisone", onset[p] + 30, None, 5.0)


def renal_other(c: Chunk) -> None:
    A = c.A
    who = np.flatnonzero(c.is_group("renal-other"))
    n = len(who)
    onset = onsets(c, who, 200, 15, 18)
    stage = c.rng.integers(0, 4, n)
    c.cond(who, np.array(cat.idx("ckd1", "ckd2", "ckd3", "ckd4"))[stage], onset)
    dk = c.chance(0.2, n)
    c.cond(who[dk], "diabetic_kidney", onset[dk])
    iga = c.chance(0.25, n)
    bday = onset[iga] + 30
    c.cond(who[iga], "iga", bday, bday)
    k = c.rng.integers(2, 5, n)
    rep = np.repeat(np.arange(n), k)
    day = A - c.days(1, 3 * 365, len(rep))
    scr = np.round((1.0 + 0.6 * stage[rep]) * c.rng.normal(1, 0.15, len(rep)), 2)
    c.meas(who[rep], "creat_blood", day, scr)
    c.meas(who[rep], "egfr", day, np.round(np.clip(95 - 22 * stage[rep] + c.rng.normal(0, 8, len(rep)), 8, 130)))
    u = c.chance(0.5, len(rep))
    c.meas(who[rep][u], "uacr", day[u], np.round(c.uniform(10, 600, int(u.sum()))))
    p = c.chance(0.3, len(rep))
    c.meas(who[rep][p], "upcr_mass", day[p], np.round(c.uniform(0.05, 1.5, int(p.sum())), 3), "g/g")
    dia = c.chance(0.12, n)
    w = who[dia]
    c.cond(w, "dialysis_dep", onset[dia] + 365)
    for k in range(12):
        c.proc(w, "hemodialysis", A - 1 - 2 * k - (k // 3))
