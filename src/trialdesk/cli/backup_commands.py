"""``trialdesk backup`` and ``trialdesk restore``: the site application's database, to a file and back.

The format and the checks are described in :mod:`trialdesk.app.backup`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trialdesk.cli.app_commands import DatabaseUrl, _settings

__all__ = ["register"]


def backup(
    out: Annotated[Path, typer.Argument(help="The backup file to write (must not exist)")],
    database_url: DatabaseUrl = None,
) -> None:
    """Back up the application's database while it runs (SQLite online backup API, or pg_dump)."""
    from trialdesk.app.backup import BackupError, backup as make_backup

    url = _settings(database_url).database_url
    try:
        manifest = make_backup(url, out)
    except BackupError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    a = manifest["audit"]
    typer.echo(f"backup {out}: {manifest['dialect']}, schema {manifest['schema_revision']}, "
               f"{manifest['payload_bytes']} bytes, sha256 {manifest['payload_sha256']}")
    typer.echo("rows: " + ", ".join(f"{n} {c}" for n, c in manifest["tables"].items()))
    if a["ok"]:
        typer.echo(f"audit trail OK: {a['records']} records, head {a['head_hash']}")
    else:
        typer.echo(f"warning: the audit trail in this backup does not verify: {a['problem']}", err=True)


def restore(
    backup_file: Annotated[Path, typer.Argument(metavar="IN", help="A file written by 'trialdesk backup'")],
    database_url: DatabaseUrl = None,
    force: Annotated[bool, typer.Option("--force", help="Replace a target database that holds data")] = False,
) -> None:
    """Restore a backup into an empty database (or any with --force); then verify rows and the audit chain.

    Exit 0 when restored and verified, 1 when restored but the counts or the audit chain do not
    verify, 2 when nothing was restored (bad file, wrong database kind, a target holding data).
    """
    from trialdesk.app.backup import BackupError, restore as do_restore

    url = _settings(database_url).database_url
    try:
        done = do_restore(backup_file, url, force=force)
    except BackupError as exc:
        typer.echo(f"error: {exc}; nothing was restored", err=True)
        raise typer.Exit(2) from None
    m, v = done.manifest, done.verification
    typer.echo(f"restored {backup_file} (taken {m['created_at']}, schema {m['schema_revision']})")
    typer.echo("rows: " + ", ".join(f"{n} {c}" for n, c in done.tables.items()))
    if done.ok:
        typer.echo(f"audit trail OK: {v.checked} records, head {v.head_hash}")
        return
    if done.tables != m["tables"]:
        typer.echo(f"error: row counts differ from the backup's: {m['tables']}", err=True)
    if not v.ok:
        assert v.broken is not None
        typer.echo(f"error: audit trail BROKEN at record {v.broken.seq}: {v.broken.problem}", err=True)
    elif v.head_hash != m["audit"]["head_hash"]:
        typer.echo(f"error: audit head {v.head_hash} differs from the backup's {m['audit']['head_hash']}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``backup`` and ``restore`` to the ``trialdesk`` command."""
    app.command("backup")(backup)
    app.command("restore")(restore)
