"""Read a follow-up file (YAML or JSON, format in docs/followup.md) into :class:`FollowUp`.

Strict like the protocol loader: an unknown key, a visit the schedule does not
have, an unknown lab test or unit, an impossible grade or a date that is not
YYYY-MM-DD is a :class:`FollowupError` naming where (``subjects[1].visits[3].labs.alt``)
and why. CRS and ICANS assessments are graded here by the ASTCT calculators, so
a grade is never typed in by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from trialdesk.calculators.crs_astct import crs_astct
from trialdesk.calculators.ctcae_v5 import read_count
from trialdesk.calculators.icans_astct import icans_astct
from trialdesk.calculators.sledai_2k import BY_CODE as SLEDAI_CODES
from trialdesk.calculators.units import convert
from trialdesk.engine.dates import completed_years
from trialdesk.errors import CalculatorError, FollowupError
from trialdesk.followup.records import (
    BILAG_DOMAINS, BILAG_GRADES, DOSE_KINDS, LAB_TESTS, MEDICATION_KINDS, VITALS, AdverseEvent,
    DiseaseAssessment, Dose, FollowUp, Graded, Lab, Medication, Subject, Vitals,
)
from trialdesk.protocol.model import Protocol
from trialdesk.strict import mapping

_FIXED_UNITS = {"[iu]/ml": "[IU]/mL", "iu/ml": "[IU]/mL"}


def read_followup(path: Path | str, protocol: Protocol) -> FollowUp:
    """Read and check the follow-up file at ``path`` against ``protocol``'s cohorts and schedule."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise FollowupError(str(path), f"cannot read: {exc}") from None
    return parse_followup(raw, protocol, path.parent)


def parse_followup(raw: Any, protocol: Protocol, base: Path | None = None) -> FollowUp:
    """The :class:`FollowUp` in an already-parsed YAML/JSON document.

    ``base`` is the folder that a subject's ``fhir`` bundle path is relative to.
    """
    if protocol.schedule is None:
        raise FollowupError("protocol", f"{protocol.id} has no schedule.yaml")
    f = _fields("file", raw, {"protocol", "subjects"}, {"protocol", "subjects"})
    if f["protocol"] != protocol.id:
        raise FollowupError("protocol", f"the file follows {f['protocol']!r}, not {protocol.id!r}")
    issues: list[str] = []
    subjects = tuple(_subject(f"subjects[{i}]", s, protocol, base, issues)
                     for i, s in enumerate(_list("subjects", f["subjects"])))
    seen: set[str] = set()
    for i, s in enumerate(subjects):
        if s.id in seen:
            raise FollowupError(f"subjects[{i}].id", f"duplicate subject id {s.id!r}")
        seen.add(s.id)
    return FollowUp(protocol.id, subjects, tuple(issues))


def _fields(where: str, raw: Any, allowed: set[str], required: set[str] = frozenset()) -> dict:
    return mapping(where, raw, allowed, required, FollowupError)


def _list(where: str, raw: Any) -> list:
    if not isinstance(raw, list):
        raise FollowupError(where, f"expected a list, got {raw!r}")
    return raw


def _date(where: str, raw: Any) -> date:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise FollowupError(where, f"expected a date YYYY-MM-DD, got {raw!r}") from None


