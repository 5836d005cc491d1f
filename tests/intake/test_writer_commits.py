"""The writer on both backends, driven as the server drives it: requests arriving one loop turn apart.

On PostgreSQL the group commit and the passes run in worker threads, so requests that arrive while a
commit is in flight wait for it and go together in the next one; on SQLite each turn commits its own.
Either way every request is committed once (distinct ids, one row each), answered only after its
commit, and applied (its alert row written, its request marked processed), with nothing left pending.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from warroom.intake import inbox
from warroom.intake.config import IntakeSettings
from warroom.intake.inbox import Accepted
from warroom.intake.writer import COST, Writer
from warroom.store.unit import Context, run

REQUESTS = 200


def request(tag: str, n: int) -> Accepted:
    body = {"alerts": [{"summary": f"disk full on {tag} node {n}", "service": f"svc-{tag}",
                        "fingerprint": f"{tag}-{n}", "severity": "critical"}]}  # fmt: skip
    return Accepted("generic", "test", datetime.now(UTC), {"content-type": "application/json"},
                    json.dumps(body).encode(), 1)  # fmt: skip


def test_requests_one_turn_apart_are_committed_once_each_and_all_applied(ctx: Context) -> None:
    tag = uuid.uuid4().hex[:8]
    writer = Writer(ctx, IntakeSettings())

    async def drive() -> list[int]:
        writer.start()
        pending = []
        for n in range(REQUESTS):  # one a turn: on PostgreSQL most arrive while a commit is in flight
            pending.append(asyncio.ensure_future(writer.submit(request(tag, n))))
            await asyncio.sleep(0)
        ids = list(await asyncio.gather(*pending))
        for _ in range(600):  # until nothing is pending (30 s at most)
            if writer.status()["pending_requests"] == 0:
                break
            await asyncio.sleep(0.05)
        writer.stop()
        return ids

    ids = asyncio.run(drive())
    assert len(set(ids)) == REQUESTS
    assert writer.stats.requests == REQUESTS
    if ctx.db.dialect == "postgresql":
        assert writer.stats.batches < REQUESTS, "requests that came during a commit went in together"
    with ctx.db.read() as session:
        rows = session.execute(
            text("SELECT count(*), count(processed_at) FROM intake_requests WHERE id BETWEEN :a AND :b"),
            {"a": min(ids), "b": max(ids)},
        ).one()
        alerts = session.scalar(text("SELECT count(*) FROM alerts WHERE service = :s"), {"s": f"svc-{tag}"})
    assert tuple(rows) == (REQUESTS, REQUESTS), "each request stored once and applied"
    assert alerts == REQUESTS


def test_a_replica_that_is_not_applying_bounds_its_backlog_with_the_applying_replicas_cost(ctx: Context) -> None:
    """One replica applies at a time; the other's own figure is from its last passes, long ago and slow. Each
    second the applying one records what it measured and the other takes it, so both push back at the same lag."""
    applying, waiting = Writer(ctx, IntakeSettings()), Writer(ctx, IntakeSettings())
    for _ in range(30):  # its passes: a cold start (not counted), then 1.2 ms an alert (a pass moves it 1.25x)
        waiting.costs.ran(5, 500, 0.6)
    for _ in range(20):
        applying.costs.ran(5, 500, 0.02)  # 40 µs an alert, pass after pass
    applying.stats.passes = 20
    applying.share_costs()
    assert waiting.costs.per_alert > 10 * applying.costs.per_alert
    waiting.share_costs()
    assert waiting.costs.per_alert == pytest.approx(applying.costs.per_alert)
    assert waiting.costs.per_request == pytest.approx(applying.costs.per_request)
    applying.share_costs()  # no pass since it recorded: it takes the newest other figure, and there is none newer
    assert applying.costs.per_alert == pytest.approx(waiting.costs.per_alert)


def test_between_reads_of_the_shared_backlog_a_replica_counts_the_others_at_the_rate_they_added_to_it(
    ctx: Context,
) -> None:
    """Webhooks another replica accepts reach this one's count only when it reads the shared backlog again: from
    one read to the next (RECOUNT apart) they are what the backlog grew by beyond its own count, and until the
    next read they count at that rate (half a second of it at most), so the bound holds for the sum of both."""
    tag = uuid.uuid4().hex[:8]
    this, other = Writer(ctx, IntakeSettings()), Writer(ctx, IntakeSettings())
    with ctx.db.read() as session:
        before = this.read_backlog(session, 100.0)
    plain = this.lag(100.0)
    other._store([request(tag, n) for n in range(40)])  # the other replica's webhooks: 40 of one alert
    this._store([request(tag, 100 + n) for n in range(10)])  # and this one's, counted as it commits them
    this._backlog, this._backlog_requests = this._backlog + 10, this._backlog_requests + 10
    with ctx.db.read() as session:
        assert this.read_backlog(session, 100.25) == before + 50
    assert this._others == pytest.approx((160.0, 160.0)), "the other's 40 in a quarter of a second; not this one's"
    read = this.costs.seconds(before + 50, this._backlog)
    assert this.lag(100.25) == pytest.approx(read) and read > plain
    assert this.lag(100.5) == pytest.approx(this.costs.seconds(before + 90, this._backlog + 40))
    assert this.lag(110.0) == pytest.approx(this.costs.seconds(before + 130, this._backlog + 80)), "half a second"
    with ctx.db.read() as session:
        this.read_backlog(session, 112.0)  # two seconds on: no rate to go on
    assert this._others == (0.0, 0.0) and this.lag(112.5) == pytest.approx(read)


def test_a_pass_that_read_more_ahead_than_it_applied_is_not_taken_for_the_cost_of_applying(ctx: Context) -> None:
    """Requests another replica committed are read for their priority by the pass that finds them, up to 2,000
    alerts ahead of its own. A pass of 10 that read 30 more is mostly that reading (done once: the alerts are kept
    for the passes to come), so it says nothing of what applying costs; a pass that read nothing ahead does."""
    tag = uuid.uuid4().hex[:8]
    other = Writer(ctx, IntakeSettings())  # the replica that committed them: this one has not read them
    cfg = IntakeSettings()
    other._store([request(tag, 99)])  # their group and incident exist: the 40 after it are more of the same
    run(ctx, lambda s, now: inbox.process(s, ctx, now, cfg, 10))
    other._store([request(tag, n) for n in range(40)])
    writer = Writer(ctx, IntakeSettings())
    first = run(ctx, lambda s, now: inbox.process(s, ctx, now, cfg, 10, seen=writer._seen))
    assert first is not None and first.alerts == 10 and first.more and not first.cut
    assert first.read >= 30, "the pass read the rest of the backlog for its priority"
    for _ in range(3):
        writer._after(first, 0.05)
    assert not writer.costs.fitted and writer.costs.per_alert == COST
    second = run(ctx, lambda s, now: inbox.process(s, ctx, now, cfg, 10, seen=writer._seen))
    assert second is not None and second.alerts == 10 and second.read == 0, "what it read is not read again"
    for _ in range(3):
        writer._after(second, 0.05)
    assert writer.costs.fitted
    while (done := run(ctx, lambda s, now: inbox.process(s, ctx, now, cfg, 100, seen=writer._seen))) and done.more:
        pass
    with ctx.db.read() as session:
        assert session.scalar(text("SELECT count(*) FROM alerts WHERE service = :s"), {"s": f"svc-{tag}"}) == 41
