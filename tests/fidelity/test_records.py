"""Issue 17, points 1-4 and 6 on the use cases, on SQLite and PostgreSQL: each preset keeps its own rules
and a responder's record is never refused. The drills in examples/drills/ show the same on a simulated
clock (tests/engine/test_drills.py checks them); these check what the record and the view hold."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import make_context
from tests.engine.conftest import advance, loop_for
from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict, PolicyError
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy import load_policy
from warroom.policy.loader import parse_policy
from warroom.store.engine_models import Timer
from warroom.store.models import Mitigation, RoleAssignment
from warroom.store.unit import Context


@pytest.fixture
def preset(request: pytest.FixtureRequest, db_url: str, clock: FakeClock) -> Iterator[Context]:
    ctx = make_context(db_url, request.param, clock)
    yield ctx
    ctx.db.dispose()


def declare(ctx: Context, severity: str, title: str = "Checkout broken", **extra: Any) -> str:
    return service.declare(ctx, DeclareRequest(severity=severity, title=title, by="monitor", **extra)).id


def entries(ctx: Context, iid: str, kind: str) -> list[Any]:
    return [e for e in service.timeline(ctx, iid) if e.kind == kind]


# --- 1. a mitigation is always recorded ------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "severity", "typed", "stored"),
    [
        ("novavms", "P1", "Cloud_Rollback", "cloud-rollback"),
        ("so1", "SEV2", "configuration change", "configuration-change"),
        ("nexus", "P1", "SCALE-UP", "scale-up"),
    ],
    indirect=["preset"],
)
def test_strategy_names_match_ignoring_case_dashes_underscores_and_spaces(
    preset: Context, severity: str, typed: str, stored: str
) -> None:
    iid = declare(preset, severity)
    view = service.mitigate(preset, iid, typed, True, "alice")
    assert view.status == "mitigated" and view.mitigations[-1].strategy == stored
    (done,) = entries(preset, iid, "mitigation")
    assert done.what == f"Mitigation succeeded: {stored}" and "in_table" not in done.data


@pytest.mark.parametrize(
    ("preset", "severity", "typed"),
    [("novavms", "P1", "rollback"), ("so1", "SEV2", "config_change")],
    indirect=["preset"],
)
def test_a_strategy_the_table_lacks_is_recorded_as_given_and_counts(preset: Context, severity: str, typed: str) -> None:
    iid = declare(preset, severity)
    first = service.mitigate(preset, iid, typed, False, "alice")
    assert first.mitigation_failures == 1
    second = service.mitigate(preset, iid, typed, True, "alice")
    assert second.status == "mitigated" and second.mitigated_at is not None
    failed, worked = entries(preset, iid, "mitigation")
    assert failed.what == f"Mitigation failed: {typed} (not in the runbook's strategy table)"
    assert worked.what == f"Mitigation succeeded: {typed} (not in the runbook's strategy table)"
    assert failed.data["in_table"] is False and worked.data["strategy"] == typed
    with preset.db.unit() as s:
        rows = s.scalars(select(Mitigation.strategy).where(Mitigation.incident_id == iid)).all()
    assert rows == [typed, typed]


# --- 2. external-post gates are policy -------------------------------------------------------------


@pytest.mark.parametrize(
    ("preset", "severity"),
    [("nself", "P0"), ("nself", "P1"), ("nexus", "P0"), ("so1", "SEV0"), ("so1", "SEV1")],
    indirect=["preset"],
)
def test_presets_that_post_on_detection_take_an_external_update_at_once(preset: Context, severity: str) -> None:
    iid = declare(preset, severity)
    assert service.post_update(preset, iid, "external", "We are investigating", "alice").number == 1


@pytest.mark.parametrize("preset", ["novavms"], indirect=True)
def test_novavms_never_posts_speculation_externally(preset: Context) -> None:
    iid = declare(preset, "P1")
    with pytest.raises(Conflict, match="never post speculation externally"):
        service.post_update(preset, iid, "external", "Maybe the gateway", "alice")
    service.set_flags(preset, iid, {"impact_confirmed": True}, "alice")
    assert service.post_update(preset, iid, "external", "Live view is down for Org A", "alice").number == 1


def test_the_gate_is_read_from_the_policy_file() -> None:
    data = load_policy("nself").model_dump(mode="json")
    data["severities"][0]["external"] = {"requires": ["impact_confirmed", "customer_facing"]}
    p0 = parse_policy(data, "edited").severity("P0")
    assert p0.external_blocked_by({"impact_confirmed": True}) == ["customer_facing"]
    data["severities"][0]["external"] = {"requires": ["no_such_flag"]}
    with pytest.raises(PolicyError, match="no_such_flag"):
        parse_policy(data, "edited")


# --- 3. auto-resolution is not an acknowledgement --------------------------------------------------


ALERTS = {
    "nself": {"summary": "Checkout errors for one customer", "service": "checkout", "severity": "P1"},
    "so1": {"summary": "Latency p99 above 2s on api", "service": "api", "severity": "SEV2"},
}


@pytest.mark.parametrize("preset", ["nself", "so1"], indirect=True)
def test_alerts_that_resolve_before_an_ack_mitigate_without_acknowledging(preset: Context) -> None:
    from warroom.intake.service import ingest_payload

    name = preset.policy.name
    alert = {**ALERTS[name], "fingerprint": "fp-1"}
    iid = ingest_payload(preset, "generic", alert)[0]["incident_id"]
    loop = loop_for(preset, fixed={t: "pat" for t in preset.policy.targets})
    advance(preset, loop, timedelta(minutes=1))
    ingest_payload(preset, "generic", {**alert, "status": "resolved"})
    view = service.get(preset, iid)
    assert view.status == "mitigated" and view.alerts_cleared_at is not None
    assert view.acknowledged_at is None and view.acknowledged_by is None
    assert entries(preset, iid, "acknowledged") == []
    (cleared,) = entries(preset, iid, "alerts_cleared")
    assert cleared.actor == "integration direct" and "paging stopped" in cleared.what
    ack = next(c for c in view.clocks if c.name == "ack")
    assert ack.state == "alerts_resolved" and ack.display == "not acknowledged (alerts resolved after 1m)"
    with preset.db.unit() as s:
        assert s.get(RoleAssignment, (iid, "incident-commander")) is None, "no bot became commander"
        live = s.scalars(select(Timer.kind).where(Timer.incident_id == iid, Timer.state.in_(["pending", "claimed"])))
        assert "page" not in set(live), "paging stopped"
    pages_before = len(entries(preset, iid, "page"))
    advance(preset, loop, timedelta(hours=2))
    assert len(entries(preset, iid, "page")) == pages_before
    assert [e for e in entries(preset, iid, "sla_breach") if e.data["clock"] in ("ack", "respond")] == []
    taken = service.acknowledge(preset, iid, "alice")
    assert taken.status == "mitigated" and taken.acknowledged_by == "alice", "a person may still take it"
    assert next(r for r in taken.roles if r.role == "incident-commander").person == "alice"
    assert next(c for c in taken.clocks if c.name == "ack").state == "met_late"


# --- 4. clocks and breach actions as policy --------------------------------------------------------


@pytest.mark.parametrize("preset", ["so1"], indirect=True)
def test_so1_has_a_respond_clock_met_by_work_not_by_the_ack(preset: Context, clock: FakeClock) -> None:
    iid = declare(preset, "SEV1")
    names = [c.name for c in service.get(preset, iid).clocks]
    assert names == ["ack", "respond", "mitigate", "resolve"]
    clock.advance(timedelta(minutes=1))
    acked = service.acknowledge(preset, iid, "alice")
    respond = next(c for c in acked.clocks if c.name == "respond")
    assert respond.state == "running" and respond.remaining_seconds == 4 * 60
    clock.advance(timedelta(minutes=2))
    worked = service.set_status(preset, iid, "investigating", "alice")
    respond = next(c for c in worked.clocks if c.name == "respond")
    assert respond.state == "met" and worked.responded_at == clock.now()
    sev4 = declare(preset, "SEV4", "Typo on the pricing page")
    assert "respond" not in [c.name for c in service.get(preset, sev4).clocks], "best effort: no clock"


@pytest.mark.parametrize("preset", ["nself"], indirect=True)
def test_nself_has_no_respond_clock(preset: Context) -> None:
    assert [c.name for c in service.get(preset, declare(preset, "P0")).clocks] == ["ack", "mitigate", "resolve"]


def test_breach_actions_name_known_targets_and_an_escalation_policy() -> None:
    data = load_policy("nself").model_dump(mode="json")
    data["severities"][0]["sla"]["on_breach"] = {"mitigate": {"notify": ["nobody-such"]}}
    with pytest.raises(PolicyError, match=r"severities\.0\.sla\.on_breach\.mitigate: unknown target 'nobody-such'"):
        parse_policy(data, "edited")
    data = load_policy("nself").model_dump(mode="json")
    data["severities"][2]["sla"]["on_breach"] = {"ack": {"page_next_tier": True}}
    with pytest.raises(PolicyError, match="P2 has no escalation_policy to page"):
        parse_policy(data, "edited")


def test_a_breach_does_what_the_policy_says() -> None:
    """nself P0 edited: a missed ack no longer pages the next tier but tells all engineers."""
    from tests.engine.test_behaviour import drill

    data = load_policy("nself").model_dump(mode="json")
    data["severities"][0]["sla"]["on_breach"] = {"ack": {"notify": ["all-engineers"]}}
    edited = parse_policy(data, "edited")
    events = [{"at": "+0m", "declare": {"title": "Production down", "severity": "P0"}}]
    oncall = {"primary": "pat", "backup": "bo", "all-engineers": "#engineers"}
    actions = drill(edited, events, until="+9m", oncall=oncall)
    t0 = actions[0].at

    def minute(a: Any) -> int:
        return int((a.at - t0).total_seconds() // 60)

    assert [(a.fields["clock"], minute(a)) for a in actions if a.kind == "sla_breach"] == [("ack", 5)]
    escalations = [a.fields["target"] for a in actions if a.kind == "escalation"]
    assert escalations == ["all-engineers"]
    pages = [(a.fields["target"], a.fields["tier"], minute(a)) for a in actions if a.kind == "page"]
    assert pages == [("primary-on-call", 1, 0), ("backup-on-call", 2, 5)], "tier 2 after its own wait only"
    plain = drill(load_policy("nself"), events, until="+9m", oncall=oncall)
    assert [a.fields["target"] for a in plain if a.kind == "escalation"] == [], "the preset pages the next tier"


# --- 6. war-room names are unique among open incidents ---------------------------------------------


@pytest.mark.parametrize("preset", ["nself", "novavms"], indirect=True)
def test_war_room_names_are_unique_among_open_incidents(preset: Context) -> None:
    first = service.get(preset, declare(preset, "P1", "Billing webhooks failing"))
    second = service.get(preset, declare(preset, "P1", "Billing webhooks failing"))
    assert first.channel != second.channel
    assert second.channel == f"{first.channel}-{second.id.rsplit('-', 1)[-1]}"
    raised = service.change_severity(preset, second.id, "P2", "alice")
    assert raised.channel == second.channel, "a war room keeps its name for its whole life"
    service.resolve(preset, first.id, "alice", force=True, reason="drill")
    third = service.get(preset, declare(preset, "P1", "Billing webhooks failing"))
    assert third.channel == first.channel, "a resolved incident's name is free again"
