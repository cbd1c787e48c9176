"""Compiling rule nodes to Ibis expressions over OMOP (the population backend).

Three-valued truth is a nullable boolean: NULL is UNKNOWN, and SQL's AND, OR
and NOT already follow Kleene logic on NULL, as the interpreter's ``All``,
``Any`` and ``Not`` do. Each *leaf* node (a measurement, a history lookup, a
derived score) compiles to a per-person table ``(person_id, <column>)``; the
leaves are left-joined onto ``person`` once, and every connective, comparison
and decision list becomes a column expression over that wide table.

Dispatch is ``leaf_<Node>`` for leaves and ``expr_<Node>`` for the rest; a
node with neither raises :class:`NodeNotCompilable`. The semantics of each
method are those of the same node in ``engine/interpret.py``; the parity test
runs both on the same persons.
"""

from __future__ import annotations

import hashlib
from datetime import date

import ibis
from ibis import _

from trialdesk.calculators.egfr_ckd_epi_2021 import AGE_BASE, BETA, COEFFICIENTS, CONSTANT
from trialdesk.calculators.egfr_ckd_epi_2021 import MAX_AGE as CKD_EPI_MAX_AGE
from trialdesk.calculators.egfr_ckd_epi_2021 import MIN_AGE as CKD_EPI_MIN_AGE
from trialdesk.calculators.egfr_ckid_u25 import AGE_CENTRE, HEIGHT_M, K_TABLE
from trialdesk.calculators.egfr_ckid_u25 import MIN_AGE as U25_MIN_AGE
from trialdesk.calculators.eular_acr_2019 import ITEMS as EULAR_ITEMS
from trialdesk.calculators.sledai_2k import DESCRIPTORS as SLEDAI_DESCRIPTORS
from trialdesk.calculators.steroids import PREDNISONE_FACTORS
from trialdesk.engine import ast
from trialdesk.engine.ast.base import Node, Step, Window, walk
from trialdesk.engine.dates import add_months
from trialdesk.errors import TrialdeskError
from trialdesk.population.concepts import ANY_MEDICATION
from trialdesk.population.facts import Facts, lookup
from trialdesk.protocol.model import Criterion, Protocol
from trialdesk.protocol.references import drug_valuesets

LEAVES = (ast.Latest, ast.Age, ast.Sex, ast.Egfr, ast.UlnRatio, ast.Sledai, ast.AnaTiter, ast.EularClassified,
          ast.Attestation, ast.Attested, ast.Positive, ast.AboveRange, ast.AssessmentItem, ast.RelapseAfterRemission, ast.Has,
          ast.HighDoseDays, ast.AgentsAtLeast, ast.ClassesAtLeast, ast.StartedBefore, ast.ExposureSpan,
          ast.CurrentDoseAbove)
# Leaves whose table lists only persons with matching records: absence means FALSE.
ABSENT_IS_FALSE = (ast.Has, ast.Attested, ast.AssessmentItem, ast.RelapseAfterRemission, ast.StartedBefore, ast.ExposureSpan,
                   ast.AgentsAtLeast, ast.ClassesAtLeast, ast.CurrentDoseAbove, ast.HighDoseDays)
_NULL_BOOL = ibis.null().cast("boolean")
_NULL_F = ibis.null().cast("float64")
_OPS = {"ge": "__ge__", "gt": "__gt__", "le": "__le__", "lt": "__lt__", "eq": "__eq__"}


class NodeNotCompilable(TrialdeskError):
    """A rule node has no compilation for the population backend."""


def _latest(t: ibis.Table, by: tuple[str, ...] = ("d",)) -> ibis.Table:
    """The newest row per person (ties broken by the further ``by`` columns)."""
    order = [ibis.desc(t[by[0]]), *[t[c] for c in by[1:]]]
    return t.mutate(_rn=ibis.row_number().over(group_by=t.person_id, order_by=order)).filter(_._rn == 0).drop("_rn")


