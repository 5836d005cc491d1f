"""The customer e-mail: when the policy wants one, reminders until it is sent, and sending it.

nself: P0 within 30 min of mitigation, P1 within 1 h of resolution. When the anchor event
happens the war room is told the e-mail is due and by when; if it has not been sent by
then, an overdue reminder follows. Sending renders the policy's customer_email draft (or a
human's edit of it), checks the external-comms rules, and puts it in the outbox for the
`customer-email` destination.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from warroom.domain.clock import hhmm_utc, stamp
from warroom.domain.errors import Conflict, Invalid
from warroom.incidents import drafts
from warroom.incidents.record import entry, get_for_update
from warroom.notify import render, routing
from warroom.notify.outbox import Message, enqueue
from warroom.notify.routing import CUSTOMER_EMAIL, channel_message, internal_channel
from warroom.notify.settings import NotifySettings, current
from warroom.policy.model import Policy
from warroom.store.models import Incident, TimelineEntry, Update
from warroom.store.notify_models import Channel, Outbox
from warroom.store.unit import Context, run

LOOKBACK = timedelta(days=2)
"""The delivery loop's scan looks this far back for incidents whose customer e-mail may be due."""


def deadline(policy: Policy, inc: Incident) -> tuple[datetime, str] | None:
    """When the customer e-mail is due for this incident, and why; None when none is due (yet)."""
    rule = policy.severity(inc.severity).customer_email
    if rule.within is None:
        return None
    within = rule.within.as_timedelta()
    if rule.send == "after_mitigation" and inc.mitigated_at is not None:
        return inc.mitigated_at + within, f"within {rule.within} of mitigation"
    if rule.send == "after_resolution" and inc.resolved_at is not None:
        return inc.resolved_at + within, f"within {rule.within} of resolution"
    return None


def already_sent(session: Session, incident_id: str) -> bool:
    return bool(
        session.scalar(select(exists().where(Outbox.incident_id == incident_id, Outbox.kind == "customer_email")))
    )


def _keys(inc: Incident, at: datetime) -> tuple[str, str]:
    anchor = stamp(at)
    return f"customer-email-due:{inc.id}:{anchor}", f"customer-email-overdue:{inc.id}:{anchor}"


def remind(
    session: Session,
    policy: Policy,
    inc: Incident,
    now: datetime,
    settings: NotifySettings | None = None,
    have: set[str] | None = None,
) -> list[int]:
    """Tell the war room a customer e-mail is due (once), and that it is overdue (once) if it still is not sent.

    `have`: reminder keys already queued (the scan passes them, so a quiet round writes nothing).
    """
    due = deadline(policy, inc)
    if due is None or (have is None and already_sent(session, inc.id)):
        return []
    at, why = due
    channel = internal_channel(policy, inc)
    due_key, overdue_key = _keys(inc, at)
    messages = []
    if have is None or due_key not in have:
        title, body = render.customer_email_due(inc, at, why, overdue=False)
        messages.append(
            channel_message(inc, channel, event_key=due_key, kind="reminder", title=title, body=body, due_by=at)
        )
    if now >= at and (have is None or overdue_key not in have):
        title, body = render.customer_email_due(inc, at, why, overdue=True)
        messages.append(
            channel_message(
                inc, channel, event_key=overdue_key, kind="reminder", title=title, body=body, notify_type="warning"
            )
        )
    return enqueue(session, messages, now, settings)


def scan(session: Session, policy: Policy, now: datetime, settings: NotifySettings | None = None) -> int:
    """The delivery loop's check: every recently mitigated or resolved incident gets its reminders.

    Two reads per round when nothing is due: the candidates, and the reminders they already have.
    """
    wanted = [
        sev.name
        for sev in policy.severities
        if sev.customer_email.within is not None and sev.customer_email.send in ("after_mitigation", "after_resolution")
    ]
    if not wanted:
        return 0
    since = now - LOOKBACK
    sent = exists().where(Outbox.incident_id == Incident.id, Outbox.kind == "customer_email")
    candidates = [
        inc
        for inc in session.scalars(
            select(Incident).where(
                Incident.policy == policy.name,
                Incident.severity.in_(wanted),
                or_(Incident.mitigated_at >= since, Incident.resolved_at >= since),
                ~sent,
            )
        )
        if deadline(policy, inc) is not None
    ]
    if not candidates:
        return 0
    have = set(
        session.scalars(
            select(Outbox.event_key).where(
                Outbox.incident_id.in_([inc.id for inc in candidates]), Outbox.event_key.like("customer-email-%")
            )
        )
    )
    return sum(len(remind(session, policy, inc, now, settings, have)) for inc in candidates)


