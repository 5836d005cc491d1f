"""Opaque cursors for paged lists: where the last page ended, so the next page starts right after it.

A cursor is the sort key of the last row shown (keyset paging: no OFFSET, so a page costs the same deep
in a long history as at its start, and rows added meanwhile neither repeat nor vanish), tagged with the
list it belongs to, as base64url JSON. Clients treat it as opaque; anything that does not decode to a
key of the right list and shape is refused with 422 naming `cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from warroom.domain.errors import Invalid
from warroom.domain.inputs import INT_MAX

T = TypeVar("T")
MAX_LENGTH = 400
"""a cursor is a few ids and a time; anything longer was not made here"""
MOST = 1000
"""the most rows one page of a list carries"""


@dataclass
class Page(Generic[T]):
    """One page of a list, and the cursor of the next one (None on the last page)."""

    items: list[T] = field(default_factory=list)
    next: str | None = None


def encode(kind: str, *key: int | str | datetime) -> str:
    values = [v.isoformat() if isinstance(v, datetime) else v for v in key]
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _refuse(kind: str) -> Invalid:
    return Invalid(f"cursor is not one this {kind} list gave out; start again without it", field="cursor")


def decode(kind: str, cursor: str, *shape: type) -> list[Any]:
    """The key inside `cursor`, checked against `shape` (int, str or datetime per position)."""
    if len(cursor) > MAX_LENGTH:
        raise _refuse(kind)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _refuse(kind) from None
    if not isinstance(data, list) or len(data) != len(shape) + 1 or data[0] != kind:
        raise _refuse(kind)
    out: list[Any] = []
    for value, wanted in zip(data[1:], shape, strict=True):
        if wanted is int:
            if type(value) is not int or not 0 <= value <= INT_MAX:
                raise _refuse(kind)
            out.append(value)
        elif wanted is datetime:
            try:
                at = datetime.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                at = None
            if at is None or at.tzinfo is None:
                raise _refuse(kind)
            out.append(at)
        elif isinstance(value, str) and len(value) <= 200:
            out.append(value)
        else:
            raise _refuse(kind)
    return out


def newest_first(
    kind: str, fetch: Callable[[int, int | None], Sequence[T]], limit: int, cursor: str | None, key: Callable[[T], int]
) -> tuple[list[T], str | None]:
    """A newest-first page of `limit` rows from `fetch(limit + 1, before_id)`, and the next page's cursor."""
    before = decode(kind, cursor, int)[0] if cursor else None
    rows = list(fetch(limit + 1, before))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode(kind, key(rows[-1])) if more and rows else None
