"""The data-entry forms: the items the protocol needs, built and checked as FHIR R4 resources.

Each form builds its resource with :class:`~trialdesk.patient.fhir.builder.PatientBuilder`,
shaped as the data contract (``data.md``) says the site sends it, and checks it against the
protocol (codes from its measures and value sets, plausible ranges, units, no future date):

- performance status: ECOG (LOINC 89247-1), Karnofsky (89243-0) or Lansky (local/NCIt),
  ``valueInteger``; ECG impression (LOINC 8601-7, ``urn:trialdesk:ecg``);
- SLEDAI-2K: all 24 descriptors as components (present true, others false) and the total from
  :mod:`trialdesk.calculators.sledai_2k` as ``valueInteger``; 2019 EULAR/ACR: all items as
  components, optionally with an ANA titer (LOINC 5048-4, ``valueString`` "1:160");
- medications: a ``MedicationStatement`` (or ``MedicationRequest``) with the drug's code from
  the protocol's value sets, dose, unit, route (SNOMED) and schedule over a period;
- attestations (``urn:trialdesk:attestation``): by an investigator only, with the user as
  ``performer`` and the time of entry as ``issued``.

Each builder returns a :class:`Built`; :mod:`trialdesk.app.data_entry` adds it to the
candidate's data as a new data version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import msgspec

from trialdesk.app.errors import Invalid, PermissionDenied
from trialdesk.app.models import User
from trialdesk.calculators import eular_acr_2019, sledai_2k
from trialdesk.calculators.units import convert
from trialdesk.engine import ast
from trialdesk.errors import CalculatorError, UnitError
from trialdesk.patient.fhir.builder import TD, PatientBuilder
from trialdesk.patient.fhir.dose import Dosage, daily_dose
from trialdesk.protocol.model import Measure, Protocol
from trialdesk.protocol.references import drug_valuesets, rule_nodes

__all__ = ["ATTESTATION", "ATTESTATION_LABELS", "FORM_SOURCE", "ROUTES", "SCALES", "Built", "attestation",
           "attestation_codes", "check_lab", "choices", "drugs", "ecg", "eular", "medication", "performance", "sledai"]

FORM_SOURCE = "urn:trialdesk:form"
ATTESTATION = f"{TD}attestation"
#: Performance scales: protocol measure, allowed scores (CL-1: Karnofsky/Lansky >= 50 reads as ECOG <= 2).
SCALES: dict[str, tuple[str, range]] = {
    "ecog": ("ECOG (adults)", range(0, 6)),
    "karnofsky": ("Karnofsky (adults, age >= 16)", range(0, 101, 10)),
    "lansky": ("Lansky play-performance (children, age < 16)", range(0, 101, 10)),
}
#: Routes: SNOMED CT route of administration (FHIR R4 ValueSet route-codes) and the words that tell
#: the engine a drug acts locally (CL-14, ``engine.match.is_systemic``).
ROUTES: dict[str, tuple[str, str, str | None]] = {
    "oral": ("26643006", "Oral route", None),
    "intravenous": ("47625008", "Intravenous route", None),
    "subcutaneous": ("34206005", "Subcutaneous route", None),
    "intramuscular": ("78421000", "Intramuscular route", None),
    "transdermal": ("45890007", "Transdermal route", None),
    "topical": ("6064005", "Topical route", "topical"),
    "ophthalmic": ("54485002", "Ophthalmic route", "ophthalmic"),
    "otic": ("10547007", "Otic route", "otic"),
    "nasal": ("46713006", "Nasal route", "nasal spray"),
    "vaginal": ("16857009", "Per vagina", "vaginal"),
}
DOSE_UNITS = ("mg", "g", "ug")
PERIOD_UNITS = {"h": "hour", "d": "day", "wk": "week", "mo": "month"}
#: The statements of data.md's attestation codes, as the investigator confirms them.
ATTESTATION_LABELS = {
    "consent-signed": "Informed consent signed by the patient or legal guardian",
    "predicted-survival-12w": "Predicted survival is at least 12 weeks",
    "contraception-agreed": "Agrees to effective contraception for one year after infusion",
    "childbearing-potential": "Of childbearing potential",
    "intolerant-standard-therapy": ("Intolerant of standard therapy (glucocorticoids, hydroxychloroquine or an "
                                    "SLE agent)"),
    "other-trial-3m": "In another clinical study within 3 months before enrollment",
    "no-major-condition": "No other major medical condition preventing administration",
    "labs-not-significant": "No clinically significant abnormal lab results",
    "investigator-no-concern": "No situation that may increase the risk or interfere with the trial",
}
DRUG_SYSTEMS = ("http://www.nlm.nih.gov/research/umls/rxnorm", "urn:trialdesk:drug", "http://www.whocc.no/atc")


@dataclass(frozen=True)
class Built:
    """What one form produced: its name, the resources to add (or the one replacing a record)."""

    form: str
    resources: list[dict]


# ---------------------------------------------------------------- checks

def _not_future(when: date, today: date, what: str) -> None:
    if when > today:
        raise Invalid(f"{what}: {when.isoformat()} is in the future (today is {today.isoformat()})")


def _measure(protocol: Protocol, measure: str) -> Measure:
    if measure not in protocol.measures:
        raise Invalid(f"protocol {protocol.id} {protocol.version} has no measure {measure!r} to enter")
    return protocol.measures[measure]


def _first_code(protocol: Protocol, measure: str) -> tuple[str, str]:
    """(system, code) of the measure's value set: the code the form writes."""
    vs = protocol.valuesets[_measure(protocol, measure).valueset]
    return vs.codes[0].system, vs.codes[0].code


