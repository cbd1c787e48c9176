"""Evaluating :class:`~trialdesk.engine.ast.Has` over a patient's history.

Conditions are active over a window when their onset is on or before its end
and they were not abated before its start; a resolved condition without an
abatement date counts on its onset date only (data.md, Condition). Periods
(procedures, drugs, studies) count when they overlap the window; an open end
is ongoing. TRUE results that rest on an event leaving its window carry the
last date it stays inside (``until``), from which ``eligible_from`` follows.
"""

from __future__ import annotations

from datetime import date

from trialdesk.engine.ast.history import Has
from trialdesk.engine.context import Context
from trialdesk.engine.dates import last_anchor_within
from trialdesk.engine.match import is_systemic
from trialdesk.engine.results import Need, Res, Truth
from trialdesk.protocol.references import drug_valuesets

_LABELS = {"condition": "condition", "procedure": "procedure", "medication": "drug",
           "immunization": "vaccine", "allergy": "allergy or intolerance", "consent": "research consent",
           "study": "participation in another study"}
#: The FHIR resource types each kind is read from: a malformed one whose code could not be read
#: may be anything of its kind, so "no record of ..." cannot be concluded while it is there.
_TYPES = {"condition": ("Condition", "DiagnosticReport"), "procedure": ("Procedure",),
          "medication": ("MedicationStatement", "MedicationRequest", "MedicationAdministration"),
          "immunization": ("Immunization",), "allergy": ("AllergyIntolerance",), "consent": ("Consent",),
          "study": ("ResearchSubject",)}


def _overlaps(start: date | None, end: date | None, w_start: date | None, w_end: date) -> bool:
    if start is None or start > w_end:
        return False
    return w_start is None or end is None or end >= w_start


def _condition_span(c, match: str) -> tuple[date | None, date | None] | None:
    """The dates over which a condition counts, or None if it never does for ``match``."""
    if match == "any":
        return (date.min, None)
    if c.onset is None:
        return (date.min, None) if match == "active" and c.active is not False else None
    if match == "onset":
        return (c.onset, c.onset)
    if c.active is False:
        return (c.onset, c.abatement or c.onset)
    return (c.onset, c.abatement)


def _entries(ctx: Context, node: Has):
    """(entry, start, end) of the record's entries of the node's kind and codes."""
    rec = ctx.record
    wanted = set(drug_valuesets(ctx.protocol, node.valuesets)) if node.kind in ("medication", "allergy") \
        else set(node.valuesets)
    def hit(item, by_name: bool = False) -> bool:
        return not wanted or bool(ctx.tags(item, by_name) & wanted)
    if node.kind == "condition":
        for c in rec.conditions:
            span = _condition_span(c, node.match) if hit(c) else None
            if span is not None:
                yield c, span[0], span[1]
    elif node.kind == "procedure":
        yield from ((p, p.start, p.end) for p in rec.procedures if hit(p))
    elif node.kind == "medication":
        yield from ((m, m.start, m.end) for m in rec.medications
                    if hit(m, by_name=True) and is_systemic(m.codes, m.text))
    elif node.kind == "immunization":
        yield from ((i, i.date, i.date) for i in rec.immunizations if hit(i))
    elif node.kind == "allergy":
        manifest = set(node.manifestations)
        for a in rec.allergies:
            if not hit(a, by_name=True):
                continue
            if node.allergy_type and a.type != node.allergy_type:
                continue
            if node.criticality and a.criticality != node.criticality:
                continue
            if node.severity and node.severity not in a.severities:
                continue
            if manifest and not (ctx.matcher.valuesets(a.manifestations) & manifest):
                continue
            yield a, date.min, None
    elif node.kind == "consent":
        for c in rec.consents:
            if c.status == "active" and (not wanted or ctx.matcher.valuesets(c.scopes) & wanted):
                yield c, c.date or date.min, None
    elif node.kind == "study":
        for s in rec.studies:
            if s.study != ctx.protocol.id:
                yield s, s.start, s.end


def _what(ctx: Context, node: Has) -> str:
    titles = [ctx.protocol.valuesets[v].title if v in ctx.protocol.valuesets else v.replace("-", " ") + " drug"
              for v in node.valuesets]
    return " or ".join(titles) if titles else _LABELS[node.kind]


def _describe(entry, start: date | None, end: date | None) -> str:
    shown = getattr(entry, "text", None) or next((c.display for c in getattr(entry, "codes", ()) if c.display), None)
    when = "" if start in (None, date.min) else f" {start}" + ("" if end == start else f" to {end or 'ongoing'}")
    return f"{entry.ref}{' ' + shown if shown else ''}{when}"


def visit_has(ctx: Context, node: Has) -> Res:
    w_start, w_end = ctx.window_bounds(node.window)
    where = node.window.describe()
    hits, undated = [], []
    for entry, start, end in _entries(ctx, node):
        if start is None:
            undated.append(entry)
        elif _overlaps(start, end, w_start, w_end):
            hits.append((entry, start, end))
    what = _what(ctx, node)
    if hits:
        parts = node.window.parts()
        ends = [end for _, _, end in hits]
        until = None
        if parts is not None and all(e is not None and e <= w_end for e in ends):
            until = last_anchor_within(max(ends), *parts)  # type: ignore[type-var, arg-type]
        evidence = [{"resource": e.ref, "value": _describe(e, s, t).split(" ", 1)[-1], "unit": None,
                     "date": s.isoformat() if s not in (None, date.min) else None} for e, s, t in hits]
        return Res(Truth.TRUE, f"{what} {where}: " + "; ".join(_describe(e, s, t) for e, s, t in hits),
                   evidence, until=until, by=frozenset({"lookback"}) if until else frozenset())
    if undated:
        return Res(Truth.UNKNOWN, f"{what}: {undated[0].ref} has no date, so it cannot be placed {where}",
                   needs=[Need(f"the date of {undated[0].ref}")])
    valuesets = set(drug_valuesets(ctx.protocol, node.valuesets))
    broken = ctx.unreadable(valuesets, node.window) if valuesets else []
    if broken:
        return Res(Truth.UNKNOWN, f"record {broken[0].ref} could not be read: {broken[0].message}")
    blind = ctx.codeless(_TYPES[node.kind])
    if blind:
        return Res(Truth.UNKNOWN, f"record {blind[0].ref} could not be read and has no readable code, so it may "
                                  f"be {what}: {blind[0].message}", needs=[Need(f"a readable {blind[0].ref}")])
    return Res(Truth.FALSE, f"no record of {what} {where}")
