"""Optimistic locking on ``candidates.row_version`` and real concurrency, on SQLite and PostgreSQL.

Every change to a candidate bumps its ``row_version``; a client that sends the version it saw
(``If-Match`` for the API, the hidden ``row_version`` field of every page form) gets 409 with
who changed it and when if someone changed it since, never a silent overwrite. Concurrent
changes to one candidate run one after the other (:func:`trialdesk.app.workspace.claim`).
"""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from .app_helpers import PASSWORDS, example, new_candidate, post_bundle
from trialdesk.app import workspace as ws
from trialdesk.app.audit import verify
from trialdesk.app.deps import seen_version
from trialdesk.app.errors import Conflict
from trialdesk.app.models import AuditRecord, DataVersion, Screening, Signature, User
from trialdesk.app.users import create_user


def version(site, number: str) -> int:
    r = site.client("monitor").get(f"/api/candidates/{number}")
    assert r.headers["ETag"] == f'"{r.json()["candidate"]["row_version"]}"'
    return r.json()["candidate"]["row_version"]


def audit_count(site) -> int:
    with site.db() as db:
        return db.execute(select(func.count()).select_from(AuditRecord)).scalar_one()


def second_investigator(site) -> TestClient:
    with site.db() as db:
        create_user(db, site.rt.passwords, None, site.clock(), "investigator2", "Second Investigator", "investigator",
                    "investigator2-password")
    c = TestClient(site.app, follow_redirects=False)
    r = c.post("/api/auth/login", json={"username": "investigator2", "password": "investigator2-password"})
    assert r.status_code == 200, r.text
    c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
    site.clients["investigator2"] = c
    return c


def test_every_change_bumps_the_row_version(site):
    co, inv = site.client("coordinator"), site.client("investigator")
    number = new_candidate(site)
    steps = [
        lambda: co.patch(f"/api/candidates/{number}", json={"infusion": "2026-03-20"}),
        lambda: post_bundle(site, number, example("sle-old-seizure")),
        lambda: co.post(f"/api/candidates/{number}/screenings"),
        lambda: co.post(f"/api/candidates/{number}/labs",
                        json={"measure": "weight", "value": 41, "unit": "kg", "date": "2026-03-01"}),
        lambda: inv.post(f"/api/candidates/{number}/decisions",
                         json={"criterion_id": "EXC-CNS", "decision": "pass", "reason": "febrile, age 3"}),
        lambda: inv.post(f"/api/candidates/{number}/signatures", json={"password": PASSWORDS["investigator"]}),
        lambda: inv.post(f"/api/candidates/{number}/enroll", json={"subject_id": "CARNK-SLE-001"}),
    ]
    seen = version(site, number)
    assert seen == 1
    for step in steps:
        r = step()
        assert r.status_code in (200, 201), r.text
        assert version(site, number) == seen + 1
        seen += 1
    other = new_candidate(site)
    assert co.post(f"/api/candidates/{other}/withdraw", json={"reason": "declined"}).json()["row_version"] == 2


def test_a_stale_version_gets_409_naming_who_changed_it_and_nothing_is_written(site):
    co, inv = site.client("coordinator"), site.client("investigator")
    number = new_candidate(site)
    post_bundle(site, number, example("sle-old-seizure"))
    seen = version(site, number)
    site.clock.advance(minutes=5)
    ok = co.patch(f"/api/candidates/{number}", json={"enrollment": "2026-03-10"}, headers={"If-Match": f'"{seen}"'})
    assert ok.status_code == 200 and ok.json()["row_version"] == seen + 1
    before = audit_count(site)
    stale = {"If-Match": str(seen)}
    refused = [
        co.patch(f"/api/candidates/{number}", json={"enrollment": "2026-03-11"}, headers=stale),
        co.post(f"/api/candidates/{number}/screenings", content=example("sle-eligible"),
                headers={**stale, "Content-Type": "application/fhir+json"}),
        co.post(f"/api/candidates/{number}/screenings", headers=stale),
        co.post(f"/api/candidates/{number}/labs", headers=stale,
                json={"measure": "weight", "value": 41, "unit": "kg", "date": "2026-03-01"}),
        inv.post(f"/api/candidates/{number}/decisions", headers=stale,
                 json={"criterion_id": "EXC-CNS", "decision": "pass", "reason": "x"}),
        co.post(f"/api/candidates/{number}/withdraw", json={"reason": "x"}, headers=stale),
    ]
    for r in refused:
        assert r.status_code == 409, r.text
        detail = r.json()["detail"]
        assert f"{number} was changed by coordinator at 2026-03-02T09:05:00" in detail and "reload" in detail
        assert f"version {seen + 1}, yours {seen}" in detail
    assert audit_count(site) == before
    w = co.get(f"/api/candidates/{number}").json()
    assert w["candidate"]["enrollment"] == "2026-03-10" and w["data"]["version"] == 1 and w["open_reviews"]
    # the current version goes through
    r = co.patch(f"/api/candidates/{number}", json={"enrollment": "2026-03-11"}, headers={"If-Match": f'W/"{seen + 1}"'})
    assert r.status_code == 200 and r.json()["enrollment"] == "2026-03-11"


