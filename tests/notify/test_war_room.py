"""What the war room hears as an incident goes: the ack post, updates, reminders, a raised severity, resolution."""

from __future__ import annotations

from datetime import timedelta

from tests.notify.conftest import WebhookSink, channel, on_call, person
from warroom.domain.clock import FakeClock
from warroom.engine.loop import EngineLoop
from warroom.incidents import drafts, service
from warroom.incidents.schemas import DeclareRequest
from warroom.notify import views
from warroom.notify.delivery import deliver_due
from warroom.notify.settings import NotifySettings
from warroom.store.unit import Context

WAR_ROOM = "slack/incident-2026-05-07-billing-webhooks-failing"


def _run_engine(ctx: Context, minutes: int) -> None:
    """Advance the clock minute by minute, firing the engine's timers on the way."""
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    loop = EngineLoop(ctx, worker_id="e", strict=True)
    for _ in range(minutes):
        clock.advance(timedelta(minutes=1))
        loop.tick()


def test_the_war_room_hears_the_incident_from_ack_to_resolution(
    nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    on_call(nctx, "nself-primary", "alice")
    person(nctx, "alice", push=webhook.url("alice/push"), chat=webhook.url("alice/dm"))
    channel(nctx, "war-room", webhook.url("slack/{channel}"))
    channel(nctx, "#incidents", webhook.url("slack/incidents"))
    iid = service.declare(nctx, DeclareRequest(severity="P1", title="Billing webhooks failing", by="mon")).id
    assert isinstance(nctx.clock, FakeClock)
    nctx.clock.advance(timedelta(minutes=6))
    service.acknowledge(nctx, iid, "alice")
    deliver_due(nctx, "w1", settings=settings)
    ack = ":ack: P1 ack — Billing webhooks failing — IC: alice — 14:23 UTC"
    assert webhook.delivered("slack/incidents")[-1].body["message"] == ack
    assert webhook.delivered(WAR_ROOM)[-1].body["message"] == ack

    drafts.post(nctx, iid, "internal_update", "alice", text="Rolled back the deploy", next_step="watch the error rate")
    deliver_due(nctx, "w1", settings=settings)
    update = webhook.delivered(WAR_ROOM)[-1].body
    assert update["title"] == f"[P1] {iid}: Billing webhooks failing — internal update #1"
    assert update["message"] == "[14:23 UTC] Update #1: Rolled back the deploy. Next: watch the error rate."

    # The internal cadence (every 30 min for P1) nags the commander herself, by chat.
    _run_engine(nctx, 31)
    deliver_due(nctx, "w1", settings=settings)
    # (She is also reminded that the status page is due an external update, as nself's P1 row asks.)
    (nag,) = [m for m in webhook.delivered("alice/dm") if m.body["message"].startswith("Internal update due")]
    assert nag.body["message"].startswith("Internal update due: 30m since the last update")

    # Raised to P0: the P0 matrix applies now (all engineers, war room); alice is not paged twice for tier 1.
    channel(nctx, "@engineers", webhook.url("slack/engineers"))
    service.change_severity(nctx, iid, "P0", "alice", "spreading to all tenants")
    deliver_due(nctx, "w1", settings=settings)

    raised = webhook.delivered(WAR_ROOM)[-1].body
    assert raised["title"] == f"[P0] {iid}: Billing webhooks failing — raised from P1"
    assert raised["message"].startswith("Severity raised P1 → P0.")
    assert len(webhook.delivered("slack/engineers")) == 1
    assert len(webhook.delivered("alice/push")) == 1

    service.resolve(nctx, iid, "alice", force=True, reason="customer confirmed")
    deliver_due(nctx, "w1", settings=settings)
    done = webhook.delivered(WAR_ROOM)[-1].body
    assert done["type"] == "success"
    assert done["message"].startswith(":white_check_mark: RESOLVED — P0 resolved at ")
    assert "Post-mortem due:" in done["message"]
    assert views.list_notifications(nctx, state="failed") == []
