"""What the benchmarks share: their figures file (`--json PATH`), a reader's token, throwaway PostgreSQL
databases, ports, waiting for a server, and a process's resident memory.

The figures contract (read by bench/report.py): each benchmark given `--json PATH` writes one flat JSON
object {"figure_name": number or string}, its own figures beside the reference's measured in the same run
(Alertmanager's carry an `am_` prefix). A figure it could not measure is left out, never guessed; a phase
that failed is named under `error_<phase>`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

PG_ADMIN = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def one_line(exc: BaseException, limit: int = 300) -> str:
    """An exception as one line for the figures file: its type and message."""
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:limit]


def write_figures(path: Path | None, figures: dict[str, Any]) -> None:
    """The `--json PATH` file: numbers rounded for reading, NaN (nothing measured) left out."""
    if path is None:
        return
    clean: dict[str, Any] = {}
    for name, value in figures.items():
        if isinstance(value, float):
            if value != value:
                continue
            value = round(value, 3)
        clean[name] = value
    path.write_text(json.dumps(clean, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"figures written to {path}", file=sys.stderr)


def auth_on() -> bool:
    """Whether the servers a benchmark starts ask for sign-in (WARROOM_AUTH as this environment sets it)."""
    return os.environ.get("WARROOM_AUTH", "on").strip().lower() not in ("off", "0", "false", "no")


def cli(env: dict[str, str], *args: str) -> str:
    """`warroom ARGS` on the database `env` names; its standard output."""
    done = subprocess.run([sys.executable, "-m", "warroom", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"warroom {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def secret_of(output: str) -> str:
    """The token or integration secret a `warroom ... create|add` printed once."""
    return next(line.strip() for line in output.splitlines() if line.strip().startswith("wr_"))


def reader_token(env: dict[str, str]) -> str:
    """A viewer's API token on that database: the benchmarks' reads work with sign-in on or off."""
    return secret_of(cli(env, "token", "create", f"bench-reader-{uuid.uuid4().hex[:6]}", "--role", "viewer"))


def pg_execute(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql.encode())


def pg_create() -> tuple[str, str]:
    """A fresh, uniquely named database on the benchmark's PostgreSQL: (its URL, its name)."""
    name = f"warroom_bench_{uuid.uuid4().hex[:8]}"
    pg_execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def pg_drop(name: str) -> None:
    pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_version() -> str:
    with psycopg.connect(PG_ADMIN) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path | None = None, timeout: float = 60) -> None:
    """Until `url` answers 200 (a process that exits first is an error, with the end of its log)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            lines = log.read_text(errors="replace").splitlines() if log is not None and log.exists() else []
            tail = " | ".join(line.strip() for line in lines[-3:] if line.strip())
            raise RuntimeError(f"{what} exited (exit {proc.returncode}): {tail}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a running process in MiB: resident now, and its peak."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", float("nan")), fields.get("VmHWM", float("nan"))
