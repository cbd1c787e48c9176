"""Protocol amendments: load an amended version, preview whose status would change and why
(storing nothing), apply it, screen with it after a restart; broken protocols are refused.

The amendment used throughout tightens INC-LVEF from >= 55 % to >= 65 %: the example patients'
LVEF is 62 % (54 % in sle-lvef-54), so exactly the open candidates with 62 % change outcome.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from .app_helpers import PASSWORDS, Site, example, new_candidate, post_bundle, settings_for
from trialdesk.app.main import create_app
from trialdesk.app.models import AuditHead, Base, Candidate
from trialdesk.cli import app_commands
from trialdesk.protocol.load import default_path

LVEF_RULE = "pass_if: {ge: [{latest: lvef}, 55]}"


def amended(tmp_path: Path, version: str = "1.1.0", lvef: int = 65, name: str = "carnk-aid") -> Path:
    """A copy of the shipped protocol with INC-LVEF at ``lvef`` % and ``version``."""
    folder = tmp_path / f"{name}-{version}"
    shutil.copytree(default_path(), folder)
    edit(folder / "criteria.yaml", LVEF_RULE, LVEF_RULE.replace("55", str(lvef)))
    edit(folder / "criteria.yaml", "title: LVEF >= 55%", f"title: LVEF >= {lvef}%")
    edit(folder / "protocol.yaml", 'version: "1.0.0"', f'version: "{version}"')
    return folder


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, (path, old)
    path.write_text(text.replace(old, new), encoding="utf-8")


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def upload(site: Site, content: bytes, role: str = "investigator"):
    return site.client(role).post("/api/protocol/versions", content=content,
                                  headers={"Content-Type": "application/zip"})


def sign(site: Site, number: str) -> None:
    r = site.client("investigator").post(f"/api/candidates/{number}/signatures",
                                         json={"password": PASSWORDS["investigator"]})
    assert r.status_code in (200, 201), r.text


def populate(site: Site) -> dict[str, str]:
    """Candidates in every state an amendment meets; returns name -> screening number."""
    n: dict[str, str] = {}
    inv = site.client("investigator")
    for name, file, cohort in [("signed-eligible", "sle-eligible", "SLE"), ("signed-failed", "sle-lvef-54", "SLE"),
                               ("vaccine", "sle-live-vaccine", "SLE"), ("enrolled", "srns-eligible", "SRNS"),
                               ("withdrawn", "srns-eligible", "SRNS"), ("no-data", None, "SRNS"),
                               ("unsigned", "srns-eligible", "SRNS"), ("reviewed", "sle-old-seizure", "SLE")]:
        n[name] = new_candidate(site, cohort)
        if file:
            assert post_bundle(site, n[name], example(file)).status_code == 200
    for name in ("signed-eligible", "signed-failed", "enrolled"):
        sign(site, n[name])
    assert inv.post(f"/api/candidates/{n['enrolled']}/enroll", json={"subject_id": "SUBJ-1"}).status_code == 200
    assert inv.post(f"/api/candidates/{n['withdrawn']}/withdraw", json={"reason": "moved away"}).status_code == 200
    r = inv.post(f"/api/candidates/{n['reviewed']}/decisions",
                 json={"criterion_id": "EXC-CNS", "decision": "pass", "reason": "seizure in childhood, resolved"})
    assert r.status_code in (200, 201), r.text
    return n


def fingerprint(site: Site) -> dict:
    """Row counts of every table, the audit head, and the candidates' row versions."""
    with site.db() as db:
        counts = {t.name: db.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in Base.metadata.sorted_tables}
        head = db.execute(select(AuditHead.seq, AuditHead.hash)).one()
        versions = dict(db.execute(select(Candidate.number, Candidate.row_version)).all())
    return {"counts": counts, "head": tuple(head), "row_versions": versions}


