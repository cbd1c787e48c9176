"""Calendar arithmetic for protocol windows (criteria.md, "Dates and windows").

Weeks are 7 days; months are calendar months, clamped to the month's end
(2026-03-31 minus 1 month = 2026-02-28); age is in completed years.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def add_months(d: date, months: int) -> date:
    """``d`` shifted by whole calendar months, clamped to the last day of the month."""
    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def minus(d: date, n: int, unit: str) -> date:
    """``d`` minus ``n`` units of D (days), W (weeks), M (months) or Y (years)."""
    if unit == "D":
        return d - timedelta(days=n)
    if unit == "W":
        return d - timedelta(weeks=n)
    if unit == "M":
        return add_months(d, -n)
    if unit == "Y":
        return add_months(d, -12 * n)
    raise ValueError(f"unknown duration unit {unit!r}")


def completed_years(birth: date, on: date) -> int:
    """Age in completed years on ``on`` (a 29 February birthday counts on 1 March)."""
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


def completed_months(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (0 if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) > end:
        months -= 1
    return max(months, 0)


def last_anchor_within(event: date, n: int, unit: str) -> date:
    """The last anchor date whose window of ``n`` ``unit`` still contains ``event``.

    A value dated ``event`` stays fresh, and an event stays inside a lookback
    window, up to and including this date.
    """
    if unit in ("D", "W"):
        return event + timedelta(days=n * (7 if unit == "W" else 1))
    months = n * (12 if unit == "Y" else 1)
    anchor = add_months(event, months)
    while add_months(anchor + timedelta(days=1), -months) <= event:
        anchor += timedelta(days=1)
    return anchor
