"""SLE endpoints at one visit: SLEDAI-2K change, SRI-4, LLDAS / cLLDAS, DORIS 2021, drug-free remission.

Baseline is the latest assessment dated on or before the infusion (day 0).
Each function returns an :class:`Outcome`; any input it needs that is missing
makes it ``not evaluable`` with the missing items named. Definitions:
clinical.md 7, with the sources in each ``*_SOURCE``.

Readings trialdesk had to choose (stated here and in docs/followup.md):

* "prednisolone" doses are prednisone-equivalent (prednisone = prednisolone).
* LLDAS applies at age >= 18 at the visit, cLLDAS below; "stable"/"well
  tolerated" maintenance therapy and "no investigational drugs" are not checked.
* DORIS 2021: glucocorticoids <= 5 mg/day (the abstract; its Table 2 prints
  "< 5"), clinical SLEDAI = SLEDAI-2K without low complement and increased DNA
  binding, so serology may be positive.
* SRI-4: treatment failure (non-protocol rescue therapy) is not assessed.
"""

from __future__ import annotations

from datetime import date

from trialdesk.calculators.base import fmt
from trialdesk.calculators.sledai_2k import NEUROLOGICAL
from trialdesk.calculators.sledai_2k import SOURCE as SLEDAI_SOURCE
from trialdesk.calculators.sledai_2k import score
from trialdesk.followup.outcome import VALUE, Outcome, judged, not_evaluable
from trialdesk.followup.records import BILAG_DOMAINS, DiseaseAssessment, Subject
from trialdesk.followup.treatment import other_immunosuppression, steroid_dose, weight_near

SRI4_SOURCE = "Furie RA et al. Arthritis Rheum 2009;61:1143-1151 (SRI-4; clinical.md 7)"
LLDAS_SOURCE = "Franklyn K et al. Ann Rheum Dis 2016;75:1615-1621, Table 1 (LLDAS; clinical.md 7)"
CLLDAS_SOURCE = "Smith EMD et al. Clin Immunol 2023;250:109296 (childhood LLDAS; clinical.md 7)"
DORIS_SOURCE = ("van Vollenhoven RF et al. Lupus Sci Med 2021;8:e000538 (DORIS 2021; clinical.md 7); "
                "glucocorticoids <= 5 mg/day as in the abstract")
DRUG_FREE_SOURCE = (f"{DORIS_SOURCE}; off glucocorticoids, immunosuppressants and biologics, antimalarials "
                    "allowed ('remission off treatment', van Vollenhoven R et al. Ann Rheum Dis 2017;76:554-561; "
                    "not in clinical.md, verify)")

SRI4_SLEDAI_DROP = 4  # >= 4-point reduction
SRI4_PGA_RISE = 0.3  # worsening is an increase of >= 0.3 (0-3 scale)
LLDAS_SLEDAI_MAX = 4
LLDAS_PGA_MAX = 1.0
LLDAS_PRED_MAX_MG = 7.5
CLLDAS_PRED_MAX_MG_KG = 0.15
DORIS_PGA_BELOW = 0.5
DORIS_PRED_MAX_MG = 5.0
ADULT_AGE = 18
SEROLOGY = frozenset({"low-complement", "increased-dna-binding"})
#: LLDAS "major organ systems" as SLEDAI-2K descriptors: renal, CNS, cardiopulmonary, vasculitis, fever.
MAJOR_ORGAN = frozenset({"urinary-casts", "hematuria", "proteinuria", "pyuria", "pleurisy", "pericarditis",
                         "vasculitis", "fever"}) | NEUROLOGICAL


def baseline(subject: Subject) -> DiseaseAssessment | None:
    """The latest SLE assessment with a SLEDAI-2K score dated on or before the infusion."""
    found = [a for a in subject.assessments if a.day <= subject.infusion and a.sledai is not None]
    return max(found, key=lambda a: a.day) if found else None


def previous(subject: Subject, day: date) -> DiseaseAssessment | None:
    """The latest scored assessment before ``day``."""
    found = [a for a in subject.assessments if a.day < day and a.sledai is not None]
    return max(found, key=lambda a: a.day) if found else None


def sledai(a: DiseaseAssessment) -> int:
    """The SLEDAI-2K total of an assessment (0 when no descriptor is present)."""
    return int(score(a.sledai or ()).value)


