"""Follow-up data from a FHIR R4 bundle: labs, vital signs, SLEDAI-2K and medications.

The bundle is read by :func:`trialdesk.patient.fhir.bundle.read_bundle` (the
screening reader, data.md); this module maps the patient record onto the
follow-up record:

* labs and vital signs by LOINC code (``LAB_CODES``, ``VITAL_CODES``; codes.md
  section 1), converted to the canonical units like the follow-up file; the
  lab's reference range comes from ``referenceRange``;
* SLEDAI-2K from ``urn:trialdesk:assessment#sledai-2k`` components (data.md);
* systemic glucocorticoids, immunosuppressants, biologics and antimalarials
  by the protocol's drug value sets and drug groups (CL-14: local forms are
  not systemic), with the daily dose the reader computed.

A mapped result that cannot be used (no numeric value, a unit that does not
convert, a drug without a start date) is skipped and reported in the returned
``issues``, so it stays missing downstream (``not evaluable``), never normal.
PGA, BILAG, CRS/ICANS and adverse events have no FHIR data contract yet: they
come from the follow-up file only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trialdesk.calculators.sledai_2k import BY_CODE as SLEDAI_CODES
from trialdesk.calculators.units import convert
from trialdesk.engine.match import Matcher, is_systemic
from trialdesk.errors import CalculatorError, FollowupError
from trialdesk.followup.records import LAB_TESTS, VITALS, DiseaseAssessment, Lab, Medication, Vitals
from trialdesk.followup.read import to_canonical
from trialdesk.patient.model import LOINC, Observation, PatientRecord
from trialdesk.protocol.model import Protocol

#: LOINC code -> lab test: each test's code in LAB_TESTS plus the alternatives of codes.md section 1
LAB_CODES: dict[str, str] = {
    **{t.loinc: key for key, t in LAB_TESTS.items()},
    "2160-0": "creatinine", "38483-4": "creatinine", "26499-4": "neutrophils", "26474-7": "lymphocytes",
    "26464-8": "wbc", "54910-5": "anti-dsdna",
}
#: LOINC code -> (vital sign, unit spellings accepted, canonical unit for units.convert or None)
VITAL_CODES: dict[str, tuple[str, frozenset[str], str | None]] = {
    "29463-7": ("weight", frozenset(), "kg"),
    "8302-2": ("height", frozenset(), "cm"),
    "8310-5": ("temperature", frozenset({"Cel", "C", "°C"}), None),
    "8480-6": ("systolic", frozenset({"mm[Hg]", "mmHg"}), None),
    "8462-4": ("diastolic", frozenset({"mm[Hg]", "mmHg"}), None),
    "8867-4": ("heart_rate", frozenset({"/min", "{beats}/min", "beats/min"}), None),
    "9279-1": ("respiratory_rate", frozenset({"/min", "{breaths}/min", "breaths/min"}), None),
    "59408-5": ("spo2", frozenset({"%"}), None),
    "2708-6": ("spo2", frozenset({"%"}), None),
}
SLEDAI_CODE = ("urn:trialdesk:assessment", "sledai-2k")
ANTIMALARIALS = frozenset({"hydroxychloroquine"})


@dataclass
class FhirData:
    """What a bundle contributes to one subject, and what could not be used."""

    labs: list[Lab] = field(default_factory=list)
    vitals: list[Vitals] = field(default_factory=list)
    assessments: list[DiseaseAssessment] = field(default_factory=list)
    medications: list[Medication] = field(default_factory=list)
    issues: list[str] = field(default_factory=list)


def from_record(record: PatientRecord, protocol: Protocol) -> FhirData:
    """Map one patient's record onto follow-up labs, vitals, SLEDAI-2K and medications."""
    out = FhirData()
    for o in record.observations:
        if o.date is None:
            continue
        loinc = {c.code for c in o.codes if c.system == LOINC}
        if loinc & LAB_CODES.keys():
            _lab(o, LAB_CODES[sorted(loinc & LAB_CODES.keys())[0]], out)
        elif loinc & VITAL_CODES.keys() or any(c.system == LOINC and c.code in VITAL_CODES
                                                 for comp in o.components for c in comp.codes):
            _vitals(o, out)
        elif any((c.system, c.code) == SLEDAI_CODE for c in o.codes):
            present = tuple(sorted({c.code for comp in o.components if comp.value_bool
                                    for c in comp.codes if c.system == "urn:trialdesk:sledai-2k"}))
            unknown = sorted(set(present) - SLEDAI_CODES.keys())
            if not o.components:
                out.issues.append(f"{o.ref}: SLEDAI-2K without descriptor components is not used")
            elif unknown:  # dropping a descriptor could understate activity: the whole score is left out
                out.issues.append(f"{o.ref}: unknown SLEDAI-2K descriptor(s) {unknown}; the assessment is not used")
            else:
                out.assessments.append(DiseaseAssessment(o.date, sledai=present))
    mapped = LAB_CODES.keys() | VITAL_CODES.keys()
    out.issues += [f"{i.ref}: {i.message}; not used" for i in record.issues
                   if any(c.system == LOINC and c.code in mapped for c in i.codes)]
    _medications(record, protocol, out)
    return out


