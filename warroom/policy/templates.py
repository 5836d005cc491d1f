"""Message templates from policy files run in Jinja2's sandbox: a policy can format, never execute."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def _as_dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    return value.astimezone(UTC)


def _fmt(pattern: str, default: str) -> Any:
    def render(value: Any, fallback: str = default) -> str:
        dt = _as_dt(value)
        return fallback if dt is None else dt.strftime(pattern)

    return render


def _minutes(seconds: Any) -> int:
    return round(float(seconds or 0) / 60)


def make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["hhmm"] = _fmt("%H:%M UTC", "pending")
    env.filters["hhmm_bare"] = _fmt("%H:%M", "pending")
    env.filters["date"] = _fmt("%Y-%m-%d", "pending")
    env.filters["compactdate"] = _fmt("%Y%m%d", "pending")
    env.filters["datetime"] = _fmt("%Y-%m-%d %H:%M UTC", "pending")
    env.filters["minutes"] = _minutes
    return env


ENV = make_environment()


def render(source: str, context: dict[str, Any]) -> str:
    return _compiled(source).render(**context).strip()


@functools.lru_cache(maxsize=2048)
def _compiled(source: str) -> Template:
    """A policy's templates are few and rendered often (every page, reminder and draft): compile each once."""
    return ENV.from_string(source)


def sample_context() -> dict[str, Any]:
    """A realistic record for trial renders at validation time, so a broken template fails at load.

    This is the contract with the services that render templates: every key here must be supplied.
    `entry` is the timeline entry being posted (templates.timeline_entry); `hypothesis` is the one
    being posted (templates.hypothesis); `incident.responders` lists everyone who took part;
    `incident.bridge_url` is the call link or None; `incident.key_times` lists the key moments (detected
    when known, declared, acknowledged, first response, mitigated, resolved) with their SLA clock's
    `state`, `verdict` and a ready `line` (warroom.incidents.keytimes).
    """
    declared = datetime(2026, 5, 7, 14, 17, tzinfo=UTC)
    hypothesis = {"number": 1, "text": "Bad deploy", "evidence": "logs", "confidence": 80, "status": "open"}
    entry = {"at": declared, "actor": "alice", "what": "Declared", "outcome": ""}
    incident = {
        "id": "INC-20260507-0001",
        "title": "Auth down for all users",
        "slug": "auth-down-for-all-users",
        "summary": "Sign-in fails with 500 for every user",
        "severity": "P0",
        "severity_label": "Total outage",
        "severity_number": 0,
        "status": "investigating",
        "service": "auth",
        "services": ["auth"],
        "commander": "alice",
        "roles": {"incident-commander": "alice"},
        "declared_at": declared,
        "acknowledged_at": declared,
        "mitigated_at": declared,
        "resolved_at": declared,
        "duration_minutes": 18,
        "impact": {
            "users_affected": 1200,
            "orgs_affected": 3,
            "description": "sign-in fails",
            "state": "broken",
            "revenue_impact": 0,
        },
        "flags": {"customer_facing": True},
        "cause": "a bad deploy",
        "hypotheses": [hypothesis],
        "actions": [{"at": declared, "what": "Rolled back", "outcome": "errors clearing"}],
        "symptoms": [{"at": declared, "text": "500s on /login"}],
        "timeline": [entry],
        "mitigations": [{"strategy": "rollback", "worked": True, "note": ""}],
        "postmortem_due_at": declared,
        "key_times": [
            {
                "name": "ack",
                "label": "Acknowledged",
                "at": declared,
                "clock": "ack",
                "sla": "5m",
                "deadline": declared,
                "state": "met",
                "verdict": "ack SLA 5m: met",
                "line": "Acknowledged: 2026-05-07 14:17 UTC, 0m after the declaration — ack SLA 5m: met",
            }
        ],
        "channel": "#incident-2026-05-07-auth-down-for-all-users",
        "url": "http://127.0.0.1:8080/incidents/INC-20260507-0001",
        "action_items": [{"action": "Add a canary", "owner": "bob", "due": "2026-05-14", "status": "open"}],
        "responders": ["alice", "bob"],
        "bridge_url": None,
    }
    return {
        "incident": incident,
        "now": declared,
        "next_update_at": declared,
        "actor": "alice",
        "update": {
            "number": 3,
            "text": "Rolled back the deploy",
            "next": "watching error rates",
            "audience": "internal",
        },
        "entry": entry,
        "hypothesis": hypothesis,
        "recipient": "there",
        "eta": declared,
        "link": "http://127.0.0.1:8080/postmortems/INC-20260507-0001",
        "policy": {"name": "sample"},
    }


def check(source: str) -> str | None:
    """None when the template compiles and renders against the sample record, else why not."""
    try:
        render(source, sample_context())
    except TemplateError as exc:
        return f"{type(exc).__name__}: {exc.message or exc}"
    except Exception as exc:  # a filter fed the wrong type fails at render; say so
        return f"{type(exc).__name__}: {exc}"
    return None
