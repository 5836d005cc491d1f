"""Many alerts of one group applied in one slice end where applying them one by one ends.

A flood is coalesced into few large slices; that must never change what was stored or who was
paged. Over random interleavings of fire, resolve and fire again for a few fingerprints, the same
alerts go through `ingest` once as one slice and once an alert per transaction (each into its own
service on the same database, both backends); alert rows, counts, the group, the incidents and
their page timers must agree.
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from warroom.intake import service
from warroom.store.engine_models import Timer
from warroom.store.intake_models import Alert, AlertGroup
from warroom.store.models import Incident
from warroom.store.unit import Context

EVENTS = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(["firing", "firing", "resolved"])),
                  min_size=1, max_size=60)  # fmt: skip
"""(fingerprint number, status) in the order the sender sent them"""


def alerts_for(name: str, events: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"summary": f"5xx on {name} pod {fp}", "service": name, "fingerprint": f"{name}-p{fp}", "status": status,
             "severity": "critical", "labels": {"pod": f"p{fp}"}} for fp, status in events]  # fmt: skip


def stored(ctx: Context, name: str) -> dict[str, Any]:
    """What a responder would see of one service's alerts, without ids or the service's name."""
    with ctx.db.read() as session:
        rows = session.execute(
            select(Alert.fingerprint, Alert.status, Alert.count, Alert.summary, Alert.group_id, Alert.incident_id)
            .where(Alert.service == name).order_by(Alert.id)
        ).all()  # fmt: skip
        groups = session.scalars(select(AlertGroup).where(AlertGroup.key.like(f"%{name}%"))).all()
        incident_ids = sorted({r.incident_id for r in rows if r.incident_id})
        incidents = session.scalars(select(Incident).where(Incident.id.in_(incident_ids))).all()
        pages = {
            i: session.scalar(select(func.count(Timer.id)).where(Timer.incident_id == i, Timer.kind == "page"))
            for i in incident_ids
        }
        grouped = {r.group_id for r in rows if r.group_id}
        return {
            "alerts": [(r.fingerprint.removeprefix(name), r.status, r.count, r.summary.replace(name, "S"))
                       for r in rows],
            "groups": sorted((g.status, g.outcome, g.severity, g.alert_count, g.id in grouped) for g in groups),
            "incidents": sorted((i.status, i.severity, i.source) for i in incidents),
            "pages": sorted(pages.values()),
        }  # fmt: skip


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=EVENTS)
def test_one_slice_stores_and_pages_what_one_by_one_does(ctx: Context, events: list[tuple[int, str]]) -> None:
    tag = uuid.uuid4().hex[:8]
    sliced, alone = f"slice-{tag}", f"alone-{tag}"
    outcomes = service.ingest_payload(ctx, "generic", {"alerts": alerts_for(sliced, events)})
    singles = [service.ingest_payload(ctx, "generic", a)[0] for a in alerts_for(alone, events)]
    assert [o["outcome"] for o in outcomes] == [o["outcome"] for o in singles]
    together, apart = stored(ctx, sliced), stored(ctx, alone)
    assert together == apart
    if any(status == "firing" for _, status in events):
        assert len(together["incidents"]) == 1 and together["pages"] == [1], together
        assert len(together["groups"]) == 1


def test_ten_thousand_alerts_of_one_group_in_one_slice(ctx: Context) -> None:
    """The issue's size: one slice of 10,000 fire/resolve/re-fire events for five pods, against the same
    in a hundred slices of 100 (10,000 transactions of one would take minutes on this shared machine)."""
    events = [(n % 5, "resolved" if n % 7 == 3 else "firing") for n in range(10_000)]
    tag = uuid.uuid4().hex[:8]
    sliced, alone = f"slice-{tag}", f"alone-{tag}"
    service.ingest_payload(ctx, "generic", {"alerts": alerts_for(sliced, events)})
    batch = alerts_for(alone, events)
    for start in range(0, len(batch), 100):
        service.ingest_payload(ctx, "generic", {"alerts": batch[start : start + 100]})
    together, apart = stored(ctx, sliced), stored(ctx, alone)
    assert together == apart
    assert len(together["incidents"]) == 1 and together["pages"] == [1]
    last = {fp: status for fp, status in events}
    newest = {fp: status for fp, status, _, _ in together["alerts"]}
    assert newest == {f"-p{fp}": status for fp, status in last.items()}, "each pod ends as its last event left it"
