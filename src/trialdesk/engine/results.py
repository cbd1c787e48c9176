"""Results of evaluating nodes: three-valued truths and values, with evidence.

``until`` is the last date on which a result is sure to stay as it is by the
passage of time alone (None: it does not expire), and ``by`` says why it would
change: ``fresh`` (a measurement goes stale) or ``lookback`` (an event leaves
its window). Combining follows the connective: an ``All`` that is TRUE lasts
as long as its shortest-lived child, one that is FALSE as long as its
longest-lived FALSE child; ``Any`` is the dual.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date


class Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Need:
    """What to collect to decide: ``what`` and the dates it must fall in."""

    what: str
    window: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"what": self.what, "window": self.window}


@dataclass(slots=True)
class Res:
    """A predicate's result: truth, one-line text, evidence, needs, expiry."""

    truth: Truth
    text: str
    evidence: list[dict] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    until: date | None = None
    by: frozenset[str] = frozenset()


@dataclass(slots=True)
class Val:
    """A value node's result; ``value`` None means missing (see ``text``, ``needs``)."""

    value: float | str | bool | None
    text: str
    unit: str | None = None
    evidence: list[dict] = field(default_factory=list)
    needs: list[Need] = field(default_factory=list)
    until: date | None = None
    by: frozenset[str] = frozenset()

    @property
    def missing(self) -> bool:
        return self.value is None


def _earliest(results: list[Res]) -> tuple[date | None, frozenset[str]]:
    dated = [r for r in results if r.until is not None]
    if not dated:
        return None, frozenset()
    first = min(dated, key=lambda r: r.until)  # type: ignore[arg-type, return-value]
    return first.until, first.by


def _latest(results: list[Res]) -> tuple[date | None, frozenset[str]]:
    if not results or any(r.until is None for r in results):
        return None, frozenset()
    last = max(results, key=lambda r: r.until)  # type: ignore[arg-type, return-value]
    return last.until, frozenset().union(*(r.by for r in results))


def combine(kind: str, results: list[Res]) -> Res:
    """Kleene ``all`` or ``any`` over child results, with text, evidence and expiry."""
    decisive, absorbing = (Truth.FALSE, Truth.TRUE) if kind == "all" else (Truth.TRUE, Truth.FALSE)
    needs = [n for r in results for n in r.needs]
    hits = [r for r in results if r.truth is decisive]
    if hits:
        until, by = _latest(hits)
        return Res(decisive, "; ".join(r.text for r in hits), [e for r in hits for e in r.evidence], needs,
                   until=until, by=by)
    unknown = [r for r in results if r.truth is Truth.UNKNOWN]
    if unknown:
        return Res(Truth.UNKNOWN, "; ".join(r.text for r in unknown),
                   [e for r in results for e in r.evidence], needs)
    until, by = _earliest(results)
    return Res(absorbing, "; ".join(r.text for r in results), [e for r in results for e in r.evidence], needs,
               until=until, by=by)
