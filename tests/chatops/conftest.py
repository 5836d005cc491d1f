"""A real `warroom serve` per backend set up for chat: Slack's signing secret, a Mattermost command token,
linked chat users, alice on call with a pager that is a real HTTP receiver on 127.0.0.1, and helpers
that sign requests the way Slack does (written here, independently of the server's slack-sdk check)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from sqlalchemy import select

from tests.conftest import BACKENDS, PASSWORD, START, Server, _session_database, free_port, http_receiver, token_for
from warroom.auth import users
from warroom.chat import identities
from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.policy import load_policy
from warroom.store.auth_models import AuditEntry
from warroom.store.db import Database
from warroom.store.unit import Context

SLACK_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
MM_TOKEN = "xr3j5x3p4pfk7kw9h5w1yqr1ah"
ALICE_SLACK, BOB_SLACK, VIC_SLACK = "U0ALICE01", "U0BOB0002", "U0VIC0003"
ALICE_MM = "8g4cq3dj5ifn9r1ztkx2ey7wqa"


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 keeping every JSON body posted to it (pager, response_url)."""

    port: int = 0
    posts: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Receiver:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                with sink.lock:
                    sink.posts.append((self.path, body))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.running = contextlib.ExitStack()
        self.port = self.running.enter_context(http_receiver(Handler))
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Any]:
        with self.lock:
            return [body for p, body in self.posts if p == path]

    def wait(self, path: str, count: int = 1, timeout: float = 15.0) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.at(path)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"{count} post(s) to {path} did not arrive within {timeout}s; got {self.posts}")

    def stop(self) -> None:
        self.running.close()


def slack_headers(body: bytes, secret: str = SLACK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature: HMAC-SHA256 of `v0:{timestamp}:{body}` with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def slack_form(text: str, user: str = ALICE_SLACK, channel: str = "incidents", response_url: str = "") -> bytes:
    fields = {
        "token": "deprecated-verification-token",
        "team_id": "T0ACME",
        "team_domain": "acme",
        "channel_id": "C0123",
        "channel_name": channel,
        "user_id": user,
        "user_name": "someone",
        "command": "/incident",
        "text": text,
        "response_url": response_url or "https://hooks.slack.com/commands/T0ACME/1/abc",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "api_app_id": "A123456",
    }
    return urlencode(fields).encode()


def mattermost_form(text: str, token: str = MM_TOKEN, user: str = ALICE_MM, channel: str = "town-square") -> bytes:
    fields = {
        "channel_id": "fukb8dm3pbdpbgkj7f1mzkmgah",
        "channel_name": channel,
        "command": "/incident",
        "response_url": "https://chat.example.com/hooks/commands/xyz",
        "team_domain": "acme",
        "team_id": "rdc9bgriktyx9p4kowh3dmgqyc",
        "text": text,
        "token": token,
        "trigger_id": "OTBzaXp3",
        "user_id": user,
        "user_name": "alice",
    }
    return urlencode(fields).encode()


@dataclass
class Chat:
    server: Server
    pager: Receiver
    db_url: str

    def slack(self, text: str, user: str = ALICE_SLACK, channel: str = "incidents", **kw: Any) -> httpx.Response:
        body = slack_form(text, user, channel, kw.pop("response_url", ""))
        return httpx.post(self.server.base + "/api/v1/chatops/slack", content=body, headers=slack_headers(body),
                          timeout=10)  # fmt: skip

    def mattermost(self, text: str, **kw: Any) -> httpx.Response:
        body = mattermost_form(text, **kw)
        return httpx.post(self.server.base + "/api/v1/chatops/mattermost", content=body, timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip

    def audit(self, actor: str | None = None) -> list[AuditEntry]:
        db = Database(self.db_url)
        try:
            with db.read() as session:
                stmt = select(AuditEntry).order_by(AuditEntry.id)
                if actor is not None:
                    stmt = stmt.where(AuditEntry.actor == actor)
                rows = list(session.scalars(stmt))
                session.expunge_all()
                return rows
        finally:
            db.dispose()


def chat_env(pager: Receiver, **more: str) -> dict[str, str]:
    return {
        "WARROOM_POLICY": "nself",
        "WARROOM_SLACK_SIGNING_SECRET": SLACK_SECRET,
        "WARROOM_MATTERMOST_TOKENS": f"another-command-token,{MM_TOKEN}",
        "WARROOM_MATTERMOST_URL": "https://chat.example.com",
        "WARROOM_CHATOPS_RESPONSE_HOSTS": "127.0.0.1",
        **more,
    }


def _prepare(url: str, pager: Receiver) -> None:
    """Users with roles, their chat ids linked (alice through the CLI), alice on call with a real pager."""
    ctx: Context = context(Database(url), load_policy("nself"), FakeClock(START))
    try:
        users.add(ctx, "alice", "responder", password=PASSWORD)
        users.add(ctx, "bob", "responder", password=PASSWORD)
        users.add(ctx, "vic", "viewer", password=PASSWORD)
        identities.link(ctx, "bob", "slack", BOB_SLACK, "tests")
        identities.link(ctx, "vic", "slack", VIC_SLACK, "tests")
    finally:
        ctx.db.dispose()
    env = {**os.environ, "WARROOM_DATABASE_URL": url}
    cli = [sys.executable, "-m", "warroom"]
    for args in (
        ["user", "link", "alice", "--slack", ALICE_SLACK.lower(), "--mattermost", ALICE_MM],
        ["setup", "--oncall", "nself-primary=alice", "--oncall", "nself-backup=bob",
         "--contact", f"alice=json://127.0.0.1:{pager.port}/alice", "--contact",
         f"bob=json://127.0.0.1:{pager.port}/bob", "--no-input"],
    ):  # fmt: skip
        done = subprocess.run(cli + args, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module", params=BACKENDS)
def chat(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chat]:
    tmp = tmp_path_factory.mktemp(f"chat-{request.param}-{uuid.uuid4().hex[:6]}")
    gen = _session_database(request.param, request, tmp)
    url = next(gen)
    pager = Receiver().start()
    _prepare(url, pager)
    server = Server(url, chat_env(pager), log=Path(tmp / "serve.log")).start()
    token_for(url, "tester")
    yield Chat(server, pager, url)
    server.stop()
    pager.stop()
    next(gen, None)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


__all__ = ["free_port"]
