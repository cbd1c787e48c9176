"""Load a protocol folder strictly: unknown keys, bad values and dangling
references are :class:`ProtocolValidationError` with the file and path.

Folder layout: ``protocol.yaml`` (identity, parameters, measures, drug groups,
cohorts, definitions, clarifications), ``criteria.yaml`` (the criteria, in
protocol order), ``valuesets/*.yaml`` (code lists) and the registry text the
criteria quote. An optional ``schedule.yaml`` holds the follow-up visit
schedule (:func:`_schedule`).
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any as AnyT

import yaml

from trialdesk.errors import ProtocolValidationError
from trialdesk.patient import model as pm
from trialdesk.protocol.model import (
    Clarification, Code, Cohort, Criterion, Measure, Protocol, Schedule, ValueSet, Visit,
)
from trialdesk.protocol.rules import _fields, _names, parse_node, parse_steps

SYSTEMS = {
    "loinc": pm.LOINC, "snomed": pm.SNOMED, "icd-10": pm.ICD10, "icd-10-cm": pm.ICD10CM,
    "rxnorm": pm.RXNORM, "atc": pm.ATC, "cvx": pm.CVX, "ncit": pm.NCIT,
    "consentscope": "http://terminology.hl7.org/CodeSystem/consentscope",
    "trialdesk-attestation": "urn:trialdesk:attestation",
    "trialdesk-assessment": "urn:trialdesk:assessment",
    "trialdesk-sledai-2k": "urn:trialdesk:sledai-2k",
    "trialdesk-eular-acr-2019": "urn:trialdesk:eular-acr-2019",
    "trialdesk-ecg": "urn:trialdesk:ecg",
    "trialdesk-drug": "urn:trialdesk:drug",
}
PREFIX_SYSTEMS = {"icd-10", "icd-10-cm", "atc"}
DEFAULT = "carnk-aid"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def default_path(protocol_id: str = DEFAULT) -> Path:
    """The folder of a protocol shipped with trialdesk."""
    return Path(str(resources.files("trialdesk") / "protocols" / protocol_id))


def _read_yaml(path: Path) -> AnyT:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ProtocolValidationError(str(path), f"cannot read: {exc}") from None


def _code(where: str, raw: AnyT, key: str) -> Code:
    f = _fields(where, raw, {"system", key, "display", "source"}, {"system", key})
    system = f["system"]
    if system not in SYSTEMS:
        raise ProtocolValidationError(where, f"unknown code system {system!r}; known: {', '.join(SYSTEMS)}")
    if key == "prefix" and system not in PREFIX_SYSTEMS:
        raise ProtocolValidationError(where, f"prefixes are for {', '.join(sorted(PREFIX_SYSTEMS))}, not {system}")
    return Code(SYSTEMS[system], str(f[key]), f.get("display"), f.get("source"))


def _valuesets(folder: Path) -> dict[str, ValueSet]:
    out: dict[str, ValueSet] = {}
    for path in sorted(folder.glob("*.yaml")):
        items = _read_yaml(path) or []
        if not isinstance(items, list):
            raise ProtocolValidationError(path.name, "a value-set file is a list of value sets")
        for i, raw in enumerate(items):
            where = f"valuesets/{path.name}[{i}]"
            f = _fields(where, raw, {"id", "title", "codes", "prefixes", "names", "exclude_prefixes"},
                        {"id", "title"})
            vs_id = f["id"]
            if vs_id in out:
                raise ProtocolValidationError(where, f"duplicate value set id {vs_id!r}")
            out[vs_id] = ValueSet(
                vs_id, f["title"],
                tuple(_code(f"{where}.codes[{j}]", c, "code") for j, c in enumerate(f.get("codes") or [])),
                tuple(_code(f"{where}.prefixes[{j}]", c, "prefix") for j, c in enumerate(f.get("prefixes") or [])),
                tuple(str(n) for n in f.get("names") or []),
                tuple(_code(f"{where}.exclude_prefixes[{j}]", c, "prefix")
                      for j, c in enumerate(f.get("exclude_prefixes") or [])),
            )
    return out


def _measures(raw: AnyT) -> dict[str, Measure]:
    out = {}
    for mid, m in (raw or {}).items():
        where = f"protocol.yaml: measures.{mid}"
        f = _fields(where, m, {"label", "valueset", "unit", "analyte", "plausible", "freshness", "result",
                               "codes", "unitless"}, {"label", "valueset"})
        if f.get("result", "numeric") not in ("numeric", "coded", "qualitative"):
            raise ProtocolValidationError(where, "result is numeric, coded or qualitative")
        if (f.get("result") == "coded") != bool(f.get("codes")):
            raise ProtocolValidationError(where, "a coded measure lists its result codes, and only it")
        plausible = f.get("plausible")
        if plausible is not None and (not isinstance(plausible, list) or len(plausible) != 2):
            raise ProtocolValidationError(where, "plausible is [low, high]")
        out[mid] = Measure(mid, f["label"], f["valueset"], f.get("unit"), f.get("analyte"),
                           tuple(plausible) if plausible else None, f.get("freshness", "P30D"),
                           f.get("result", "numeric"), tuple(f.get("codes") or ()), f.get("unitless"))
    return out


def load(folder: Path | str | None = None) -> Protocol:
    """Load and validate the protocol in ``folder`` (default: the shipped carnk-aid)."""
    folder = Path(folder) if folder else default_path()
    head = _fields("protocol.yaml", _read_yaml(folder / "protocol.yaml"),
                   {"id", "version", "title", "registry", "parameters", "measures", "drug_groups",
                    "drug_classes", "cohorts", "definitions", "clarifications"},
                   {"id", "version", "title", "registry", "cohorts"})
    registry_text = (folder / head["registry"]).read_text(encoding="utf-8")
    cohorts = {}
    for cid, c in head["cohorts"].items():
        f = _fields(f"protocol.yaml: cohorts.{cid}", c, {"title", "entry"}, {"title", "entry"})
        cohorts[cid] = Cohort(cid, f["title"], parse_node(f["entry"], f"protocol.yaml: cohorts.{cid}.entry"))
    raw_criteria = _read_yaml(folder / "criteria.yaml")
    if not isinstance(raw_criteria, list):
        raise ProtocolValidationError("criteria.yaml", "expected a list of criteria")
    criteria = tuple(_criterion(raw, i) for i, raw in enumerate(raw_criteria))
    seen: set[str] = set()
    for c in criteria:
        if c.id in seen:
            raise ProtocolValidationError(f"criteria.yaml: {c.id}", "duplicate criterion id")
        seen.add(c.id)
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    protocol = Protocol(
        id=head["id"], version=str(head["version"]), title=head["title"], registry_text=registry_text,
        parameters={k: float(v) for k, v in (head.get("parameters") or {}).items()},
        measures=_measures(head.get("measures")),
        valuesets=_valuesets(folder / "valuesets"),
        drug_groups={k: _names(f"protocol.yaml: drug_groups.{k}", v)
                     for k, v in (head.get("drug_groups") or {}).items()},
        drug_classes={k: {c: _names(f"protocol.yaml: drug_classes.{k}.{c}", d) for c, d in v.items()}
                      for k, v in (head.get("drug_classes") or {}).items()},
        cohorts=cohorts,
        definitions={k: parse_node(v, f"protocol.yaml: definitions.{k}")
                     for k, v in (head.get("definitions") or {}).items()},
        clarifications={k: Clarification(k, " ".join(str(v).split()))
                        for k, v in (head.get("clarifications") or {}).items()},
        criteria=criteria,
        sha256=digest.hexdigest(),
        schedule=_schedule(folder / "schedule.yaml", set(cohorts)),
    )
    from trialdesk.protocol.references import check_references

    check_references(protocol)
    return protocol


def _schedule(path: Path, cohorts: set[str]) -> Schedule | None:
    """The visit schedule, or None if the protocol has no ``schedule.yaml``.

    Checked: every key, that a visit has exactly one of ``day``, ``days``,
    ``month``, whole non-negative window days, collect items that ``items``
    defines and cohorts the protocol defines, unique ids, and visits in
    chronological order of their target.
    """
    if not path.exists():
        return None
    head = _fields("schedule.yaml", _read_yaml(path), {"items", "parameters", "visits"},
                   {"items", "visits"})
    items = head["items"]
    if not isinstance(items, dict) or not items or not all(isinstance(v, str) for v in items.values()):
        raise ProtocolValidationError("schedule.yaml: items", "expected a mapping of item id to its description")
    params = head.get("parameters") or {}
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ProtocolValidationError(f"schedule.yaml: parameters.{key}", f"expected a number, got {value!r}")
    if not isinstance(head["visits"], list) or not head["visits"]:
        raise ProtocolValidationError("schedule.yaml: visits", "expected a non-empty list of visits")
    visits: list[Visit] = []
    for i, raw in enumerate(head["visits"]):
        where = f"schedule.yaml: visits[{i}]"
        f = _fields(where, raw, {"id", "label", "day", "days", "month", "window", "collect"},
                    {"id", "label", "window", "collect"})
        where = f"schedule.yaml: visits.{f['id']}"
        targets = [k for k in ("day", "days", "month") if k in f]
        if len(targets) != 1:
            raise ProtocolValidationError(where, "give exactly one of day, days, month")
        window = f["window"]
        if not (isinstance(window, list) and len(window) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in window)):
            raise ProtocolValidationError(f"{where}.window",
                                          f"expected [days before, days after], whole and >= 0; got {window!r}")
        collect = _fields(f"{where}.collect", f["collect"], {"all", *cohorts})
        for group, names in collect.items():
            unknown = sorted(set(_names(f"{where}.collect.{group}", names)) - set(items))
            if unknown:
                raise ProtocolValidationError(f"{where}.collect.{group}",
                                              f"unknown item(s) {unknown}; items: {', '.join(items)}")
        collect_t = {group: tuple(names) for group, names in collect.items()}
        if "days" in f:
            span = f["days"]
            if not (isinstance(span, list) and len(span) == 2 and all(isinstance(n, int) for n in span)
                    and span[0] <= span[1]):
                raise ProtocolValidationError(f"{where}.days", f"expected [first, last] whole days; got {span!r}")
            visits += [Visit(f"{f['id']}{d}", f"{f['label']} {d}", d, None, *window, collect_t)
                       for d in range(span[0], span[1] + 1)]
        else:
            target = f[targets[0]]
            if not isinstance(target, int) or isinstance(target, bool) or (targets[0] == "month" and target < 1):
                raise ProtocolValidationError(f"{where}.{targets[0]}", f"expected a whole number, got {target!r}")
            visits.append(Visit(f["id"], f["label"], f.get("day"), f.get("month"), *window, collect_t))
    seen: set[str] = set()
    for v in visits:
        if v.id in seen:
            raise ProtocolValidationError(f"schedule.yaml: visits.{v.id}", "duplicate visit id")
        seen.add(v.id)
    # months are ordered by their shortest length (28 days per month) so that a
    # day visit after a month visit is caught whatever the infusion date
    order = [(v.day if v.day is not None else 28 * v.month, v.id) for v in visits]  # type: ignore[operator]
    for (before, first), (after, second) in zip(order, order[1:]):
        if after <= before:
            raise ProtocolValidationError(f"schedule.yaml: visits.{second}",
                                          f"is not after {first}; list visits in time order")
    return Schedule(items=dict(items), parameters={k: float(v) for k, v in params.items()}, visits=tuple(visits))


def _criterion(raw: AnyT, i: int) -> Criterion:
    where = f"criteria.yaml[{i}]"
    f = _fields(where, raw, {"id", "title", "type", "cohorts", "source", "rule", "clarifications",
                             "applies_if", "collect"}, {"id", "title", "type", "cohorts", "source", "rule"})
    where = f"criteria.yaml: {f['id']}"
    if f["type"] not in ("inclusion", "exclusion"):
        raise ProtocolValidationError(where, "type is inclusion or exclusion")
    return Criterion(
        id=f["id"], title=f["title"], type=f["type"], cohorts=_names(f"{where}.cohorts", f["cohorts"]),
        source=" ".join(str(f["source"]).split()), rule=parse_steps(f["rule"], f"{where}.rule"),
        clarifications=tuple(f.get("clarifications") or ()),
        applies_if=parse_node(f["applies_if"], f"{where}.applies_if") if "applies_if" in f else None,
        collect=f.get("collect"),
    )
