"""Fixtures for hostile input: a real `warroom serve` per backend whose log goes to a file, with known secrets."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.conftest import BACKENDS, ActAs, Server, _session_database, token_for
from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.intake import integrations
from warroom.intake.parsers import SOURCES
from warroom.policy import load_policy
from warroom.store.db import Database, normalise_url

PROBLEM = "application/problem+json"
WATCHED = (
    "incidents", "timeline_entries", "role_assignments", "hypotheses", "mitigations", "updates", "alerts",
    "alert_groups", "intake_requests", "silences", "intake_integrations", "notify_people",
)  # fmt: skip
"""the tables a refused request must leave as they were (dead letters are meant to grow)"""


class Hostile:
    """A running server, its database, a secret per source and the API's request headers."""

    def __init__(self, server: Server, tokens: dict[str, str], headers: dict[str, str]) -> None:
        self.server = server
        self.tokens = tokens
        self.headers = headers
        self.http = httpx.Client(base_url=server.base, timeout=30, auth=ActAs(server.db_url))
        self.engine = create_engine(normalise_url(server.db_url))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in WATCHED}

    def version(self, incident_id: str) -> int:
        with self.engine.connect() as conn:
            found = conn.execute(text("SELECT version FROM incidents WHERE id = :i"), {"i": incident_id})
            return int(found.scalar_one())

    def declare(self, **extra: Any) -> str:
        resp = self.http.post("/api/v1/incidents", json={"severity": "P2", "title": "hostile input target",
                                                         "by": "tester", **extra})  # fmt: skip
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    def webhook(self, source: str, content: bytes, content_type: str = "application/json",
                **headers: str) -> httpx.Response:  # fmt: skip
        return self.http.post(f"/api/v1/alerts/{source}", content=content,
                              headers={"Authorization": f"Bearer {self.tokens[source]}", "Content-Type": content_type,
                                       **headers})  # fmt: skip

    def close(self) -> None:
        self.http.close()
        self.engine.dispose()


@pytest.fixture(scope="session")
def auth_headers() -> dict[str, str]:
    """Headers every request of these tests carries besides the signed-in token (which is per server)."""
    return {}


def _tokens(url: str) -> dict[str, str]:
    ctx = context(db=Database(url), policy=load_policy("nself"), clock=SystemClock())
    try:
        tag = uuid.uuid4().hex[:6]
        return {s: integrations.add(ctx, s, f"{s}-{tag}", "tests").token for s in SOURCES}
    finally:
        ctx.db.dispose()


def start_hostile(backend: str, request: pytest.FixtureRequest, tmp: Path, headers: dict[str, str],
                  env: dict[str, str] | None = None) -> Iterator[Hostile]:  # fmt: skip
    gen = _session_database(backend, request, tmp)
    url = next(gen)
    tokens = _tokens(url)
    server = Server(url, {"WARROOM_POLICY": "nself", **(env or {})}, log=tmp / "serve.log")
    server.start()
    hostile = Hostile(server, tokens, {**headers, "Authorization": f"Bearer {token_for(url)}"})
    try:
        yield hostile
    finally:
        hostile.close()
        server.stop()
        next(gen, None)


@pytest.fixture(scope="module", params=BACKENDS)
def hostile(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
            auth_headers: dict[str, str]) -> Iterator[Hostile]:  # fmt: skip
    """One server per backend for a module's tests."""
    yield from start_hostile(request.param, request, tmp_path_factory.mktemp(f"hostile-{request.param}"), auth_headers)


@pytest.fixture(scope="module")
def hostile_sqlite(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   auth_headers: dict[str, str]) -> Iterator[Hostile]:  # fmt: skip
    """A server on SQLite only (the fuzzer, the large webhook, the secrets in the database file)."""
    yield from start_hostile("sqlite", request, tmp_path_factory.mktemp("hostile-sqlite"), auth_headers)
