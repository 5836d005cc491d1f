"""Engine behaviours beyond the example drills: repeat, severity changes, watch restarts, conditions
firing once, postmortem reminders and completion; and the engine loop inside the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.conftest import ActAs, Server, sign_cli
from tests.engine.conftest import SMALL, advance, loop_for, small_policy
from warroom.app import create_app
from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.drill.runner import Action, run
from warroom.drill.scenario import parse_scenario
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy import load_policy
from warroom.policy.model import Policy
from warroom.settings import Settings
from warroom.store import unit
from warroom.store.db import Database
from warroom.store.engine_models import Page, Timer
from warroom.store.migrate import upgrade
from warroom.store.models import Incident
from warroom.store.unit import Context

START = "2026-05-07T14:00:00Z"


def drill(policy: Policy, events: list[dict[str, Any]], until: str = "+3h", **extra: Any) -> list[Action]:
    spec = {"start": START, "until": until, "oncall": {"primary": "pat", "backup": "bo"}, "events": events}
    scenario = parse_scenario({**spec, **extra})
    return run(scenario, policy).actions


def brief(actions: list[Action], *kinds: str) -> list[tuple[str, ...]]:
    """(minutes, kind, key field) for the actions of these kinds."""
    start = datetime.fromisoformat(START.replace("Z", "+00:00"))
    out = []
    for a in actions:
        if a.kind in kinds:
            key = (
                a.fields.get("person")
                or a.fields.get("audience")
                or a.fields.get("clock")
                or a.fields.get("phase")
                or ""
            )
            out.append((f"+{int((a.at - start).total_seconds() // 60)}m", a.kind, str(key)))
    return out


def test_repeat_pages_every_tier_again_then_flags_unacknowledged() -> None:
    policy = small_policy(
        escalation_policies={
            "paging": {
                "tiers": [
                    {"targets": ["primary"], "methods": ["push"], "wait": "5m"},
                    {"targets": ["backup"], "methods": ["push"], "wait": "5m"},
                ],
                "repeat": 2,
            }
        }
    )
    actions = drill(
        policy, [{"at": "+0m", "declare": {"title": "x", "severity": "P0"}}, {"at": "+45m", "ack": {"by": "bo"}}]
    )
    assert brief(actions, "page", "unacknowledged", "acknowledged", "flag") == [
        ("+0m", "page", "pat"),
        ("+5m", "page", "bo"),
        ("+10m", "page", "pat"),
        ("+15m", "page", "bo"),
        ("+20m", "page", "pat"),
        ("+25m", "page", "bo"),
        ("+30m", "unacknowledged", ""),
        ("+45m", "acknowledged", ""),
        ("+45m", "flag", ""),
    ]
    flag = next(a for a in actions if a.kind == "flag")
    assert flag.fields == {"flag": "unacknowledged", "value": False, "by": "warroom"}


def test_raising_an_unacknowledged_incident_starts_the_new_paging_policy() -> None:
    actions = drill(
        small_policy(),
        [
            {"at": "+0m", "declare": {"title": "Slow search", "severity": "P2"}},
            {"at": "+3m", "severity": {"to": "P0", "by": "ann", "reason": "spreading"}},
            {"at": "+6m", "ack": {"by": "pat"}},
        ],
        until="+30m",
    )
    # The P0 ack clock runs from the declaration: at +5m it has breached, so tier 2 does not wait until +8m.
    assert brief(actions, "page", "sla_breach", "acknowledged") == [
        ("+3m", "page", "pat"),
        ("+5m", "sla_breach", "ack"),
        ("+5m", "page", "bo"),
        ("+6m", "acknowledged", ""),
    ]


def test_ack_stops_paging_and_the_ack_clock_but_not_the_others() -> None:
    actions = drill(
        small_policy(),
        [{"at": "+0m", "declare": {"title": "x", "severity": "P0"}}, {"at": "+4m", "ack": {"by": "pat"}}],
        until="+5h",
    )
    assert brief(actions, "page", "sla_breach", "escalation") == [
        ("+0m", "page", "pat"),
        ("+60m", "sla_breach", "mitigate"),
        ("+60m", "escalation", "lena"),  # the last tier, standing in for the lead
        ("+240m", "sla_breach", "resolve"),
        ("+240m", "escalation", "lena"),
    ]


def test_each_condition_fires_once_and_says_why() -> None:
    policy = small_policy(
        conditions=[
            {"id": "breach", "when": {"flag": "data_breach_suspected"}, "targets": ["lead"], "action": "Call legal"},
            {"id": "slow-ack", "when": {"unacknowledged_for": "3m", "severities": ["P0"]}, "targets": ["backup"]},
            {"id": "no-idea", "when": {"no_hypothesis_for": "20m"}, "targets": ["lead"]},
            {"id": "big", "when": {"revenue_impact_over": 1000}, "targets": ["lead"]},
        ]
    )
    actions = drill(
        policy,
        [
            {"at": "+0m", "declare": {"title": "x", "severity": "P0"}},
            {"at": "+4m", "ack": {"by": "pat"}},
            {"at": "+5m", "flag": {"data_breach_suspected": True}},
            {"at": "+6m", "flag": {"data_breach_suspected": False}},
            {"at": "+7m", "flag": {"data_breach_suspected": True}},
            {"at": "+8m", "impact": {"revenue_impact": 500}},
            {"at": "+9m", "hypothesis": {"by": "pat", "text": "a bad cache", "confidence": 40}},
            {"at": "+11m", "impact": {"revenue_impact": 5000}},
            {"at": "+12m", "impact": {"revenue_impact": 9000}},
        ],
        until="+30m",
    )
    escalations = [
        (a.fields["condition"], a.fields["person"], a.fields["reason"], a.at.minute)
        for a in actions
        if a.kind == "escalation"
    ]
    assert escalations == [
        ("slow-ack", "bo", "P0 not acknowledged after 3m", 3),
        ("breach", "lena", "a data breach is suspected", 5),
        ("big", "lena", "revenue impact 5000 over 1000", 11),
    ]
    legal = next(a for a in actions if a.kind == "escalation" and a.fields["condition"] == "breach")
    assert legal.text.endswith("Call legal")


def test_phases_flag_an_overrun_only_while_their_exit_is_unmet() -> None:
    policy = small_policy(
        phases=[
            {"name": "identify", "start": "0m", "end": "5m", "exit_when": "hypothesis"},
            {"name": "triage", "start": "5m", "end": "15m", "exit_when": "decision"},
            {"name": "communicate", "every": "15m"},
            {"name": "mitigate", "start": "15m", "end": "60m", "exit_when": "mitigated"},
        ]
    )
    actions = drill(
        policy,
        [
            {"at": "+0m", "declare": {"title": "x", "severity": "P0"}},
            {"at": "+2m", "ack": {"by": "pat"}},
            {"at": "+8m", "hypothesis": {"by": "pat", "text": "h", "confidence": 50}},
            {"at": "+10m", "decide": {"by": "pat", "path": "mitigate_first", "reason": "known revert"}},
            {"at": "+70m", "mitigate": {"by": "pat", "strategy": "rollback", "worked": True}},
        ],
    )
    assert brief(actions, "phase_overrun") == [
        ("+5m", "phase_overrun", "identify"),
        ("+60m", "phase_overrun", "mitigate"),
    ]


def _restart(ctx: Context, incident_id: str) -> None:
    def apply(session: Session, now: datetime) -> None:
        inc = service.get_for_update(session, incident_id)
        service.restart_watch(session, inc, now, "alertmanager", "HighErrorRate fired again")

    unit.run(ctx, apply)


def test_a_new_alert_restarts_the_quiet_window(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    loop = loop_for(ctx)
    iid = service.declare(ctx, DeclareRequest(severity="P0", title="x", by="mon")).id
    service.mitigate(ctx, iid, "rollback", True, "pat")
    advance(ctx, loop, timedelta(minutes=6))
    _restart(ctx, iid)  # the window now ends at +16m, not +10m
    advance(ctx, loop, timedelta(minutes=9))
    kinds = [e.kind for e in service.timeline(ctx, iid)]
    assert "watch_passed" not in kinds
    advance(ctx, loop, timedelta(minutes=2))
    passed = [e for e in service.timeline(ctx, iid) if e.kind == "watch_passed"]
    assert len(passed) == 1 and passed[0].at == clock.now() - timedelta(minutes=1)
    assert "since 14:23 UTC" in passed[0].what


def test_postmortem_reminders_then_completion_cancels_the_rest(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    loop = loop_for(ctx)
    iid = service.declare(ctx, DeclareRequest(severity="P0", title="x", by="mon")).id
    service.mitigate(ctx, iid, "rollback", True, "pat")
    clock.advance(timedelta(minutes=10))
    resolved = service.resolve(ctx, iid, "pat")
    assert resolved.postmortem_due_at == clock.now() + timedelta(hours=48)
    advance(ctx, loop, timedelta(hours=25))
    pm = [
        (e.kind, e.data.get("remaining_seconds")) for e in service.timeline(ctx, iid) if e.kind.startswith("postmortem")
    ]
    assert pm == [("postmortem_due", None), ("postmortem_reminder", 24 * 3600)]
    service.complete_postmortem(ctx, iid, "pat", "https://example.com/pm/1")
    with ctx.db.unit() as s:
        live = s.scalars(select(Timer).where(Timer.incident_id == iid, Timer.state.in_(["pending", "claimed"]))).all()
        assert live == []
    advance(ctx, loop, timedelta(days=3))
    assert [e.kind for e in service.timeline(ctx, iid)].count("postmortem_reminder") == 1


def test_the_app_runs_the_engine_loop_and_shows_its_work(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx(small_policy(targets={**SMALL["targets"], "primary": {"via": "person", "ref": "pat"}}))
    app = create_app(Settings(engine_enabled=True, engine_interval=0.2), ctx)
    with TestClient(app) as http:
        http.auth = ActAs(ctx.db.url)
        health = http.get("/healthz").json()
        assert health["engine"]["running"] is True
        made = http.post("/api/v1/incidents", json={"severity": "P0", "title": "Checkout down", "by": "mon"})
        assert made.status_code == 201
        iid = made.json()["id"]
        deadline = time.monotonic() + 10
        pages: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not pages:
            pages = http.get("/api/v1/pages", params={"incident": iid}).json()
            time.sleep(0.05)
        assert [(p["person"], p["tier"], p["methods"]) for p in pages] == [("pat", 1, ["push", "sms"])]
        # Handed to notification delivery in the same transaction; pat has no contact points here.
        assert pages[0]["delivery"] in ("queued", "failed")
        engine = http.get(f"/api/v1/incidents/{iid}/engine").json()
        kinds = sorted({t["kind"] for t in engine["timers"]})
        assert kinds == ["page", "reminder", "sla"]
        nxt = next(t for t in engine["timers"] if t["kind"] == "page")
        assert nxt["payload"]["tier"] == 1 and nxt["due_at"] == "2026-05-07T14:22:00Z"
        assert http.get("/api/v1/engine/timers", params={"state": "bogus"}).status_code == 422
        assert http.get("/api/v1/engine/status").json()["fired"] >= 1
    with ctx.db.unit() as s:
        assert s.get(Incident, iid) is not None
        assert len(s.scalars(select(Page)).all()) == 1


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        env={**os.environ, "COLUMNS": "200", "WARROOM_URL": "", **sign_cli(env, args)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_engine_cli_lists_timers_and_pages(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "cli.db"
    db.write_bytes(sqlite_template.read_bytes())
    url = f"sqlite:///{db}"
    ctx = context(Database(url), load_policy("nself"), FakeClock(datetime(2026, 5, 7, 14, 17, tzinfo=UTC)))
    iid = service.declare(ctx, DeclareRequest(severity="P0", title="Auth down", by="mon")).id
    loop_for(ctx, fixed={"primary-on-call": "user-a"}).tick()
    ctx.db.dispose()
    env = {"WARROOM_DATABASE_URL": url, "WARROOM_POLICY": "nself"}
    shown = _cli(env, "engine", "timers", "--incident", iid)
    assert shown.returncode == 0, shown.stderr
    lines = [line for line in shown.stdout.splitlines() if iid in line]
    assert any("page" in line and "2026-05-07 14:22 UTC" in line for line in lines)
    assert any("sla" in line and "2026-05-07 14:22 UTC" in line for line in lines)
    pages = _cli(env, "engine", "pages")
    assert pages.returncode == 0 and "user-a" in pages.stdout and "push, sms" in pages.stdout
    bad = _cli(env, "engine", "timers", "--state", "sleeping")
    assert bad.returncode == 2 and "unknown state 'sleeping'" in bad.stderr


def test_serve_pages_within_a_second_and_stops_cleanly(tmp_path: Path) -> None:
    policy = tmp_path / "quick.yaml"
    data = {
        "name": "quick",
        "severities": [{"name": "P0", "escalation_policy": "quick"}],
        "targets": {"primary": {"via": "person", "ref": "pat"}, "backup": {"via": "person", "ref": "bo"}},
        "escalation_policies": {
            "quick": {"tiers": [{"targets": ["primary"], "wait": "1s"}, {"targets": ["backup"], "wait": "1s"}]}
        },
    }
    policy.write_text(yaml.safe_dump(data), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    upgrade(url)
    srv = Server(url, {"WARROOM_POLICY": str(policy), "WARROOM_URL": ""}).start()
    try:
        with srv.client() as http:
            assert http.get("/healthz").json()["engine"]["running"] is True
            iid = http.post("/api/v1/incidents", json={"severity": "P0", "title": "x", "by": "mon"}).json()["id"]
            begun = time.monotonic()
            people: list[str] = []
            while time.monotonic() - begun < 10 and len(people) < 2:
                rows = http.get("/api/v1/pages", params={"incident": iid}).json()
                people = [p["person"] for p in sorted(rows, key=lambda p: p["tier"])]
                time.sleep(0.05)
            assert people == ["pat", "bo"]
            assert time.monotonic() - begun < 3, "tier 1 at once and tier 2 after its one-second wait"
    finally:
        assert srv.proc is not None
        srv.proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully (the lifespan stops the engine loop), then re-raises the signal.
        assert srv.proc.wait(15) in (0, -signal.SIGTERM)


def test_raising_severity_replans_the_watch_and_the_cadence() -> None:
    """nself: a mitigated P1 raised to P0 needs the P0 10-minute quiet window and 10-minute updates."""
    actions = drill(
        load_policy("nself"),
        [
            {"at": "+0m", "declare": {"title": "Checkout errors", "severity": "P1"}},
            {"at": "+2m", "ack": {"by": "pat"}},
            {"at": "+10m", "mitigate": {"by": "pat", "strategy": "rollback", "worked": True}},
            {"at": "+12m", "severity": {"to": "P0", "by": "pat", "reason": "all regions"}},
            {"at": "+16m", "resolve": {"by": "pat"}},
            {"at": "+21m", "resolve": {"by": "pat"}},
        ],
        until="+30m",
        oncall={"primary": "pat"},
    )
    assert brief(actions, "reminder", "resolve_refused", "watch_passed", "resolved") == [
        ("+0m", "reminder", "external"),  # P1's status page: on detection, mitigation and resolution
        ("+10m", "reminder", "external"),
        ("+12m", "reminder", "internal"),  # P0 wants an update every 10 minutes: already due
        ("+15m", "reminder", "external"),  # and its status page every 15 minutes from detection
        ("+16m", "resolve_refused", ""),
        ("+20m", "watch_passed", ""),
        ("+21m", "resolved", ""),
    ]
    internal = next(a for a in actions if a.kind == "reminder" and a.fields["audience"] == "internal")
    assert internal.fields["overdue"] is True
    assert next(a for a in actions if a.kind == "resolve_refused").fields["remaining"] == 240


def test_reminders_of_an_alert_declared_incident_reach_the_paged_people(make_ctx: Callable[..., Context]) -> None:
    """Alerts declared it, so no person did: until someone acknowledges, the paged on-call hears the reminders."""
    from warroom.intake.service import ingest_payload

    ctx = make_ctx()
    loop = loop_for(ctx)
    alert = {"summary": "Checkout 5xx above 5%", "service": "checkout", "severity": "P0", "fingerprint": "co-5xx"}
    iid = ingest_payload(ctx, "generic", alert)[0]["incident_id"]
    assert service.get(ctx, iid).declared_by == "integration direct"
    advance(ctx, loop, timedelta(minutes=11))
    reminders = [e for e in service.timeline(ctx, iid) if e.kind == "reminder"]
    assert reminders and reminders[0].data["to"] == ["pat", "bo"], "tier 1 then tier 2 were paged"
    service.acknowledge(ctx, iid, "bo")
    advance(ctx, loop, timedelta(minutes=11))
    later = [e for e in service.timeline(ctx, iid) if e.kind == "reminder"][len(reminders) :]
    assert later and all(e.data["to"] == ["bo"] for e in later), "the acknowledger (now commander) hears them"