def test_preview_reports_exactly_the_status_changes_and_stores_nothing(site, tmp_path):
    n = populate(site)
    loaded = upload(site, zipped(amended(tmp_path)))
    assert loaded.status_code == 201, loaded.text
    version = loaded.json()["version"]
    assert (version["version"], version["active"], version["loaded_by"]) == ("1.1.0", False, "investigator")

    before = fingerprint(site)
    inv = site.client("investigator")
    first = inv.get(f"/api/protocol/versions/{version['id']}/preview")
    second = inv.get(f"/api/protocol/versions/{version['id']}/preview")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json() == loaded.json()["preview"]
    assert fingerprint(site) == before  # previewing twice changed nothing
    assert site.client("coordinator").get("/api/protocol").json()["version"] == "1.0.0"

    report = first.json()
    assert (report["from"]["version"], report["to"]["version"]) == ("1.0.0", "1.1.0")
    assert report["protocol_changes"]["criteria"] == {"added": [], "removed": [], "changed": ["INC-LVEF"]}
    entries = {e["number"]: e for e in report["candidates"]}
    assert set(entries) == {n[k] for k in ("signed-eligible", "signed-failed", "vaccine", "unsigned", "reviewed")}
    assert report["counts"]["not_open"] == {"enrolled": 1, "withdrawn": 1, "candidate": 1}
    changed = {e["number"]: (e["old"]["status"], e["new"]["status"]) for e in report["candidates"]
               if e["status_changes"]}
    assert changed == {n["signed-eligible"]: ("eligible", "ineligible"),
                       n["signed-failed"]: ("screen-failed", "ineligible"),
                       n["unsigned"]: ("screening", "ineligible"),
                       n["reviewed"]: ("screening", "ineligible")}
    for name in ("signed-eligible", "vaccine", "unsigned", "reviewed"):
        [k] = entries[n[name]]["criteria"]
        assert (k["id"], k["old"], k["new"], k["by_amendment"]) == ("INC-LVEF", "pass", "fail", True)
        assert "< 65" in k["reason"] and "62" in k["reason"]
        assert any(w.startswith("INC-LVEF") for w in entries[n[name]]["why"])
    vaccine = entries[n["vaccine"]]
    assert not vaccine["status_changes"] and vaccine["old"]["status"] == vaccine["new"]["status"] == "ineligible"
    failed = entries[n["signed-failed"]]  # LVEF 54 % fails either way: only the signature lapses
    assert failed["criteria"] == [] and failed["signature_lapses"]
    assert any("signature lapses" in w for w in failed["why"])
    assert entries[n["reviewed"]]["decisions_lapse"] == []  # EXC-CNS is unchanged: the decision stays


def test_apply_activates_rescreens_and_invalidates_signatures(site, tmp_path):
    n = populate(site)
    version = upload(site, zipped(amended(tmp_path))).json()["version"]
    inv = site.client("investigator")
    report = inv.get(f"/api/protocol/versions/{version['id']}/preview").json()
    url = f"/api/protocol/versions/{version['id']}/activate"
    before = fingerprint(site)
    assert inv.post(url, json={"reason": " "}).status_code == 422
    stale = inv.post(url, json={"reason": "EC approval 2026-03-01", "preview_sha256": "0" * 64})
    assert stale.status_code == 409 and "out of date" in stale.json()["detail"]
    assert fingerprint(site) == before

    r = inv.post(url, json={"reason": "EC approval 2026-03-01", "preview_sha256": report["preview_sha256"]})
    assert r.status_code == 200, r.text
    assert r.json()["version"]["active"] and r.json()["version"]["activated_by"] == "investigator"
    assert site.client("coordinator").get("/api/protocol").json()["version"] == "1.1.0"
    assert inv.post(url, json={"reason": "again"}).status_code == 409  # active already

    co = site.client("coordinator")
    log = {c["number"]: c["status"] for c in co.get("/api/candidates").json()["candidates"]}
    for name, status in [("signed-eligible", "ineligible"), ("signed-failed", "ineligible"), ("unsigned", "ineligible"),
                         ("vaccine", "ineligible"), ("reviewed", "ineligible"), ("enrolled", "enrolled"),
                         ("withdrawn", "withdrawn"), ("no-data", "candidate")]:
        assert log[n[name]] == status, name
    signed = co.get(f"/api/candidates/{n['signed-eligible']}").json()
    assert signed["screening"]["protocol"]["version"] == "1.1.0"
    [sig] = signed["signatures"]
    assert not sig["valid"] and "the protocol version changed" in sig["invalidated_because"]
    enrolled = co.get(f"/api/candidates/{n['enrolled']}").json()
    assert enrolled["screening"]["protocol"]["version"] == "1.0.0"  # enrolled subjects are not re-screened
    assert [s["valid"] for s in enrolled["signatures"]] == [True]

    records = site.client("monitor").get("/api/audit?limit=5000").json()
    [activate] = [a for a in records if a["action"] == "activate"]
    assert activate["reason"] == "EC approval 2026-03-01"
    assert activate["new"]["version"] == "1.1.0" and activate["old"]["version"] == "1.0.0"
    invalidated = {a["entity_key"] for a in records if a["action"] == "invalidate"}
    assert invalidated == {n["signed-eligible"], n["signed-failed"]}
    assert site.client("monitor").get("/api/audit/verify").json()["ok"]

    fresh = new_candidate(site, "SRNS")  # new screenings use the active version
    assert post_bundle(site, fresh, example("srns-eligible")).json()["protocol"]["version"] == "1.1.0"


