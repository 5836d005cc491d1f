"""Shared fixtures: fresh databases on SQLite and PostgreSQL, and real `warroom serve` processes."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from warroom.auth import tokens, users
from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict
from warroom.policy import load_policy
from warroom.store.db import Database
from warroom.store.migrate import upgrade
from warroom.store.unit import Context

# rich fixes a console's width for good when COLUMNS is set as the console is made, and the CLI makes its
# consoles at import; a pytest-xdist worker starts with COLUMNS=80. Unset, each test's own COLUMNS applies.
for _fixed in ("COLUMNS", "LINES"):
    os.environ.pop(_fixed, None)

PG_ADMIN = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI") == "true"
BACKENDS = ["sqlite", "postgresql"]
START = datetime(2026, 5, 7, 14, 17, tzinfo=UTC)
DEFAULT_USER = "tester"
"""who a test's request is signed in as when it names nobody"""
PASSWORD = "a test password that is long"
_tokens: dict[tuple[str, str], str] = {}


def _pg_ok() -> bool:
    try:
        with psycopg.connect(PG_ADMIN, connect_timeout=3):
            return True
    except Exception:
        return False


def require_pg() -> None:
    """Skip loudly on a laptop without PostgreSQL; under CI=true, fail."""
    if _pg_ok():
        return
    message = f"PostgreSQL is not reachable at {PG_ADMIN}"
    if IN_CI:
        pytest.fail(message + " (CI=true: a missing component is a failure)")
    pytest.skip(message)


