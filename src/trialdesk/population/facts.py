"""Per-person fact tables over OMOP, shaped for the compiler.

Every table has ``person_id``; rows dated after the screening date are left
out (and counted by :func:`future_counts`), as single-patient screening does
with future-dated records. Observations and measurements are read through one
union (``rows``) because the data contract puts LOINC results in
``measurement`` and local assessments and attestations in ``observation``.
"""

from __future__ import annotations

from datetime import date
from functools import cached_property

import ibis
from ibis import _

from trialdesk.engine.read import NEGATIVE_CODES, NEGATIVE_FLAGS, NEGATIVE_WORDS, POSITIVE_CODES, POSITIVE_FLAGS, POSITIVE_WORDS
from trialdesk.population import concepts
from trialdesk.population.source import Omop
from trialdesk.protocol.model import Measure, Protocol


def lookup(col: ibis.Value, pairs, else_: ibis.Value) -> ibis.Value:
    """``col`` mapped through (key, value) pairs; ``else_`` when none matches (or no pairs)."""
    pairs = list(pairs)
    return col.cases(*pairs, else_=else_) if pairs else else_


class Facts:
    """Lazily built fact tables for one source, protocol and screening date."""

    def __init__(self, protocol: Protocol, omop: Omop, as_of: date) -> None:
        self.protocol, self.omop, self.as_of = protocol, omop, as_of
        self.vs = concepts.concept_valuesets(protocol, omop)
        self.drug_vs = concepts.drug_valuesets(protocol, omop)
        self._rows: ibis.Table | None = None
        self._local: dict[str, int] | None = None
        self._qual: tuple[list[int], list[int]] | None = None

    # -- codes ---------------------------------------------------------------

    def local_concepts(self) -> dict[str, int]:
        """'<system>#<code>' -> concept_id for the custom trialdesk concepts."""
        if self._local is None:
            c = self.omop["concept"]
            rows = c.filter(c.vocabulary_id == "trialdesk").select("concept_code", "concept_id").to_pyarrow()
            self._local = dict(zip(rows["concept_code"].to_pylist(), rows["concept_id"].to_pylist()))
        return self._local

    def local(self, code: str) -> int:
        """A custom concept's id (-1 if the warehouse has none: it then matches nothing)."""
        return self.local_concepts().get(code, -1)

    def qualitative_concepts(self) -> tuple[list[int], list[int]]:
        """concept ids of SNOMED positive/detected and negative/not detected."""
        if self._qual is None:
            ids = concepts.concept_codes(self.omop, {"SNOMED": POSITIVE_CODES | NEGATIVE_CODES})
            self._qual = ([i for (_, code), i in ids.items() if code in POSITIVE_CODES],
                          [i for (_, code), i in ids.items() if code in NEGATIVE_CODES])
        return self._qual

    # -- results -------------------------------------------------------------

    def rows(self) -> ibis.Table:
        """Measurement and observation rows tagged with their value sets (one row per tag)."""
        if self._rows is None:
            m = self.omop["measurement"]
            m = m.filter(m.measurement_date <= self.as_of)
            o = self.omop["observation"]
            o = o.filter(o.observation_date <= self.as_of)
            null_i = ibis.null().cast("int64")
            base_m = m.select(person_id=m.person_id, d=m.measurement_date, num=m.value_as_number,
                              unit=m.unit_source_value, high=m.range_high, vconcept=m.value_as_concept_id,
                              vtext=m.value_source_value, cid=m.measurement_concept_id,
                              scid=m.measurement_source_concept_id, event=null_i, obs_id=null_i)
            base_o = o.select(person_id=o.person_id, d=o.observation_date, num=o.value_as_number,
                              unit=o.unit_source_value, high=ibis.null().cast("float64"),
                              vconcept=o.value_as_concept_id, vtext=o.value_source_value,
                              cid=o.observation_concept_id, scid=o.observation_source_concept_id,
                              event=o.observation_event_id, obs_id=o.observation_id)
            base = base_m.union(base_o)
            self._rows = self._stored(self._tag(base), "vs", "person_id")
        return self._rows

    def measure(self, measure: Measure) -> ibis.Table:
        """Rows of one measure with ``value``: the readable result (NULL when unreadable)
        as single-patient screening reads it (engine/read.py); numeric measures also get
        ``factor``, from the row's unit to the measure's (NULL for an unknown unit)."""
        r = self.rows().filter(_.vs == measure.valueset)
        if measure.result == "qualitative":
            return r.mutate(value=self.flag(r))
        if measure.result == "coded":
            codes = {self.local(f"ecg#{c}"): c for c in measure.codes}
            return r.mutate(value=lookup(r.vconcept, codes.items(), ibis.null().cast("string")))
        value, factor = r.num, ibis.literal(1.0)
        if measure.unit is not None:
            unit = r.unit if measure.unitless is None else r.unit.fill_null(measure.unitless)
            units = r.select(unit=unit).distinct().to_pyarrow()["unit"].to_pylist()
            factors = concepts.unit_factors(measure, units)
            factor = lookup(unit, factors.items(), ibis.null().cast("float64"))
            value = value * factor
        if measure.plausible is not None:
            low, high = measure.plausible
            value = ibis.ifelse(value.between(low, high), value, ibis.null().cast("float64"))
        return r.mutate(value=value, factor=factor)

    def flag(self, r: ibis.Table) -> ibis.Value:
        """Positive (True), negative (False) or unreadable (NULL), in engine/read.qualitative's order."""
        pos, neg = self.qualitative_concepts()
        word = r.vtext.strip().lower()
        upper = r.vtext.strip().upper()
        return ibis.cases(
            (r.vconcept.isin(pos or [-1]), True),
            (r.vconcept.isin(neg or [-1]), False),
            (upper.isin(sorted(POSITIVE_FLAGS)), True),
            (upper.isin(sorted(NEGATIVE_FLAGS)), False),
            (word.isin(sorted(POSITIVE_WORDS)), True),
            (word.isin(sorted(NEGATIVE_WORDS)), False),
            (r.num.notnull() & r.high.notnull(), r.num > r.high),
            else_=ibis.null().cast("boolean"),
        )

    def is_flag(self, r: ibis.Table) -> ibis.Value:
        """The row carries an interpretation code (engine/read.above_range falls back to it)."""
        return r.vtext.strip().upper().isin(sorted(POSITIVE_FLAGS | NEGATIVE_FLAGS))

    @cached_property
    def components(self) -> ibis.Table:
        """Assessment components: (event = the assessment's observation_id, code, present)."""
        o = self.omop["observation"]
        local = self.local_concepts()
        items = {cid: code for code, cid in local.items() if code.startswith(("sledai-2k#", "eular-acr-2019#"))}
        c = o.filter(o.observation_concept_id.isin(list(items) or [-1]) & o.observation_event_id.notnull())
        return c.select(event=c.observation_event_id,
                        code=lookup(c.observation_concept_id, items.items(), ibis.null().cast("string")),
                        present=c.value_as_number == 1).cache()

    # -- history -------------------------------------------------------------

    @cached_property
    def conditions(self) -> ibis.Table:
        c = self.omop["condition_occurrence"]
        c = c.filter(c.condition_start_date <= self.as_of)
        base = c.select(person_id=c.person_id, start=c.condition_start_date, end=c.condition_end_date,
                        cid=c.condition_concept_id, scid=c.condition_source_concept_id)
        return self._stored(self._tag(base), "vs")

    @cached_property
    def procedures(self) -> ibis.Table:
        p = self.omop["procedure_occurrence"]
        p = p.filter(p.procedure_date <= self.as_of)
        base = p.select(person_id=p.person_id, start=p.procedure_date,
                        end=ibis.coalesce(p.procedure_end_date, p.procedure_date),
                        cid=p.procedure_concept_id, scid=p.procedure_source_concept_id)
        return self._stored(self._tag(base), "vs")

    @staticmethod
    def _stored(t: ibis.Table, *order: str) -> ibis.Table:
        """A fact table computed once (cached), sorted by value set first so that the
        compiler's ``vs`` filters skip row groups (DuckDB) or cached batches (Spark)."""
        return t.order_by(list(order)).cache()

    def _tag(self, base: ibis.Table) -> ibis.Table:
        """Rows tagged with every value set their standard or source concept belongs to."""
        by_std = base.join(self.vs, base.cid == self.vs.concept_id).drop("concept_id")
        by_src = base.join(self.vs, base.scid == self.vs.concept_id).drop("concept_id")
        return by_std.union(by_src, distinct=True)

    @cached_property
    def drugs(self) -> ibis.Table:
        """Drug and vaccine exposures tagged with value sets: (row, start, end, dose_mg, vs, systemic)."""
        d = self.omop["drug_exposure"]
        d = d.filter(d.drug_exposure_start_date <= self.as_of)
        d = d.mutate(src_key=d.drug_source_concept_id.fill_null(-1), txt_key=d.drug_source_value.fill_null(""))
        v = self.drug_vs
        v = v.select(std_key=v.drug_concept_id, src_key2=v.drug_source_concept_id.fill_null(-1),
                     txt_key2=v.drug_source_value.fill_null(""), vs=v.vs, systemic=v.systemic)
        joined = d.join(v, [d.drug_concept_id == v.std_key, d.src_key == v.src_key2, d.txt_key == v.txt_key2])
        dose = ibis.ifelse(joined.dose_unit_source_value == "mg/day", joined.quantity, ibis.null().cast("float64"))
        out = joined.select(person_id=joined.person_id, row=joined.drug_exposure_id,
                            start=joined.drug_exposure_start_date, end=joined.drug_exposure_end_date,
                            dose=dose, vs=joined.vs, systemic=joined.systemic)
        return self._stored(out, "vs")

    def local_observations(self, code: str) -> ibis.Table:
        """Observation rows of one custom concept, dated on or before screening."""
        o = self.omop["observation"]
        return o.filter((o.observation_concept_id == self.local(code)) & (o.observation_date <= self.as_of))


def future_counts(omop: Omop, as_of: date) -> dict[str, int]:
    """Rows dated after the screening date, per table: ignored, and reported."""
    dates = {"measurement": "measurement_date", "observation": "observation_date",
             "condition_occurrence": "condition_start_date", "drug_exposure": "drug_exposure_start_date",
             "procedure_occurrence": "procedure_date"}
    out = {}
    for table, col in dates.items():
        t = omop[table]
        out[table] = int(t.filter(t[col] > as_of).count().execute())
    return out
