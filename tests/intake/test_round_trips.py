"""What a pass costs in statements, and that the cheaper way writes the same record (both backends).

On PostgreSQL every statement is a round trip, and during a flood a round trip waits for a core: the pass an
unrelated outage waits behind is as long as its statements. These count statements, never time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event, select

from warroom.domain.errors import Conflict
from warroom.engine import timers
from warroom.incidents import service as incidents
from warroom.incidents.lifecycle import ack_in, declare_in
from warroom.incidents.schemas import DeclareRequest
from warroom.intake import service
from warroom.store.engine_models import Timer
from warroom.store.models import Incident
from warroom.store.unit import Context, run


def alert(svc: str, fp: str) -> dict[str, Any]:
    return {"summary": f"errors on {svc}", "service": svc, "fingerprint": fp, "severity": "critical",
            "value": 12, "threshold": "< 1%"}  # fmt: skip


@contextmanager
def statements(ctx: Context) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(ctx.db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", note)


def _incident(ctx: Context, iid: str) -> tuple[dict[str, Any], int]:
    with ctx.db.read() as s:
        inc = s.get_one(Incident, iid)
        return dict(inc.impact), inc.version


def test_a_pass_counts_every_incident_it_touched_in_one_statement(ctx: Context) -> None:
    declared = service.ingest_payload(ctx, "generic", {"alerts": [alert(f"svc-{i}", f"f{i}") for i in range(20)]})
    ids = [r["incident_id"] for r in declared]
    assert len(set(ids)) == 20 and None not in ids
    before = {iid: _incident(ctx, iid) for iid in ids}
    assert all(impact["alert_count"] == 1 for impact, _ in before.values())
    repeats = [alert(f"svc-{n % 20}", f"r{n}") for n in range(100)]
    with statements(ctx) as seen:
        service.ingest_payload(ctx, "generic", {"alerts": repeats})
    updates = [s for s in seen if s.startswith("UPDATE incidents")]
    assert len(updates) == 1, updates
    for iid in ids:
        impact, version = _incident(ctx, iid)
        assert impact["alert_count"] == 6, (iid, impact)
        assert impact["services"] == before[iid][0]["services"]
        assert version == before[iid][1] + 1, "the count is an edit of the incident: its version moves on"
    # The session was told the new version: editing the incident afterwards is no clash.
    view = incidents.acknowledge(ctx, ids[0], "alice")
    assert view.status == "acknowledged"


def test_a_stale_count_is_refused_not_written(ctx: Context) -> None:
    """The rows are read FOR UPDATE before they are counted; if one changed anyway, nothing of the pass lands."""
    (first,) = service.ingest_payload(ctx, "generic", alert("api", "a1"))
    iid = first["incident_id"]
    impact, version = _incident(ctx, iid)

    def bump(conn: Any, cursor: Any, statement: str, params: Any, context: Any, executemany: bool) -> None:
        if statement.startswith("UPDATE incidents") and "impact" in statement:
            mark = "%s" if ctx.db.dialect == "postgresql" else "?"
            cursor.execute(f"UPDATE incidents SET version = version + 10 WHERE id = {mark}", (iid,))

    event.listen(ctx.db.engine, "before_cursor_execute", bump)
    try:
        with pytest.raises(Conflict):
            service.ingest_payload(ctx, "generic", alert("api", "a2"))
    finally:
        event.remove(ctx.db.engine, "before_cursor_execute", bump)
    assert _incident(ctx, iid) == (impact, version), "the pass rolled back whole"
    (again,) = service.ingest_payload(ctx, "generic", alert("api", "a2"))
    assert again["incident_id"] == iid and _incident(ctx, iid)[0]["alert_count"] == 2


def test_a_declared_incident_is_read_once_and_its_timers_go_in_together(ctx: Context) -> None:
    with statements(ctx) as seen:
        (first,) = service.ingest_payload(ctx, "generic", alert("api", "a1"))
    iid = first["incident_id"]
    assert iid
    rereads = [s for s in seen if s.startswith("SELECT incidents.id, incidents.title")]
    assert rereads == [], "the subscribers use the incident the batch declared, not a copy read again"
    assert len([s for s in seen if s.startswith("INSERT INTO engine_timers")]) == 1
    assert not [s for s in seen if s.startswith("UPDATE alerts")], "a group opened in this pass has no stored alerts"
    named = [s for s in seen if s.startswith("UPDATE incidents") and "channel" in s]
    assert not named, "the war room is named before the incident's INSERT"
    with ctx.db.read() as s:
        kinds = sorted(t.kind for t in s.scalars(select(Timer).where(Timer.incident_id == iid)))
        inc = s.get_one(Incident, iid)
        assert inc.channel and inc.topic
    assert kinds == ["page", "reminder", "reminder", "sla", "sla", "sla"], "paging, both cadences, three SLA clocks"


def test_a_timer_an_event_starts_is_stopped_by_a_later_event_of_the_same_transaction(ctx: Context) -> None:
    """Paging starts at the declaration; an acknowledgement in the same transaction stops it (the planner
    holds the declaration's timers back to insert them with the rest, and must not insert them after the stop)."""

    def declare_and_ack(session: Any, now: Any) -> str:
        req = DeclareRequest(severity="P0", title="Checkout down", service="checkout", by="alice")
        inc = declare_in(session, ctx, req, now)
        ack_in(session, ctx.policy, inc, "alice", now)
        return inc.id

    iid = run(ctx, declare_and_ack)
    with ctx.db.read() as s:
        pages = [t for t in timers.live(s, iid) if t.kind == "page"]
    assert pages == []
