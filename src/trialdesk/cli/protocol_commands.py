"""``trialdesk protocol list | preview | load | apply``: the site's protocol versions (amendments).

``preview DIR`` stores nothing; ``load DIR`` stores the version inactive and prints the same
preview; ``apply ID --user NAME --reason TEXT`` makes it active and re-screens the open
candidates. Like ``users add``, these trust whoever holds the database URL; ``apply`` names
the investigator it is done for, who is recorded as the actor.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

__all__ = ["protocol_app"]

protocol_app = typer.Typer(add_completion=False, no_args_is_help=True,
                           help="The site's protocol versions: preview, load and apply an amendment.")

DatabaseUrl = Annotated[Optional[str], typer.Option(
    "--database-url", help="SQLAlchemy URL or SQLite file (default $TRIALDESK_DATABASE_URL, else ./trialdesk.db)")]
Folder = Annotated[Path, typer.Argument(help="The amended protocol folder (layout of protocols/carnk-aid/)")]


class Output(str, Enum):
    text = "text"
    json = "json"


Format = Annotated[Output, typer.Option("--format", help="Output format")]
UserName = Annotated[Optional[str], typer.Option("--user", help="The investigator's user name, recorded as actor")]


def _run(database_url: str | None, work):  # type: ignore[no-untyped-def]
    """Open the site's database (migrated, initial version ensured), run ``work(db, protocols, now)``;
    application errors exit 2 with their message (and each problem on its own line)."""
    from trialdesk.app.db import make_engine, session_factory, upgrade
    from trialdesk.app.errors import AppError
    from trialdesk.app.main import _protocol, utcnow
    from trialdesk.app.protocol_versions import ActiveProtocol, ProtocolRefused, ensure_initial
    from trialdesk.app.settings import Settings
    from trialdesk.protocol.load import default_path
    from trialdesk.site import load_reference_intervals

    settings = Settings(**({"database_url": database_url} if database_url else {}))
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        sessions = session_factory(engine)
        configured = _protocol(settings.protocol_dir)
        intervals = load_reference_intervals(settings.reference_intervals) if settings.reference_intervals else None
        protocols = ActiveProtocol(sessions, intervals)
        protocols.seed(configured)
        with sessions() as db:
            ensure_initial(db, configured, settings.protocol_dir or default_path(), utcnow())
            return work(db, protocols, utcnow())
    except ProtocolRefused as exc:
        typer.echo("error: the protocol was refused:", err=True)
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(2) from None
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()


def _investigator(db, name: str | None):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from trialdesk.app.errors import Invalid
    from trialdesk.app.models import User

    if name is None:
        return None
    user = db.execute(select(User).where(User.username == name)).scalar_one_or_none()
    if user is None or not user.active or user.role != "investigator":
        raise Invalid(f"--user {name}: not an active investigator (amendments are the investigator's)")
    return user


def _print(report: dict, fmt: Output) -> None:
    if fmt is Output.json:
        typer.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    counts, changes = report["counts"], report["protocol_changes"]
    typer.echo(f"{report['from']['protocol_id']} {report['from']['version']} -> {report['to']['version']} "
               f"(sha256 {report['to']['sha256'][:12]}…)")
    for kind in ("added", "removed", "changed"):
        if changes["criteria"][kind]:
            typer.echo(f"  criteria {kind}: {', '.join(changes['criteria'][kind])}")
    for name, (old, new) in changes["parameters"].items():
        typer.echo(f"  parameter {name}: {old} -> {new}")
    not_open = ", ".join(f"{n} {s}" for s, n in counts["not_open"].items()) or "none"
    typer.echo(f"open candidates: {counts['open']}; status changes: {counts['status_changes']}; "
               f"not re-screened: {not_open}")
    for e in report["candidates"]:
        if e["problem"]:
            typer.echo(f"  {e['number']}: PROBLEM: {e['problem']}")
        elif e["status_changes"] or e["criteria"]:
            status = (f"{e['old']['status']} -> {e['new']['status']}" if e["status_changes"]
                      else f"{e['old']['status']} (unchanged)")
            typer.echo(f"  {e['number']}: {status}")
            for why in e["why"]:
                typer.echo(f"      {why}")
    typer.echo(f"preview sha256: {report['preview_sha256']}")


@protocol_app.command("list")
def list_versions(database_url: DatabaseUrl = None) -> None:
    """List the protocol versions loaded into the site (the active one is marked)."""
    from trialdesk.app import protocol_versions as pv

    def work(db, _protocols, _now):  # type: ignore[no-untyped-def]
        for row in pv.versions(db):
            typer.echo(f"{row.id:>3} {'*' if row.active else ' '} {row.protocol_id} {row.version} "
                       f"{row.sha256[:12]}… loaded {row.loaded_at.isoformat()[:16]}")

    _run(database_url, work)


@protocol_app.command("preview")
def preview(folder: Folder, database_url: DatabaseUrl = None, fmt: Format = Output.text) -> None:
    """Check an amended protocol folder and show whose status it would change; stores nothing."""
    from trialdesk.app import amendments, protocol_versions as pv
    from trialdesk.app.models import ProtocolVersion

    def work(db, protocols, now):  # type: ignore[no-untyped-def]
        p = pv.check_files(pv.files_of_folder(folder)).protocol
        protocols.seed(p)
        row = ProtocolVersion(protocol_id=p.id, version=p.version, title=p.title, sha256=p.sha256, active=False)
        _print(amendments.preview(db, protocols, row, None, now), fmt)

    _run(database_url, work)


@protocol_app.command("load")
def load(folder: Folder, database_url: DatabaseUrl = None, user: UserName = None, fmt: Format = Output.text) -> None:
    """Check an amended protocol folder, store it as an inactive version and show the preview."""
    from trialdesk.app import amendments, protocol_versions as pv

    def work(db, protocols, now):  # type: ignore[no-untyped-def]
        checked = pv.check_files(pv.files_of_folder(folder))
        row = pv.store(db, _investigator(db, user), now, checked, actor_name="cli")
        db.commit()
        for warning in checked.warnings:
            typer.echo(f"lint warning: {warning}", err=True)
        typer.echo(f"loaded {row.protocol_id} {row.version} as version id {row.id} (inactive)")
        _print(amendments.preview(db, protocols, row, None, now), fmt)

    _run(database_url, work)


@protocol_app.command("apply")
def apply(
    version_id: Annotated[int, typer.Argument(help="The version's id (see 'trialdesk protocol list')")],
    user: Annotated[str, typer.Option("--user", help="The investigator applying it (recorded as actor)")],
    reason: Annotated[str, typer.Option("--reason", help="Why, e.g. the ethics committee's approval")],
    expect: Annotated[Optional[str], typer.Option("--expect", help="The preview sha256 you reviewed: "
                                                                    "nothing is applied if the preview differs")] = None,
    database_url: DatabaseUrl = None,
    fmt: Format = Output.text,
) -> None:
    """Make a loaded version active and store a new screening for every open candidate (audited)."""
    from trialdesk.app import amendments, protocol_versions as pv

    def work(db, protocols, now):  # type: ignore[no-untyped-def]
        row = pv.version_by_id(db, version_id)
        report = amendments.apply(db, protocols, row, _investigator(db, user), now, reason, expect)
        typer.echo(f"applied: {row.protocol_id} {row.version} is active; {report['counts']['open']} candidate(s) "
                   "re-screened")
        _print(report, fmt)

    _run(database_url, work)
