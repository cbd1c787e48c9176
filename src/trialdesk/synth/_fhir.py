"""A population as FHIR R4 Bundles (type ``collection``), one file per person.

Every resource follows the data contract (``data.md``) and says exactly what the OMOP
writer says of the same row (``docs/omop-mapping.md``): numeric results as
``valueQuantity`` with a UCUM code (scores as ``valueInteger``), qualitative results as
SNOMED ``valueCodeableConcept``, ``referenceRange[0].high`` for the ULN and viral-load
range, conditions ``active`` without, or ``resolved`` with, ``abatementDateTime``,
drugs as MedicationStatements with a mg dose once a day (or no dosage at all), dates
without times. Resource ids carry the OMOP row id: ``Observation/m<measurement_id>``,
``Condition/c<condition_occurrence_id>``, ``Procedure/p<procedure_occurrence_id>``,
``MedicationStatement/d<drug_exposure_id>``, ``Immunization/d<drug_exposure_id>`` and
``o<observation_id>`` for attestations, assessments, allergies, consents and studies.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import numpy as np

from trialdesk.synth import _catalogue as cat
from trialdesk.synth._population import NONE, Population

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ALLERGY_CLINICAL = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
ALLERGY_VERIFICATION = "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
GENDERS = ("female", "male", "unknown")
_TABLE_CODE = {"Patient": 0, "measurements": 1, "conditions": 2, "procedures": 3, "drugs": 4, "immunizations": 5,
               "allergies": 6, "attestations": 7, "consents": 8, "studies": 9, "assessments": 10}


def _coding(c: cat.Concept) -> dict:
    return {"system": c.system, "code": c.code, "display": c.display}


_CODINGS = [[_coding(c)] + ([_coding(cat.CONCEPTS[cat.INDEX[c.maps_to]])] if c.maps_to else [])
            for c in cat.CONCEPTS]
_QUANTITY_UNIT = [{"unit": u, "system": cat.UCUM, "code": u} for u in cat.UNITS]
_ENCODER = msgspec.json.Encoder()


def _iso(days: np.ndarray) -> list[str | None]:
    out = np.datetime_as_string(np.where(days == NONE, 0, days).astype("datetime64[D]")).tolist()
    return [None if d == NONE else s for s, d in zip(out, days.tolist())]


def _cols(table: dict[str, np.ndarray]) -> dict[str, list]:
    """Columns as Python lists; date columns as ISO strings (None for NONE)."""
    out = {}
    for name, v in table.items():
        out[name] = _iso(v) if name in ("day", "onset", "abatement", "start", "end", "birth") else v.tolist()
    return out


def _num(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v


def write_fhir(population: Population, out_dir: Path | str) -> list[Path]:
    """Write one Bundle per person to ``out_dir/<Patient.id>.json``; returns the paths.

    Each file is written to a temporary name and renamed, so a reader never sees half a file.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seed = population.seed & 0xFFFFFFFF
    persons = population.persons
    pids = persons["person_id"]
    tables = {name: population.tables[name] for name in _TABLE_CODE if name != "Patient"}
    bounds = {name: (np.searchsorted(t["person_id"], pids, "left"), np.searchsorted(t["person_id"], pids, "right"))
              for name, t in tables.items()}
    cols = {name: _cols(t) for name, t in tables.items()}
    comp = population.tables["components"]
    comp_lo = np.searchsorted(comp["assessment_id"], tables["assessments"]["row_id"], "left")
    comp_hi = np.searchsorted(comp["assessment_id"], tables["assessments"]["row_id"], "right")
    comp_cols = _cols(comp)
    births = _iso(persons["birth"].astype(np.int64))
    paths = []
    for k, person_id in enumerate(pids.tolist()):
        pid = population.person_source_value(person_id)
        subject = {"reference": f"Patient/{pid}"}
        born = births[k]
        precision = int(persons["birth_precision"][k])
        patient = {"resourceType": "Patient", "id": pid, "gender": GENDERS[int(persons["gender"][k])],
                   "birthDate": born if precision == 0 else born[:7] if precision == 1 else born[:4]}
        entries = [(0, person_id, patient)]
        for name, (lo, hi) in bounds.items():
            rows = range(int(lo[k]), int(hi[k]))
            if not rows:
                continue
            build = _BUILDERS[name]
            tc = _TABLE_CODE[name]
            c = cols[name]
            for r in rows:
                res = build(c, r, subject)
                if name == "assessments":
                    res["component"] = [
                        {"code": {"coding": _CODINGS[comp_cols["code"][j]][:1]}, "valueBoolean": comp_cols["value"][j]}
                        for j in range(int(comp_lo[r]), int(comp_hi[r]))]
                    if not res["component"]:
                        del res["component"]
                entries.append((tc, c["row_id"][r], res))
        bundle = {"resourceType": "Bundle", "id": f"bundle-{pid}", "type": "collection", "entry": [
            {"fullUrl": f"urn:uuid:{seed:08x}-{tc:04x}-4000-8000-{rid:012x}", "resource": res}
            for tc, rid, res in entries]}
        path = out / f"{pid}.json"
        tmp = out / f".{pid}.json.tmp"
        tmp.write_bytes(_ENCODER.encode(bundle))
        os.replace(tmp, path)
        paths.append(path)
    return paths


