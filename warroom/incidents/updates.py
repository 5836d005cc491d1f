"""Updates per audience and free timeline entries (corrections refer to what they correct)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain.errors import Conflict, Invalid
from warroom.domain.lifecycle import Status
from warroom.domain.text import clean_text
from warroom.incidents.record import TEXT_LIMIT, actor, entry, load, responded
from warroom.incidents.schemas import (
    TimelineView,
    UpdateView,
)
from warroom.policy.model import Policy
from warroom.store.models import (
    Incident,
    TimelineEntry,
    Update,
)
from warroom.store.unit import Context, run


def check_external(policy: Policy, inc: Incident) -> None:
    """External posts follow the severity's own rule: `status_page.post` and `external.requires` (NovaVMS:
    never post speculation, so impact must be confirmed first; nself posts on detection)."""
    sev = policy.severity(inc.severity)
    if sev.status_page.post == "never":
        raise Conflict(f"the {policy.name} policy posts nothing externally for {inc.severity}")
    missing = sev.external_blocked_by(inc.flags)
    if missing == ["impact_confirmed"]:
        raise Conflict(
            f"{inc.id} has no confirmed impact; external updates are refused until it is confirmed "
            "(set the impact_confirmed flag) — never post speculation externally"
        )
    if missing:
        raise Conflict(
            f"{inc.id}: the {policy.name} policy posts externally for {inc.severity} only once "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} set"
        )


def post_update(
    ctx: Context,
    incident_id: str,
    audience: str,
    text: str,
    by: str,
    next_step: str = "",
    *,
    draft: str | None = None,
    subject: str | None = None,
) -> UpdateView:
    """Record an update, numbered per audience; `draft` names the template it was posted from (its
    subscribers act on it: a customer_email draft is e-mailed to customers)."""

    def apply(session: Session, now: datetime) -> UpdateView:
        who = actor(by)
        body = clean_text("text", text, limit=TEXT_LIMIT, multiline=True)
        nxt = clean_text("next", next_step, limit=TEXT_LIMIT, required=False)
        if audience not in ("internal", "external", "executive"):
            raise Invalid("audience must be internal, external or executive", field="audience")
        inc = load(session, incident_id, lock=True)
        if inc.status == Status.CLOSED.value:
            raise Conflict(f"{inc.id} is closed; its record is final")
        if audience == "external":
            check_external(ctx.policy, inc)
        responded(inc, now)
        number = (
            session.scalar(
                select(func.max(Update.number)).where(Update.incident_id == inc.id, Update.audience == audience)
            )
            or 0
        ) + 1
        row = Update(incident_id=inc.id, audience=audience, number=number, text=body, next_step=nxt, by=who, at=now)
        session.add(row)
        entry(
            session,
            inc,
            now,
            who,
            "update",
            f"{audience.capitalize()} update #{number}: {body}",
            nxt,
            {"audience": audience, "number": number, **({"draft": draft, "subject": subject} if draft else {})},
        )
        session.flush()
        return UpdateView.model_validate(row)

    return run(ctx, apply, incident_id)


def log(
    ctx: Context, incident_id: str, what: str, by: str, outcome: str = "", corrects: int | None = None
) -> TimelineView:
    def apply(session: Session, now: datetime) -> TimelineView:
        who = actor(by)
        text = clean_text("what", what, limit=TEXT_LIMIT, multiline=True)
        result = clean_text("outcome", outcome, limit=TEXT_LIMIT, required=False, multiline=True)
        inc = load(session, incident_id, lock=True)
        if corrects is not None:
            old = session.get(TimelineEntry, corrects)
            if old is None or old.incident_id != inc.id:
                raise Invalid(f"{inc.id} has no timeline entry {corrects} to correct", field="corrects")
        if inc.status != Status.CLOSED.value:
            responded(inc, now)
        row = entry(session, inc, now, who, "correction" if corrects else "note", text, result, corrects=corrects)
        session.flush()
        return TimelineView.model_validate(row)

    return run(ctx, apply, incident_id)
