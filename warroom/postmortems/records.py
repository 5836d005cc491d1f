"""The postmortem as a record: started from the policy's draft, every save a new version, draft →
in review → published, and publishing through the incident's own use case (which closes it)."""

from __future__ import annotations

import difflib
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.domain.text import clean_text
from warroom.incidents import drafts, service
from warroom.incidents.record import actor, entry, load
from warroom.policy.model import Policy
from warroom.postmortems import lint
from warroom.postmortems.actions import item_views, unready
from warroom.postmortems.schemas import DiffView, PostmortemView, VersionSummary, VersionView
from warroom.store.models import Incident, RoleAssignment, TimelineEntry
from warroom.store.postmortem_models import ActionItem, Postmortem, PostmortemVersion
from warroom.store.unit import Context, run

TEXT_LIMIT = 200_000


def _row(session: Session, incident_id: str) -> Postmortem:
    pm = session.get(Postmortem, incident_id.strip().upper())
    if pm is None:
        raise NotFound(
            f"{incident_id.strip().upper()} has no stored postmortem yet; start one with "
            f"`warroom postmortem {incident_id.strip().upper()} --start`"
        )
    return pm


def _version(session: Session, incident_id: str, number: int) -> PostmortemVersion:
    v = session.scalar(
        select(PostmortemVersion).where(
            PostmortemVersion.incident_id == incident_id, PostmortemVersion.number == number
        )
    )
    if v is None:
        raise NotFound(f"{incident_id} has no postmortem version {number}", field="version")
    return v


def people(session: Session, inc: Incident) -> list[str]:
    """Everyone on the record: the names the blame check looks for."""
    names = {inc.declared_by, inc.acknowledged_by or ""}
    names |= set(session.scalars(select(RoleAssignment.person).where(RoleAssignment.incident_id == inc.id)))
    names |= set(session.scalars(select(TimelineEntry.actor).where(TimelineEntry.incident_id == inc.id).distinct()))
    return sorted(n for n in names if n)


def view(session: Session, inc: Incident, now: datetime, number: int | None = None) -> PostmortemView:
    pm = _row(session, inc.id)
    v = _version(session, inc.id, number if number is not None else pm.latest)
    versions = session.scalars(
        select(PostmortemVersion).where(PostmortemVersion.incident_id == inc.id).order_by(PostmortemVersion.number)
    )
    rows = list(session.scalars(select(ActionItem).where(ActionItem.incident_id == inc.id).order_by(ActionItem.id)))
    items = item_views(rows, now)
    warnings = lint.blame(v.text, people(session, inc)) + lint.items((f"item {i.id}", i.text) for i in rows)
    due = inc.postmortem_due_at
    left = None if due is None or pm.status == "published" else int((due - now).total_seconds())
    return PostmortemView(
        incident_id=inc.id,
        status=pm.status,
        latest=pm.latest,
        created_by=pm.created_by,
        created_at=pm.created_at,
        updated_at=pm.updated_at,
        published_at=pm.published_at,
        published_by=pm.published_by,
        published_version=pm.published_version,
        due_at=due,
        remaining_seconds=left,
        version=VersionView.model_validate(v),
        versions=[VersionSummary.model_validate(x) for x in versions],
        action_items=items,
        warnings=warnings,
    )


def _add_version(session: Session, pm: Postmortem, inc: Incident, text: str, note: str, by: str, now: datetime) -> int:
    pm.latest += 1
    pm.updated_at = now
    session.add(PostmortemVersion(incident_id=inc.id, number=pm.latest, text=text, note=note, by=by, at=now))
    entry(
        session, inc, now, by, "postmortem_saved", f"Postmortem version {pm.latest} saved", note, {"version": pm.latest}
    )
    return pm.latest


def start(ctx: Context, incident_id: str, by: str) -> PostmortemView:
    """Version 1 is the draft the policy's template makes from the record; starting twice is refused."""
    who = actor(by)
    text = drafts.draft(ctx, incident_id, "postmortem", who).text

    def apply(session: Session, now: datetime) -> PostmortemView:
        inc = load(session, incident_id, lock=True)
        if session.get(Postmortem, inc.id) is not None:
            raise Conflict(f"{inc.id} already has a postmortem; save a new version instead")
        pm = Postmortem(incident_id=inc.id, status="draft", latest=0, created_by=who, created_at=now, updated_at=now)
        session.add(pm)
        session.flush()
        _add_version(session, pm, inc, text, "drafted from the record", who, now)
        return view(session, inc, now)

    return run(ctx, apply, incident_id)


