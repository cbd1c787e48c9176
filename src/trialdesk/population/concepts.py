"""Value sets resolved through the warehouse's concept table.

Only the concepts the clinical tables use are read (a full vocabulary holds
millions); each is matched in Python by the same :class:`Matcher` as FHIR
codings, so an ICD-10 prefix or a drug name means the same in both paths.
"""

from __future__ import annotations

import ibis
import pyarrow as pa

from trialdesk.calculators.units import convert
from trialdesk.engine.context import matcher_for
from trialdesk.engine.match import is_systemic
from trialdesk.errors import UnitError
from trialdesk.patient.model import ATC, CVX, ICD10, ICD10CM, LOINC, NCIT, RXNORM, SNOMED, Coding
from trialdesk.population.source import Omop
from trialdesk.protocol.model import Measure, Protocol

VOCABULARIES = {"LOINC": LOINC, "SNOMED": SNOMED, "ICD10": ICD10, "ICD10CM": ICD10CM, "RxNorm": RXNORM,
                "ATC": ATC, "CVX": CVX, "NCIt": NCIT}
CUSTOM_BASE = 2_000_000_000
ANY_MEDICATION = "*medication"  # tag of every drug record that is not a vaccine


def coding(vocabulary: str | None, code: str | None, name: str | None) -> Coding | None:
    """The FHIR coding a concept stands for (``trialdesk`` concepts: ``system#code``)."""
    if vocabulary is None or code is None:
        return None
    if vocabulary == "trialdesk":
        system, _, local = code.partition("#")
        return Coding(f"urn:trialdesk:{system}", local, name)
    uri = VOCABULARIES.get(vocabulary)
    return Coding(uri, code, name) if uri else None


def _used_concepts(omop: Omop) -> ibis.Table:
    ids = []
    for table, cols in (("measurement", ("measurement_concept_id", "measurement_source_concept_id",
                                         "value_as_concept_id")),
                        ("observation", ("observation_concept_id", "observation_source_concept_id",
                                         "value_as_concept_id")),
                        ("condition_occurrence", ("condition_concept_id", "condition_source_concept_id")),
                        ("procedure_occurrence", ("procedure_concept_id", "procedure_source_concept_id"))):
        for col in cols:
            ids.append(omop[table].select(concept_id=omop[table][col]))
    used = ibis.union(*ids, distinct=True)
    c = omop["concept"]
    return c.semi_join(used, c.concept_id == used.concept_id)


def concept_valuesets(protocol: Protocol, omop: Omop) -> ibis.Table:
    """Table (concept_id, vs): every used concept with the value sets it belongs to (allergy
    substances match by name too, as in FHIR)."""
    matcher = matcher_for(protocol)
    rows = _used_concepts(omop).select("concept_id", "vocabulary_id", "concept_code", "concept_name").to_pyarrow()
    ids, tags = [], []
    for cid, vocab, code, name in zip(*(rows[c].to_pylist() for c in rows.column_names)):
        c = coding(vocab, code, name)
        if c is None:
            continue
        for vs in matcher.valuesets((c,), by_name=True):
            ids.append(cid)
            tags.append(vs)
    return omop.register("trialdesk_concept_vs",
                         pa.table({"concept_id": pa.array(ids, pa.int64()), "vs": pa.array(tags, pa.string())}))


def drug_valuesets(protocol: Protocol, omop: Omop) -> ibis.Table:
    """Table (drug_concept_id, drug_source_concept_id, drug_source_value, vs, systemic) for the
    distinct drug records: matched by codes of both concepts and by names in their names and text."""
    matcher = matcher_for(protocol)
    d, c = omop["drug_exposure"], omop["concept"]
    keys = d.select("drug_concept_id", "drug_source_concept_id", "drug_source_value").distinct()
    std = c.select(std_id=c.concept_id, std_vocab=c.vocabulary_id, std_code=c.concept_code, std_name=c.concept_name)
    src = c.select(src_id=c.concept_id, src_vocab=c.vocabulary_id, src_code=c.concept_code, src_name=c.concept_name)
    keys = keys.left_join(std, keys.drug_concept_id == std.std_id).left_join(
        src, keys.drug_source_concept_id == src.src_id)
    rows = keys.to_pyarrow()
    out: dict[str, list] = {k: [] for k in ("drug_concept_id", "drug_source_concept_id", "drug_source_value",
                                            "vs", "systemic")}
    for r in rows.to_pylist():
        codings = [x for x in (coding(r["std_vocab"], r["std_code"], r["std_name"]),
                               coding(r["src_vocab"], r["src_code"], r["src_name"])) if x is not None]
        text = r["drug_source_value"]
        systemic = is_systemic(codings, text)
        tags = set(matcher.valuesets(codings, text, by_name=True))
        if r["std_vocab"] != "CVX":
            tags.add(ANY_MEDICATION)
        for vs in sorted(tags):
            out["drug_concept_id"].append(r["drug_concept_id"])
            out["drug_source_concept_id"].append(r["drug_source_concept_id"])
            out["drug_source_value"].append(text)
            out["vs"].append(vs)
            out["systemic"].append(systemic)
    schema = pa.schema([("drug_concept_id", pa.int64()), ("drug_source_concept_id", pa.int64()),
                        ("drug_source_value", pa.string()), ("vs", pa.string()), ("systemic", pa.bool_())])
    return omop.register("trialdesk_drug_vs", pa.table(out, schema=schema))


def concept_codes(omop: Omop, wanted: dict[str, set[str]]) -> dict[tuple[str, str], int]:
    """concept ids of specific (vocabulary, code) pairs, e.g. SNOMED 'positive'."""
    c = omop["concept"]
    pairs = [(v, code) for v, codes in wanted.items() for code in codes]
    cond = ibis.or_(*[(c.vocabulary_id == v) & (c.concept_code == code) for v, code in pairs])
    rows = c.filter(cond).select("vocabulary_id", "concept_code", "concept_id").to_pyarrow().to_pylist()
    return {(r["vocabulary_id"], r["concept_code"]): r["concept_id"] for r in rows}


def unit_factors(measure: Measure, units: list[str | None]) -> dict[str, float]:
    """unit text -> factor to the measure's unit, for the units that convert (others are unreadable)."""
    out = {}
    for u in units:
        if u is None:
            continue
        try:
            out[u] = convert(1.0, u, measure.unit, measure.analyte)  # type: ignore[arg-type]
        except UnitError:
            pass
    return out
