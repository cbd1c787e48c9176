"""Broken and hostile FHIR bundles through the API and the upload page, on SQLite and PostgreSQL.

The strategies are the engine's (``tests/engine/strategies.py``). Whatever is posted to
``POST /api/candidates/{n}/screenings``: never a 500; a bundle that cannot be read gets a
422 whose ``detail`` says why and stores nothing; one that can be read becomes exactly one data
version, screened, with every data issue located; and a criterion whose only evidence is a
malformed resource is never ``pass``, in the answer and in the stored checklist.
"""

from __future__ import annotations

import json
import re

from engine.strategies import NOT_BUNDLES, corrupted_bundles, malformed_evidence
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from .app_helpers import example, new_candidate, post_bundle
from trialdesk.app.models import DataVersion

SETTINGS = settings(max_examples=15, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))
LOCATED = re.compile(r"^[A-Z][A-Za-z]*/(#\d+|\S+)$|^Bundle")


def stored_versions(site) -> int:
    with site.db() as db:
        return db.execute(select(func.count()).select_from(DataVersion)).scalar_one()


def check_answer(site, r, before: int) -> dict | None:
    """The answer to an upload: 200 with a located screening and one more data version, or a 4xx
    that says why and stores nothing."""
    assert r.status_code in (200, 413, 422), (r.status_code, r.text[:300])
    if r.status_code != 200:
        detail = r.json()["detail"]
        assert isinstance(detail, str) and detail.strip(), detail
        assert stored_versions(site) == before
        return None
    result = r.json()
    json.dumps(result, allow_nan=False)
    assert all(LOCATED.match(i["resource"]) and i["message"].strip() for i in result["data_issues"]), \
        result["data_issues"]
    assert stored_versions(site) == before + 1
    return result


def test_broken_and_hostile_uploads_get_a_screening_or_a_clear_422(site):
    number = new_candidate(site, cohort=None)

    @SETTINGS
    @given(data=st.one_of(corrupted_bundles().map(lambda c: c[0]), NOT_BUNDLES))
    def upload(data):
        before = stored_versions(site)
        check_answer(site, post_bundle(site, number, data), before)

    upload()


def test_a_criterion_whose_only_evidence_is_malformed_never_passes_through_the_api(site):
    @SETTINGS
    @given(case=malformed_evidence())
    def upload(case):
        name, criterion, ids, bundle, how = case
        number, before = new_candidate(site, cohort=None), stored_versions(site)
        result = check_answer(site, post_bundle(site, number, json.dumps(bundle).encode()), before)
        assert result is not None, how
        answered = [c["outcome"] for r in result["results"] for c in r["criteria"] if c["id"] == criterion]
        assert answered and "pass" not in answered, (name, criterion, how)
        w = site.client("monitor").get(f"/api/candidates/{number}").json()
        stored = [c["outcome"] for c in w["criteria"] if c["id"] == criterion]
        assert stored and "pass" not in stored, (name, criterion, how)
        assert {f"Observation/{i}" for i in ids} & {i["resource"] for i in w["data_issues"]}, how

    upload()


def test_the_upload_page_answers_broken_files_with_an_error_page(site):
    number = new_candidate(site, cohort=None)
    co = site.client("coordinator")

    @settings(max_examples=8, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(data=st.one_of(corrupted_bundles().map(lambda c: c[0]), NOT_BUNDLES))
    def upload(data):
        before = stored_versions(site)
        r = co.post(f"/candidates/{number}/import", data={"csrf_token": co.headers["X-CSRF-Token"]},
                    files={"bundle": ("upload.json", data, "application/json")})
        assert r.status_code in (303, 422), (r.status_code, r.text[:300])
        assert stored_versions(site) == before + (r.status_code == 303)
        if r.status_code == 422:
            assert "<h1>" in r.text and "422" in r.text

    upload()


def test_page_forms_with_garbage_values_never_fail_with_a_500(site):
    """Every page form on a candidate (the authorization matrix's fields), each field given random
    text: an error page or a redirect, never a server error (the pages are not in the API schema)."""
    from .test_authz import EXPECTED, FORMS

    number = new_candidate(site, cohort=None)
    post_bundle(site, number, example("sle-old-seizure"))
    routes = sorted(p for m, p in EXPECTED if m == "POST" and p.startswith("/candidates/{number}/") and p in FORMS)
    assert len(routes) >= 10
    values = st.one_of(st.text(max_size=30), st.sampled_from(["", "2026-02-30", "-1", "1e999", "NaN", "S-0001",
                                                              "<script>", "\x00", "9" * 40]))

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(path=st.sampled_from(routes), data=st.data())
    def submit(path, data):
        allowed = EXPECTED["POST", path]
        client = site.client("investigator" if "investigator" in allowed else sorted(allowed)[0])
        form = {key: data.draw(values, label=key) for key in FORMS[path]}
        r = client.post(path.replace("{number}", number), data={**form, "csrf_token": client.headers["X-CSRF-Token"]})
        assert r.status_code < 500, (path, form, r.text[:300])

    submit()


def test_a_nul_character_is_refused_with_a_422_not_a_500(site, database_url):
    """Found by the page-form property on PostgreSQL, whose text columns cannot hold NUL: the
    database's refusal is answered as a 422 saying why (SQLite stores the character)."""
    number = new_candidate(site)
    co, mo = site.client("coordinator"), site.client("monitor")
    postgres = database_url.startswith("postgresql")
    before = stored_versions(site)
    r = co.patch(f"/api/candidates/{number}", json={"infusion": "2026-03-20", "reason": "a\u0000b"})
    assert r.status_code == (422 if postgres else 200), r.text
    if postgres:
        assert "NUL" in r.json()["detail"] and version_of(site, number) == 1
    r = co.post(f"/candidates/{number}/withdraw", data={"reason": "moved\u0000away", "csrf_token": co.headers[
        "X-CSRF-Token"]})
    assert r.status_code == (422 if postgres else 303)
    if postgres:
        assert "a value cannot be stored" in r.text and "Test Coordinator" in r.text
    assert mo.get("/api/audit", params={"actor": "x\u0000"}).status_code == (422 if postgres else 200)
    assert stored_versions(site) == before


def version_of(site, number: str) -> int:
    return site.client("monitor").get(f"/api/candidates/{number}").json()["candidate"]["row_version"]
