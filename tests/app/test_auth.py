"""Log-in, cookies, CSRF, throttling, idle timeout, and the secret-key rule."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from .app_helpers import PASSWORDS, example, make_site, new_candidate, post_bundle
from trialdesk.app.models import AuditRecord, User
from trialdesk.app.settings import Settings, SettingsError


def login(client, username, password):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def test_session_cookie_is_httponly_and_samesite_lax(site):
    r = login(site.anonymous(), "coordinator", PASSWORDS["coordinator"])
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "td_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    assert r.json()["user"]["role"] == "coordinator" and len(r.json()["csrf_token"]) == 64


def test_cookie_is_secure_behind_tls(database_url):
    site = make_site(database_url, https=True)
    try:
        r = login(site.anonymous(), "monitor", PASSWORDS["monitor"])
        assert "Secure" in r.headers["set-cookie"]
        page = site.anonymous().get("/login")
        assert "Secure" in page.headers["set-cookie"]
    finally:
        site.dispose()


def test_wrong_password_is_refused_and_audited(site):
    c = site.anonymous()
    assert login(c, "coordinator", "wrong-password").status_code == 401
    assert login(c, "nobody", "whatever-password").status_code == 401
    assert c.get("/api/auth/me").status_code == 401
    with site.db() as db:
        failed = db.execute(select(AuditRecord).where(AuditRecord.action == "login_failed")).scalars().all()
    assert [f.entity_key for f in failed] == ["coordinator", "nobody"]


def test_login_is_throttled_after_repeated_failures(site):
    c = site.anonymous()
    for _ in range(5):
        assert login(c, "investigator", "guess-guess-guess").status_code == 401
    r = login(c, "investigator", PASSWORDS["investigator"])
    assert r.status_code == 429  # even the right password, for a while
    assert login(c, "coordinator", PASSWORDS["coordinator"]).status_code == 200  # other users are not locked
    site.clock.advance(minutes=16)
    assert login(c, "investigator", PASSWORDS["investigator"]).status_code == 200


def test_wrong_signing_passwords_count_towards_throttling(site):
    number = new_candidate(site)
    assert post_bundle(site, number, example("sle-eligible")).status_code == 200
    inv = site.client("investigator")
    for _ in range(5):
        assert inv.post(f"/api/candidates/{number}/signatures", json={"password": "nope-nope-nope"}).status_code == 403
    r = inv.post(f"/api/candidates/{number}/signatures", json={"password": PASSWORDS["investigator"]})
    assert r.status_code == 429
    assert login(site.anonymous(), "investigator", PASSWORDS["investigator"]).status_code == 429
    with site.db() as db:
        failed = db.execute(select(AuditRecord).where(AuditRecord.action == "sign_failed")).scalars().all()
    assert len(failed) == 5


def test_idle_timeout_ends_the_session(site):
    c = site.client("monitor")
    site.clock.advance(minutes=14)
    assert c.get("/api/auth/me").status_code == 200  # touches the session
    site.clock.advance(minutes=14)
    assert c.get("/api/auth/me").status_code == 200
    site.clock.advance(minutes=16)
    assert c.get("/api/auth/me").status_code == 401
    assert c.get("/candidates").status_code == 303  # pages send you to the log-in page


def test_sessions_end_after_the_maximum_lifetime(site):
    c = site.client("monitor")
    for _ in range(49):  # 12.25 hours of steady use
        site.clock.advance(minutes=15)
        c.get("/api/auth/me")
    assert c.get("/api/auth/me").status_code == 401


def test_logout_ends_the_session(site):
    c = site.client("coordinator")
    assert c.post("/api/auth/logout").status_code == 204
    assert c.get("/api/auth/me").status_code == 401


def test_deactivated_users_lose_their_sessions(site):
    c = site.client("coordinator")
    r = site.client("admin").patch("/api/users/coordinator", json={"active": False, "reason": "left the site"})
    assert r.status_code == 200 and r.json()["active"] is False
    assert c.get("/api/auth/me").status_code == 401
    assert login(site.anonymous(), "coordinator", PASSWORDS["coordinator"]).status_code == 401


def test_mutating_requests_need_the_csrf_token(site):
    c = site.client("coordinator")
    token = c.headers.pop("X-CSRF-Token")
    assert c.post("/api/candidates", json={}).status_code == 403
    assert c.post("/api/candidates", json={}, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    other = site.client("investigator").headers["X-CSRF-Token"]
    assert c.post("/api/candidates", json={}, headers={"X-CSRF-Token": other}).status_code == 403
    assert c.post("/api/candidates", json={}, headers={"X-CSRF-Token": token}).status_code == 201
    form = c.post("/candidates", data={"cohort": "SLE"})
    assert form.status_code == 403 and "CSRF" in form.text
    form = c.post("/candidates", data={"cohort": "SLE", "csrf_token": token})
    assert form.status_code == 303 and form.headers["location"] == "/candidates/S-0002"


def test_login_form_uses_a_double_submit_token(site):
    c = site.anonymous()
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = c.post("/login", data={"username": "monitor", "password": PASSWORDS["monitor"], "csrf_token": "forged"})
    assert bad.status_code == 403
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    ok = c.post("/login", data={"username": "monitor", "password": PASSWORDS["monitor"], "csrf_token": token})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    assert c.get("/").headers["location"] == "/candidates"
    wrong = site.anonymous()
    wrong.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', wrong.get("/login").text).group(1)
    r = wrong.post("/login", data={"username": "monitor", "password": "bad-password", "csrf_token": token})
    assert r.status_code == 401 and "wrong user name or password" in r.text


def test_passwords_are_stored_as_argon2id(site):
    with site.db() as db:
        hashes = db.execute(select(User.password_hash)).scalars().all()
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert site.client("admin").post("/api/users", json={"username": "new.user", "role": "monitor",
                                                         "password": "short"}).status_code == 422


def test_no_secret_key_no_start(monkeypatch):
    monkeypatch.delenv("TRIALDESK_SECRET_KEY", raising=False)
    with pytest.raises(SettingsError, match="TRIALDESK_SECRET_KEY"):
        Settings().checked()
    with pytest.raises(SettingsError, match="shorter"):
        Settings(secret_key="short").checked()
    demo_a, demo_b = Settings(demo=True).checked(), Settings(demo=True).checked()
    assert demo_a.secret_key.get_secret_value() != demo_b.secret_key.get_secret_value()
    monkeypatch.setenv("TRIALDESK_SECRET_KEY", "k" * 40)
    assert Settings().checked().secret_key.get_secret_value() == "k" * 40


def test_database_urls():
    assert Settings(database_url="postgresql://h/db", secret_key="k" * 40).database_url == "postgresql+psycopg://h/db"
    assert Settings(database_url="site.db", secret_key="k" * 40).database_url.startswith("sqlite:////")
    assert Settings(secret_key="k" * 40).database_url == "sqlite:///./trialdesk.db"
