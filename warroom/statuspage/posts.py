"""Public incident posts: an external update of an incident, as the status page shows it.

A post *is* the incident's external update (`incidents.service.post_update`, audience external), so
the policy's external rules hold for it; `on_entries`, a unit-of-work subscriber, turns each external
update into a post in the same transaction. What the poster adds (status, components, public name)
rides along in `pending` for that one call, as the audit note does for the request.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.errors import Conflict, NotFound
from warroom.domain.text import clean_text
from warroom.incidents import service as incidents
from warroom.policy.model import Policy
from warroom.statuspage import subscribers, vocab
from warroom.statuspage.records import bump, leaf, new_code
from warroom.statuspage.schemas import PostView
from warroom.store.models import Incident, TimelineEntry, Update
from warroom.store.status_models import StatusComponent, StatusIncident, StatusPost
from warroom.store.unit import Context


@dataclass
class PostDetails:
    status: str | None = None
    components: dict[str, str] = field(default_factory=dict)
    title: str | None = None


pending: ContextVar[PostDetails | None] = ContextVar("warroom_status_post", default=None)
"""what the status page's own post call adds to the external update it makes"""


def post(
    ctx: Context,
    incident_id: str,
    text: str,
    by: str,
    *,
    status: str | None = None,
    components: dict[str, str] | None = None,
    title: str | None = None,
    next_step: str = "",
) -> PostView:
    """Publish a status update for an incident: its external update, with a public status and components
    (`next_step` is the update's, for the responders; the public does not read it)."""
    details = PostDetails(
        status=vocab.incident_status(status) if status else None,
        components={k: vocab.component_status(v, f"components.{k}") for k, v in (components or {}).items()},
        title=clean_text("title", title, limit=300) if title else None,
    )
    token = pending.set(details)
    try:
        update = incidents.post_update(ctx, incident_id, "external", text, by, next_step)
    finally:
        pending.reset(token)
    with ctx.db.read() as session:
        row = session.scalar(
            select(StatusPost)
            .join(Update, Update.id == StatusPost.update_id)
            .where(
                Update.incident_id == incident_id.strip().upper(),
                Update.audience == "external",
                Update.number == update.number,
            )
        )
        if row is None:
            raise Conflict(f"{incident_id}: the external update was recorded but the status page took no post from it")
        return view(session, row, update.number)


def view(session: Session, row: StatusPost, number: int) -> PostView:
    si = session.get(StatusIncident, row.status_incident_id)
    assert si is not None
    return PostView(
        incident_id=si.incident_id,
        public_id=si.code,
        post_id=row.code,
        update_number=number,
        status=row.status,
        body=row.body,
        at=row.at,
        components=list(row.components),
        url=f"/status/incidents/{si.code}",
    )


def on_entries(session: Session, policy: Policy, entries: list[TimelineEntry], now: datetime) -> None:
    """Subscriber: every external update (but a customer e-mail) becomes a post on the status page."""
    for e in entries:
        if e.kind != "update" or e.data.get("audience") != "external" or e.data.get("draft") == "customer_email":
            continue
        upd = session.scalar(
            select(Update).where(
                Update.incident_id == e.incident_id,
                Update.audience == "external",
                Update.number == e.data.get("number"),
            )
        )
        inc = session.get(Incident, e.incident_id)
        if upd is None or inc is None:
            continue
        publish(session, inc, upd, pending.get() or PostDetails(), now)


def current_components(session: Session, si: StatusIncident) -> dict[str, str]:
    """What this incident's posts say of each component now (code → status)."""
    state: dict[str, str] = {}
    for p in session.scalars(select(StatusPost).where(StatusPost.status_incident_id == si.id).order_by(StatusPost.id)):
        for c in p.components:
            state[c["code"]] = c["new_status"]
    return state


def publish(session: Session, inc: Incident, upd: Update, details: PostDetails, now: datetime) -> StatusPost:
    si = session.scalar(select(StatusIncident).where(StatusIncident.incident_id == inc.id).with_for_update())
    status = details.status or vocab.FROM_LIFECYCLE.get(inc.status, "investigating")
    if si is None:
        si = StatusIncident(
            code=new_code(),
            incident_id=inc.id,
            name=details.title or inc.title,
            status=status,
            impact="none",
            created_at=now,
            updated_at=now,
        )
        session.add(si)
        session.flush()
        before: dict[str, str] = {}
    else:
        if si.status == "resolved" and status != "resolved" and inc.status in ("resolved", "closed"):
            raise Conflict(f"{inc.id} is resolved on the status page; reopen the incident to post {status}")
        if details.title:
            si.name = details.title
        before = current_components(session, si)
    changes = []
    wanted = dict(details.components)
    if status == "resolved":
        wanted = {code: "operational" for code, s in before.items() if s != "operational"} | wanted
    for ref, new in wanted.items():
        comp: StatusComponent = leaf(session, ref, f"components.{ref}")
        old = before.get(comp.code, "operational")
        if old != new:
            changes.append({"code": comp.code, "old_status": old, "new_status": new})
    row = StatusPost(
        code=new_code(),
        status_incident_id=si.id,
        update_id=upd.id,
        status=status,
        body=upd.text,
        components=changes,
        at=now,
    )
    session.add(row)
    si.status = status
    si.updated_at = now
    if status == "monitoring" and si.monitoring_at is None:
        si.monitoring_at = now
    si.resolved_at = now if status == "resolved" else None
    si.impact = vocab.worst_impact([si.impact, *(vocab.IMPACT_OF[c["new_status"]] for c in changes)])
    session.flush()
    bump(session, now)
    codes = sorted({*before, *(c["code"] for c in changes)})
    subscribers.tell(
        session,
        f"post:{row.code}",
        f"{vocab.LABEL[status]}: {si.name}",
        row.body,
        f"/incidents/{si.code}",
        codes,
        now,
        story=si.code,
        changes=changes,
    )
    return row


def public_id(ctx: Context, incident_id: str) -> str:
    """The public id of an incident's status page story (404 before its first post)."""
    with ctx.db.read() as session:
        si = session.scalar(select(StatusIncident).where(StatusIncident.incident_id == incident_id.strip().upper()))
        if si is None:
            raise NotFound(f"{incident_id} has nothing on the status page yet", field="incident_id")
        return si.code