def _lab(o: Observation, test: str, out: FhirData) -> None:
    if o.value is None or not o.unit:
        out.issues.append(f"{o.ref}: {LAB_TESTS[test].label} has no numeric value with a unit; not used")
        return
    try:
        value = to_canonical(o.ref, test, o.value, o.unit)
        ref_unit = o.ref_unit or o.unit
        low = None if o.ref_low is None else to_canonical(o.ref, test, o.ref_low, ref_unit)
        high = None if o.ref_high is None else to_canonical(o.ref, test, o.ref_high, ref_unit)
    except FollowupError as exc:
        out.issues.append(f"{exc}; not used")
        return
    out.labs.append(Lab(test, o.date, value, f"{o.value:g} {o.unit}", low, high))  # type: ignore[arg-type]


def _vitals(o: Observation, out: FhirData) -> None:
    parts = [(o.codes, o.value, o.unit)] + [(c.codes, c.value, c.unit) for c in o.components]
    values: dict[str, float] = {}
    for codes, value, unit in parts:
        code = next((c.code for c in codes if c.system == LOINC and c.code in VITAL_CODES), None)
        if code is None or value is None:
            continue
        name, spellings, canonical = VITAL_CODES[code]
        try:
            if canonical is not None:
                number = convert(value, unit or "", canonical)
            elif unit in spellings:
                number = value
            else:
                raise CalculatorError(f"unit {unit!r}; expected {', '.join(sorted(spellings))}")
            sign = VITALS[name]
            if not sign.low <= number <= sign.high:
                raise CalculatorError(f"{number:g} {sign.unit} is outside {sign.low:g} to {sign.high:g}")
            values[name] = number
        except CalculatorError as exc:
            out.issues.append(f"{o.ref}: {name}: {exc}; not used")
    if values:
        out.vitals.append(Vitals(o.date, values))  # type: ignore[arg-type]


def _kinds(protocol: Protocol) -> dict[str, str]:
    """Drug value-set id -> medication kind, from the protocol's drug groups."""
    groups = protocol.drug_groups
    kinds = {d: "immunosuppressant" for g in ("sle-agents", "srns-steroid-sparing") for d in groups.get(g, ())}
    kinds.update({d: "biologic" for d in groups.get("b-cell-targeted", ())})
    kinds.update({d: "glucocorticoid" for d in groups.get("glucocorticoids", ())})
    kinds.update({d: "antimalarial" for d in ANTIMALARIALS})
    return kinds


def _medications(record: PatientRecord, protocol: Protocol, out: FhirData) -> None:
    kinds = _kinds(protocol)
    matcher = Matcher(protocol)
    for m in record.medications:
        found = sorted(matcher.valuesets(m.codes, m.text, by_name=True) & kinds.keys())
        if not found or not is_systemic(m.codes, m.text):
            continue
        if len(found) > 1:
            out.issues.append(f"{m.ref}: matches several drugs ({', '.join(found)}); not used")
            continue
        if m.start is None:
            out.issues.append(f"{m.ref}: {found[0]} has no start date; not used")
            continue
        drug = found[0]
        dose = m.daily_dose_mg
        if kinds[drug] == "glucocorticoid" and dose is None:
            out.issues.append(f"{m.ref}: {drug} has no daily dose in mg ({m.dose_note or 'not given'}); "
                              "the steroid dose on its days is not evaluable")
        out.medications.append(Medication(drug, kinds[drug], dose, m.start, m.end))
