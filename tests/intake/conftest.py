"""Fixtures for alert intake: integrations with known secrets on the shared servers, and so1 servers."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, Server, fresh_database
from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.intake import integrations
from warroom.intake.parsers import SOURCES
from warroom.policy import load_policy
from warroom.store.db import Database

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"
PROBLEM = "application/problem+json"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


def make_tokens(url: str, policy: str) -> dict[str, str]:
    """One integration per source on the server's database; returns source → secret."""
    ctx = context(db=Database(url), policy=load_policy(policy), clock=SystemClock())
    try:
        tag = uuid.uuid4().hex[:6]
        return {s: integrations.add(ctx, s, f"{s}-{tag}", "tests").token for s in SOURCES}
    finally:
        ctx.db.dispose()


class Intake:
    """A running server plus a secret per source, with helpers that assert on the answer."""

    def __init__(self, server: Server, tokens: dict[str, str]) -> None:
        self.server = server
        self.tokens = tokens
        self.http = server.client()
        self.http.timeout = httpx.Timeout(30)

    def post(self, source: str, body: Any, status: int = 202, **kw: Any) -> dict[str, Any]:
        """Send a webhook; an accepted one is waited for until applied, with each alert's outcome as `alerts`."""
        headers = {"Authorization": f"Bearer {self.tokens[source]}", **kw.pop("headers", {})}
        resp = self.http.post(f"/api/v1/alerts/{source}", json=body, headers=headers, **kw)
        assert resp.status_code == status, resp.text
        answer: dict[str, Any] = resp.json()
        if status != 202:
            return answer
        assert resp.headers["location"] == answer["location"] == f"/api/v1/intake/requests/{answer['request']}"
        return {**answer, "alerts": self.applied(answer["request"])["outcomes"]}

    def applied(self, request_id: int, timeout: float = 15.0) -> dict[str, Any]:
        """The intake request once applied (the server answers a webhook before applying it)."""
        done: dict[str, Any] = self.get(f"/api/v1/intake/requests/{request_id}", wait=timeout)
        assert done["status"] == "applied", done
        return done

    def generic(self, expect: int = 202, **alert: Any) -> dict[str, Any]:
        return self.post("generic", alert, expect)

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        resp = self.http.get(path, params=params)
        assert resp.status_code == expect, resp.text
        return resp.json()

    def call(self, path: str, body: dict[str, Any], expect: int = 200) -> Any:
        resp = self.http.post(path, json=body)
        assert resp.status_code == expect, resp.text
        return resp.json()

    def incident(self, incident_id: str) -> dict[str, Any]:
        return self.get(f"/api/v1/incidents/{incident_id}")  # type: ignore[no-any-return]

    def timeline(self, incident_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/incidents/{incident_id}/timeline")  # type: ignore[no-any-return]

    def pages(self, incident_id: str) -> list[dict[str, Any]]:
        return self.get("/api/v1/pages", incident=incident_id)  # type: ignore[no-any-return]

    def wait(self, check: Callable[[], Any], timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            time.sleep(0.05)

    def close(self) -> None:
        self.http.close()


@pytest.fixture(scope="session")
def server_tokens(server: Server) -> dict[str, str]:
    return make_tokens(server.db_url, "nself")


@pytest.fixture
def intake(server: Server, server_tokens: dict[str, str]) -> Iterator[Intake]:
    """The shared nself server (one per backend); tests use their own service names to stay apart."""
    client = Intake(server, server_tokens)
    yield client
    client.close()


def start_server(url: str, policy: str, **env: str) -> tuple[Server, dict[str, str]]:
    tokens = make_tokens(url, policy)
    srv = Server(url, {"WARROOM_POLICY": policy, "WARROOM_ENGINE_INTERVAL": "0.2", **env}).start()
    return srv, tokens


def own_server(request: pytest.FixtureRequest, tmp_path: Path, policy: str, **env: str) -> Iterator[Intake]:
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    srv, tokens = start_server(url, policy, **env)
    client = Intake(srv, tokens)
    try:
        yield client
    finally:
        client.close()
        srv.stop()
        next(gen, None)


@pytest.fixture(scope="module", params=BACKENDS)
def so1(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    """An so1 server per module and backend, no storm hold. Storms count every alert in the window:
    its tests together stay under SO1's ten alerts."""
    yield from own_server(request, tmp_path_factory.mktemp("so1"), "so1", WARROOM_STORM_HOLD_SECONDS="0")


@pytest.fixture(params=BACKENDS)
def so1_storm(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Intake]:
    """A fresh so1 server whose new groups wait 2 s while another just opened (a storm may be starting)."""
    yield from own_server(request, tmp_path, "so1", WARROOM_STORM_HOLD_SECONDS="2")


@pytest.fixture(scope="session")
def rules_policy(tmp_path_factory: pytest.TempPathFactory) -> str:
    """so1 plus triage rules of every kind: keywords, metric thresholds, user estimates, labels."""
    import yaml

    from warroom.policy.loader import resolve_source

    data = yaml.safe_load(resolve_source("so1").read_text())
    data["name"] = "so1-rules"
    data["classification"]["rules"] = [
        {"id": "pool-exhausted", "match": {"keywords": ["connection pool"]}, "severity": "SEV1", "confidence": 85,
         "reason": "5xx with the pool at 100% is connection exhaustion"},
        {"id": "error-rate", "match": {"metric": "error_rate", "value_over": 5}, "severity": "SEV1", "confidence": 90},
        {"id": "many-users", "match": {"users_over": 100}, "severity": "SEV1", "confidence": 80},
        {"id": "design-team", "match": {"labels": {"team": "design"}}, "severity": "SEV4", "confidence": 90},
    ]  # fmt: skip
    path = tmp_path_factory.mktemp("policy") / "so1-rules.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


@pytest.fixture(scope="module", params=BACKENDS)
def ruled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, rules_policy: str
) -> Iterator[Intake]:
    yield from own_server(request, tmp_path_factory.mktemp("ruled"), rules_policy, WARROOM_STORM_HOLD_SECONDS="0")


def unique(prefix: str = "svc") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
