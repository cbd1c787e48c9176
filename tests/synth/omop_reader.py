"""A minimal OMOP -> PatientRecord reader for the tests, written from docs/omop-mapping.md only.

It is not the project's OMOP backend: it exists so the tests can screen the same person
from both formats with the single-patient engine and compare the verdicts. Codes are
resolved through the written ``concept`` table (vocabulary_id + concept_code), as the
mapping says; refs reuse the FHIR writer's resource ids so reasons can be compared too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq

from trialdesk.patient import model

SYSTEMS = {"LOINC": model.LOINC, "SNOMED": model.SNOMED, "ICD10": model.ICD10, "ICD10CM": model.ICD10CM,
           "RxNorm": model.RXNORM, "CVX": model.CVX, "NCIt": model.NCIT}
GENDER = {8507: "male", 8532: "female"}


def _rows(path: Path, person_ids: set[int] | None) -> list[dict]:
    table = pq.read_table(path)
    rows = table.to_pylist()
    return rows if person_ids is None else [r for r in rows if r["person_id"] in person_ids]


def _day(value) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def read_omop(folder: Path, person_ids: set[int] | None = None) -> dict[str, model.PatientRecord]:
    """person_source_value -> PatientRecord, for the given person ids (all if None)."""
    concepts = {r["concept_id"]: r for r in pq.read_table(folder / "concept.parquet").to_pylist()}

    def coding(cid: int | None) -> model.Coding | None:
        if not cid:
            return None
        c = concepts[cid]
        if c["vocabulary_id"] == "trialdesk":
            system, code = c["concept_code"].split("#", 1)
            return model.Coding(f"urn:trialdesk:{system}", code, c["concept_name"])
        return model.Coding(SYSTEMS[c["vocabulary_id"]], c["concept_code"], c["concept_name"])

    def codings(*cids) -> tuple[model.Coding, ...]:
        return tuple(dict.fromkeys(c for c in map(coding, cids) if c is not None))

    out: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for m in _rows(folder / "measurement.parquet", person_ids):
        out[m["person_id"]]["observations"].append(model.Observation(
            ref=f"Observation/m{m['measurement_id']}",
            codes=codings(m["measurement_concept_id"], m["measurement_source_concept_id"]), status="final",
            date=m["measurement_date"], value=None if m["value_as_number"] is None else float(m["value_as_number"]),
            unit=m["unit_source_value"], value_codes=codings(m["value_as_concept_id"]),
            ref_high=None if m["range_high"] is None else float(m["range_high"])))
    anaphylaxis: set[tuple[int, date]] = set()
    for c in _rows(folder / "condition_occurrence.parquet", person_ids):
        codes = codings(c["condition_concept_id"], c["condition_source_concept_id"])
        if any(x.system == model.SNOMED and x.code == "39579001" for x in codes):
            anaphylaxis.add((c["person_id"], c["condition_start_date"]))
        end = c["condition_end_date"]
        out[c["person_id"]]["conditions"].append(model.Condition(
            f"Condition/c{c['condition_occurrence_id']}", codes, end is None, c["condition_start_date"], end))
    for p in _rows(folder / "procedure_occurrence.parquet", person_ids):
        out[p["person_id"]]["procedures"].append(model.Procedure(
            f"Procedure/p{p['procedure_occurrence_id']}", codings(p["procedure_concept_id"]), p["procedure_date"],
            p["procedure_end_date"]))
    for d in _rows(folder / "drug_exposure.parquet", person_ids):
        codes = codings(d["drug_concept_id"], d["drug_source_concept_id"])
        if concepts[d["drug_concept_id"]]["vocabulary_id"] == "CVX":
            out[d["person_id"]]["immunizations"].append(model.Immunization(
                f"Immunization/d{d['drug_exposure_id']}", codes, d["drug_exposure_start_date"]))
            continue
        dosed = d["dose_unit_source_value"] == "mg/day" and d["quantity"] is not None
        out[d["person_id"]]["medications"].append(model.MedicationExposure(
            f"MedicationStatement/d{d['drug_exposure_id']}", codes, d["drug_source_value"],
            d["drug_exposure_start_date"], d["drug_exposure_end_date"],
            float(d["quantity"]) if dosed else None, None if dosed else "no dosage given"))
    obs = _rows(folder / "observation.parquet", person_ids)
    components = defaultdict(list)
    for o in obs:
        if o["observation_event_id"] is not None:
            components[o["observation_event_id"]].append(o)
    for o in obs:
        if o["observation_event_id"] is not None:
            continue
        c = concepts[o["observation_concept_id"]]["concept_code"]
        kind = c.split("#", 1)[0]
        pid, when, ref = o["person_id"], o["observation_date"], f"o{o['observation_id']}"
        value = None if o["value_as_number"] is None else float(o["value_as_number"])
        if kind == "attestation":
            out[pid]["observations"].append(model.Observation(
                f"Observation/{ref}", codings(o["observation_concept_id"]), "final", when,
                value_bool=None if value is None else value == 1, performer=f"Practitioner/{o['provider_id']}"))
        elif kind == "assessment":
            comps = tuple(model.Component(codings(x["observation_concept_id"]), float(x["value_as_number"]) == 1)
                          for x in components[o["observation_id"]])
            out[pid]["observations"].append(model.Observation(
                f"Observation/{ref}", codings(o["observation_concept_id"]), "final", when, value=value,
                unit=o["unit_source_value"], components=comps))
        elif kind == "consent":
            out[pid]["consents"].append(model.Consent(
                f"Consent/{ref}", "active",
                (model.Coding("http://terminology.hl7.org/CodeSystem/consentscope", "research"),), when))
        elif kind == "study":
            end = _day(o["value_as_datetime"])
            out[pid]["studies"].append(model.StudyParticipation(
                f"ResearchSubject/{ref}", o["value_as_string"], when, end, "on-study" if end is None else "off-study"))
        elif kind == "allergy":
            manifest = (model.Coding(model.SNOMED, "39579001", "Anaphylaxis"),) if (pid, when) in anaphylaxis else ()
            out[pid]["allergies"].append(model.Allergy(
                f"AllergyIntolerance/{ref}", codings(o["value_as_concept_id"]), None, c.split("#", 1)[1],
                o["qualifier_source_value"], (o["value_as_string"],) if o["value_as_string"] else (), manifest, when))
    records = {}
    for p in _rows(folder / "person.parquet", person_ids):
        month, day = p["month_of_birth"], p["day_of_birth"]
        birth = date(p["year_of_birth"], month or 1, day or 1)
        precision = "day" if day else "month" if month else "year"
        demo = model.Demographics(p["person_source_value"], GENDER.get(p["gender_concept_id"], "unknown"), birth,
                                  precision)
        rec = out[p["person_id"]]
        records[p["person_source_value"]] = model.PatientRecord(demo, **{k: tuple(v) for k, v in rec.items()})
    return records
