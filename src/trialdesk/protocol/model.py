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

    def for_cohort(self, cohort: str) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if cohort in c.cohorts)
