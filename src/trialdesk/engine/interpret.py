"""The single-patient interpreter: ``visit_<Node>`` over a :class:`PatientRecord`.

Predicates return :class:`Res` (three-valued), value nodes :class:`Val`.
Missing, stale or unreadable data never become TRUE or FALSE by default: a
measurement that is absent makes its comparison UNKNOWN, with a :class:`Need`
saying what to collect and when. History nodes take the record as complete.
"""

from __future__ import annotations

import operator
from datetime import date

from trialdesk.calculators import eular_acr_2019, sledai_2k
from trialdesk.calculators.egfr_ckd_epi_2021 import egfr_ckd_epi_2021
from trialdesk.calculators.egfr_ckid_u25 import egfr_ckid_u25
from trialdesk.calculators.steroids import PREDNISONE_FACTORS
from trialdesk.calculators.uln import uln_ratio
from trialdesk.calculators.units import convert
from trialdesk.engine import ast, read
from trialdesk.engine.ast.base import Node, Window
from trialdesk.engine.context import Context, day_range
from trialdesk.engine.dates import add_months, completed_months, completed_years, last_anchor_within
from trialdesk.engine.history import visit_has
from trialdesk.engine.results import Need, Res, Truth, Val, combine
from trialdesk.errors import CalculatorError
from trialdesk.patient.model import DataIssue, Observation

ASSESSMENT = "urn:trialdesk:assessment"
ATTESTATION = "urn:trialdesk:attestation"
ECG = "urn:trialdesk:ecg"
_OPS = {"ge": (operator.ge, "≥", "<"), "gt": (operator.gt, ">", "≤"), "le": (operator.le, "≤", ">"),
        "lt": (operator.lt, "<", "≥"), "eq": (operator.eq, "=", "≠")}
_YES_NO = {True: "yes", False: "no"}


def _truth(flag: bool) -> Truth:
    return Truth.TRUE if flag else Truth.FALSE


def obs_evidence(o: Observation, value: object = None, unit: str | None = None, **extra: object) -> dict:
    """Evidence for one observation: resource, value, unit, date."""
    shown = value if value is not None else (o.value if o.value is not None else o.text)
    return {"resource": o.ref, "value": shown, "unit": unit if unit is not None else o.unit,
            "date": o.date.isoformat() if o.date else None, **extra}


