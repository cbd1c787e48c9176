"""A protocol in memory: criteria, value sets, measures, parameters, cohorts.

Built by :mod:`trialdesk.protocol.load` from the YAML files of one protocol
folder; frozen, so an evaluation can never change the protocol it runs under.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trialdesk.engine.ast.base import Node, Step


@dataclass(frozen=True, slots=True)
class Code:
    system: str  # full URI
    code: str
    display: str | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class ValueSet:
    """Codes, code prefixes (ICD-10, ATC) and ingredient names that denote one concept."""

    id: str
    title: str
    codes: tuple[Code, ...] = ()
    prefixes: tuple[Code, ...] = ()
    names: tuple[str, ...] = ()
    exclude_prefixes: tuple[Code, ...] = ()


@dataclass(frozen=True, slots=True)
class Measure:
    """How a measurement is read: value set, unit, plausible range, freshness."""

    id: str
    label: str
    valueset: str
    unit: str | None = None
    analyte: str | None = None
    plausible: tuple[float, float] | None = None
    freshness: str = "P30D"
    result: str = "numeric"  # numeric | coded | qualitative
    codes: tuple[str, ...] = ()  # allowed result codes of a coded measure (e.g. ECG)
    unitless: str | None = None  # the unit of a result given without one (data.md: valueInteger weeks)


@dataclass(frozen=True, slots=True)
class Clarification:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Cohort:
    id: str
    title: str
    entry: Node


@dataclass(frozen=True, slots=True)
class Criterion:
    """One criterion: verbatim registry text beside its machine rule."""

    id: str
    title: str
    type: str  # inclusion | exclusion
    cohorts: tuple[str, ...]
    source: str
    rule: tuple[Step, ...]
    clarifications: tuple[str, ...] = ()
    applies_if: Node | None = None
    collect: str | None = None


@dataclass(frozen=True, slots=True)
class Visit:
    """One scheduled visit: its target (``day`` from the infusion, day 0, or calendar
    ``month`` after it), the days before/after the target it still counts, and
    the items it collects for every cohort (``"all"``) and per cohort."""

    id: str
    label: str
    day: int | None
    month: int | None
    early: int
    late: int
    collect: dict[str, tuple[str, ...]]

    def items(self, cohort: str) -> tuple[str, ...]:
        """What this visit collects for a subject of ``cohort``."""
        return self.collect.get("all", ()) + self.collect.get(cohort, ())


@dataclass(frozen=True)
class Schedule:
    """The follow-up schedule (``schedule.yaml``): items, endpoint parameters, visits in order."""

    items: dict[str, str]
    parameters: dict[str, float]
    visits: tuple[Visit, ...]

    def visit(self, visit_id: str) -> Visit:
        """The visit with ``visit_id``; KeyError naming the known ids otherwise."""
        for v in self.visits:
            if v.id == visit_id:
                return v
        raise KeyError(f"unknown visit {visit_id!r}; known: {', '.join(v.id for v in self.visits)}")


@dataclass(frozen=True)
class Protocol:
    id: str
    version: str
    title: str
    registry_text: str
    parameters: dict[str, float]
    measures: dict[str, Measure]
    valuesets: dict[str, ValueSet]
    drug_groups: dict[str, tuple[str, ...]]
    drug_classes: dict[str, dict[str, tuple[str, ...]]]
    cohorts: dict[str, Cohort]
    definitions: dict[str, Node]
    clarifications: dict[str, Clarification]
    criteria: tuple[Criterion, ...]
    sha256: str = ""
    lookups: dict[str, object] = field(default_factory=dict)
    schedule: Schedule | None = None  # None when the folder has no schedule.yaml

    def for_cohort(self, cohort: str) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if cohort in c.cohorts)
