"""Reference checks run at load time: every name a rule uses must exist.

A dangling name (a measure, value set, drug group, definition, clarification
or cohort that the protocol does not define) is an error, not a warning: the
engine would otherwise meet it while screening a patient.
"""

from __future__ import annotations

from collections.abc import Iterator

from trialdesk.engine import ast
from trialdesk.engine.ast.base import Node, walk
from trialdesk.errors import ProtocolValidationError
from trialdesk.protocol.model import Protocol


def rule_nodes(protocol: Protocol) -> Iterator[tuple[str, Node]]:
    """(where, node) for every node of every rule, cohort entry and definition."""
    for cid, cohort in protocol.cohorts.items():
        yield from ((f"cohorts.{cid}", n) for n in walk(cohort.entry))
    for name, node in protocol.definitions.items():
        yield from ((f"definitions.{name}", n) for n in walk(node))
    for c in protocol.criteria:
        roots = [s.when for s in c.rule if s.when is not None]
        if c.applies_if is not None:
            roots.append(c.applies_if)
        for root in roots:
            yield from ((c.id, n) for n in walk(root))


def drug_valuesets(protocol: Protocol, names: tuple[str, ...]) -> tuple[str, ...]:
    """Expand drug-group names into value-set ids (a value-set id stands for itself)."""
    out: list[str] = []
    for name in names:
        out.extend(protocol.drug_groups.get(name, (name,)))
    return tuple(dict.fromkeys(out))


def used_valuesets(protocol: Protocol) -> set[str]:
    """Every value set a measure or rule refers to."""
    used = {m.valueset for m in protocol.measures.values()}
    for _, node in rule_nodes(protocol):
        if isinstance(node, ast.Has):
            used.update(drug_valuesets(protocol, node.valuesets) if node.kind in ("medication", "allergy")
                        else node.valuesets)
            used.update(node.manifestations)
        elif isinstance(node, (ast.HighDoseDays, ast.AgentsAtLeast, ast.StartedBefore,
                               ast.ExposureSpan, ast.CurrentDoseAbove)):
            used.update(drug_valuesets(protocol, node.drugs))
        elif isinstance(node, ast.ClassesAtLeast):
            for drugs in protocol.drug_classes.get(node.classes, {}).values():
                used.update(drug_valuesets(protocol, drugs))
    return used


def check_references(protocol: Protocol) -> None:
    """Raise ProtocolValidationError for the first dangling name."""
    def need(where: str, kind: str, name: str, table: object) -> None:
        if name not in table:  # type: ignore[operator]
            raise ProtocolValidationError(where, f"unknown {kind} {name!r}")

    for mid, m in protocol.measures.items():
        need(f"measures.{mid}", "value set", m.valueset, protocol.valuesets)
    for group, members in protocol.drug_groups.items():
        for vs in members:
            need(f"drug_groups.{group}", "value set", vs, protocol.valuesets)
    for c in protocol.criteria:
        for cl in c.clarifications:
            need(c.id, "clarification", cl, protocol.clarifications)
        for cohort in c.cohorts:
            need(c.id, "cohort", cohort, protocol.cohorts)
    for where, node in rule_nodes(protocol):
        for m in node.READS:
            need(where, "measure", m, protocol.measures)
        if isinstance(node, (ast.Latest, ast.Positive)):
            for m in node.measures:
                need(where, "measure", m, protocol.measures)
        elif isinstance(node, (ast.UlnRatio, ast.AboveRange, ast.RelapseAfterRemission)):
            need(where, "measure", node.measure, protocol.measures)
        elif isinstance(node, ast.AssessmentItem):
            need(where, "measure", node.assessment, protocol.measures)
        elif isinstance(node, ast.Ref):
            need(where, "definition", node.name, protocol.definitions)
        elif isinstance(node, ast.ClassesAtLeast):
            need(where, "drug class table", node.classes, protocol.drug_classes)
        elif isinstance(node, ast.Compare) and isinstance(node.right, str):
            need(where, "parameter", node.right, protocol.parameters)
        elif isinstance(node, ast.HighDoseDays) and isinstance(node.mg_per_kg, str):
            need(where, "parameter", node.mg_per_kg, protocol.parameters)
    for vs in used_valuesets(protocol):
        if vs not in protocol.valuesets:
            raise ProtocolValidationError("rules", f"unknown value set {vs!r}")
