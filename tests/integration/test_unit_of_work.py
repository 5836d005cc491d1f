"""The unit of work's after-commit signal: whatever a listener does, the committed change stands."""

from __future__ import annotations

from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.store import unit
from warroom.store.unit import Context


def test_a_failing_listener_never_turns_a_committed_change_into_an_error(ctx: Context) -> None:
    heard: list[str] = []

    def broken() -> None:
        heard.append("called")
        raise RuntimeError("Event loop is closed")  # a live page's watcher whose server has stopped

    unit.changed.connect(broken)
    try:
        made = service.declare(ctx, DeclareRequest(severity="P2", title="Still declared", by="ann"))
        acked = service.acknowledge(ctx, made.id, "ann")
    finally:
        unit.changed.disconnect(broken)
    assert heard == ["called", "called"]
    assert acked.status == "acknowledged"
    assert [e.what for e in service.timeline(ctx, made.id)][:2] == ["Declared P2: Still declared", "Acknowledged"]