def check_lab(protocol: Protocol, measure: str, value: float, unit: str) -> None:
    """A numeric result must be in a unit convertible to the measure's and plausible (LVEF 140 % is not).

    Raises:
        Invalid: unknown unit, or a value outside the protocol's plausible range.
    """
    m = protocol.measures[measure]
    if not math.isfinite(value):
        raise Invalid(f"{m.label}: {value} is not a finite number")
    converted = value
    if m.unit is not None:
        try:
            converted = convert(value, unit, m.unit, m.analyte)
        except UnitError as exc:
            raise Invalid(f"{m.label}: unit {unit!r} cannot be read as {m.unit} ({exc})") from None
    if m.plausible is not None and not m.plausible[0] <= converted <= m.plausible[1]:
        low, high = m.plausible
        raise Invalid(f"{m.label}: {value:g} {unit} is impossible (plausible {low:g} to {high:g} {m.unit or ''})"
                      .rstrip())


# ---------------------------------------------------------------- builders

def _builder(when: date) -> PatientBuilder:
    """A scratch builder; the resource gets its subject, id and source when it is added."""
    return PatientBuilder("-", None, None, when)


def _observation(protocol: Protocol, measure: str, when: date, **value: Any) -> dict:
    """An Observation coded with the measure's first code."""
    system, code = _first_code(protocol, measure)
    return _labelled(_builder(when).obs(system, code, 0, **value), protocol, measure)


def _labelled(obs: dict, protocol: Protocol, measure: str) -> dict:
    """The code's display from the value set, so that the records list reads."""
    obs["code"]["coding"][0]["display"] = protocol.valuesets[protocol.measures[measure].valueset].codes[0].display
    return obs


def performance(protocol: Protocol, scale: str, score: int, when: date, today: date) -> Built:
    """ECOG 0-5, Karnofsky or Lansky 0-100 in steps of 10, as ``valueInteger``."""
    if scale not in SCALES:
        raise Invalid(f"unknown performance scale {scale!r}: one of {', '.join(SCALES)}")
    label, allowed = SCALES[scale]
    if score not in allowed:
        raise Invalid(f"{label}: score {score} is impossible (allowed {allowed.start} to {allowed[-1]}"
                      f"{f' in steps of {allowed.step}' if allowed.step > 1 else ''})")
    _not_future(when, today, "assessment date")
    return Built("performance-status", [_observation(protocol, scale, when, valueInteger=score)])