def test_an_if_match_that_is_not_a_version_is_a_422(site):
    number = new_candidate(site)
    for value in ["abc", "-1", "1.5", "", "*", "9" * 13]:
        r = site.client("coordinator").patch(f"/api/candidates/{number}", json={"infusion": "2026-03-20"},
                                             headers={"If-Match": value})
        assert r.status_code == 422 and "is not a row version" in r.json()["detail"], value
    assert version(site, number) == 1


def test_screening_with_query_parameters_and_if_match_follows_its_own_change(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-eligible"))
    seen = version(site, number)
    r = site.client("coordinator").post(f"/api/candidates/{number}/screenings?infusion=2026-03-20",
                                        content=example("sle-eligible"), headers={
                                            "If-Match": str(seen), "Content-Type": "application/fhir+json"})
    assert r.status_code == 200, r.text
    assert version(site, number) == seen + 2  # the date change, then the import


def test_page_forms_carry_the_version_and_a_stale_one_is_refused(site):
    co = site.client("coordinator")
    number = new_candidate(site)
    page = co.get(f"/candidates/{number}").text
    hidden = set(re.findall(r'name="row_version" value="(\d+)"', page))
    forms = re.findall(rf'<form method="post" action="/candidates/{number}/', page)
    assert hidden == {"1"} and len(forms) >= 3 and page.count('name="row_version"') == len(forms)
    site.clock.advance(minutes=1)
    assert site.client("investigator").patch(f"/api/candidates/{number}",
                                             json={"infusion": "2026-03-20"}).status_code == 200
    r = co.post(f"/candidates/{number}/settings", data={"csrf_token": co.headers["X-CSRF-Token"], "row_version": "1",
                                                        "cohort": "SLE", "as_of": "2026-03-02",
                                                        "infusion": "2026-03-25"})
    assert r.status_code == 409
    assert f"{number} was changed by investigator at 2026-03-02T09:01:00" in r.text and "reload" in r.text
    assert co.get(f"/api/candidates/{number}").json()["candidate"]["infusion"] == "2026-03-20"
    r = co.post(f"/candidates/{number}/settings", data={"csrf_token": co.headers["X-CSRF-Token"], "row_version": "2",
                                                        "cohort": "SLE", "as_of": "2026-03-02",
                                                        "infusion": "2026-03-25"})
    assert r.status_code == 303
    assert co.get(f"/api/candidates/{number}").json()["candidate"]["infusion"] == "2026-03-25"


def test_a_change_refused_after_the_claim_shows_an_error_page_not_a_500(site):
    """Regression: rolling back a claimed change expired the logged-in user, and rendering the
    error page (or the no-change redirect) then failed on the detached user."""
    co = site.client("coordinator")
    number = new_candidate(site)
    form = {"csrf_token": co.headers["X-CSRF-Token"], "row_version": "1", "cohort": "SLE", "as_of": "2026-03-02"}
    r = co.post(f"/candidates/{number}/settings", data={**form, "enrollment": "2026-03-20", "infusion": "2026-03-10"})
    assert r.status_code == 422 and "is before the enrollment date" in r.text and "Test Coordinator" in r.text
    r = co.post(f"/candidates/{number}/settings", data=form)  # nothing to change
    assert r.status_code == 303 and version(site, number) == 1


def _race(calls, rounds: int = 1) -> list:
    """Run the calls at the same moment from threads; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def valid_signatures(site, number: str) -> list[dict]:
    return [s for s in site.client("monitor").get(f"/api/candidates/{number}").json()["signatures"] if s["valid"]]


@pytest.mark.parametrize("send_version", [True, False], ids=["if-match", "no-version"])
def test_two_investigators_signing_at_once_give_one_valid_signature(site, send_version):
    inv1, inv2 = site.client("investigator"), second_investigator(site)
    for _ in range(3):
        number = new_candidate(site)
        post_bundle(site, number, example("sle-eligible"))
        headers = {"If-Match": str(version(site, number))} if send_version else {}
        results = _race([
            lambda: inv1.post(f"/api/candidates/{number}/signatures", json={"password": PASSWORDS["investigator"]},
                              headers=headers),
            lambda: inv2.post(f"/api/candidates/{number}/signatures", json={"password": "investigator2-password"},
                              headers=headers)])
        assert sorted(r.status_code for r in results) == [201, 409], [r.text for r in results]
        loser = next(r for r in results if r.status_code == 409).json()["detail"]
        assert ("was changed by investigator" in loser) if send_version else ("is already signed" in loser)
        assert len(valid_signatures(site, number)) == 1
        with site.db() as db:
            assert db.execute(select(func.count()).select_from(Signature)
                              .where(Signature.candidate_id == ws.candidate_by_number(db, number).id)).scalar_one() == 1
            assert verify(db).ok


def test_a_second_session_waits_for_the_first_and_sees_its_signature(site):
    """Two database sessions: while one holds the candidate, the other's signature waits, then is refused."""
    number = new_candidate(site)
    post_bundle(site, number, example("sle-eligible"))
    second_investigator(site)
    outcome: dict[str, object] = {}
    with site.db() as a, site.db() as b:
        ca, cb = ws.candidate_by_number(a, number), ws.candidate_by_number(b, number)
        u1 = a.execute(select(User).where(User.username == "investigator")).scalar_one()
        u2 = b.execute(select(User).where(User.username == "investigator2")).scalar_one()
        ws.claim(a, ca)  # the first holds the candidate (uncommitted)

        def second() -> None:
            try:
                outcome["signature"] = ws.sign(b, u2, site.clock(), cb)
            except Conflict as exc:
                outcome["conflict"] = exc.message

        t = threading.Thread(target=second)
        t.start()
        time.sleep(0.5)
        assert t.is_alive(), f"the second signer did not wait: {outcome}"
        ws.sign(a, u1, site.clock(), ca)
        t.join(30)
    assert not t.is_alive() and "signature" not in outcome
    assert f"{number} is already signed for this state by investigator" in str(outcome["conflict"])
    assert len(valid_signatures(site, number)) == 1


def test_concurrent_imports_each_become_one_data_version_with_its_screening(site):
    number = new_candidate(site)
    bodies = [example(n) for n in ("sle-eligible", "sle-lvef-54", "sle-old-seizure", "sle-live-vaccine")]
    results = _race([lambda b=b: post_bundle(site, number, b) for b in bodies])
    assert [r.status_code for r in results] == [200] * 4, [r.text[:200] for r in results if r.status_code != 200]
    with site.db() as db:
        c = ws.candidate_by_number(db, number)
        versions = db.execute(select(DataVersion).where(DataVersion.candidate_id == c.id)
                              .order_by(DataVersion.version)).scalars().all()
        assert [v.version for v in versions] == [1, 2, 3, 4]
        screened = db.execute(select(Screening.data_version_id).where(Screening.candidate_id == c.id)).scalars().all()
        assert sorted(screened) == sorted(v.id for v in versions)
        assert c.row_version == 5 and verify(db).ok


def test_concurrent_changes_with_the_same_version_let_exactly_one_through(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-eligible"))
    seen = str(version(site, number))
    co, inv = site.client("coordinator"), site.client("investigator")
    results = _race([
        lambda: co.patch(f"/api/candidates/{number}", json={"infusion": "2026-03-20"}, headers={"If-Match": seen}),
        lambda: inv.patch(f"/api/candidates/{number}", json={"infusion": "2026-03-27"}, headers={"If-Match": seen}),
        lambda: co.post(f"/api/candidates/{number}/screenings", content=example("sle-lvef-54"),
                        headers={"If-Match": seen, "Content-Type": "application/fhir+json"}),
    ])
    assert sorted(r.status_code for r in results) == [200, 409, 409], [r.text[:200] for r in results]
    assert version(site, number) == int(seen) + 1


def _depends_on_seen_version(dependant) -> bool:
    return any(d.call is seen_version or _depends_on_seen_version(d) for d in dependant.dependencies)


def test_every_mutating_candidate_route_refuses_a_stale_version(site):
    """Each POST/PATCH on a candidate (the authorization matrix's table and bodies, so new routes are
    covered as they appear) reads the version it is sent, and a stale one writes nothing."""
    from fastapi.routing import APIRoute

    from trialdesk.app.main import routers

    from .test_authz import EXPECTED, FORMS, JSON_BODIES

    served = {(m, prefix + r.path): r for prefix, router in routers() for r in router.routes
              if isinstance(r, APIRoute) for m in r.methods if m in ("POST", "PATCH") and "{number}" in r.path}
    unchecked = [f"{m} {p}" for (m, p), r in sorted(served.items()) if not _depends_on_seen_version(r.dependant)]
    assert not unchecked, unchecked
    mutating = sorted(key for key in served if key in EXPECTED)  # the matrix's bodies get past validation
    assert len(mutating) >= 20

    co, inv = site.client("coordinator"), site.client("investigator")
    number = new_candidate(site)  # for the screening routes
    post_bundle(site, number, example("sle-old-seizure"))
    subject = new_candidate(site, enrollment="2026-03-02", infusion="2026-03-05")  # for the follow-up routes
    post_bundle(site, subject, example("sle-eligible"))
    assert inv.post(f"/api/candidates/{subject}/signatures", json={"password": PASSWORDS["investigator"]}).is_success
    assert inv.post(f"/api/candidates/{subject}/enroll", json={"subject_id": "CARNK-SLE-009"}).is_success
    document = co.get(f"/api/candidates/{subject}/followup/document")
    assert document.status_code == 200, document.text
    stale = {n: version(site, n) for n in (number, subject)}
    assert co.patch(f"/api/candidates/{number}", json={"infusion": "2026-03-20"}).is_success
    assert co.patch(f"/api/candidates/{subject}", json={"reason": "x", "lymphodepletion": "2026-03-03"}).is_success
    failures = []
    for method, path in mutating:
        allowed = EXPECTED[method, path]
        client = site.client("investigator" if "investigator" in allowed else sorted(allowed)[0])
        n = subject if "/followup" in path else number
        url = path.replace("{number}", n)
        csrf = client.headers["X-CSRF-Token"]
        before = audit_count(site)
        if path.startswith("/api"):
            headers = {"If-Match": str(stale[n])}
            if path.endswith("/screenings"):
                r = client.request(method, url, content=example("sle-eligible"),
                                   headers={**headers, "Content-Type": "application/fhir+json"})
            elif path.endswith("/followup"):
                r = client.request(method, url, content=document.content,
                                   headers={**headers, "Content-Type": document.headers["content-type"]})
            else:
                r = client.request(method, url, json=JSON_BODIES.get(path, {}), headers=headers)
        elif path.endswith("/followup/import"):
            r = client.post(url, data={"csrf_token": csrf, "row_version": str(stale[n])},
                            files={"document": ("followup" + (".json" if "json" in document.headers["content-type"]
                                                              else ".yaml"), document.content)})
        elif path.endswith("/import"):
            r = client.post(url, data={"csrf_token": csrf, "row_version": str(stale[n])},
                            files={"bundle": ("b.json", example("sle-eligible"), "application/json")})
        else:
            r = client.post(url, data={**FORMS.get(path, {}), "csrf_token": csrf, "row_version": str(stale[n])})
        if r.status_code != 409 or f"{n} was changed by coordinator" not in r.text:
            failures.append(f"{method} {path}: {r.status_code} {r.text[:120]!r}")
        if audit_count(site) != before or version(site, n) != stale[n] + 1:
            failures.append(f"{method} {path}: wrote something with a stale version")
    assert not failures, "\n".join(failures)
