"""Who the persons of a chunk are: age, sex, birth date, completeness and facets.

Ages follow each group's range (SLE 5-70, mostly women of 18-45; SRNS and other
nephrotic syndrome 3-40, 60 % children; everyone else 0-90). Birth dates are full
dates except for about 1 % month-only and 0.3 % year-only dates outside the cohorts'
age edges (FHIR ``birthDate`` "2010-06" / "2010", OMOP month/day NULL).
"""

from __future__ import annotations

import numpy as np

from trialdesk.synth._chunk import Chunk, add_months, quota
from trialdesk.synth._mix import COHORT_GROUPS, COMPLETENESS, option

CHILD_MAX = 17
#: Facets reset to their first (normal) option for the "clean" profile.
CLEAN = ("age_edge", "lvef", "spo2", "liver", "renal", "height", "performance", "ecg", "serology", "pregnancy",
         "contraception", "focbp_override", "attest", "consent", "survival", "vaccine", "bcell", "infection",
         "herpes", "cns", "cardiac", "other", "classification", "sledai", "refractory", "mas", "multidrug")


def people(c: Chunk) -> None:
    n, rng = c.n, c.rng
    sle = c.is_group("sle")
    nephrotic = c.is_group("srns", "ns-other", "srns-sle")
    general = ~(sle | nephrotic)
    # sex: 0 female, 1 male, 2 unknown
    p_female = np.where(sle, 0.9, np.where(c.is_group("srns-sle"), 0.85, np.where(nephrotic, 0.42, 0.5)))
    c.gender[:] = np.where(rng.random(n) < p_female, 0, 1)
    c.gender[general & (rng.random(n) < 0.003)] = 2
    # age in years (fractional)
    years = rng.uniform(0, 90, n)
    sle_child = rng.random(n) < 0.12
    years = np.where(sle, np.where(sle_child, rng.uniform(5, 18, n), rng.triangular(18, 32, 71, n)), years)
    ne_child = rng.random(n) < 0.6
    years = np.where(nephrotic, np.where(ne_child, rng.uniform(3, 18, n), rng.uniform(18, 41, n)), years)
    years = np.where(c.is_group("sle-like"), rng.uniform(15, 76, n), years)
    years = np.where(c.is_group("renal-other"), rng.uniform(20, 86, n), years)
    c.birth[:] = c.A - np.floor(years * 365.25).astype(np.int64) - 1
    # the age criteria's edges: a birthday on as_of, or the day after
    cohort = sle | nephrotic
    clean = c.draw("profile", cohort) == option("profile", "clean")
    edge = c.draw("age_edge", cohort)
    edge[clean] = 0
    minimum = np.where(sle, 5, 3)
    on_birthday = add_months(np.full(n, c.A), -12 * minimum)
    c.birth[:] = np.where(edge == 1, on_birthday, np.where(edge == 2, on_birthday + 1, c.birth))
    # partial birth dates (earliest possible day: the 1st of the month, 1 January)
    partial = rng.random(n)
    month_only = (partial < 0.01) & (edge <= 0)
    year_only = (partial > 0.997) & (edge <= 0)
    d = c.birth.astype("datetime64[D]")
    c.birth[month_only] = d[month_only].astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    c.birth[year_only] = d[year_only].astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    c.birth_precision[month_only] = 1
    c.birth_precision[year_only] = 2
    # completeness of the cohort patients, by quota
    idx = np.flatnonzero(c.is_group(*COHORT_GROUPS))
    c.completeness[idx] = quota(rng, len(idx), [s for _, s, _ in COMPLETENESS])
    c.cap[idx] = c.A - 120  # background history of cohort patients ends 120 days before as_of
    c.bg[:] = ~c.is_completeness("diagnosis")  # diagnosis-only patients have nothing else


def draw_facets(c: Chunk) -> None:
    """Draw every facet for the persons it applies to (see _mix.FACETS)."""
    age, female = c.age, c.gender == 0
    sle = c.is_group("sle")
    nephrotic = c.is_group("srns", "ns-other", "srns-sle")
    cohort = sle | nephrotic
    panel = cohort & c.is_completeness("complete", "partial", "stale")
    history = cohort & ~c.is_completeness("diagnosis")
    for name in ("lvef", "spo2", "liver", "creat_unit", "tbil_unit", "renal", "performance", "ecg", "serology",
                 "attest", "consent", "survival"):
        c.draw(name, panel)
    focbp_age = female & (age >= 12) & (age < 55)
    c.draw("pregnancy", panel & focbp_age)
    c.draw("contraception", panel & focbp_age)
    c.draw("focbp_override", history & focbp_age)
    for name in ("vaccine", "bcell", "infection", "herpes", "cns", "cardiac", "other"):
        c.draw(name, history)
    c.draw("future", np.ones(c.n, bool))
    c.draw("height", panel & (age <= CHILD_MAX))
    c.draw("classification", sle & history)
    c.draw("sledai", sle & panel)
    c.draw("refractory", sle & history)
    c.draw("mas", sle & history)
    no_meds = c.facets["refractory"] == option("refractory", "no_meds")
    c.facets["bcell"][no_meds] = option("bcell", "none")  # they must have no drug at all
    c.facets["infection"][no_meds] = option("infection", "none")
    c.draw("srns_dx", c.is_group("srns", "srns-sle"))
    c.draw("ns_dx", c.is_group("ns-other"))
    c.draw("biopsy", nephrotic & history)
    c.draw("multidrug", nephrotic & history)
    c.draw("upcr_unit", nephrotic & history)
    clean = c.facets["profile"] == option("profile", "clean")
    for name in CLEAN:
        c.facets[name][clean & (c.facets[name] >= 0)] = 0
    biopsy = c.facets["biopsy"]
    bad = clean & np.isin(biopsy, [option("biopsy", "membranous"), option("biopsy", "none")])
    biopsy[bad] = c.rng.integers(0, 4, int(bad.sum()))
