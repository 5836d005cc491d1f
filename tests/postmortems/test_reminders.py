"""Overdue action items remind their owner through the notifications, on SQLite and PostgreSQL.

The engine's durable timer fires at the due time (never before), the reminder is a timeline entry by
warroom naming the item and whom it reminds, and routing puts the owner's message in the outbox in the
same transaction; `reminded_at` on the item makes it once per overdue period, then again every
`action_items.remind_every` of the policy while the item stays open or in progress. Finishing the item
or moving its due date ends that period. The last test goes through a real `warroom serve` to a real
SMTP server.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import Server
from tests.notify.conftest import SmtpSink, body_of
from warroom.compose import SUBSCRIBERS
from warroom.domain.clock import FakeClock
from warroom.engine.loop import EngineLoop
from warroom.incidents import service as incidents
from warroom.incidents.schemas import DeclareRequest, TimelineView
from warroom.notify import routing
from warroom.policy.model import ActionItemRule
from warroom.postmortems import service
from warroom.store.engine_models import Timer
from warroom.store.unit import Context

DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def loud_routing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routing, "STRICT", True)


def resolved(ctx: Context, clock: FakeClock) -> str:
    iid = incidents.declare(ctx, DeclareRequest(severity="P1", title="Webhooks failing", by="monitor")).id
    clock.advance(timedelta(minutes=3))
    incidents.acknowledge(ctx, iid, "alice")
    clock.advance(timedelta(minutes=20))
    incidents.resolve(ctx, iid, "alice", force=True, reason="provider confirmed the fix")
    return iid


def run_until(ctx: Context, clock: FakeClock, until: datetime) -> None:
    """Fire every timer due up to `until`, one due time after another (as a drill does)."""
    loop = EngineLoop(ctx, worker_id="t", strict=True)
    while (nxt := loop.next_due()) is not None and nxt <= until:
        clock.set(max(nxt, clock.now()))
        loop.tick()
    clock.set(max(until, clock.now()))
    loop.tick()


def reminders(ctx: Context, iid: str) -> list[TimelineView]:
    return [e for e in incidents.timeline(ctx, iid) if e.kind == "action_item_reminder"]


def outbox(ctx: Context, iid: str) -> list[tuple[str, str, str]]:
    with ctx.db.unit() as s:
        rows = routing.queued_for(s, iid)
        return [(r.destination, r.title, r.body) for r in rows if r.kind == "reminder" and "Action item" in r.body]


def live_item_timers(ctx: Context) -> list[Timer]:
    with ctx.db.unit() as s:
        live = select(Timer).where(Timer.kind == "action_item", Timer.state.in_(("pending", "claimed")))
        return list(s.scalars(live))


def test_an_overdue_item_reminds_its_owner_when_due_then_daily_until_done(ctx: Context, clock: FakeClock) -> None:
    iid = resolved(ctx, clock)
    due = clock.now() + timedelta(hours=2)
    item = service.add_action_item(ctx, iid, "Alert when webhook 401s exceed 1% for 5m", "alice", "bob", due)
    run_until(ctx, clock, due - timedelta(seconds=1))
    assert reminders(ctx, iid) == [] and outbox(ctx, iid) == []
    assert service.action_items(ctx, overdue=True) == []

    run_until(ctx, clock, due)
    (first,) = reminders(ctx, iid)
    assert first.actor == "warroom" and first.at == due
    assert first.what == f"Action item {item.id} overdue (due {due:%Y-%m-%d %H:%M} UTC): {item.text}"
    assert first.outcome == "remind bob"
    assert first.data["to"] == ["bob"] and first.data["repeat"] is False
    # The owner's message is in the outbox (chat, else e-mail, else anything bob has), once.
    ((destination, title, body),) = outbox(ctx, iid)
    assert destination == "person:bob" and title == f"[P1] {iid}: Webhooks failing — reminder"
    assert body == first.what
    clock.advance(timedelta(minutes=1))
    (overdue,) = service.action_items(ctx, overdue=True)
    assert overdue.reminded_at == due and overdue.overdue

    # Not again within the interval (1 day by default), however often the engine looks.
    run_until(ctx, clock, due + DAY - timedelta(seconds=1))
    assert len(reminders(ctx, iid)) == 1 and len(outbox(ctx, iid)) == 1
    run_until(ctx, clock, due + DAY)
    second = reminders(ctx, iid)[1]
    assert second.data["repeat"] is True and second.data["overdue_seconds"] == 86400
    assert "still overdue" in second.what and second.what.endswith("— 24h late")
    assert len(outbox(ctx, iid)) == 2

    service.change_action_item(ctx, item.id, "bob", status="in_progress")  # in progress is still unfinished
    run_until(ctx, clock, due + 2 * DAY)
    assert len(reminders(ctx, iid)) == 3
    service.change_action_item(ctx, item.id, "bob", status="done")
    assert live_item_timers(ctx) == []
    run_until(ctx, clock, due + 10 * DAY)
    assert len(reminders(ctx, iid)) == 3 and len(outbox(ctx, iid)) == 3


def test_moving_the_due_date_starts_a_new_overdue_period(ctx: Context, clock: FakeClock) -> None:
    iid = resolved(ctx, clock)
    due = clock.now() + timedelta(hours=1)
    item = service.add_action_item(ctx, iid, "Rotate the webhook secret with a two-key overlap", "alice", "bob", due)
    run_until(ctx, clock, due)
    assert len(reminders(ctx, iid)) == 1
    later = due + 3 * DAY
    service.change_action_item(ctx, item.id, "bob", due_at=later)
    run_until(ctx, clock, later - timedelta(seconds=1))
    assert len(reminders(ctx, iid)) == 1  # the daily repeat belonged to the old due date
    run_until(ctx, clock, later)
    again = reminders(ctx, iid)[1]
    assert again.data["due_at"] == later.isoformat().replace("+00:00", "Z") and again.data["repeat"] is False


def test_an_item_already_overdue_when_written_down_is_reminded_at_once(ctx: Context, clock: FakeClock) -> None:
    iid = resolved(ctx, clock)
    past = clock.now() - timedelta(hours=5)
    service.add_action_item(ctx, iid, "Alert when the queue depth exceeds 1000 for 5m", "alice", "carol", past)
    run_until(ctx, clock, clock.now())
    (r,) = reminders(ctx, iid)
    assert r.data["to"] == ["carol"] and r.data["overdue_seconds"] == 5 * 3600 and r.what.endswith("— 5h late")


def test_an_ownerless_item_reminds_the_commander(ctx: Context, clock: FakeClock) -> None:
    iid = resolved(ctx, clock)
    due = clock.now() + timedelta(hours=1)
    service.add_action_item(ctx, iid, "Add a canary stage to the webhook deploy", "alice", None, due)
    run_until(ctx, clock, due)
    (r,) = reminders(ctx, iid)
    assert r.data["owner"] is None and r.data["to"] == ["alice"] and r.outcome == "remind alice"
    assert [d for d, _, _ in outbox(ctx, iid)] == ["person:alice"]


def _with(ctx: Context, rule: ActionItemRule) -> Context:
    return Context(ctx.db, ctx.policy.model_copy(update={"action_items": rule}), ctx.clock, SUBSCRIBERS)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (ActionItemRule(remind_every=None), [0]),
        (ActionItemRule.model_validate({"remind_every": "6h"}), [0, 6, 12, 18, 24, 30, 36, 42, 48]),
        (ActionItemRule(remind_overdue=False), []),
    ],
    ids=["once", "every-6h", "off"],
)
def test_the_policy_sets_the_interval(
    ctx: Context, clock: FakeClock, rule: ActionItemRule, expected: list[int]
) -> None:
    pctx = _with(ctx, rule)
    iid = resolved(pctx, clock)
    due = clock.now() + timedelta(hours=1)
    service.add_action_item(pctx, iid, "Alert when webhook retries exceed 100 per minute", "alice", "bob", due)
    run_until(pctx, clock, due + 2 * DAY)
    hours = [int((r.at - due).total_seconds() // 3600) for r in reminders(pctx, iid)]
    assert hours == expected
    assert len(outbox(pctx, iid)) == len(expected)


def _mail(smtp: SmtpSink, to: str, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = smtp.to(to)
        if got:
            return [body_of(m) for m in got]
        time.sleep(0.1)
    return []


def test_the_owner_gets_the_reminder_by_email_from_a_real_server(server: Server, smtp: SmtpSink) -> None:
    """Through `warroom serve` (its engine and its delivery loop) to a real SMTP server on 127.0.0.1."""
    owner = f"owner-{server.port}-{os.getpid()}"
    address = f"{owner}@example.com"
    with server.client() as api:
        assert api.put(f"/api/v1/contacts/people/{owner}", json={"timezone": "UTC"}).status_code == 200
        put = api.put(f"/api/v1/contacts/people/{owner}/methods/email", json={"url": smtp.url(address)})
        assert put.status_code == 200, put.text
        declared = api.post("/api/v1/incidents", json={"severity": "P1", "title": "Exports stuck", "by": "alice"})
        iid = declared.json()["id"]
        assert api.post(f"/api/v1/incidents/{iid}/ack", json={"by": "alice"}).status_code == 200
        done = api.post(f"/api/v1/incidents/{iid}/resolve", json={"by": "alice", "force": True, "reason": "drained"})
        assert done.status_code == 200, done.text
        added = api.post(
            f"/api/v1/postmortems/{iid}/action-items",
            json={
                "by": "alice",
                "text": "Alert when the export queue is older than 10m",
                "owner": owner,
                "due_at": "2026-01-05T09:00:00Z",  # past on the server's real clock: overdue at once
            },
        )
        assert added.status_code == 201, added.text
        item = added.json()["id"]

        bodies = _mail(smtp, address)
        assert len(bodies) == 1, f"no reminder arrived for {address}"
        assert bodies[0].startswith(f"Action item {item} overdue (due 2026-01-05 09:00 UTC): Alert when the export")
        (msg,) = smtp.to(address)
        assert msg["Subject"] == f"[P1] {iid}: Exports stuck — reminder"

        timeline = api.get(f"/api/v1/incidents/{iid}/timeline").json()
        (entry,) = [e for e in timeline if e["kind"] == "action_item_reminder"]
        assert entry["actor"] == "warroom" and entry["outcome"] == f"remind {owner}"
        (listed,) = api.get("/api/v1/action-items", params={"overdue": "true", "owner": owner}).json()
        assert listed["reminded_at"] == entry["at"] and listed["overdue"] is True
        # The postmortem page lists when each item was last reminded.
        assert api.post(f"/api/v1/postmortems/{iid}", json={"by": "alice"}).status_code == 201
        page = api.get(f"/incidents/{iid}/postmortem")
        assert page.status_code == 200, page.text
        reminded = entry["at"][:16].replace("T", " ") + " UTC"
        assert re.search(rf"<td>{item}</td>.*<td>open</td><td>{reminded}</td>", page.text)

    def cli(*args: str, columns: int = 250) -> str:
        shown = subprocess.run(
            [sys.executable, "-m", "warroom", "actions", "--overdue", "--owner", owner, *args],
            env={**os.environ, "COLUMNS": str(columns), **server.env_for("alice")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shown.returncode == 0, shown.stderr
        return shown.stdout

    (row,) = [line for line in cli().splitlines() if iid in line]
    assert "OVERDUE" in row and entry["at"][:16].replace("T", " ") in row  # the "reminded (UTC)" column
    # The export is one line per item whatever the terminal's width.
    (exported,) = csv.DictReader(io.StringIO(cli("--csv", columns=60)))
    assert exported["reminded_at"] == entry["at"] and exported["overdue"] == "True"


def test_an_overdue_postmortem_reminds_its_commander_through_the_notifications(ctx: Context, clock: FakeClock) -> None:
    """Before its deadline, at it, and when it must be published: each reminder reaches the commander's outbox."""
    iid = resolved(ctx, clock)  # nself P1: postmortem due 48h after resolve
    view = incidents.get(ctx, iid)
    assert view.postmortem_due_at is not None
    run_until(ctx, clock, view.postmortem_due_at)
    kinds = ("postmortem_reminder", "postmortem_publish_due")
    entries = [e for e in incidents.timeline(ctx, iid) if e.kind in kinds]
    deadline = [e for e in entries if e.data.get("overdue")]
    assert deadline and deadline[0].actor == "warroom" and deadline[0].data["to"] == ["alice"]
    with ctx.db.unit() as s:
        sent = [r for r in routing.queued_for(s, iid) if r.kind == "reminder" and "Postmortem" in r.body]
    assert len(sent) == len(entries), "one message per reminder, none lost, none twice"
    assert {r.destination for r in sent} == {"person:alice"}
    assert any(r.body == deadline[0].what for r in sent)
