"""The incident use cases on SQLite and PostgreSQL, under the nself preset, on a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest, ImpactRequest
from warroom.store.models import Incident, TimelineEntry
from warroom.store.unit import Context


def declare(ctx: Context, severity: str = "P1", title: str = "Billing webhooks failing", **kw: object) -> str:
    return service.declare(ctx, DeclareRequest(severity=severity, title=title, by="monitor", **kw)).id  # type: ignore[arg-type]


def kinds(ctx: Context, incident_id: str) -> list[str]:
    return [e.kind for e in service.timeline(ctx, incident_id)]


def test_declare_id_slug_channel_and_alias(ctx: Context) -> None:
    inc = service.declare(ctx, DeclareRequest(severity="SEV1", title="Auth down for all users!", by="alice"))
    assert inc.id == "INC-20260507-0001"
    assert inc.severity == "P0"  # SEV1 is an alias of P0 in nself
    assert inc.slug == "auth-down-for-all-users"
    assert inc.channel == "#incident-2026-05-07-auth-down-for-all-users"
    assert inc.topic.startswith("P0 | ")
    assert "started 14:17 UTC" in inc.topic
    assert inc.status == "triggered"
    second = declare(ctx)
    assert second == "INC-20260507-0002"
    assert kinds(ctx, inc.id) == ["declared"]


def test_sequence_restarts_each_utc_day(ctx: Context, clock: FakeClock) -> None:
    declare(ctx)
    clock.advance(timedelta(days=1))
    assert declare(ctx) == "INC-20260508-0001"


def test_sla_clocks_for_p0_and_severity_change_recomputes(ctx: Context, clock: FakeClock) -> None:
    inc = service.declare(ctx, DeclareRequest(severity="P0", title="Total outage", by="monitor"))
    clocks = {c.name: c for c in inc.clocks}
    assert clocks["ack"].deadline == inc.declared_at + timedelta(minutes=5)
    assert clocks["mitigate"].deadline == inc.declared_at + timedelta(minutes=60)
    assert clocks["resolve"].deadline == inc.declared_at + timedelta(hours=4)
    clock.advance(timedelta(minutes=7))
    view = service.get(ctx, inc.id)
    ack = next(c for c in view.clocks if c.name == "ack")
    assert ack.state == "breached" and ack.display == "breached by 2m"
    lowered = service.change_severity(ctx, inc.id, "P1", "alice", "only one customer")
    ack = next(c for c in lowered.clocks if c.name == "ack")
    assert ack.deadline == inc.declared_at + timedelta(hours=1)
    assert ack.state == "running"
    entries = service.timeline(ctx, inc.id)
    assert entries[-1].what == "Severity lowered P0 → P1" and entries[-1].outcome == "only one customer"


def test_p3_ack_is_next_business_day(ctx: Context, clock: FakeClock) -> None:
    clock.set(clock.now().replace(day=8, hour=16))  # Friday 2026-05-08 16:00 UTC
    inc = service.declare(ctx, DeclareRequest(severity="P3", title="Cert expires in 20 days", by="monitor"))
    ack = next(c for c in inc.clocks if c.name == "ack")
    assert ack.deadline is not None and ack.deadline.weekday() == 0  # Monday


def test_lifecycle_and_illegal_transitions(ctx: Context, clock: FakeClock) -> None:
    iid = declare(ctx, "P1")
    service.acknowledge(ctx, iid, "bob")
    with pytest.raises(Conflict, match="already acknowledged by bob"):
        service.acknowledge(ctx, iid, "carol")
    service.set_status(ctx, iid, "investigating", "bob")
    service.set_status(ctx, iid, "identified", "bob")
    service.mitigate(ctx, iid, "rollback", True, "bob")
    clock.advance(timedelta(minutes=6))
    done = service.resolve(ctx, iid, "bob")
    assert done.status == "resolved"
    assert done.postmortem_due_at == done.resolved_at + timedelta(hours=48)  # type: ignore[operator]
    with pytest.raises(Conflict, match="is resolved; reopen it first"):
        service.set_status(ctx, iid, "investigating", "bob")
    with pytest.raises(Conflict, match="needs its postmortem"):
        service.close(ctx, iid, "bob")
    again = service.reopen(ctx, iid, "bob", "errors are back")
    assert again.status == "investigating" and again.resolved_at is None and again.reopened_count == 1
    mitigate_clock = next(c for c in again.clocks if c.name == "mitigate")
    assert mitigate_clock.deadline == again.reopened_at + timedelta(hours=4)  # type: ignore[operator]
    stamps = [e.at for e in service.timeline(ctx, iid)]
    assert stamps == sorted(stamps)


def test_quiet_window_refuses_then_force_needs_reason(ctx: Context, clock: FakeClock) -> None:
    iid = declare(ctx, "P0", "Everything is down")
    service.mitigate(ctx, iid, "restart", True, "bob")
    clock.advance(timedelta(minutes=4))
    with pytest.raises(Conflict, match=r"needs 10m without new errors.*6m00s left"):
        service.resolve(ctx, iid, "bob")
    with pytest.raises(Invalid, match="needs a reason"):
        service.resolve(ctx, iid, "bob", force=True)
    forced = service.resolve(ctx, iid, "bob", force=True, reason="customer confirmed recovery")
    assert forced.forced_resolution == "customer confirmed recovery"
    assert "forced 360s before the quiet window ended" in service.timeline(ctx, iid)[-1].outcome


def test_ack_makes_acker_commander_and_roles_show_missing(ctx: Context) -> None:
    iid = declare(ctx, "P0", "Outage")
    before = service.get(ctx, iid)
    assert set(before.missing_roles) >= {"incident-commander", "technical-lead", "scribe"}
    after = service.acknowledge(ctx, iid, "bob")
    assert "incident-commander" not in after.missing_roles
    assert "IC: bob" in after.topic
    handed = service.assign_role(ctx, iid, "incident-commander", "carol", "bob")
    assert next(r for r in handed.roles if r.role == "incident-commander").person == "carol"
    assert service.timeline(ctx, iid)[-1].what.endswith("handed over from bob to carol")
    with pytest.raises(Invalid, match="unknown role"):
        service.assign_role(ctx, iid, "chief-of-vibes", "dan", "bob")


def test_credential_exposed_raises_p2_to_p0_with_rule(ctx: Context) -> None:
    iid = declare(ctx, "P2", "Slow search")
    raised = service.set_flags(ctx, iid, {"credential_exposed": True}, "alice")
    assert raised.severity == "P0"
    last = service.timeline(ctx, iid)[-1]
    assert last.kind == "severity_changed" and "floor rule" in last.what and last.data["to"] == "P0"
    with pytest.raises(Conflict, match="cannot go below P0"):
        service.change_severity(ctx, iid, "P2", "alice")


def test_impact_flags_feed_floors(ctx: Context) -> None:
    iid = declare(ctx, "P2", "Login flaky")
    view = service.set_impact(
        ctx, iid, ImpactRequest(users_affected=40, users_estimate=True, state="broken", customer_facing=True, by="a")
    )
    assert view.impact["users_affected"] == 40 and view.flags == {"customer_facing": True}
    assert service.set_flags(ctx, iid, {"auth_broken": True}, "a").severity == "P1"


def test_hypotheses_decision_and_mitigation_failures(ctx: Context) -> None:
    iid = declare(ctx, "P1")
    service.add_hypothesis(ctx, iid, "Stripe signature check broke", "401s from webhook", 75, "bob")
    service.add_hypothesis(ctx, iid, "Stripe outage", "", 20, "bob")
    service.set_hypothesis_status(ctx, iid, 2, "ruled_out", "bob", "status page green")
    confirmed = service.set_hypothesis_status(ctx, iid, 1, "confirmed", "bob")
    assert confirmed.status == "identified"
    assert [h.status for h in confirmed.hypotheses] == ["confirmed", "ruled_out"]
    dig = service.decide(ctx, iid, "dig_first", "rollback clears the container logs", "bob")
    assert dig.decision and "Snapshot logs" in dig.decision["checklist"][0]["item"]
    service.mitigate(ctx, iid, "rollback", False, "bob")
    failed = service.mitigate(ctx, iid, "restart", False, "bob")
    assert failed.mitigation_failures == 2 and failed.status == "identified"
    with pytest.raises(NotFound):
        service.set_hypothesis_status(ctx, iid, 9, "confirmed", "bob")
    brief = service.brief(ctx, iid)
    assert "H1: Stripe signature check broke" in brief and "Status: confirmed" in brief


def test_updates_numbered_per_audience_and_log_corrections(ctx: Context) -> None:
    iid = declare(ctx, "P1")
    assert service.post_update(ctx, iid, "internal", "Looking at logs", "bob").number == 1
    assert service.post_update(ctx, iid, "internal", "Rolling back", "bob", "watch errors").number == 2
    # nself posts to its status page on detection: no flag to wait for (NovaVMS's gate: tests/fidelity).
    assert service.post_update(ctx, iid, "external", "Investigating", "bob").number == 1
    assert service.get(ctx, iid).update_counts == {"internal": 2, "external": 1}
    first = service.log(ctx, iid, "Restarted the databse", "bob", "errors clearing")
    fix = service.log(ctx, iid, "Restarted the database (typo above)", "bob", corrects=first.id)
    assert fix.kind == "correction" and fix.corrects == first.id
    with pytest.raises(Invalid, match="no timeline entry"):
        service.log(ctx, iid, "x", "bob", corrects=999_999)


def test_bad_input_stores_nothing(ctx: Context) -> None:
    for req, field in [
        ({"severity": "P9", "title": "x"}, "severity"),
        ({"severity": "P1", "title": "   "}, "title"),
        ({"severity": "P1", "title": "a" * 301}, "title"),
        ({"severity": "P1", "title": "bell\x07"}, "title"),
        ({"severity": "P1", "title": "ok", "flags": {"made_up": True}}, "flags"),
    ]:
        with pytest.raises(Invalid) as err:
            service.declare(ctx, DeclareRequest(by="x", **req))  # type: ignore[arg-type]
        assert err.value.field == field
    with pytest.raises(NotFound):
        service.acknowledge(ctx, "INC-20990101-0001", "bob")
    with ctx.db.unit() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 0
        assert s.scalar(select(func.count()).select_from(TimelineEntry)) == 0


def test_search_sorts_by_severity_then_age(ctx: Context, clock: FakeClock) -> None:
    a = declare(ctx, "P2", "Search slow", service="search")
    clock.advance(timedelta(minutes=1))
    b = declare(ctx, "P0", "Everything down", service="api")
    clock.advance(timedelta(minutes=1))
    c = declare(ctx, "P0", "Auth down", service="auth")
    assert [r.id for r in service.search(ctx)] == [b, c, a]
    assert [r.id for r in service.search(ctx, severity="SEV1")] == [b, c]
    assert [r.id for r in service.search(ctx, service="search")] == [a]
    assert [r.id for r in service.search(ctx, q="auth")] == [c]
    top = service.search(ctx)[0]
    assert top.next_deadline is not None and top.next_deadline.name == "ack"
    with pytest.raises(Invalid):
        service.search(ctx, status="sleeping")


def test_template_context_has_every_key_the_policy_templates_may_use(ctx: Context) -> None:
    """Policies are validated against the sample record; real renders must offer the same keys."""
    from warroom.incidents import context as template_context
    from warroom.policy.templates import sample_context

    iid = declare(ctx, "P1")
    with ctx.db.unit() as s:
        real = template_context.full(s, ctx.policy, s.get(Incident, iid), ctx.clock.now())  # type: ignore[arg-type]
    sample = sample_context()
    assert set(real) == set(sample)
    assert set(real["incident"]) == set(sample["incident"])
    assert set(real["incident"]["impact"]) == set(sample["incident"]["impact"])


def test_no_external_posts_where_the_policy_has_no_status_page(ctx: Context) -> None:
    iid = declare(ctx, "P3", "Cert expires in 20 days")
    service.set_flags(ctx, iid, {"impact_confirmed": True}, "bob")
    with pytest.raises(Conflict, match="posts nothing externally for P3"):
        service.post_update(ctx, iid, "external", "All good", "bob")


def test_postmortem_done_closes_a_resolved_incident(ctx: Context, clock: FakeClock) -> None:
    iid = declare(ctx, "P1")
    with pytest.raises(Conflict, match="resolve it before closing"):
        service.complete_postmortem(ctx, iid, "alice")
    service.mitigate(ctx, iid, "rollback", True, "bob")
    clock.advance(timedelta(minutes=6))
    service.resolve(ctx, iid, "alice")
    with pytest.raises(Conflict, match="needs its postmortem"):
        service.close(ctx, iid, "alice")
    clock.advance(timedelta(hours=49))
    closed = service.complete_postmortem(ctx, iid, "alice", "https://wiki.example.com/pm/1")
    assert closed.status == "closed" and closed.closed_at == clock.now()
    done = [e for e in service.timeline(ctx, iid) if e.kind == "postmortem_done"]
    assert done[0].outcome == "https://wiki.example.com/pm/1 (after its due time)"
    with pytest.raises(Conflict, match="is closed; only a resolved incident can be reopened"):
        service.reopen(ctx, iid, "alice")
