"""`warroom db backup` and `warroom db restore`: a consistent copy of the whole database, taken while it runs.

SQLite copies through its online backup API (a consistent snapshot while writers go on, WAL and all);
PostgreSQL through pg_dump's custom format and pg_restore, the tools that match its server version.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from warroom.store.db import is_sqlite, normalise_url


class BackupError(RuntimeError):
    """A backup or restore that did not happen; the message says why in one line."""


def backup(url: str, path: Path) -> Path:
    """Write a copy of the database at `url` to `path` (an SQLite file, or a pg_dump archive)."""
    url = normalise_url(url)
    if path.exists() and path.is_dir():
        raise BackupError(f"{path} is a directory; name the backup file")
    if is_sqlite(url):
        source = _sqlite_file(url)
        if not source.exists():
            raise BackupError(f"there is no database at {source}")
        _sqlite_copy(source, path)
        return path
    _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(path), _libpq(url)], "pg_dump")
    return path


def restore(url: str, path: Path) -> None:
    """Replace the database at `url` with the backup at `path`; whatever was there is gone afterwards."""
    url = normalise_url(url)
    if not path.is_file():
        raise BackupError(f"there is no backup file at {path}")
    if is_sqlite(url):
        try:
            with sqlite3.connect(path) as probe:
                probe.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not an SQLite backup: {exc}") from None
        _sqlite_copy(path, _sqlite_file(url))
        return
    command = ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"]
    _run([*command, "--dbname", _libpq(url), str(path)], "pg_restore")


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Page by page under SQLite's own locking: writers keep going, and the copy is one consistent moment."""
    try:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:
        raise BackupError(f"copying {source} to {target} failed: {exc}") from None


def _libpq(url: str) -> str:
    """The URL as libpq reads it (no SQLAlchemy driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _run(command: list[str], tool: str) -> None:
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed; install PostgreSQL's client tools (postgresql-client)")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        raise BackupError(f"{tool} failed: {lines[-1] if lines else f'exit code {done.returncode}'}")
