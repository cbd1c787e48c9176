"""Visit dates and visit status from the protocol's schedule (``schedule.yaml``).

A visit's target date is the infusion date plus ``day`` days, or plus ``month``
calendar months (clamped to the month's end, as protocol windows are:
criteria.md "Dates and windows"). Its window runs from ``early`` days before
to ``late`` days after the target, both ends included. On a given date a visit
not yet done is

* ``upcoming`` before its window opens,
* ``due`` while the window is open,
* ``overdue`` after the window has closed;

a visit done is ``done`` whatever its date (:func:`visit_status`), and
``out-of-window`` is reported for a done visit dated outside its window
(:func:`out_of_window`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from trialdesk.engine.dates import add_months
from trialdesk.protocol.model import Schedule, Visit


@dataclass(frozen=True, slots=True)
class VisitDates:
    """A visit's target date and the first and last day of its window."""

    visit: Visit
    target: date
    opens: date
    closes: date

    def contains(self, day: date) -> bool:
        return self.opens <= day <= self.closes


@dataclass(frozen=True, slots=True)
class VisitStatus:
    """A visit's dates and its status on a date: done, upcoming, due or overdue."""

    dates: VisitDates
    status: str


def visit_dates(visit: Visit, infusion: date) -> VisitDates:
    """Target date and window of ``visit`` for an infusion on ``infusion``.

    Example:
        >>> from trialdesk.protocol.load import load
        >>> m2 = load().schedule.visit("m2")
        >>> d = visit_dates(m2, date(2026, 1, 31))
        >>> d.target, d.opens, d.closes
        (datetime.date(2026, 3, 31), datetime.date(2026, 3, 24), datetime.date(2026, 4, 7))
    """
    target = infusion + timedelta(days=visit.day) if visit.day is not None else add_months(infusion, visit.month or 0)
    return VisitDates(visit, target, target - timedelta(days=visit.early), target + timedelta(days=visit.late))


def due_dates(schedule: Schedule, infusion: date) -> list[VisitDates]:
    """Every visit's dates, in schedule order."""
    return [visit_dates(v, infusion) for v in schedule.visits]


def visit_status(schedule: Schedule, infusion: date, on: date, done: set[str] | frozenset[str]) -> list[VisitStatus]:
    """The status of every visit on ``on``, given the ids of the visits done.

    Raises KeyError for a done id that is not a visit of the schedule.
    """
    for visit_id in done:
        schedule.visit(visit_id)
    out = []
    for d in due_dates(schedule, infusion):
        if d.visit.id in done:
            status = "done"
        elif on < d.opens:
            status = "upcoming"
        elif on <= d.closes:
            status = "due"
        else:
            status = "overdue"
        out.append(VisitStatus(d, status))
    return out


def out_of_window(schedule: Schedule, infusion: date, done: dict[str, date]) -> list[tuple[VisitDates, date]]:
    """The done visits (id -> date) dated outside their window, with their date."""
    return [(d, done[d.visit.id]) for d in due_dates(schedule, infusion)
            if d.visit.id in done and not d.contains(done[d.visit.id])]