def sledai_change(subject: Subject, day: date) -> Outcome:
    """SLEDAI-2K at ``day`` minus baseline (negative = improvement)."""
    name = "sledai-2k-change"
    now, base = subject.assessment(day), baseline(subject)
    if now is None or now.sledai is None or base is None:
        return not_evaluable(name, SLEDAI_SOURCE, _need(now is not None and now.sledai is not None,
                                                        f"SLEDAI-2K on {day}", base is not None,
                                                        "baseline SLEDAI-2K (on or before the infusion)"))
    b, n = sledai(base), sledai(now)
    detail = f"SLEDAI-2K {n} on {day} - {b} at baseline {base.day} = {n - b:+d}"
    return Outcome(name, VALUE, detail, SLEDAI_SOURCE, float(n - b))


def sri4(subject: Subject, day: date) -> Outcome:
    """SRI-4: SLEDAI-2K down >= 4, no new BILAG A and <= 1 new BILAG B, PGA up < 0.3."""
    name = "sri-4"
    now, base = subject.assessment(day), baseline(subject)
    if now is None or base is None:
        return not_evaluable(name, SRI4_SOURCE, _need(now is not None, f"assessment on {day}",
                                                      base is not None, "baseline assessment"))
    missing = []
    for label, a in (("baseline", base), (str(day), now)):
        if a.sledai is None:
            missing.append(f"SLEDAI-2K ({label})")
        if a.pga is None:
            missing.append(f"PGA ({label})")
        absent = [d for d in BILAG_DOMAINS if d not in (a.bilag or {})]
        if absent:
            missing.append(f"BILAG-2004 {', '.join(absent)} ({label})")
    if missing or base.pga is None or now.pga is None or base.bilag is None or now.bilag is None:
        return not_evaluable(name, SRI4_SOURCE, missing)
    b, n = sledai(base), sledai(now)
    new_a = [d for d in BILAG_DOMAINS if now.bilag[d] == "A" and base.bilag[d] != "A"]
    new_b = [d for d in BILAG_DOMAINS if now.bilag[d] == "B" and base.bilag[d] in ("C", "D", "E")]
    rise = round(now.pga - base.pga, 9)
    parts = [
        (b - n >= SRI4_SLEDAI_DROP, f"SLEDAI-2K {b} -> {n} (drop {b - n}, needs >= {SRI4_SLEDAI_DROP})"),
        (not new_a and len(new_b) <= 1, f"new BILAG A: {', '.join(new_a) or 'none'}; new BILAG B: "
                                         f"{', '.join(new_b) or 'none'} (needs no A and <= 1 B)"),
        (rise < SRI4_PGA_RISE, f"PGA {fmt(base.pga)} -> {fmt(now.pga)} (change {rise:+g}, "
                               f"needs < +{SRI4_PGA_RISE})"),
    ]
    return judged(name, SRI4_SOURCE, all(ok for ok, _ in parts), _explain(parts))