def test_a_restart_screens_with_the_active_version(database_url, tmp_path):
    from .app_helpers import make_site

    site = make_site(database_url)
    try:
        number = new_candidate(site, "SLE")
        post_bundle(site, number, example("sle-eligible"))
        version = upload(site, zipped(amended(tmp_path))).json()["version"]
        r = site.client("investigator").post(f"/api/protocol/versions/{version['id']}/activate",
                                             json={"reason": "EC approval"})
        assert r.status_code == 200, r.text
    finally:
        site.dispose()

    app = create_app(settings_for(database_url), clock=site.clock)  # the shipped protocol is configured
    try:
        client = TestClient(app)
        login = client.post("/api/auth/login", json={"username": "coordinator", "password": PASSWORDS["coordinator"]})
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        assert client.get("/api/protocol").json()["version"] == "1.1.0"
        versions = client.get("/api/protocol/versions").json()["versions"]
        assert [(v["version"], v["active"]) for v in versions] == [("1.0.0", False), ("1.1.0", True)]
        again = client.post(f"/api/candidates/{number}/screenings").json()
        assert again["protocol"]["version"] == "1.1.0"
        lvef = next(k for k in again["results"][0]["criteria"] if k["id"] == "INC-LVEF")
        assert lvef["outcome"] == "fail"
    finally:
        app.state.db_engine.dispose()


def test_a_changed_stored_copy_is_detected(site, tmp_path):
    from trialdesk.app.models import ProtocolVersion

    version = upload(site, zipped(amended(tmp_path))).json()["version"]
    with site.db() as db:
        row = db.get(ProtocolVersion, version["id"])
        files = json.loads(row.files)
        files["criteria.yaml"] = files["criteria.yaml"].replace("{latest: lvef}, 65", "{latest: lvef}, 50")
        row.files = json.dumps(files)
        db.commit()
    other = create_app(settings_for(site.app.state.runtime.settings.database_url), clock=site.clock)
    try:
        client = TestClient(other)
        login = client.post("/api/auth/login", json={"username": "investigator",
                                                     "password": PASSWORDS["investigator"]})
        client.headers["X-CSRF-Token"] = login.json()["csrf_token"]
        r = client.get(f"/api/protocol/versions/{version['id']}/preview")
        assert r.status_code == 409 and "stored copy was changed" in r.json()["detail"]
    finally:
        other.state.db_engine.dispose()


@pytest.mark.parametrize("breakage, expected", [
    (lambda f: edit(f / "criteria.yaml", "- id: INC-LVEF\n", "- id: INC-LVEF\n  threshold: 65\n"),
     "criteria.yaml"),
    (lambda f: edit(f / "criteria.yaml", 'LVEF >= 65%\n  type: inclusion\n  cohorts: [SLE, SRNS]\n  source: '
                                         '"Cardiac function: Left ventricular ejection fraction (LVEF) ≥55%',
                    'LVEF >= 65%\n  type: inclusion\n  cohorts: [SLE, SRNS]\n  source: '
                    '"Cardiac function: Left ventricular ejection fraction (LVEF) ≥65%'),
     "lint error at INC-LVEF: source text is not verbatim in the registry record"),
    (lambda f: edit(f / "protocol.yaml", "id: carnk-aid", "id: another-trial"), "this site screens 'carnk-aid'"),
    (lambda f: (f / "registry-record.txt").unlink(), "registry-record.txt"),
])
def test_a_broken_protocol_is_refused_with_its_problems(site, tmp_path, breakage, expected):
    folder = amended(tmp_path)
    breakage(folder)
    r = upload(site, zipped(folder))
    assert r.status_code == 422, r.text
    assert any(expected in p for p in r.json()["problems"]), r.json()
    assert len(site.client("investigator").get("/api/protocol/versions").json()["versions"]) == 1


