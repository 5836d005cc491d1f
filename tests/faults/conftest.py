"""Faults made for real: receivers on 127.0.0.1 that hang, a PostgreSQL cluster of the test's own that it
stops and starts, and a tiny filesystem the test fills."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, free_port, http_receiver

PG_BIN = Path("/usr/lib/postgresql/15/bin")


# --- a receiver whose paths may hang ---------------------------------------------------------------


@dataclass
class Arrival:
    path: str
    title: str
    at: float
    """time.monotonic() when it arrived, for ordering arrivals against each other (never against a bound)"""


@dataclass
class Receiver:
    """A JSON webhook receiver; a path in `hang` accepts the connection and never answers until `release`."""

    port: int = 0
    hang: set[str] = field(default_factory=set)
    arrivals: list[Arrival] = field(default_factory=list)
    hung_now: dict[str, int] = field(default_factory=dict)
    hung_most: dict[str, int] = field(default_factory=dict)
    hung_total: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        """No timeouts in the URL: the delivery settings' per-method timeouts apply."""
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def at(self, path: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.path == "/" + path.lstrip("/")]

    def wait_for(self, path: str, count: int = 1, timeout: float = 20.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.at(path)
            if len(got) >= count:
                return got
            time.sleep(0.01)
        raise AssertionError(f"{path}: expected {count} arrivals, got {len(self.at(path))}")

    def wait_hung(self, path: str, count: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.hung_total.get("/" + path.lstrip("/"), 0) >= count:
                    return
            time.sleep(0.01)
        raise AssertionError(f"{path}: expected {count} hung connections")


def _handler(rx: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            if path in rx.hang:
                with rx.lock:
                    rx.hung_now[path] = rx.hung_now.get(path, 0) + 1
                    rx.hung_total[path] = rx.hung_total.get(path, 0) + 1
                    rx.hung_most[path] = max(rx.hung_most.get(path, 0), rx.hung_now[path])
                rx.released.wait(60)
                with rx.lock:
                    rx.hung_now[path] -= 1
                return  # the connection closes without an answer
            body: dict[str, Any] = json.loads(raw or b"{}")
            with rx.lock:
                rx.arrivals.append(Arrival(path, str(body.get("title", "")), time.monotonic()))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rx = Receiver()
    with http_receiver(_handler(rx)) as rx.port:
        try:
            yield rx
        finally:
            rx.released.set()  # before the server stops: its hung handlers return


# --- a PostgreSQL cluster of the test's own ----------------------------------------------------------


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} (CI=true: a missing component is a failure)")
    pytest.skip(what)


@dataclass
class Cluster:
    """A PostgreSQL server of this test alone (initdb under a temp dir, run as the postgres user on a free
    port), so stopping it never touches the shared server on 5432."""

    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/warroom"

    def _ctl(self, *args: str) -> None:
        ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", *args]
        done = subprocess.run(["runuser", "-u", "postgres", "--", *ctl], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl {args[-1]} failed: {done.stdout} {done.stderr} {self.log.read_text()[-2000:]}")

    def start(self) -> None:
        self._ctl("-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data}", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if not (PG_BIN / "initdb").exists() or shutil.which("runuser") is None:
        _missing(f"PostgreSQL's initdb is not at {PG_BIN}")
    # Not under pytest's basetemp: other pytest runs on this machine prune old basetemps, data and all.
    root = Path(tempfile.mkdtemp(prefix="warroom-pg-"))
    os.chmod(root, 0o755)
    data = root / "data"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    log = root / "postgres.log"
    log.touch()
    shutil.chown(log, "postgres", "postgres")
    subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            str(PG_BIN / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    c = Cluster(data, free_port(), log)
    c.start()
    subprocess.run(
        ["runuser", "-u", "postgres", "--", str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(c.port), "warroom"],
        check=True,
        capture_output=True,
    )
    try:
        yield c
    finally:
        if c.running():
            c.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- a tiny filesystem ---------------------------------------------------------------------------------


@dataclass
class Tiny:
    path: Path

    def fill(self) -> Path:
        """Take every free byte (the ballast goes with `free`)."""
        ballast = self.path / "ballast"
        with open(ballast, "ab", buffering=0) as f:
            try:
                while True:
                    f.write(b"\0" * 4096)
            except OSError:
                pass
        return ballast

    def free(self) -> None:
        (self.path / "ballast").unlink(missing_ok=True)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[Tiny]:
    """A 4 MiB tmpfs mounted by the test (root): a full disk without filling the machine's."""
    where = tmp_path / "tiny"
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(where)], capture_output=True)
    if done.returncode != 0:
        _missing(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield Tiny(where)
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)
