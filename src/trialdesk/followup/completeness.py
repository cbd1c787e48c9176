"""What a visit done still lacks: its schedule items checked against the data recorded that day.

Each item of ``schedule.yaml`` maps to the records that show it was collected
on the visit date (``CHECKS``). Items no record can show are reported as not
checkable rather than complete: eligibility is confirmed in the screening
application, and "no adverse event" is not data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from trialdesk.followup.records import BILAG_DOMAINS, Subject

NOT_CHECKABLE = frozenset({"consent-eligibility", "adverse-events"})


def _labs(*tests: str) -> Callable[[Subject, date], list[str]]:
    return lambda s, day: [t for t in tests if s.lab(t, day) is None]


def _vitals(s: Subject, day: date) -> list[str]:
    return [] if any(v.day == day and set(v.values) - {"weight", "height"} for v in s.vitals) else ["vital signs"]


def _weight(s: Subject, day: date) -> list[str]:
    return [] if any(v.day == day and "weight" in v.values for v in s.vitals) else ["weight"]


def _assessed(field: str) -> Callable[[Subject, date], list[str]]:
    def check(s: Subject, day: date) -> list[str]:
        a = s.assessment(day)
        return [] if a is not None and getattr(a, field) is not None else [field]
    return check


def _bilag(s: Subject, day: date) -> list[str]:
    a = s.assessment(day)
    given = (a.bilag or {}) if a is not None else {}
    return [f"BILAG {d}" for d in BILAG_DOMAINS if d not in given]


def _con_meds(s: Subject, day: date) -> list[str]:
    through = s.medications_complete_through
    return [] if through is not None and through >= day else ["medication list (medications_complete_through)"]


def _graded(s: Subject, day: date) -> list[str]:
    done = {g.kind for g in s.graded if g.day == day}
    return [kind.upper() for kind in ("crs", "icans") if kind not in done]


def _dosed(kind: str) -> Callable[[Subject, date], list[str]]:
    return lambda s, day: [] if any(d.kind == kind and d.day == day for d in s.doses) else [f"{kind} dose"]


#: schedule item -> what is missing for it on a date
CHECKS: dict[str, Callable[[Subject, date], list[str]]] = {
    "vitals": _vitals,
    "weight": _weight,
    "cbc": _labs("hemoglobin", "wbc", "neutrophils", "lymphocytes", "platelets"),
    "chemistry": _labs("creatinine", "albumin", "ast", "alt", "bilirubin"),
    "cd19": _labs("cd19"),
    "igg": _labs("igg"),
    "complement": _labs("c3", "c4"),
    "anti-dsdna": _labs("anti-dsdna"),
    "upcr": _labs("upcr"),
    "sledai-2k": _assessed("sledai"),
    "pga": _assessed("pga"),
    "bilag": _bilag,
    "con-meds": _con_meds,
    "crs-icans": _graded,
    "ld-dosing": _dosed("lymphodepletion"),
    "carnk-dosing": _dosed("car-nk"),
}


def missing_items(subject: Subject, items: tuple[str, ...], day: date) -> dict[str, list[str]]:
    """For each item of a visit dated ``day``, what is missing (items complete are left out)."""
    out = {}
    for item in items:
        if item in NOT_CHECKABLE:
            continue
        lacking = CHECKS[item](subject, day)
        if lacking:
            out[item] = lacking
    return out
