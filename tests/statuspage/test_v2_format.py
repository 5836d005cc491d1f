"""Statuspage v2 compatibility, field by field: every document has the keys, types and values Atlassian's
public API documents for it (written out below from the documented format), on SQLite and PostgreSQL.
Also: maintenance windows step through their states by hand and by the clock, and uptime per day."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import orjson
import pytest

from tests.statuspage.helpers import built, secret_incident, setup_components
from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict, Invalid
from warroom.statuspage import maintenance, posts
from warroom.statuspage.schemas import MaintenanceRequest, MaintenanceStep
from warroom.store.unit import Context

TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ID = re.compile(r"^[a-z0-9]{12}$")
S, N, B, I_, L = str, type(None), bool, int, list
PAGE = {"id": S, "name": S, "url": S, "time_zone": S, "updated_at": "ts"}
COMPONENT = {
    "id": "id",
    "name": S,
    "status": S,
    "created_at": "ts",
    "updated_at": "ts",
    "position": I_,
    "description": (S, N),
    "showcase": B,
    "start_date": (S, N),
    "group_id": ("id", N),
    "page_id": "id",
    "group": B,
    "only_show_if_degraded": B,
}
AFFECTED = {"code": "id", "name": S, "old_status": S, "new_status": S}
UPDATE = {
    "id": "id",
    "status": S,
    "body": S,
    "incident_id": "id",
    "created_at": "ts",
    "updated_at": "ts",
    "display_at": "ts",
    "affected_components": L,
    "deliver_notifications": B,
    "custom_tweet": (S, N),
    "tweet_id": (S, N),
}
INCIDENT = {
    "id": "id",
    "name": S,
    "status": S,
    "created_at": "ts",
    "updated_at": "ts",
    "monitoring_at": ("ts", N),
    "resolved_at": ("ts", N),
    "impact": S,
    "shortlink": S,
    "started_at": "ts",
    "page_id": "id",
    "incident_updates": L,
    "components": L,
}
MAINTENANCE = {**INCIDENT, "scheduled_for": "ts", "scheduled_until": "ts"}
STATUS = {"indicator": S, "description": S}
COMPONENT_STATUSES = {"operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"}
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}
TOP = {
    "summary.json": {"page": PAGE, "components": L, "incidents": L, "scheduled_maintenances": L, "status": STATUS},
    "status.json": {"page": PAGE, "status": STATUS},
    "components.json": {"page": PAGE, "components": L},
    "incidents.json": {"page": PAGE, "incidents": L},
    "incidents/unresolved.json": {"page": PAGE, "incidents": L},
    "scheduled-maintenances.json": {"page": PAGE, "scheduled_maintenances": L},
    "scheduled-maintenances/upcoming.json": {"page": PAGE, "scheduled_maintenances": L},
    "scheduled-maintenances/active.json": {"page": PAGE, "scheduled_maintenances": L},
}


def _ok(value: Any, kind: Any) -> bool:
    if isinstance(kind, tuple):
        return any(_ok(value, k) for k in kind)
    if kind == "ts":
        return isinstance(value, str) and TS.match(value) is not None
    if kind == "id":
        return isinstance(value, str) and ID.match(value) is not None
    if kind is I_:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def check(obj: dict[str, Any], shape: dict[str, Any], where: str, extra: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    assert set(obj) - extra == set(shape), f"{where}: keys {sorted(set(obj) ^ set(shape))}"
    for key, kind in shape.items():
        if isinstance(kind, dict):
            check(obj[key], kind, f"{where}.{key}")
        else:
            assert _ok(obj[key], kind), f"{where}.{key} = {obj[key]!r}"


def check_component(c: dict[str, Any], where: str) -> None:
    check(c, COMPONENT, where, extra={"components"})
    assert c["status"] in COMPONENT_STATUSES
    if c["group"]:
        assert all(ID.match(k) for k in c["components"])


def check_story(i: dict[str, Any], shape: dict[str, Any], statuses: set[str], where: str) -> None:
    check(i, shape, where)
    assert i["status"] in statuses and i["impact"] in {"none", "minor", "major", "critical", "maintenance"}
    for u in i["incident_updates"]:
        check(u, UPDATE, f"{where}.incident_updates")
        assert u["incident_id"] == i["id"] and u["status"] in statuses
        for a in u["affected_components"]:
            check(a, AFFECTED, f"{where}.affected_components")
            assert a["old_status"] in COMPONENT_STATUSES and a["new_status"] in COMPONENT_STATUSES
    for c in i["components"]:
        check_component(c, f"{where}.components")


def test_every_document_has_statuspage_fields_types_and_values(ctx: Context, clock: FakeClock) -> None:
    setup_components(ctx)
    inc = secret_incident(ctx)
    posts.post(ctx, inc, "Billing is slow.", "alice", status="investigating", components={"Billing": "partial_outage"})
    clock.advance(timedelta(minutes=5))
    posts.post(ctx, inc, "Fix deployed.", "alice", status="monitoring", components={"Billing": "operational"})
    maintenance.schedule(
        ctx,
        MaintenanceRequest(
            name="Database upgrade",
            text="Short read-only period.",
            scheduled_for=clock.now() + timedelta(hours=1),
            scheduled_until=clock.now() + timedelta(hours=2),
            components=["API"],
            by="alice",
        ),
    )
    docs = {
        path.removeprefix("/status/api/v2/"): orjson.loads(r.body)
        for path, r in built(ctx).files.items()
        if path.startswith("/status/api/v2/")
    }
    assert set(docs) == set(TOP)
    for name, doc in docs.items():
        check(doc, TOP[name], name)
        for c in doc.get("components", []):
            check_component(c, f"{name}.components")
        for i in doc.get("incidents", []):
            check_story(i, INCIDENT, INCIDENT_STATUSES, f"{name}.incidents")
        for m in doc.get("scheduled_maintenances", []):
            check_story(m, MAINTENANCE, MAINTENANCE_STATUSES, f"{name}.scheduled_maintenances")
            assert m["impact"] == "maintenance"
        assert doc["page"]["time_zone"] == "Etc/UTC" and doc["page"]["url"] == "https://status.example.com"
    summary = docs["summary.json"]
    assert summary["status"]["indicator"] in {"none", "minor", "major", "critical"}
    assert summary["incidents"][0]["status"] == "monitoring" and summary["incidents"][0]["impact"] == "major"
    assert summary["incidents"][0]["shortlink"].startswith("https://status.example.com/incidents/")
    update = summary["incidents"][0]["incident_updates"][1]
    assert update["affected_components"] == [
        {
            "code": update["affected_components"][0]["code"],
            "name": "Billing",
            "old_status": "operational",
            "new_status": "partial_outage",
        }
    ]
    assert [m["status"] for m in docs["scheduled-maintenances/upcoming.json"]["scheduled_maintenances"]] == [
        "scheduled"
    ]
    groups = [c for c in summary["components"] if c["group"]]
    assert [g["name"] for g in groups] == ["Payments"]
    children = {c["name"] for c in summary["components"] if c["group_id"] == groups[0]["id"]}
    assert children == {"Billing", "Invoices"}


def test_maintenance_steps_by_hand_and_by_the_clock(ctx: Context, clock: FakeClock) -> None:
    setup_components(ctx)
    start = clock.now() + timedelta(hours=1)
    m = maintenance.schedule(
        ctx,
        MaintenanceRequest(
            name="Upgrade",
            scheduled_for=start,
            scheduled_until=start + timedelta(hours=1),
            components=["API"],
            by="alice",
        ),
    )
    assert m.status == "scheduled" and m.silence_id is not None
    with pytest.raises(Conflict):
        maintenance.advance(ctx, m.code, MaintenanceStep(status="verifying", by="alice"))
    with pytest.raises(Invalid) as bad:
        maintenance.schedule(
            ctx,
            MaintenanceRequest(
                name="Backwards", scheduled_for=start, scheduled_until=start - timedelta(minutes=1), by="alice"
            ),
        )
    assert bad.value.field == "scheduled_until"
    clock.advance(timedelta(hours=1, minutes=1))  # the clock starts it
    doc = orjson.loads(built(ctx).files["/status/api/v2/summary.json"].body)
    api = next(c for c in doc["components"] if c["name"] == "API")
    assert api["status"] == "under_maintenance"
    assert doc["status"]["description"] == "Service Under Maintenance"
    assert [x["status"] for x in doc["scheduled_maintenances"]] == ["in_progress"]
    assert maintenance.advance_due(ctx) == 1
    step = maintenance.advance(ctx, m.code, MaintenanceStep(status="verifying", text="Checking.", by="alice"))
    assert [u["status"] for u in step.updates] == ["scheduled", "in_progress", "verifying"]
    done = maintenance.advance(ctx, m.code, MaintenanceStep(status="completed", by="alice"))
    assert done.status == "completed"
    with pytest.raises(Conflict):
        maintenance.advance(ctx, m.code, MaintenanceStep(status="in_progress", by="alice"))
    doc = orjson.loads(built(ctx).files["/status/api/v2/summary.json"].body)
    assert doc["scheduled_maintenances"] == [] and doc["status"]["indicator"] == "none"
    later = maintenance.schedule(
        ctx,
        MaintenanceRequest(
            name="Later",
            scheduled_for=clock.now() + timedelta(hours=1),
            scheduled_until=clock.now() + timedelta(hours=3),
            by="alice",
        ),
    )
    clock.advance(timedelta(hours=4))  # never touched: the clock starts and completes it
    assert maintenance.advance_due(ctx) == 1
    assert [
        u["status"] for u in next(x for x in maintenance.list_maintenance(ctx) if x.code == later.code).updates
    ] == ["scheduled", "in_progress", "completed"]


def test_a_one_hour_major_outage_costs_its_component_one_24th_of_that_day(ctx: Context, clock: FakeClock) -> None:
    setup_components(ctx)
    clock.set(clock.now().replace(hour=10, minute=0))
    inc = secret_incident(ctx)
    posts.post(ctx, inc, "API down.", "alice", status="identified", components={"API": "major_outage"})
    clock.advance(timedelta(hours=1))
    posts.post(ctx, inc, "API back.", "alice", status="resolved")
    clock.advance(timedelta(days=1))
    api = next(c for c in built(ctx).snapshot.components if c.name == "API")
    day = api.days[-2]
    assert abs(day.uptime - (1 - 1 / 24)) < 1e-9 and day.worst == "major_outage"
    assert api.days[-1].uptime == 1.0
    web = next(c for c in built(ctx).snapshot.components if c.name == "Web app")
    assert all(d.uptime == 1.0 for d in web.days)
