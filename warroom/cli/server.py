"""`warroom serve` and `warroom db upgrade|backup|restore`."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from warroom.cli.root import app, console, err_console, fail
from warroom.settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def upgrade() -> None:
    """Apply every migration to WARROOM_DATABASE_URL."""
    from warroom.store.migrate import current
    from warroom.store.migrate import upgrade as run_upgrade

    url = get_settings().database_url
    run_upgrade(url)
    console.print(f"database at revision {current(url)}")


@db_app.command("backup")
def backup(path: Path = typer.Argument(..., help="file to write: an SQLite copy, or a pg_dump archive")) -> None:
    """Copy WARROOM_DATABASE_URL to PATH while it runs (SQLite's online backup; pg_dump on PostgreSQL)."""
    from warroom.store.backup import BackupError
    from warroom.store.backup import backup as run_backup

    try:
        run_backup(get_settings().database_url, path)
    except BackupError as exc:
        fail(str(exc))
    console.print(f"backed up to {path}")


@db_app.command("restore")
def restore(
    path: Path = typer.Argument(..., help="a file written by `warroom db backup`"),
    yes: bool = typer.Option(False, "--yes", help="replace the database without asking"),
) -> None:
    """Replace WARROOM_DATABASE_URL with the backup at PATH (stop serve and worker first)."""
    from warroom.store.backup import BackupError
    from warroom.store.backup import restore as run_restore

    if not yes and not typer.confirm(f"replace the database with {path}? everything in it now is lost"):
        fail("not restored")
    try:
        run_restore(get_settings().database_url, path)
    except BackupError as exc:
        fail(str(exc))
    console.print(f"restored from {path}")


@app.command()
def serve(
    host: str = typer.Option(None, help="bind address (default WARROOM_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, help="port (default WARROOM_PORT or 8080)"),
    workers: int = typer.Option(1, min=1, help="HTTP worker processes"),
) -> None:
    """Run the HTTP API, web UI and the engine loop."""
    import uvicorn
    from sqlalchemy.exc import DBAPIError

    from warroom.store.db import unavailable
    from warroom.store.migrate import current, head

    url = get_settings().database_url
    try:
        at, needed = current(url), head()
        if at != needed:
            fail(f"the database is at revision {at or 'none (empty)'}, this warroom needs {needed}; "
                 "run `warroom db upgrade` first")  # fmt: skip
    except DBAPIError as exc:
        if (down := unavailable(exc)) is None:
            raise
        err_console.print(f"serve: the database cannot be reached ({down}); starting anyway, serving once it answers")
    # The options are the settings the application reads (its workers too): the first admin's sign-in
    # address, printed at start, is where this server listens.
    if host:
        os.environ["WARROOM_HOST"] = host
    if port:
        os.environ["WARROOM_PORT"] = str(port)
    get_settings.cache_clear()
    settings = get_settings()
    uvicorn.run(
        "warroom.app:serving_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
        access_log=False,
        http="warroom.api.status_http:HttpProtocol",  # the public status page's reads, before any ASGI
    )
