"""Time faults: a rotation across both DST changes, and the wall clock jumping back and forward."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.notify.conftest import on_call
from warroom.domain.clock import FakeClock
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.oncall.rotation import DAY, Layer, Rota, shifts, who
from warroom.store.engine_models import Page
from warroom.store.unit import Context

BERLIN = ZoneInfo("Europe/Berlin")
TEAM = ("ana", "ben", "cem")


def _rota() -> Rota:
    layer = Layer(position=1, members=TEAM, length_seconds=DAY, handoff=time(9, 0), start_date=date(2026, 3, 1))
    return Rota("berlin-primary", "Europe/Berlin", (layer,))


def test_a_daily_rotation_hands_off_at_nine_berlin_time_across_both_dst_changes() -> None:
    rota = _rota()
    for change in (date(2026, 3, 29), date(2026, 10, 25)):  # summer time starts / ends at 02:00/03:00 local
        start = datetime.combine(change - timedelta(days=3), time(9, 0), tzinfo=BERLIN).astimezone(UTC)
        end = datetime.combine(change + timedelta(days=4), time(9, 0), tzinfo=BERLIN).astimezone(UTC)
        got = shifts(rota, start, end)
        assert [s.start.astimezone(BERLIN).time() for s in got] == [time(9, 0)] * 7
        assert all(s.end == nxt.start for s, nxt in pairwise(got))  # no gap, no overlap
        people = [s.person for s in got]
        assert all(a != b for a, b in pairwise(people))  # nobody on call twice in a row
        assert set(people[:3]) == set(TEAM)  # everyone takes a turn, in the same order each time round
        assert all(people[i] == people[i + 3] for i in range(4))
        hours = {s.start.astimezone(BERLIN).date(): (s.end - s.start) / timedelta(hours=1) for s in got}
        before = change - timedelta(days=1)
        assert hours[before] == (23 if change.month == 3 else 25)  # the shift across the change is an hour off
        # Through the switch hour the one on call is the one who took over at 09:00 the day before.
        taker = next(s.person for s in got if s.start.astimezone(BERLIN).date() == before)
        for minute in range(0, 181, 15):
            moment = datetime.combine(change, time(0, 30), tzinfo=UTC) + timedelta(minutes=minute)
            assert who(rota, moment).person == taker


def _pages(ctx: Context, iid: str) -> list[int | None]:
    with ctx.db.read() as s:
        return [p.tier for p in s.scalars(select(Page).where(Page.incident_id == iid, Page.kind == "page"))]


def test_the_wall_clock_jumping_back_or_forward_neither_fires_a_timer_early_nor_skips_it(ctx: Context) -> None:
    """nself P0: tier 2 is due five minutes after the declaration; the clock jumps around it."""
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    on_call(ctx, "nself-primary", "alice")
    on_call(ctx, "nself-backup", "bob")
    declared = clock.now()
    iid = service.declare(ctx, DeclareRequest(severity="P0", title="Clock test", summary="x", by="mon")).id
    engine = EngineLoop(ctx, worker_id="e", strict=True)
    engine.tick()
    assert _pages(ctx, iid) == [1]

    clock.set(declared - timedelta(minutes=3))  # back three minutes (NTP correcting a fast clock)
    engine.tick()
    clock.set(declared + timedelta(minutes=4, seconds=59))
    engine.tick()
    assert _pages(ctx, iid) == [1]  # not early

    clock.set(declared + timedelta(minutes=9))  # forward past the due time (a suspended VM waking up)
    engine.tick()
    assert _pages(ctx, iid) == [1, 2]  # not skipped
    clock.set(declared + timedelta(minutes=6))  # and back again: nothing fires twice
    engine.tick()
    assert _pages(ctx, iid) == [1, 2]
