"""Three-valued connectives (Kleene logic) and named references.

UNKNOWN propagation:
- ``All``: FALSE if any child is FALSE; else UNKNOWN if any is UNKNOWN; else TRUE.
- ``Any``: TRUE if any child is TRUE; else UNKNOWN if any is UNKNOWN; else FALSE.
- ``Not``: swaps TRUE and FALSE; UNKNOWN stays UNKNOWN.
- ``FirstKnown``: the first child that is not UNKNOWN (a fallback chain).
- ``Known``/``Missing``: whether a value node has a value; never UNKNOWN.
"""

from __future__ import annotations

from dataclasses import dataclass

from trialdesk.engine.ast.base import Node


@dataclass(frozen=True, slots=True)
class All(Node):
    """TRUE when every child is TRUE."""

    KEY = "all"
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Any(Node):
    """TRUE when at least one child is TRUE."""

    KEY = "any"
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Not(Node):
    """Negation; UNKNOWN stays UNKNOWN."""

    KEY = "not"
    item: Node

    def children(self) -> tuple[Node, ...]:
        return (self.item,)


@dataclass(frozen=True, slots=True)
class FirstKnown(Node):
    """The first child whose truth is known; UNKNOWN if none is."""

    KEY = "first_known"
    items: tuple[Node, ...]

    def children(self) -> tuple[Node, ...]:
        return self.items


@dataclass(frozen=True, slots=True)
class Known(Node):
    """TRUE when the value node has a value."""

    KEY = "known"
    item: Node

    def children(self) -> tuple[Node, ...]:
        return (self.item,)


@dataclass(frozen=True, slots=True)
class Missing(Node):
    """TRUE when the value node has no value (missing, stale or unreadable)."""

    KEY = "missing"
    item: Node

    def children(self) -> tuple[Node, ...]:
        return (self.item,)


@dataclass(frozen=True, slots=True)
class Ref(Node):
    """A named predicate from the protocol's ``definitions`` (e.g. ``focbp``)."""

    KEY = "ref"
    name: str
