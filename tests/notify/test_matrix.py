"""The notification matrix per severity (nself): who is told, where, how and when, delivered for real."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from tests.notify.conftest import WebhookSink, channel, on_call, person
from warroom.domain.clock import FakeClock
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.notify import routing, views
from warroom.notify.delivery import deliver_due
from warroom.notify.settings import NotifySettings
from warroom.store.engine_models import Page
from warroom.store.models import Incident
from warroom.store.unit import Context, run


def _setup(ctx: Context, webhook: WebhookSink) -> None:
    on_call(ctx, "nself-primary", "alice")
    on_call(ctx, "nself-backup", "bob")
    person(ctx, "alice", push=webhook.url("alice/push"), sms=webhook.url("alice/sms"))
    person(ctx, "bob", push=webhook.url("bob/push"))
    channel(ctx, "war-room", webhook.url("slack/{channel}"))
    channel(ctx, "#incidents", webhook.url("slack/incidents"))
    channel(ctx, "#ops-low", webhook.url("slack/ops-low"))
    channel(ctx, "@engineers", webhook.url("slack/engineers"))


def _declare(ctx: Context, severity: str, title: str = "Auth down for all users") -> str:
    return service.declare(ctx, DeclareRequest(severity=severity, title=title, summary="sign-in fails", by="mon")).id


def _rows(ctx: Context, iid: str) -> dict[str, views.NotificationView]:
    return {n.destination: n for n in views.list_notifications(ctx, incident=iid)}


def test_p0_pages_primary_and_all_engineers_and_posts_in_the_war_room_at_once(
    nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    _setup(nctx, webhook)
    iid = _declare(nctx, "P0")
    rows = _rows(nctx, iid)
    assert set(rows) == {"person:alice:push", "@engineers", "war-room"}
    assert all(r.next_attempt_at == nctx.clock.now() for r in rows.values())
    assert {d: r.event_key for d, r in rows.items()} == {
        "person:alice:push": f"page:{iid}:t1:r0:alice",
        "@engineers": f"declared:{iid}",
        "war-room": f"declared:{iid}",
    }

    report = deliver_due(nctx, "w1", settings=settings)
    assert report.sent == 3
    (page,) = webhook.delivered("alice/push")
    assert page.body["title"] == f"[P0] {iid}: Auth down for all users"
    assert page.body["message"].startswith("P0 Total outage: sign-in fails — ack within the SLA, war room #incident-")
    assert f"Acknowledge: warroom ack {iid}" in page.body["message"]
    assert page.body["type"] == "failure"
    (post,) = webhook.delivered("slack/incident-2026-05-07-auth-down-for-all-users")
    assert "Notified: alice, @engineers" in post.body["message"]
    assert len(webhook.delivered("slack/engineers")) == 1

    # Tier 1 of the escalation pages alice by push and SMS: the push is the same page (same tier), not a second one.
    EngineLoop(nctx, worker_id="e1", strict=True).tick()
    deliver_due(nctx, "w1", settings=settings)
    assert len(webhook.delivered("alice/push")) == 1
    assert len(webhook.delivered("alice/sms")) == 1
    with nctx.db.unit() as s:
        (tier1,) = s.scalars(select(Page).where(Page.incident_id == iid))
        assert (tier1.delivery, tier1.delivered_at) == ("sent", nctx.clock.now())

    # Tier 2 five minutes later reaches bob, once.
    assert isinstance(nctx.clock, FakeClock)
    nctx.clock.advance(timedelta(minutes=5))
    EngineLoop(nctx, worker_id="e1", strict=True).tick()
    deliver_due(nctx, "w1", settings=settings)
    assert len(webhook.delivered("bob/push")) == 1
    assert "tier 2" in webhook.delivered("bob/push")[0].body["message"]


def test_p1_primary_in_incidents_and_war_room_within_the_ack_sla(
    nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    _setup(nctx, webhook)
    iid = _declare(nctx, "P1", "Billing webhooks failing")
    rows = _rows(nctx, iid)
    # "page or push": one of them is enough, so alice gets exactly one.
    assert set(rows) == {"person:alice:push", "#incidents", "war-room"}
    sla = nctx.clock.now() + timedelta(hours=1)
    assert {r.due_by for r in rows.values()} == {sla}
    deliver_due(nctx, "w1", settings=settings)
    assert len(webhook.delivered("slack/incidents")) == 1
    assert len(webhook.delivered("slack/incident-2026-05-07-billing-webhooks-failing")) == 1
    assert webhook.delivered("slack/incidents")[0].body["type"] == "warning"


def test_p2_goes_to_incidents_only(nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings) -> None:
    _setup(nctx, webhook)
    iid = _declare(nctx, "P2", "Exports slow")
    assert set(_rows(nctx, iid)) == {"#incidents"}
    deliver_due(nctx, "w1", settings=settings)
    (post,) = webhook.delivered("slack/incidents")
    assert "Notified: alice" in post.body["message"]
    assert webhook.delivered("alice/push") == []


def test_p3_at_three_in_the_morning_waits_for_business_hours(
    nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    _setup(nctx, webhook)
    clock = nctx.clock
    assert isinstance(clock, FakeClock)
    clock.set(datetime(2026, 5, 8, 3, 0, tzinfo=UTC))  # a Friday, 03:00 UTC; nself business hours 09:00-17:00 UTC
    iid = _declare(nctx, "P3", "Certificate expires in 20 days")
    (row,) = _rows(nctx, iid).values()
    assert (row.destination, row.next_attempt_at) == ("#ops-low", datetime(2026, 5, 8, 9, 0, tzinfo=UTC))

    assert deliver_due(nctx, "w1", settings=settings).claimed == 0
    clock.set(datetime(2026, 5, 8, 8, 59, tzinfo=UTC))
    assert deliver_due(nctx, "w1", settings=settings).claimed == 0
    assert webhook.hits == []
    clock.set(datetime(2026, 5, 8, 9, 0, tzinfo=UTC))
    assert deliver_due(nctx, "w1", settings=settings).sent == 1
    assert len(webhook.delivered("slack/ops-low")) == 1

    # Declared inside business hours, a P3 goes at once; on Saturday it waits for Monday.
    iid2 = _declare(nctx, "P3", "Log volume warning")
    assert _rows(nctx, iid2)["#ops-low"].next_attempt_at == clock.now()
    clock.set(datetime(2026, 5, 9, 12, 0, tzinfo=UTC))
    iid3 = _declare(nctx, "P3", "Disk at 70%")
    assert _rows(nctx, iid3)["#ops-low"].next_attempt_at == datetime(2026, 5, 11, 9, 0, tzinfo=UTC)


def test_the_matrix_reads_the_incident_for_its_texts_once(
    nctx: Context, unwired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    """The page and the channel post come from one read of the incident's record: on PostgreSQL every table that
    read covers is a round trip, and a flood's new incidents are declared while the server is at its busiest."""
    _setup(nctx, webhook)
    iid = _declare(nctx, "P0")
    assert _rows(nctx, iid) == {}
    reads: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "FROM hypotheses" in statement:
            reads.append(statement)

    event.listen(nctx.db.engine, "before_cursor_execute", seen)
    try:
        run(nctx, lambda s, now: routing.on_declared(s, nctx.policy, s.get_one(Incident, iid), now, settings))
    finally:
        event.remove(nctx.db.engine, "before_cursor_execute", seen)
    assert len(reads) == 1, reads
    assert set(_rows(nctx, iid)) == {"person:alice:push", "@engineers", "war-room"}
    assert deliver_due(nctx, "w1", settings=settings).sent == 3
    (page,) = webhook.delivered("alice/push")
    (post,) = webhook.delivered("slack/incident-2026-05-07-auth-down-for-all-users")
    assert page.body["message"].split("\n")[0] in post.body["message"]
    assert "Notified: alice" in post.body["message"]
