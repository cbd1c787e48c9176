"""Base classes: Node, the lookback Window, and the decision-list Step."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from trialdesk.engine.dates import minus

ANCHORS = ("as_of", "enrollment", "infusion")
_DURATION = re.compile(r"^P(\d+)([DWMY])$")
_UNIT_WORDS = {"D": "day", "W": "week", "M": "month", "Y": "year"}


class Node:
    """A rule node. Subclasses are frozen dataclasses; ``KEY`` is the YAML key."""

    KEY: str = ""
    VALUE: bool = False  # True for nodes that yield a value rather than a truth
    READS: tuple[str, ...] = ()  # measure ids a derived node reads by fixed id (checked at load)

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True, slots=True)
class Window:
    """The closed interval [anchor - length, anchor]; ``length`` None means "ever".

    ``length`` is an ISO-8601 duration of one unit: P30D, P4W, P3M, P1Y.
    Weeks are 7 days; months are calendar months (criteria.md, Dates and windows).
    """

    length: str | None = None
    anchor: str = "as_of"

    def __post_init__(self) -> None:
        if self.length is not None and not _DURATION.match(self.length):
            raise ValueError(f"window {self.length!r} is not P<n>D, P<n>W, P<n>M or P<n>Y")
        if self.anchor not in ANCHORS:
            raise ValueError(f"window anchor {self.anchor!r} is not one of {', '.join(ANCHORS)}")

    def parts(self) -> tuple[int, str] | None:
        if self.length is None:
            return None
        m = _DURATION.match(self.length)
        assert m  # checked in __post_init__
        return int(m.group(1)), m.group(2)

    def start(self, anchor_date: date) -> date | None:
        """First day of the window ending on ``anchor_date`` (None: unbounded)."""
        parts = self.parts()
        return None if parts is None else minus(anchor_date, *parts)

    def describe(self) -> str:
        anchor = {"as_of": "screening", "enrollment": "enrollment", "infusion": "infusion"}[self.anchor]
        parts = self.parts()
        if parts is None:
            return f"ever before {anchor}"
        n, unit = parts
        word = _UNIT_WORDS[unit] + ("s" if n != 1 else "")
        return f"within {n} {word} before {anchor}"


@dataclass(frozen=True, slots=True)
class Step:
    """One entry of a criterion's decision list.

    The first step whose ``when`` is TRUE gives ``then``. A FALSE ``when`` moves
    on. An UNKNOWN ``when`` ends the list with ``unknown`` unless ``if_unknown``
    is ``next``. A step without ``when`` (``otherwise``) always applies.
    """

    then: str
    when: Node | None = None
    if_unknown: str = "unknown"
    reason: str | None = None


def walk(node: Node):
    """Yield ``node`` and every node below it, depth first."""
    yield node
    for child in node.children():
        yield from walk(child)