def lldas(subject: Subject, day: date, weight_window_days: int) -> Outcome:
    """LLDAS (age >= 18) or childhood cLLDAS (age < 18) at ``day``."""
    child = subject.age_on(day) < ADULT_AGE
    name, source = ("clldas", CLLDAS_SOURCE) if child else ("lldas", LLDAS_SOURCE)
    now, before = subject.assessment(day), previous(subject, day)
    dose = steroid_dose(subject, day)
    missing = list(dose.missing)
    if now is None:
        return not_evaluable(name, source, [f"assessment on {day}", *missing])
    for label, value in (("SLEDAI-2K", now.sledai), ("PGA", now.pga),
                         ("haemolytic anaemia (yes/no)", now.hemolytic_anemia),
                         ("GI activity (yes/no)", now.gi_activity)):
        if value is None:
            missing.append(f"{label} on {day}")
    if before is None:
        missing.append(f"a previous SLEDAI-2K assessment before {day} (for 'no new activity')")
    weight = weight_near(subject, day, weight_window_days) if child else None
    if child and weight is None:
        missing.append(f"body weight within {weight_window_days} days of {day} (for mg/kg/day)")
    if missing or now.sledai is None or now.pga is None or before is None or dose.mg is None:
        return not_evaluable(name, source, missing)
    total, present = sledai(now), set(now.sledai)
    major = sorted(present & MAJOR_ORGAN)
    new = sorted(present - set(before.sledai or ()))
    parts = [
        (total <= LLDAS_SLEDAI_MAX and not major,
         f"SLEDAI-2K {total} (needs <= {LLDAS_SLEDAI_MAX}), major-organ activity: {', '.join(major) or 'none'}"),
        (not now.hemolytic_anemia and not now.gi_activity,
         f"haemolytic anaemia {_yes(now.hemolytic_anemia)}, GI activity {_yes(now.gi_activity)}"),
        (not new, f"new activity since {before.day}: {', '.join(new) or 'none'}"),
        (now.pga <= LLDAS_PGA_MAX, f"PGA {fmt(now.pga)} (needs <= {LLDAS_PGA_MAX:g})"),
    ]
    if weight is not None:
        kg, weighed = weight
        per_kg = round(dose.mg / kg, 9)
        parts.append((per_kg <= CLLDAS_PRED_MAX_MG_KG and dose.mg <= LLDAS_PRED_MAX_MG,
                      f"{dose.detail} = {fmt(per_kg)} mg/kg/day at {fmt(kg)} kg ({weighed}) "
                      f"(needs <= {CLLDAS_PRED_MAX_MG_KG} mg/kg/day and <= {LLDAS_PRED_MAX_MG:g} mg/day)"))
    else:
        parts.append((dose.mg <= LLDAS_PRED_MAX_MG, f"{dose.detail} (needs <= {LLDAS_PRED_MAX_MG:g} mg/day)"))
    return judged(name, source, all(ok for ok, _ in parts), _explain(parts))


def doris(subject: Subject, day: date) -> Outcome:
    """DORIS 2021 remission: clinical SLEDAI 0, PGA < 0.5, glucocorticoid <= 5 mg/day."""
    return _doris("doris-remission", DORIS_SOURCE, subject, day, drug_free=False)


def drug_free_remission(subject: Subject, day: date) -> Outcome:
    """DORIS 2021 remission with no glucocorticoid, immunosuppressant or biologic (antimalarials allowed)."""
    return _doris("drug-free-remission", DRUG_FREE_SOURCE, subject, day, drug_free=True)


def _doris(name: str, source: str, subject: Subject, day: date, drug_free: bool) -> Outcome:
    now = subject.assessment(day)
    dose = steroid_dose(subject, day)
    missing = list(dose.missing)
    if now is None or now.sledai is None:
        missing.insert(0, f"SLEDAI-2K on {day}")
    if now is None or now.pga is None:
        missing.append(f"PGA on {day}")
    others = other_immunosuppression(subject, day) if drug_free else []
    if others is None and not dose.missing:
        missing.append(f"medication list complete on {day}")
    if missing or now is None or now.sledai is None or now.pga is None or dose.mg is None or others is None:
        return not_evaluable(name, source, missing)
    clinical = sorted(set(now.sledai) - SEROLOGY)
    clinical_score = int(score(clinical).value)
    serology = sorted(set(now.sledai) & SEROLOGY)
    parts = [
        (clinical_score == 0, f"clinical SLEDAI {clinical_score} ({', '.join(clinical) or 'no clinical descriptor'}; "
                              f"serology {', '.join(serology) or 'none'}, allowed)"),
        (now.pga < DORIS_PGA_BELOW, f"PGA {fmt(now.pga)} (needs < {DORIS_PGA_BELOW})"),
    ]
    if drug_free:
        parts.append((dose.mg == 0, f"{dose.detail} (needs none)"))
        parts.append((not others, f"immunosuppressants/biologics: {', '.join(others) or 'none'} (needs none)"))
    else:
        parts.append((dose.mg <= DORIS_PRED_MAX_MG, f"{dose.detail} (needs <= {DORIS_PRED_MAX_MG:g} mg/day)"))
    return judged(name, source, all(ok for ok, _ in parts), _explain(parts))


def _need(*pairs: object) -> list[str]:
    """The labels whose condition is false, from (condition, label) pairs given flat."""
    return [str(label) for ok, label in zip(pairs[::2], pairs[1::2]) if not ok]


def _yes(flag: bool | None) -> str:
    return "yes" if flag else "no"


def _explain(parts: list[tuple[bool, str]]) -> str:
    return "; ".join(f"{'yes' if ok else 'NO'}: {text}" for ok, text in parts)
