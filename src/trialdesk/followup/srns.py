"""SRNS endpoints at one visit: IPNA status (complete/partial remission, relapse) and eGFR (and its change).

IPNA status comes from :func:`trialdesk.calculators.ipna_response.ipna_response`
on the UPCR and albumin dated on the visit day (UPCR in g/g, protocol CL-8). A
relapse needs nephrotic-range UPCR on ``upcr_consecutive_days`` consecutive
days ending on the visit day, after complete remission: the status before the
first of those days is passed as ``previous``. Without albumin, a UPCR <= 0.2
g/g is still complete remission (that rule does not use albumin); any other
UPCR is not evaluable, since partial remission needs albumin.

eGFR uses the protocol's age-appropriate equation (criteria.md "eGFR", as the
screening engine does): CKD-EPI 2021 at age >= 18, CKiD U25 below (with the
height nearest the creatinine date within ``weight_window_days``).
"""

from __future__ import annotations

from datetime import date, timedelta

from trialdesk.calculators.egfr_ckd_epi_2021 import egfr_ckd_epi_2021
from trialdesk.calculators.egfr_ckid_u25 import egfr_ckid_u25
from trialdesk.calculators.ipna_response import BY_SLUG, COMPLETE_MAX_G_G, CR, PR, RELAPSE, ipna_response
from trialdesk.calculators.ipna_response import SOURCE as IPNA_SOURCE
from trialdesk.calculators.units import convert
from trialdesk.errors import CalculatorError
from trialdesk.followup.outcome import VALUE, Outcome, judged, not_evaluable
from trialdesk.followup.records import Subject

ADULT_AGE = 18


def ipna_status(subject: Subject, day: date, days_needed: int, before: dict[date, str]) -> Outcome:
    """IPNA status on ``day`` (value = status code 0-3); ``before`` maps earlier dates to their status slug."""
    name = "ipna-status"
    upcr = subject.lab("upcr", day)
    if upcr is None:
        return not_evaluable(name, IPNA_SOURCE, [f"UPCR on {day}"])
    albumin = subject.lab("albumin", day)
    series = [upcr.value]
    for back in range(1, days_needed):
        earlier = subject.lab("upcr", day - timedelta(days=back))
        if earlier is None:
            break
        series.insert(0, earlier.value)
    first = day - timedelta(days=len(series) - 1)
    earlier_status = [(d, s) for d, s in before.items() if d < first]
    previous = max(earlier_status)[1] if earlier_status else None
    if albumin is None:
        if upcr.value <= COMPLETE_MAX_G_G:
            return Outcome(name, VALUE, f"UPCR {upcr.value:g} g/g (no albumin needed): complete remission "
                                        f"({CR.rule})", IPNA_SOURCE, float(CR.code))
        return not_evaluable(name, IPNA_SOURCE, [f"serum albumin on {day} (UPCR {upcr.value:g} g/g > "
                                                 f"{COMPLETE_MAX_G_G:g} g/g: statuses other than complete remission are "
                                                 "graded with albumin)"])
    try:
        result = ipna_response(series, albumin.value, previous)
    except CalculatorError as exc:
        return not_evaluable(name, IPNA_SOURCE, [f"a plausible UPCR and albumin on {day} ({exc})"])
    return Outcome(name, VALUE, f"{result.extra['status']}: {result.equation}", IPNA_SOURCE, float(result.value))


def status_slug(outcome: Outcome) -> str | None:
    """The IPNA status slug (``complete-remission`` ...) of an ipna-status outcome, None if not evaluable."""
    if outcome.value is None:
        return None
    return next(slug for slug, s in BY_SLUG.items() if s.code == int(outcome.value))


def remission(status: Outcome, complete_only: bool) -> Outcome:
    """Complete remission (``complete_only``) or complete-or-partial remission from an IPNA status outcome."""
    name = "ipna-complete-remission" if complete_only else "ipna-remission"
    if status.value is None:
        return not_evaluable(name, IPNA_SOURCE, status.missing)
    wanted = {CR.code} if complete_only else {CR.code, PR.code}
    return judged(name, IPNA_SOURCE, int(status.value) in wanted, status.detail)


def relapse(status: Outcome) -> Outcome:
    if status.value is None:
        return not_evaluable("ipna-relapse", IPNA_SOURCE, status.missing)
    return judged("ipna-relapse", IPNA_SOURCE, int(status.value) == RELAPSE.code, status.detail)


def egfr(subject: Subject, day: date, height_window_days: int) -> Outcome:
    """eGFR (mL/min/1.73 m2) from the creatinine dated ``day``, with the age-appropriate equation."""
    name = "egfr"
    crea = subject.lab("creatinine", day)
    if crea is None:
        return not_evaluable(name, "criteria.md 'eGFR'", [f"serum creatinine on {day}"])
    scr = convert(crea.value, "umol/L", "mg/dL", "creatinine")
    age = subject.age_on(day)
    try:
        if age >= ADULT_AGE:
            result = egfr_ckd_epi_2021(scr, age, subject.sex)
        else:
            height = subject.nearest_vital("height", day, height_window_days)
            if height is None:
                return not_evaluable(name, "criteria.md 'eGFR'", [
                    f"body height within {height_window_days} days of {day} (CKiD U25, age {age})"])
            result = egfr_ckid_u25(scr, age, subject.sex, height[0] / 100)
    except CalculatorError as exc:
        return not_evaluable(name, "criteria.md 'eGFR'", [f"a creatinine the equation accepts ({exc})"])
    return Outcome(name, VALUE, f"{result.name}: {result.equation}", result.source, result.value)


def egfr_change(subject: Subject, day: date, height_window_days: int) -> Outcome:
    """Percent change of the eGFR of ``day`` from the baseline eGFR (latest creatinine on or before day 0)."""
    name = "egfr-change"
    base_lab = subject.latest_lab("creatinine", subject.infusion)
    if base_lab is None:
        return not_evaluable(name, "criteria.md 'eGFR'", ["a baseline creatinine (on or before the infusion)"])
    now, base = egfr(subject, day, height_window_days), egfr(subject, base_lab.day, height_window_days)
    if now.value is None or base.value is None:
        return not_evaluable(name, "criteria.md 'eGFR'", [*now.missing, *(f"baseline {m}" for m in base.missing)])
    change = (now.value - base.value) / base.value * 100
    return Outcome(name, VALUE, f"eGFR {now.value:.1f} on {day} vs {base.value:.1f} at baseline {base_lab.day}: "
                                f"{change:+.1f} %", now.source, change)
