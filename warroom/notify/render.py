"""The words of every notification: pages, matrix posts, acks, updates, reminders, resolutions.

Text comes from the policy's templates (rendered in the sandbox with the incident record);
what the runbook leaves unwritten gets a plain line. A template that fails at render time
never stops a page: the plain line is sent instead, with the error noted.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from jinja2 import TemplateError
from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.domain.clock import hhmm_utc
from warroom.incidents import context as template_context
from warroom.policy.model import Policy
from warroom.policy.templates import render as render_template
from warroom.store.models import Incident

log = logging.getLogger("warroom.notify")

DEFAULT_NEXT_UPDATE = timedelta(minutes=15)


def context(
    session: Session, policy: Policy, inc: Incident, now: datetime, actor: str = actors.SYSTEM
) -> dict[str, Any]:
    ctx = template_context.full(session, policy, inc, now)
    ctx["actor"] = actor
    cadence = policy.severity(inc.severity).cadence.get("external")
    every = cadence.every.as_timedelta() if cadence and cadence.every else DEFAULT_NEXT_UPDATE
    ctx["next_update_at"] = now + every
    return ctx


def template(policy: Policy, name: str, ctx: dict[str, Any], fallback: str) -> str:
    source = getattr(policy.templates, name, "") or ""
    if not source:
        return fallback
    try:
        return render_template(source, ctx) or fallback
    except (TemplateError, TypeError, ValueError, AttributeError) as exc:
        log.warning("template %s of policy %s failed: %s; sending the plain text", name, policy.name, exc)
        return fallback


def title(inc: Incident, what: str = "") -> str:
    head = f"[{inc.severity}] {inc.id}: {inc.title}"
    return f"{head} — {what}" if what else head


def _ack_hint(inc: Incident, public_url: str | None) -> str:
    where = f" or {public_url.rstrip('/')}/incidents/{inc.id}" if public_url else ""
    return f"Acknowledge: warroom ack {inc.id}{where}" + (
        f"\nIncident page: {public_url.rstrip('/')}/incidents/{inc.id}" if public_url else ""
    )


def one_tap(url: str) -> str:
    """The paged person's own line: their single-use link (it works once, without signing in)."""
    return f"Acknowledge in one tap: {url}"


def page(
    policy: Policy, inc: Incident, ctx: dict[str, Any], reason: str, public_url: str | None = None
) -> tuple[str, str]:
    """The page's title and text, from the incident's template context (`context`)."""
    sev = policy.severity(inc.severity)
    plain = f"{inc.severity} {sev.label}: {inc.summary or inc.title}".strip()
    lines = [template(policy, "page", ctx, plain)]
    if reason:
        lines.append(reason)
    lines.append(_ack_hint(inc, public_url))
    return title(inc), "\n".join(lines)


def declared(
    policy: Policy,
    inc: Incident,
    ctx: dict[str, Any],
    told: list[str],
    public_url: str | None = None,
    raised_from: str | None = None,
) -> tuple[str, str]:
    """The matrix post in a channel: the page text, the war room, who was paged (from `context`, as `page`)."""
    sev = policy.severity(inc.severity)
    plain = f"{inc.severity} {sev.label}: {inc.summary or inc.title}".strip()
    lines = [template(policy, "page", ctx, plain)]
    if raised_from:
        lines.insert(0, f"Severity raised {raised_from} → {inc.severity}.")
    else:
        opening = template(policy, "war_room_opening", ctx, "")
        if opening and opening not in lines[-1]:
            lines.append(opening)
    if inc.topic:
        lines.append(f"Topic: {inc.topic}")
    if told:
        lines.append("Notified: " + ", ".join(told))
    lines.append(_ack_hint(inc, public_url))
    return title(inc, f"raised from {raised_from}" if raised_from else "declared"), "\n".join(lines)


def ack(session: Session, policy: Policy, inc: Incident, now: datetime, by: str) -> tuple[str, str]:
    ctx = context(session, policy, inc, now, actor=by)
    plain = f"{inc.severity} acknowledged by {by} at {hhmm_utc(inc.acknowledged_at or now)}"
    return title(inc, "acknowledged"), template(policy, "ack", ctx, plain)


def resolution(session: Session, policy: Policy, inc: Incident, now: datetime) -> tuple[str, str]:
    ctx = context(session, policy, inc, now)
    minutes = ctx["incident"]["duration_minutes"]
    plain = f"RESOLVED — {inc.severity} resolved at {hhmm_utc(inc.resolved_at or now)}. Duration: {minutes} min."
    return title(inc, "resolved"), template(policy, "resolution", ctx, plain)


def update(inc: Incident, audience: str, number: int, text: str) -> tuple[str, str]:
    return title(inc, f"{audience} update #{number}"), text


def reminder(inc: Incident, what: str, outcome: str = "") -> tuple[str, str]:
    body = what + (f"\n{outcome}" if outcome and not outcome.startswith("remind ") else "")
    return title(inc, "reminder"), body


def customer_email_due(inc: Incident, due: datetime, why: str, overdue: bool) -> tuple[str, str]:
    head = "Customer e-mail OVERDUE" if overdue else "Customer e-mail due"
    body = (
        f"{head}: send it by {hhmm_utc(due)} ({why}).\n"
        f"Draft it with `warroom draft {inc.id} customer_email`, send it with "
        f"`warroom notifications customer-email {inc.id}`."
    )
    return title(inc, head.lower()), body
