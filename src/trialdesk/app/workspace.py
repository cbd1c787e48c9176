"""The screening workspace: candidates, their data, screenings, review, signature, disposition.

Every function that changes something appends its audit record in the same transaction
and commits. The engine does the screening (:func:`trialdesk.engine.screen.screen`); this
module stores what went in and what came out, and what people decided about it.

A signature binds ``bound_sha256`` = sha256 of the canonical JSON of::

    {"snapshot_sha256": sha256(snapshot), "protocol": {id, version, sha256}, "engine_version": ...}

where the snapshot holds the data version and the sha256 of its stored bundle, the cohort
and dates, the sha256 of the screening result and the review decisions. The signature is
valid while the candidate's current state hashes to the same value; any change to the data,
dates, result, decisions (or the signature row itself) shows it as invalidated.
"""

from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Iterable, Iterator

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from trialdesk.app import audit
from trialdesk.app.audit import canonical, sha256_text
from trialdesk.app.errors import Conflict, Invalid, NotFound
from trialdesk.app.models import AuditRecord, Candidate, DataVersion, ReviewDecision, Screening, Signature, User
from trialdesk.engine.screen import overall as overall_of
from trialdesk.engine.screen import screen
from trialdesk.errors import InputError
from trialdesk.patient.fhir.bundle import read_bundle
from trialdesk.protocol.model import Protocol
from trialdesk.site import ReferenceIntervals

__all__ = ["ENGINE_VERSION", "STATUSES", "DataChange", "Engine", "add_lab", "candidate_by_number", "checklist", "claim",
           "create_candidate",
           "decide", "enroll", "evaluate", "import_bundle", "lab_measures", "run_screening", "screen_again",
           "screening_log", "sign",
           "status_of", "store_form_data", "update_candidate", "withdraw"]

try:
    ENGINE_VERSION = version("trialdesk")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    ENGINE_VERSION = "0+unknown"

STATUSES = ("candidate", "screening", "eligible", "ineligible", "screen-failed", "enrolled", "withdrawn")
DECISIONS = ("pass", "fail")
MAX_REASON = 2000


@dataclass(frozen=True)
class Engine:
    """What screening runs with: the loaded protocol and the site's reference intervals."""

    protocol: Protocol
    reference_intervals: ReferenceIntervals | None = None


# ---------------------------------------------------------------- candidates

def candidate_by_number(db: Session, number: str) -> Candidate:
    c = db.execute(select(Candidate).where(Candidate.number == number)).scalar_one_or_none()
    if c is None:
        raise NotFound(f"no candidate {number}")
    return c


