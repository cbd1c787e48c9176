"""The authorization matrix: every route x every role x no log-in, against a table written out here.

The table is independent of the application's permission table: a route added without a row
here fails ``test_the_table_covers_every_route``; a role let in (or kept out) by mistake fails
the matrix. "Allowed" means the request got past authentication and authorization (any status
but 401/403 and, for pages, no redirect to the log-in page); denied means 403 for a logged-in
role and 401 (API) or a redirect to /login (pages) without a log-in.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .app_helpers import PASSWORDS, ROLES, example, new_candidate, post_bundle
from trialdesk.app.main import routes

CO, IN, MO, AD = "coordinator", "investigator", "monitor", "admin"
EVERYONE = {CO, IN, MO, AD}
PUBLIC = "public"

EXPECTED: dict[tuple[str, str], set[str] | str] = {
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): EVERYONE,
    ("GET", "/api/auth/me"): EVERYONE,
    ("GET", "/api/protocol"): EVERYONE,
    ("GET", "/api/protocol/versions"): EVERYONE,
    ("POST", "/api/protocol/versions"): {IN},
    ("GET", "/api/protocol/versions/{version_id}/preview"): {IN},
    ("POST", "/api/protocol/versions/{version_id}/activate"): {IN},
    ("GET", "/api/counts"): EVERYONE,
    ("GET", "/api/users"): {AD},
    ("POST", "/api/users"): {AD},
    ("PATCH", "/api/users/{username}"): {AD},
    ("GET", "/api/candidates"): {CO, IN, MO},
    ("POST", "/api/candidates"): {CO, IN},
    ("GET", "/api/candidates/{number}"): {CO, IN, MO},
    ("PATCH", "/api/candidates/{number}"): {CO, IN},
    ("POST", "/api/candidates/{number}/screenings"): {CO, IN},
    ("GET", "/api/candidates/{number}/screening"): {CO, IN, MO},
    ("GET", "/api/candidates/{number}/bundle"): {CO, IN, MO},
    ("POST", "/api/candidates/{number}/labs"): {CO, IN},
    ("POST", "/api/candidates/{number}/decisions"): {IN},
    ("POST", "/api/candidates/{number}/signatures"): {IN},
    ("POST", "/api/candidates/{number}/enroll"): {IN},
    ("POST", "/api/candidates/{number}/withdraw"): {CO, IN},
    ("GET", "/api/candidates/{number}/records"): {CO, IN, MO},
    ("POST", "/api/candidates/{number}/performance-status"): {CO, IN},
    ("POST", "/api/candidates/{number}/ecg"): {CO, IN},
    ("POST", "/api/candidates/{number}/sledai-2k"): {CO, IN},
    ("POST", "/api/candidates/{number}/eular-acr-2019"): {CO, IN},
    ("POST", "/api/candidates/{number}/medications"): {CO, IN},
    ("POST", "/api/candidates/{number}/attestations"): {IN},
    ("POST", "/api/candidates/{number}/corrections"): {CO, IN},
    ("GET", "/api/candidates/{number}/milestones"): {CO, IN, MO},
    ("GET", "/api/screening-log/export.csv"): {CO, IN, MO},
    ("GET", "/api/screening-log/export.xlsx"): {CO, IN, MO},
    ("GET", "/api/screening-log/flow.svg"): {CO, IN, MO},
    ("GET", "/api/candidates/{number}/followup"): {CO, IN, MO},
    ("POST", "/api/candidates/{number}/followup"): {CO, IN},
    ("GET", "/api/candidates/{number}/followup/versions"): {CO, IN, MO},
    ("GET", "/api/candidates/{number}/followup/document"): {CO, IN, MO},
    ("POST", "/api/candidates/{number}/followup/doses"): {CO, IN},
    ("POST", "/api/candidates/{number}/followup/visits"): {CO, IN},
    ("POST", "/api/candidates/{number}/followup/medications"): {CO, IN},
    ("POST", "/api/candidates/{number}/followup/adverse-events"): {IN},
    ("GET", "/api/candidates/{number}/followup/timeline.svg"): {CO, IN, MO},
    ("GET", "/api/candidates/{number}/followup/timeline.png"): {CO, IN, MO},
    ("GET", "/api/followup/cohort"): {CO, IN, MO},
    ("GET", "/api/followup/swimmer.svg"): {CO, IN, MO},
    ("GET", "/api/followup/swimmer.png"): {CO, IN, MO},
    ("GET", "/api/followup/export.csv"): {CO, IN, MO},
    ("GET", "/api/followup/export.zip"): {CO, IN, MO},
    ("GET", "/api/audit"): {MO},
    ("GET", "/api/audit/verify"): {MO},
    ("GET", "/api/audit/export.csv"): {MO},
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): EVERYONE,
    ("GET", "/"): EVERYONE,
    ("GET", "/candidates"): {CO, IN, MO},
    ("POST", "/candidates"): {CO, IN},
    ("GET", "/candidates/{number}"): {CO, IN, MO},
    ("POST", "/candidates/{number}/import"): {CO, IN},
    ("POST", "/candidates/{number}/settings"): {CO, IN},
    ("POST", "/candidates/{number}/screen"): {CO, IN},
    ("POST", "/candidates/{number}/labs"): {CO, IN},
    ("GET", "/candidates/{number}/review"): {CO, IN, MO},
    ("POST", "/candidates/{number}/decisions"): {IN},
    ("POST", "/candidates/{number}/sign"): {IN},
    ("POST", "/candidates/{number}/enroll"): {IN},
    ("POST", "/candidates/{number}/withdraw"): {CO, IN},
    ("POST", "/candidates/{number}/performance-status"): {CO, IN},
    ("POST", "/candidates/{number}/ecg"): {CO, IN},
    ("POST", "/candidates/{number}/sledai-2k"): {CO, IN},
    ("POST", "/candidates/{number}/eular-acr-2019"): {CO, IN},
    ("POST", "/candidates/{number}/medications"): {CO, IN},
    ("POST", "/candidates/{number}/attestations"): {IN},
    ("POST", "/candidates/{number}/corrections"): {CO, IN},
    ("GET", "/candidates/{number}/milestones"): {CO, IN, MO},
    ("POST", "/candidates/{number}/milestones"): {CO, IN},
    ("GET", "/candidates/{number}/followup"): {CO, IN, MO},
    ("POST", "/candidates/{number}/followup/import"): {CO, IN},
    ("POST", "/candidates/{number}/followup/doses"): {CO, IN},
    ("POST", "/candidates/{number}/followup/visits"): {CO, IN},
    ("POST", "/candidates/{number}/followup/disease-activity"): {CO, IN},
    ("POST", "/candidates/{number}/followup/crs-icans"): {CO, IN},
    ("POST", "/candidates/{number}/followup/medications"): {CO, IN},
    ("POST", "/candidates/{number}/followup/adverse-events"): {IN},
    ("GET", "/followup"): {CO, IN, MO},
    ("GET", "/audit"): {MO},
    ("GET", "/users"): {AD},
    ("POST", "/users"): {AD},
    ("GET", "/protocol"): EVERYONE,
    ("POST", "/protocol"): {IN},
    ("GET", "/protocol/versions/{version_id}"): {IN},
    ("POST", "/protocol/versions/{version_id}/activate"): {IN},
}

JSON_BODIES = {
    "/api/auth/login": {"username": "monitor", "password": PASSWORDS["monitor"]},
    "/api/users": {"username": "matrix.user", "role": "monitor", "password": "matrix-password-1"},
    "/api/users/{username}": {},
    "/api/candidates": {"cohort": "SLE", "as_of": "2026-03-02"},
    "/api/candidates/{number}": {"infusion": "2026-03-05"},
    "/api/candidates/{number}/labs": {"measure": "weight", "value": 40, "unit": "kg", "date": "2026-03-01"},
    "/api/candidates/{number}/decisions": {"criterion_id": "EXC-CNS", "decision": "pass", "reason": "matrix"},
    "/api/candidates/{number}/signatures": {"password": PASSWORDS["investigator"]},
    "/api/candidates/{number}/enroll": {"subject_id": "MATRIX-1"},
    "/api/candidates/{number}/withdraw": {"reason": "matrix"},
    "/api/candidates/{number}/performance-status": {"scale": "ecog", "score": 1, "date": "2026-03-01"},
    "/api/candidates/{number}/ecg": {"impression": "normal", "date": "2026-03-01"},
    "/api/candidates/{number}/sledai-2k": {"descriptors": ["arthritis"], "date": "2026-03-01"},
    "/api/candidates/{number}/eular-acr-2019": {"items": ["fever"], "date": "2026-03-01"},
    "/api/candidates/{number}/medications": {"drug": "prednisone", "dose": 5, "unit": "mg", "route": "oral",
                                             "start": "2026-01-01"},
    "/api/candidates/{number}/attestations": {"code": "labs-not-significant", "value": True},
    "/api/candidates/{number}/corrections": {"record": "Observation/none", "action": "remove", "reason": "matrix"},
    "/api/candidates/{number}/followup/doses": {"dose": {"kind": "car-nk"}},
    "/api/candidates/{number}/followup/visits": {"visit": {"visit": "d1"}},
    "/api/candidates/{number}/followup/medications": {"medications_complete_through": "2026-03-01"},
    "/api/candidates/{number}/followup/adverse-events": {"adverse_event": {"term": "Fever"}},
}
FORMS = {
    "/login": {"username": "monitor", "password": PASSWORDS["monitor"]},
    "/candidates": {"cohort": "SLE"},
    "/candidates/{number}/settings": {"cohort": "SLE", "as_of": "2026-03-02"},
    "/candidates/{number}/labs": {"measure": "weight", "value": "40", "unit": "kg", "when": "2026-03-01"},
    "/candidates/{number}/decisions": {"criterion_id": "EXC-CNS", "decision": "pass", "reason": "matrix"},
    "/candidates/{number}/sign": {"password": PASSWORDS["investigator"]},
    "/candidates/{number}/enroll": {"subject_id": "MATRIX-2"},
    "/candidates/{number}/withdraw": {"reason": "matrix"},
    "/candidates/{number}/performance-status": {"scale": "ecog", "score": "1", "when": "2026-03-01"},
    "/candidates/{number}/ecg": {"impression": "normal", "when": "2026-03-01"},
    "/candidates/{number}/sledai-2k": {"descriptors": "arthritis", "when": "2026-03-01"},
    "/candidates/{number}/eular-acr-2019": {"items": "fever", "when": "2026-03-01"},
    "/candidates/{number}/medications": {"drug": "prednisone", "dose": "5", "unit": "mg", "route": "oral",
                                         "start": "2026-01-01"},
    "/candidates/{number}/attestations": {"code": "labs-not-significant", "value": "yes"},
    "/candidates/{number}/corrections": {"record": "Observation/none", "action": "remove", "reason": "matrix"},
    "/candidates/{number}/milestones": {"enrollment": "2026-03-04", "lymphodepletion": "2026-03-06",
                                        "infusion": "2026-03-09"},
    "/users": {"username": "matrix.form", "role": "monitor", "password": "matrix-password-2"},
}


def test_the_table_covers_every_route():
    served = {(method, path) for method, path, _ in routes() if method != "HEAD"}
    assert served == set(EXPECTED)


def _request(client: TestClient, method: str, path: str, csrf: str | None):
    url = path.replace("{number}", "S-0001").replace("{username}", "coordinator").replace("{version_id}", "1")
    headers = {"X-CSRF-Token": csrf} if csrf and path.startswith("/api") else {}
    if path.endswith("/screenings"):
        return client.request(method, url, content=example("sle-old-seizure"), headers=headers)
    if path.endswith("/import"):
        return client.request(method, url, data={"csrf_token": csrf or ""}, headers=headers,
                              files={"bundle": ("b.json", example("sle-old-seizure"), "application/json")})
    if path.startswith("/api"):
        return client.request(method, url, json=JSON_BODIES.get(path), headers=headers)
    if method == "POST":
        return client.request(method, url, data={**FORMS.get(path, {}), "csrf_token": csrf or ""})
    return client.request(method, url)


def _login(site, role: str) -> tuple[TestClient, str]:
    client = TestClient(site.app, follow_redirects=False)
    r = client.post("/api/auth/login", json={"username": role, "password": PASSWORDS[role]})
    assert r.status_code == 200
    return client, r.json()["csrf_token"]


def test_authorization_matrix(site):
    number = new_candidate(site)
    assert post_bundle(site, number, example("sle-old-seizure")).status_code == 200
    failures = []
    for (method, path), allowed in EXPECTED.items():
        for who in (*ROLES, None):
            if who is None:
                client, csrf = TestClient(site.app, follow_redirects=False), None
                if path == "/login" and method == "POST":  # the log-in form's own double-submit token
                    client.get("/login")
            else:
                client, csrf = _login(site, who)
            r = _request(client, method, path, csrf)
            to_login = r.status_code == 303 and r.headers.get("location") == "/login"
            got_in = r.status_code not in (401, 403) and not to_login
            if path == "/login" and method == "POST":
                got_in = r.status_code != 401  # a 403 here is the log-in form's own token, not authorization
            expected_in = allowed == PUBLIC or (who is not None and who in allowed)
            if got_in != expected_in:
                failures.append(f"{method} {path} as {who or 'anonymous'}: {r.status_code} {r.text[:80]!r}")
            elif not expected_in:
                want = 403 if who else (303 if not path.startswith("/api") else 401)
                if r.status_code != want:
                    failures.append(f"{method} {path} as {who or 'anonymous'}: {r.status_code}, expected {want}")
            client.close()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("path", ["/openapi.json", "/static/style.css", "/login"])
def test_public_resources(site, path):
    assert site.anonymous().get(path).status_code == 200


def test_admin_sees_counts_but_no_patient_data(site):
    number = new_candidate(site)
    post_bundle(site, number, example("sle-eligible"))
    admin = site.client(AD)
    assert admin.get("/api/counts").json() == {"total": 1, "counts": {"SLE": {
        "candidate": 0, "screening": 1, "eligible": 0, "ineligible": 0, "screen-failed": 0, "enrolled": 0,
        "withdrawn": 0}}}
    page = admin.get("/users")
    assert page.status_code == 200 and number not in page.text
    for path in (f"/api/candidates/{number}", f"/api/candidates/{number}/bundle", "/api/audit",
                 f"/candidates/{number}"):
        assert admin.get(path).status_code == 403
