"""YAML rule syntax -> rule nodes, strictly: an unknown key is an error with its path.

A node is a one-key mapping ``{op: args}`` or, for nodes without arguments, a
bare string (``age``, ``egfr``, ``sledai_2k``, ``ana_titer``,
``eular_acr_classified``). The syntax is documented in docs/protocol-language.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any as AnyT

from trialdesk.engine import ast
from trialdesk.engine.ast.base import Node, Step, Window
from trialdesk.engine.ast.history import KINDS, MATCHES
from trialdesk.errors import ProtocolValidationError
from trialdesk.strict import mapping

OUTCOMES = ("pass", "fail", "unknown", "review")
COMPARISONS = ("ge", "gt", "le", "lt", "eq", "in")
BARE = {"age": ast.Age, "egfr": ast.Egfr, "sledai_2k": ast.Sledai, "ana_titer": ast.AnaTiter,
        "eular_acr_classified": ast.EularClassified}


def _fields(where: str, args: AnyT, allowed: set[str], required: set[str] = frozenset()) -> dict:
    return mapping(where, args, allowed, required, ProtocolValidationError)


def _names(where: str, value: AnyT) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise ProtocolValidationError(where, f"expected a name or a list of names, got {value!r}")
    return tuple(items)


def _window(where: str, args: dict, default: str | None = "absent") -> Window | None:
    if "within" not in args:
        if "anchor" in args:
            raise ProtocolValidationError(where, "'anchor' needs 'within'")
        return None if default == "absent" else Window(default)
    within = args["within"]
    try:
        return Window(None if within == "ever" else within, args.get("anchor", "as_of"))
    except ValueError as exc:
        raise ProtocolValidationError(where, str(exc)) from None


def _int(where: str, value: AnyT) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolValidationError(where, f"expected a whole number, got {value!r}")
    return value


def _number_or_param(where: str, value: AnyT) -> float | str:
    if isinstance(value, dict):
        return _fields(where, value, {"param"}, {"param"})["param"]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise ProtocolValidationError(where, f"expected a number or {{param: name}}, got {value!r}")


def parse_node(raw: AnyT, where: str) -> Node:
    """Parse one rule node; ``where`` locates it for error messages."""
    if isinstance(raw, str):
        if raw in BARE:
            return BARE[raw]()
        raise ProtocolValidationError(where, f"unknown node {raw!r}")
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ProtocolValidationError(where, f"a node is a one-key mapping {{op: args}}, got {raw!r}")
    ((op, args),) = raw.items()
    here = f"{where}.{op}"
    if op in COMPARISONS:
        return _compare(op, args, here)
    parser = _PARSERS.get(op)
    if parser is None:
        known = sorted([*_PARSERS, *COMPARISONS, *BARE])
        raise ProtocolValidationError(where, f"unknown node {op!r}; known: {', '.join(known)}")
    return parser(args, here)


def _compare(op: str, args: AnyT, where: str) -> Node:
    if not isinstance(args, list) or len(args) != 2:
        raise ProtocolValidationError(where, f"'{op}' takes [value, threshold], got {args!r}")
    left = parse_node(args[0], f"{where}[0]")
    if not left.VALUE:
        raise ProtocolValidationError(where, f"'{op}' compares a value node, not {type(left).__name__}")
    if op == "in":
        return ast.Compare(op, left, _names(f"{where}[1]", args[1]))
    return ast.Compare(op, left, _number_or_param(f"{where}[1]", args[1]))


def _list(args: AnyT, where: str) -> tuple[Node, ...]:
    if not isinstance(args, list) or not args:
        raise ProtocolValidationError(where, f"expected a non-empty list of nodes, got {args!r}")
    return tuple(parse_node(a, f"{where}[{i}]") for i, a in enumerate(args))


def _value(args: AnyT, where: str) -> Node:
    node = parse_node(args, where)
    if not node.VALUE:
        raise ProtocolValidationError(where, f"expected a value node, got {type(node).__name__}")
    return node


def _measured(cls: type, multi: bool) -> Callable[[AnyT, str], Node]:
    def parse(args: AnyT, where: str) -> Node:
        if isinstance(args, (str, list)):
            return cls(_names(where, args)) if multi else cls(args)
        keys = {"within", "anchor", "measures" if multi else "measure"}
        if cls is ast.Positive:
            keys.add("among")
        f = _fields(where, args, keys, {"measures" if multi else "measure"})
        window = _window(where, f)
        if multi:
            extra = {"among": f["among"]} if "among" in f else {}
            if extra and extra["among"] not in ("latest", "any"):
                raise ProtocolValidationError(where, "'among' is latest or any")
            return cls(_names(where, f["measures"]), window=window, **extra)
        return cls(f["measure"], window=window)
    return parse


def _has(args: AnyT, where: str) -> Node:
    allowed = {*KINDS, "within", "anchor", "match", "type", "criticality", "severity", "manifestations"}
    f = _fields(where, args, allowed)
    kinds = [k for k in KINDS if k in f]
    if len(kinds) != 1:
        raise ProtocolValidationError(where, f"name exactly one of {', '.join(KINDS)}")
    kind = kinds[0]
    valuesets = () if f[kind] == "any" else _names(where, f[kind])
    match = f.get("match", "active")
    if match not in MATCHES:
        raise ProtocolValidationError(where, f"'match' is one of {', '.join(MATCHES)}")
    if kind != "allergy" and {"type", "criticality", "severity", "manifestations"} & set(f):
        raise ProtocolValidationError(where, "type/criticality/severity/manifestations are allergy filters")
    return ast.Has(kind, valuesets, _window(where, f, None) or Window(), match,
                   f.get("type"), f.get("criticality"), f.get("severity"),
                   _names(where, f["manifestations"]) if "manifestations" in f else ())


def _kw(cls: type, spec: dict[str, Callable[[str, AnyT], AnyT]]) -> Callable[[AnyT, str], Node]:
    def parse(args: AnyT, where: str) -> Node:
        f = _fields(where, args, set(spec) | {"within", "anchor"}, set(spec))
        values = {k: conv(f"{where}.{k}", f[k]) for k, conv in spec.items()}
        window = _window(where, f)
        if window is not None:
            values["window"] = window
        return cls(**values)
    return parse


def _str(where: str, v: AnyT) -> str:
    if not isinstance(v, str):
        raise ProtocolValidationError(where, f"expected a name, got {v!r}")
    return v


def _float(where: str, v: AnyT) -> float:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise ProtocolValidationError(where, f"expected a number, got {v!r}")
    return float(v)


_PARSERS: dict[str, Callable[[AnyT, str], Node]] = {
    "all": lambda a, w: ast.All(_list(a, w)),
    "any": lambda a, w: ast.Any(_list(a, w)),
    "first_known": lambda a, w: ast.FirstKnown(_list(a, w)),
    "not": lambda a, w: ast.Not(parse_node(a, w)),
    "known": lambda a, w: ast.Known(_value(a, w)),
    "missing": lambda a, w: ast.Missing(_value(a, w)),
    "is_true": lambda a, w: ast.IsTrue(_value(a, w)),
    "ref": lambda a, w: ast.Ref(_str(w, a)),
    "sex": lambda a, w: ast.Sex(_str(w, a)),
    "attestation": lambda a, w: ast.Attestation(_str(w, a)),
    "attested": lambda a, w: ast.Attested(_str(w, a)),
    "uln_ratio": lambda a, w: ast.UlnRatio(_str(w, a)),
    "latest": _measured(ast.Latest, multi=True),
    "positive": _measured(ast.Positive, multi=True),
    "above_range": _measured(ast.AboveRange, multi=False),
    "has": _has,
    "assessment_item": _kw(ast.AssessmentItem, {"assessment": _str, "items": _names}),
    "relapse_after_remission": _kw(ast.RelapseAfterRemission,
                                   {"measure": _str, "remission": _float, "relapse": _float}),
    "high_dose_days": _kw(ast.HighDoseDays, {"drugs": _names, "mg_per_kg": _number_or_param, "days": _int}),
    "agents_at_least": _kw(ast.AgentsAtLeast, {"drugs": _names, "n": _int}),
    "classes_at_least": _kw(ast.ClassesAtLeast, {"classes": _str, "n": _int}),
    "started_before": _kw(ast.StartedBefore, {"drugs": _names, "months": _int}),
    "exposure_span": _kw(ast.ExposureSpan, {"drugs": _names, "months": _int}),
    "current_dose_above": _kw(ast.CurrentDoseAbove, {"drugs": _names, "mg": _float}),
}


def parse_steps(raw: AnyT, where: str) -> tuple[Step, ...]:
    """Parse a decision list. Shorthands: ``{pass_if: P}`` and ``{fail_if: P}``."""
    if isinstance(raw, dict) and len(raw) == 1 and next(iter(raw)) in ("pass_if", "fail_if"):
        ((key, pred),) = raw.items()
        node = parse_node(pred, f"{where}.{key}")
        hit, other = ("pass", "fail") if key == "pass_if" else ("fail", "pass")
        return (Step(hit, node), Step(other))
    if not isinstance(raw, list) or not raw:
        raise ProtocolValidationError(where, "a rule is a non-empty list of steps, or {pass_if: ...} / {fail_if: ...}")
    steps = []
    for i, item in enumerate(raw):
        here = f"{where}[{i}]"
        if isinstance(item, dict) and "otherwise" in item:
            f = _fields(here, item, {"otherwise", "reason"}, {"otherwise"})
            steps.append(Step(_outcome(here, f["otherwise"]), reason=f.get("reason")))
            if i != len(raw) - 1:
                raise ProtocolValidationError(here, "'otherwise' must be the last step")
            continue
        f = _fields(here, item, {"when", "then", "if_unknown", "reason"}, {"when", "then"})
        if_unknown = f.get("if_unknown", "unknown")
        if if_unknown not in ("unknown", "next"):
            raise ProtocolValidationError(here, "'if_unknown' is unknown or next")
        steps.append(Step(_outcome(here, f["then"]), parse_node(f["when"], f"{here}.when"),
                          if_unknown, f.get("reason")))
    if steps[-1].when is not None:
        raise ProtocolValidationError(where, "the last step must be 'otherwise'")
    return tuple(steps)


def _outcome(where: str, value: AnyT) -> str:
    if value not in OUTCOMES:
        raise ProtocolValidationError(where, f"outcome {value!r} is not one of {', '.join(OUTCOMES)}")
    return value