def on_entries(session: Session, policy: Policy, entries: list[TimelineEntry], now: datetime) -> None:
    """The subscriber: a mitigation or resolution makes the e-mail due (the war room is told by when);
    a posted customer_email draft is sent where a customer-email destination is configured (else
    the team sends it by hand, and only the update is recorded)."""
    todo = [
        e
        for e in entries
        if (e.kind == "status" and e.data.get("to") in ("mitigated", "resolved"))
        or (e.kind == "update" and e.data.get("draft") == "customer_email")
    ]
    if not todo:
        return
    settings = current()

    def react() -> None:
        for e in todo:
            inc = session.get(Incident, e.incident_id)
            if inc is None:
                continue
            if e.kind == "status":
                remind(session, policy, inc, now, settings)
            elif session.get(Channel, CUSTOMER_EMAIL) is not None:
                text = session.scalar(
                    select(Update.text).where(
                        Update.incident_id == inc.id,
                        Update.audience == e.data.get("audience"),
                        Update.number == e.data.get("number"),
                    )
                )
                subject = str(e.data.get("subject") or "") or render.title(inc)
                queue(session, policy, inc, e.actor, text or e.what, subject, now, settings)

    routing.guarded(session, react)


def send(
    ctx: Context,
    incident_id: str,
    by: str,
    text: str | None = None,
    subject: str | None = None,
    settings: NotifySettings | None = None,
) -> int:
    """Send the customer e-mail (the policy's draft, or a human's edit); returns the outbox id."""
    settings = settings or current()
    who = (by or "").strip()
    if not who:
        raise Invalid("say who sends it (by)", field="by")
    draft = drafts.draft(ctx, incident_id, "customer_email", who)
    body = text.strip() if text and text.strip() else draft.text
    head = (subject or "").strip() or draft.subject or None

    def apply(session: Session, now: datetime) -> int:
        inc = get_for_update(session, incident_id)
        if ctx.policy.severity(inc.severity).external_blocked_by(inc.flags):
            raise Conflict(
                f"{inc.id} has no confirmed impact; the customer e-mail is refused until it is confirmed "
                "(set the impact_confirmed flag) — never send speculation to customers"
            )
        if session.get(Channel, CUSTOMER_EMAIL) is None:
            raise Conflict(
                "no customer-email destination is configured; add one with "
                "`warroom contact add-channel customer-email 'mailtos://…'`"
            )
        return queue(session, ctx.policy, inc, who, body, head or render.title(inc), now, settings)

    return run(ctx, apply, incident_id)


def queue(
    session: Session,
    policy: Policy,
    inc: Incident,
    who: str,
    body: str,
    title: str,
    now: datetime,
    settings: NotifySettings,
) -> int:
    """Put the e-mail in the outbox for the customer-email destination, numbered, with its timeline entry."""
    number = (
        session.scalar(
            select(func.count())
            .select_from(Outbox)
            .where(Outbox.incident_id == inc.id, Outbox.kind == "customer_email", Outbox.fallback_of.is_(None))
        )
        or 0
    ) + 1
    ids = enqueue(
        session,
        [
            Message(
                event_key=f"customer-email:{inc.id}:{number}",
                destination=CUSTOMER_EMAIL,
                kind="customer_email",
                title=title,
                body=body,
                incident_id=inc.id,
            )
        ],
        now,
        settings,
    )
    due = deadline(policy, inc)
    late = f"; {int((now - due[0]).total_seconds() // 60)} min after it was due" if due and now > due[0] else ""
    entry(
        session,
        inc,
        now,
        who,
        "customer_email",
        f"Customer e-mail #{number} queued: {title}",
        f"due by {hhmm_utc(due[0])}{late}" if due else "",
        {"notification": ids[0] if ids else None},
    )
    return ids[0]
