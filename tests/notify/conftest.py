"""Real receivers on 127.0.0.1 for notification tests: an SMTP server (aiosmtpd) and an HTTP webhook.

Also: a notification context on both backends, the hook wired the way the engine will call it,
and on-call schedules so the policy's targets reach real people.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import START, free_port, fresh_database, http_receiver, make_context
from warroom.domain.clock import FakeClock
from warroom.notify import contacts, routing
from warroom.notify.settings import NotifySettings
from warroom.oncall import service as oncall
from warroom.oncall.schemas import LayerRequest
from warroom.store.unit import Context

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


# --- SMTP ---------------------------------------------------------------------------------------


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.sink.lock:
            self.sink.messages.append(msg)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.sink.arrived.set()
        while self.sink.hold.is_set():  # a slow server: the message is here, the reply is not
            await asyncio.sleep(0.02)
        return "250 OK: queued"


@dataclass
class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps every message it receives."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    arrived: threading.Event = field(default_factory=threading.Event)
    hold: threading.Event = field(default_factory=threading.Event)

    def url(self, to: str, sender: str = "warroom@example.com", name: str = "warroom") -> str:
        """Apprise's e-mail plugin against a plain local SMTP server: no TLS (mode=insecure), text bodies."""
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from={sender}&name={name}&to={to}&format=text&cto=3&rto=3"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} e-mails, got {len(self.messages)}")


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    controller = Controller(_Handler(sink), hostname="127.0.0.1", port=sink.port)
    controller.start()
    yield sink
    sink.hold.clear()
    controller.stop()


def body_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    assert part is not None
    return str(part.get_content())


# --- HTTP webhook -------------------------------------------------------------------------------


@dataclass
class Hit:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class WebhookSink:
    """A real HTTP server on 127.0.0.1 standing in for Slack / a JSON webhook; scripted answers."""

    port: int = 0
    hits: list[Hit] = field(default_factory=list)
    statuses: dict[str, list[int]] = field(default_factory=dict)
    """path → answers to give in turn (then 200)"""
    hang: set[str] = field(default_factory=set)
    """paths that never answer"""
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str, timeout: int = 2) -> str:
        return f"json://127.0.0.1:{self.port}/{path.lstrip('/')}?cto={timeout}&rto={timeout}"

    def on(self, path: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path.split("?")[0] == "/" + path.lstrip("/")]

    def delivered(self, path: str) -> list[Hit]:
        return [h for h in self.on(path) if h.status < 300]


def _handler(sink: WebhookSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            path = self.path.split("?")[0]
            if path in sink.hang:
                sink.stopping.wait(30)
                return
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            with sink.lock:
                script = sink.statuses.get(path, [])
                status = script.pop(0) if script else 200
                sink.hits.append(Hit(path, dict(self.headers), json.loads(raw or b"{}"), status))
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@pytest.fixture
def webhook() -> Iterator[WebhookSink]:
    sink = WebhookSink()
    with http_receiver(_handler(sink)) as sink.port:
        try:
            yield sink
        finally:
            sink.stopping.set()


# --- contexts -----------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def notify_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request.param, request, tmp_path)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def make_nctx(notify_url: str, fake_clock: FakeClock) -> Iterator[Callable[[str], Context]]:
    made: list[Context] = []

    def make(policy: str = "nself") -> Context:
        c = make_context(notify_url, policy, fake_clock)
        made.append(c)
        return c

    yield make
    for c in made:
        c.db.dispose()


@pytest.fixture
def nctx(make_nctx: Callable[[str], Context]) -> Context:
    return make_nctx("nself")


@pytest.fixture
def settings() -> NotifySettings:
    return NotifySettings(
        max_attempts=4, backoff_seconds=30, backoff_max_seconds=600, lease_seconds=60, rate_per_minute=10, batch=50
    )


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch) -> None:
    """Routing as the composition wires it (a subscriber of every unit of work), with its failures loud."""
    monkeypatch.setattr(routing, "STRICT", True)


@pytest.fixture
def unwired(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if nothing called the hook: only the delivery loop's catch-up hands pages over."""
    monkeypatch.setattr(routing, "_route", lambda *args, **kwargs: None)


def on_call(ctx: Context, schedule: str, *members: str, start: date = date(2026, 5, 1)) -> None:
    oncall.set_layer(ctx, schedule, LayerRequest(members=list(members), length="weekly", start=start))


def person(ctx: Context, name: str, tz: str = "UTC", fallback: str | None = None, **methods: str) -> None:
    contacts.put_person(ctx, name, contacts.PersonRequest(display_name=name.title(), timezone=tz, fallback=fallback))
    for method, url in methods.items():
        contacts.put_method(ctx, name, method, contacts.MethodRequest(url=url))


def channel(ctx: Context, name: str, url: str, **kw: Any) -> None:
    contacts.put_channel(ctx, name, contacts.ChannelRequest(url=url, **kw))
