"""The customer e-mail: due after mitigation (nself P0, 30 min) or resolution (P1, 1 h), reminded, sent over SMTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.notify.conftest import SmtpSink, WebhookSink, body_of, channel
from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict
from warroom.incidents import drafts, service
from warroom.incidents.schemas import DeclareRequest, ImpactRequest
from warroom.notify import customer, views
from warroom.notify.delivery import deliver_due
from warroom.notify.settings import NotifySettings
from warroom.store.unit import Context


def _clock(ctx: Context) -> FakeClock:
    assert isinstance(ctx.clock, FakeClock)
    return ctx.clock


def _mitigated_incident(ctx: Context, severity: str = "P0") -> str:
    iid = service.declare(
        ctx, DeclareRequest(severity=severity, title="Auth down", service="auth", summary="sign-in fails", by="mon")
    ).id
    _clock(ctx).advance(timedelta(minutes=3))
    service.acknowledge(ctx, iid, "alice")
    service.set_impact(ctx, iid, ImpactRequest(users_affected=900, description="nobody can sign in", by="alice"))
    _clock(ctx).advance(timedelta(minutes=20))
    service.mitigate(ctx, iid, "rollback", True, "alice", "rolled back the 14:05 deploy")
    return iid


def _reminders(ctx: Context, iid: str) -> list[views.NotificationView]:
    return sorted(
        (n for n in views.list_notifications(ctx, incident=iid) if n.event_key.startswith("customer-email-")),
        key=lambda n: n.id,
    )


def test_p0_customer_email_is_due_within_30_minutes_of_mitigation_reminded_then_sent(
    nctx: Context, wired: None, smtp: SmtpSink, webhook: WebhookSink, settings: NotifySettings
) -> None:
    channel(nctx, "war-room", webhook.url("slack/{channel}"))
    channel(nctx, "customer-email", smtp.url("customers@example.com", sender="support@example.com", name="nSelf"))
    iid = _mitigated_incident(nctx)
    mitigated = _clock(nctx).now()
    (due,) = _reminders(nctx, iid)
    assert (due.destination, due.due_by) == ("war-room", mitigated + timedelta(minutes=30))
    deliver_due(nctx, "w1", settings=settings)
    post = webhook.delivered("slack/incident-2026-05-07-auth-down")[-1]
    assert post.body["message"].startswith("Customer e-mail due: send it by 15:10 UTC (within 30m of mitigation).")

    _clock(nctx).advance(timedelta(minutes=30))
    deliver_due(nctx, "w1", settings=settings)
    overdue = _reminders(nctx, iid)[-1]
    assert overdue.event_key.startswith("customer-email-overdue:") and overdue.state == "sent"
    assert (
        webhook.delivered("slack/incident-2026-05-07-auth-down")[-1]
        .body["message"]
        .startswith("Customer e-mail OVERDUE")
    )

    # nself's external audience waits for no flag (external.requires is empty): the e-mail goes at once.
    nid = customer.send(nctx, iid, "carol")
    deliver_due(nctx, "w1", settings=settings)
    (mail,) = smtp.wait(1)
    assert mail["Subject"] == "nSelf service incident — sign-in fails"
    assert mail["From"] == "nSelf <support@example.com>"
    assert mail["To"] == "customers@example.com"
    text = body_of(mail)
    assert text.startswith("Hi there,")
    assert "We had an issue affecting auth from 14:17 UTC" in text
    assert "Impact on you: nobody can sign in." in text
    assert "What's next: a post-mortem within 48h" in text
    assert "— carol, nSelf" in text
    assert views.get_notification(nctx, nid).state == "sent"
    timeline = [e.what for e in service.timeline(nctx, iid)]
    assert "Customer e-mail #1 queued: nSelf service incident — sign-in fails" in timeline

    # Posting the same draft records it as an external update; it is not also put on the status page.
    channel(nctx, "status-page", smtp.url("status@example.com"))
    drafts.post(nctx, iid, "customer_email", "carol")
    assert [n.destination for n in views.list_notifications(nctx, incident=iid) if n.kind == "update"] == []

    # Sent: no more reminders, even as the delivery loop keeps scanning.
    count = len(_reminders(nctx, iid))
    _clock(nctx).advance(timedelta(hours=2))
    deliver_due(nctx, "w1", settings=settings)
    assert len(_reminders(nctx, iid)) == count


def test_p1_customer_email_is_due_within_an_hour_of_resolution_found_by_the_delivery_loop(
    nctx: Context, unwired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    """Not wired: the delivery loop's scan finds the due e-mail from the incident record."""
    channel(nctx, "war-room", webhook.url("slack/{channel}"))
    iid = _mitigated_incident(nctx, "P1")
    deliver_due(nctx, "w1", settings=settings)
    assert _reminders(nctx, iid) == []  # P1: after resolution, not mitigation
    _clock(nctx).advance(timedelta(minutes=10))
    service.resolve(nctx, iid, "alice")
    resolved = _clock(nctx).now()
    deliver_due(nctx, "w1", settings=settings)
    (due,) = _reminders(nctx, iid)
    assert due.due_by == resolved + timedelta(hours=1)
    assert "within 1h of resolution" in due.body


def test_no_customer_email_where_the_policy_sends_none_or_nowhere_to_send(nctx: Context) -> None:
    iid = service.declare(nctx, DeclareRequest(severity="P3", title="Cert expiry in 20 days", by="mon")).id
    service.set_flags(nctx, iid, {"impact_confirmed": True}, "alice")
    with pytest.raises(Conflict, match="sends no customer e-mail for P3"):
        customer.send(nctx, iid, "carol")
    iid = _mitigated_incident(nctx)
    service.set_flags(nctx, iid, {"impact_confirmed": True}, "alice")
    with pytest.raises(Conflict, match="no customer-email destination is configured"):
        customer.send(nctx, iid, "carol")
