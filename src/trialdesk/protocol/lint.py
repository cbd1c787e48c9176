"""Protocol lint: checks a reviewer runs before a protocol version is published.

Each check is a small function returning :class:`Warning` records (circe-be's
checkers are the model). Load-time errors (unknown keys, unknown code systems,
dangling names) are raised by the loader; these checks look for what loads but
is still wrong or suspicious.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from trialdesk.engine import ast
from trialdesk.engine.ast.base import walk
from trialdesk.protocol.model import Protocol
from trialdesk.protocol.references import rule_nodes, used_valuesets


@dataclass(frozen=True)
class Warning:
    severity: str  # error | warning
    where: str
    message: str


def _squash(text: str) -> str:
    return " ".join(text.split())


def missing_source(p: Protocol) -> Iterator[Warning]:
    """Every criterion quotes its registry sentence, verbatim."""
    registry = _squash(p.registry_text)
    for c in p.criteria:
        if not c.source.strip():
            yield Warning("error", c.id, "criterion has no source text")
        elif c.source not in registry:
            yield Warning("error", c.id, "source text is not verbatim in the registry record")


def empty_valuesets(p: Protocol) -> Iterator[Warning]:
    for vs in p.valuesets.values():
        if not (vs.codes or vs.prefixes or vs.names):
            yield Warning("error", f"valueset {vs.id}", "value set is empty")


def unused_valuesets(p: Protocol) -> Iterator[Warning]:
    used = used_valuesets(p)
    for vs in p.valuesets:
        if vs not in used:
            yield Warning("warning", f"valueset {vs}", "value set is not used by any rule or measure")


_ANCHOR_WORDS = {"enrollment": re.compile(r"\benrollment\b", re.I),
                 "infusion": re.compile(r"\b(transfusion|infusion)\b.*\bprior\b|\bprior to (transfusion|infusion)", re.I)}


def window_anchors(p: Protocol) -> Iterator[Warning]:
    """A window's anchor matches the date its registry sentence measures from."""
    for c in p.criteria:
        windows = [n.window for s in c.rule if s.when is not None for n in walk(s.when)
                   if getattr(n, "window", None) is not None and n.window.length is not None]  # type: ignore[attr-defined]
        for anchor, pattern in _ANCHOR_WORDS.items():
            if pattern.search(c.source) and windows and not any(w.anchor == anchor for w in windows):
                yield Warning("warning", c.id, f"source measures from {anchor}, but no window is anchored on it")


def unknown_outcome_without_collect(p: Protocol) -> Iterator[Warning]:
    """A step that decides 'unknown' by itself should say what to collect."""
    for c in p.criteria:
        if any(s.then == "unknown" and s.when is None for s in c.rule) and not c.collect:
            yield Warning("warning", c.id, "'otherwise: unknown' without 'collect' gives no data request")


def unused_clarifications(p: Protocol) -> Iterator[Warning]:
    """A clarification no criterion cites is never shown to a user."""
    cited = {cl for c in p.criteria for cl in c.clarifications}
    for cl in p.clarifications:
        if cl not in cited:
            yield Warning("warning", cl, "clarification is not cited by any criterion")


def attestations_known(p: Protocol) -> Iterator[Warning]:
    """Attestation codes come from data.md's list."""
    known = {"consent-signed", "predicted-survival-12w", "contraception-agreed", "childbearing-potential",
             "intolerant-standard-therapy", "other-trial-3m", "no-major-condition", "labs-not-significant",
             "investigator-no-concern"}
    for where, node in rule_nodes(p):
        if isinstance(node, (ast.Attestation, ast.Attested)) and node.code not in known:
            yield Warning("warning", where, f"attestation code {node.code!r} is not one of data.md's")


CHECKS: tuple[Callable[[Protocol], Iterator[Warning]], ...] = (
    missing_source, empty_valuesets, unused_valuesets, window_anchors, unknown_outcome_without_collect,
    attestations_known, unused_clarifications,
)


def lint(protocol: Protocol) -> list[Warning]:
    """Run every check; errors first."""
    found = [w for check in CHECKS for w in check(protocol)]
    return sorted(found, key=lambda w: w.severity != "error")
