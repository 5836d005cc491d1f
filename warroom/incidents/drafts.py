"""Drafts of every message the runbook sends, rendered from the policy's templates and the record.

A human edits and posts; posting records the text as an update for the draft's audience.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain.errors import Conflict, Invalid
from warroom.incidents import context as template_context
from warroom.incidents.keytimes import key_times
from warroom.incidents.record import load
from warroom.incidents.schemas import Audience, Draft, UpdateView
from warroom.incidents.updates import post_update
from warroom.policy.model import Policy
from warroom.policy.templates import render
from warroom.store.models import Incident, Update
from warroom.store.unit import Context

KINDS: dict[str, Audience | None] = {
    "ack": "internal",
    "war_room_opening": "internal",
    "channel_topic": None,
    "internal_update": "internal",
    "status_investigating": "external",
    "status_identified": "external",
    "status_monitoring": "external",
    "status_resolved": "external",
    "customer_email": "external",
    "executive_brief": "executive",
    "resolution": "internal",
    "working_doc": None,
    "postmortem": None,
}
"""Each kind of draft and the audience its posting counts for (None: a document, not a post)."""

DEFAULT_NEXT_UPDATE = timedelta(minutes=15)


def _next_update_at(policy: Policy, inc: Incident, now: datetime) -> datetime:
    cadence = policy.severity(inc.severity).cadence.get("external")
    every = cadence.every.as_timedelta() if cadence and cadence.every else DEFAULT_NEXT_UPDATE
    return now + every


def _source(policy: Policy, kind: str) -> str:
    if kind not in KINDS:
        raise Invalid(f"unknown draft '{kind}'; drafts: {', '.join(KINDS)}", field="kind")
    if kind == "working_doc" and not policy.templates.working_doc:
        return template_context.DEFAULT_WORKING_DOC
    source: str = getattr(policy.templates, kind)
    if not source:
        raise Invalid(f"the {policy.name} policy has no template for {kind}", field="kind")
    return source


def check_allowed(policy: Policy, inc: Incident, kind: str) -> None:
    """The runbook's rules on who may be told what."""
    sev = policy.severity(inc.severity)
    if kind == "executive_brief" and "executive" not in sev.cadence:
        raise Conflict(f"the {policy.name} policy sends no executive brief for {inc.severity}")
    if kind == "customer_email" and sev.customer_email.send == "never" and not sev.customer_email.on_request:
        raise Conflict(f"the {policy.name} policy sends no customer e-mail for {inc.severity}")


def _render(session: Session, ctx: Context, inc: Incident, kind: str, text: str, next_step: str, by: str) -> Draft:
    now = ctx.clock.now()
    audience = KINDS.get(kind)
    source = _source(ctx.policy, kind)
    check_allowed(ctx.policy, inc, kind)
    context = template_context.full(session, ctx.policy, inc, now)
    context["incident"]["key_times"] = key_times(ctx.policy, inc, now)
    if audience:
        last = session.scalar(
            select(func.max(Update.number)).where(Update.incident_id == inc.id, Update.audience == audience)
        )
        context["update"] = {"number": (last or 0) + 1, "text": text, "next": next_step, "audience": audience}
    context["actor"] = by
    context["next_update_at"] = _next_update_at(ctx.policy, inc, now)
    subject = None
    if kind == "customer_email" and ctx.policy.templates.customer_email_subject:
        subject = render(ctx.policy.templates.customer_email_subject, context)
    return Draft(kind=kind, audience=audience, subject=subject, text=render(source, context))


def draft(ctx: Context, incident_id: str, kind: str, by: str, text: str = "", next_step: str = "") -> Draft:
    with ctx.db.unit() as session:
        return _render(session, ctx, load(session, incident_id), kind, text, next_step, by)


def post(
    ctx: Context, incident_id: str, kind: str, by: str, text: str = "", next_step: str = "", final: str | None = None
) -> UpdateView:
    """Post a draft, as rendered or as a human edited it (`final`), recorded as an update for its audience."""
    _source(ctx.policy, kind)
    audience = KINDS[kind]
    if audience is None:
        raise Invalid(f"{kind} is a document, not a post; nothing to record as an update", field="kind")
    rendered = draft(ctx, incident_id, kind, by, text, next_step)
    message = final if final and final.strip() else rendered.text
    return post_update(ctx, incident_id, audience, message, by, next_step, draft=kind, subject=rendered.subject)
