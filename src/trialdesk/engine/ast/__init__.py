"""The backend-neutral rule language: small frozen nodes, one file per family.

A criterion's rule is a decision list of :class:`Step` over predicate nodes.
Predicates evaluate to three-valued truth (TRUE, FALSE, UNKNOWN); value nodes
to a value or "missing". The single-patient interpreter
(:mod:`trialdesk.engine.interpret`) and the population compiler both visit
these nodes; neither knows any criterion by name.
"""

from trialdesk.engine.ast.base import Node, Step, Window
from trialdesk.engine.ast.history import Has
from trialdesk.engine.ast.logical import All, Any, FirstKnown, Known, Missing, Not, Ref
from trialdesk.engine.ast.measure import (
    AboveRange,
    AnaTiter,
    AssessmentItem,
    Attestation,
    Attested,
    Age,
    Compare,
    Egfr,
    EularClassified,
    IsTrue,
    Latest,
    Positive,
    RelapseAfterRemission,
    Sex,
    Sledai,
    UlnRatio,
)
from trialdesk.engine.ast.medication import (
    AgentsAtLeast,
    ClassesAtLeast,
    CurrentDoseAbove,
    ExposureSpan,
    HighDoseDays,
    StartedBefore,
)

__all__ = [
    "AboveRange", "Age", "AgentsAtLeast", "All", "AnaTiter", "Any", "AssessmentItem",
    "Attestation", "Attested", "ClassesAtLeast", "Compare", "CurrentDoseAbove", "Egfr",
    "EularClassified", "ExposureSpan", "FirstKnown", "Has", "HighDoseDays", "IsTrue", "Known", "Latest",
    "Missing", "Node", "Not", "Positive", "Ref", "RelapseAfterRemission", "Sex", "Sledai",
    "StartedBefore", "Step", "UlnRatio", "Window",
]