class Interpreter:
    """Evaluates rule nodes for one patient at the context's dates."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._defs: dict[str, Res] = {}

    def eval(self, node: Node) -> Res | Val:
        return getattr(self, f"visit_{type(node).__name__}")(node)

    def truth(self, node: Node) -> Res:
        result = self.eval(node)
        if isinstance(result, Val):
            raise TypeError(f"{type(node).__name__} is a value, not a predicate")
        return result

    def value(self, node: Node) -> Val:
        result = self.eval(node)
        if not isinstance(result, Val):
            raise TypeError(f"{type(node).__name__} is a predicate, not a value")
        return result

    def param(self, name: str | float) -> float:
        return float(name) if not isinstance(name, str) else self.ctx.protocol.parameters[name]

    # -- connectives ---------------------------------------------------------

    def visit_All(self, node: ast.All) -> Res:
        return combine("all", [self.truth(n) for n in node.items])

    def visit_Any(self, node: ast.Any) -> Res:
        return combine("any", [self.truth(n) for n in node.items])

    def visit_Not(self, node: ast.Not) -> Res:
        r = self.truth(node.item)
        flipped = {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE, Truth.UNKNOWN: Truth.UNKNOWN}[r.truth]
        return Res(flipped, r.text, r.evidence, r.needs, r.until, r.by)

    def visit_FirstKnown(self, node: ast.FirstKnown) -> Res:
        tried = []
        for item in node.items:
            r = self.truth(item)
            if r.truth is not Truth.UNKNOWN:
                return r
            tried.append(r)
        return combine("any", tried)

    def visit_Known(self, node: ast.Known) -> Res:
        v = self.value(node.item)
        return Res(_truth(not v.missing), v.text, v.evidence, until=v.until, by=v.by)

    def visit_Missing(self, node: ast.Missing) -> Res:
        v = self.value(node.item)
        return Res(_truth(v.missing), v.text, v.evidence, v.needs, v.until, v.by)

    def visit_Ref(self, node: ast.Ref) -> Res:
        if node.name not in self._defs:
            self._defs[node.name] = self.truth(self.ctx.protocol.definitions[node.name])
        return self._defs[node.name]

    def visit_Compare(self, node: ast.Compare) -> Res:
        v = self.value(node.left)
        if v.missing:
            return Res(Truth.UNKNOWN, v.text, v.evidence, v.needs)
        if node.op == "in":
            hit = v.value in node.right
            shown = ", ".join(node.right)  # type: ignore[arg-type]
            text = f"{v.text}: {'one of' if hit else 'not one of'} {shown}"
        else:
            fn, yes, no = _OPS[node.op]
            threshold = self.param(node.right)  # type: ignore[arg-type]
            hit = fn(v.value, threshold)
            text = f"{v.text}: {yes if hit else no} {threshold:g}"
        return Res(_truth(hit), text, v.evidence, until=v.until, by=v.by)

    # -- demographics ---------------------------------------------------------

    def visit_Age(self, node: ast.Age) -> Val:
        p = self.ctx.record.patient
        if p.birth_date is None:
            return Val(None, "no birth date recorded", needs=[Need("date of birth (Patient.birthDate)")])
        age = completed_years(p.birth_date, self.ctx.as_of)
        text = f"age {age} on {self.ctx.as_of}"
        evidence = {"resource": f"Patient/{p.id}", "value": p.birth_date.isoformat(), "unit": "birthDate",
                    "date": None, "age": age}
        if p.birth_precision != "day":
            text += f" (birth date known to the {p.birth_precision} only: age from the earliest possible date)"
            evidence["note"] = f"birthDate precision {p.birth_precision}"
        return Val(age, text, "a", [evidence])

    def visit_Sex(self, node: ast.Sex) -> Res:
        gender = self.ctx.record.patient.gender
        if gender in ("male", "female"):
            return Res(_truth(gender == node.value), f"sex {gender}")
        return Res(Truth.UNKNOWN, f"administrative gender is {gender or 'not recorded'}",
                   needs=[Need("sex (Patient.gender male or female) or the childbearing-potential attestation")])

    # -- measurements ---------------------------------------------------------

    def _fresh(self, o: Observation, window: Window) -> tuple[date | None, frozenset[str]]:
        parts = window.parts()
        if parts is None or window.anchor != "as_of":
            return None, frozenset()
        return last_anchor_within(o.date, *parts), frozenset({"fresh"})  # type: ignore[arg-type]

    def _candidates(self, measures: tuple[str, ...], window: Window) -> list[Observation]:
        start, end = self.ctx.window_bounds(window)
        found = [o for m in measures for o in self.ctx.observations(m)
                 if o.date <= end and (start is None or o.date >= start)]  # type: ignore[operator]
        found.sort(key=lambda o: o.date, reverse=True)  # type: ignore[arg-type, return-value]
        return found

    def _absent(self, measures: tuple[str, ...], window: Window) -> Val:
        """The 'missing' value for measures with no usable result in the window."""
        labels = " or ".join(self.ctx.protocol.measures[m].label for m in measures)
        need = Need(labels, self.ctx.describe_window(window))
        broken = self.ctx.unreadable({self.ctx.protocol.measures[m].valueset for m in measures}, window)
        if broken:
            return Val(None, f"record {broken[0].ref} could not be read: {broken[0].message}", needs=[need])
        start, end = self.ctx.window_bounds(window)
        older = [o for m in measures for o in self.ctx.observations(m) if o.date <= end]  # type: ignore[operator]
        if older:
            last = max(older, key=lambda o: o.date)  # type: ignore[arg-type, return-value]
            age = (end - last.date).days  # type: ignore[operator]
            return Val(None, f"latest {labels} is {age} days old ({last.date}); needs one {window.describe()}",
                       needs=[need])
        return Val(None, f"no {labels} {window.describe()}", needs=[need])

    def _issue(self, o: Observation, kind: str, message: str) -> None:
        self.ctx.issues.append(DataIssue(o.ref, kind, message, o.codes, o.date))

    def _read(self, o: Observation, measure_id: str) -> tuple[object, str | None]:
        measure = self.ctx.protocol.measures[measure_id]
        if measure.result == "coded":
            code = read.coded(o, measure, ECG)
            return code, None if code else f"result is not one of {', '.join(measure.codes)}"
        if measure.result == "qualitative":
            flag = read.qualitative(o)
            return flag, None if flag is not None else "could not be read as positive or negative"
        value, problem = read.number(o, measure)
        if problem:
            self._issue(o, "impossible" if "impossible" in problem else "unit", f"{measure.label} {problem}")
        return value, problem

    def _measure_of(self, o: Observation, measures: tuple[str, ...]) -> str:
        tags = self.ctx.tags(o)
        return next(m for m in measures if self.ctx.protocol.measures[m].valueset in tags)

    def visit_Latest(self, node: ast.Latest) -> Val:
        window = node.window or self.ctx.freshness(self.ctx.protocol.measures[node.measures[0]])
        found = self._candidates(node.measures, window)
        if not found:
            return self._absent(node.measures, window)
        o = found[0]
        measure = self.ctx.protocol.measures[self._measure_of(o, node.measures)]
        value, problem = self._read(o, measure.id)
        if problem:
            return Val(None, f"{measure.label} on {o.date} ({o.ref}) {problem}", evidence=[obs_evidence(o)],
                       needs=[Need(f"a readable {measure.label}", self.ctx.describe_window(window))])
        broken = self.ctx.unreadable({measure.valueset}, window)
        if broken:
            return Val(None, f"record {broken[0].ref} could not be read: {broken[0].message}",
                       needs=[Need(measure.label, self.ctx.describe_window(window))])
        unit = measure.unit or ""
        if isinstance(value, bool):
            shown = "positive" if value else "negative"
        else:
            shown = value if isinstance(value, str) else f"{value:g}"
        until, by = self._fresh(o, window)
        return Val(value, f"{measure.label} {shown}{' ' + unit if unit else ''} on {o.date}", measure.unit,
                   [obs_evidence(o, value, measure.unit)], until=until, by=by)

    def visit_Egfr(self, node: ast.Egfr) -> Val:
        protocol = self.ctx.protocol
        crea = self.visit_Latest(ast.Latest(("creatinine",)))
        if crea.missing:
            reported = self.visit_Latest(ast.Latest(("egfr-reported",)))
            if not reported.missing:
                reported.text = f"reported {reported.text} (no creatinine {Window(protocol.measures['creatinine'].freshness).describe()})"
                return reported
            return Val(None, crea.text, needs=crea.needs)
        age = self.visit_Age(ast.Age())
        sex = self.ctx.record.patient.gender
        if age.missing:
            return Val(None, f"eGFR needs the age: {age.text}", evidence=crea.evidence, needs=age.needs)
        if sex not in ("male", "female"):
            return Val(None, "eGFR equations need sex male or female", evidence=crea.evidence,
                       needs=[Need("sex (Patient.gender)")])
        scr = float(crea.value)  # type: ignore[arg-type]
        crea_obs = crea.evidence[0]
        evidence = list(crea.evidence)
        try:
            if age.value >= 18:  # type: ignore[operator]
                result = egfr_ckd_epi_2021(scr, int(age.value), sex)  # type: ignore[arg-type]
            else:
                day = date.fromisoformat(crea_obs["date"])
                days = int(protocol.parameters.get("height_window_days", 90))
                h = self.ctx.nearest("height", day, days)
                height_cm = None if h is None else self._read(h, "height")[0]
                if height_cm is None:
                    return Val(None, f"CKiD U25 (age {age.value}) needs a body height within {days} days of the "
                               f"creatinine of {day}", evidence=evidence,
                               needs=[Need("body height", f"dated within {days} days of {day}, on or before {self.ctx.as_of}")])
                evidence.append(obs_evidence(h, height_cm, "cm"))
                result = egfr_ckid_u25(scr, age.value, sex, float(height_cm) / 100)  # type: ignore[arg-type]
        except CalculatorError as exc:
            return Val(None, f"eGFR cannot be computed: {exc}", evidence=evidence,
                       needs=[Need("serum creatinine", self.ctx.describe_window(Window(protocol.measures['creatinine'].freshness)))])
        evidence.append({"derived": result.name, "equation": result.equation, "inputs": result.inputs,
                         "result": round(result.value, 1), "unit": result.unit, "source": result.source})
        shown = result.unit.replace("{1.73_m2}", "1.73 m²")
        return Val(result.value, f"eGFR {result.value:.1f} {shown} ({result.name}, creatinine of {crea_obs['date']})",
                   result.unit, evidence, until=crea.until, by=crea.by)

    def visit_UlnRatio(self, node: ast.UlnRatio) -> Val:
        measure = self.ctx.protocol.measures[node.measure]
        window = self.ctx.freshness(measure)
        found = self._candidates((node.measure,), window)
        if not found:
            return self._absent((node.measure,), window)
        o = found[0]
        value, problem = self._read(o, measure.id)
        if problem:
            return Val(None, f"{measure.label} on {o.date} ({o.ref}) {problem}", evidence=[obs_evidence(o)],
                       needs=[Need(f"a readable {measure.label}", self.ctx.describe_window(window))])
        uln, uln_unit, uln_source = self._uln(o, measure, value)  # type: ignore[arg-type]
        if uln is None:
            return Val(None, f"{measure.label} {o.value:g} {o.unit} on {o.date} has no upper reference limit, "
                       "and the site's reference-interval table has none for this patient",
                       evidence=[obs_evidence(o)],
                       needs=[Need(f"the lab's upper limit of normal for {measure.label} (referenceRange.high)",
                                   f"on the result of {o.date}")])
        shown = value if uln_source != "observation" else o.value
        result = uln_ratio(shown, uln, measure.label, uln_unit)  # type: ignore[arg-type]
        until, by = self._fresh(o, window)
        ev = obs_evidence(o, uln=uln, uln_source=uln_source, ratio=round(result.value, 2), equation=result.equation)
        return Val(result.value, f"{measure.label} {o.value:g} {o.unit} on {o.date} = {result.value:.2f} x ULN "
                   f"({uln:g} {uln_unit}, {uln_source})", "x ULN", [ev], until=until, by=by)

    def _uln(self, o: Observation, measure, value: float) -> tuple[float | None, str, str]:
        """(ULN, its unit, where it came from): the result's own range, else the site table.

        A ULN in another unit is converted; one that is not a plausible value of
        the measure (a typo of 1e9 U/L, a denormal) is no ULN at all.
        """
        if o.ref_high is not None:
            try:
                uln = o.ref_high if not (o.ref_unit and o.unit and o.ref_unit != o.unit) \
                    else convert(o.ref_high, o.ref_unit, o.unit, measure.analyte)
                in_measure_unit = convert(uln, o.unit, measure.unit, measure.analyte) if measure.unit else uln
            except CalculatorError:
                return None, "", ""
            low, high = measure.plausible or (0.0, float("inf"))
            if uln > 0 and max(low, 1e-6) <= in_measure_unit <= high:
                return uln, o.unit or "", "observation"
            self._issue(o, "impossible", f"{measure.label} upper reference limit {o.ref_high:g} is not plausible")
            return None, "", ""
        table = self.ctx.reference_intervals
        if table is None:
            return None, "", ""
        age = self.visit_Age(ast.Age()).value
        row = table.upper_limit(measure.id, self.ctx.record.patient.gender, age)  # type: ignore[arg-type]
        if row is None:
            return None, "", ""
        try:
            high = convert(row.high, row.unit, measure.unit, measure.analyte) if measure.unit else row.high
        except CalculatorError:
            return None, "", ""
        return high, measure.unit or row.unit, f"site table: {table.source}"

    def _assessments(self, measure_id: str, window: Window) -> list[Observation]:
        return self._candidates((measure_id,), window)

    def visit_Sledai(self, node: ast.Sledai) -> Val:
        measure = self.ctx.protocol.measures["sledai-2k"]
        window = self.ctx.freshness(measure)
        found = self._assessments("sledai-2k", window)
        if not found:
            return self._absent(("sledai-2k",), window)
        o = found[0]
        until, by = self._fresh(o, window)
        present = [c.codes[0].code for c in o.components
                   if c.value_bool and c.codes and c.codes[0].system == "urn:trialdesk:sledai-2k"]
        if o.components:
            try:
                result = sledai_2k.score(present)
            except CalculatorError as exc:
                return Val(None, f"SLEDAI-2K on {o.date} ({o.ref}) could not be scored: {exc}",
                           needs=[Need("SLEDAI-2K descriptors", self.ctx.describe_window(window))])
            if o.value is not None and o.value != result.value:
                self._issue(o, "inconsistent", f"recorded SLEDAI-2K total {o.value:g} differs from the "
                            f"total {result.value:g} computed from its descriptors; the computed total is used")
            ev = obs_evidence(o, result.value, "points", derived=result.name, equation=result.equation,
                              source=result.source)
            return Val(result.value, f"SLEDAI-2K {result.value:g} on {o.date} ({', '.join(present) or 'no descriptor'})",
                       "points", [ev], until=until, by=by)
        if o.value is None:
            return Val(None, f"SLEDAI-2K on {o.date} ({o.ref}) has neither descriptors nor a total",
                       needs=[Need("SLEDAI-2K descriptors", self.ctx.describe_window(window))])
        return Val(o.value, f"SLEDAI-2K recorded total {o.value:g} on {o.date}", "points",
                   [obs_evidence(o, o.value, "points")], until=until, by=by)

    def visit_AnaTiter(self, node: ast.AnaTiter) -> Val:
        best: tuple[float, Observation] | None = None
        unreadable = []
        for o in self.ctx.observations("ana"):
            if o.date > self.ctx.as_of:  # type: ignore[operator]
                continue
            titer = self._titer(o)
            if titer is None:
                unreadable.append(o)
            elif best is None or titer > best[0]:
                best = (titer, o)
        if best is None:
            why = f"ANA result(s) without a readable titer: {', '.join(o.ref for o in unreadable)}" if unreadable \
                else "no ANA titer recorded"
            return Val(None, why, needs=[Need("ANA titer (IFA on HEp-2 cells)", "any date")])
        titer, o = best
        shown = "negative" if titer == 0 else f"1:{titer:g}"
        return Val(titer, f"highest ANA {shown} on {o.date}", "titer", [obs_evidence(o, shown, "titer")])

    @staticmethod
    def _titer(o: Observation) -> float | None:
        if o.ratio is not None and o.ratio[0] > 0:
            return o.ratio[1] / o.ratio[0]
        if o.value is not None:
            return o.value
        if o.text:
            try:
                titer = eular_acr_2019.parse_titer(o.text)
            except CalculatorError:  # free text that is no titer: unreadable, like no value
                titer = None
            if titer is not None:
                return titer
        return 0.0 if read.qualitative(o) is False else None

    def visit_EularClassified(self, node: ast.EularClassified) -> Res:
        found = self._assessments("eular-acr-2019", Window(None))
        if not found:
            return Res(Truth.UNKNOWN, "no 2019 EULAR/ACR assessment recorded",
                       needs=[Need("2019 EULAR/ACR criteria assessment (items)", "any date")])
        o = found[0]
        ana = self.visit_AnaTiter(ast.AnaTiter())
        if ana.missing:
            return Res(Truth.UNKNOWN, ana.text, needs=ana.needs)
        items = [c.codes[0].code for c in o.components
                 if c.value_bool and c.codes and c.codes[0].system == "urn:trialdesk:eular-acr-2019"]
        try:
            result = eular_acr_2019.classify(ana.value, items)  # type: ignore[arg-type]
        except CalculatorError as exc:
            return Res(Truth.UNKNOWN, f"2019 EULAR/ACR assessment {o.ref} could not be scored: {exc}",
                       needs=[Need("2019 EULAR/ACR criteria assessment (items)", "any date")])
        classified = bool(result.extra["classified"])
        ev = obs_evidence(o, result.value, "points", derived=result.name, equation=result.equation,
                          source=result.source, classified=classified)
        verdict = "classified as SLE" if classified else "not classified as SLE (needs >= 10 with >= 1 clinical item)"
        return Res(_truth(classified), f"2019 EULAR/ACR score {result.value:g} on {o.date} with {ana.text}: {verdict}",
                   ana.evidence + [ev])

    def _attestations(self, code: str) -> list[Observation]:
        found = [o for o in reversed(self.ctx.record.observations) if o.date is not None and o.date <= self.ctx.as_of
                 and any(c.system == ATTESTATION and c.code == code for c in o.codes)]
        return sorted(found, key=lambda o: o.date, reverse=True)  # type: ignore[arg-type, return-value]  # same day: later entry first

    def visit_Attestation(self, node: ast.Attestation) -> Val:
        found = self._attestations(node.code)
        need = Need(f"investigator attestation '{node.code}'", f"on or before {self.ctx.as_of}")
        if not found:
            return Val(None, f"no attestation '{node.code}' recorded", needs=[need])
        o = found[0]
        if o.value_bool is None:
            return Val(None, f"attestation '{node.code}' ({o.ref}) has no yes/no value", needs=[need])
        who = f" by {o.performer}" if o.performer else ""
        return Val(o.value_bool, f"attestation '{node.code}' = {_YES_NO[o.value_bool]}{who} on {o.date}", None,
                   [obs_evidence(o, o.value_bool, None, performer=o.performer)])

    def visit_IsTrue(self, node: ast.IsTrue) -> Res:
        v = self.value(node.item)
        if v.missing:
            return Res(Truth.UNKNOWN, v.text, v.evidence, v.needs)
        return Res(_truth(v.value is True), v.text, v.evidence, until=v.until, by=v.by)

    def visit_Attested(self, node: ast.Attested) -> Res:
        v = self.visit_Attestation(ast.Attestation(node.code))
        return Res(_truth(v.value is True), v.text, v.evidence)

    def visit_Positive(self, node: ast.Positive) -> Res:
        window = node.window or self.ctx.freshness(self.ctx.protocol.measures[node.measures[0]])
        found = self._candidates(node.measures, window)
        if not found:
            absent = self._absent(node.measures, window)
            return Res(Truth.UNKNOWN, absent.text, needs=absent.needs)
        if node.among == "latest":
            found = found[:1]
        results = [(o, read.qualitative(o)) for o in found]
        label = lambda o: self.ctx.protocol.measures[self._measure_of(o, node.measures)].label  # noqa: E731
        positives = [o for o, q in results if q is True]
        if positives:
            o = positives[0]
            until, by = self._fresh(o, window)
            return Res(Truth.TRUE, f"{label(o)} positive on {o.date}", [obs_evidence(o, "positive")], until=until, by=by)
        unreadable = [o for o, q in results if q is None]
        if unreadable:
            o = unreadable[0]
            return Res(Truth.UNKNOWN, f"{label(o)} on {o.date} ({o.ref}) could not be read as positive or negative",
                       [obs_evidence(o)], [Need(f"a readable {label(o)} result", self.ctx.describe_window(window))])
        broken = self.ctx.unreadable({self.ctx.protocol.measures[m].valueset for m in node.measures}, window)
        if broken:
            return Res(Truth.UNKNOWN, f"record {broken[0].ref} could not be read: {broken[0].message}",
                       needs=[Need(f"a readable {label(found[0])} result", self.ctx.describe_window(window))])
        o = found[0]
        until, by = self._fresh(o, window)
        return Res(Truth.FALSE, f"{label(o)} negative on {o.date}", [obs_evidence(o, "negative")], until=until, by=by)

    def visit_AboveRange(self, node: ast.AboveRange) -> Res:
        measure = self.ctx.protocol.measures[node.measure]
        window = node.window or self.ctx.freshness(measure)
        found = self._candidates((node.measure,), window)
        if not found:
            absent = self._absent((node.measure,), window)
            return Res(Truth.UNKNOWN, absent.text, needs=absent.needs)
        o = found[0]
        above = read.above_range(o)
        if above is None:
            return Res(Truth.UNKNOWN, f"{measure.label} on {o.date} ({o.ref}) has no reference range or "
                       "interpretation to compare with", [obs_evidence(o)],
                       [Need(f"{measure.label} with its reference range", self.ctx.describe_window(window))])
        broken = self.ctx.unreadable({measure.valueset}, window)
        if broken and not above:
            return Res(Truth.UNKNOWN, f"record {broken[0].ref} could not be read: {broken[0].message}",
                       needs=[Need(f"a readable {measure.label}", self.ctx.describe_window(window))])
        until, by = self._fresh(o, window)
        word = "above" if above else "within"
        return Res(_truth(above), f"{measure.label} {word} the reference range on {o.date}",
                   [obs_evidence(o, ref_high=o.ref_high)], until=until, by=by)

    def visit_AssessmentItem(self, node: ast.AssessmentItem) -> Res:
        label = self.ctx.protocol.measures[node.assessment].label
        for o in self._candidates((node.assessment,), node.window):
            hits = [c.codes[0].code for c in o.components if c.value_bool and c.codes and c.codes[0].code in node.items]
            if hits:
                parts = node.window.parts()
                until = last_anchor_within(o.date, *parts) if parts else None  # type: ignore[arg-type]
                return Res(Truth.TRUE, f"{label} on {o.date} records {', '.join(hits)}",
                           [obs_evidence(o, ", ".join(hits), None)], until=until,
                           by=frozenset({"lookback"}) if until else frozenset())
        return Res(Truth.FALSE, f"no {label} {node.window.describe()} records {', '.join(node.items)}")

    def visit_RelapseAfterRemission(self, node: ast.RelapseAfterRemission) -> Res:
        measure = self.ctx.protocol.measures[node.measure]
        series = []
        for o in reversed(self.ctx.observations(node.measure)):
            if o.date <= self.ctx.as_of:  # type: ignore[operator]
                value, problem = self._read(o, node.measure)
                if not problem:
                    series.append((o, value))
        remission = None
        for o, v in series:
            if v <= node.remission and remission is None:  # type: ignore[operator]
                remission = o
            elif remission is not None and v >= node.relapse:  # type: ignore[operator]
                return Res(Truth.TRUE, f"relapse: {measure.label} {v:g} {measure.unit} on {o.date} after complete "
                           f"remission ({measure.label} ≤ {node.remission:g} on {remission.date})",
                           [obs_evidence(remission), obs_evidence(o, v, measure.unit)])
        return Res(Truth.FALSE, f"no {measure.label} ≥ {node.relapse:g} {measure.unit} after a complete remission")

    # -- history --------------------------------------------------------------

    def visit_Has(self, node: ast.Has) -> Res:
        return visit_has(self.ctx, node)

    # -- treatment history ----------------------------------------------------

    def _first_start(self, drugs: tuple[str, ...]) -> date | None:
        starts = [m.start for m, _ in self.ctx.medications(drugs)]
        return min(starts) if starts else None  # type: ignore[type-var]

    def visit_StartedBefore(self, node: ast.StartedBefore) -> Res:
        first = self._first_start(node.drugs)
        if first is None:
            return Res(Truth.FALSE, f"no record of {', '.join(node.drugs)}")
        cutoff = add_months(self.ctx.as_of, -node.months)
        return Res(_truth(first <= cutoff), f"{', '.join(node.drugs)} first taken {first} "
                   f"({'at least' if first <= cutoff else 'less than'} {node.months} months before screening)")

    def visit_ExposureSpan(self, node: ast.ExposureSpan) -> Res:
        exposures = self.ctx.medications(node.drugs)
        if not exposures:
            return Res(Truth.FALSE, f"no record of {', '.join(node.drugs)}")
        first = min(m.start for m, _ in exposures)  # type: ignore[type-var]
        last = max(min(m.end or self.ctx.as_of, self.ctx.as_of) for m, _ in exposures)
        months = completed_months(first, last)  # type: ignore[arg-type]
        return Res(_truth(months >= node.months), f"{', '.join(node.drugs)} taken from {first} to {last} "
                   f"({months} months; needs {node.months})",
                   [{"resource": m.ref, "value": m.text or (m.codes[0].display if m.codes else None),
                     "unit": None, "date": m.start.isoformat() if m.start else None} for m, _ in exposures])

    def visit_AgentsAtLeast(self, node: ast.AgentsAtLeast) -> Res:
        agents = sorted({vs for _, hit in self.ctx.medications(node.drugs) for vs in hit})
        return Res(_truth(len(agents) >= node.n),
                   f"{len(agents)} of the listed agents taken ({', '.join(agents) or 'none'}); needs {node.n}")

    def visit_ClassesAtLeast(self, node: ast.ClassesAtLeast) -> Res:
        table = self.ctx.protocol.drug_classes[node.classes]
        covered = sorted(c for c, drugs in table.items() if self.ctx.medications(drugs))
        return Res(_truth(len(covered) >= node.n),
                   f"{len(covered)} mechanism class(es) taken ({', '.join(covered) or 'none'}); needs {node.n}")

    def _prednisone_mg(self, hit: frozenset[str], mg: float) -> float | None:
        factors = [PREDNISONE_FACTORS[vs] for vs in hit if vs in PREDNISONE_FACTORS]
        return mg * factors[0] if factors else None

    def visit_CurrentDoseAbove(self, node: ast.CurrentDoseAbove) -> Res:
        as_of = self.ctx.as_of
        current = [(m, hit) for m, hit in self.ctx.medications(node.drugs) if m.end is None or m.end >= as_of]
        total, evidence = 0.0, []
        for m, hit in current:
            pe = None if m.daily_dose_mg is None else self._prednisone_mg(hit, m.daily_dose_mg)
            if pe is None:
                return Res(Truth.UNKNOWN, f"the daily dose of {m.ref} cannot be read in mg ({m.dose_note or 'no dose'})",
                           needs=[Need(f"the daily dose of {m.text or m.ref} in mg", f"covering {as_of}")])
            total += pe
            evidence.append({"resource": m.ref, "value": m.daily_dose_mg, "unit": "mg/day",
                             "date": m.start.isoformat() if m.start else None, "prednisone_equivalent_mg": round(pe, 2)})
        return Res(_truth(total > node.mg), f"current prednisone-equivalent dose {total:g} mg/day on {as_of} "
                   f"({'>' if total > node.mg else '≤'} {node.mg:g})", evidence)

    def visit_HighDoseDays(self, node: ast.HighDoseDays) -> Res:
        threshold = self.param(node.mg_per_kg)
        weight_days = int(self.ctx.protocol.parameters.get("weight_window_days", 90))
        exposures = self.ctx.medications(node.drugs)
        if not exposures:
            return Res(Truth.FALSE, f"no record of {', '.join(node.drugs)}")
        sure, unsure = 0, 0
        first = min(m.start for m, _ in exposures)  # type: ignore[type-var]
        for day in day_range(first, self.ctx.as_of):  # type: ignore[arg-type]
            doses = [(m, hit) for m, hit in exposures if m.start <= day and (m.end is None or day <= m.end)]  # type: ignore[operator]
            if not doses:
                continue
            known = [self._prednisone_mg(hit, m.daily_dose_mg) if m.daily_dose_mg is not None else None
                     for m, hit in doses]
            mg = sum(k for k in known if k is not None)
            weight = self.ctx.nearest("weight", day, weight_days)
            kg = None if weight is None else self._read(weight, "weight")[0]
            if kg and mg / kg >= threshold:  # type: ignore[operator]
                sure += 1
            elif kg is None or None in known:
                unsure += 1
        text = (f"{sure} day(s) at prednisone-equivalent ≥ {threshold:g} mg/kg/day"
                + (f", {unsure} more day(s) with an unreadable dose or no weight within {weight_days} days" if unsure else "")
                + f"; needs {node.days}")
        if sure >= node.days:
            return Res(Truth.TRUE, text)
        if sure + unsure < node.days:
            return Res(Truth.FALSE, text)
        return Res(Truth.UNKNOWN, text, needs=[Need("glucocorticoid doses in mg and body weights", "over the treatment history")])
