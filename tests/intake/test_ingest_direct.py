"""The pipeline without HTTP, on a fake clock: windows, holds and storms at exact times (both backends)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.incidents import service as incidents
from warroom.intake import service
from warroom.policy import load_policy
from warroom.store.unit import Context


def alert(service_name: str, fp: str, **extra: Any) -> dict[str, Any]:
    return {"summary": f"errors on {service_name}", "service": service_name, "fingerprint": fp,
            "severity": "critical", "value": 12, "threshold": "< 1%", **extra}  # fmt: skip


def test_grouping_window_and_held_groups_on_a_fake_clock(ctx: Context, clock: FakeClock) -> None:
    so1 = context(db=ctx.db, policy=load_policy("so1"), clock=clock)
    (a,) = service.ingest_payload(so1, "generic", alert("api", "a1"))
    assert a["incident_id"], "the first group declares at once"
    (b,) = service.ingest_payload(so1, "generic", alert("cache", "c1"))
    assert b["incident_id"] is None, "a second group opened right after is held (a storm may be starting)"
    assert service.release_held_groups(so1) == 0, "not before the hold is over"
    clock.advance(timedelta(seconds=11))
    assert service.release_held_groups(so1) == 1
    held = service.get_alert(so1, b["id"])
    assert held.incident_id and held.incident_id != a["incident_id"]
    clock.advance(timedelta(minutes=31))
    (c,) = service.ingest_payload(so1, "generic", alert("api", "a2"))
    assert c["incident_id"] == a["incident_id"], "an open incident keeps its group past the window"
    incidents.resolve(so1, a["incident_id"], "alice", force=True, reason="test")
    (d,) = service.ingest_payload(so1, "generic", alert("api", "a3"))
    assert d["incident_id"] not in (None, a["incident_id"]), "after resolution a new alert opens a new incident"


def test_storm_threshold_counts_alerts_across_services(ctx: Context, clock: FakeClock) -> None:
    so1 = context(db=ctx.db, policy=load_policy("so1"), clock=clock)
    first = service.ingest_payload(so1, "generic", {"alerts": [alert(f"s{i}", f"f{i}") for i in range(12)]})
    incidents_seen = {r["incident_id"] for r in first}
    assert len(incidents_seen) == 1 and None not in incidents_seen
    groups = service.list_groups(so1)
    assert sum(1 for g in groups if g.storm) == 1
    assert all(g.outcome in ("incident", "merged") for g in groups)
    clock.advance(timedelta(minutes=4))
    (late,) = service.ingest_payload(so1, "generic", alert("s99", "f99"))
    assert late["incident_id"] == first[0]["incident_id"], "within the storm window a new service joins the storm"
    clock.advance(timedelta(minutes=6))
    (after,) = service.ingest_payload(so1, "generic", alert("s100", "f100"))
    assert after["incident_id"] not in (None, first[0]["incident_id"]), "the storm is over: a new incident"


def test_stale_groups_are_closed(ctx: Context, clock: FakeClock) -> None:
    from warroom.intake.ingest import close_stale
    from warroom.store.unit import run

    (info,) = service.ingest_payload(ctx, "generic", {"summary": "disk 60%", "service": "disk", "severity": "info"})
    (hot,) = service.ingest_payload(ctx, "generic", alert("web", "w1"))
    assert run(ctx, lambda s, now: close_stale(s, ctx, now)) == 0
    clock.advance(timedelta(minutes=31))
    assert run(ctx, lambda s, now: close_stale(s, ctx, now)) == 1, "the informational group; the incident is open"
    incidents.resolve(ctx, hot["incident_id"], "alice", force=True, reason="test")
    assert run(ctx, lambda s, now: close_stale(s, ctx, now)) == 1
    assert {g.status for g in service.list_groups(ctx)} == {"closed"}
    assert service.get_group(ctx, info["group_id"]).closed_at is not None