def _pg_url(name: str) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _pg_exec(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """One migrated PostgreSQL database per run; each test copies it (CREATE DATABASE ... TEMPLATE)."""
    require_pg()
    name = f"warroom_tpl_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    upgrade(_pg_url(name))
    yield name
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def fresh_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "warroom.db"
        path.write_bytes(template.read_bytes())
        yield f"sqlite:///{path}"
        return
    tpl = request.getfixturevalue("pg_template")
    name = f"warroom_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: once on SQLite, once on PostgreSQL."""
    yield from fresh_database(request.param, request, tmp_path)


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("postgresql", request, tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


def make_context(url: str, policy: str, clock: FakeClock) -> Context:
    return context(db=Database(url), policy=load_policy(policy), clock=clock)


@pytest.fixture
def ctx(db_url: str, clock: FakeClock) -> Iterator[Context]:
    context = make_context(db_url, "nself", clock)
    yield context
    context.db.dispose()


# --- headless Chromium ---------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright; missing, it skips loudly (under CI=true it fails)."""
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing (CI=true: a missing component is a failure)")
        pytest.skip(f"{CHROMIUM} is missing; `make test` installs it with apt-get")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


# --- real HTTP receivers on 127.0.0.1 -------------------------------------------------------------


@contextlib.contextmanager
def http_receiver(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A real HTTP server on 127.0.0.1 (a free port, its own thread) while the block lasts; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# --- real server processes ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A real `warroom serve` process on 127.0.0.1."""

    def __init__(self, url: str, env: dict[str, str], log: Path | None = None) -> None:
        self.db_url = url
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env, "WARROOM_DATABASE_URL": url, "WARROOM_PORT": str(self.port)}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = log or Path(tempfile.mkstemp(prefix="warroom-serve-", suffix=".log")[1])
        """what the server printed (a file: a pipe nobody reads stalls a server once it fills)"""

    def start(self) -> Server:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "warroom", "serve"], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.log.read_text(errors="replace")
                raise RuntimeError(f"warroom serve exited early: {err[-2000:]}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("warroom serve did not answer /healthz within 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def client(self) -> httpx.Client:
        """Every request signed in as the person it names (`by`), as that person's own token would be."""
        return httpx.Client(base_url=self.base, timeout=10, auth=ActAs(self.db_url))

    def token_for(self, name: str = DEFAULT_USER) -> str:
        return token_for(self.db_url, name)

    def env_for(self, name: str = DEFAULT_USER) -> dict[str, str]:
        """The CLI's remote mode signed in as `name`."""
        return {"WARROOM_URL": self.base, "WARROOM_TOKEN": self.token_for(name)}


def token_for(db_url: str, name: str = DEFAULT_USER, role: str = "admin") -> str:
    """A personal token of user `name` (added with `role` and PASSWORD if new) on that database."""
    key = (db_url, name)
    with _token_lock:
        return _tokens[key] if key in _tokens else _new_token(key, role)


def _new_token(key: tuple[str, str], role: str) -> str:
    db_url, name = key
    ctx = context(Database(db_url), load_policy("nself"), FakeClock(START))
    try:
        with contextlib.suppress(Conflict):
            users.add(ctx, name, role, password=PASSWORD)
        _tokens[key] = tokens.create(ctx, f"{name}-{uuid.uuid4().hex[:8]}", role, "tests", user=name)[1]
    finally:
        ctx.db.dispose()
    return _tokens[key]


_token_lock = threading.Lock()


def sign_cli(env: dict[str, str], args: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The CLI's remote mode (WARROOM_URL, with WARROOM_TEST_DB naming the server's database) signed in
    as the person its `--by` names, else as the tester."""
    if not env.get("WARROOM_URL") or "WARROOM_TOKEN" in env or "WARROOM_TEST_DB" not in env:
        return env
    name = args[list(args).index("--by") + 1] if "--by" in args else DEFAULT_USER
    return {**env, "WARROOM_TOKEN": token_for(env["WARROOM_TEST_DB"], name)}


class ActAs(httpx.Auth):
    """Signs each request in as the person named by its JSON body's `by` (or `?by=`), else as the tester."""

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url

    def auth_flow(self, request: httpx.Request) -> Iterator[httpx.Request]:
        if request.method == "POST" and request.url.path.startswith("/api/v1/alerts/"):
            yield request  # an alert webhook signs with its integration's own secret
            return
        name = request.url.params.get("by") or DEFAULT_USER
        if request.headers.get("content-type", "").startswith("application/json") and request.content:
            try:
                body = json.loads(request.content)
            except (ValueError, RecursionError):
                body = None
            if isinstance(body, dict) and isinstance(body.get("by"), str) and body["by"].strip():
                name = body["by"].strip()
        if "authorization" not in request.headers:
            # A name nobody could sign in as (hostile input) goes through a bot token, whose `by` the server checks.
            token = token_for(self.db_url, name) if users.NAME.match(name) else bot_token(self.db_url)
            request.headers["Authorization"] = f"Bearer {token}"
        yield request


def bot_token(db_url: str) -> str:
    """An admin bot's token on that database: its requests say on whose behalf they act (`by`)."""
    key = (db_url, "bot:")
    with _token_lock:
        if key not in _tokens:
            ctx = context(Database(db_url), load_policy("nself"), FakeClock(START))
            try:
                _tokens[key] = tokens.create(ctx, f"bot-{uuid.uuid4().hex[:8]}", "admin", "tests", bot=True)[1]
            finally:
                ctx.db.dispose()
        return _tokens[key]


@pytest.fixture(scope="session", params=BACKENDS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server per backend for the whole run (tests create their own incidents)."""
    tmp = tmp_path_factory.mktemp(f"srv-{request.param}")
    gen = _session_database(request.param, request, tmp)
    url = next(gen)
    srv = Server(url, {"WARROOM_POLICY": "nself"}).start()
    yield srv
    srv.stop()
    next(gen, None)


def _session_database(backend: str, request: pytest.FixtureRequest, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp / 'server.db'}"
        upgrade(url)
        yield url
        return
    tpl = request.getfixturevalue("pg_template")
    name = f"warroom_srv_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{tpl}"')
    try:
        yield _pg_url(name)
    finally:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client
