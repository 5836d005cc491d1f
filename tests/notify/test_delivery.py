"""Delivery to real receivers: e-mail over SMTP, JSON webhooks; retries, dead letters, fallbacks, rate limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select

from tests.conftest import free_port
from tests.notify.conftest import SmtpSink, WebhookSink, body_of, channel, on_call, person
from warroom.domain.clock import FakeClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest, ImpactRequest
from warroom.notify import views
from warroom.notify.delivery import deliver_due
from warroom.notify.outbox import Message, enqueue
from warroom.notify.routing import catch_up_pages
from warroom.notify.settings import NotifySettings
from warroom.store.engine_models import Page
from warroom.store.unit import Context


def _clock(ctx: Context) -> FakeClock:
    assert isinstance(ctx.clock, FakeClock)
    return ctx.clock


def _declare(ctx: Context, severity: str, title: str) -> str:
    return service.declare(ctx, DeclareRequest(severity=severity, title=title, summary=title, by="mon")).id


def test_a_page_by_email_arrives_over_smtp_with_its_headers_and_text(
    nctx: Context, wired: None, smtp: SmtpSink, webhook: WebhookSink, settings: NotifySettings
) -> None:
    on_call(nctx, "nself-primary", "alice")
    person(nctx, "alice", email=smtp.url("alice@example.com"))  # no pager: a page falls back to e-mail
    channel(nctx, "war-room", webhook.url("slack/{channel}"))
    channel(nctx, "@engineers", webhook.url("slack/engineers"))
    iid = _declare(nctx, "P0", "Database down")
    row = next(n for n in views.list_notifications(nctx, incident=iid) if n.person == "alice")
    assert (row.destination, row.note) == ("person:alice:email", "no page contact; used email instead")

    deliver_due(nctx, "w1", settings=settings)
    (msg,) = smtp.wait(1)
    assert msg["Subject"] == f"[P0] {iid}: Database down"
    assert msg["From"] == "warroom <warroom@example.com>"
    assert msg["To"] == "alice@example.com"
    assert smtp.envelopes == [("warroom@example.com", ["alice@example.com"])]
    text = body_of(msg)
    assert "P0 Total outage: Database down — ack within the SLA, war room #incident-2026-05-07-database-down" in text
    assert f"Acknowledge: warroom ack {iid}" in text
    assert views.get_notification(nctx, row.id).state == "sent"


def test_500_three_times_then_200_arrives_once_with_its_retries_in_the_log(
    nctx: Context, webhook: WebhookSink, settings: NotifySettings
) -> None:
    channel(nctx, "#incidents", webhook.url("slack/incidents"))
    webhook.statuses["/slack/incidents"] = [500, 500, 500]
    with nctx.db.unit() as s:
        (nid,) = enqueue(s, [Message("test:1", "#incidents", "test", "Hello", "one message")], nctx.clock.now())
    clock = _clock(nctx)
    start = clock.now()
    waits = []
    for _ in range(3):
        assert deliver_due(nctx, "w1", settings=settings).failed == 1
        n = views.get_notification(nctx, nid)
        assert n.state == "failed" and "500" in n.last_error
        waits.append(n.next_attempt_at - clock.now())
        assert deliver_due(nctx, "w1", settings=settings).claimed == 0  # not before its backoff
        clock.set(n.next_attempt_at)
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert deliver_due(nctx, "w1", settings=settings).sent == 1

    assert [h.status for h in webhook.on("slack/incidents")] == [500, 500, 500, 200]
    assert len(webhook.delivered("slack/incidents")) == 1
    n = views.get_notification(nctx, nid)
    assert (n.state, n.attempts, n.sent_at) == ("sent", 4, start + timedelta(seconds=210))
    assert [a.outcome for a in n.log] == ["failed", "failed", "failed", "sent"]
    assert all("500" in a.error for a in n.log[:3])
    assert deliver_due(nctx, "w1", settings=settings).claimed == 0
    assert len(webhook.on("slack/incidents")) == 4


def test_nself_war_room_unreachable_goes_dead_and_slack_incidents_gets_it(
    nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    """nself: Slack when the incident UI is unavailable. The war-room destination (here the UI's webhook)
    refuses connections; after its attempts the message goes to #incidents."""
    refused = free_port()
    channel(nctx, "war-room", f"json://127.0.0.1:{refused}/ui/{{channel}}?cto=1", fallback="#incidents", max_attempts=3)
    channel(nctx, "#incidents", webhook.url("slack/incidents"))
    on_call(nctx, "nself-primary", "alice")
    person(nctx, "alice", push=webhook.url("alice/push"))
    channel(nctx, "@engineers", webhook.url("slack/engineers"))
    iid = _declare(nctx, "P0", "Hasura down")
    clock = _clock(nctx)
    for _ in range(6):
        deliver_due(nctx, "w1", settings=settings)
        clock.advance(timedelta(minutes=5))
    rows = {n.destination: n for n in views.list_notifications(nctx, incident=iid, with_log=True)}
    dead = rows["war-room"]
    assert (dead.state, dead.attempts, dead.max_attempts) == ("dead", 3, 3)
    assert "Connection error" in dead.last_error and "after 3 attempts" in dead.last_error
    assert [a.outcome for a in dead.log] == ["failed", "failed", "dead"]
    backup = rows["#incidents"]
    assert (backup.state, backup.fallback_of, backup.event_key) == ("sent", dead.id, dead.event_key)
    (post,) = webhook.delivered("slack/incidents")
    assert "Opening war room: #incident-2026-05-07-hasura-down" in post.body["message"]
    assert [n.id for n in views.list_notifications(nctx, state="failed")] == [dead.id]


def test_so1_status_page_that_never_answers_falls_back_to_customer_email(
    make_nctx: Callable[[str], Context], wired: None, webhook: WebhookSink, smtp: SmtpSink
) -> None:
    """SO1: when the status page itself is down, customers hear by e-mail instead."""
    ctx = make_nctx("so1")
    settings = NotifySettings(backoff_seconds=10, lease_seconds=60)
    webhook.hang.add("/statuspage")
    channel(ctx, "status-page", webhook.url("statuspage", timeout=1), fallback="customer-email", max_attempts=2)
    channel(ctx, "customer-email", smtp.url("customers@example.com", sender="status@example.com", name="SO1 Status"))
    iid = service.declare(ctx, DeclareRequest(severity="SEV1", title="Checkout failing", by="mon")).id
    service.set_impact(ctx, iid, ImpactRequest(users_affected=500, description="checkout fails", by="ana"))
    service.set_flags(ctx, iid, {"impact_confirmed": True}, "ana")
    service.post_update(ctx, iid, "external", "We are investigating failed checkouts.", "ana", "next update in 15m")
    (status,) = [n for n in views.list_notifications(ctx, incident=iid) if n.destination == "status-page"]
    assert (status.kind, status.state) == ("update", "pending")

    clock = _clock(ctx)
    deliver_due(ctx, "w1", settings=settings)
    clock.advance(timedelta(seconds=10))
    report = deliver_due(ctx, "w1", settings=settings)
    assert report.dead == 1
    dead = views.get_notification(ctx, status.id)
    assert dead.state == "dead" and "Connection error" in dead.last_error
    assert [a.outcome for a in dead.log] == ["failed", "dead"]
    assert all(a.elapsed_ms >= 900 for a in dead.log)  # each try waited for an answer that never came
    deliver_due(ctx, "w1", settings=settings)
    (mail,) = smtp.wait(1)
    assert mail["To"] == "customers@example.com"
    assert mail["From"] == "SO1 Status <status@example.com>"
    assert mail["Subject"] == f"[SEV1] {iid}: Checkout failing — external update #1"
    assert "We are investigating failed checkouts." in body_of(mail)
    (fallback,) = [n for n in views.list_notifications(ctx, incident=iid) if n.destination == "customer-email"]
    assert (fallback.state, fallback.fallback_of, fallback.event_key) == ("sent", status.id, status.event_key)


def test_a_storm_of_updates_is_capped_per_destination_and_coalesced(
    nctx: Context, webhook: WebhookSink, settings: NotifySettings
) -> None:
    channel(nctx, "#incidents", webhook.url("slack/incidents"), rate_per_minute=5)
    now = nctx.clock.now()
    with nctx.db.unit() as s:
        ids = enqueue(
            s, [Message(f"alert:{i}", "#incidents", "test", f"Alert {i}", f"body {i}") for i in range(12)], now
        )
        # The same event twice is one message (dedupe by event key and destination).
        assert enqueue(s, [Message("alert:3", "#incidents", "test", "Alert 3", "again")], now) == []
    assert len(ids) == 12
    report = deliver_due(nctx, "w1", settings=settings)
    assert (report.sent, report.coalesced) == (5, 8)
    hits = webhook.delivered("slack/incidents")
    assert [h.body["title"] for h in hits[:4]] == ["Alert 0", "Alert 1", "Alert 2", "Alert 3"]
    digest = hits[4].body
    assert digest["title"] == "8 notifications (rate limit for #incidents)"
    assert "Alert 4" in digest["message"] and "Alert 11" in digest["message"]
    states = {n.id: n.state for n in views.list_notifications(nctx, limit=100)}
    assert all(states[i] == "sent" for i in ids)
    # The minute is used up: the next message waits for the window to free.
    with nctx.db.unit() as s:
        (late,) = enqueue(s, [Message("alert:99", "#incidents", "test", "Alert 99", "late")], nctx.clock.now())
    assert deliver_due(nctx, "w1", settings=settings).deferred == 1
    assert views.get_notification(nctx, late).next_attempt_at == now + timedelta(minutes=1)
    _clock(nctx).advance(timedelta(minutes=1))
    assert deliver_due(nctx, "w1", settings=settings).sent == 1
    assert len(webhook.delivered("slack/incidents")) == 6


def test_pending_pages_are_caught_up_without_the_hook_and_one_page_per_person_per_tier(
    nctx: Context, unwired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    """The engine recorded pages but nothing handed them over: the delivery loop finds them. Two targets of
    one tier that reach the same person are one page; a page to someone without contacts is failed, visibly."""
    person(nctx, "alice", push=webhook.url("alice/push"), email=webhook.url("alice/email"))
    iid = _declare(nctx, "P0", "Everything down")  # not wired: no matrix rows
    now = nctx.clock.now()
    with nctx.db.unit() as s:
        for target in ("primary-on-call", "backup-on-call"):
            s.add(
                Page(
                    key=f"page:{iid}:g:0:2:{target}",
                    incident_id=iid,
                    kind="page",
                    target=target,
                    person="alice",
                    tier=3,
                    round=0,
                    methods=["email", "phone"],
                    reason="P0 unacknowledged: tier 3 of nself-paging",
                    created_at=now,
                    delivery="pending",
                )
            )
        s.add(
            Page(
                key=f"page:{iid}:g:0:2:nobody",
                incident_id=iid,
                kind="page",
                target="backup-on-call",
                person="bob",
                tier=3,
                round=0,
                methods=["email"],
                reason="P0 unacknowledged: tier 3 of nself-paging",
                created_at=now,
                delivery="pending",
            )
        )
    report = deliver_due(nctx, "w1", settings=settings)
    assert (report.caught_up, report.sent, report.dead) == (3, 1, 1)
    (mail,) = webhook.delivered("alice/email")
    assert "tier 3 of nself-paging" in mail.body["message"]
    with nctx.db.unit() as s:
        pages = {p.person: p.delivery for p in s.scalars(select(Page).where(Page.incident_id == iid))}
        assert pages == {"alice": "sent", "bob": "failed"}
        assert catch_up_pages(s, nctx.policy, now) == 0
    (bob,) = views.list_notifications(nctx, state="failed")
    assert (bob.destination, bob.state) == ("person:bob", "dead")
    assert "bob has no contact methods" in bob.last_error


def test_a_dead_notification_is_retried_by_hand(nctx: Context, webhook: WebhookSink, settings: NotifySettings) -> None:
    with nctx.db.unit() as s:
        (nid,) = enqueue(s, [Message("test:x", "#incidents", "test", "Hello", "body")], nctx.clock.now())
    deliver_due(nctx, "w1", settings=settings)
    n = views.get_notification(nctx, nid)
    assert n.state == "dead" and "no destination '#incidents' is configured" in n.last_error
    channel(nctx, "#incidents", webhook.url("slack/incidents"), max_attempts=3)
    retried = views.retry(nctx, nid, "carol")
    assert (retried.state, retried.attempts, retried.max_attempts) == ("pending", 1, 1 + 3)
    deliver_due(nctx, "w1", settings=settings)
    n = views.get_notification(nctx, nid)
    assert n.state == "sent"
    assert [a.outcome for a in n.log] == ["unroutable", "retry", "sent"]
    assert "retried by hand by carol" in n.log[1].error
    assert len(webhook.delivered("slack/incidents")) == 1


def test_two_workers_share_the_outbox_and_send_each_message_once(
    nctx: Context, webhook: WebhookSink, settings: NotifySettings
) -> None:
    """PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: one writer at a time. Either way, no message twice."""
    channel(nctx, "#incidents", webhook.url("slack/incidents"), rate_per_minute=1000)
    with nctx.db.unit() as s:
        enqueue(s, [Message(f"m:{i}", "#incidents", "test", f"m{i}", "x") for i in range(30)], nctx.clock.now())
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while deliver_due(nctx, name, limit=4, settings=settings).claimed:
                pass
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    titles = [h.body["title"] for h in webhook.delivered("slack/incidents")]
    assert sorted(titles) == sorted(f"m{i}" for i in range(30))
    rows = views.list_notifications(nctx, with_log=True)
    assert len(rows) == 30
    assert all([a.outcome for a in n.log] == ["sent"] and n.attempts == 1 for n in rows)