def test_archives_that_are_not_a_protocol_folder_are_refused(site, tmp_path):
    assert upload(site, b"not an archive").json()["problems"] == [
        "the upload is not a zip or tar archive of a protocol folder"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("../protocol.yaml", "id: x")
    r = upload(site, buffer.getvalue())
    assert r.status_code == 422 and "without '..'" in r.json()["detail"]
    assert "no protocol.yaml" in upload(site, zipped(tmp_path)).json()["detail"]
    damaged = bytearray(zipped(amended(tmp_path)))
    damaged[len(damaged) // 2: len(damaged) // 2 + 64] = bytes(64)  # inside a compressed member
    r = upload(site, bytes(damaged))
    assert r.status_code == 422 and "cannot be read" in r.json()["detail"], r.text
    same = upload(site, zipped(default_path()))  # the active version's own content
    assert same.status_code == 409 and "loaded already as version 1.0.0" in same.json()["detail"]
    relabelled = amended(tmp_path, version="1.0.0")  # other content under the active version's label
    assert upload(site, zipped(relabelled)).status_code == 409


def test_a_tar_archive_loads_too(site, tmp_path):
    folder = amended(tmp_path, version="2.0.0")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as t:
        t.add(folder, arcname=".")
    r = upload(site, buffer.getvalue())
    assert r.status_code == 201, r.text
    assert r.json()["version"]["version"] == "2.0.0"


@pytest.mark.parametrize("role", ["coordinator", "monitor", "admin"])
def test_only_investigators_load_preview_and_apply(site, tmp_path, role):
    version = upload(site, zipped(amended(tmp_path))).json()["version"]
    client = site.client(role)
    assert upload(site, zipped(amended(tmp_path, "1.2.0")), role=role).status_code == 403
    assert client.get(f"/api/protocol/versions/{version['id']}/preview").status_code == 403
    assert client.post(f"/api/protocol/versions/{version['id']}/activate", json={"reason": "x"}).status_code == 403
    assert client.get("/api/protocol/versions").status_code == 200  # the list carries no patient data


def test_pages_load_preview_and_apply(site, tmp_path):
    n = populate(site)
    inv = site.client("investigator")
    csrf = inv.headers["X-CSRF-Token"]
    r = inv.post("/protocol", data={"csrf_token": csrf},
                 files={"archive": ("amendment.zip", zipped(amended(tmp_path)), "application/zip")})
    assert r.status_code == 303, r.text
    page = inv.get(r.headers["location"])
    assert page.status_code == 200
    assert "INC-LVEF" in page.text and n["unsigned"] in page.text and "preview_sha256" in page.text
    sha = page.text.split('name="preview_sha256" value="')[1].split('"')[0]
    applied = inv.post(r.headers["location"] + "/activate",
                       data={"csrf_token": csrf, "reason": "EC approval", "preview_sha256": sha})
    assert applied.status_code == 303
    listing = site.client("coordinator").get("/protocol")
    assert listing.status_code == 200 and "1.1.0" in listing.text and "Load an amended version" not in listing.text
    broken = amended(tmp_path, "1.3.0")
    (broken / "registry-record.txt").unlink()
    refused = inv.post("/protocol", data={"csrf_token": csrf},
                       files={"archive": ("b.zip", zipped(broken), "application/zip")})
    assert refused.status_code == 422 and "registry-record.txt" in refused.text


def test_cli_preview_load_and_apply(site, tmp_path):
    n = populate(site)
    url = site.rt.settings.database_url
    cli = app_commands_app()
    folder = amended(tmp_path)
    before = fingerprint(site)
    shown = CliRunner().invoke(cli, ["protocol", "preview", str(folder), "--database-url", url])
    assert shown.exit_code == 0, shown.output
    assert f"{n['unsigned']}: screening -> ineligible" in shown.output and "INC-LVEF (SRNS): pass -> fail" in shown.output
    assert fingerprint(site) == before
    reviewed = shown.output.split("preview sha256: ")[1].strip()

    broken = amended(tmp_path, "1.4.0")
    edit(broken / "criteria.yaml", "- id: INC-LVEF\n", "- id: INC-LVEF\n  threshold: 65\n")
    refused = CliRunner().invoke(cli, ["protocol", "load", str(broken), "--database-url", url])
    assert refused.exit_code == 2 and "criteria.yaml" in refused.output

    loaded = CliRunner().invoke(cli, ["protocol", "load", str(folder), "--database-url", url, "--format", "json"])
    assert loaded.exit_code == 0, loaded.output
    assert "(inactive)" in loaded.output
    listed = CliRunner().invoke(cli, ["protocol", "list", "--database-url", url])
    version_id = next(line.split()[0] for line in listed.output.splitlines() if "1.1.0" in line)
    nobody = CliRunner().invoke(cli, ["protocol", "apply", version_id, "--user", "monitor", "--reason", "EC",
                                      "--database-url", url])
    assert nobody.exit_code == 2 and "not an active investigator" in nobody.output
    assert json.loads(loaded.output.split("\n", 1)[1])["preview_sha256"] == reviewed  # the same preview
    applied = CliRunner().invoke(cli, ["protocol", "apply", version_id, "--user", "investigator", "--reason",
                                       "EC approval", "--expect", reviewed, "--database-url", url])
    assert applied.exit_code == 0, applied.output
    assert site.client("coordinator").get("/api/protocol").json()["version"] == "1.1.0"


def app_commands_app():
    import typer

    app = typer.Typer()
    app_commands.register(app)
    return app


def test_the_active_version_is_looked_up_off_the_event_loop_once_per_request(site, monkeypatch):
    import asyncio

    from trialdesk.app.protocol_versions import ActiveProtocol

    calls: list[bool] = []
    real = ActiveProtocol.engine

    def engine(self):
        try:
            asyncio.get_running_loop()
            calls.append(True)
        except RuntimeError:
            calls.append(False)
        return real(self)

    number = new_candidate(site)
    monkeypatch.setattr(ActiveProtocol, "engine", engine)
    assert post_bundle(site, number, example("sle-eligible")).status_code == 200  # an async route
    assert calls == [False]


def test_a_measure_the_engine_reads_by_id_is_checked_at_load(site, tmp_path):
    """Without the EULAR/ACR measure, which the eular_acr_classified node reads by its fixed id,
    the protocol once loaded and linted and then failed while screening an SLE candidate; the
    loader now refuses it, before any preview."""
    folder = amended(tmp_path)
    text = (folder / "protocol.yaml").read_text(encoding="utf-8")
    line = next(x for x in text.splitlines() if x.strip().startswith("eular-acr-2019:"))
    edit(folder / "protocol.yaml", line + "\n", "")
    r = upload(site, zipped(folder))
    assert r.status_code == 422 and "eular-acr-2019" in r.text


def test_a_version_the_engine_cannot_run_is_a_blocking_problem_not_a_500(site, tmp_path, monkeypatch):
    """Should a version pass the loader and lint and still break the engine, the preview names the
    candidates it cannot screen and activating it is refused. The failure is injected: the loader
    catches every such protocol we know of (the test above)."""
    from trialdesk.app import amendments

    number = new_candidate(site, "SLE")
    post_bundle(site, number, example("sle-eligible"))
    real = amendments.ws.evaluate

    def evaluate(engine, *args, **kwargs):
        if engine.protocol.version == "1.1.0":
            raise KeyError("eular-acr-2019")
        return real(engine, *args, **kwargs)

    monkeypatch.setattr(amendments.ws, "evaluate", evaluate)
    r = upload(site, zipped(amended(tmp_path)))
    assert r.status_code == 201, r.text
    [entry] = r.json()["preview"]["candidates"]
    assert "cannot screen this candidate" in entry["problem"] and "eular-acr-2019" in entry["problem"]
    refused = site.client("investigator").post(f"/api/protocol/versions/{r.json()['version']['id']}/activate",
                                               json={"reason": "EC"})
    assert refused.status_code == 409 and number in refused.json()["detail"]
    assert site.client("coordinator").get("/api/protocol").json()["version"] == "1.0.0"


def test_an_unmigrated_database_with_migrations_off_is_refused_clearly(tmp_path):
    from trialdesk.app.settings import SettingsError

    with pytest.raises(SettingsError, match="start once with migrations"):
        create_app(settings_for(f"sqlite:///{tmp_path / 'old.db'}", run_migrations=False))
