"""Who hears what, where: from pages, the policy's notification matrix and incident events to outbox rows.

Everything here runs inside the transaction of the event (a page recorded by the engine, a
declaration, an acknowledgement, an update), so the message exists exactly when the event does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from datetime import datetime

from sqlalchemy import event, exists, select
from sqlalchemy.orm import Session

from warroom.chat import acklinks
from warroom.domain.clock import hhmm_utc
from warroom.notify import contacts, render
from warroom.notify import rules as rules_mod
from warroom.notify.outbox import Message, enqueue, link_page, person_destination
from warroom.notify.settings import NotifySettings, current
from warroom.oncall.directory import Directory, Reached
from warroom.policy.model import PAGING_METHODS, NotifyRule, Policy, Severity
from warroom.store.engine_models import Page
from warroom.store.models import Incident, TimelineEntry, Update
from warroom.store.notify_models import Outbox, PageLink

log = logging.getLogger("warroom.notify")

WAR_ROOM = "war-room"
STATUS_PAGE = "status-page"
CUSTOMER_EMAIL = "customer-email"
ROUTED = "warroom.notify.routed"
DIRECTORY = "warroom.notify.directory"
"""in a session's info: the on-call directory its routing reads schedules through, once each"""
STRICT = False
"""Re-raise routing errors (tests); in production a routing bug is logged and never blocks the incident."""


def _type(policy: Policy, inc: Incident) -> str:
    return "failure" if policy.rank(inc.severity) == 0 else "warning"


def address_for(destination: str, inc: Incident) -> str | None:
    """The incident's own channel name, for destinations whose URL is a pattern ({channel})."""
    return inc.channel or None if destination == WAR_ROOM else None


def internal_channel(policy: Policy, inc: Incident) -> str:
    cadence = policy.severity(inc.severity).cadence.get("internal")
    return cadence.channel if cadence and cadence.channel else WAR_ROOM


def matrix_channels(sev: Severity) -> list[str]:
    out = [c for rule in sev.notify for c in rule.channels]
    return list(dict.fromkeys(out))


# --- one person -----------------------------------------------------------------------------


def person_messages(
    session: Session,
    policy: Policy,
    inc: Incident,
    person: str,
    asked: Sequence[str],
    *,
    event_key: str,
    kind: str,
    title: str,
    body: str,
    now: datetime,
    any_method: bool = False,
    page_id: int | None = None,
    not_before: datetime | None = None,
    due_by: datetime | None = None,
    notify_type: str = "info",
    ack_link: str | None = None,
) -> list[Message]:
    """One message per method this person should get, under their own rules; a page (`ack_link`: the
    server's base URL) carries this person's one-tap acknowledgement link."""
    c = contacts.contact(session, person)
    rule = rules_mod.first_rule(c.rules, policy.severity(inc.severity).all_names)
    choice = rules_mod.choose(asked, c.methods, rule, any_method=any_method, tz=c.timezone, at=now)
    wait = max(filter(None, [not_before, choice.not_before]), default=None)
    notes = list(choice.notes)
    if not c.known:
        notes.append(f"{person} is not in the contacts; add them with `warroom contact add-person {person}`")
    methods: list[str | None] = list(choice.methods) or [None]
    if ack_link is not None:
        token = acklinks.issue(session, inc.id, person, now, page_id)
        body = f"{body}\n{render.one_tap(acklinks.url(ack_link, token))}"
    return [
        Message(
            event_key=event_key,
            destination=person_destination(person, method),
            kind=kind,
            title=title,
            body=body,
            incident_id=inc.id,
            page_id=page_id,
            person=person,
            method=method,
            notify_type=notify_type,
            not_before=wait,
            due_by=due_by,
            note="; ".join(notes),
        )
        for method in methods
    ]


def channel_message(
    inc: Incident,
    destination: str,
    *,
    event_key: str,
    kind: str,
    title: str,
    body: str,
    not_before: datetime | None = None,
    due_by: datetime | None = None,
    notify_type: str = "info",
    page_id: int | None = None,
    note: str = "",
) -> Message:
    return Message(
        event_key=event_key,
        destination=destination,
        kind=kind,
        title=title,
        body=body,
        incident_id=inc.id,
        page_id=page_id,
        address=address_for(destination, inc),
        notify_type=notify_type,
        not_before=not_before,
        due_by=due_by,
        note=note,
    )


# --- pages ----------------------------------------------------------------------------------


def channel_of(policy: Policy, target: str, reached: str) -> str:
    """A channel target's destination is its `ref` (the name contact points use), whatever the engine printed."""
    spec = policy.targets.get(target)
    return spec.ref if spec is not None and spec.via == "channel" and spec.ref else reached


