"""Rule nodes -> short reviewer text ("LVEF ≥ 55", "no live vaccine within 4 weeks").

Generated from the nodes, never written beside them, so the text cannot drift
from the rule (STYLE practice 11). Used for population reasons and the data
each ``unknown`` needs.
"""

from __future__ import annotations

from trialdesk.engine import ast
from trialdesk.engine.ast.base import Node, walk
from trialdesk.protocol.model import Protocol

_SYMBOL = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "eq": "=", "in": "in"}
_NAMES = {"age": "age", "egfr": "eGFR", "sledai_2k": "SLEDAI-2K", "ana_titer": "ANA titer",
          "eular_acr_classified": "2019 EULAR/ACR classification"}


def _title(protocol: Protocol, name: str) -> str:
    if name in protocol.valuesets:
        return protocol.valuesets[name].title
    if name in protocol.measures:
        return protocol.measures[name].label
    return name.replace("-", " ")


def render(node: Node, protocol: Protocol) -> str:
    """One line of text for a node."""
    r = lambda n: render(n, protocol)  # noqa: E731
    if isinstance(node, ast.All):
        return " and ".join(r(n) for n in node.items)
    if isinstance(node, ast.Any):
        return " or ".join(r(n) for n in node.items)
    if isinstance(node, ast.FirstKnown):
        return ", else ".join(r(n) for n in node.items)
    if isinstance(node, ast.Not):
        return f"not ({r(node.item)})"
    if isinstance(node, (ast.Known, ast.Missing)):
        return f"{r(node.item)} {'known' if isinstance(node, ast.Known) else 'missing'}"
    if isinstance(node, ast.Compare):
        right = ", ".join(node.right) if node.op == "in" else (  # type: ignore[arg-type]
            f"{protocol.parameters[node.right]:g}" if isinstance(node.right, str) else f"{node.right:g}")
        return f"{r(node.left)} {_SYMBOL[node.op]} {right}"
    if isinstance(node, ast.Latest):
        return " or ".join(_title(protocol, m) for m in node.measures)
    if isinstance(node, (ast.Positive, )):
        return " or ".join(_title(protocol, m) for m in node.measures) + " positive"
    if isinstance(node, ast.AboveRange):
        return f"{_title(protocol, node.measure)} above range"
    if isinstance(node, ast.UlnRatio):
        return f"{_title(protocol, node.measure)} x ULN"
    if isinstance(node, (ast.Attestation, ast.Attested)):
        return f"attestation '{node.code}'"
    if isinstance(node, ast.IsTrue):
        return r(node.item)
    if isinstance(node, ast.Has):
        what = " or ".join(_title(protocol, v) for v in node.valuesets) or node.kind
        return f"{what} {node.window.describe()}"
    if isinstance(node, ast.Ref):
        return node.name
    if isinstance(node, ast.Sex):
        return f"sex {node.value}"
    if isinstance(node, ast.AssessmentItem):
        return f"{_title(protocol, node.assessment)} with {', '.join(node.items)} {node.window.describe()}"
    key = node.KEY
    return _NAMES.get(key, key.replace("_", " "))


def needs(node: Node, protocol: Protocol) -> str:
    """The data a node reads that may be missing (measurements, scores, attestations)."""
    found: list[str] = []
    for n in walk(node):
        if isinstance(n, ast.Ref):
            found.append(needs(protocol.definitions[n.name], protocol))
        elif isinstance(n, (ast.Latest, ast.Positive)):
            found.extend(_title(protocol, m) for m in n.measures)
        elif isinstance(n, (ast.UlnRatio, ast.AboveRange)):
            found.append(_title(protocol, n.measure))
        elif isinstance(n, ast.Egfr):
            found.append("serum creatinine (and height under 18)")
        elif isinstance(n, (ast.Sledai, ast.EularClassified, ast.AnaTiter, ast.Age)):
            found.append(_NAMES[n.KEY] if n.KEY in _NAMES else n.KEY)
        elif isinstance(n, ast.Attestation):
            found.append(f"attestation '{n.code}'")
        elif isinstance(n, ast.Sex):
            found.append("sex")
        elif isinstance(n, (ast.HighDoseDays, ast.CurrentDoseAbove)):
            found.append("glucocorticoid doses and weights")
    return ", ".join(dict.fromkeys(f for f in found if f))
