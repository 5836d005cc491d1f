"""Components and their groups: what the page lists, in order, with the status an admin sets by hand."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain.errors import Conflict
from warroom.domain.text import clean_name, clean_text
from warroom.incidents.record import actor
from warroom.statuspage import vocab
from warroom.statuspage.records import bump, find_component, new_code
from warroom.statuspage.schemas import ComponentChange, ComponentRequest, ComponentView
from warroom.store.status_models import StatusComponent
from warroom.store.unit import Context, run


def _next_position(session: Session) -> int:
    return int(session.scalar(select(func.max(StatusComponent.position))) or 0) + 1


def add_component(ctx: Context, req: ComponentRequest) -> ComponentView:
    """A new component (its group is made too when it does not exist yet)."""

    def apply(session: Session, now: datetime) -> ComponentView:
        actor(req.by)
        name = clean_name("name", req.name, limit=120)
        description = clean_text("description", req.description, limit=2000, required=False, multiline=True)
        if session.scalar(select(StatusComponent).where(func.lower(StatusComponent.name) == name.lower())):
            raise Conflict(f"the status page already has a component named '{name}'")
        group_code = None
        if req.group:
            gname = clean_name("group", req.group, limit=120)
            group = session.scalar(select(StatusComponent).where(func.lower(StatusComponent.name) == gname.lower()))
            if group is None:
                group = StatusComponent(
                    code=new_code(),
                    name=gname,
                    description="",
                    is_group=True,
                    position=_next_position(session),
                    status="operational",
                    created_at=now,
                    updated_at=now,
                )
                session.add(group)
                session.flush()
            elif not group.is_group:
                raise Conflict(f"'{group.name}' is a component, not a group")
            group_code = group.code
        row = StatusComponent(
            code=new_code(),
            name=name,
            description=description,
            is_group=False,
            group_code=group_code,
            position=req.position if req.position is not None else _next_position(session),
            status="operational",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        bump(session, now)
        return ComponentView.model_validate(row)

    return run(ctx, apply)


def change_component(ctx: Context, ref: str, req: ComponentChange) -> ComponentView:
    """Describe, reorder or set the status of a component by hand (incidents still count on top)."""

    def apply(session: Session, now: datetime) -> ComponentView:
        actor(req.by)
        row = find_component(session, ref)
        if req.description is not None:
            row.description = clean_text("description", req.description, limit=2000, required=False, multiline=True)
        if req.position is not None:
            row.position = req.position
        if req.status is not None:
            if row.is_group:
                raise Conflict(f"'{row.name}' is a group; its status is the worst of its components")
            row.status = vocab.component_status(req.status)
        row.updated_at = now
        bump(session, now)
        return ComponentView.model_validate(row)

    return run(ctx, apply)


def list_components(ctx: Context) -> list[ComponentView]:
    with ctx.db.read() as session:
        rows = session.scalars(select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id))
        return [ComponentView.model_validate(r) for r in rows]