def page_event_key(page: Page) -> str:
    """At most one page per person per incident per tier (and round): two targets that reach the
    same person in one tier are one page."""
    who = page.person or page.channel or f"target:{page.target}"
    if page.kind == "page" and page.tier is not None:
        return f"page:{page.incident_id}:t{page.tier}:r{page.round}:{who}"
    return f"{page.kind}:{page.incident_id}:{page.id}"


def enqueue_page(
    session: Session, policy: Policy, page: Page, now: datetime, settings: NotifySettings | None = None
) -> list[int]:
    """Turn one Page row into outbox rows by the person's methods and rules; link the page to them."""
    settings = settings or current()
    inc = session.get(Incident, page.incident_id)
    if inc is None:
        return []
    key = page_event_key(page)
    base = acklinks.base_url(settings.public_url)
    title, body = render.page(policy, inc, render.context(session, policy, inc, now), page.reason, base)
    spec = policy.targets.get(page.target)
    asked = list(page.methods) or (list(spec.methods) if spec else []) or ["page"]
    kind = "page" if page.kind == "page" else "escalation"
    if page.person:
        messages = person_messages(
            session,
            policy,
            inc,
            page.person,
            asked,
            event_key=key,
            kind=kind,
            title=title,
            body=body,
            now=now,
            page_id=page.id,
            notify_type=_type(policy, inc),
            ack_link=base,
        )
    elif page.channel:
        messages = [
            channel_message(
                inc,
                channel_of(policy, page.target, page.channel),
                event_key=key,
                kind=kind,
                title=title,
                body=body,
                page_id=page.id,
                notify_type=_type(policy, inc),
            )
        ]
    else:
        messages = [
            channel_message(
                inc,
                f"target:{page.target}",
                event_key=key,
                kind=kind,
                title=title,
                body=body,
                page_id=page.id,
                note=f"{page.target} reached nobody",
                notify_type=_type(policy, inc),
            )
        ]
    created = enqueue(session, messages, now, settings)
    link_page(session, page, key, now)
    return created


NEW_PAGES = "warroom.notify.new_pages"
RETRIED = "warroom.notify.retried"
"""in a session's info: the caller redoes the whole transaction one piece at a time if it fails (the
engine's chunks), so routing needs no savepoint of its own and lets its errors out"""


@event.listens_for(Session, "transient_to_pending")
def _page_added(session: Session, instance: object) -> None:
    """Note that this transaction recorded a page, so routing hands pages over only when there are some."""
    if isinstance(instance, Page):
        session.info[NEW_PAGES] = True


def catch_up_pages(
    session: Session,
    policy: Policy,
    now: datetime,
    settings: NotifySettings | None = None,
    incident_ids: Iterable[str] | None = None,
    limit: int = 200,
) -> int:
    """Every page still `pending` with no outbox rows gets them: nothing is lost before the hook runs."""
    stmt = select(Page).where(
        Page.delivery == "pending",
        ~exists().where(PageLink.page_id == Page.id),
    )
    if incident_ids is not None:
        ids = list(incident_ids)
        if not ids:
            return 0
        stmt = stmt.where(Page.incident_id.in_(ids))
    pages = list(session.scalars(stmt.order_by(Page.id).limit(limit)))
    for page in pages:
        enqueue_page(session, policy, page, now, settings)
    return len(pages)


# --- the notification matrix ----------------------------------------------------------------


