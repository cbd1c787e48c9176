"""A population as OMOP CDM v5.4 tables in Parquet, following docs/omop-mapping.md exactly.

One file per table (person, observation_period, condition_occurrence, drug_exposure,
procedure_occurrence, measurement, observation, concept), with the columns and types of
the shared Eunomia sample (INTEGER -> int32, DECIMAL(18,3) -> decimal128(18, 3), DATE ->
date32, TIMESTAMP -> timestamp[us]). ``observation`` has one more column than Eunomia,
``value_as_datetime``, which the mapping uses for the end of a study participation.

What each row says (and the FHIR writer says of the same row):

- measurement: ``value_as_number`` with ``unit_source_value`` = the UCUM code;
  qualitative results as the SNOMED (ECG: the ``ecg#...``) concept in
  ``value_as_concept_id``; ``range_high`` = referenceRange.high. Scores: the number, no unit.
- condition_occurrence: active -> ``condition_end_date`` NULL; resolved -> the abatement
  date. ICD-10 codes with a SNOMED equivalent: the SNOMED concept as standard concept,
  the ICD-10 concept as source concept; without one, standard concept 0.
- drug_exposure: drugs with ``quantity`` = mg/day and ``dose_unit_source_value``
  'mg/day' (both NULL when the FHIR statement has no dosage), end NULL = ongoing,
  ``drug_source_value`` = the FHIR ``medicationCodeableConcept.text``; vaccines as CVX
  concepts on their date (start = end).
- observation: attestations (1/0, investigator in ``provider_id``), assessments and their
  components (``observation_event_id``), allergies (``allergy#allergy|intolerance``, the
  substance in ``value_as_concept_id``, criticality in ``qualifier_source_value``, severity
  in ``value_as_string``; a reaction's manifestation is also a condition row, as in FHIR),
  consents and study participations.

Every file is written under a temporary name in ``out_dir`` and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from trialdesk.synth import _catalogue as cat
from trialdesk.synth._fhir import GENDERS
from trialdesk.synth._population import NONE, Population, to_day

I, S, D, T, N = pa.int32(), pa.string(), pa.date32(), pa.timestamp("us"), pa.decimal128(18, 3)

SCHEMAS: dict[str, pa.Schema] = {
    "person": pa.schema([
        ("person_id", I), ("gender_concept_id", I), ("year_of_birth", I), ("month_of_birth", I), ("day_of_birth", I),
        ("birth_datetime", T), ("race_concept_id", I), ("ethnicity_concept_id", I), ("location_id", I),
        ("provider_id", I), ("care_site_id", I), ("person_source_value", S), ("gender_source_value", S),
        ("gender_source_concept_id", I), ("race_source_value", S), ("race_source_concept_id", I),
        ("ethnicity_source_value", S), ("ethnicity_source_concept_id", I)]),
    "observation_period": pa.schema([
        ("observation_period_id", I), ("person_id", I), ("observation_period_start_date", D),
        ("observation_period_end_date", D), ("period_type_concept_id", I)]),
    "condition_occurrence": pa.schema([
        ("condition_occurrence_id", I), ("person_id", I), ("condition_concept_id", I), ("condition_start_date", D),
        ("condition_start_datetime", T), ("condition_end_date", D), ("condition_end_datetime", T),
        ("condition_type_concept_id", I), ("condition_status_concept_id", I), ("stop_reason", S), ("provider_id", I),
        ("visit_occurrence_id", I), ("visit_detail_id", I), ("condition_source_value", S),
        ("condition_source_concept_id", I), ("condition_status_source_value", S)]),
    "drug_exposure": pa.schema([
        ("drug_exposure_id", I), ("person_id", I), ("drug_concept_id", I), ("drug_exposure_start_date", D),
        ("drug_exposure_start_datetime", T), ("drug_exposure_end_date", D), ("drug_exposure_end_datetime", T),
        ("verbatim_end_date", D), ("drug_type_concept_id", I), ("stop_reason", S), ("refills", I), ("quantity", N),
        ("days_supply", I), ("sig", S), ("route_concept_id", I), ("lot_number", S), ("provider_id", I),
        ("visit_occurrence_id", I), ("visit_detail_id", I), ("drug_source_value", S), ("drug_source_concept_id", I),
        ("route_source_value", S), ("dose_unit_source_value", S)]),
    "procedure_occurrence": pa.schema([
        ("procedure_occurrence_id", I), ("person_id", I), ("procedure_concept_id", I), ("procedure_date", D),
        ("procedure_datetime", T), ("procedure_end_date", D), ("procedure_end_datetime", T),
        ("procedure_type_concept_id", I), ("modifier_concept_id", I), ("quantity", I), ("provider_id", I),
        ("visit_occurrence_id", I), ("visit_detail_id", I), ("procedure_source_value", S),
        ("procedure_source_concept_id", I), ("modifier_source_value", S)]),
    "measurement": pa.schema([
        ("measurement_id", I), ("person_id", I), ("measurement_concept_id", I), ("measurement_date", D),
        ("measurement_datetime", T), ("measurement_time", S), ("measurement_type_concept_id", I),
        ("operator_concept_id", I), ("value_as_number", N), ("value_as_concept_id", I), ("unit_concept_id", I),
        ("range_low", N), ("range_high", N), ("provider_id", I), ("visit_occurrence_id", I), ("visit_detail_id", I),
        ("measurement_source_value", S), ("measurement_source_concept_id", I), ("unit_source_value", S),
        ("unit_source_concept_id", I), ("value_source_value", S), ("measurement_event_id", I),
        ("meas_event_field_concept_id", I)]),
    "observation": pa.schema([
        ("observation_id", I), ("person_id", I), ("observation_concept_id", I), ("observation_date", D),
        ("observation_datetime", T), ("observation_type_concept_id", I), ("value_as_number", N),
        ("value_as_string", S), ("value_as_concept_id", I), ("qualifier_concept_id", I), ("unit_concept_id", I),
        ("provider_id", I), ("visit_occurrence_id", I), ("visit_detail_id", I), ("observation_source_value", S),
        ("observation_source_concept_id", I), ("unit_source_value", S), ("qualifier_source_value", S),
        ("value_source_value", S), ("observation_event_id", I), ("obs_event_field_concept_id", I),
        ("value_as_datetime", T)]),
    "concept": pa.schema([
        ("concept_id", I), ("concept_name", S), ("domain_id", S), ("vocabulary_id", S), ("concept_class_id", S),
        ("standard_concept", S), ("concept_code", S), ("valid_start_date", D), ("valid_end_date", D),
        ("invalid_reason", S)]),
}

_CID = np.array(cat.CONCEPT_IDS, dtype=np.int64)
_STD = np.array([cat.CONCEPTS[cat.INDEX[c.maps_to]].concept_id if c.maps_to else
                 (0 if c.vocabulary in ("ICD10", "ICD10CM") else c.concept_id) for c in cat.CONCEPTS], dtype=np.int64)
_CODE = pa.array([c.code for c in cat.CONCEPTS], S)
_LOCAL_CODE = pa.array([c.concept_code for c in cat.CONCEPTS], S)
_DISPLAY = pa.array([c.display for c in cat.CONCEPTS], S)
_TEXT_CN = pa.array([c.cn or c.display for c in cat.CONCEPTS], S)
_UNITS = pa.array(list(cat.UNITS), S)


def _int(values, mask=None) -> pa.Array:
    values = np.asarray(values)
    if values.size and (values.max(initial=0) > np.iinfo(np.int32).max):
        raise OverflowError("an id does not fit OMOP's INTEGER (int32)")
    return pa.array(values.astype(np.int32), I, mask=mask)


def _date(days, mask=None) -> pa.Array:
    days = np.asarray(days)
    if mask is None:
        mask = days == NONE
    return pa.array(np.where(mask, 0, days).astype(np.int32), I, mask=mask).view(D)


def _dec(values) -> pa.Array:
    v = np.asarray(values, dtype=float)
    return pa.array(v, pa.float64(), mask=np.isnan(v)).cast(N)


def _take(strings: pa.Array, idx, mask=None) -> pa.Array:
    idx = np.asarray(idx)
    return strings.take(pa.array(np.where(idx < 0, 0, idx).astype(np.int32), mask=(idx < 0) if mask is None else mask))


def _const(value, n: int, type_: pa.DataType) -> pa.Array:
    return pa.nulls(n, type_) if value is None else pa.array(np.full(n, value), type_)


def _table(name: str, n: int, cols: dict[str, pa.Array]) -> pa.Table:
    schema = SCHEMAS[name]
    return pa.Table.from_arrays([cols[f.name] if f.name in cols else pa.nulls(n, f.type) for f in schema],
                                schema=schema)


def omop_tables(pop: Population) -> dict[str, pa.Table]:
    """The OMOP tables (all but ``concept``) of one population or chunk."""
    t = pop.tables
    out = {"person": _person(pop), "observation_period": _period(pop)}
    c = t["conditions"]
    n = len(c["row_id"])
    out["condition_occurrence"] = _table("condition_occurrence", n, {
        "condition_occurrence_id": _int(c["row_id"]), "person_id": _int(c["person_id"]),
        "condition_concept_id": _int(_STD[c["code"]]), "condition_start_date": _date(c["onset"]),
        "condition_end_date": _date(c["abatement"]), "condition_type_concept_id": _const(cat.EHR, n, I),
        "condition_source_value": _take(_CODE, c["code"]), "condition_source_concept_id": _int(_CID[c["code"]]),
        "condition_status_source_value": pa.array(np.where(c["active"], "active", "resolved").astype(object), S)})
    out["drug_exposure"] = _by_id(pa.concat_tables([_drugs(t["drugs"]), _vaccines(t["immunizations"])]),
                                  "drug_exposure_id")
    p = t["procedures"]
    n = len(p["row_id"])
    out["procedure_occurrence"] = _table("procedure_occurrence", n, {
        "procedure_occurrence_id": _int(p["row_id"]), "person_id": _int(p["person_id"]),
        "procedure_concept_id": _int(_CID[p["code"]]), "procedure_date": _date(p["day"]),
        "procedure_end_date": _date(p["day"]), "procedure_type_concept_id": _const(cat.EHR, n, I),
        "procedure_source_value": _take(_CODE, p["code"]), "procedure_source_concept_id": _int(_CID[p["code"]])})
    out["measurement"] = _measurements(t["measurements"])
    out["observation"] = _observations(t)
    return out


def _person(pop: Population) -> pa.Table:
    p = pop.persons
    n = len(p["person_id"])
    d = p["birth"].astype("datetime64[D]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = (d.astype("datetime64[M]") - d.astype("datetime64[Y]").astype("datetime64[M]")).astype(np.int64) + 1
    day = (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    precision = p["birth_precision"]
    gender = np.select([p["gender"] == 0, p["gender"] == 1], [cat.FEMALE, cat.MALE], 0)
    micros = p["birth"].astype(np.int64) * 86_400_000_000
    return _table("person", n, {
        "person_id": _int(p["person_id"]), "gender_concept_id": _int(gender), "year_of_birth": _int(year),
        "month_of_birth": _int(month, precision >= 2), "day_of_birth": _int(day, precision >= 1),
        "birth_datetime": pa.array(micros, pa.int64(), mask=precision > 0).cast(T),
        "race_concept_id": _const(0, n, I), "ethnicity_concept_id": _const(0, n, I),
        "person_source_value": pa.array(pop.person_source_value(p["person_id"]), S),
        "gender_source_value": _take(pa.array(list(GENDERS), S), p["gender"]),
        "gender_source_concept_id": _const(0, n, I), "race_source_concept_id": _const(0, n, I),
        "ethnicity_source_concept_id": _const(0, n, I)})


def _period(pop: Population) -> pa.Table:
    """One observation period per person: from the first to the last record (at least to as_of)."""
    pids = pop.persons["person_id"]
    n = len(pids)
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, to_day(pop.as_of), np.int64)
    for table, cols in (("measurements", ("day",)), ("conditions", ("onset", "abatement")),
                        ("procedures", ("day",)), ("drugs", ("start", "end")), ("immunizations", ("day",)),
                        ("allergies", ("day",)), ("attestations", ("day",)), ("consents", ("day",)),
                        ("studies", ("start", "end")), ("assessments", ("day",))):
        t = pop.tables[table]
        k = np.searchsorted(pids, t["person_id"])
        for col in cols:
            v = t[col].astype(np.int64)
            ok = v != NONE
            np.minimum.at(first, k[ok], v[ok])
            np.maximum.at(last, k[ok], v[ok])
    first = np.where(first == np.iinfo(np.int64).max, last, first)
    return _table("observation_period", n, {
        "observation_period_id": _int(pids), "person_id": _int(pids), "observation_period_start_date": _date(first),
        "observation_period_end_date": _date(last), "period_type_concept_id": _const(cat.EHR, n, I)})


def _drugs(d: dict[str, np.ndarray]) -> pa.Table:
    n = len(d["row_id"])
    dosed = ~np.isnan(d["mg"])
    text = pa.array(np.where(d["cn"], np.asarray(_TEXT_CN.to_pylist(), dtype=object)[d["code"]],
                             np.asarray(_DISPLAY.to_pylist(), dtype=object)[d["code"]]), S)
    return _table("drug_exposure", n, {
        "drug_exposure_id": _int(d["row_id"]), "person_id": _int(d["person_id"]), "drug_concept_id": _int(_CID[d["code"]]),
        "drug_exposure_start_date": _date(d["start"]), "drug_exposure_end_date": _date(d["end"]),
        "verbatim_end_date": _date(d["end"]), "drug_type_concept_id": _const(cat.EHR, n, I), "quantity": _dec(d["mg"]),
        "drug_source_value": text, "drug_source_concept_id": _int(_CID[d["code"]]),
        "dose_unit_source_value": pa.array(np.where(dosed, "mg/day", None).astype(object), S)})


def _vaccines(v: dict[str, np.ndarray]) -> pa.Table:
    n = len(v["row_id"])
    return _table("drug_exposure", n, {
        "drug_exposure_id": _int(v["row_id"]), "person_id": _int(v["person_id"]), "drug_concept_id": _int(_CID[v["code"]]),
        "drug_exposure_start_date": _date(v["day"]), "drug_exposure_end_date": _date(v["day"]),
        "verbatim_end_date": _date(v["day"]), "drug_type_concept_id": _const(cat.EHR, n, I),
        "drug_source_value": _take(_DISPLAY, v["code"]), "drug_source_concept_id": _int(_CID[v["code"]])})


def _measurements(m: dict[str, np.ndarray]) -> pa.Table:
    n = len(m["row_id"])
    coded = m["vconcept"] >= 0
    return _table("measurement", n, {
        "measurement_id": _int(m["row_id"]), "person_id": _int(m["person_id"]),
        "measurement_concept_id": _int(_CID[m["code"]]), "measurement_date": _date(m["day"]),
        "measurement_type_concept_id": _const(cat.EHR, n, I), "value_as_number": _dec(m["value"]),
        "value_as_concept_id": _int(np.where(coded, _CID[np.maximum(m["vconcept"], 0)], 0), ~coded),
        "range_high": _dec(m["high"]), "measurement_source_value": _take(_CODE, m["code"]),
        "measurement_source_concept_id": _int(_CID[m["code"]]),
        "unit_source_value": _take(_UNITS, m["unit"], (m["unit"] < 0) | coded)})


def _observations(t: dict[str, dict[str, np.ndarray]]) -> pa.Table:
    parts = []
    a = t["attestations"]
    n = len(a["row_id"])
    parts.append(_obs(a["row_id"], a["person_id"], a["code"], a["day"], {
        "value_as_number": _dec(a["value"].astype(float)), "provider_id": _int(a["provider"].astype(np.int64) + 1)}))
    s = t["assessments"]
    parts.append(_obs(s["row_id"], s["person_id"], s["code"], s["day"], {
        "value_as_number": _dec(s["value"]), "unit_source_value": _take(_UNITS, s["unit"])}))
    c = t["components"]
    k = np.searchsorted(s["row_id"], c["assessment_id"])
    parts.append(_obs(c["row_id"], c["person_id"], c["code"], s["day"][k], {
        "value_as_number": _dec(c["value"].astype(float)), "observation_event_id": _int(c["assessment_id"])}))
    al = t["allergies"]
    n = len(al["row_id"])
    kind = np.where(al["type"] == 0, cat.INDEX["allergy"], cat.INDEX["intolerance"])
    parts.append(_obs(al["row_id"], al["person_id"], kind, al["day"], {
        "value_as_concept_id": _int(_CID[al["code"]]),
        "qualifier_source_value": _take(pa.array(list(cat.CRITICALITIES), S), al["criticality"]),
        "value_as_string": _take(pa.array(list(cat.SEVERITIES), S), al["severity"]),
        "observation_source_value": _take(_CODE, al["code"])}))
    co = t["consents"]
    n = len(co["row_id"])
    parts.append(_obs(co["row_id"], co["person_id"], np.full(n, cat.INDEX["consent"]), co["day"], {}))
    st = t["studies"]
    n = len(st["row_id"])
    end = st["end"].astype(np.int64)
    parts.append(_obs(st["row_id"], st["person_id"], np.full(n, cat.INDEX["study"]), st["start"], {
        "value_as_string": _take(pa.array(list(cat.STUDIES), S), st["study"]),
        "value_as_datetime": pa.array(np.where(end == NONE, 0, end) * 86_400_000_000, pa.int64(),
                                      mask=end == NONE).cast(T)}))
    return _by_id(pa.concat_tables(parts), "observation_id")


def _by_id(table: pa.Table, key: str) -> pa.Table:
    return table.take(pa.array(np.argsort(table[key].to_numpy(), kind="stable")))


def _obs(row_id, person_id, code, day, cols: dict[str, pa.Array]) -> pa.Table:
    n = len(row_id)
    code = np.asarray(code)
    base = {"observation_id": _int(row_id), "person_id": _int(person_id), "observation_concept_id": _int(_CID[code]),
            "observation_date": _date(day), "observation_type_concept_id": _const(cat.EHR, n, I),
            "observation_source_concept_id": _int(_CID[code]), "observation_source_value": _take(_LOCAL_CODE, code)}
    return _table("observation", n, {**base, **cols})


def concept_table() -> pa.Table:
    """Every concept the tables use: the catalogue and the fixed OMOP concepts (gender, EHR)."""
    classes = {"LOINC": "Lab Test", "SNOMED": "Clinical Finding", "ICD10": "ICD10 code", "ICD10CM": "ICD10CM code",
               "RxNorm": "Ingredient", "CVX": "CVX", "trialdesk": "trialdesk"}
    rows = [(c.concept_id, c.display, c.domain, c.vocabulary,
             "Procedure" if c.domain == "Procedure" else classes[c.vocabulary],
             None if c.vocabulary in ("ICD10", "ICD10CM") else "S", c.concept_code) for c in cat.CONCEPTS]
    rows += [(cid, name, domain, vocab, cls, std, code) for cid, name, domain, vocab, cls, std, code in cat.FIXED_CONCEPTS]
    cols = list(zip(*rows))
    n = len(rows)
    return _table("concept", n, {
        "concept_id": _int(np.array(cols[0])), "concept_name": pa.array(cols[1], S), "domain_id": pa.array(cols[2], S),
        "vocabulary_id": pa.array(cols[3], S), "concept_class_id": pa.array(cols[4], S),
        "standard_concept": pa.array(cols[5], S), "concept_code": pa.array(cols[6], S),
        "valid_start_date": _date(np.full(n, to_day(date(1970, 1, 1)))),
        "valid_end_date": _date(np.full(n, to_day(date(2099, 12, 31))))})


def write_tables(parts: Iterable[Population], out_dir: Path | str) -> dict[str, Path]:
    """Stream populations (chunks) into one Parquet file per OMOP table; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tag = f".tmp-{os.getpid()}"
    temps = {name: out / f".{name}.parquet{tag}" for name in SCHEMAS}
    writers = {name: pq.ParquetWriter(temps[name], SCHEMAS[name], compression="zstd") for name in SCHEMAS}
    try:
        for pop in parts:
            for name, table in omop_tables(pop).items():
                writers[name].write_table(table, row_group_size=1 << 20)
        writers["concept"].write_table(concept_table())
        for w in writers.values():
            w.close()
        final = {name: out / f"{name}.parquet" for name in SCHEMAS}
        for name in SCHEMAS:
            os.replace(temps[name], final[name])
        return final
    except BaseException:
        for w in writers.values():
            try:
                w.close()
            except Exception:  # noqa: BLE001 - already failing; leave no temp file behind
                pass
        for p in temps.values():
            p.unlink(missing_ok=True)
        raise