def save(ctx: Context, incident_id: str, text: str, by: str, note: str = "") -> PostmortemView:
    """A new version; the ones before it stay as they were. A published postmortem is final."""

    def apply(session: Session, now: datetime) -> PostmortemView:
        who = actor(by)
        body = clean_text("text", text, limit=TEXT_LIMIT, multiline=True)
        why = clean_text("note", note, limit=2000, required=False)
        inc = load(session, incident_id, lock=True)
        pm = _row(session, inc.id)
        if pm.status == "published":
            raise Conflict(f"{inc.id}'s postmortem was published (version {pm.published_version}); it is final")
        _add_version(session, pm, inc, body, why, who, now)
        return view(session, inc, now)

    return run(ctx, apply, incident_id)


def set_status(ctx: Context, incident_id: str, status: str, by: str) -> PostmortemView:
    """draft ⇄ in_review; publishing has its own use case (it closes the incident)."""

    def apply(session: Session, now: datetime) -> PostmortemView:
        who = actor(by)
        if status not in ("draft", "in_review"):
            raise Invalid("status must be draft or in_review; publish with its own command", field="status")
        inc = load(session, incident_id, lock=True)
        pm = _row(session, inc.id)
        if pm.status == "published":
            raise Conflict(f"{inc.id}'s postmortem is published; it is final")
        if pm.status == status:
            raise Conflict(f"{inc.id}'s postmortem is already {status.replace('_', ' ')}")
        pm.status, pm.updated_at = status, now
        what = "Postmortem sent for review" if status == "in_review" else "Postmortem back to draft"
        entry(session, inc, now, who, "postmortem_status", what, "", {"status": status, "version": pm.latest})
        return view(session, inc, now)

    return run(ctx, apply, incident_id)


def publish(ctx: Context, incident_id: str, by: str) -> PostmortemView:
    """Publish the latest version: refused unless in review and every action item has an owner and a
    due date; then the incident's complete_postmortem closes the incident, and `on_entries` marks this
    record published in that same transaction."""
    with ctx.db.unit() as session:
        inc = load(session, incident_id)
        pm = _row(session, inc.id)
        if pm.status == "published":
            raise Conflict(f"{inc.id}'s postmortem is already published")
        if pm.status != "in_review":
            raise Conflict(f"{inc.id}'s postmortem is a draft; send it for review first (status in_review)")
        check_items(session, inc.id)
        link = f"/incidents/{inc.id}/postmortem?version={pm.latest}"
    service.complete_postmortem(ctx, inc.id, by, link)
    return get(ctx, inc.id)


def check_items(session: Session, incident_id: str) -> None:
    bad = unready(session, incident_id)
    if bad:
        raise Invalid(
            f"{incident_id} cannot be published: action item{'s' if len(bad) > 1 else ''} "
            + "; ".join(bad)
            + " (give each an owner and a due date, or mark it won't do)",
            field="action_items",
        )


def on_entries(session: Session, policy: Policy, entries: list[TimelineEntry], now: datetime) -> None:
    """The subscriber: a published postmortem (however it was recorded) marks the stored one published;
    one whose action items lack an owner or a due date refuses the publication."""
    for e in entries:
        if e.kind != "postmortem_done":
            continue
        pm = session.get(Postmortem, e.incident_id)
        if pm is None:
            continue
        check_items(session, e.incident_id)
        pm.status, pm.published_at, pm.published_by = "published", now, e.actor
        pm.published_version, pm.updated_at = pm.latest, now


def get(ctx: Context, incident_id: str, version: int | None = None) -> PostmortemView:
    with ctx.db.unit() as session:
        return view(session, load(session, incident_id), ctx.clock.now(), version)


def diff(ctx: Context, incident_id: str, old: int, new: int) -> DiffView:
    """A unified diff between two saved versions."""
    with ctx.db.unit() as session:
        inc = load(session, incident_id)
        _row(session, inc.id)
        a, b = _version(session, inc.id, old), _version(session, inc.id, new)
        lines = difflib.unified_diff(
            a.text.splitlines(),
            b.text.splitlines(),
            fromfile=f"{inc.id} version {old}",
            tofile=f"{inc.id} version {new}",
            lineterm="",
        )
        return DiffView(incident_id=inc.id, old=old, new=new, diff="\n".join(lines))
