"""Form entries and corrections as new data versions of a candidate's FHIR bundle.

A form's resources (:mod:`trialdesk.app.forms`) are added to the current bundle with a new
id, the Patient as subject and ``meta.source = urn:trialdesk:form``; or one of them takes the
place (and id) of a record it corrects. :func:`correct` removes a record, or replaces it with a
corrected resource. Either way the changed bundle becomes the next data version
(:func:`workspace.store_form_data`): nothing stored is changed in place, and a correction or
removal needs a reason. The audit record names the form, the record and the sha256 of its old
and new JSON, never their content (and never the Patient's id).

Records are named "Type/id", or "Type/#k" (entry k) when the id is missing or not unique.
"""

from __future__ import annotations

import copy
import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from trialdesk.app.audit import canonical, sha256_text
from trialdesk.app.errors import Conflict, Invalid, PermissionDenied
from trialdesk.app.forms import ATTESTATION, FORM_SOURCE, Built
from trialdesk.app.models import Candidate, Screening, User
from trialdesk.app.workspace import MAX_REASON, DataChange, Engine, claim, latest_data, store_form_data
from trialdesk.engine.screen import screen
from trialdesk.errors import InputError
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.model import Protocol

__all__ = ["REFUSED_ISSUES", "correct", "enter", "records"]

#: The engine's data issues that refuse a corrected resource (``patient/censor.py``, ``engine/interpret.py``).
REFUSED_ISSUES = frozenset({"future", "impossible", "unit"})


def _current(db: Session, c: Candidate) -> dict:
    """The current data version's bundle (a bare Patient wrapped in a collection Bundle)."""
    dv = latest_data(db, c)
    if dv is None:
        raise Conflict("import a bundle first: form entries are added to the candidate's data")
    bundle = json.loads(dv.content)
    if bundle.get("resourceType") == "Patient":
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bundle}]}
    bundle.setdefault("entry", [])
    return bundle


def _ref(resource: dict, k: int, ids: dict[str, int]) -> str:
    """"Type/id" when the id is unique in the bundle, else "Type/#k" (its entry index)."""
    plain = f"{resource.get('resourceType')}/{resource.get('id')}"
    return plain if resource.get("id") and ids.get(plain) == 1 else f"{resource.get('resourceType')}/#{k}"


def _refs(bundle: dict) -> list[tuple[str, dict]]:
    resources = [e.get("resource") if isinstance(e, dict) and isinstance(e.get("resource"), dict) else {}
                 for e in bundle["entry"]]
    ids: dict[str, int] = {}
    for r in resources:
        if r.get("id"):
            key = f"{r.get('resourceType')}/{r.get('id')}"
            ids[key] = ids.get(key, 0) + 1
    return [(_ref(r, k, ids), r) for k, r in enumerate(resources)]


def _locate(bundle: dict, record: str) -> int:
    for k, (ref, resource) in enumerate(_refs(bundle)):
        if ref == record and isinstance(resource.get("resourceType"), str):
            return k
    raise Conflict(f"{record} is not a record of the current data version (see the records list)")


def _patient_ref(bundle: dict) -> str:
    for _, r in _refs(bundle):
        if r.get("resourceType") == "Patient":
            return f"Patient/{r.get('id')}"
    raise Invalid("the stored bundle has no Patient")  # pragma: no cover - read_bundle checked it


def _dict(value: Any) -> dict:
    """``value`` if it is a JSON object, else an empty one (stored bundles may hold malformed resources)."""
    return value if isinstance(value, dict) else {}


def _codings(concept: Any) -> list[dict]:
    codings = _dict(concept).get("coding")
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _is_attestation(resource: dict) -> bool:
    return resource.get("resourceType") == "Observation" and any(
        c.get("system") == ATTESTATION for c in _codings(resource.get("code")))


def _digest(resource: dict | None) -> str | None:
    return None if resource is None else sha256_text(canonical(resource))


def _audited(record: str) -> str:
    """A record's name for the audit trail: the Patient's id may be an identifier, so it is left out."""
    return "Patient" if record.startswith("Patient/") else record