def ecg(protocol: Protocol, impression: str, when: date, today: date, finding: str = "") -> Built:
    """The ECG impression from ``urn:trialdesk:ecg``; ``finding`` is kept as the concept's text."""
    allowed = _measure(protocol, "ecg").codes
    if impression not in allowed:
        raise Invalid(f"unknown ECG impression {impression!r}: one of {', '.join(allowed)}")
    _not_future(when, today, "ECG date")
    concept: dict[str, Any] = {"coding": [{"system": f"{TD}ecg", "code": impression}]}
    if finding.strip():
        concept["text"] = finding.strip()
    return Built("ecg", [_observation(protocol, "ecg", when, valueCodeableConcept=concept)])


def sledai(protocol: Protocol, present: list[str], when: date, today: date) -> Built:
    """Every descriptor assessed (present true, the rest false); the total by the calculator."""
    try:
        result = sledai_2k.score(present)
    except CalculatorError as exc:
        raise Invalid(str(exc)) from None
    _not_future(when, today, "visit date")
    counted = set(result.inputs["descriptors"])
    absent = tuple(d.code for d in sledai_2k.DESCRIPTORS if d.code not in counted)
    _, code = _first_code(protocol, "sledai-2k")
    obs = _labelled(_builder(when).assessment(code, [d.code for d in sledai_2k.DESCRIPTORS if d.code in counted], 0,
                                              absent=absent), protocol, "sledai-2k")
    obs["valueInteger"] = int(result.value)
    return Built("sledai-2k", [obs])


def eular(protocol: Protocol, present: list[str], when: date, today: date, ana_titer: int | None = None,
          ana_date: date | None = None) -> Built:
    """Every 2019 EULAR/ACR item assessed, and an ANA titer (1:``ana_titer``; 0 = negative) if given."""
    known = [i.code for i in eular_acr_2019.ITEMS]
    unknown = sorted(set(present) - set(known))
    if unknown:
        raise Invalid(f"unknown 2019 EULAR/ACR item(s) {unknown}; known: {', '.join(known)}")
    _not_future(when, today, "assessment date")
    absent = tuple(i for i in known if i not in present)
    _, code = _first_code(protocol, "eular-acr-2019")
    out = [_labelled(_builder(when).assessment(code, [i for i in known if i in present], 0, absent=absent),
                     protocol, "eular-acr-2019")]
    if ana_titer is not None:
        if ana_titer < 0 or ana_titer > 1_000_000:
            raise Invalid(f"ANA titer 1:{ana_titer} is impossible")
        day = ana_date or when
        _not_future(day, today, "ANA date")
        value = {"valueString": f"1:{ana_titer}"} if ana_titer else {"valueCodeableConcept": {"coding": [
            {"system": "http://snomed.info/sct", "code": "260385009", "display": "Negative"}]}}
        out.append(_observation(protocol, "ana", day, **value))
    return Built("eular-acr-2019", out)


def drugs(protocol: Protocol) -> dict[str, dict[str, str]]:
    """The drugs a medication can be entered for: name -> system, code, value set.

    One entry per ingredient named in the value sets the rules read (RxNorm first, then
    the local code, then ATC), keyed by the code's display up to any parenthesis.
    """
    used: list[str] = list(dict.fromkeys(
        vs for names in protocol.drug_groups.values() for vs in drug_valuesets(protocol, names)))
    for classes in protocol.drug_classes.values():
        used.extend(vs for names in classes.values() for vs in drug_valuesets(protocol, names))
    for _, node in rule_nodes(protocol):
        if isinstance(node, ast.Has) and node.kind == "medication":
            used.extend(drug_valuesets(protocol, node.valuesets))
    out: dict[str, dict[str, str]] = {}
    for vs_id in dict.fromkeys(used):
        vs = protocol.valuesets.get(vs_id)
        for code in sorted((c for c in (vs.codes if vs else ()) if c.system in DRUG_SYSTEMS),
                           key=lambda c: DRUG_SYSTEMS.index(c.system)):
            name = (code.display or code.code).split(" (")[0].strip().lower()
            out.setdefault(name, {"system": code.system, "code": code.code, "valueset": vs_id})
    return dict(sorted(out.items()))