def _observation(c, r, subject) -> dict:
    res = {"resourceType": "Observation", "id": f"m{c['row_id'][r]}", "status": "final",
           "code": {"coding": _CODINGS[c["code"][r]]}, "subject": subject, "effectiveDateTime": c["day"][r]}
    unit, value, high = c["unit"][r], c["value"][r], c["high"][r]
    if c["vconcept"][r] >= 0:
        res["valueCodeableConcept"] = {"coding": _CODINGS[c["vconcept"][r]]}
    elif unit >= 0:
        res["valueQuantity"] = {"value": _num(value), **_QUANTITY_UNIT[unit]}
    elif value == value:
        res["valueInteger"] = int(value)
    if high == high:
        res["referenceRange"] = [{"high": {"value": _num(high), **(_QUANTITY_UNIT[unit] if unit >= 0 else {})}}]
    return res


def _condition(c, r, subject) -> dict:
    resolved = not c["active"][r]
    res = {"resourceType": "Condition", "id": f"c{c['row_id'][r]}",
           "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "resolved" if resolved else "active"}]},
           "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
           "code": {"coding": _CODINGS[c["code"][r]]}, "subject": subject, "onsetDateTime": c["onset"][r]}
    if resolved:
        res["abatementDateTime"] = c["abatement"][r]
    return res


def _procedure(c, r, subject) -> dict:
    return {"resourceType": "Procedure", "id": f"p{c['row_id'][r]}", "status": "completed",
            "code": {"coding": _CODINGS[c["code"][r]]}, "subject": subject, "performedDateTime": c["day"][r]}


def drug_text(code: int, cn: bool) -> str:
    """The drug's free text: its Chinese name for some rows, else its display (= OMOP drug_source_value)."""
    concept = cat.CONCEPTS[code]
    return concept.cn if cn and concept.cn else concept.display


def _statement(c, r, subject) -> dict:
    end = c["end"][r]
    res = {"resourceType": "MedicationStatement", "id": f"d{c['row_id'][r]}",
           "status": "active" if end is None else "completed",
           "medicationCodeableConcept": {"coding": _CODINGS[c["code"][r]], "text": drug_text(c["code"][r], c["cn"][r])},
           "subject": subject, "effectivePeriod": {"start": c["start"][r]} if end is None else
           {"start": c["start"][r], "end": end}}
    mg = c["mg"][r]
    if mg == mg:
        res["dosage"] = [{"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                          "doseAndRate": [{"doseQuantity": {"value": _num(mg), "unit": "mg", "system": cat.UCUM,
                                                            "code": "mg"}}]}]
    return res


def _immunization(c, r, subject) -> dict:
    return {"resourceType": "Immunization", "id": f"d{c['row_id'][r]}", "status": "completed",
            "vaccineCode": {"coding": _CODINGS[c["code"][r]]}, "patient": subject,
            "occurrenceDateTime": c["day"][r]}


def _allergy(c, r, subject) -> dict:
    res = {"resourceType": "AllergyIntolerance", "id": f"o{c['row_id'][r]}",
           "clinicalStatus": {"coding": [{"system": ALLERGY_CLINICAL, "code": "active"}]},
           "verificationStatus": {"coding": [{"system": ALLERGY_VERIFICATION, "code": "confirmed"}]},
           "type": cat.ALLERGY_TYPES[c["type"][r]], "code": {"coding": _CODINGS[c["code"][r]]},
           "patient": subject, "onsetDateTime": c["day"][r]}
    if c["criticality"][r] >= 0:
        res["criticality"] = cat.CRITICALITIES[c["criticality"][r]]
    if c["manifestation"][r] >= 0:
        reaction = {"manifestation": [{"coding": _CODINGS[c["manifestation"][r]]}]}
        if c["severity"][r] >= 0:
            reaction["severity"] = cat.SEVERITIES[c["severity"][r]]
        res["reaction"] = [reaction]
    return res


def _attestation(c, r, subject) -> dict:
    prov = c["provider"][r]
    return {"resourceType": "Observation", "id": f"o{c['row_id'][r]}", "status": "final",
            "code": {"coding": _CODINGS[c["code"][r]][:1]}, "subject": subject, "effectiveDateTime": c["day"][r],
            "valueBoolean": c["value"][r],
            "performer": [{"reference": f"Practitioner/{prov + 1}", "display": cat.INVESTIGATORS[prov]}]}


def _consent(c, r, subject) -> dict:
    return {"resourceType": "Consent", "id": f"o{c['row_id'][r]}", "status": "active",
            "scope": {"coding": [{"system": CONSENT_SCOPE, "code": "research"}]},
            "category": [{"coding": [{"system": cat.LOINC, "code": "59284-0"}]}],
            "patient": subject, "dateTime": c["day"][r]}


def _study(c, r, subject) -> dict:
    end = c["end"][r]
    return {"resourceType": "ResearchSubject", "id": f"o{c['row_id'][r]}",
            "status": "on-study" if end is None else "off-study",
            "study": {"identifier": {"value": cat.STUDIES[c["study"][r]]}}, "individual": subject,
            "period": {"start": c["start"][r]} if end is None else {"start": c["start"][r], "end": end}}


def _assessment(c, r, subject) -> dict:
    res = {"resourceType": "Observation", "id": f"o{c['row_id'][r]}", "status": "final",
           "code": {"coding": _CODINGS[c["code"][r]][:1]}, "subject": subject, "effectiveDateTime": c["day"][r]}
    value, unit = c["value"][r], c["unit"][r]
    if value == value:
        if unit >= 0:
            res["valueQuantity"] = {"value": _num(value), **_QUANTITY_UNIT[unit]}
        else:
            res["valueInteger"] = int(value)
    return res


_BUILDERS = {"measurements": _observation, "conditions": _condition, "procedures": _procedure,
             "drugs": _statement, "immunizations": _immunization, "allergies": _allergy,
             "attestations": _attestation, "consents": _consent, "studies": _study, "assessments": _assessment}
