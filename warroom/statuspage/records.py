"""Rows shared by the status page's use cases: public codes, the version bump, component lookup."""

from __future__ import annotations

import secrets
import string
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from warroom.domain.errors import Invalid, NotFound
from warroom.store.db import insert_new
from warroom.store.status_models import StatusComponent, StatusPageState
from warroom.store.unit import changed

ALPHABET = string.ascii_lowercase + string.digits


def new_code() -> str:
    """A public id in Statuspage's shape (12 lowercase letters and digits); random, so it tells nothing."""
    return "".join(secrets.choice(ALPHABET) for _ in range(12))


def bump(session: Session, now: datetime) -> None:
    """Something public changed: every serving process's cache sees the new version and rebuilds."""
    insert_new(
        session, StatusPageState, ("id",), "id", {"id": 1, "page_id": new_code(), "version": 0, "updated_at": now}
    )
    session.execute(
        update(StatusPageState)
        .where(StatusPageState.id == 1)
        .values(version=StatusPageState.version + 1, updated_at=now)
    )
    changed.raise_after_commit(session)


def find_component(session: Session, ref: str, field: str = "component") -> StatusComponent:
    """A component by its code or its name (any case)."""
    key = ref.strip()
    row = session.scalar(select(StatusComponent).where(StatusComponent.code == key))
    if row is None:
        row = session.scalar(select(StatusComponent).where(func.lower(StatusComponent.name) == key.lower()))
    if row is None:
        raise NotFound(f"the status page has no component '{ref}'; add it with `warroom statuspage component add`")
    return row


def leaf(session: Session, ref: str, field: str) -> StatusComponent:
    row = find_component(session, ref, field)
    if row.is_group:
        raise Invalid(f"'{row.name}' is a group; name the components in it", field=field)
    return row
