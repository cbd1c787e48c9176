"""Protocol amendments: what a loaded protocol version would change, then applying it.

**Open candidates** are those an amendment can still affect: screened (they have data and a
screening) and without a disposition, i.e. not enrolled and not withdrawn. That includes
candidates signed eligible or screen-failed but not yet enrolled: their signature was given
under the old version, so re-screening invalidates it and they need a new one. Enrolled
subjects were screened under the version in force when they were enrolled and are not
re-screened; candidates without data have nothing to re-screen and are screened under the
active version when data arrive.

:func:`preview` re-screens every open candidate under the new version *and* under the active
one, with the same data and dates (the candidate's screening date, else today, as every
re-screen), and stores nothing. A criterion change is reported against the stored screening
(what the screen shows now); ``by_amendment`` says whether the new version causes it (the
active version, re-run now, gives another outcome) or only the re-screen does (a lab aged out
of its window since the stored screening, say). :func:`apply` makes the version active and
stores the new screenings in one transaction, audited; the signatures then show invalidated
by the workspace's own check, as the protocol sha256 differs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trialdesk.app import audit, workspace as ws
from trialdesk.app.audit import canonical, sha256_text
from trialdesk.app.errors import Conflict, Invalid
from trialdesk.app.models import Candidate, ProtocolVersion, User
from trialdesk.app.protocol_versions import ActiveProtocol, active_version
from trialdesk.app.workspace import MAX_REASON, Engine
from trialdesk.protocol.model import Protocol

__all__ = ["OPEN_MEANS", "apply", "open_candidates", "preview", "protocol_changes"]

OPEN_MEANS = "screened, not enrolled and not withdrawn (signed candidates included: they need a new signature)"
SIGNED = ("eligible", "screen-failed")


def open_candidates(db: Session) -> tuple[list[Candidate], dict[str, int]]:
    """The open candidates (see the module docstring), and how many others there are per status."""
    out, others = [], {}
    for c in db.execute(select(Candidate).order_by(Candidate.id)).scalars():
        if c.disposition is None and ws.latest_data(db, c) is not None:
            out.append(c)
        else:
            status = c.disposition or "candidate"
            others[status] = others.get(status, 0) + 1
    return out, others


def _diff(old: dict, new: dict) -> dict[str, list[str]]:
    return {"added": sorted(k for k in new if k not in old), "removed": sorted(k for k in old if k not in new),
            "changed": sorted(k for k in new if k in old and new[k] != old[k])}


def protocol_changes(old: Protocol, new: Protocol) -> dict[str, Any]:
    """What the new version changes in the protocol itself: criteria, cohorts, parameters, ...

    Criteria are listed in the new version's order (removed ones last); each part lists the ids
    added, removed and changed; parameters give their old and new values.
    """
    order = {c.id: i for i, c in enumerate(new.criteria)}
    criteria = _diff({c.id: c for c in old.criteria}, {c.id: c for c in new.criteria})
    criteria = {k: sorted(v, key=lambda i: order.get(i, len(order))) for k, v in criteria.items()}
    out: dict[str, Any] = {"criteria": criteria}
    for part in ("cohorts", "measures", "valuesets", "definitions", "drug_groups", "drug_classes", "clarifications"):
        out[part] = _diff(getattr(old, part), getattr(new, part))
    out["parameters"] = {k: [old.parameters.get(k), new.parameters.get(k)]
                         for k in sorted({**old.parameters, **new.parameters})
                         if old.parameters.get(k) != new.parameters.get(k)}
    out["registry_text_changed"] = old.registry_text != new.registry_text
    return out


def _outcomes(result: dict | None) -> dict[tuple[str, str], dict]:
    return {(r["cohort"], k["id"]): k for r in (result or {}).get("results", []) for k in r["criteria"]}


def _criteria_changes(stored: dict | None, base: dict, new: dict, titles: dict[str, str]) -> list[dict[str, Any]]:
    """Each (cohort, criterion) whose outcome differs between the stored and the new screening."""
    before, now_, after = _outcomes(stored), _outcomes(base), _outcomes(new)
    out = []
    for key in [*after, *(k for k in before if k not in after)]:
        old, cur, nxt = before.get(key), now_.get(key), after.get(key)
        old_outcome, new_outcome = old and old["outcome"], nxt and nxt["outcome"]
        if old_outcome == new_outcome:
            continue
        current = cur and cur["outcome"]
        out.append({"cohort": key[0], "id": key[1], "title": titles.get(key[1], key[1]),
                    "old": old_outcome, "new": new_outcome,
                    "old_reason": old and old["reason"], "reason": nxt["reason"] if nxt else "not in the new version",
                    "active_version_now": current, "by_amendment": current != new_outcome})
    return out


def _candidate(db: Session, c: Candidate, current: Engine, new: Engine, user: User | None,
               now: datetime) -> dict[str, Any]:
    st = ws.state_of(db, c)
    old_status = ws.status_of(db, c, st)
    entry: dict[str, Any] = {"number": c.number, "cohort": (st.screening.cohort if st.screening else None) or c.cohort,
                             "old": {"status": old_status, "overall": st.screening.overall if st.screening else None,
                                     "verdict": st.effective,
                                     "protocol_version": st.screening.protocol_version if st.screening else None},
                             "problem": None}
    if c.cohort is not None and c.cohort not in new.protocol.cohorts:
        entry["problem"] = (f"cohort {c.cohort} is not in version {new.protocol.version}: change the candidate's "
                            "cohort or withdraw the candidate first")
        return entry
    dv = ws.latest_data(db, c)
    assert dv is not None  # open_candidates checked
    base = ws.evaluate(current, user, now, c, dv)
    try:
        after = ws.evaluate(new, user, now, c, dv)
    except Exception as exc:  # an uploaded version can pass the loader and lint and still break the engine
        entry["problem"] = (f"version {new.protocol.version} cannot screen this candidate "
                            f"({type(exc).__name__}: {exc}): fix the protocol and load it again")
        return entry
    st_new = ws.state_of(db, c, after)
    new_status = ws.status_of(db, c, st_new)
    titles = {k.id: k.title for k in (*current.protocol.criteria, *new.protocol.criteria)}
    changes = _criteria_changes(st.result, json.loads(base.result), json.loads(after.result), titles)
    lapsing = sorted(set(st.decisions) - set(st_new.decisions))
    why = [f"{k['id']} ({k['cohort']}): {k['old'] or 'absent'} -> {k['new'] or 'absent'}: {k['reason']}"
           + ("" if k["by_amendment"] else " (re-screening under the active version gives this too)")
           for k in changes]
    why += [f"the review decision on {k} lapses: the item changed" for k in lapsing]
    if old_status in SIGNED:
        why.append(f"the signature lapses: it was given under version {entry['old']['protocol_version']}; "
                   "a new one is needed")
    entry.update({"as_of": after.as_of.isoformat(),
                  "new": {"status": new_status, "overall": after.overall, "verdict": st_new.effective,
                          "protocol_version": new.protocol.version},
                  "status_changes": new_status != old_status, "criteria": changes, "decisions_lapse": lapsing,
                  "signature_lapses": old_status in SIGNED, "why": why})
    return entry


def preview(db: Session, protocols: ActiveProtocol, row: ProtocolVersion, user: User | None,
            now: datetime) -> dict[str, Any]:
    """Re-screen every open candidate under ``row`` (and the active version) without storing anything.

    Returns the report: the two versions, ``protocol_changes``, one entry per open candidate
    (old and new status, overall and verdict; the criteria whose outcome changes, with old and
    new outcome and reason; lapsing decisions and signature; ``why``; a ``problem`` that blocks
    applying), counts, and ``preview_sha256``, the hash of the report, which :func:`apply`
    can be given to make sure it applies what was previewed.
    """
    active = active_version(db)
    current, new = protocols.engine_for(db, active), protocols.engine_for(db, row)
    candidates, others = open_candidates(db)
    entries = [_candidate(db, c, current, new, user, now) for c in candidates]
    report = {
        "from": _ident(active), "to": _ident(row), "same_version": active.id == row.id,
        "protocol_changes": protocol_changes(current.protocol, new.protocol),
        "open_means": OPEN_MEANS,
        "candidates": entries,
        "counts": {"open": len(entries), "status_changes": sum(bool(e.get("status_changes")) for e in entries),
                   "with_criteria_changes": sum(bool(e.get("criteria")) for e in entries),
                   "signatures_lapse": sum(bool(e.get("signature_lapses")) for e in entries),
                   "problems": sum(e["problem"] is not None for e in entries), "not_open": others},
    }
    report["preview_sha256"] = sha256_text(canonical(report))
    return report


def _ident(row: ProtocolVersion) -> dict[str, Any]:
    """A version by content, not by row id: a folder previewed before loading hashes the same."""
    return {"protocol_id": row.protocol_id, "version": row.version, "sha256": row.sha256}


def apply(db: Session, protocols: ActiveProtocol, row: ProtocolVersion, user: User, now: datetime, reason: str,
          expected_preview: str | None = None) -> dict[str, Any]:
    """Make ``row`` the active version and store a new screening for every open candidate, in one
    transaction; audited (``activate``, then each ``screen`` and ``invalidate``).

    Args:
        reason: why (e.g. the ethics committee's approval of the amendment); required.
        expected_preview: the ``preview_sha256`` the user saw; if given and the preview now
            differs (data, dates or versions changed since), nothing is applied.

    Returns:
        The preview report that was applied.

    Raises:
        Invalid: no reason. Conflict: the version is active already, the preview is out of
        date, or a candidate's cohort is not in the new version.
    """
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("applying an amendment needs a reason (e.g. the ethics committee's approval)")
    if len(reason) > MAX_REASON:
        raise Invalid(f"the reason is longer than {MAX_REASON} characters")
    if row.active:
        raise Conflict(f"version {row.version} is the active version already")
    report = preview(db, protocols, row, user, now)
    if expected_preview is not None and expected_preview != report["preview_sha256"]:
        raise Conflict("the preview is out of date (data, dates or versions changed since): preview again")
    problems = [f"{e['number']}: {e['problem']}" for e in report["candidates"] if e["problem"]]
    if problems:
        raise Conflict("cannot apply: " + "; ".join(problems))
    old = active_version(db)
    try:
        old.active = False
        db.flush()  # the one-active index sees the old version off first
        row.active, row.activated_at, row.activated_by = True, now, user.id
        db.flush()
    except IntegrityError:  # another activation committed in between
        db.rollback()
        raise Conflict("another protocol version was activated meanwhile: preview again") from None
    audit.append(db, at=now, actor=user, action="activate", history_type="~", entity_type="protocol",
                 entity_key=row.protocol_id, old={"version_id": old.id, "version": old.version, "sha256": old.sha256},
                 new={"version_id": row.id, "version": row.version, "sha256": row.sha256,
                      "preview_sha256": report["preview_sha256"], "rescreened": len(report["candidates"]),
                      "status_changes": {e["number"]: [e["old"]["status"], e["new"]["status"]]
                                         for e in report["candidates"] if e["status_changes"]}},
                 reason=reason)
    engine = protocols.engine_for(db, row)
    numbers = [e["number"] for e in report["candidates"]]
    for c in db.execute(select(Candidate).where(Candidate.number.in_(numbers)).order_by(Candidate.id)).scalars():
        ws.screen_again(db, engine, user, now, c)
    db.commit()
    return report