class Compiler:
    """Compiles a protocol's criteria for one population and set of dates."""

    def __init__(self, protocol: Protocol, facts: Facts, dates: dict[str, date]) -> None:
        self.protocol, self.facts, self.dates = protocol, facts, dates
        self.as_of = dates["as_of"]
        self.leaves: dict[Node, str] = {}
        self._tables: dict[Node, ibis.Table] = {}

    # -- plumbing ----------------------------------------------------------------

    def register(self, node: Node) -> None:
        """Find the leaves below ``node`` (following definitions) and compile each once."""
        for n in walk(node):
            if isinstance(n, ast.Ref):
                self.register(self.protocol.definitions[n.name])
            elif isinstance(n, LEAVES) and n not in self.leaves:
                name = "l_" + hashlib.sha1(repr(n).encode()).hexdigest()[:12]
                method = getattr(self, f"leaf_{type(n).__name__}", None)
                if method is None:
                    raise NodeNotCompilable(f"{type(n).__name__} has no population compilation")
                self.leaves[n] = name
                self._tables[n] = method(n).select("person_id", **{name: "v"}, **{f"h{name}": ibis.literal(True)})

    def wide(self, persons: ibis.Table) -> ibis.Table:
        """``persons`` with one column per registered leaf (one flat chain of left joins)."""
        out = persons
        for node, name in self.leaves.items():
            t = self._tables[node]
            out = out.left_join(t, out.person_id == t.person_id)
        columns = {c: out[c] for c in persons.columns}
        for node, name in self.leaves.items():
            value = out[name]
            if isinstance(node, ABSENT_IS_FALSE):  # no record at all is FALSE; a NULL found stays UNKNOWN
                value = ibis.ifelse(out[f"h{name}"].isnull(), False, value)
            columns[name] = value
        return out.select(**columns)

    def expr(self, node: Node, w: ibis.Table) -> ibis.Value:
        if node in self.leaves:
            return w[self.leaves[node]]
        method = getattr(self, f"expr_{type(node).__name__}", None)
        if method is None:
            raise NodeNotCompilable(f"{type(node).__name__} has no population compilation")
        return method(node, w)

    def bounds(self, window: Window) -> tuple[date | None, date]:
        end = self.dates[window.anchor]
        return window.start(end), end

    def in_window(self, col: ibis.Value, window: Window) -> ibis.Value:
        start, end = self.bounds(window)
        return (col <= end) if start is None else col.between(start, end)

    # -- decision lists ------------------------------------------------------------

    def outcome(self, criterion: Criterion, w: ibis.Table) -> ibis.Value:
        """The criterion's outcome as a string column (criteria.md outcomes)."""
        cases = []
        if criterion.applies_if is not None:
            gate = self.expr(criterion.applies_if, w)
            cases += [(gate.isnull(), "unknown"), (~gate, "not_applicable")]
        for step in criterion.rule:
            if step.when is None:
                return ibis.cases(*cases, else_=step.then) if cases else ibis.literal(step.then)
            cond = self.expr(step.when, w)
            if step.if_unknown == "unknown":
                cases.append((cond.isnull(), "unknown"))
            cases.append((cond.fill_null(False), step.then))
        raise NodeNotCompilable(f"{criterion.id}: a rule ends with 'otherwise'")

    def step_index(self, criterion: Criterion, w: ibis.Table) -> ibis.Value:
        """Which step decided (-1: applies_if), for the short reason."""
        cases = []
        if criterion.applies_if is not None:
            gate = self.expr(criterion.applies_if, w)
            cases += [(gate.isnull() | ~gate, -1)]
        for i, step in enumerate(criterion.rule):
            if step.when is None:
                return ibis.cases(*cases, else_=i) if cases else ibis.literal(i)
            cond = self.expr(step.when, w)
            if step.if_unknown == "unknown":
                cases.append((cond.isnull(), i))
            cases.append((cond.fill_null(False), i))
        raise NodeNotCompilable(criterion.id)

    # -- connectives -----------------------------------------------------------------

    def expr_All(self, node: ast.All, w) -> ibis.Value:
        out = self.expr(node.items[0], w)
        for item in node.items[1:]:
            out = out & self.expr(item, w)
        return out

    def expr_Any(self, node: ast.Any, w) -> ibis.Value:
        out = self.expr(node.items[0], w)
        for item in node.items[1:]:
            out = out | self.expr(item, w)
        return out

    def expr_Not(self, node: ast.Not, w) -> ibis.Value:
        """Kleene NOT as CASE: Ibis 12 renders ``(~x).isnull()`` as ``NOT (x) IS NULL``,
        which DuckDB reads as ``NOT ((x) IS NULL)``; a CASE cannot be re-bound that way."""
        x = self.expr(node.item, w)
        return ibis.cases((x, False), (~x, True), else_=_NULL_BOOL)

    def expr_FirstKnown(self, node: ast.FirstKnown, w) -> ibis.Value:
        return ibis.coalesce(*[self.expr(i, w) for i in node.items])

    def expr_Known(self, node: ast.Known, w) -> ibis.Value:
        return self.expr(node.item, w).notnull()

    def expr_Missing(self, node: ast.Missing, w) -> ibis.Value:
        return self.expr(node.item, w).isnull()

    def expr_Ref(self, node: ast.Ref, w) -> ibis.Value:
        return self.expr(self.protocol.definitions[node.name], w)

    def expr_IsTrue(self, node: ast.IsTrue, w) -> ibis.Value:
        return self.expr(node.item, w)

    def expr_Compare(self, node: ast.Compare, w) -> ibis.Value:
        """``left op right``: UNKNOWN when the value is missing. ``in`` is an OR of
        equalities (same Kleene result as IN): Spark cannot parse the
        ``x IN (...) IS NULL`` that Ibis renders for ``isin(...).isnull()``."""
        left = self.expr(node.left, w)
        if node.op == "in":
            return ibis.or_(*[left == v for v in node.right])  # type: ignore[union-attr]
        right = self.protocol.parameters[node.right] if isinstance(node.right, str) else node.right
        return getattr(left, _OPS[node.op])(right)

    # -- measurements ----------------------------------------------------------------

    def _freshness(self, measure_id: str) -> Window:
        return Window(self.protocol.measures[measure_id].freshness)

    def _measure_rows(self, measures: tuple[str, ...], window: Window) -> ibis.Table:
        parts = []
        for i, m in enumerate(measures):
            r = self.facts.measure(self.protocol.measures[m])
            r = r.filter(self.in_window(r.d, window))
            parts.append(r.select("person_id", "d", "value", "num", "high", "vtext", "vconcept", "obs_id",
                                  mi=ibis.literal(i)))
        return parts[0] if len(parts) == 1 else ibis.union(*parts)

    def leaf_Latest(self, node: ast.Latest) -> ibis.Table:
        window = node.window or self._freshness(node.measures[0])
        latest = _latest(self._measure_rows(node.measures, window), ("d", "mi"))
        return latest.select("person_id", v=latest.value)

    def _age(self, persons: ibis.Table) -> ibis.Value:
        """Completed years on the screening date from year/month/day of birth (a missing
        month or day is the earliest possible); NULL without a year or with a future birth."""
        y, m, d = persons.year_of_birth, persons.month_of_birth.fill_null(1), persons.day_of_birth.fill_null(1)
        a = self.as_of
        before_birthday = (m > a.month) | ((m == a.month) & (d > a.day))
        age = a.year - y - before_birthday.cast("int64")
        born_later = (y > a.year) | ((y == a.year) & ((m > a.month) | ((m == a.month) & (d > a.day))))
        return ibis.ifelse(born_later, ibis.null().cast("int64"), age)

    def leaf_Age(self, node: ast.Age) -> ibis.Table:
        p = self.facts.omop["person"]
        return p.select("person_id", v=self._age(p))

    def leaf_Sex(self, node: ast.Sex) -> ibis.Table:
        p = self.facts.omop["person"]
        sex = p.gender_concept_id.cases((8507, "male"), (8532, "female"), else_=ibis.null().cast("string"))
        return p.select("person_id", v=sex == node.value)

    def leaf_Egfr(self, node: ast.Egfr) -> ibis.Table:
        """criteria.md "eGFR": CKiD U25 below 18 (height within the height window of the
        creatinine), CKD-EPI 2021 from 18; a reported eGFR only without a fresh creatinine."""
        crea = _latest(self._measure_rows(("creatinine",), self._freshness("creatinine")))
        crea = crea.select("person_id", cd=crea.d, scr=crea.value)
        reported = self.leaf_Latest(ast.Latest(("egfr-reported",))).rename(reported="v")
        p = self.facts.omop["person"]
        people = p.select("person_id", age=self._age(p),
                          sex=p.gender_concept_id.cases((8507, "male"), (8532, "female"),
                                                        else_=ibis.null().cast("string")))
        days = int(self.protocol.parameters.get("height_window_days", 90))
        h = self.facts.measure(self.protocol.measures["height"]).select("person_id", hd="d", cm="value")
        near = crea.join(h, "person_id")
        gap = (near.hd.delta(near.cd, unit="day")).abs()
        near = near.filter(gap <= days).mutate(gap=gap)
        near = near.mutate(_rn=ibis.row_number().over(group_by=near.person_id,
                                                      order_by=[near.gap, ibis.desc(near.hd)]))
        height = near.filter(near._rn == 0).select("person_id", cm="cm")
        t = people.left_join(crea, "person_id").drop("person_id_right")
        t = t.left_join(height, "person_id").drop("person_id_right")
        t = t.left_join(reported, "person_id").drop("person_id_right")
        egfr = ibis.cases(
            (t.scr.isnull(), t.reported),
            (t.age.isnull() | t.sex.isnull() | (t.age < U25_MIN_AGE), _NULL_F),
            (t.age >= CKD_EPI_MIN_AGE, ibis.ifelse(t.age <= CKD_EPI_MAX_AGE, self._ckd_epi(t.scr, t.age, t.sex),
                                                   _NULL_F)),
            (t.cm.isnull() | ~(t.cm / 100).between(*HEIGHT_M), _NULL_F),
            else_=self._u25_k(t.age, t.sex) * (t.cm / 100) / t.scr,
        )
        return t.select("person_id", v=egfr)

    @staticmethod
    def _ckd_epi(scr: ibis.Value, age: ibis.Value, sex: ibis.Value) -> ibis.Value:
        """CKD-EPI 2021 from the calculator's coefficient table (Inker 2021)."""
        def by_sex(field: str) -> ibis.Value:
            return sex.cases(*[(s, getattr(c, field)) for s, c in COEFFICIENTS.items()])
        ratio = scr / by_sex("kappa")
        low = ibis.ifelse(ratio < 1, ratio, 1.0)   # min(ratio, 1) without least()'s NULL skipping
        high = ibis.ifelse(ratio > 1, ratio, 1.0)
        return (CONSTANT * low.pow(by_sex("alpha")) * high.pow(BETA)
                * ibis.literal(AGE_BASE).pow(age) * by_sex("sex_factor"))

    @staticmethod
    def _u25_k(age: ibis.Value, sex: ibis.Value) -> ibis.Value:
        """CKiD U25 K from the calculator's K table (Pierce 2021)."""
        cases = []
        for s, bands in K_TABLE.items():
            for b in bands:
                k = ibis.literal(b.k12) if b.growth is None else b.k12 * ibis.literal(b.growth).pow(age - AGE_CENTRE)
                cases.append(((sex == s) & (age >= b.start) & (age < b.end), k))
        return ibis.cases(*cases, else_=_NULL_F)

    def leaf_UlnRatio(self, node: ast.UlnRatio) -> ibis.Table:
        """The latest fresh result over its ULN (``range_high``, in the result's unit).
        NULL when the result is unreadable, or has no ULN, or a ULN that is no plausible
        value of the measure (0, a typo of 1e9 U/L): an impossible ULN is no ULN, as in
        the interpreter's ``_uln`` (the prescreen has no site reference-interval table)."""
        measure = self.protocol.measures[node.measure]
        r = self.facts.measure(measure)
        rows = _latest(r.filter(self.in_window(r.d, self._freshness(node.measure))))
        low, high = measure.plausible or (0.0, None)
        uln = rows.high * rows.factor  # in the measure's unit
        ok = rows.value.notnull() & (rows.high > 0) & (uln >= max(low, 1e-6))
        if high is not None:
            ok = ok & (uln <= high)
        return rows.select("person_id", v=ibis.ifelse(ok, rows.num / rows.high, _NULL_F))

    def _assessment(self, measure_id: str, window: Window) -> ibis.Table:
        return _latest(self._measure_rows((measure_id,), window))

    def leaf_Sledai(self, node: ast.Sledai) -> ibis.Table:
        a = self._assessment("sledai-2k", self._freshness("sledai-2k"))
        comp = self.facts.components
        weights = {d.code: d.weight for d in SLEDAI_DESCRIPTORS}
        comp = comp.filter(comp.code.startswith("sledai-2k#")).mutate(
            w=lookup(comp.code, [(f"sledai-2k#{k}", v) for k, v in weights.items()], ibis.literal(0)))
        total = comp.group_by("event").aggregate(n=_.count(), total=(_.w * _.present.cast("int64")).sum())
        j = a.left_join(total, a.obs_id == total.event)
        value = ibis.cases((j.n > 0, j.total.cast("float64")), else_=j.num)
        return j.select("person_id", v=value)

    def leaf_AnaTiter(self, node: ast.AnaTiter) -> ibis.Table:
        r = self.facts.measure(self.protocol.measures["ana"])
        titer = ibis.cases((r.num.notnull(), r.num), (self.facts.flag(r) == False, 0.0),  # noqa: E712
                           else_=_NULL_F)
        return r.mutate(t=titer).group_by("person_id").aggregate(v=_.t.max())

    def leaf_EularClassified(self, node: ast.EularClassified) -> ibis.Table:
        a = self._assessment("eular-acr-2019", Window(None))
        comp = self.facts.components
        items = EULAR_ITEMS
        comp = comp.filter(comp.code.startswith("eular-acr-2019#") & comp.present)
        comp = comp.mutate(
            domain=lookup(comp.code, [(f"eular-acr-2019#{i.code}", i.domain) for i in items], ibis.literal("")),
            kind=lookup(comp.code, [(f"eular-acr-2019#{i.code}", i.kind) for i in items], ibis.literal("")),
            w=lookup(comp.code, [(f"eular-acr-2019#{i.code}", i.weight) for i in items], ibis.literal(0)))
        per_domain = comp.group_by(["event", "domain"]).aggregate(w=_.w.max(), clinical=(_.kind == "clinical").any())
        score = per_domain.group_by("event").aggregate(score=_.w.sum(), clinical=_.clinical.any())
        j = a.left_join(score, a.obs_id == score.event)
        ana = self.leaf_AnaTiter(ast.AnaTiter()).rename(ana="v")
        j = j.left_join(ana, j.person_id == ana.person_id)
        classified = (j.ana >= 80) & (j.score.fill_null(0) >= 10) & j.clinical.fill_null(False)
        return j.select(person_id=j.person_id, v=ibis.ifelse(j.ana.isnull(), _NULL_BOOL, classified))

    def leaf_Attestation(self, node: ast.Attestation) -> ibis.Table:
        o = self.facts.local_observations(f"attestation#{node.code}")
        o = o.select(person_id=o.person_id, d=o.observation_date,
                     value=lookup(o.value_as_number, [(1, True), (0, False)], _NULL_BOOL))
        return _latest(o).select("person_id", v="value")

    def leaf_Attested(self, node: ast.Attested) -> ibis.Table:
        t = self.leaf_Attestation(ast.Attestation(node.code))
        return t.select("person_id", v=t.v.fill_null(False))

    def leaf_Positive(self, node: ast.Positive) -> ibis.Table:
        window = node.window or self._freshness(node.measures[0])
        rows = self._measure_rows(node.measures, window)
        rows = rows.mutate(flag=self.facts.flag(rows))
        if node.among == "latest":
            latest = _latest(rows, ("d", "mi"))
            return latest.select("person_id", v="flag")
        agg = rows.group_by("person_id").aggregate(pos=_.flag.fill_null(False).any(), unread=_.flag.isnull().any())
        return agg.select("person_id", v=ibis.cases((agg.pos, True), (agg.unread, _NULL_BOOL), else_=False))

    def leaf_AboveRange(self, node: ast.AboveRange) -> ibis.Table:
        rows = _latest(self._measure_rows((node.measure,), node.window or self._freshness(node.measure)))
        flag = self.facts.flag(rows)
        above = ibis.cases((rows.num.notnull() & rows.high.notnull(), rows.num > rows.high),
                           (rows.num.isnull() | self.facts.is_flag(rows), flag), else_=_NULL_BOOL)
        return rows.select("person_id", v=above)

    def leaf_AssessmentItem(self, node: ast.AssessmentItem) -> ibis.Table:
        a = self._measure_rows((node.assessment,), node.window)
        comp = self.facts.components
        codes = [f"{node.assessment}#{i}" for i in node.items]
        hits = comp.filter(comp.code.isin(codes) & comp.present)
        j = a.join(hits, a.obs_id == hits.event)
        return j.select("person_id").distinct().mutate(v=True)

    def leaf_RelapseAfterRemission(self, node: ast.RelapseAfterRemission) -> ibis.Table:
        r = self.facts.measure(self.protocol.measures[node.measure]).filter(_.value.notnull())
        first = r.filter(r.value <= node.remission).group_by("person_id").aggregate(rd=_.d.min())
        j = r.join(first, "person_id")
        hit = j.filter((j.value >= node.relapse) & (j.d > j.rd))
        return hit.select("person_id").distinct().mutate(v=True)

    # -- history -------------------------------------------------------------------------

    def _overlap(self, t: ibis.Table, window: Window) -> ibis.Value:
        start, end = self.bounds(window)
        cond = t.start <= end
        return cond if start is None else cond & (t.end.isnull() | (t.end >= start))

    def leaf_Has(self, node: ast.Has) -> ibis.Table:
        f = self.facts
        if node.kind == "condition":
            t = f.conditions.filter(_.vs.isin(list(node.valuesets)))
            if node.match == "onset":
                t = t.filter(self.in_window(t.start, node.window))
            elif node.match == "active":
                t = t.filter(self._overlap(t, node.window))
        elif node.kind == "procedure":
            t = f.procedures.filter(_.vs.isin(list(node.valuesets)))
            t = t.filter(self._overlap(t, node.window))
        elif node.kind in ("medication", "immunization"):
            wanted = list(drug_valuesets(self.protocol, node.valuesets)) or [ANY_MEDICATION]
            t = f.drugs.filter(_.vs.isin(wanted))
            if node.kind == "medication":
                t = t.filter(t.systemic)
                t = t.filter(self._overlap(t, node.window))
            else:
                t = t.filter(self.in_window(t.start, node.window))
        elif node.kind == "allergy":
            t = self._allergies(node)
        elif node.kind == "consent":
            t = f.local_observations("consent#research")
        elif node.kind == "study":
            o = f.local_observations("study#participation")
            o = o.filter(o.value_as_string.fill_null("") != self.protocol.id)
            t = o.select(person_id=o.person_id, start=o.observation_date, end=o.value_as_datetime.cast("date"))
            t = t.filter(self._overlap(t, node.window))
        else:
            raise NodeNotCompilable(f"has {node.kind}")
        return t.select("person_id").distinct().mutate(v=True)

    def _allergies(self, node: ast.Has) -> ibis.Table:
        f = self.facts
        codes = ["allergy#allergy", "allergy#intolerance"] if node.allergy_type is None \
            else [f"allergy#{node.allergy_type}"]
        o = f.omop["observation"]
        o = o.filter(o.observation_concept_id.isin([f.local(c) for c in codes]) & (o.observation_date <= self.as_of))
        if node.valuesets:
            wanted = list(drug_valuesets(self.protocol, node.valuesets))
            substance = f.vs.filter(f.vs.vs.isin(wanted))
            o = o.semi_join(substance, o.value_as_concept_id == substance.concept_id)
        if node.criticality:
            o = o.filter(o.qualifier_source_value == node.criticality)
        if node.severity:
            o = o.filter(o.value_as_string == node.severity)
        if node.manifestations:
            cond = f.conditions.filter(_.vs.isin(list(node.manifestations)))
            o = o.semi_join(cond, o.person_id == cond.person_id)
        return o

    # -- treatment history ---------------------------------------------------------------

    def _exposures(self, drugs: tuple[str, ...]) -> ibis.Table:
        t = self.facts.drugs
        return t.filter(t.vs.isin(list(drug_valuesets(self.protocol, drugs))) & t.systemic)

    def leaf_StartedBefore(self, node: ast.StartedBefore) -> ibis.Table:
        first = self._exposures(node.drugs).group_by("person_id").aggregate(first=_.start.min())
        return first.select("person_id", v=first.first <= add_months(self.as_of, -node.months))

    def leaf_ExposureSpan(self, node: ast.ExposureSpan) -> ibis.Table:
        t = self._exposures(node.drugs)
        last = ibis.ifelse(t.end.isnull() | (t.end > self.as_of), ibis.literal(self.as_of), t.end)
        span = t.mutate(last=last).group_by("person_id").aggregate(first=_.start.min(), last=_.last.max())
        # completed_months(first, last) >= n  <=>  first + n calendar months <= last
        return span.select("person_id", v=span.first + ibis.interval(months=node.months) <= span.last)

    def leaf_AgentsAtLeast(self, node: ast.AgentsAtLeast) -> ibis.Table:
        n = self._exposures(node.drugs).group_by("person_id").aggregate(n=_.vs.nunique())
        return n.select("person_id", v=n.n >= node.n)

    def leaf_ClassesAtLeast(self, node: ast.ClassesAtLeast) -> ibis.Table:
        table = self.protocol.drug_classes[node.classes]
        pairs = [(vs, cls) for cls, drugs in table.items() for vs in drug_valuesets(self.protocol, drugs)]
        t = self._exposures(tuple(vs for vs, _c in pairs))
        t = t.mutate(cls=lookup(t.vs, pairs, ibis.null().cast("string")))
        n = t.group_by("person_id").aggregate(n=_.cls.nunique())
        return n.select("person_id", v=n.n >= node.n)

    def _prednisone(self, t: ibis.Table) -> ibis.Table:
        """One row per exposure with its prednisone-equivalent daily dose (NULL if unreadable)."""
        factor = lookup(t.vs, PREDNISONE_FACTORS.items(), _NULL_F)
        t = t.mutate(pe=t.dose * factor)
        return t.group_by(["person_id", "row", "start", "end"]).aggregate(pe=_.pe.max(), unread=_.pe.isnull().any())

    def leaf_CurrentDoseAbove(self, node: ast.CurrentDoseAbove) -> ibis.Table:
        t = self._prednisone(self._exposures(node.drugs))
        t = t.filter(t.end.isnull() | (t.end >= self.as_of))
        agg = t.group_by("person_id").aggregate(total=_.pe.sum(), unread=_.unread.any())
        return agg.select("person_id", v=ibis.ifelse(agg.unread, _NULL_BOOL, agg.total > node.mg))

    def _weight_intervals(self, within: int) -> ibis.Table:
        """(person_id, lo, hi, kg): the days on which each weight is the nearest one.

        A weight is nearest between the midpoints to its neighbours (a tie goes
        to the later weight, as in the interpreter), and never more than
        ``within`` days away; so each day falls in at most one interval.
        """
        w = self.facts.measure(self.protocol.measures["weight"]).select("person_id", wd="d", kg="value")
        order = ibis.window(group_by=w.person_id, order_by=w.wd)
        prev, nxt = w.wd.lag().over(order), w.wd.lead().over(order)
        half_before = (w.wd.delta(prev, unit="day") / 2).floor().cast("int64")  # tie: this, the later one
        half_after = ((nxt.delta(w.wd, unit="day") + 1) / 2).floor().cast("int64") - 1  # tie: the next
        lo = ibis.ifelse(prev.isnull(), within, ibis.least(half_before, within))
        hi = ibis.ifelse(nxt.isnull(), within, ibis.least(half_after, within))
        return w.select("person_id", "kg", lo=w.wd - lo.as_interval("D"), hi=w.wd + hi.as_interval("D"))

    def leaf_HighDoseDays(self, node: ast.HighDoseDays) -> ibis.Table:
        """Days at >= threshold mg/kg/day, counted over segments of the timeline on which
        the covering doses and the nearest weight do not change (cut at every exposure
        start/end and weight-interval edge), so no per-day rows are made."""
        threshold = self.protocol.parameters[node.mg_per_kg] if isinstance(node.mg_per_kg, str) else node.mg_per_kg
        t = self._prednisone(self._exposures(node.drugs))
        last = ibis.ifelse(t.end.isnull() | (t.end > self.as_of), ibis.literal(self.as_of), t.end)
        ex = t.select("person_id", "pe", "unread", s=t.start, e=last).filter(_.s <= _.e).cache()
        wi = self._weight_intervals(int(self.protocol.parameters.get("weight_window_days", 90)))
        wi = wi.semi_join(ex, wi.person_id == ex.person_id)
        one = ibis.interval(days=1)
        cuts = ibis.union(ex.select("person_id", b=ex.s), ex.select("person_id", b=ex.e + one),
                          wi.select("person_id", b=wi.lo), wi.select("person_id", b=wi.hi + one), distinct=True)
        nb = cuts.b.lead().over(ibis.window(group_by=cuts.person_id, order_by=cuts.b))
        seg = cuts.mutate(nb=nb).filter(_.nb.notnull())
        seg = seg.mutate(days=seg.nb.delta(seg.b, unit="day"))
        cov = seg.join(ex, [seg.person_id == ex.person_id, ex.s <= seg.b, ex.e >= seg.b])
        per = cov.group_by([cov.person_id, cov.b, cov.days]).aggregate(mg=_.pe.sum(), unread=_.unread.any())
        k = per.left_join(wi, [per.person_id == wi.person_id, wi.lo <= per.b, wi.hi >= per.b]).select(
            per.person_id, per.days, per.mg, per.unread, wi.kg)
        sure = k.kg.notnull() & (k.mg.fill_null(0) / k.kg >= threshold)
        unsure = ~sure & (k.kg.isnull() | k.unread)
        agg = k.group_by("person_id").aggregate(sure=ibis.ifelse(sure, k.days, 0).sum(),
                                                unsure=ibis.ifelse(unsure, k.days, 0).sum())
        v = ibis.cases((agg.sure >= node.days, True), (agg.sure + agg.unsure < node.days, False), else_=_NULL_BOOL)
        return agg.select("person_id", v=v)  # no exposure at all: absent, hence FALSE (ABSENT_IS_FALSE)

