"""Action items as records: owner, due date, status, the tracker link; listed, filtered and exported.

Changes are timeline entries of their incident, so the record says who committed to what and when.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.errors import Invalid, NotFound
from warroom.domain.inputs import check_int, check_time
from warroom.domain.text import clean_name, clean_text
from warroom.incidents.record import actor, entry, load
from warroom.postmortems.schemas import ITEM_STATUSES, ActionItemView
from warroom.store.postmortem_models import ActionItem
from warroom.store.unit import Context, run

FINISHED = ("done", "wont_do")


def is_overdue(item: ActionItem, now: datetime) -> bool:
    return item.status not in FINISHED and item.due_at is not None and item.due_at < now


def next_reminder(item: ActionItem, every: timedelta | None) -> datetime | None:
    """When the owner of an unfinished, dated item is next reminded that it is overdue, or None.

    Once per due date: at the due time, unless a reminder already went after it; then again every
    `every` (the policy's `action_items.remind_every`) while the item stays open or in progress.
    Moving the due date starts a new overdue period.
    """
    if item.status in FINISHED or item.due_at is None:
        return None
    if item.reminded_at is None or item.reminded_at < item.due_at:
        return item.due_at
    return item.reminded_at + every if every is not None else None


def reminders(session: Session, incident_id: str, every: timedelta | None) -> list[tuple[ActionItem, datetime]]:
    """The incident's unfinished, dated items, each with the time of its next overdue reminder."""
    rows = session.scalars(
        select(ActionItem)
        .where(ActionItem.incident_id == incident_id, ActionItem.status.not_in(FINISHED))
        .order_by(ActionItem.id)
    )
    out = []
    for item in rows:
        at = next_reminder(item, every)
        if at is not None:
            out.append((item, at))
    return out


def overdue_item(session: Session, item_id: int, due_at: datetime, now: datetime) -> ActionItem | str:
    """The item a reminder timer names, if it is still overdue for that due date; else why not."""
    item = session.get(ActionItem, item_id, populate_existing=True)  # its changes hold the incident's lock, as we do
    if item is None:
        return f"skipped: action item {item_id} is gone"
    if item.status in FINISHED:
        return f"skipped: action item {item_id} is {item.status}"
    if item.due_at is None or item.due_at != due_at:
        return f"skipped: action item {item_id}'s due time moved"
    if item.due_at > now:
        return f"skipped: action item {item_id} is not due yet"
    return item


def mark_reminded(item: ActionItem, now: datetime) -> None:
    """The reminder went (it is in the outbox, in this transaction): the next one waits its interval."""
    item.reminded_at = now


def item_views(rows: Iterable[ActionItem], now: datetime) -> list[ActionItemView]:
    return [ActionItemView.model_validate(r).model_copy(update={"overdue": is_overdue(r, now)}) for r in rows]


def unready(session: Session, incident_id: str) -> list[str]:
    """Items that would be published without an owner or a due date (won't-do items need neither)."""
    out = []
    for item in session.scalars(
        select(ActionItem).where(ActionItem.incident_id == incident_id).order_by(ActionItem.id)
    ):
        if item.status == "wont_do":
            continue
        missing = [what for what, gone in (("an owner", not item.owner), ("a due date", item.due_at is None)) if gone]
        if missing:
            out.append(f"{item.id} ('{item.text[:60]}') has no {' and no '.join(m.split(' ', 1)[1] for m in missing)}")
    return out


def _link(value: str) -> str:
    link = clean_text("link", value, limit=2000, required=False)
    if link and not link.startswith(("http://", "https://", "/")) and " " in link:
        raise Invalid("link must be a URL or a tracker reference without spaces (OPS-12)", field="link")
    return link


def add(
    ctx: Context,
    incident_id: str,
    text: str,
    by: str,
    owner: str | None = None,
    due_at: datetime | None = None,
    link: str = "",
) -> ActionItemView:
    """A new open item; owner and due date may come later, but publishing needs both."""

    def apply(session: Session, now: datetime) -> ActionItemView:
        who = actor(by)
        what = clean_text("text", text, limit=2000)
        person = clean_name("owner", owner, limit=120) if owner and owner.strip() else None
        due = check_time("due_at", due_at, now) if due_at is not None else None
        where = _link(link)
        inc = load(session, incident_id, lock=True)
        item = ActionItem(
            incident_id=inc.id,
            text=what,
            owner=person,
            due_at=due,
            status="open",
            link=where,
            created_by=who,
            created_at=now,
            updated_by=who,
            updated_at=now,
        )
        session.add(item)
        session.flush()
        entry(
            session,
            inc,
            now,
            who,
            "action_item",
            f"Action item {item.id}: {what}",
            f"owner {person or 'none'}, " + (f"due {due:%Y-%m-%d %H:%M} UTC" if due else "no due date"),
            {"item": item.id, "owner": person, "status": "open"},
        )
        return item_views([item], now)[0]

    return run(ctx, apply, incident_id)


def _get(session: Session, item_id: int) -> ActionItem:
    check_int("item_id", item_id, low=1)
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound(f"no action item {item_id}", field="item_id")
    return item


def change(
    ctx: Context,
    item_id: int,
    by: str,
    *,
    text: str | None = None,
    owner: str | None = None,
    due_at: datetime | None = None,
    status: str | None = None,
    link: str | None = None,
) -> ActionItemView:
    """Change what is given, leave the rest; each change is on the incident's timeline."""
    with ctx.db.unit() as session:
        incident_id = _get(session, item_id).incident_id

    def apply(session: Session, now: datetime) -> ActionItemView:
        who = actor(by)
        item = _get(session, item_id)
        inc = load(session, item.incident_id, lock=True)
        changes: list[str] = []
        if text is not None:
            item.text = clean_text("text", text, limit=2000)
            changes.append("text")
        if owner is not None:
            item.owner = clean_name("owner", owner, limit=120)
            changes.append(f"owner {item.owner}")
        if due_at is not None:
            item.due_at = check_time("due_at", due_at, now)
            changes.append(f"due {item.due_at:%Y-%m-%d %H:%M} UTC")
        if status is not None:
            if status not in ITEM_STATUSES:
                raise Invalid(f"status must be one of {', '.join(ITEM_STATUSES)}", field="status")
            item.status = status
            item.done_at = now if status in FINISHED else None
            changes.append(f"status {status}")
        if link is not None:
            item.link = _link(link)
            changes.append(f"link {item.link or 'removed'}")
        if not changes:
            raise Invalid("nothing to change: give text, owner, due_at, status or link", field="status")
        item.updated_by, item.updated_at = who, now
        entry(
            session,
            inc,
            now,
            who,
            "action_item",
            f"Action item {item.id} changed: {', '.join(changes)}",
            "",
            {"item": item.id, "owner": item.owner, "status": item.status},
        )
        return item_views([item], now)[0]

    return run(ctx, apply, incident_id)


def search(
    ctx: Context,
    *,
    overdue: bool = False,
    owner: str | None = None,
    status: str | None = None,
    incident_id: str | None = None,
) -> list[ActionItemView]:
    """Items by due date (undated last); `overdue` keeps unfinished items past their due time."""
    if status is not None and status not in (*ITEM_STATUSES, "unfinished"):
        raise Invalid(f"status must be one of {', '.join(ITEM_STATUSES)} or unfinished", field="status")
    now = ctx.clock.now()
    with ctx.db.unit() as session:
        q = select(ActionItem)
        if owner:
            q = q.where(ActionItem.owner == clean_name("owner", owner, limit=120))
        if status == "unfinished" or overdue:
            q = q.where(ActionItem.status.not_in(FINISHED))
        elif status:
            q = q.where(ActionItem.status == status)
        if incident_id:
            q = q.where(ActionItem.incident_id == incident_id.strip().upper())
        if overdue:
            q = q.where(ActionItem.due_at.is_not(None), ActionItem.due_at < now)
        rows = sorted(session.scalars(q), key=lambda r: (r.due_at is None, r.due_at or now, r.id))
        return item_views(rows, now)


CSV_FIELDS = (
    "id",
    "incident_id",
    "text",
    "owner",
    "due_at",
    "status",
    "overdue",
    "link",
    "created_by",
    "created_at",
    "updated_at",
    "done_at",
    "reminded_at",
)


def to_csv(items: list[ActionItemView]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for item in items:
        row = item.model_dump(mode="json")
        writer.writerow({k: ("" if row[k] is None else row[k]) for k in CSV_FIELDS})
    return out.getvalue()


def to_json(items: list[ActionItemView]) -> str:
    return json.dumps([i.model_dump(mode="json") for i in items], indent=2)


def check_incident(ctx: Context, incident_id: str) -> str:
    with ctx.db.unit() as session:
        return load(session, incident_id).id
