"""Follow-up records of enrolled subjects: append-only versions of the subject's document.

The document is one subject's mapping of the follow-up file format (docs/followup.md). Its
header (``id``, ``cohort``, ``sex``, ``birth_date``, ``infusion``) comes from the candidate:
the subject id given at enrollment, the cohort of the signature that confirmed eligibility,
sex and birth date of the Patient in the latest screening bundle, and the candidate's
infusion date (milestones). Every change, an import or a form entry, builds the whole new
document, checks it with :func:`trialdesk.followup.read.parse_followup` (so the application
accepts exactly what the file format accepts) and stores it as the next version with an
audit record naming every changed value (``old`` -> ``new``) and the reason.

Rules beyond the file format:

* a change that alters or removes a recorded value needs a reason (adding does not);
* adverse-event seriousness and relatedness, the PGA and the BILAG grades are the
  investigator's (permission ``followup:assess``); a change to them by anyone else is refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.app import audit
from trialdesk.app.audit import canonical, sha256_text
from trialdesk.app.errors import Conflict, Invalid, PermissionDenied
from trialdesk.app.models import Candidate, FollowupVersion, Signature, User
from trialdesk.app.workspace import MAX_REASON, claim, latest_data
from trialdesk.errors import FollowupError, InputError
from trialdesk.followup.records import Subject
from trialdesk.followup.read import parse_followup
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.model import Protocol

__all__ = ["HEADER", "FollowupRefused", "change", "current", "document", "header", "import_document", "parse_upload",
           "subject", "versions"]

HEADER = ("id", "cohort", "sex", "birth_date", "infusion")
#: values only the investigator may set, change or remove (by the end of their flattened path)
ASSESSED = (".serious", ".related", ".pga")


class FollowupRefused(Invalid):
    """422: the document fails the follow-up file's checks; ``body`` names where and why."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(f"{where}: {why}")
        self.body = {"where": where, "why": why}


def header(db: Session, c: Candidate) -> dict[str, str]:
    """The document's header from the candidate, its eligibility signature and its screening bundle.

    Raises:
        Conflict: not enrolled, no eligibility signature, no infusion date, or the bundle's
            Patient has no sex (male/female) or birth date.
    """
    if c.disposition != "enrolled" or not c.subject_id:
        raise Conflict(f"{c.number} is not enrolled: the follow-up starts at enrollment")
    sig = db.execute(select(Signature).where(Signature.candidate_id == c.id, Signature.verdict == "eligible")
                     .order_by(Signature.id.desc()).limit(1)).scalar_one_or_none()
    data = latest_data(db, c)
    if sig is None or data is None:
        raise Conflict(f"{c.number} has no signed eligibility to take the cohort from")
    if c.infusion is None:
        raise Conflict(f"{c.number} has no infusion date (day 0): set it on the milestones page first")
    try:
        patient = read_bundle(data.content.encode("utf-8"), c.number).patient
    except InputError as exc:  # stored bundles were read when stored; a hand-edited row lands here
        raise Conflict(f"the stored bundle of {c.number} cannot be read: {exc.message}") from None
    if patient.gender not in ("male", "female"):
        raise Conflict(f"the Patient of {c.number} has gender {patient.gender!r}; the follow-up needs male or female")
    if patient.birth_date is None:
        raise Conflict(f"the Patient of {c.number} has no birth date")
    return {"id": c.subject_id, "cohort": sig.cohort, "sex": patient.gender,
            "birth_date": patient.birth_date.isoformat(), "infusion": c.infusion.isoformat()}


def current(db: Session, c: Candidate) -> FollowupVersion | None:
    return db.execute(select(FollowupVersion).where(FollowupVersion.candidate_id == c.id)
                      .order_by(FollowupVersion.version.desc()).limit(1)).scalar_one_or_none()


def versions(db: Session, c: Candidate) -> list[FollowupVersion]:
    return list(db.execute(select(FollowupVersion).where(FollowupVersion.candidate_id == c.id)
                           .order_by(FollowupVersion.version)).scalars())


def _stored(fv: FollowupVersion | None) -> dict[str, Any]:
    return {} if fv is None else json.loads(fv.content)


def document(db: Session, c: Candidate) -> dict[str, Any]:
    """The current document with today's header (an empty record if nothing is stored yet)."""
    doc = {"visits": [], **_stored(current(db, c))}
    return {**doc, **header(db, c)}


def subject(doc: dict[str, Any], protocol: Protocol) -> Subject:
    """The document read by the follow-up file reader.

    Raises:
        FollowupRefused: the reader's error, ``where`` relative to the subject.
    """
    if "fhir" in doc:
        raise FollowupRefused("fhir", "the application reads no bundle path: enter the data or import them")
    try:
        return parse_followup({"protocol": protocol.id, "subjects": [doc]}, protocol).subjects[0]
    except FollowupError as exc:
        raise FollowupRefused(exc.where.removeprefix("subjects[0].").removeprefix("subjects[0]") or "subject",
                              exc.message) from None
    except RecursionError:
        raise FollowupRefused("subject", "nested too deeply") from None


def _plain(raw: Any) -> Any:
    """``raw`` as JSON values (YAML dates become YYYY-MM-DD text)."""
    try:
        return json.loads(canonical(raw))
    except (RecursionError, ValueError):
        raise FollowupRefused("document", "not a JSON/YAML mapping of plain values") from None