def _number(where: str, raw: Any, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise FollowupError(where, f"expected a number, got {raw!r}")
    if not low <= raw <= high:
        raise FollowupError(where, f"{raw} is outside {low:g} to {high:g}")
    return float(raw)


def _bool(where: str, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise FollowupError(where, f"expected true or false, got {raw!r}")
    return raw


def _text(where: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise FollowupError(where, f"expected text, got {raw!r}")
    return raw.strip()


def _code(raw: Any) -> str:
    """A coded answer; YAML reads unquoted yes/no as booleans, so they are turned back."""
    return {True: "yes", False: "no"}.get(raw, raw) if isinstance(raw, bool) else str(raw)


def _subject(where: str, raw: Any, protocol: Protocol, base: Path | None, issues: list[str]) -> Subject:
    f = _fields(where, raw, {"id", "cohort", "sex", "birth_date", "infusion", "visits", "doses", "medications",
                             "medications_complete_through", "adverse_events", "last_contact", "fhir"},
                {"id", "cohort", "sex", "birth_date", "infusion", "visits"})
    sid = _text(f"{where}.id", f["id"])
    if f["cohort"] not in protocol.cohorts:
        raise FollowupError(f"{where}.cohort", f"{f['cohort']!r} is not a cohort of {protocol.id}: "
                                               f"use {' or '.join(protocol.cohorts)}")
    if f["sex"] not in ("male", "female"):
        raise FollowupError(f"{where}.sex", f"expected male or female, got {f['sex']!r}")
    birth = _date(f"{where}.birth_date", f["birth_date"])
    infusion = _date(f"{where}.infusion", f["infusion"])
    if birth >= infusion:
        raise FollowupError(f"{where}.birth_date", "is not before the infusion")
    parts: dict[str, list] = {"vitals": [], "labs": [], "assessments": [], "graded": []}
    visits: dict[str, date] = {}
    unscheduled: list[date] = []
    for i, v in enumerate(_list(f"{where}.visits", f["visits"])):
        vid, day = _visit(f"{where}.visits[{i}]", v, protocol, birth, f["cohort"], parts)
        if vid == "unscheduled":
            unscheduled.append(day)
        elif vid in visits:
            raise FollowupError(f"{where}.visits[{i}].visit", f"visit {vid!r} is recorded twice")
        else:
            visits[vid] = day
    medications = [_medication(f"{where}.medications[{i}]", m)
                   for i, m in enumerate(_list(f"{where}.medications", f.get("medications", [])))]
    if "fhir" in f:
        _merge_fhir(f"{where}.fhir", f["fhir"], base, protocol, f, birth, parts, medications, issues)
    meds_through = f.get("medications_complete_through")
    return Subject(
        id=sid, cohort=f["cohort"], sex=f["sex"], birth_date=birth, infusion=infusion, visits=visits,
        unscheduled=tuple(unscheduled),
        doses=tuple(_dose(f"{where}.doses[{i}]", d) for i, d in enumerate(_list(f"{where}.doses", f.get("doses", [])))),
        vitals=tuple(parts["vitals"]), labs=tuple(parts["labs"]), assessments=tuple(parts["assessments"]),
        medications=tuple(medications),
        medications_complete_through=None if meds_through is None
        else _date(f"{where}.medications_complete_through", meds_through),
        adverse_events=tuple(_adverse_event(f"{where}.adverse_events[{i}]", a)
                             for i, a in enumerate(_list(f"{where}.adverse_events", f.get("adverse_events", [])))),
        graded=tuple(parts["graded"]),
        last_contact=None if f.get("last_contact") is None else _date(f"{where}.last_contact", f["last_contact"]),
    )


def _merge_fhir(where: str, raw: Any, base: Path | None, protocol: Protocol, f: dict, birth: date,
                parts: dict[str, list], medications: list[Medication], issues: list[str]) -> None:
    """Add the labs, vitals, SLEDAI-2K and medications of the subject's FHIR bundle (followup.fhir).

    The bundle's patient must have the file's sex and birth date. A lab the file
    also gives for the same day keeps the file's value; a SLEDAI-2K that differs
    from the file's on the same day is an error.
    """
    from trialdesk.errors import InputError
    from trialdesk.followup.fhir import from_record
    from trialdesk.patient.fhir.bundle import read_bundle

    if base is None:
        raise FollowupError(where, "a bundle path is relative to the follow-up file; read the file from disk")
    path = base / _text(where, raw)
    try:
        record = read_bundle(path.read_bytes(), str(path))
    except (OSError, InputError) as exc:
        raise FollowupError(where, f"cannot read the FHIR bundle: {exc}") from None
    patient = record.patient
    if patient.gender != f["sex"] or patient.birth_date != birth:
        raise FollowupError(where, f"the bundle's patient ({patient.gender}, born {patient.birth_date}) is not "
                                   f"this subject ({f['sex']}, born {birth})")
    data = from_record(record, protocol)
    label = f"{where} ({f['id']})"
    issues.extend(f"{label}: {text}" for text in data.issues)
    given = {(x.test, x.day) for x in parts["labs"]}
    for lab in data.labs:
        if (lab.test, lab.day) in given:
            issues.append(f"{label}: {lab.test} of {lab.day} is also in the file; the file's value is used")
        else:
            parts["labs"].append(lab)
    parts["vitals"].extend(data.vitals)
    by_day = {a.day: i for i, a in enumerate(parts["assessments"])}
    for a in data.assessments:
        if a.day not in by_day:
            if f["cohort"] == "SLE":
                parts["assessments"].append(a)
            continue
        mine = parts["assessments"][by_day[a.day]]
        if mine.sledai is None:
            parts["assessments"][by_day[a.day]] = replace(mine, sledai=a.sledai)
        elif set(mine.sledai) != set(a.sledai or ()):
            raise FollowupError(where, f"the SLEDAI-2K of {a.day} in the bundle ({', '.join(a.sledai or ()) or 'none'}) "
                                       f"differs from the file's ({', '.join(mine.sledai) or 'none'})")
    medications.extend(data.medications)


def _visit(where: str, raw: Any, protocol: Protocol, birth: date, cohort: str, parts: dict[str, list]) -> tuple[str, date]:
    f = _fields(where, raw, {"visit", "date", "vitals", "labs", "sledai", "pga", "bilag", "hemolytic_anemia",
                             "gi_activity", "crs", "icans"}, {"visit", "date"})
    vid = f["visit"]
    if vid != "unscheduled":
        try:
            protocol.schedule.visit(vid)  # type: ignore[union-attr]
        except KeyError as exc:
            raise FollowupError(f"{where}.visit", f"{exc.args[0]}, or unscheduled") from None
    day = _date(f"{where}.date", f["date"])
    if "vitals" in f:
        values = _fields(f"{where}.vitals", f["vitals"], set(VITALS))
        parts["vitals"].append(Vitals(day, {k: _number(f"{where}.vitals.{k}", x, VITALS[k].low, VITALS[k].high)
                                            for k, x in values.items()}))
    for test, lab in _fields(f"{where}.labs", f.get("labs", {}), set(LAB_TESTS)).items():
        parts["labs"].append(_lab(f"{where}.labs.{test}", test, lab, day))
    sle_keys = {"sledai", "pga", "bilag", "hemolytic_anemia", "gi_activity"} & set(f)
    if sle_keys:
        if cohort != "SLE":
            raise FollowupError(f"{where}.{sorted(sle_keys)[0]}", "SLE disease activity is recorded for SLE subjects only")
        parts["assessments"].append(_assessment(where, f, day))
    age = completed_years(birth, day)
    if "crs" in f:
        c = _fields(f"{where}.crs", f["crs"], {"fever", "hypotension", "hypoxia"}, {"fever", "hypotension", "hypoxia"})
        parts["graded"].append(Graded("crs", day, _grade(f"{where}.crs", lambda: crs_astct(
            _code(c["fever"]), _code(c["hypotension"]), _code(c["hypoxia"])))))
    if "icans" in f:
        keys = {"consciousness", "seizure", "motor_weakness", "cerebral_edema"}
        c = _fields(f"{where}.icans", f["icans"], keys | {"ice", "capd"}, keys)
        parts["graded"].append(Graded("icans", day, _grade(f"{where}.icans", lambda: icans_astct(
            age, _code(c["consciousness"]), _code(c["seizure"]), _code(c["motor_weakness"]),
            _code(c["cerebral_edema"]), c.get("ice"), c.get("capd")))))
    return vid, day


def _grade(where: str, run):  # type: ignore[no-untyped-def]
    try:
        return run()
    except CalculatorError as exc:
        raise FollowupError(f"{where}.{exc.field}" if exc.field else where, str(exc)) from None


def _assessment(where: str, f: dict, day: date) -> DiseaseAssessment:
    sledai = None
    if "sledai" in f:
        sledai = tuple(_list(f"{where}.sledai", f["sledai"]))
        unknown = sorted(set(map(str, sledai)) - set(SLEDAI_CODES))
        if unknown:
            raise FollowupError(f"{where}.sledai", f"unknown SLEDAI-2K descriptor(s) {unknown}; "
                                                   f"known: {', '.join(SLEDAI_CODES)}")
    bilag = None
    if "bilag" in f:
        bilag = _fields(f"{where}.bilag", f["bilag"], set(BILAG_DOMAINS))
        for organ, grade in bilag.items():
            if grade not in BILAG_GRADES:
                raise FollowupError(f"{where}.bilag.{organ}", f"expected one of {', '.join(BILAG_GRADES)}, got {grade!r}")
    return DiseaseAssessment(
        day=day, sledai=sledai,
        pga=_number(f"{where}.pga", f["pga"], 0, 3) if "pga" in f else None,
        bilag=dict(bilag) if bilag is not None else None,
        hemolytic_anemia=_bool(f"{where}.hemolytic_anemia", f["hemolytic_anemia"]) if "hemolytic_anemia" in f else None,
        gi_activity=_bool(f"{where}.gi_activity", f["gi_activity"]) if "gi_activity" in f else None,
    )


def to_canonical(where: str, test: str, value: float, unit: str) -> float:
    """``value`` in ``unit`` expressed in the canonical unit of lab ``test``; FollowupError if it cannot be."""
    t = LAB_TESTS[test]
    try:
        if t.kind == "concentration":
            return convert(value, unit, t.unit, t.analyte)
        if t.kind in ("count", "per-ul"):
            count, _ = read_count(f"{value!r} {unit.replace('cells', '')}")
            return count * (1000 if t.kind == "per-ul" else 1)
        if _FIXED_UNITS.get(unit.replace(" ", "").lower()) == t.unit:
            return value
        raise FollowupError(where, f"{t.label} is recorded in {t.unit}, got {unit!r}")
    except CalculatorError as exc:
        raise FollowupError(where, f"{exc} (for {t.label}, canonical unit {t.unit})") from None


def _lab(where: str, test: str, raw: Any, visit_day: date) -> Lab:
    f = _fields(where, raw, {"value", "unit", "low", "high", "date"}, {"value", "unit"})
    unit = _text(f"{where}.unit", f["unit"])
    value = _number(f"{where}.value", f["value"], 0)
    day = _date(f"{where}.date", f["date"]) if "date" in f else visit_day
    canonical = to_canonical(f"{where}.unit", test, value, unit)
    limits = {k: to_canonical(f"{where}.{k}", test, _number(f"{where}.{k}", f[k], 0), unit)
              for k in ("low", "high") if k in f}
    return Lab(test, day, canonical, f"{value:g} {unit}", limits.get("low"), limits.get("high"))


def _dose(where: str, raw: Any) -> Dose:
    f = _fields(where, raw, {"kind", "agent", "dose", "unit", "date", "lot"}, {"kind", "agent", "dose", "unit", "date"})
    if f["kind"] not in DOSE_KINDS:
        raise FollowupError(f"{where}.kind", f"expected one of {', '.join(DOSE_KINDS)}, got {f['kind']!r}")
    return Dose(f["kind"], _text(f"{where}.agent", f["agent"]), _number(f"{where}.dose", f["dose"], 0),
                _text(f"{where}.unit", f["unit"]), _date(f"{where}.date", f["date"]),
                None if f.get("lot") is None else str(f["lot"]))


def _medication(where: str, raw: Any) -> Medication:
    from trialdesk.calculators.steroids import PREDNISONE_FACTORS

    f = _fields(where, raw, {"drug", "kind", "daily_dose_mg", "start", "end"}, {"drug", "kind", "start"})
    drug = _text(f"{where}.drug", f["drug"]).lower()
    if f["kind"] not in MEDICATION_KINDS:
        raise FollowupError(f"{where}.kind", f"expected one of {', '.join(MEDICATION_KINDS)}, got {f['kind']!r}")
    if f["kind"] == "glucocorticoid" and drug not in PREDNISONE_FACTORS:
        raise FollowupError(f"{where}.drug", f"unknown glucocorticoid {drug!r}; known: {', '.join(PREDNISONE_FACTORS)}")
    start = _date(f"{where}.start", f["start"])
    end = None if f.get("end") is None else _date(f"{where}.end", f["end"])
    if end is not None and end < start:
        raise FollowupError(f"{where}.end", "is before start")
    dose = f.get("daily_dose_mg")
    return Medication(drug, f["kind"], None if dose is None else _number(f"{where}.daily_dose_mg", dose, 0), start, end)


def _adverse_event(where: str, raw: Any) -> AdverseEvent:
    f = _fields(where, raw, {"term", "grade", "onset", "resolved", "serious", "related", "infection"},
                {"term", "grade", "onset", "serious", "related"})
    grade = f["grade"]
    if grade not in (1, 2, 3, 4, 5) or isinstance(grade, bool):
        raise FollowupError(f"{where}.grade", f"a CTCAE grade is 1 to 5, got {grade!r}")
    onset = _date(f"{where}.onset", f["onset"])
    resolved = None if f.get("resolved") is None else _date(f"{where}.resolved", f["resolved"])
    if resolved is not None and resolved < onset:
        raise FollowupError(f"{where}.resolved", "is before onset")
    return AdverseEvent(_text(f"{where}.term", f["term"]), grade, onset, resolved,
                        _bool(f"{where}.serious", f["serious"]), _bool(f"{where}.related", f["related"]),
                        _bool(f"{where}.infection", f.get("infection", False)))