def _timing(policy: Policy, sev: Severity, rule: NotifyRule, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(not before, due by) for a matrix row."""
    if rule.timing == "business_hours":
        opens = policy.business_calendar().next_business_open(now)
        return (opens if opens > now else None), None
    if rule.timing == "within_ack_sla" and sev.sla.ack is not None:
        return None, policy.business_calendar().deadline(now, sev.sla.ack)
    return None, None


def on_declared(
    session: Session,
    policy: Policy,
    inc: Incident,
    now: datetime,
    settings: NotifySettings | None = None,
    *,
    raised_from: str | None = None,
    event_key: str | None = None,
) -> list[int]:
    """Enqueue the severity's notification matrix: who is told, where, how and when.

    Also run when the severity is raised (`raised_from`): the new severity's matrix applies; people
    already paged at tier 1 are not paged again, channels hear of the change.
    """
    settings = settings or current()
    key = event_key or f"declared:{inc.id}"
    what = (
        f"Raised {raised_from} → {inc.severity} at {hhmm_utc(now)}"
        if raised_from
        else f"Declared {hhmm_utc(inc.declared_at)}"
    )
    sev = policy.severity(inc.severity)
    if not sev.notify:
        return []
    base = acklinks.base_url(settings.public_url)
    # One per transaction: a pass declaring 20 incidents looked up the same schedules for each of them.
    directory: Directory = session.info.setdefault(DIRECTORY, Directory(remember=True))
    created: list[int] = []
    notify_type = _type(policy, inc)
    # Read once for every rule's texts: on PostgreSQL each of the incident's tables it reads is a round trip, and
    # the matrix's messages change none of them. The page's text is the same for every rule.
    view = render.context(session, policy, inc, now)
    ptitle, pbody = render.page(policy, inc, view, f"{what}: the notification matrix tells you now", base)
    for rule in sev.notify:
        not_before, due_by = _timing(policy, sev, rule, now)
        person_asked = [m for m in rule.methods if not (m == "chat" and rule.channels)]
        paging = any(m in PAGING_METHODS for m in person_asked)
        told: list[str] = []
        messages: list[Message] = []
        for target in rule.who:
            reached: Reached = directory.reach(session, policy, target, now)
            if reached.person:
                told.append(reached.person)
                if not person_asked:
                    continue
                pkey = f"page:{inc.id}:t1:r0:{reached.person}" if paging else f"notify:{inc.id}:{reached.person}"
                messages += person_messages(
                    session,
                    policy,
                    inc,
                    reached.person,
                    person_asked,
                    event_key=pkey,
                    kind="page" if paging else "notify",
                    title=ptitle,
                    body=pbody,
                    now=now,
                    any_method=rule.any_method,
                    not_before=not_before,
                    due_by=due_by,
                    notify_type=notify_type,
                    ack_link=base if paging else None,
                )
            elif reached.channel:
                destination = channel_of(policy, target, reached.channel)
                told.append(destination)
                messages.append(
                    channel_message(
                        inc,
                        destination,
                        event_key=key,
                        kind="declared",
                        title=ptitle,
                        body=pbody,
                        not_before=not_before,
                        due_by=due_by,
                        notify_type=notify_type,
                    )
                )
            else:
                told.append(f"{target} (nobody: {reached.note})")
        if rule.channels:
            title, body = render.declared(policy, inc, view, told, base, raised_from)
            for ch in rule.channels:
                messages.append(
                    channel_message(
                        inc,
                        ch,
                        event_key=key,
                        kind="declared",
                        title=title,
                        body=body,
                        not_before=not_before,
                        due_by=due_by,
                        notify_type=notify_type,
                    )
                )
        created += enqueue(session, messages, now, settings)
    return created


# --- other incident events ------------------------------------------------------------------


def _posts(
    session: Session,
    inc: Incident,
    channels: list[str],
    key: str,
    kind: str,
    title: str,
    body: str,
    now: datetime,
    settings: NotifySettings,
    notify_type: str = "info",
) -> list[int]:
    messages = [
        channel_message(inc, ch, event_key=key, kind=kind, title=title, body=body, notify_type=notify_type)
        for ch in channels
    ]
    return enqueue(session, messages, now, settings)


def _chat_channels(policy: Policy, inc: Incident) -> list[str]:
    """Where the war room talks for this severity: the matrix's channels, else the internal channel."""
    return matrix_channels(policy.severity(inc.severity)) or [internal_channel(policy, inc)]


def on_acknowledged(
    session: Session, policy: Policy, inc: Incident, e: TimelineEntry, now: datetime, settings: NotifySettings
) -> list[int]:
    title, body = render.ack(session, policy, inc, now, inc.acknowledged_by or e.actor)
    return _posts(session, inc, _chat_channels(policy, inc), f"ack:{inc.id}:{e.id}", "ack", title, body, now, settings)


def on_resolved(
    session: Session, policy: Policy, inc: Incident, e: TimelineEntry, now: datetime, settings: NotifySettings
) -> list[int]:
    title, body = render.resolution(session, policy, inc, now)
    return _posts(
        session,
        inc,
        _chat_channels(policy, inc),
        f"resolved:{inc.id}:{e.id}",
        "resolved",
        title,
        body,
        now,
        settings,
        "success",
    )


def on_update(
    session: Session, policy: Policy, inc: Incident, e: TimelineEntry, now: datetime, settings: NotifySettings
) -> list[int]:
    """A posted update goes to its audience's channel (the policy's cadence channel)."""
    audience = str(e.data.get("audience", ""))
    number = int(e.data.get("number", 0) or 0)
    sev = policy.severity(inc.severity)
    cadence = sev.cadence.get(audience)  # type: ignore[call-overload]
    if cadence is not None and cadence.channel:
        channel = cadence.channel
    elif audience == "internal":
        channel = WAR_ROOM
    elif audience == "external":
        channel = STATUS_PAGE
    else:
        return []
    if audience == "external" and sev.status_page.post == "never":
        return []
    row = session.scalar(
        select(Update).where(Update.incident_id == inc.id, Update.audience == audience, Update.number == number)
    )
    text = row.text if row is not None else e.what
    if e.data.get("draft") == "customer_email":
        return []  # a customer e-mail is recorded as an external update too; it goes to customers, not the status page
    title, body = render.update(inc, audience, number, text)
    return _posts(session, inc, [channel], f"update:{inc.id}:{audience}:{number}", "update", title, body, now, settings)


REMINDERS = frozenset({"reminder", "action_item_reminder", "postmortem_reminder", "postmortem_publish_due"})
"""timeline entries that remind the people in their `data.to`: a cadence's commander and scribe, an overdue
action item's owner, a postmortem's commander before and at its deadline and when it must be published"""


def on_reminder(
    session: Session, policy: Policy, inc: Incident, e: TimelineEntry, now: datetime, settings: NotifySettings
) -> list[int]:
    """Reminders reach the people they name themselves (chat, else e-mail, else anything): a cadence's the
    commander and scribe, an overdue action item's its owner."""
    people = [str(p) for p in e.data.get("to", []) if p]
    title, body = render.reminder(inc, e.what, e.outcome)
    messages: list[Message] = []
    for person in people:
        messages += person_messages(
            session,
            policy,
            inc,
            person,
            ["chat", "email"],
            any_method=True,
            event_key=f"reminder:{inc.id}:{e.id}",
            kind="reminder",
            title=title,
            body=body,
            now=now,
        )
    return enqueue(session, messages, now, settings)


def on_breach(
    session: Session, policy: Policy, inc: Incident, e: TimelineEntry, now: datetime, settings: NotifySettings
) -> list[int]:
    title, body = render.reminder(inc, e.what, e.outcome)
    return _posts(
        session,
        inc,
        [internal_channel(policy, inc)],
        f"breach:{inc.id}:{e.id}",
        "sla_breach",
        title,
        body,
        now,
        settings,
        "warning",
    )


def on_entries(
    session: Session,
    policy: Policy,
    entries: list[TimelineEntry],
    now: datetime,
    settings: NotifySettings | None = None,
) -> None:
    """The hook: called in the transaction of every incident change (and engine firing) with its new
    timeline entries. Enqueues what they call for and hands new pages over; never blocks the change.
    Each entry is routed once per transaction, however many times the hook is called with it."""
    # By identity, holding each entry: a routed entry that was let go could lend its id() to a new one.
    done: dict[int, TimelineEntry] = session.info.setdefault(ROUTED, {})
    entries = [e for e in entries if done.get(id(e)) is not e]
    if not entries:
        return
    done.update((id(e), e) for e in entries)
    settings = settings or current()
    guarded(session, lambda: _route(session, policy, entries, now, settings))


def guarded(session: Session, work: Callable[[], None]) -> None:
    """Run routing work without ever blocking the change it reacts to: in a savepoint whose failure is
    logged (pages are caught up by the delivery loop), unless the caller redoes the whole transaction
    one piece at a time on failure (the engine's chunks) or the tests want failures loud."""
    retried = bool(session.info.get(RETRIED))
    try:
        with nullcontext() if retried else session.begin_nested():
            session.flush()  # the entries' ids name their messages
            work()
    except Exception:
        if STRICT or retried:
            raise
        log.exception("routing notifications failed; pages are caught up by the delivery loop")


def _raised(policy: Policy, e: TimelineEntry) -> bool:
    old, new = e.data.get("from"), e.data.get("to")
    try:
        return bool(old and new) and policy.rank(str(new)) < policy.rank(str(old))
    except ValueError:
        return False


def _route(
    session: Session, policy: Policy, entries: list[TimelineEntry], now: datetime, settings: NotifySettings
) -> None:
    touched: dict[str, Incident] = {}
    declared = {e.incident_id for e in entries if e.kind == "declared"}
    for e in entries:
        inc = touched.get(e.incident_id) or session.get(Incident, e.incident_id)
        if inc is None:
            continue
        touched[inc.id] = inc
        if e.kind == "declared":
            on_declared(session, policy, inc, now, settings)
        elif e.kind == "severity_changed" and inc.id not in declared and _raised(policy, e):
            on_declared(
                session,
                policy,
                inc,
                now,
                settings,
                raised_from=str(e.data.get("from")),
                event_key=f"raised:{inc.id}:{e.id}",
            )
        elif e.kind == "acknowledged":
            on_acknowledged(session, policy, inc, e, now, settings)
        elif e.kind == "update":
            on_update(session, policy, inc, e, now, settings)
        elif e.kind in REMINDERS:
            on_reminder(session, policy, inc, e, now, settings)
        elif e.kind == "sla_breach":
            on_breach(session, policy, inc, e, now, settings)
        elif e.kind == "resolved":
            on_resolved(session, policy, inc, e, now, settings)
    if session.info.pop(NEW_PAGES, False):
        catch_up_pages(session, policy, now, settings, incident_ids=list(touched))


def queued_for(session: Session, incident_id: str) -> list[Outbox]:
    return list(session.scalars(select(Outbox).where(Outbox.incident_id == incident_id).order_by(Outbox.id)))
