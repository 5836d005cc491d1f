"""One-tap acknowledgement: a signed, single-use, expiring link in every page, acknowledging the incident
as the paged person through the same use case as every face (incidents.service.acknowledge).

A link is a row (who, which incident, until when, used when) named by a signed id: the signature keeps
anyone from making links, the row makes each one work once. Opening it only shows what a tap would do;
the tap is a POST, so a mail scanner or a chat preview that fetches the link acknowledges nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from warroom.chat.signing import sign, unsign
from warroom.domain.errors import ServiceError
from warroom.domain.view import View
from warroom.incidents import service
from warroom.settings import get_settings
from warroom.store.chat_models import AckLink
from warroom.store.models import Incident
from warroom.store.unit import Context

State = Literal["ready", "done", "taken", "used", "expired", "invalid"]


class LinkState(View):
    """What a link is now, and what the page says about it."""

    state: State
    message: str
    incident_id: str | None = None
    title: str = ""
    severity: str = ""
    status: str = ""
    person: str = ""
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    expires_at: datetime | None = None
    used_at: datetime | None = None


def base_url(public_url: str | None = None) -> str:
    """Where people open this warroom: the notify or server public URL, else the address it serves on."""
    settings = get_settings()
    found = public_url or settings.public_url or f"http://{settings.host}:{settings.port}"
    return found.rstrip("/")


def issue(session: Session, incident_id: str, person: str, now: datetime, page_id: int | None = None) -> str:
    """A new link for one page of one person (inside the page's own transaction); returns its token."""
    row = AckLink(
        incident_id=incident_id,
        person=person,
        page_id=page_id,
        created_at=now,
        expires_at=now + timedelta(hours=get_settings().ack_link_hours),
        used_at=None,
        outcome="",
    )
    session.add(row)
    session.flush()
    return sign(session, row.id)


def url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}/ack/{token}"


def _hhmm(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def _state(session: Session, row: AckLink | None, now: datetime) -> LinkState:
    if row is None:
        return LinkState(state="invalid", message="This link is not valid: it was altered, cut short, or made by "
                         "another warroom. Sign in to acknowledge.")  # fmt: skip
    inc = session.get(Incident, row.incident_id)
    known = {
        "incident_id": row.incident_id,
        "person": row.person,
        "expires_at": row.expires_at,
        "used_at": row.used_at,
        "title": inc.title if inc else "",
        "severity": inc.severity if inc else "",
        "status": inc.status if inc else "",
        "acknowledged_by": inc.acknowledged_by if inc else None,
        "acknowledged_at": inc.acknowledged_at if inc else None,
    }
    if row.used_at is not None:
        what = f" ({row.outcome})" if row.outcome else ""
        return LinkState(state="used", message=f"This link was already used at {_hhmm(row.used_at)}{what}. "
                         "Each link works once; sign in to see the incident.", **known)  # fmt: skip
    if row.expires_at <= now:
        return LinkState(state="expired", message=f"This link expired at {_hhmm(row.expires_at)}. "
                         "Sign in to acknowledge.", **known)  # fmt: skip
    if inc is not None and inc.acknowledged_at is not None:
        return LinkState(state="taken", message=f"{inc.id} was already acknowledged by {inc.acknowledged_by} "
                         f"at {_hhmm(inc.acknowledged_at)}.", **known)  # fmt: skip
    return LinkState(state="ready", message=f"Acknowledge {row.incident_id} as {row.person}?", **known)


def look(ctx: Context, token: str) -> LinkState:
    """What the link would do, changing nothing (the confirmation page)."""
    with ctx.db.read() as session:
        link_id = unsign(session, token)
        row = session.get(AckLink, link_id) if link_id is not None else None
        return _state(session, row, ctx.clock.now())


def holder(ctx: Context, token: str) -> tuple[str, str] | None:
    """(paged person, incident id) of a valid link (whom the record and the audit name), else None."""
    with ctx.db.read() as session:
        link_id = unsign(session, token)
        row = session.get(AckLink, link_id) if link_id is not None else None
        return (row.person, row.incident_id) if row is not None else None


def redeem(ctx: Context, token: str) -> LinkState:
    """Spend the link and acknowledge as its person. The link is claimed first (row lock), so two taps
    acknowledge once; a failure other than a refusal gives the link back."""
    with ctx.db.unit() as session:
        link_id = unsign(session, token)
        row = session.get(AckLink, link_id, with_for_update=True) if link_id is not None else None
        now = ctx.clock.now()
        before = _state(session, row, now)
        if row is None or before.state in ("used", "expired"):
            return before
        row.used_at, row.outcome = now, "acknowledging"
        incident_id, person, claimed = row.incident_id, row.person, row.id
    try:
        service.acknowledge(ctx, incident_id, person)
    except ServiceError as exc:
        _settle(ctx, claimed, f"not acknowledged: {exc.detail}")
        return look(ctx, token).model_copy(update={"state": "taken", "message": exc.detail})
    except Exception:
        _settle(ctx, claimed, "", release=True)
        raise
    _settle(ctx, claimed, f"acknowledged {incident_id} as {person}")
    done = look(ctx, token)
    return done.model_copy(update={"state": "done", "message": f"{incident_id} acknowledged by {person} at "
                                   f"{_hhmm(done.acknowledged_at)}. Paging has stopped."})  # fmt: skip


def _settle(ctx: Context, link_id: int, outcome: str, release: bool = False) -> None:
    with ctx.db.unit() as session:
        row = session.get(AckLink, link_id, with_for_update=True)
        if row is None:
            return
        row.outcome = outcome[:300]
        if release:
            row.used_at = None
