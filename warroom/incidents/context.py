"""The variables a policy template sees, built from the incident record (same keys as the sample)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.policy.model import Policy
from warroom.store.models import Hypothesis, Incident, Mitigation, RoleAssignment, TimelineEntry
from warroom.store.postmortem_models import ActionItem

DEFAULT_WORKING_DOC = """## Incident {{ incident.declared_at | date }} — {{ incident.slug }}
**Severity:** {{ incident.severity }}
**IC:** {{ incident.commander or 'unassigned' }}
**Started:** {{ incident.declared_at | hhmm }}
**Mitigated:** {{ incident.mitigated_at | hhmm }}
**Resolved:** {{ incident.resolved_at | hhmm }}

### Symptoms
{% for s in incident.symptoms %}
- {{ s.at | hhmm }} {{ s.text }}
{% else %}
- none recorded
{% endfor %}

### Hypotheses
{% for h in incident.hypotheses %}
- H{{ h.number }}: {{ h.text }} — Evidence: {{ h.evidence or 'none' }} — Status: {{ h.status }}
{% else %}
- none yet
{% endfor %}

### Actions taken
{% for a in incident.actions %}
- {{ a.at | hhmm }} {{ a.what }} → {{ a.outcome }}
{% else %}
- none yet
{% endfor %}"""

_ACTION_KINDS = ("note", "correction", "mitigation", "decision")


def for_incident(policy: Policy, inc: Incident, now: datetime, *, commander: str | None = None) -> dict[str, Any]:
    """The cheap context: the incident row alone (channel names, topics, ack posts)."""
    sev = policy.severity(inc.severity)
    end = inc.resolved_at or now
    data = {
        "id": inc.id,
        "title": inc.title,
        "slug": inc.slug,
        "summary": inc.summary or inc.title,
        "severity": inc.severity,
        "severity_label": sev.label,
        "severity_number": policy.rank(inc.severity),
        "status": inc.status,
        "service": inc.service or "",
        "services": list(inc.impact.get("services") or ([inc.service] if inc.service else [])),
        "commander": commander,
        "roles": {},
        "declared_at": inc.declared_at,
        "acknowledged_at": inc.acknowledged_at,
        "mitigated_at": inc.mitigated_at,
        "resolved_at": inc.resolved_at,
        "duration_minutes": round((end - inc.declared_at).total_seconds() / 60),
        "impact": {
            "users_affected": inc.impact.get("users_affected"),
            "orgs_affected": inc.impact.get("orgs_affected"),
            "description": inc.impact.get("description", ""),
            "state": inc.impact.get("state", ""),
            "revenue_impact": inc.impact.get("revenue_impact"),
        },
        "flags": dict(inc.flags),
        "cause": "",
        "hypotheses": [],
        "actions": [],
        "symptoms": [],
        "timeline": [],
        "mitigations": [],
        "postmortem_due_at": inc.postmortem_due_at,
        "key_times": [],  # a draft fills it (warroom.incidents.keytimes)
        "channel": inc.channel,
        "url": f"/incidents/{inc.id}",
        "action_items": [],
        "responders": [inc.declared_by],
        "bridge_url": None,
    }
    return {
        "incident": data,
        "now": now,
        "next_update_at": now,
        "actor": commander or inc.declared_by,
        "update": {"number": 0, "text": "", "next": "", "audience": "internal"},
        "entry": {"at": now, "actor": commander or inc.declared_by, "what": "", "outcome": ""},
        "hypothesis": {"number": 0, "text": "", "evidence": "", "confidence": 0, "status": "open"},
        "recipient": "there",
        "eta": None,
        "link": f"/incidents/{inc.id}/postmortem",
        "policy": {"name": policy.name},
    }


def full(session: Session, policy: Policy, inc: Incident, now: datetime) -> dict[str, Any]:
    """Everything a working doc, brief or postmortem needs: roles, hypotheses, actions, timeline."""
    roles = {
        r.role: r.person for r in session.scalars(select(RoleAssignment).where(RoleAssignment.incident_id == inc.id))
    }
    context = for_incident(policy, inc, now, commander=roles.get("incident-commander"))
    data = context["incident"]
    data["roles"] = roles
    hyps = list(session.scalars(select(Hypothesis).where(Hypothesis.incident_id == inc.id).order_by(Hypothesis.number)))
    data["hypotheses"] = [
        {"number": h.number, "text": h.text, "evidence": h.evidence, "confidence": h.confidence, "status": h.status}
        for h in hyps
    ]
    confirmed = [h.text for h in hyps if h.status == "confirmed"]
    data["cause"] = confirmed[0] if confirmed else ""
    entries = list(
        session.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == inc.id).order_by(TimelineEntry.id))
    )
    data["timeline"] = [{"at": e.at, "actor": e.actor, "what": e.what, "outcome": e.outcome} for e in entries]
    data["responders"] = list(dict.fromkeys(e.actor for e in entries if actors.is_person(e.actor)))
    data["actions"] = [{"at": e.at, "what": e.what, "outcome": e.outcome} for e in entries if e.kind in _ACTION_KINDS]
    data["symptoms"] = [{"at": e.at, "text": e.what} for e in entries if e.kind == "symptom"]
    if inc.summary:
        data["symptoms"].insert(0, {"at": inc.detected_at, "text": inc.summary})
    mits = session.scalars(select(Mitigation).where(Mitigation.incident_id == inc.id).order_by(Mitigation.id))
    data["mitigations"] = [{"strategy": m.strategy, "worked": m.worked, "note": m.note} for m in mits]
    items = session.scalars(select(ActionItem).where(ActionItem.incident_id == inc.id).order_by(ActionItem.id))
    data["action_items"] = [
        {
            "action": a.text,
            "owner": a.owner or "unassigned",
            "due": f"{a.due_at:%Y-%m-%d}" if a.due_at else "no date",
            "status": a.status,
            "link": a.link,
        }
        for a in items
    ]
    return context
