"""The delivery loop as `warroom serve` and `warroom worker` run it: a thread on the wall clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_context
from tests.notify.conftest import SmtpSink, WebhookSink
from warroom.domain.clock import FakeClock, SystemClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.notify import contacts
from warroom.notify.loop import DeliveryLoop
from warroom.notify.settings import NotifySettings
from warroom.oncall import service as oncall
from warroom.oncall.schemas import LayerRequest
from warroom.store.unit import Context

EXAMPLE = Path(__file__).resolve().parents[2] / "warroom" / "notify" / "contacts.example.yaml"


@pytest.fixture
def live_ctx(notify_url: str) -> Iterator[Context]:
    ctx = make_context(notify_url, "nself", FakeClock(SystemClock().now()))
    ctx.clock = SystemClock()
    yield ctx
    ctx.db.dispose()


def test_the_loop_loads_the_contacts_file_and_delivers_pages_as_the_engine_records_them(
    live_ctx: Context, unwired: None, smtp: SmtpSink, webhook: WebhookSink, tmp_path: Path
) -> None:
    file = tmp_path / "contacts.yaml"
    file.write_text(
        "people:\n"
        "  alice:\n"
        f"    methods: {{push: '{webhook.url('alice/push')}', email: '{smtp.url('alice@example.com')}'}}\n"
        "channels:\n"
        f"  war-room: '{webhook.url('slack/{channel}')}'\n"
        f"  '@engineers': '{webhook.url('slack/engineers')}'\n",
        encoding="utf-8",
    )
    oncall.set_layer(live_ctx, "nself-primary", LayerRequest(members=["alice"], length="daily", handoff="00:00"))
    settings = NotifySettings(contacts=str(file), interval=0.05)
    loop = DeliveryLoop(live_ctx, worker_id="t", settings=settings).start()
    try:
        iid = service.declare(live_ctx, DeclareRequest(severity="P0", title="Queue stuck", by="mon")).id
        from warroom.engine.loop import EngineLoop

        EngineLoop(live_ctx, worker_id="e", strict=True).tick()  # tier 1: push + sms (alice has no sms: push only)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not webhook.delivered("alice/push"):
            loop.wake()
            time.sleep(0.05)
    finally:
        loop.stop()
    assert loop.last_error is None
    (page,) = webhook.delivered("alice/push")
    assert page.body["title"] == f"[P0] {iid}: Queue stuck"
    assert "tier 1 of nself-paging" in page.body["message"]
    assert smtp.messages == []  # push was enough: tier 1 asks for push and SMS, alice has push
    status = loop.status()
    assert status["sent"] == 1 and status["running"] is False


def test_the_example_contacts_file_is_valid(nctx: Context) -> None:
    view = contacts.load(nctx, EXAMPLE)
    assert {p.name for p in view.people} >= {"alice", "bob"}
    assert {c.name for c in view.channels} >= {"#incidents", "#ops-low", "war-room", "status-page", "customer-email"}
    war_room = next(c for c in view.channels if c.name == "war-room")
    assert (war_room.url, war_room.fallback) == ("json://incidents.example.com/ui/hook/{channel}", "#incidents")
    assert "app-password" not in str(view.model_dump())
    alice = next(p for p in view.people if p.name == "alice")
    assert [(r.severities, r.methods, r.quiet_hours) for r in alice.rules] == [
        (["P0"], [], None),
        (["P3"], ["email"], None),
        ([], [], "22:00-07:00"),
    ]


def test_a_new_notification_wakes_the_loop_at_once(live_ctx: Context, wired: None, webhook: WebhookSink) -> None:
    contacts.put_channel(live_ctx, "#incidents", contacts.ChannelRequest(url=webhook.url("slack/incidents")))
    loop = DeliveryLoop(live_ctx, worker_id="t", settings=NotifySettings(interval=30)).start()
    try:
        time.sleep(0.5)  # the loop's first round is done; it now sleeps up to 30 s
        started = time.monotonic()
        service.declare(live_ctx, DeclareRequest(severity="P2", title="Exports slow", by="mon"))
        while time.monotonic() - started < 10 and not webhook.delivered("slack/incidents"):
            time.sleep(0.02)
        took = time.monotonic() - started
    finally:
        loop.stop()
    assert len(webhook.delivered("slack/incidents")) == 1
    assert took < 5
