"""Destinations that hang: nobody else's page waits behind them, and their person's fallback is told at once.

Real receivers on 127.0.0.1 that accept a connection and never answer; the real delivery loop with
Apprise; what is asserted is what a responder notices: which pages arrived, and before what.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.faults.conftest import Receiver
from tests.notify.conftest import channel, on_call, person
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.notify import routing, views
from warroom.notify.delivery import deliver_due
from warroom.notify.loop import DeliveryLoop
from warroom.notify.outbox import Message, enqueue
from warroom.notify.settings import NotifySettings
from warroom.store.engine_models import Page
from warroom.store.unit import Context


def _settings(**timeouts: tuple[float, float]) -> NotifySettings:
    return NotifySettings(
        max_attempts=5,
        backoff_seconds=30,
        backoff_max_seconds=240,
        lease_seconds=120,
        batch=50,
        interval=0.2,
        connect_timeouts={m: c for m, (c, _) in timeouts.items()},
        total_timeouts={m: t for m, (_, t) in timeouts.items()},
    )


def _queue(ctx: Context, key: str, destination: str, kind: str = "page", title: str = "") -> int:
    person_name = destination.split(":")[1] if destination.startswith("person:") else None
    method = destination.split(":")[2] if person_name else None
    with ctx.db.unit() as s:
        (nid,) = enqueue(
            s,
            [Message(key, destination, kind, title or key, "body", person=person_name, method=method)],
            ctx.clock.now(),
        )
    return nid


def _settled(ctx: Context, nid: int) -> str:
    """The row's state once its send has been recorded (the receiver sees a message before the outbox does)."""
    deadline = time.monotonic() + 20
    while (state := views.get_notification(ctx, nid).state) in ("pending", "sending") and time.monotonic() < deadline:
        time.sleep(0.01)
    return state


@pytest.fixture
def loop_of() -> Iterator[list[DeliveryLoop]]:
    loops: list[DeliveryLoop] = []
    yield loops
    for loop in loops:
        loop.stop()


def test_a_page_for_bob_is_not_held_behind_ten_hung_destinations(
    ctx: Context, receiver: Receiver, loop_of: list[DeliveryLoop]
) -> None:
    hung = [f"hooks/{n}" for n in range(10)]
    receiver.hang.update("/" + h for h in hung)
    for n, path in enumerate(hung):
        channel(ctx, f"#team-{n}", receiver.url(path))
    person(ctx, "bob", push=receiver.url("bob/push"))
    settings = _settings(channel=(2.0, 120.0), push=(2.0, 120.0))
    loop = DeliveryLoop(ctx, worker_id="faults", settings=settings).start()
    loop_of.append(loop)
    for n in range(10):  # two messages each: the second waits for the first, never a second connection
        _queue(ctx, f"update:{n}:1", f"#team-{n}", "update")
        _queue(ctx, f"update:{n}:2", f"#team-{n}", "update")
    for path in hung:
        receiver.wait_hung(path)

    page = _queue(ctx, "page:INC-B:t1:r0:bob", "person:bob:push", title="bob's page")
    (arrived,) = receiver.wait_for("bob/push")
    with receiver.lock:
        still_hanging = dict(receiver.hung_now)
    assert arrived.title == "bob's page"
    assert still_hanging == {"/" + h: 1 for h in hung}  # bob's page went out while all ten still hung
    assert _settled(ctx, page) == "sent"
    with receiver.lock:
        assert receiver.hung_most == {"/" + h: 1 for h in hung}  # one in flight per destination
        assert receiver.hung_total == {"/" + h: 1 for h in hung}


def test_a_push_that_hangs_sends_the_page_to_the_fallback_at_once_and_the_next_page_there_first(
    ctx: Context, receiver: Receiver, loop_of: list[DeliveryLoop]
) -> None:
    receiver.hang.add("/alice/push")
    person(ctx, "alice", fallback="sms", push=receiver.url("alice/push"), sms=receiver.url("alice/sms"))
    settings = _settings(push=(0.5, 1.0), sms=(2.0, 10.0))
    loop_of.append(DeliveryLoop(ctx, worker_id="faults", settings=settings).start())

    first = _queue(ctx, "page:INC-1:t1:r0:alice", "person:alice:push", title="first page")
    (by_sms,) = receiver.wait_for("alice/sms")
    assert by_sms.title == "first page"
    assert _settled(ctx, first) == "failed"
    push = views.get_notification(ctx, first)
    # Not after five attempts and their backoffs: after one send that timed out.
    assert (push.state, push.attempts) == ("failed", 1)
    assert push.next_attempt_at > ctx.clock.now()
    assert push.log[0].outcome == "timeout" and "timed out" in push.log[0].error
    assert "sent" not in [a.outcome for a in push.log]

    second = _queue(ctx, "page:INC-2:t1:r0:alice", "person:alice:push", title="second page")
    arrivals = receiver.wait_for("alice/sms", 2)
    assert [a.title for a in arrivals] == ["first page", "second page"]
    skipped = views.get_notification(ctx, second)
    assert (skipped.state, skipped.attempts) == ("dead", 0)
    assert [a.outcome for a in skipped.log] == ["suspect"]
    with receiver.lock:
        assert receiver.hung_total == {"/alice/push": 1}  # the suspect push was not tried again for page 2


def test_tier_one_pages_reach_sent_like_their_messages(
    ctx: Context, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tier 1 shares the declaration's messages: the page row follows them to `sent` whichever runs first."""
    monkeypatch.setattr(routing, "STRICT", True)
    on_call(ctx, "nself-primary", "alice")
    person(ctx, "alice", push=receiver.url("alice/push"))
    channel(ctx, "war-room", receiver.url("slack/{channel}"))
    channel(ctx, "@engineers", receiver.url("slack/engineers"))
    settings = _settings(push=(2.0, 10.0), channel=(2.0, 10.0))

    def declare(title: str) -> str:
        return service.declare(ctx, DeclareRequest(severity="P0", title=title, summary="x", by="mon")).id

    delivered_first = declare("Auth down")  # messages sent, then the engine records tier 1
    deliver_due(ctx, "w1", settings=settings)
    EngineLoop(ctx, worker_id="e1", strict=True).tick()
    paged_first = declare("Billing down")  # the engine records tier 1, then the messages are sent
    EngineLoop(ctx, worker_id="e1", strict=True).tick()
    deliver_due(ctx, "w1", settings=settings)

    assert [a.title for a in receiver.at("alice/push")] == [
        f"[P0] {delivered_first}: Auth down",
        f"[P0] {paged_first}: Billing down",
    ]
    with ctx.db.read() as s:
        pages = {p.incident_id: (p.tier, p.delivery) for p in s.scalars(select(Page).where(Page.kind == "page"))}
    assert pages == {delivered_first: (1, "sent"), paged_first: (1, "sent")}