def medication(protocol: Protocol, drug: str, dose: float, unit: str, route: str, start: date, today: date,
               end: date | None = None, frequency: int = 1, period: float = 1, period_unit: str = "d",
               record: str = "statement") -> Built:
    """A course of ``drug``: ``dose`` ``unit`` ``frequency`` times per ``period`` ``period_unit``.

    Raises:
        Invalid: unknown drug, route or unit; a dose that is not a plausible daily amount; dates
            in the future or an end before the start.
    """
    known = drugs(protocol)
    if drug not in known:
        raise Invalid(f"unknown drug {drug!r}: one of {', '.join(known)}")
    if route not in ROUTES:
        raise Invalid(f"unknown route {route!r}: one of {', '.join(ROUTES)}")
    if unit not in DOSE_UNITS:
        raise Invalid(f"dose unit {unit!r} is not one of {', '.join(DOSE_UNITS)}")
    if period_unit not in PERIOD_UNITS:
        raise Invalid(f"period unit {period_unit!r} is not one of {', '.join(PERIOD_UNITS)}")
    if not 1 <= frequency <= 24 or not 0 < period <= 366:
        raise Invalid(f"{frequency} per {period:g} {period_unit} is not a schedule")
    if record not in ("statement", "request"):
        raise Invalid(f"record {record!r} is not 'statement' or 'request'")
    _not_future(start, today, "start date")
    if end is not None:
        _not_future(end, today, "end date (leave it empty for an ongoing course)")
        if end < start:
            raise Invalid(f"the end date {end.isoformat()} is before the start date {start.isoformat()}")
    code, display, local = ROUTES[route]
    dosage = PatientBuilder.dosage(dose, unit, frequency, period, period_unit, route=(code, display))
    mg_per_day, why = daily_dose(msgspec.convert([dosage], list[Dosage]), [drug])
    if mg_per_day is None:
        raise Invalid(f"dose {dose:g} {unit} {frequency} per {period:g} {period_unit}: {why}")
    d = known[drug]
    text = f"{drug}, {local}" if local else None
    b = _builder(start)
    args = (d["system"], d["code"], drug, start.isoformat(), end.isoformat() if end else None)
    res = b.drug(*args, dosage=dosage, text=text) if record == "statement" else \
        b.prescription(*args, dosage=dosage, text=text)
    return Built("medication", [res])


def attestation_codes(protocol: Protocol) -> dict[str, str]:
    """The attestation codes the protocol's rules read -> the statement shown to the investigator."""
    codes = dict.fromkeys(node.code for _, node in rule_nodes(protocol)
                          if isinstance(node, (ast.Attestation, ast.Attested)))
    return {code: ATTESTATION_LABELS.get(code, code) for code in codes}


def attestation(protocol: Protocol, code: str, value: bool, when: date, user: User, now: datetime) -> Built:
    """An investigator's yes/no statement: ``performer`` the user, ``issued`` the time of entry."""
    known = attestation_codes(protocol)
    if code not in known:
        raise Invalid(f"unknown attestation {code!r}: one of {', '.join(known)}")
    if user.role != "investigator":
        raise PermissionDenied("only an investigator can attest")
    _not_future(when, now.date(), "attestation date")
    performer = {"identifier": {"system": "urn:trialdesk:user", "value": user.username},
                 "display": f"{user.display_name or user.username} (investigator)"}
    obs = _builder(when).attest(code, value, 0, performer=performer)
    obs["issued"] = now.isoformat()
    return Built("attestation", [obs])


def choices(protocol: Protocol) -> dict[str, Any]:
    """What the page's forms offer, from the protocol and the calculators."""
    ecg = protocol.measures.get("ecg")
    return {"scales": {k: label for k, (label, _) in SCALES.items() if k in protocol.measures},
            "ecg": ecg.codes if ecg else (),
            "descriptors": sledai_2k.DESCRIPTORS, "items": eular_acr_2019.ITEMS, "drugs": list(drugs(protocol)),
            "routes": list(ROUTES), "units": DOSE_UNITS, "period_units": PERIOD_UNITS,
            "attestations": attestation_codes(protocol), "measures": frozenset(protocol.measures)}
