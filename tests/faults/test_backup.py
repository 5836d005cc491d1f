"""`warroom db backup` then `warroom db restore` into an empty database gives back every row of every table."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, select

from tests.conftest import _pg_exec, _pg_url
from tests.notify.conftest import on_call, person
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.store.db import normalise_url
from warroom.store.unit import Context


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARROOM_DATABASE_URL": url}
    env.pop("WARROOM_URL", None)
    return subprocess.run([sys.executable, "-m", "warroom", "db", *args], env=env, capture_output=True, text=True)


def _everything(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(normalise_url(url))
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns or t.columns))]
                for name, t in meta.tables.items()
            }
    finally:
        engine.dispose()


def test_backup_and_restore_round_trip_every_table(ctx: Context, db_url: str, tmp_path: Path) -> None:
    on_call(ctx, "nself-primary", "alice")
    person(ctx, "alice", push="json://127.0.0.1:9/alice")
    for n in range(3):
        iid = service.declare(ctx, DeclareRequest(severity="P1", title=f"Backup {n}", summary="x", by="mon")).id
        EngineLoop(ctx, worker_id="e", strict=True).tick()
    service.acknowledge(ctx, iid, "alice")
    before = _everything(db_url)
    assert before["incidents"] and before["timeline_entries"] and before["engine_timers"]

    archive = tmp_path / "warroom.backup"
    done = _cli(db_url, "backup", str(archive))
    assert done.returncode == 0, done.stderr
    assert archive.stat().st_size > 0

    if db_url.startswith("sqlite"):
        target = f"sqlite:///{tmp_path / 'restored.db'}"
        cleanup = None
    else:
        name = f"warroom_restore_{uuid.uuid4().hex[:10]}"
        _pg_exec(f'CREATE DATABASE "{name}"')
        target, cleanup = _pg_url(name), name
    try:
        done = _cli(target, "restore", str(archive), "--yes")
        assert done.returncode == 0, done.stderr
        assert _everything(target) == before
    finally:
        if cleanup:
            _pg_exec(f'DROP DATABASE IF EXISTS "{cleanup}" WITH (FORCE)')


def test_restore_from_a_missing_file_is_one_line_and_exit_2(db_url: str, tmp_path: Path) -> None:
    done = _cli(db_url, "restore", str(tmp_path / "nope.backup"), "--yes")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "no backup file" in done.stderr