def _flat(value: Any, path: str, out: dict[str, Any]) -> dict[str, Any]:
    """Leaf values by path; visits keyed by visit id and date, so inserting one does not renumber the rest."""
    if isinstance(value, dict):
        for k, v in value.items():
            _flat(v, f"{path}.{k}" if path else str(k), out)
    elif isinstance(value, list):
        seen: dict[str, int] = {}
        for i, v in enumerate(value):
            key = str(i)
            if path == "visits" and isinstance(v, dict):
                key = f"{v.get('visit')} {v.get('date')}"
                seen[key] = seen.get(key, 0) + 1
                key += f" #{seen[key]}" if seen[key] > 1 else ""
            _flat(v, f"{path}[{key}]", out)
        if not value:
            out[path] = []
    else:
        out[path] = value
    return out


def _assessed(path: str) -> bool:
    return path.endswith(ASSESSED) or ".bilag." in path or path.endswith(".bilag")


def change(db: Session, protocol: Protocol, user: User, now: datetime, c: Candidate, kind: str, what: str,
           build: Callable[[dict[str, Any]], dict[str, Any]], reason: str | None, may_assess: bool,
           seen: int | None = None) -> FollowupVersion:
    """Apply ``build`` to the current document and store the result as the next version.

    ``what`` names the entry in the audit record (``dose``, ``visit d28``, ``import``, ...).
    Nothing changes when the result equals the current document.

    Raises:
        Conflict: not enrolled / no header (see :func:`header`), or ``seen`` is stale.
        FollowupRefused: the new document fails the file format's checks.
        FollowupRefused: also a recorded value altered or removed without a reason.
        PermissionDenied: an investigator's value changed by another role.
    """
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise FollowupRefused("reason", f"at most {MAX_REASON} characters")
    claim(db, c, seen)
    try:
        head = header(db, c)
        last = current(db, c)
        old = _stored(last)
        new = _plain({**build({"visits": [], **old, **head}), **head})
        subject(new, protocol)
        before, after = _flat({k: v for k, v in old.items() if k not in HEADER}, "", {}), \
            _flat({k: v for k, v in new.items() if k not in HEADER}, "", {})
        old_values, new_values = audit.delta(before, after)
        header_old, header_new = audit.delta({k: old.get(k) for k in HEADER if last},
                                             {k: new[k] for k in HEADER if last})
        if not new_values and not header_new and last is not None:
            db.rollback()
            db.refresh(user)
            return last
        assessed = sorted(p for p in new_values if _assessed(p))
        if assessed and not may_assess:
            raise PermissionDenied(f"only the investigator records {', '.join(assessed)}")
        altered = sorted(p for p, v in old_values.items() if v is not None and v != [])
        if altered and reason is None:
            raise FollowupRefused("reason", f"{', '.join(altered)} already recorded; changing or removing it "
                                            "needs a reason")
        text = canonical(new)
        fv = FollowupVersion(candidate_id=c.id, version=(last.version if last else 0) + 1, kind=kind, content=text,
                             sha256=sha256_text(text), created_at=now, created_by=user.id)
        db.add(fv)
        db.flush()
        action = "correct" if altered else "import" if kind == "import" else "enter"
        masked = {"birth_date", "sex", "id"}  # a header change names these fields only
        changed_header = {k: ("changed" if k in masked else v) for k, v in header_new.items()}
        audit.append(db, at=now, actor=user, action=action, history_type="~" if altered else "+",
                     entity_type="followup", entity_key=c.number,
                     old=None if last is None else {"version": last.version, "sha256": last.sha256,
                                                    "values": old_values,
                                                    **({"header": sorted(header_old)} if header_old else {})},
                     new={"version": fv.version, "sha256": fv.sha256, "entry": what, "values": new_values,
                          **({"header": changed_header} if header_old else {})},
                     reason=reason)
        db.commit()
        return fv
    except Exception:
        db.rollback()
        db.refresh(user)
        raise


def parse_upload(content: bytes, json_type: bool, protocol_id: str) -> dict[str, Any]:
    """The subject mapping in an uploaded follow-up file: a whole file with one subject, or the subject alone.

    YAML aliases are refused (they can expand a small file into a huge document).
    """
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise FollowupRefused("document", "not UTF-8 text") from None
    try:
        if json_type:
            raw = json.loads(text)
        else:
            if any(isinstance(t, yaml.AliasToken) for t in yaml.scan(text)):
                raise FollowupRefused("document", "YAML aliases (*name) are not accepted")
            raw = yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, RecursionError) as exc:
        raise FollowupRefused("document", f"cannot read: {str(exc)[:300]}") from None
    if isinstance(raw, dict) and "subjects" in raw:
        subjects = raw.get("subjects")
        if set(raw) - {"protocol", "subjects"} or not isinstance(subjects, list) or len(subjects) != 1:
            raise FollowupRefused("subjects", "a follow-up file for one subject: keys protocol and subjects, "
                                              "with exactly one subject")
        if raw.get("protocol") != protocol_id:
            raise FollowupRefused("protocol", f"the file follows {raw.get('protocol')!r}, not {protocol_id!r}")
        raw = subjects[0]
    if not isinstance(raw, dict):
        raise FollowupRefused("document", "expected a mapping (one subject of the follow-up file)")
    return _plain(raw)


def import_document(db: Session, protocol: Protocol, user: User, now: datetime, c: Candidate, raw: dict[str, Any],
                    reason: str | None, may_assess: bool, seen: int | None = None) -> FollowupVersion:
    """Replace the record by an imported subject mapping; header fields it gives must be the candidate's."""
    head = header(db, c)
    for key in HEADER:
        if key in raw and str(raw[key]) != head[key]:
            shown = head[key] if key not in ("birth_date", "sex") else "the screening bundle's"
            raise FollowupRefused(key, f"the file gives {raw[key]!r}; the candidate's is {shown}")
    return change(db, protocol, user, now, c, "import", "import", lambda _old: raw, reason, may_assess, seen)