def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("a correction needs a reason")
    if len(reason) > MAX_REASON:
        raise Invalid(f"the reason is longer than {MAX_REASON} characters")
    return reason


def _store(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, bundle: dict, refs: list[str],
           change: DataChange, screened: bool = False) -> Screening:
    """Check that the new resources read cleanly, then store the bundle as the next data version.

    With ``screened`` (a resource nobody's form checked), the bundle is also screened as of
    today first, and the resource is refused if the engine would report it as dated after
    today, impossible, or in a unit it cannot read.
    """
    content = json.dumps(bundle, ensure_ascii=False).encode()
    try:
        record = read_bundle(content, c.number)
    except InputError as exc:
        raise Invalid(exc.message) from None
    for issue in record.issues:
        if issue.ref in refs:
            raise Invalid(f"{issue.ref} could not be read: {issue.message}")
    if screened:
        check = screen(engine.protocol, record, now.date(), cohort=c.cohort,
                       reference_intervals=engine.reference_intervals)
        for issue in check.issues:
            if issue.ref in refs and issue.kind in REFUSED_ISSUES:
                raise Invalid(f"{issue.ref}, read as of today ({now.date().isoformat()}): {issue.message}")
    return store_form_data(db, engine, user, now, c, content, change)


def enter(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, built: Built,
          replaces: str | None = None, reason: str | None = None, seen: int | None = None) -> Screening:
    """Add a form's resources to the current bundle as a new data version and screen again.

    With ``replaces`` (a record of the current bundle, "Type/id" or "Type/#k"), the form's one
    resource takes that record's place and id: a correction, which needs a ``reason``.

    Raises:
        Conflict: no data yet, ``seen`` is stale (:func:`workspace.claim`), or no such record.
        PermissionDenied: a non-investigator corrects an attestation.
        Invalid: no reason for a correction, or a record of another resource type.
    """
    if replaces is not None:
        reason = _reason(reason)
    claim(db, c, seen)
    bundle = _current(db, c)
    pid = _patient_ref(bundle)
    resources = copy.deepcopy(built.resources)
    for r in resources:
        r["id"] = f"form-{uuid.uuid4().hex[:12]}"
        r["meta"] = {"source": FORM_SOURCE}
        r["subject" if "subject" in r else "patient"] = {"reference": pid}
    if replaces is None:
        bundle["entry"].extend({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": r} for r in resources)
        refs = [f"{r['resourceType']}/{r['id']}" for r in resources]
        change = DataChange("enter", "+", {}, {"form": built.form, "resources": refs})
        return _store(db, engine, user, now, c, bundle, refs, change)
    if len(resources) != 1:
        raise Invalid(f"the {built.form} form adds {len(resources)} records: it cannot replace one")
    return _replace(db, engine, user, now, c, bundle, replaces, resources[0], reason or "", built.form)


def correct(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, record: str, reason: str,
            resource: dict | None = None, seen: int | None = None) -> Screening:
    """Remove a record of the current bundle (``resource`` None) or replace it with ``resource``.

    The result is a new data version; the old one stays stored. The replacement keeps the
    record's type and id and is marked ``meta.source = urn:trialdesk:form``.
    """
    reason = _reason(reason)
    claim(db, c, seen)
    bundle = _current(db, c)
    if resource is None:
        k = _locate(bundle, record)
        old = bundle["entry"][k].get("resource") or {}
        if old.get("resourceType") == "Patient":
            raise Invalid("the Patient cannot be removed (correct it instead)")
        if _is_attestation(old) and user.role != "investigator":
            raise PermissionDenied("only an investigator can remove an attestation")
        del bundle["entry"][k]
        change = DataChange("remove", "-", {"record": _audited(record), "sha256": _digest(old)}, {"record": None},
                            reason)
        return _store(db, engine, user, now, c, bundle, [], change)
    if not isinstance(resource, dict):
        raise Invalid("the replacement is not a FHIR resource (a JSON object)")
    replacement = copy.deepcopy(resource)
    meta = replacement.get("meta") if isinstance(replacement.get("meta"), dict) else {}
    replacement["meta"] = {**meta, "source": FORM_SOURCE}
    return _replace(db, engine, user, now, c, bundle, record, replacement, reason, "correction", screened=True)


def _replace(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, bundle: dict, record: str,
             new: dict, reason: str, form: str, screened: bool = False) -> Screening:
    k = _locate(bundle, record)
    old = bundle["entry"][k].get("resource") or {}
    if new.get("resourceType") != old.get("resourceType"):
        raise Invalid(f"{record} is a {old.get('resourceType')}: it cannot be replaced by a "
                      f"{new.get('resourceType')}")
    if form != "correction" and not (_codes(old) & _codes(new)):
        raise Invalid(f"{record} records something else ({', '.join(sorted(c for _, c in _codes(old))) or 'no code'}): "
                      f"a {form} entry can replace only a record of the same item; correct or remove it instead")
    if (_is_attestation(old) or _is_attestation(new)) and user.role != "investigator":
        raise PermissionDenied("only an investigator can enter or correct an attestation")
    if "id" in old:
        new["id"] = old["id"]
    else:
        new.pop("id", None)
    if new.get("resourceType") == "Observation" and old.get("resourceType") == "Observation":
        new["status"] = "corrected" if new.get("status") in (None, "final", "amended", "corrected") else new["status"]
    bundle["entry"][k] = {**bundle["entry"][k], "resource": new}
    ref = _refs(bundle)[k][0]
    change = DataChange("correct", "~", {"record": _audited(record), "sha256": _digest(old)},
                        {"record": _audited(ref), "sha256": _digest(new), "form": form}, reason)
    return _store(db, engine, user, now, c, bundle, [ref], change, screened)


def _codes(resource: dict) -> set[tuple[str, str]]:
    """The (system, code) pairs naming what a resource records."""
    out = set()
    for key in ("code", "medicationCodeableConcept", "vaccineCode"):
        concept = resource.get(key)
        for coding in (concept.get("coding") or []) if isinstance(concept, dict) else []:
            if isinstance(coding, dict):
                out.add((str(coding.get("system")), str(coding.get("code"))))
    return out


# ---------------------------------------------------------------- read model

def records(db: Session, c: Candidate, protocol: Protocol | None = None) -> dict[str, Any]:
    """The current data version's records: ref, type, what, date, source (form or import).

    "What" is the code's text or display, else the display of the same code in the protocol's
    value sets, else the code.
    """
    dv = latest_data(db, c)
    if dv is None:
        return {"version": None, "records": []}
    bundle = _current(db, c)  # the same version: read in this session's transaction
    names = {(code.system, code.code): code.display for vs in (protocol.valuesets.values() if protocol else ())
             for code in vs.codes if code.display}
    out = []
    for ref, r in _refs(bundle):
        if not isinstance(r.get("resourceType"), str):
            continue
        out.append({"record": ref, "type": r["resourceType"], "what": _what(r, names), "date": _when(r),
                    "source": "form" if _dict(r.get("meta")).get("source") == FORM_SOURCE else "import",
                    "attestation": _is_attestation(r)})
    return {"version": dv.version, "records": out}


def _what(r: dict, names: dict[tuple[str, str], str]) -> str:
    """The record's code in words (see :func:`records`)."""
    if r.get("resourceType") == "Patient":
        return "patient"
    concept = next((r[k] for k in ("code", "medicationCodeableConcept", "vaccineCode") if k in r), None)
    first = next(iter(_codings(concept)), {})
    known = names.get((str(first.get("system")), str(first.get("code"))))
    return str(_dict(concept).get("text") or first.get("display") or known or first.get("code") or "")


def _when(r: dict) -> str | None:
    for key in ("effectiveDateTime", "onsetDateTime", "performedDateTime", "occurrenceDateTime", "authoredOn",
                "dateTime", "recordedDate", "issued"):
        if isinstance(r.get(key), str):
            return r[key][:10]
    for key in ("effectivePeriod", "performedPeriod", "period"):
        start = _dict(r.get(key)).get("start")
        if isinstance(start, str):
            return start[:10]
    return None
