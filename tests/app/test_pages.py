"""Server-rendered pages: the whole flow through forms, output encoding, security headers."""

from __future__ import annotations

import re

from .app_helpers import example, new_candidate, post_bundle

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def csrf(site, role: str) -> str:
    return site.client(role).headers["X-CSRF-Token"]


def form(site, who: str, url: str, **data):
    return site.client(who).post(url, data={**data, "csrf_token": csrf(site, who)})


def test_the_flow_through_the_pages(site):
    coord = site.client("coordinator")
    r = form(site, "coordinator", "/candidates", cohort="SLE", as_of="2026-03-02")
    assert r.status_code == 303
    url = r.headers["location"]
    number = url.rsplit("/", 1)[1]
    assert re.fullmatch(r"S-\d{4}", number)
    r = coord.post(f"{url}/import", data={"csrf_token": csrf(site, "coordinator")},
                   files={"bundle": ("patient.json", example("sle-old-seizure"), "application/json")})
    assert r.status_code == 303 and r.headers["location"] == url
    page = coord.get(url)
    assert page.status_code == 200
    assert "needs_review" in page.text and "EXC-CNS" in page.text and "Import and screen" in page.text
    assert 'name="csrf_token"' in page.text

    review = site.client("investigator").get(f"{url}/review")
    assert "Decide" in review.text and "Decide the review items first" in review.text
    r = form(site, "investigator", f"{url}/decisions", criterion_id="EXC-CNS", decision="pass",
             reason="single seizure in 2019")
    assert r.status_code == 303
    review = site.client("investigator").get(f"{url}/review")
    assert "I confirm eligibility for cohort SLE" in review.text
    bad = form(site, "investigator", f"{url}/sign", password="wrong-password")
    assert bad.status_code == 403 and "password does not match" in bad.text
    assert form(site, "investigator", f"{url}/sign", password="investigator-password-1").status_code == 303
    review = site.client("investigator").get(f"{url}/review")
    assert "Valid</strong>" in review.text and "Enroll" in review.text

    r = form(site, "coordinator", f"{url}/labs", measure="weight", value="40", unit="kg", when="2026-03-01")
    assert r.status_code == 303
    page = site.client("monitor").get(url)
    assert "Invalidated</strong>" in page.text and "the data changed" in page.text
    assert "Import and screen" not in page.text  # monitors read only
    log = site.client("monitor").get("/candidates")
    assert number in log.text and "screening" in log.text and "New candidate" not in log.text


def test_form_errors_show_the_reason(site):
    number = new_candidate(site)
    r = site.client("coordinator").post(f"/candidates/{number}/import", data={"csrf_token": csrf(site, "coordinator")},
                                        files={"bundle": ("x.json", b"[1, 2]", "application/json")})
    assert r.status_code == 422 and "not a JSON object" in r.text
    r = form(site, "coordinator", f"/candidates/{number}/settings", as_of="02.03.2026")
    assert r.status_code == 422 and "is not a date" in r.text
    assert site.client("coordinator").get("/candidates/S-0404").status_code == 404


def test_fhir_text_is_output_encoded(site):
    number = new_candidate(site)
    hostile = example("sle-old-seizure").replace(b'"display": "Seizure"', b'"display": ' +
                                                 f'"{PAYLOAD.replace(chr(34), chr(92) + chr(34))}"'.encode())
    r = post_bundle(site, number, hostile)
    assert r.status_code == 200
    assert PAYLOAD in str(r.json())  # the JSON API returns the data as they are
    site.client("investigator").post(f"/api/candidates/{number}/decisions", json={
        "criterion_id": "EXC-CNS", "decision": "pass", "reason": PAYLOAD})
    for role, path in (("coordinator", f"/candidates/{number}"), ("investigator", f"/candidates/{number}/review"),
                       ("monitor", "/audit")):
        page = site.client(role).get(path)
        assert page.status_code == 200
        assert "<script>" not in page.text and "<img src=x" not in page.text, path
        assert "&lt;script&gt;" in page.text or "\\u003cscript\\u003e" in page.text, path


def test_security_headers(site):
    page = site.client("monitor").get("/candidates")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_login_page_and_home_redirects(site):
    anonymous = site.anonymous()
    assert anonymous.get("/").headers["location"] == "/login"
    assert anonymous.get("/candidates").headers["location"] == "/login"
    assert "Log in" in anonymous.get("/login").text
    assert site.client("admin").get("/").headers["location"] == "/users"
    assert site.client("coordinator").get("/login").headers["location"] == "/"
    r = form(site, "coordinator", "/logout")
    assert r.status_code == 303 and r.headers["location"] == "/login?logged_out=1"


def test_admin_manages_users_through_the_page(site):
    r = form(site, "admin", "/users", username="new.coordinator", display_name="N. Coordinator", role="coordinator",
             password="a-long-password")
    assert r.status_code == 303
    page = site.client("admin").get("/users")
    assert "new.coordinator" in page.text and "Candidates: 0" in page.text
    login = site.anonymous().post("/api/auth/login",
                                  json={"username": "new.coordinator", "password": "a-long-password"})
    assert login.status_code == 200 and login.json()["user"]["role"] == "coordinator"
