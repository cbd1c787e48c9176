"""Milestone re-checks: screen a signed candidate again as of each milestone, and show the drift.

A signature confirms eligibility as of the screening date; what matters for the trial is that
it still holds at enrollment, at lymphodepletion and at infusion. For each of the candidate's
milestone dates this module screens the *current* data with ``as_of`` = that date (the engine
call of :mod:`trialdesk.app.workspace`, with the signed cohort and the candidate's enrollment
and infusion dates) and compares every criterion with the screening the signature bound
(``Signature.screening_id``; its stored result is checked against the signed snapshot's
``result_sha256`` first).

A criterion *drifts* when its outcome differs from the signed one (a lab past its
``valid_until`` turns ``pass`` into ``unknown``; a new infection or B-cell drug turns it into
``fail``), or when it is a ``review`` item whose signed decision no longer applies because the
finding it was made on changed (the decision is bound to the item's hash, as in the workspace).
A milestone without a date is reported as ``not_set``; no date is guessed. A milestone after
today is screened on the data available today (``projected``): results that expire before it
show as drift, events that have not happened yet cannot.

Checks are computed on request and not stored: every input (data versions, dates, the signed
screening, protocol and engine version) is already stored and audited, so a check can be
recomputed, and a stored copy would be stale after the next data change.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trialdesk.app.audit import canonical, sha256_text
from trialdesk.app.errors import Conflict
from trialdesk.app.models import Candidate, Screening, Signature
from trialdesk.app.workspace import (ENGINE_VERSION, MILESTONES, Engine, item_sha256, latest_data, signature_json,
                                     state_of, status_of)
from trialdesk.engine.screen import overall as overall_of
from trialdesk.engine.screen import screen
from trialdesk.patient.fhir.bundle import read_bundle

__all__ = ["LABELS", "milestone_checks"]

LABELS = {"enrollment": "Enrollment", "lymphodepletion": "Lymphodepletion", "infusion": "Infusion"}


def milestone_checks(db: Session, engine: Engine, c: Candidate, today: date) -> dict[str, Any]:
    """The candidate's milestone re-checks against its latest signature (see the module docstring).

    Raises:
        Conflict: the candidate has no signature, its latest signature is a screen failure, or the
            signed screening's stored result does not match the signature (the record was changed).
    """
    sig = db.execute(select(Signature).where(Signature.candidate_id == c.id)
                     .order_by(Signature.id.desc()).limit(1)).scalar_one_or_none()
    if sig is None:
        raise Conflict(f"{c.number} has not been signed: milestone re-checks compare with a signed screening")
    if sig.verdict != "eligible":
        raise Conflict(f"{c.number} was signed as a screen failure: there are no milestones to re-check")
    signed_screening = db.get(Screening, sig.screening_id)
    snapshot = json.loads(sig.snapshot)
    if (signed_screening is None or sig.snapshot_sha256 != sha256_text(sig.snapshot)
            or sha256_text(canonical(json.loads(signed_screening.result))) != snapshot.get("result_sha256")):
        raise Conflict(f"the stored screening that {c.number}'s signature {sig.id} bound does not match the "
                       "signature: the record was changed")
    signed = {k["id"]: k for k in _cohort(json.loads(signed_screening.result), sig.cohort)["criteria"]}
    decisions = snapshot.get("decisions") or {}
    st = state_of(db, c)
    dv = latest_data(db, c)
    if dv is None:  # pragma: no cover - a signed screening was made on data
        raise Conflict(f"{c.number} has no data")
    record = read_bundle(dv.content.encode("utf-8"), c.number)
    titles = {k.id: k.title for k in engine.protocol.criteria}
    p = engine.protocol
    out = []
    for m in MILESTONES:
        when: date | None = getattr(c, m)
        if when is None:
            out.append({"milestone": m, "label": LABELS[m], "date": None, "status": "not_set"})
            continue
        result = screen(p, record, when, enrollment=c.enrollment, infusion=c.infusion, cohort=sig.cohort,
                        reference_intervals=engine.reference_intervals).to_json(c.number)
        now = {k["id"]: k for k in _cohort(result, sig.cohort)["criteria"]}
        rows = [_compare(cid, signed.get(cid), now.get(cid), decisions.get(cid), titles.get(cid, ""))
                for cid in [*signed, *(k for k in now if k not in signed)]]
        out.append({"milestone": m, "label": LABELS[m], "date": when.isoformat(), "status": "checked",
                    "projected": when > today, "overall": _cohort(result, sig.cohort)["overall"],
                    "verdict": overall_of([r["now"]["effective"] for r in rows if r["now"] is not None]),
                    "drift": [r["id"] for r in rows if r["drift"]], "criteria": rows,
                    "data_issues": len(result["data_issues"])})
    return {"candidate": {"number": c.number, "status": status_of(db, c, st), "cohort": sig.cohort,
                          **{m: None if getattr(c, m) is None else getattr(c, m).isoformat() for m in MILESTONES}},
            "signature": {**signature_json(sig, st), "screening": sig.screening_id,
                          "as_of": signed_screening.as_of.isoformat(),
                          "data_version": signed_screening.data_version.version},
            "data": {"version": dv.version, "sha256": dv.sha256},
            "protocol": {"id": p.id, "version": p.version, "sha256": p.sha256}, "engine_version": ENGINE_VERSION,
            "protocol_changed": p.sha256 != sig.protocol_sha256, "milestones": out}


def _cohort(result: dict, cohort: str) -> dict:
    found = next((r for r in result.get("results") or [] if r["cohort"] == cohort), None)
    if found is None:  # pragma: no cover - screen() with cohort= always returns that cohort
        raise Conflict(f"no result for cohort {cohort}")
    return found


def _compare(cid: str, old: dict | None, new: dict | None, decision: dict | None, title: str) -> dict[str, Any]:
    """One criterion, signed vs now; a signed decision counts for the review item it was made on."""
    before = None if old is None else {
        "outcome": old["outcome"], "reason": old["reason"],
        "effective": decision["decision"] if decision and old["outcome"] == "review" else old["outcome"],
        "decision": decision["decision"] if decision else None}
    after = None
    if new is not None:
        applies = bool(decision) and new["outcome"] == "review" and item_sha256(new) == decision["item"]
        after = {"outcome": new["outcome"], "reason": new["reason"],
                 "effective": decision["decision"] if applies else new["outcome"],
                 "decision_applies": applies, "valid_until": new.get("valid_until"),
                 "eligible_from": new.get("eligible_from"), "needs": new.get("needs") or []}
    drift = (before is None or after is None or before["outcome"] != after["outcome"]
             or before["effective"] != after["effective"])
    return {"id": cid, "title": title, "drift": drift, "signed": before, "now": after,
            "why": _why(before, after) if drift else None}


def _why(before: dict | None, after: dict | None) -> str:
    if before is None:
        return "not in the signed screening (the protocol changed)"
    if after is None:
        return "no longer in the protocol's checklist for this cohort"
    if before["outcome"] != after["outcome"]:
        return f"{before['outcome']} -> {after['outcome']}: {after['reason']}"
    return (f"the finding the signed decision ({before['decision']}) was made on changed: "
            f"the investigator must decide again: {after['reason']}")
