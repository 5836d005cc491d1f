"""The built-in presets: they load, survive a round trip, carry their seed's numbers and render its messages."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from warroom.policy import Policy, list_presets, load_policy
from warroom.policy.loader import PRESET_DIR, parse_policy
from warroom.policy.model import Templates
from warroom.policy.templates import render, sample_context

PRESETS = ["nexus", "novavms", "nself", "so1"]
T0 = datetime(2026, 5, 7, 14, 17, tzinfo=UTC)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def test_the_four_presets_are_listed() -> None:
    assert list_presets() == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_preset_loads_and_names_itself(name: str) -> None:
    policy = load_policy(name)
    assert policy.name == name
    assert policy.description and policy.source


@pytest.mark.parametrize("name", PRESETS)
def test_preset_round_trips_through_json(name: str) -> None:
    policy = load_policy(name)
    again = parse_policy(policy.model_dump(mode="json"), f"{name} (dumped)")
    assert again == policy
    assert again.model_dump(mode="json") == policy.model_dump(mode="json")


# --- the seeds' numbers -------------------------------------------------------------------------


def td(policy: Policy, severity: str, path: str) -> timedelta | str | None:
    """A duration on a severity, as a timedelta when fixed, else its spelling (e.g. next-sprint)."""
    obj: Any = policy.severity(severity)
    for part in path.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    if obj is None:
        return None
    return obj.as_timedelta() if obj.is_fixed else str(obj)


def condition(policy: Policy, cid: str) -> Any:
    return next(c for c in policy.conditions if c.id == cid)


def floor(policy: Policy, flag: str) -> str:
    return next(f.at_least for f in policy.classification.floors if f.flag == flag)


def phase(policy: Policy, name: str) -> Any:
    return next(p for p in policy.phases if p.name == name)


Check = tuple[str, str, Callable[[Policy], Any], Any]

CHECKS: list[Check] = [
    # nself (seed 000)
    ("nself", "P0 ack 5m", lambda p: td(p, "P0", "sla.ack"), minutes(5)),
    ("nself", "P0 mitigate 60m", lambda p: td(p, "P0", "sla.mitigate"), minutes(60)),
    ("nself", "P0 resolve 4h", lambda p: td(p, "P0", "sla.resolve"), hours(4)),
    (
        "nself",
        "P1 SLAs 1h/4h/8h",
        lambda p: [td(p, "P1", f"sla.{k}") for k in ("ack", "mitigate", "resolve")],
        [hours(1), hours(4), hours(8)],
    ),
    (
        "nself",
        "P2 SLAs 4h/24h/48h",
        lambda p: [td(p, "P2", f"sla.{k}") for k in ("ack", "mitigate", "resolve")],
        [hours(4), hours(24), hours(48)],
    ),
    (
        "nself",
        "P3 SLAs next-business-day / next-sprint",
        lambda p: [td(p, "P3", f"sla.{k}") for k in ("ack", "mitigate", "resolve")],
        ["next-business-day", "next-sprint", "next-sprint"],
    ),
    (
        "nself",
        "P4 has no SLA",
        lambda p: p.severity("P4").sla.model_dump(),
        {**dict.fromkeys(("ack", "respond", "mitigate", "resolve")), "on_breach": {}},
    ),
    ("nself", "SEV1 is an alias of P0", lambda p: p.severity("sev1").name, "P0"),
    ("nself", "SEV4 is an alias of P3", lambda p: p.severity("SEV4").name, "P3"),
    ("nself", "P0 label", lambda p: p.severity("P0").label, "Total outage"),
    (
        "nself",
        "postmortem required within 48h for P0 and P1",
        lambda p: [(p.severity(s).postmortem.need.value, td(p, s, "postmortem.due")) for s in ("P0", "P1")],
        [("required", hours(48))] * 2,
    ),
    (
        "nself",
        "postmortem optional P2, none P3/P4",
        lambda p: [p.severity(s).postmortem.need.value for s in ("P2", "P3", "P4")],
        ["optional", "none", "none"],
    ),
    (
        "nself",
        "status page P0 on detect, every 15m",
        lambda p: (p.severity("P0").status_page.post, td(p, "P0", "cadence.external.every")),
        ("on_detect", minutes(15)),
    ),
    (
        "nself",
        "status page P1 on detect/mitigate/resolve",
        lambda p: p.severity("P1").cadence["external"].on,
        ["declared", "mitigated", "resolved"],
    ),
    (
        "nself",
        "status page P2 optional, single update on resolution",
        lambda p: (p.severity("P2").status_page.post, p.severity("P2").cadence["external"].on),
        ("optional", ["resolved"]),
    ),
    ("nself", "no status page for P3", lambda p: p.severity("P3").status_page.post, "never"),
    (
        "nself",
        "customer e-mail P0 within 30m of mitigation",
        lambda p: (p.severity("P0").customer_email.send, td(p, "P0", "customer_email.within")),
        ("after_mitigation", minutes(30)),
    ),
    (
        "nself",
        "customer e-mail P1 within 1h of resolution",
        lambda p: (p.severity("P1").customer_email.send, td(p, "P1", "customer_email.within")),
        ("after_resolution", hours(1)),
    ),
    (
        "nself",
        "customer e-mail P2 only when asked",
        lambda p: (p.severity("P2").customer_email.send, p.severity("P2").customer_email.on_request),
        ("never", True),
    ),
    ("nself", "auth broken -> P1 minimum", lambda p: floor(p, "auth_broken"), "P1"),
    ("nself", "billing broken -> P1 minimum", lambda p: floor(p, "billing_broken"), "P1"),
    ("nself", "credential exposed -> P0", lambda p: floor(p, "credential_exposed"), "P0"),
    (
        "nself",
        "uncertain P1/P2 -> P1",
        lambda p: (sorted(p.classification.uncertain.between), p.classification.uncertain.pick),
        (["P1", "P2"], "P1"),
    ),
    (
        "nself",
        "P0 notifies primary + all engineers by page and chat, immediately",
        lambda p: [(n.who, n.channels, n.methods, n.timing) for n in p.severity("P0").notify],
        [(["primary-on-call", "all-engineers"], ["war-room"], ["page", "chat"], "immediately")],
    ),
    (
        "nself",
        "P1 notifies primary by page or push within the ack SLA",
        lambda p: [(n.who, n.channels, n.methods, n.any_method, n.timing) for n in p.severity("P1").notify],
        [(["primary-on-call"], ["#incidents", "war-room"], ["page", "push"], True, "within_ack_sla")],
    ),
    (
        "nself",
        "P2 notifies #incidents by chat",
        lambda p: [(n.channels, n.methods, n.timing) for n in p.severity("P2").notify],
        [(["#incidents"], ["chat"], "within_ack_sla")],
    ),
    (
        "nself",
        "P3 goes to #ops-low in business hours",
        lambda p: [(n.channels, n.timing) for n in p.severity("P3").notify],
        [(["#ops-low"], "business_hours")],
    ),
    (
        "nself",
        "paging tiers: primary push+sms 5m, backup 5m, email+phone 10m",
        lambda p: [(t.targets[0], t.methods, t.wait.as_timedelta()) for t in p.escalation_for("P0").tiers],
        [
            ("primary-on-call", ["push", "sms"], minutes(5)),
            ("backup-on-call", ["push", "sms"], minutes(5)),
            ("primary-on-call", ["email", "phone"], minutes(10)),
        ],
    ),
    (
        "nself",
        "P0 and P1 page, P2 and P3 do not",
        lambda p: [p.severity(s).escalation_policy is not None for s in ("P0", "P1", "P2", "P3")],
        [True, True, False, False],
    ),
    (
        "nself",
        "roles by severity",
        lambda p: [(p.severity(s).roles_required, p.severity(s).roles_optional) for s in ("P0", "P1", "P2")],
        [
            (["incident-commander", "technical-lead", "scribe", "comms-officer"], []),
            (["incident-commander", "technical-lead", "scribe"], ["comms-officer"]),
            (["incident-commander"], []),
        ],
    ),
    (
        "nself",
        "internal cadence 10m / 30m / on state change",
        lambda p: [
            td(p, "P0", "cadence.internal.every"),
            td(p, "P1", "cadence.internal.every"),
            p.severity("P2").cadence["internal"].on,
        ],
        [minutes(10), minutes(30), ["state_change"]],
    ),
    (
        "nself",
        "quiet window 10m P0, 5m P1",
        lambda p: [td(p, s, "resolution.quiet_window") for s in ("P0", "P1")],
        [minutes(10), minutes(5)],
    ),
    ("nself", "11 symptom routes plus a fallback", lambda p: (len(p.runbooks), bool(p.runbook_fallback)), (11, True)),
    (
        "nself",
        "rollback, restart, disable-plugin mitigations",
        lambda p: {"rollback", "restart", "disable-plugin"} <= {m.name for m in p.mitigation_strategies},
        True,
    ),
    ("nself", "P4 is information only", lambda p: p.severity("P4").triage_outcome, "none"),
    # novavms (seed 001)
    (
        "novavms",
        "postmortem within 5 business days",
        lambda p: (p.severity("P1").postmortem.need.value, td(p, "P1", "postmortem.due")),
        ("required", "5bd"),
    ),
    ("novavms", "P1 mitigated within 60m", lambda p: td(p, "P1", "sla.mitigate"), minutes(60)),
    (
        "novavms",
        "three audiences every 15m",
        lambda p: {k: v.every.as_timedelta() for k, v in p.severity("P1").cadence.items() if v.every},
        {"internal": minutes(15), "external": minutes(15), "executive": minutes(15)},
    ),
    (
        "novavms",
        "audiences map to the seed's channels",
        lambda p: {k: v.channel for k, v in p.severity("P1").cadence.items()},
        {"internal": "#novavms-incident-live", "executive": "#novavms-oncall", "external": "status-page"},
    ),
    ("novavms", "resolution = zero errors for 15m", lambda p: td(p, "P1", "resolution.quiet_window"), minutes(15)),
    (
        "novavms",
        "external posts only after confirmed impact",
        lambda p: p.severity("P1").status_page.post,
        "on_confirmed_impact",
    ),
    (
        "novavms",
        "no hypothesis after 20m -> engineering lead",
        lambda p: (
            condition(p, "no-hypothesis-20m").when.no_hypothesis_for.as_timedelta(),
            condition(p, "no-hypothesis-20m").targets,
        ),
        (minutes(20), ["engineering-lead"]),
    ),
    (
        "novavms",
        "two failed mitigations -> engineering lead",
        lambda p: (
            condition(p, "mitigation-failed-twice").when.mitigation_failures,
            condition(p, "mitigation-failed-twice").targets,
        ),
        (2, ["engineering-lead"]),
    ),
    (
        "novavms",
        "phases with their windows and exits",
        lambda p: [
            (
                ph.name,
                ph.start and ph.start.as_timedelta(),
                ph.end and ph.end.as_timedelta(),
                ph.every and ph.every.as_timedelta(),
                ph.due and str(ph.due),
                ph.exit_when,
            )
            for ph in p.phases
        ],
        [
            ("identify", minutes(0), minutes(5), None, None, "hypothesis"),
            ("triage", minutes(5), minutes(15), None, None, "decision"),
            ("communicate", None, None, minutes(15), None, None),
            ("mitigate", minutes(15), minutes(60), None, None, "mitigated"),
            ("postmortem", None, None, None, "5bd", "postmortem"),
        ],
    ),
    # nexus (seeds 002/003)
    (
        "nexus",
        "response times as ack SLAs",
        lambda p: [td(p, s, "sla.ack") for s in ("P1", "P2", "P3")],
        [hours(1), hours(4), "next-sprint"],
    ),
    (
        "nexus",
        "P0 not resolved in 30m -> studio producer",
        lambda p: (
            condition(p, "p0-unresolved-30m").when.unresolved_for.as_timedelta(),
            condition(p, "p0-unresolved-30m").when.severities,
            condition(p, "p0-unresolved-30m").targets,
        ),
        (minutes(30), ["P0"], ["studio-producer"]),
    ),
    (
        "nexus",
        "P1 not resolved in 2h -> project shepherd",
        lambda p: (
            condition(p, "p1-unresolved-2h").when.unresolved_for.as_timedelta(),
            condition(p, "p1-unresolved-2h").targets,
        ),
        (hours(2), ["project-shepherd"]),
    ),
    (
        "nexus",
        "data breach suspected -> legal",
        lambda p: (condition(p, "data-breach-suspected").when.flag, condition(p, "data-breach-suspected").targets),
        ("data_breach_suspected", ["legal-compliance-checker"]),
    ),
    (
        "nexus",
        "user data affected -> legal + executive summary",
        lambda p: condition(p, "user-data-affected").targets,
        ["legal-compliance-checker", "executive-summary-generator"],
    ),
    (
        "nexus",
        "revenue impact -> finance + studio producer",
        lambda p: (
            condition(p, "revenue-impact").when.revenue_impact_over is not None,
            condition(p, "revenue-impact").targets,
        ),
        (True, ["finance-tracker", "studio-producer"]),
    ),
    (
        "nexus",
        "monitor 30m after the fix",
        lambda p: [td(p, s, "resolution.monitor") for s in ("P0", "P1", "P2")],
        [minutes(30)] * 3,
    ),
    (
        "nexus",
        "status page every 15m",
        lambda p: [td(p, s, "cadence.external.every") for s in ("P0", "P1")],
        [minutes(15)] * 2,
    ),
    (
        "nexus",
        "executive brief for P0 only",
        lambda p: [("executive" in p.severity(s).cadence) for s in ("P0", "P1", "P2", "P3")],
        [True, False, False, False],
    ),
    (
        "nexus",
        "postmortem within 48h with 5 whys",
        lambda p: (td(p, "P0", "postmortem.due"), p.severity("P0").postmortem.analysis),
        (hours(48), "5-whys"),
    ),
    (
        "nexus",
        "decision tree by cause",
        lambda p: {b.cause: b.strategies for b in p.decision_tree},
        {
            "deployment": ["rollback"],
            "infrastructure": ["scale-up", "restart", "failover"],
            "code-bug": ["hotfix"],
            "external-dependency": ["fallback", "cache"],
        },
    ),
    (
        "nexus",
        "response teams",
        lambda p: [p.severity(s).response_team for s in ("P0", "P1", "P2", "P3")],
        [
            [
                "infrastructure-maintainer",
                "devops-automator",
                "backend-architect",
                "frontend-developer",
                "support-responder",
                "executive-summary-generator",
            ],
            ["infrastructure-maintainer", "devops-automator", "relevant-developer", "support-responder"],
            ["relevant-developer", "evidence-collector"],
            ["sprint-prioritizer"],
        ],
    ),
    (
        "nexus",
        "infrastructure maintainer commands P0 and P1",
        lambda p: [p.severity(s).commander for s in ("P0", "P1")],
        [["infrastructure-maintainer"]] * 2,
    ),
    (
        "nexus",
        "workflow optimizer leads the postmortem",
        lambda p: p.roles[p.severity("P0").postmortem.owner or ""].filled_by,
        ["workflow-optimizer"],
    ),
    # so1 (seed 004)
    ("so1", "confidence threshold 70", lambda p: p.classification.confidence_threshold, 70),
    ("so1", "below it: investigation required", lambda p: p.classification.below_threshold, "investigation_required"),
    ("so1", "alert storm at 10 alerts", lambda p: p.classification.storm.threshold, 10),
    ("so1", "health endpoints down -> SEV1 minimum", lambda p: floor(p, "health_endpoints_down"), "SEV1"),
    ("so1", "SEV4 becomes a ticket", lambda p: p.severity("SEV4").triage_outcome, "ticket"),
    ("so1", "incident ids INC-YYYYMMDD-NNNN", lambda p: (p.incident_id.prefix, p.incident_id.digits), ("INC", 4)),
    (
        "so1",
        "ack within 2 minutes",
        lambda p: [td(p, s, "sla.ack") for s in ("SEV0", "SEV1", "SEV2", "SEV3")],
        [minutes(2)] * 4,
    ),
    (
        "so1",
        "response times <5m / <15m / <1h / best effort",
        lambda p: [td(p, s, "sla.respond") for s in ("SEV1", "SEV2", "SEV3", "SEV4")],
        [minutes(5), minutes(15), hours(1), None],
    ),
    (
        "so1",
        "commander level by severity",
        lambda p: [s.commander for s in p.severities],
        [
            ["engineering-lead", "executive"],
            ["senior-engineer"],
            ["on-call-engineer"],
            ["on-call-engineer"],
            ["any-engineer"],
        ],
    ),
    (
        "so1",
        "initial comms within 5m, then every 15m",
        lambda p: (td(p, "SEV2", "cadence.internal.first_within"), td(p, "SEV2", "cadence.internal.every")),
        (minutes(5), minutes(15)),
    ),
    (
        "so1",
        "customer status only for SEV0-1",
        lambda p: [p.severity(s.name).status_page.post != "never" for s in p.severities],
        [True, True, False, False, False],
    ),
    (
        "so1",
        "stability watch: quiet 15m, monitor 30m",
        lambda p: (td(p, "SEV1", "resolution.quiet_window"), td(p, "SEV1", "resolution.monitor")),
        (minutes(15), minutes(30)),
    ),
    (
        "so1",
        "postmortem 24-48h after resolution, published within 72h, 5 whys",
        lambda p: (
            td(p, "SEV0", "postmortem.earliest"),
            td(p, "SEV0", "postmortem.due"),
            td(p, "SEV0", "postmortem.publish_within"),
            p.severity("SEV0").postmortem.analysis,
        ),
        (hours(24), hours(48), hours(72), "5-whys"),
    ),
    (
        "so1",
        "mitigation strategies with risk and speed",
        lambda p: [(m.name, m.risk) for m in p.mitigation_strategies],
        [
            ("configuration-change", "low"),
            ("rollback", "medium"),
            ("scale-up", "low"),
            ("feature-flag-disable", "low"),
            ("restart", "medium"),
            ("failover", "high"),
        ],
    ),
    (
        "so1",
        "the three scenarios",
        lambda p: sorted(p.scenarios),
        ["complete-outage", "database-failure", "security-breach"],
    ),
    (
        "so1",
        "contact response times",
        lambda p: {
            k: p.targets[k].response_time.as_timedelta()
            for k in ("on-call-engineer", "engineering-lead", "platform-team", "vendor-support", "executive")
        },
        {
            "on-call-engineer": minutes(5),
            "engineering-lead": minutes(10),
            "platform-team": minutes(15),
            "vendor-support": minutes(30),
            "executive": minutes(15),
        },
    ),
    (
        "so1",
        "vendor support is a placeholder address",
        lambda p: p.targets["vendor-support"].ref.endswith("example.com"),
        True,
    ),
    ("so1", "status page down -> e-mail", lambda p: "e-mail" in p.channels["status-page"], True),
]


@pytest.mark.parametrize(("name", "what", "get", "expected"), CHECKS, ids=[f"{c[0]}: {c[1]}" for c in CHECKS])
def test_preset_reproduces_its_seed(name: str, what: str, get: Callable[[Policy], Any], expected: Any) -> None:
    assert get(load_policy(name)) == expected, what


# --- templates ----------------------------------------------------------------------------------


def context(**incident: Any) -> dict[str, Any]:
    """The sample record, resolved 18 minutes in, with the postmortem due 48h later; overrides on top."""
    ctx = copy.deepcopy(sample_context())
    ctx["incident"].update(
        acknowledged_at=T0 + minutes(2),
        mitigated_at=T0 + minutes(12),
        resolved_at=T0 + minutes(18),
        postmortem_due_at=T0 + minutes(18) + hours(48),
    )
    ctx["next_update_at"] = T0 + minutes(15)
    ctx["eta"] = T0 + minutes(30)
    ctx["incident"].update(incident)
    return ctx


def lines(text: str) -> list[str]:
    return text.splitlines()


def headings(text: str) -> list[str]:
    return [line.lstrip("#").strip() for line in lines(text) if line.startswith("#")]


def templates(name: str) -> Templates:
    return load_policy(name).templates


@pytest.mark.parametrize("name", PRESETS)
def test_every_template_field_is_written(name: str) -> None:
    empty = [f for f in Templates.model_fields if not getattr(templates(name), f).strip()]
    assert empty == []


def sparse_context() -> dict[str, Any]:
    """What a fresh incident looks like: nothing known yet. Templates must still read as sentences."""
    ctx = copy.deepcopy(sample_context())
    ctx["incident"].update(
        service="",
        services=[],
        commander=None,
        roles={},
        acknowledged_at=None,
        mitigated_at=None,
        resolved_at=None,
        flags={},
        cause="",
        hypotheses=[],
        actions=[],
        symptoms=[],
        timeline=[],
        mitigations=[],
        postmortem_due_at=None,
        action_items=[],
        responders=[],
        impact={"users_affected": None, "orgs_affected": None, "description": "", "state": "", "revenue_impact": None},
    )
    ctx.update(eta=None, update={"number": 0, "text": "", "next": "", "audience": "internal"})
    return ctx


@pytest.mark.parametrize("name", PRESETS)
def test_templates_render_for_a_fresh_incident_without_none(name: str) -> None:
    for field in Templates.model_fields:
        out = render(getattr(templates(name), field), sparse_context())
        assert "None" not in out, f"{name}.{field}: {out}"


def test_nself_ack_has_the_seed_shape() -> None:
    out = render(templates("nself").ack, context())
    assert out == ":ack: P0 ack — Sign-in fails with 500 for every user — IC: alice — 14:19 UTC"


def test_nself_channel_name_and_topic() -> None:
    t = templates("nself")
    assert render(t.channel_name, context()) == "#incident-2026-05-07-auth-down-for-all-users"
    assert render(t.channel_topic, context()) == (
        "P0 | Sign-in fails with 500 for every user | IC: alice | started 14:17 UTC"
    )
    with_bridge = render(t.channel_topic, context(bridge_url="https://meet.example.com/w"))
    assert with_bridge == (
        "P0 | Sign-in fails with 500 for every user | IC: alice | Zoom: https://meet.example.com/w | started 14:17 UTC"
    )


def test_nself_internal_update_and_timeline_entry() -> None:
    t = templates("nself")
    assert render(t.internal_update, context()) == (
        "[14:17 UTC] Update #3: Rolled back the deploy. Next: watching error rates."
    )
    ctx = context()
    ctx["entry"] = {"at": T0 + minutes(6), "actor": "alice", "what": "Checked the logs", "outcome": "500s since 14:17"}
    assert render(t.timeline_entry, ctx) == "14:23 UTC | alice | Checked the logs | 500s since 14:17"


def test_nself_resolution_announcement() -> None:
    out = render(templates("nself").resolution, context())
    assert out == (
        ":white_check_mark: RESOLVED — P0 resolved at 14:35 UTC. Duration: 18 min. "
        "Post-mortem due: 2026-05-09 14:35 UTC."
    )
    no_postmortem = render(templates("nself").resolution, context(severity="P3", postmortem_due_at=None))
    assert no_postmortem == ":white_check_mark: RESOLVED — P3 resolved at 14:35 UTC. Duration: 18 min."


def test_nself_working_doc() -> None:
    doc = render(templates("nself").working_doc, context(mitigated_at=None, resolved_at=None))
    assert lines(doc)[:6] == [
        "## Incident 2026-05-07 — auth-down-for-all-users",
        "**P-level:** P0",
        "**IC:** alice",
        "**Started:** 14:17 UTC",
        "**Mitigated:** pending",
        "**Resolved:** pending",
    ]
    assert headings(doc)[1:] == [
        "Symptoms",
        "Affected surfaces",
        "Hypotheses (live — update as ruled out or confirmed)",
        "Actions taken",
    ]
    assert "- H1: Bad deploy — Evidence: logs — Status: open" in lines(doc)
    assert "- [ ] auth" in lines(doc)
    assert "- 14:17 Rolled back → errors clearing" in lines(doc)


def test_nself_status_page_posts() -> None:
    t = templates("nself")
    investigating = lines(render(t.status_investigating, context()))
    assert investigating[0] == "[Investigating] auth — Sign-in fails with 500 for every user — 14:17 UTC"
    assert investigating[1].startswith("We are investigating reports of ")
    assert investigating[-1] == "Next update: 14:32 UTC."
    identified = lines(render(t.status_identified, context()))
    assert identified[0] == "[Identified] Root cause located — fix in progress."
    assert identified[1] == "We identified a bad deploy. Rollout is underway; impact should clear by 14:47 UTC."
    assert render(t.status_monitoring, context()).startswith("[Monitoring] ")
    resolved = lines(render(t.status_resolved, context()))
    assert resolved[0] == "[Resolved] Service restored at 14:35 UTC. Duration: 18 min."
    assert resolved[1].startswith("auth is fully restored. Post-mortem within 48h at http")


def test_nself_customer_email_is_human() -> None:
    t = templates("nself")
    assert render(t.customer_email_subject, context()) == (
        "nSelf service incident — Sign-in fails with 500 for every user"
    )
    body = render(t.customer_email, context())
    assert body.startswith("Hi there,")
    assert "from 14:17 UTC to 14:35 UTC (18 min)" in body
    for part in ("What happened: ", "Impact on you: ", "What we did: ", "What's next: "):
        assert sum(line.startswith(part) for line in lines(body)) == 1, part
    assert "apologi" not in body.lower()


def test_nself_postmortem_skeleton() -> None:
    doc = render(templates("nself").postmortem, context())
    assert headings(doc) == [
        "Post-Mortem: Auth down for all users",
        "Impact",
        "Timeline",
        "Root Cause",
        "What Went Well",
        "What Went Wrong",
        "Action Items",
    ]
    assert "**Severity:** P0" in lines(doc)
    assert "5 Whys" in doc
    assert "| Action | Owner | Due | Status |" in lines(doc)
    assert "| Add a canary | bob | 2026-05-14 | open |" in lines(doc)


def test_novavms_postmortem_structure_and_silence_filler() -> None:
    t = templates("novavms")
    doc = render(t.postmortem, context())
    assert headings(doc)[1:] == [
        "Summary",
        "Impact",
        "Timeline (UTC)",
        "Root cause",
        "What went well",
        "What went wrong",
        "Action items",
    ]
    ctx = context()
    ctx["update"] = {"number": 4, "text": "", "next": "", "audience": "internal"}
    assert render(t.internal_update, ctx).endswith("still investigating, no change")
    assert "zero errors for 15 minutes" in render(t.resolution, context())


def test_nexus_status_page_uses_the_seed_fields() -> None:
    t = templates("nexus")
    for field, status in [
        ("status_investigating", "Investigating"),
        ("status_identified", "Identified"),
        ("status_monitoring", "Monitoring"),
        ("status_resolved", "Resolved"),
    ]:
        out = lines(render(getattr(t, field), context()))
        assert out[0] == "2026-05-07 14:17 UTC — auth Incident"
        assert [line.split(":", 1)[0] for line in out[2:]] == ["Status", "Impact", "Current action", "Next update"]
        assert out[2] == f"Status: {status}"
    assert lines(render(t.status_investigating, context()))[-1] == "Next update: 2026-05-07 14:32 UTC"


def test_nexus_executive_brief() -> None:
    out = lines(render(templates("nexus").executive_brief, context()))
    assert out[0] == "INCIDENT BRIEF — 2026-05-07 14:17 UTC"
    assert [line.split(":", 1)[0] for line in out[2:]] == ["SITUATION", "CAUSE", "ACTION", "IMPACT", "NEXT UPDATE"]
    assert out[2] == "SITUATION: auth is down affecting 1200 users"
    assert out[3] == "CAUSE: Known — a bad deploy"
    assert out[4] == "ACTION: Rolled back the deploy — ETA 14:47 UTC"
    assert render(templates("nexus").executive_brief, context(cause="")).splitlines()[3] == (
        "CAUSE: Under investigation"
    )


def test_nexus_postmortem_has_five_whys_and_owned_actions() -> None:
    doc = render(templates("nexus").postmortem, context())
    assert "5 Whys" in doc
    assert "- Add a canary → bob → 2026-05-14" in lines(doc)


def so1_context(**incident: Any) -> dict[str, Any]:
    base = {"severity": "SEV2", "title": "API error rate spike", "channel": "#incident-20260507-0001"}
    return context(**(base | incident))


def test_so1_channel_and_topic() -> None:
    t = templates("so1")
    assert render(t.channel_name, so1_context()) == "#incident-20260507-0001"
    assert render(t.channel_topic, so1_context()) == "SEV2: API error rate spike | Commander: @alice"


def test_so1_initial_internal_message() -> None:
    out = lines(render(templates("so1").war_room_opening, so1_context()))
    assert out[0] == "🔴 **SEV2 Incident Declared: API error rate spike**"
    assert out[1:5] == [
        "**Status**: Investigating",
        "**Impact**: 1200 users, sign-in fails",
        "**Commander**: @alice",
        "**War Room**: #incident-20260507-0001",
    ]
    assert out[-1].endswith("Updates every 15 min.")


def test_so1_customer_status_and_resolution() -> None:
    t = templates("so1")
    investigating = lines(render(t.status_investigating, so1_context()))
    assert investigating[0] == "**Investigating - API error rate spike**"
    assert investigating[-1] == "Our team is actively investigating. Next update in 15 minutes."
    resolved = lines(render(t.status_resolved, so1_context()))
    assert resolved == [
        "**Resolved - API error rate spike**",
        "This incident has been resolved. All services are operating normally.",
        "We apologize for any inconvenience.",
    ]
    internal = render(t.resolution, so1_context())
    assert internal.startswith("✅ **Incident Resolved: API error rate spike**")
    assert "**Monitoring**: Stable for 30 minutes, no recurrence" in lines(internal)
    assert "- Postmortem by 2026-05-09 14:35 UTC" in lines(internal)


def test_so1_hypothesis_and_all_hands_page() -> None:
    t = templates("so1")
    assert lines(render(t.hypothesis, so1_context()))[:2] == ["**Hypothesis**: Bad deploy", "**Confidence**: 80%"]
    assert render(t.page, so1_context(severity="SEV0", title="Complete outage")) == (
        "@channel 🚨 SEV0 INCIDENT: Complete outage. Join #incident-20260507-0001"
    )


def test_so1_postmortem_has_five_whys() -> None:
    doc = render(templates("so1").postmortem, so1_context())
    assert "Root cause (5 Whys)" in headings(doc)
    assert "| Add a canary | bob | 2026-05-14 |" in lines(doc)


# --- hygiene ------------------------------------------------------------------------------------

# Names, hosts and addresses that appear in the seeds and must never reach the project.
SEED_PERSONAL = re.compile(
    r"aric|nself\.org|novalien|so1\.io|railway\.app|100\.70\.|/volumes/|datadoghq|oncall-backend|localhost",
    re.IGNORECASE,
)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_holds_no_personal_data_from_the_seed(name: str) -> None:
    text = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    assert SEED_PERSONAL.findall(text) == []
    for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text):
        assert address.endswith("example.com"), address


@pytest.mark.parametrize("name", PRESETS)
def test_choices_the_seed_left_open_say_why(name: str) -> None:
    text = (PRESET_DIR / f"{name}.yaml").read_text(encoding="utf-8")
    marks = re.findall(r"# not in the runbook(.*)", text)
    assert marks, "every preset makes at least one choice of its own"
    bare = [m for m in marks if not re.match(r": \S.{8,}", m)]
    assert bare == [], "each '# not in the runbook' says why after a colon"
