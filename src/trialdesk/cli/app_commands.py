"""``trialdesk serve``, ``trialdesk audit verify`` and ``trialdesk users add``: the site application's commands.

The lead's CLI calls :func:`register` to add them.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from typing import Annotated, Optional

import typer

__all__ = ["register"]

audit_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The application's audit trail.")
users_app = typer.Typer(add_completion=False, no_args_is_help=True, help="The application's users.")

DatabaseUrl = Annotated[Optional[str], typer.Option(
    "--database-url", help="SQLAlchemy URL or SQLite file (default $TRIALDESK_DATABASE_URL, else ./trialdesk.db)")]


def _settings(database_url: str | None, **extra: object):  # type: ignore[no-untyped-def]
    from trialdesk.app.settings import Settings

    values = dict(extra)
    if database_url is not None:
        values["database_url"] = database_url
    return Settings(**values)


def serve(
    demo: Annotated[bool, typer.Option("--demo", help="Demo users and the example patients; random secret key; "
                                                      "a throwaway database unless --database-url is given")] = False,
    database_url: DatabaseUrl = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help="Worker processes (one per core; "
                                                                          "not with --demo)")] = 1,
) -> None:
    """Start the site application (web pages and JSON API); runs the database migrations first."""
    import uvicorn

    from trialdesk.app.demo import DEMO_USERS, load_demo
    from trialdesk.app.main import create_app, utcnow
    from trialdesk.app.settings import SettingsError

    if demo and workers > 1:
        typer.echo("error: --demo runs one worker (its secret key and database are made per process)", err=True)
        raise typer.Exit(2)
    if demo and database_url is None and not os.environ.get("TRIALDESK_DATABASE_URL"):
        database_url = os.path.join(tempfile.mkdtemp(prefix="trialdesk-demo-"), "demo.db")
    try:
        app = create_app(_settings(database_url, demo=demo) if demo else _settings(database_url))
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    rt = app.state.runtime
    url = f"http://{'localhost' if host in ('127.0.0.1', '::1') else host}:{port}/"
    typer.echo(f"trialdesk site application on {url}  (database {rt.settings.database_url.split('@')[-1]})")
    if demo:
        numbers = load_demo(rt, utcnow())
        typer.echo(f"demo: {len(numbers)} example candidates; log in as")
        for name, _display, role, password in DEMO_USERS:
            typer.echo(f"  {role:<13} {name} / {password}")
    if workers > 1:  # each worker builds the app from the environment; the migrations ran above, once
        os.environ["TRIALDESK_DATABASE_URL"] = rt.settings.database_url
        os.environ["TRIALDESK_RUN_MIGRATIONS"] = "false"
        app.state.db_engine.dispose()
        uvicorn.run("trialdesk.app.main:create_app", factory=True, workers=workers, host=host, port=port,
                    log_level="info")
        return
    uvicorn.run(app, host=host, port=port, log_level="info")


@audit_app.command("verify")
def audit_verify(database_url: DatabaseUrl = None) -> None:
    """Check the audit trail's hash chain; exit 1 and name the first broken record if it is broken."""
    from trialdesk.app import audit
    from trialdesk.app.db import make_engine, session_factory

    engine = make_engine(_settings(database_url).database_url)
    try:
        with session_factory(engine)() as db:
            result = audit.verify(db)
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(f"audit trail OK: {result.checked} records, head {result.head_hash}")
        return
    assert result.broken is not None
    typer.echo(f"audit trail BROKEN at record {result.broken.seq}: {result.broken.problem} "
               f"({result.checked} records before it verify)", err=True)
    raise typer.Exit(1)


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="User name (a-z, 0-9, '.', '_', '-')")],
    role: Annotated[str, typer.Option("--role", help="coordinator, investigator, monitor or admin")],
    display_name: Annotated[str, typer.Option("--name", help="Name shown in the application")] = "",
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user (e.g. the first admin); asks for the password twice (or reads $TRIALDESK_NEW_PASSWORD)."""
    from trialdesk.app.db import make_engine, session_factory, upgrade
    from trialdesk.app.errors import AppError
    from trialdesk.app.main import utcnow
    from trialdesk.app.security import Passwords

    password = os.environ.get("TRIALDESK_NEW_PASSWORD")
    if password is None:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(2)
    settings = _settings(database_url)
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with session_factory(engine)() as db:
            u = create_user(db=db, passwords=Passwords(settings), actor=None, now=utcnow(), username=username,
                            display_name=display_name, role=role, password=password, actor_name="cli")
    except AppError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        engine.dispose()
    typer.echo(f"added {u.username} ({u.role})")


def create_user(**kwargs):  # type: ignore[no-untyped-def]
    from trialdesk.app.users import create_user as create

    return create(**kwargs)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``audit verify``, ``users add``, ``backup``, ``restore`` and ``protocol`` to the ``trialdesk``
    command."""
    app.command("serve")(serve)
    app.add_typer(audit_app, name="audit")
    app.add_typer(users_app, name="users")
    from trialdesk.cli import backup_commands

    backup_commands.register(app)
    from trialdesk.cli.protocol_commands import protocol_app

    app.add_typer(protocol_app, name="protocol")
