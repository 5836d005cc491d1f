"""Maintenance windows started and completed by the engine at their times: scheduling plans two durable
timers, the engine claims them when due, writes each step down as warroom's, keeps the window's silence
over exactly its time, and tells the subscribers "maintenance started"; completing a window by hand cancels
them. In-process with a fake clock, and a lone `warroom worker` process on a real clock delivering to a real
HTTP receiver. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import select

from tests.conftest import make_context
from tests.notify.conftest import WebhookSink
from tests.statuspage.helpers import setup_components, summary
from warroom.domain import actors
from warroom.domain.clock import FakeClock, SystemClock
from warroom.engine.loop import EngineLoop
from warroom.intake import service as intake
from warroom.statuspage import maintenance, subscribers
from warroom.statuspage.schemas import MaintenanceRequest, MaintenanceStep
from warroom.statuspage.subscribers import SubscriberRequest
from warroom.store.engine_models import Timer
from warroom.store.notify_models import Outbox
from warroom.store.unit import Context


def _timers(ctx: Context, code: str) -> dict[str, str]:
    with ctx.db.read() as session:
        rows = session.scalars(select(Timer).where(Timer.key.like(f"maintenance:{code}:%")))
        return {r.key.rsplit(":", 1)[1]: r.state for r in rows}


def _window(ctx: Context, code: str) -> maintenance.MaintenanceView:
    return next(m for m in maintenance.list_maintenance(ctx) if m.code == code)


def test_the_engine_starts_and_completes_a_window_at_its_times(ctx: Context, clock: FakeClock) -> None:
    setup_components(ctx)
    hook = subscribers.add(ctx, SubscriberRequest(webhook="http://127.0.0.1:9/hook", components=["API"], by="ann"))
    other = subscribers.add(ctx, SubscriberRequest(webhook="http://127.0.0.1:9/bill", components=["Billing"], by="ann"))
    start = clock.now() + timedelta(hours=1)
    m = maintenance.schedule(
        ctx,
        MaintenanceRequest(
            name="Database upgrade",
            text="Read-only for an hour.",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            components=["API"],
            by="ann",
        ),
    )
    assert _timers(ctx, m.code) == {"start": "pending", "end": "pending"}
    engine = EngineLoop(ctx, worker_id="tests", strict=True)
    assert engine.tick() == 0  # nothing due yet
    [silence] = [s for s in intake.list_silences(ctx, include_expired=True) if s.id == m.silence_id]
    assert silence.starts_at == start and silence.ends_at == start + timedelta(hours=1)

    clock.set(start + timedelta(seconds=1))
    assert engine.tick() == 1
    w = _window(ctx, m.code)
    assert w.status == "in_progress"
    assert [(u["status"], u["by"]) for u in w.updates] == [("scheduled", "ann"), ("in_progress", actors.SYSTEM)]
    assert _timers(ctx, m.code) == {"start": "done", "end": "pending"}
    assert m.silence_id in {s.id for s in intake.list_silences(ctx)}  # active now: API's alerts page nobody
    api = next(c for c in summary(ctx)["components"] if c["name"] == "API")
    assert api["status"] == "under_maintenance"
    with ctx.db.read() as session:
        told = session.execute(
            select(Outbox.address, Outbox.title, Outbox.body).where(Outbox.kind == subscribers.KIND)
        ).all()
    assert [(r.address, r.title) for r in told] == [
        ("http://127.0.0.1:9/hook", "Maintenance started: Database upgrade")
    ]
    body = orjson.loads(told[0].body)
    assert body["incident"]["id"] == m.code and body["incident"]["status"] == "in_progress"
    assert body["incident"]["impact"] == "maintenance" and body["incident"]["scheduled_for"].startswith(
        start.strftime("%Y-%m-%dT%H:%M")
    )
    assert body["page"]["status_description"] == "Service Under Maintenance"
    assert subscribers.get(ctx, other.id).pending == 0 and subscribers.get(ctx, hook.id).pending == 1
    assert engine.tick() == 0  # fired once: a second engine finds nothing to claim

    clock.set(start + timedelta(hours=1, seconds=1))
    assert engine.tick() == 1
    w = _window(ctx, m.code)
    assert w.status == "completed" and w.updates[-1]["by"] == actors.SYSTEM
    assert _timers(ctx, m.code) == {"start": "done", "end": "done"}
    assert m.silence_id not in {s.id for s in intake.list_silences(ctx)}
    assert next(c for c in summary(ctx)["components"] if c["name"] == "API")["status"] == "operational"

    # Completed by hand before its time: the engine's timers go, and nothing fires later.
    later = maintenance.schedule(
        ctx,
        MaintenanceRequest(
            name="Cache flush",
            scheduled_for=clock.now() + timedelta(minutes=10),
            scheduled_until=clock.now() + timedelta(minutes=40),
            components=["Web app"],
            by="ann",
        ),
    )
    maintenance.advance(ctx, later.code, MaintenanceStep(status="completed", text="Not needed.", by="bo"))
    assert _timers(ctx, later.code) == {"start": "cancelled", "end": "cancelled"}
    clock.advance(timedelta(hours=1))
    assert engine.tick() == 0
    assert [(u["status"], u["by"]) for u in _window(ctx, later.code).updates] == [
        ("scheduled", "ann"),
        ("completed", "bo"),
    ]


def test_a_lone_worker_moves_a_window_and_delivers_its_start(db_url: str, webhook: WebhookSink, tmp_path: Path) -> None:
    ctx = make_context(db_url, "nself", FakeClock(datetime.now(UTC)))
    ctx.clock = SystemClock()
    try:
        setup_components(ctx)
        subscribers.add(ctx, SubscriberRequest(webhook=f"http://127.0.0.1:{webhook.port}/hook", by="ann"))
        start = datetime.now(UTC) + timedelta(seconds=3)
        m = maintenance.schedule(
            ctx,
            MaintenanceRequest(
                name="Failover drill",
                scheduled_for=start,
                scheduled_until=start + timedelta(seconds=3),
                components=["API", "Billing"],
                by="ann",
            ),
        )
        env = {
            **os.environ,
            "WARROOM_DATABASE_URL": db_url,
            "WARROOM_POLICY": "nself",
            "WARROOM_ENGINE_INTERVAL": "0.2",
        }
        with (tmp_path / "worker.log").open("wb") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "warroom", "worker"], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            deadline = time.monotonic() + 40
            while time.monotonic() < deadline and not (
                _window(ctx, m.code).status == "completed" and webhook.delivered("/hook")
            ):
                time.sleep(0.2)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        w = _window(ctx, m.code)
        assert w.status == "completed", (tmp_path / "worker.log").read_text()
        assert [(u["status"], u["by"]) for u in w.updates] == [
            ("scheduled", "ann"),
            ("in_progress", actors.SYSTEM),
            ("completed", actors.SYSTEM),
        ]
        started = w.updates[1]["at"]
        assert start <= started < start + timedelta(seconds=3)  # written at its time, not when someone looked
        [hit] = webhook.delivered("/hook")
        assert hit.body["incident"]["id"] == m.code and hit.body["incident"]["status"] == "in_progress"
        assert {c["name"] for c in hit.body["incident"]["components"]} == {"API", "Billing"}
        assert _timers(ctx, m.code) == {"start": "done", "end": "done"}
    finally:
        ctx.db.dispose()