def claim(db: Session, c: Candidate, seen: int | None = None) -> None:
    """Start a change to ``c``: bump its ``row_version``, refusing if ``seen`` is stale (optimistic locking).

    Every operation that changes a candidate, its data, screenings, decisions, signatures or
    disposition calls this first, in its own transaction. The conditional ``UPDATE`` takes the
    row's lock (PostgreSQL) or the write lock (SQLite), so changes to one candidate run one
    after the other and each reads what the previous one committed; ``c`` is reloaded.

    Args:
        seen: the ``row_version`` the client saw (``If-Match`` header, ``row_version`` form
            field); ``None`` applies the change to whatever the current state is.

    Raises:
        Conflict: ``seen`` is not the current version; the message says who changed the
            candidate last and when.
    """
    stmt = update(Candidate).where(Candidate.id == c.id).values(row_version=Candidate.row_version + 1)
    if seen is not None:
        stmt = stmt.where(Candidate.row_version == seen)
    if db.execute(stmt.execution_options(synchronize_session=False)).rowcount == 1:
        db.refresh(c)
        return
    # no rollback: it would expire the request's user as well; the session ends with the request
    current = db.execute(select(Candidate.row_version).where(Candidate.id == c.id)).scalar_one()
    last = db.execute(select(AuditRecord).where(AuditRecord.entity_key == c.number, AuditRecord.history_type != "=")
                      .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one_or_none()
    who = f" by {last.actor} at {last.at}" if last is not None else ""
    raise Conflict(f"{c.number} was changed{who} after you loaded it (version {current}, yours {seen}): "
                   "reload and try again")


def _undo(db: Session, user: User) -> None:
    """Roll back; reload the acting user, whom the rollback expired (an error page still shows them)."""
    db.rollback()
    db.refresh(user)


def _params(c: Candidate) -> dict[str, Any]:
    return {"cohort": c.cohort, "as_of": _iso(c.as_of), "enrollment": _iso(c.enrollment),
            "lymphodepletion": _iso(c.lymphodepletion), "infusion": _iso(c.infusion)}


MILESTONES = ("enrollment", "lymphodepletion", "infusion")  # in the order they happen
SCREENING_INPUTS = frozenset({"cohort", "as_of", "enrollment", "infusion"})  # lymphodepletion is no engine input


def _check_milestone_order(c: Candidate) -> None:
    """Enrollment, lymphodepletion and infusion, where set, must not run backwards."""
    given = [(m, getattr(c, m)) for m in MILESTONES if getattr(c, m) is not None]
    for (a, day_a), (b, day_b) in zip(given, given[1:]):
        if day_a > day_b:
            raise Invalid(f"the {b} date {day_b} is before the {a} date {day_a}")


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


def _check_cohort(engine: Engine, cohort: str | None) -> None:
    if cohort is not None and cohort not in engine.protocol.cohorts:
        raise Invalid(f"unknown cohort {cohort!r}: one of {', '.join(engine.protocol.cohorts)}")


def create_candidate(db: Session, engine: Engine, user: User, now: datetime, cohort: str | None = None,
                     as_of: date | None = None, enrollment: date | None = None,
                     infusion: date | None = None, lymphodepletion: date | None = None) -> Candidate:
    """A new candidate with the next screening number (``S-0001``, ``S-0002``, ...).

    The number is made from the row's own id, so concurrent creations never compete for one
    (PostgreSQL may leave a gap after a rolled-back creation).
    """
    _check_cohort(engine, cohort)
    c = Candidate(number=f"new-{uuid.uuid4().hex[:16]}", cohort=cohort, as_of=as_of, enrollment=enrollment,
                  infusion=infusion, lymphodepletion=lymphodepletion, created_at=now, created_by=user.id)
    _check_milestone_order(c)
    db.add(c)
    db.flush()
    c.number = f"S-{c.id:04d}"
    db.flush()
    audit.append(db, at=now, actor=user, action="create", history_type="+", entity_type="candidate",
                 entity_key=c.number, new=_params(c))
    db.commit()
    return c


def update_candidate(db: Session, engine: Engine, user: User, now: datetime, c: Candidate,
                     changes: dict[str, Any], reason: str | None = None, rescreen: bool = True,
                     seen: int | None = None) -> Candidate:
    """Change the cohort or dates; re-screens when data are there (unless the caller imports next)
    and a screening input changed (a lymphodepletion date alone only sets the milestone)."""
    if "cohort" in changes:
        _check_cohort(engine, changes["cohort"])
    claim(db, c, seen)
    before = _params(c)
    for key in ("cohort", "as_of", *MILESTONES):
        if key in changes:
            setattr(c, key, changes[key])
    old, new = audit.delta(before, _params(c))
    if not new:  # nothing changed: no new version
        _undo(db, user)
        return c
    try:
        _check_milestone_order(c)
    except Invalid:
        _undo(db, user)
        raise
    with _watch_signatures(db, c, user, now):
        audit.append(db, at=now, actor=user, action="change", history_type="~", entity_type="candidate",
                     entity_key=c.number, old=old, new=new, reason=reason)
        if rescreen and SCREENING_INPUTS & set(new) and latest_data(db, c) is not None:
            _screen(db, engine, user, now, c)
    db.commit()
    return c


# ---------------------------------------------------------------- data

def latest_data(db: Session, c: Candidate) -> DataVersion | None:
    return db.execute(select(DataVersion).where(DataVersion.candidate_id == c.id)
                      .order_by(DataVersion.version.desc()).limit(1)).scalar_one_or_none()


def import_bundle(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, content: bytes,
                  seen: int | None = None) -> Screening:
    """Store ``content`` (a FHIR R4 bundle) as the candidate's next data version and screen it.

    Raises:
        Invalid: not UTF-8, or not a bundle the engine can read (the reason names no file).
        Conflict: ``seen`` is stale (see :func:`claim`), or the candidate is withdrawn.
    """
    text = _readable(content, c)
    claim(db, c, seen)
    return _store(db, engine, user, now, c, text, len(content), "upload")


def _readable(content: bytes, c: Candidate) -> str:
    try:
        text = content.decode("utf-8")
        read_bundle(content, c.number)
    except UnicodeDecodeError:
        raise Invalid("the bundle is not UTF-8 text") from None
    except InputError as exc:
        raise Invalid(exc.message) from None
    return text


@dataclass(frozen=True)
class DataChange:
    """What a form entry or correction did, for its data version's audit record (no bundle content)."""

    action: str  # enter | correct | remove
    history_type: str
    old: dict[str, Any]
    new: dict[str, Any]
    reason: str | None = None


def store_form_data(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, content: bytes,
                    change: DataChange) -> Screening:
    """A form entry or correction (:mod:`trialdesk.app.forms`): the whole new bundle as the next data
    version, after :func:`claim`."""
    return _store(db, engine, user, now, c, _readable(content, c), len(content), "form", change)


def _store(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, text: str, size: int,
           kind: str, change: DataChange | None = None) -> Screening:
    """The next data version and its screening, after :func:`claim`."""
    if c.disposition == "withdrawn":
        raise Conflict(f"{c.number} is withdrawn")
    last = latest_data(db, c)
    dv = DataVersion(candidate_id=c.id, version=(last.version if last else 0) + 1, kind=kind, content=text,
                     sha256=sha256_text(text), created_at=now, created_by=user.id)
    with _watch_signatures(db, c, user, now):
        db.add(dv)
        db.flush()
        change = change or DataChange("import" if kind == "upload" else "enter", "+", {}, {})
        audit.append(db, at=now, actor=user, action=change.action, history_type=change.history_type,
                     entity_type="data", entity_key=c.number,
                     old=None if last is None else {"version": last.version, "sha256": last.sha256, **change.old},
                     new={"version": dv.version, "sha256": dv.sha256, "bytes": size, "kind": kind, **change.new},
                     reason=change.reason)
        s = _screen(db, engine, user, now, c)
    db.commit()
    return s


def lab_measures(protocol: Protocol) -> dict[str, dict[str, str]]:
    """The numeric measures a lab result can be entered for by form: id -> label, LOINC code, unit."""
    out = {}
    for m in protocol.measures.values():
        codes = [code for code in protocol.valuesets[m.valueset].codes if code.system == "http://loinc.org"]
        if m.result == "numeric" and m.unit and codes:
            out[m.id] = {"label": m.label, "loinc": codes[0].code, "unit": m.unit}
    return out


def add_lab(db: Session, engine: Engine, user: User, now: datetime, c: Candidate, measure: str, value: float,
            unit: str, when: date, reference_high: float | None = None, seen: int | None = None) -> Screening:
    """Add one lab result entered by form to the current bundle (a new data version) and re-screen."""
    from trialdesk.app.forms import check_lab  # forms builds on this module

    measures = lab_measures(engine.protocol)
    if measure not in measures:
        raise Invalid(f"unknown measure {measure!r}: one of {', '.join(sorted(measures))}")
    for number in (value, reference_high):
        if number is not None:
            check_lab(engine.protocol, measure, number, unit)
    if when > now.date():
        raise Invalid("the result date is in the future")
    claim(db, c, seen)
    last = latest_data(db, c)
    if last is None:
        raise Conflict("import a bundle first: form entries are added to the candidate's data")
    bundle = json.loads(last.content)
    pid = _patient_id(bundle)
    quantity = {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}
    obs: dict[str, Any] = {
        "resourceType": "Observation", "id": f"form-{uuid.uuid4().hex[:12]}", "status": "final",
        "meta": {"source": "urn:trialdesk:form"},
        "code": {"coding": [{"system": "http://loinc.org", "code": measures[measure]["loinc"],
                             "display": measures[measure]["label"]}]},
        "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": when.isoformat(),
        "valueQuantity": quantity}
    if reference_high is not None:
        obs["referenceRange"] = [{"high": {**quantity, "value": reference_high}}]
    if bundle.get("resourceType") == "Patient":
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": bundle}]}
    bundle.setdefault("entry", []).append({"fullUrl": f"urn:uuid:{uuid.uuid4()}", "resource": obs})
    content = json.dumps(bundle, ensure_ascii=False).encode()
    return _store(db, engine, user, now, c, _readable(content, c), len(content), "form")


def _patient_id(bundle: dict) -> str:
    if bundle.get("resourceType") == "Patient":
        return str(bundle.get("id"))
    for e in bundle.get("entry") or []:
        r = e.get("resource") or {}
        if r.get("resourceType") == "Patient":
            return str(r.get("id"))
    raise Invalid("the stored bundle has no Patient")  # pragma: no cover - read_bundle checked it


# ---------------------------------------------------------------- screening

def _latest_screening(db: Session, c: Candidate) -> Screening | None:
    return db.execute(select(Screening).where(Screening.candidate_id == c.id)
                      .order_by(Screening.id.desc()).limit(1)).scalar_one_or_none()


def run_screening(db: Session, engine: Engine, user: User, now: datetime, c: Candidate,
                  seen: int | None = None) -> Screening:
    """Screen the candidate's current data with its cohort and dates."""
    claim(db, c, seen)
    with _watch_signatures(db, c, user, now):
        s = _screen(db, engine, user, now, c)
    db.commit()
    return s


def screen_again(db: Session, engine: Engine, user: User, now: datetime, c: Candidate) -> Screening:
    """Screen the candidate again within the caller's transaction, which commits (a protocol
    amendment re-screens every open candidate at once)."""
    claim(db, c)
    with _watch_signatures(db, c, user, now):
        return _screen(db, engine, user, now, c)


def evaluate(engine: Engine, user: User | None, now: datetime, c: Candidate, dv: DataVersion) -> Screening:
    """The screening of data version ``dv`` with the candidate's cohort and dates, not stored
    (``user`` may be None only for a screening that is never stored, e.g. a preview)."""
    record = read_bundle(dv.content.encode("utf-8"), c.number)
    as_of = c.as_of or now.date()
    result = screen(engine.protocol, record, as_of, enrollment=c.enrollment, infusion=c.infusion, cohort=c.cohort,
                    reference_intervals=engine.reference_intervals)
    obj = result.to_json(c.number)
    chosen = _cohort_result(obj, c.cohort)
    overall = chosen["overall"] if chosen else ("not_screened" if not obj["results"] else "choose_cohort")
    p = engine.protocol
    return Screening(candidate_id=c.id, data_version_id=dv.id, cohort=chosen["cohort"] if chosen else None,
                     as_of=as_of, enrollment=c.enrollment, infusion=c.infusion, overall=overall,
                     result=canonical(obj), protocol_id=p.id, protocol_version=p.version, protocol_sha256=p.sha256,
                     engine_version=ENGINE_VERSION, created_at=now, created_by=user.id if user else None)


def _screen(db: Session, engine: Engine, user: User, now: datetime, c: Candidate) -> Screening:
    dv = latest_data(db, c)
    if dv is None:
        raise Conflict(f"no data for {c.number}: import a FHIR bundle first")
    s = evaluate(engine, user, now, c, dv)
    obj, p, as_of, overall = json.loads(s.result), engine.protocol, s.as_of, s.overall
    db.add(s)
    db.flush()
    audit.append(db, at=now, actor=user, action="screen", history_type="+", entity_type="screening",
                 entity_key=c.number,
                 new={"screening": s.id, "data_version": dv.version, "cohort": s.cohort, "as_of": as_of.isoformat(),
                      "overall": overall,
                      "outcomes": {r["cohort"]: {k["id"]: k["outcome"] for k in r["criteria"]} for r in obj["results"]},
                      "protocol": {"id": p.id, "version": p.version, "sha256": p.sha256},
                      "engine_version": ENGINE_VERSION})
    return s


def _cohort_result(obj: dict, cohort: str | None) -> dict | None:
    results = obj.get("results") or []
    if cohort is not None:
        return next((r for r in results if r["cohort"] == cohort), None)
    return results[0] if len(results) == 1 else None


def screen_json(db: Session, c: Candidate) -> dict:
    """The current screening's JSON object, exactly as the ``screen`` command prints it."""
    s = _latest_screening(db, c)
    if s is None:
        raise NotFound(f"{c.number} has not been screened")
    return json.loads(s.result)


# ---------------------------------------------------------------- review

def item_sha256(criterion: dict) -> str:
    """The hash of one criterion's result that a review decision is bound to."""
    return sha256_text(canonical({k: criterion.get(k) for k in ("id", "outcome", "reason", "evidence")}))


@dataclass
class State:
    """A candidate's current state: screening, chosen cohort's result and the decisions in force."""

    candidate: Candidate
    screening: Screening | None
    data: DataVersion | None
    result: dict | None
    cohort: dict | None
    decisions: dict[str, ReviewDecision]

    @property
    def effective(self) -> str | None:
        """The cohort's verdict with review items replaced by the investigator's decisions."""
        if self.cohort is None:
            return None
        outcomes = [self.decisions[k["id"]].decision if k["outcome"] == "review" and k["id"] in self.decisions
                    else k["outcome"] for k in self.cohort["criteria"]]
        return overall_of(outcomes)

    @property
    def open_reviews(self) -> list[str]:
        if self.cohort is None:
            return []
        return [k["id"] for k in self.cohort["criteria"] if k["outcome"] == "review" and k["id"] not in self.decisions]


def state_of(db: Session, c: Candidate, screening: Screening | None = None) -> State:
    """The candidate's current state, or the state it would have with ``screening`` (unsaved) as the latest."""
    s = screening or _latest_screening(db, c)
    if s is None:
        return State(c, None, latest_data(db, c), None, None, {})
    rows = db.execute(select(ReviewDecision).where(ReviewDecision.candidate_id == c.id)
                      .order_by(ReviewDecision.id)).scalars()
    return _state(c, s, db.get(DataVersion, s.data_version_id), rows)


def _state(c: Candidate, s: Screening, data: DataVersion | None, decision_rows: Iterable[ReviewDecision]) -> State:
    """The state for screening ``s``: the decisions (in ``id`` order) made on items it left unchanged."""
    # msgspec on the UTF-8 bytes: 3x faster than json.loads; handed the str itself it is 5x *slower*
    # than json.loads on non-ASCII text (the results quote "≥"), which made the screening log slow
    result = msgspec.json.decode(s.result.encode())
    cohort = _cohort_result(result, s.cohort)
    decisions: dict[str, ReviewDecision] = {}
    if cohort is not None:
        reviews = {k["id"]: item_sha256(k) for k in cohort["criteria"] if k["outcome"] == "review"}
        for d in decision_rows:
            if reviews.get(d.criterion_id) == d.item_sha256:
                decisions[d.criterion_id] = d  # the latest decision on the unchanged item wins
    return State(c, s, data, result, cohort, decisions)


def states_of(db: Session, candidates: list[Candidate]) -> dict[int, tuple[State, list[Signature]]]:
    """Each candidate's :func:`state_of` and signatures, in five queries whatever their number (the
    screening log; one query per candidate and table made it the slowest request in scripts/bench-load)."""
    ids = [c.id for c in candidates]
    latest = (select(func.max(Screening.id)).where(Screening.candidate_id.in_(ids))
              .group_by(Screening.candidate_id))
    screenings = {s.candidate_id: s for s in db.execute(select(Screening).where(Screening.id.in_(latest))).scalars()}
    newest = (select(func.max(DataVersion.id)).where(DataVersion.candidate_id.in_(ids))
              .group_by(DataVersion.candidate_id))
    wanted = select(DataVersion).where(DataVersion.id.in_(newest) | DataVersion.id.in_(
        [s.data_version_id for s in screenings.values()]))
    data = {d.id: d for d in db.execute(wanted).scalars()}
    newest_data = {d.candidate_id: d for d in sorted(data.values(), key=lambda d: d.version)}
    decisions: dict[int, list[ReviewDecision]] = {i: [] for i in ids}
    for d in db.execute(select(ReviewDecision).where(ReviewDecision.candidate_id.in_(ids))
                        .order_by(ReviewDecision.id)).scalars():
        decisions[d.candidate_id].append(d)
    sigs: dict[int, list[Signature]] = {i: [] for i in ids}
    for sig in db.execute(select(Signature).where(Signature.candidate_id.in_(ids)).order_by(Signature.id)).scalars():
        sigs[sig.candidate_id].append(sig)
    out = {}
    for c in candidates:
        s = screenings.get(c.id)
        st = (State(c, None, newest_data.get(c.id), None, None, {}) if s is None
              else _state(c, s, data.get(s.data_version_id), decisions[c.id]))
        out[c.id] = (st, sigs[c.id])
    return out


def decide(db: Session, user: User, now: datetime, c: Candidate, criterion_id: str, decision: str,
           reason: str, seen: int | None = None) -> ReviewDecision:
    """Resolve one ``review`` item of the current screening with a decision and a reason."""
    reason = (reason or "").strip()
    if decision not in DECISIONS:
        raise Invalid(f"decision must be one of {', '.join(DECISIONS)}")
    if not reason:
        raise Invalid("a decision needs a reason")
    if len(reason) > MAX_REASON:
        raise Invalid(f"the reason is longer than {MAX_REASON} characters")
    claim(db, c, seen)
    if c.disposition is not None:
        raise Conflict(f"{c.number} is {c.disposition}")
    st = state_of(db, c)
    item = next((k for k in (st.cohort or {}).get("criteria", []) if k["id"] == criterion_id), None)
    if item is None or item["outcome"] != "review":
        raise Conflict(f"{criterion_id} is not a review item of {c.number}'s current screening")
    previous = st.decisions.get(criterion_id)
    with _watch_signatures(db, c, user, now):
        d = ReviewDecision(candidate_id=c.id, screening_id=st.screening.id, criterion_id=criterion_id,  # type: ignore[union-attr]
                           item_sha256=item_sha256(item), decision=decision, reason=reason, user_id=user.id,
                           decided_at=now)
        db.add(d)
        db.flush()
        audit.append(db, at=now, actor=user, action="decide", history_type="~" if previous else "+",
                     entity_type="review", entity_key=c.number,
                     old=None if previous is None else {"criterion": criterion_id, "decision": previous.decision},
                     new={"criterion": criterion_id, "decision": decision, "screening": st.screening.id},  # type: ignore[union-attr]
                     reason=reason)
    db.commit()
    return d


# ---------------------------------------------------------------- signatures

def snapshot(st: State) -> dict[str, Any]:
    """What a signature binds, for the candidate's current state (see the module docstring)."""
    s, dv = st.screening, st.data
    assert s is not None and dv is not None and st.result is not None  # callers check
    return {"candidate": st.candidate.number, "cohort": s.cohort,
            "data": {"version": dv.version, "sha256": sha256_text(dv.content)},
            "dates": {"as_of": _iso(s.as_of), "enrollment": _iso(s.enrollment), "infusion": _iso(s.infusion)},
            "result_sha256": sha256_text(canonical(st.result)),
            "decisions": {k: {"decision": d.decision, "reason": d.reason, "by": d.user_id, "item": d.item_sha256}
                          for k, d in sorted(st.decisions.items())},
            "verdict": st.effective}


def bound_hash(snapshot_sha256: str, protocol: dict[str, str], engine_version: str) -> str:
    return sha256_text(canonical({"snapshot_sha256": snapshot_sha256, "protocol": protocol,
                                  "engine_version": engine_version}))


def _current_bound(st: State) -> str | None:
    if st.screening is None or st.cohort is None or st.data is None:
        return None
    s = st.screening
    return bound_hash(sha256_text(canonical(snapshot(st))),
                      {"id": s.protocol_id, "version": s.protocol_version, "sha256": s.protocol_sha256},
                      s.engine_version)


def signature_state(sig: Signature, st: State) -> tuple[bool, list[str]]:
    """(valid, why not): a signature is valid while the current state hashes to what it bound."""
    own = bound_hash(sig.snapshot_sha256, {"id": sig.protocol_id, "version": sig.protocol_version,
                                           "sha256": sig.protocol_sha256}, sig.engine_version)
    if own != sig.bound_sha256 or sha256_text(sig.snapshot) != sig.snapshot_sha256:
        return False, ["the signature record does not match its own hash"]
    current = _current_bound(st)
    if current == sig.bound_sha256:
        return True, []
    if current is None:
        return False, ["there is no current screening for the signed cohort"]
    signed, now = json.loads(sig.snapshot), snapshot(st)
    labels = {"data": "the data changed", "dates": "the screening dates changed", "cohort": "the cohort changed",
              "result_sha256": "the screening result changed", "decisions": "a review decision changed",
              "verdict": "the verdict changed"}
    why = [labels.get(k, f"{k} changed") for k in labels if signed.get(k) != now.get(k)]
    s = st.screening
    if (s.protocol_id, s.protocol_version, s.protocol_sha256) != (sig.protocol_id, sig.protocol_version,  # type: ignore[union-attr]
                                                                  sig.protocol_sha256):
        why.append("the protocol version changed")
    if s.engine_version != sig.engine_version:  # type: ignore[union-attr]
        why.append("the engine version changed")
    return False, why or ["the signed state changed"]


def _signatures(db: Session, c: Candidate) -> list[Signature]:
    return list(db.execute(select(Signature).where(Signature.candidate_id == c.id).order_by(Signature.id)).scalars())


@contextmanager
def _watch_signatures(db: Session, c: Candidate, user: User, now: datetime) -> Iterator[None]:
    """Record an ``invalidate`` audit entry for each signature the enclosed change invalidates."""
    before = state_of(db, c)
    valid = [sig for sig in _signatures(db, c) if signature_state(sig, before)[0]]
    yield
    if not valid:
        return
    db.flush()
    after = state_of(db, c)
    for sig in valid:
        ok, why = signature_state(sig, after)
        if not ok:
            audit.append(db, at=now, actor=user, action="invalidate", history_type="-", entity_type="signature",
                         entity_key=c.number, old={"signature": sig.id, "bound_sha256": sig.bound_sha256,
                                                   "valid": True},
                         new={"signature": sig.id, "valid": False}, reason="; ".join(why))


def meaning_text(c: Candidate, cohort: str, verdict: str) -> str:
    if verdict == "eligible":
        return f"I confirm eligibility for cohort {cohort}"
    return f"I confirm that candidate {c.number} is not eligible for cohort {cohort} (screen failure)"


def sign(db: Session, user: User, now: datetime, c: Candidate, seen: int | None = None) -> Signature:
    """Sign the current state (the caller has checked the signer's password).

    Raises:
        Conflict: ``seen`` is stale, no screening for one cohort, missing data (``incomplete``),
            undecided review items, or a valid signature of this very state exists already.
    """
    claim(db, c, seen)
    st = state_of(db, c)
    if st.screening is None or st.cohort is None:
        raise Conflict(f"{c.number} has no screening for one cohort: choose the cohort and screen first")
    if st.open_reviews:
        raise Conflict(f"review items are not decided yet: {', '.join(st.open_reviews)}")
    verdict = st.effective
    if verdict not in ("eligible", "ineligible"):
        raise Conflict(f"cannot sign while the screening is {verdict}: collect the missing data first")
    if c.disposition is not None:
        raise Conflict(f"{c.number} is {c.disposition}")
    signed = next((sig for sig in _signatures(db, c) if signature_state(sig, st)[0]), None)
    if signed is not None:
        raise Conflict(f"{c.number} is already signed for this state by {signed.user.username} at "
                       f"{signed.signed_at.isoformat()}")
    snap = snapshot(st)
    text = canonical(snap)
    s = st.screening
    protocol = {"id": s.protocol_id, "version": s.protocol_version, "sha256": s.protocol_sha256}
    snap_sha = sha256_text(text)
    sig = Signature(candidate_id=c.id, screening_id=s.id, user_id=user.id, signed_at=now, cohort=s.cohort or "",
                    verdict=verdict, meaning=meaning_text(c, s.cohort or "", verdict), snapshot=text,
                    snapshot_sha256=snap_sha, protocol_id=s.protocol_id, protocol_version=s.protocol_version,
                    protocol_sha256=s.protocol_sha256, engine_version=s.engine_version,
                    bound_sha256=bound_hash(snap_sha, protocol, s.engine_version))
    db.add(sig)
    db.flush()
    audit.append(db, at=now, actor=user, action="sign", history_type="+", entity_type="signature",
                 entity_key=c.number, new={"signature": sig.id, "meaning": sig.meaning, "cohort": sig.cohort,
                                           "verdict": verdict, "bound_sha256": sig.bound_sha256,
                                           "snapshot_sha256": snap_sha, "protocol": protocol,
                                           "engine_version": s.engine_version})
    db.commit()
    return sig


# ---------------------------------------------------------------- disposition

def enroll(db: Session, user: User, now: datetime, c: Candidate, subject_id: str, seen: int | None = None) -> Candidate:
    subject_id = (subject_id or "").strip()
    if not subject_id or len(subject_id) > 40:
        raise Invalid("a subject id of 1 to 40 characters is needed")
    claim(db, c, seen)
    status = status_of(db, c)
    if status != "eligible":
        raise Conflict(f"only an eligible candidate with a valid signature can be enrolled ({c.number} is {status})")
    c.disposition, c.subject_id = "enrolled", subject_id
    audit.append(db, at=now, actor=user, action="enroll", history_type="~", entity_type="candidate",
                 entity_key=c.number, old={"status": status}, new={"status": "enrolled", "subject_id": subject_id})
    db.commit()
    return c


def withdraw(db: Session, user: User, now: datetime, c: Candidate, reason: str, seen: int | None = None) -> Candidate:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("withdrawing needs a reason")
    claim(db, c, seen)
    status = status_of(db, c)
    if status in ("withdrawn", "enrolled"):
        raise Conflict(f"{c.number} is {status}")
    c.disposition = "withdrawn"
    audit.append(db, at=now, actor=user, action="withdraw", history_type="~", entity_type="candidate",
                 entity_key=c.number, old={"status": status}, new={"status": "withdrawn"}, reason=reason)
    db.commit()
    return c


def status_of(db: Session, c: Candidate, st: State | None = None, sigs: list[Signature] | None = None) -> str:
    """One of :data:`STATUSES`; ``eligible`` and ``screen-failed`` need a valid signature."""
    if c.disposition:
        return c.disposition
    st = st or state_of(db, c)
    if st.screening is None:
        return "candidate"
    sigs = _signatures(db, c) if sigs is None else sigs
    if sigs:
        ok, _ = signature_state(sigs[-1], st)
        if ok:
            return "eligible" if sigs[-1].verdict == "eligible" else "screen-failed"
    if st.effective == "ineligible":
        return "ineligible"
    return "screening"


# ---------------------------------------------------------------- read models

def missing_panel(cohort: dict | None) -> list[dict[str, Any]]:
    """What is still missing, first what unblocks most criteria, then by name.

    Each entry: ``what``, the ``windows`` it must fall in, and the ``criteria`` waiting for it.
    """
    items: dict[str, dict[str, Any]] = {}
    for k in (cohort or {}).get("criteria", []):
        if k["outcome"] != "unknown":
            continue
        for need in k["needs"]:
            entry = items.setdefault(need["what"], {"what": need["what"], "windows": [], "criteria": []})
            if need["window"] and need["window"] not in entry["windows"]:
                entry["windows"].append(need["window"])
            if k["id"] not in entry["criteria"]:
                entry["criteria"].append(k["id"])
    return sorted(items.values(), key=lambda e: (-len(e["criteria"]), e["what"].lower()))


def _user_public(u: User | None) -> dict | None:
    return None if u is None else {"username": u.username, "display_name": u.display_name, "role": u.role}


def signature_json(sig: Signature, st: State) -> dict[str, Any]:
    ok, why = signature_state(sig, st)
    return {"id": sig.id, "signed_by": _user_public(sig.user), "signed_at": sig.signed_at.isoformat(),
            "cohort": sig.cohort, "verdict": sig.verdict, "meaning": sig.meaning,
            "bound_sha256": sig.bound_sha256, "snapshot_sha256": sig.snapshot_sha256,
            "protocol": {"id": sig.protocol_id, "version": sig.protocol_version, "sha256": sig.protocol_sha256},
            "engine_version": sig.engine_version, "valid": ok, "invalidated_because": why}


def checklist(db: Session, c: Candidate) -> dict[str, Any]:
    """The candidate's workspace as JSON: status, checklist, decisions, missing panel, signatures."""
    st = state_of(db, c)
    sigs = _signatures(db, c)
    s = st.screening
    rows = []
    for k in (st.cohort or {}).get("criteria", []):
        d = st.decisions.get(k["id"])
        rows.append({**k, "decision": None if d is None else {
            "decision": d.decision, "reason": d.reason, "by": _user_public(d.user), "at": d.decided_at.isoformat()}})
    return {
        "candidate": {"number": c.number, "cohort": c.cohort, "as_of": _iso(c.as_of), "enrollment": _iso(c.enrollment),
                      "lymphodepletion": _iso(c.lymphodepletion), "infusion": _iso(c.infusion),
                      "subject_id": c.subject_id, "status": status_of(db, c, st),
                      "row_version": c.row_version},
        "data": _data_json(latest_data(db, c)),
        "screening": None if s is None else {
            "id": s.id, "cohort": s.cohort, "as_of": _iso(s.as_of), "enrollment": _iso(s.enrollment),
            "infusion": _iso(s.infusion), "overall": s.overall, "verdict": st.effective,
            "data_version": st.data.version if st.data else None, "screened_at": s.created_at.isoformat(),
            "protocol": {"id": s.protocol_id, "version": s.protocol_version, "sha256": s.protocol_sha256},
            "engine_version": s.engine_version},
        "cohorts": [r["cohort"] for r in (st.result or {}).get("results", [])],
        "criteria": rows,
        "open_reviews": st.open_reviews,
        "missing": missing_panel(st.cohort),
        "clarifications": (st.result or {}).get("clarifications", {}),
        "notes": (st.result or {}).get("notes", []),
        "data_issues": (st.result or {}).get("data_issues", []),
        "signatures": [signature_json(sig, st) for sig in sigs],
    }


def _data_json(dv: DataVersion | None) -> dict | None:
    if dv is None:
        return None
    return {"version": dv.version, "kind": dv.kind, "sha256": dv.sha256, "imported_at": dv.created_at.isoformat()}


def screening_log(db: Session) -> dict[str, Any]:
    """Every candidate with status, cohort and screen-failure reasons; counts per cohort and status."""
    rows = []
    counts: dict[str, dict[str, int]] = {}
    candidates = list(db.execute(select(Candidate).order_by(Candidate.id)).scalars())
    loaded = states_of(db, candidates)
    for c in candidates:
        st, sigs = loaded[c.id]
        status = status_of(db, c, st, sigs)
        cohort = st.screening.cohort if st.screening and st.screening.cohort else c.cohort
        failing = [{"id": k["id"], "by": "engine", "reason": k["reason"]} if k["outcome"] == "fail" else
                   {"id": k["id"], "by": "investigator", "reason": st.decisions[k["id"]].reason}
                   for k in (st.cohort or {}).get("criteria", [])
                   if k["outcome"] == "fail" or (k["id"] in st.decisions and st.decisions[k["id"]].decision == "fail")]
        rows.append({"number": c.number, "status": status, "cohort": cohort, "subject_id": c.subject_id,
                     "overall": st.screening.overall if st.screening else None, "verdict": st.effective,
                     "failing": [f["id"] for f in failing], "failure_reasons": failing, "open_reviews": st.open_reviews,
                     "screened_at": st.screening.created_at.isoformat() if st.screening else None})
        per = counts.setdefault(cohort or "-", {s: 0 for s in STATUSES})
        per[status] += 1
    return {"candidates": rows, "counts": counts}


def counts(db: Session) -> dict[str, Any]:
    """Counts only (what an admin may see): per cohort and status."""
    log = screening_log(db)
    return {"total": len(log["candidates"]), "counts": log["counts"]}
