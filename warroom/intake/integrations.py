"""Integrations and their secrets: one token per sender, kept only as a SHA-256 hash.

A request proves itself with the token in `?token=`, in `Authorization: Bearer`, as the
PagerDuty Events v2 `routing_key`, or (Sentry) with `Sentry-Hook-Signature`, the HMAC-SHA256
of the body under the integration's signing secret (named with `?integration=`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError

from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.intake.parsers import SOURCES
from warroom.store.db import unavailable
from warroom.store.intake_models import Integration
from warroom.store.unit import Context

TOKEN_PREFIX = "wr_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@contextmanager
def migrated() -> Iterator[None]:
    """A database without the intake tables is a sentence (run the migrations), not a traceback."""
    try:
        yield
    except DBAPIError as exc:
        if unavailable(exc) is not None:
            raise
        text = str(exc.orig).lower()
        if "no such table" in text or "does not exist" in text:
            raise Invalid("the database has no intake tables; run `warroom db upgrade` first", "database") from None
        raise


@dataclass(frozen=True)
class Known:
    """What a request needs to know about the integration that sent it."""

    id: int
    name: str
    source: str
    signing_secret: str | None


@dataclass(frozen=True)
class Created:
    name: str
    source: str
    token: str


def add(ctx: Context, source: str, name: str, by: str, signing_secret: str | None = None) -> Created:
    if source not in SOURCES:
        raise Invalid(f"unknown source '{source}'; use one of {', '.join(SOURCES)}", field="source")
    if not _NAME.match(name):
        raise Invalid("a name is 1-80 lower-case letters, digits, '.', '_' or '-'", field="name")
    if signing_secret is not None and source != "sentry":
        raise Invalid("only Sentry signs its webhooks; other senders use the token", field="signing_secret")
    token = new_token()
    with migrated(), ctx.db.unit() as session:
        if session.scalar(select(Integration.id).where(Integration.name == name)) is not None:
            raise Conflict(f"an integration named '{name}' already exists; remove it first to rotate its secret")
        session.add(
            Integration(
                name=name,
                source=source,
                token_hash=hash_token(token),
                token_hint=token[:10],
                signing_secret=signing_secret,
                created_at=ctx.clock.now(),
                created_by=by,
            )
        )
    return Created(name, source, token)


@dataclass(frozen=True)
class Listed:
    name: str
    source: str
    token_hint: str
    signed: bool
    created_at: datetime
    created_by: str


def listing(ctx: Context) -> list[Listed]:
    with migrated(), ctx.db.read() as session:
        rows = session.scalars(select(Integration).order_by(Integration.name))
        return [Listed(r.name, r.source, r.token_hint + "…", r.signing_secret is not None, r.created_at, r.created_by)
                for r in rows]  # fmt: skip


def remove(ctx: Context, name: str) -> None:
    with migrated(), ctx.db.unit() as session:
        result = session.execute(delete(Integration).where(Integration.name == name))
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound(f"no integration named '{name}'", field="name")


class Verifier:
    """Checks a request's secret; verified tokens are cached briefly so a storm costs no extra reads."""

    def __init__(self, ctx: Context, cache_seconds: float = 5.0) -> None:
        self.ctx = ctx
        self.ttl = cache_seconds
        self._cache: dict[str, tuple[float, Known]] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Known | None:
        digest = hash_token(token)
        with self._lock:
            hit = self._cache.get(digest)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        return None

    def by_token(self, token: str) -> Known | None:
        """Looks the token up (blocking: call it from a worker thread)."""
        digest = hash_token(token)
        with self.ctx.db.read() as session:
            row = session.scalars(select(Integration).where(Integration.token_hash == digest)).first()
            if row is None:
                return None
            known = Known(row.id, row.name, row.source, row.signing_secret)
        if self.ttl > 0:
            with self._lock:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = (time.monotonic() + self.ttl, known)
        return known

    def by_name(self, name: str) -> Known | None:
        with self.ctx.db.read() as session:
            row = session.scalars(select(Integration).where(Integration.name == name)).first()
            return None if row is None else Known(row.id, row.name, row.source, row.signing_secret)


def token_from(query: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return query.get("token") or None


def signature_ok(secret: str, body: bytes, signature: str) -> bool:
    """Compared as bytes: a header may hold any byte (compare_digest refuses non-ASCII text)."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest().encode()
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "surrogateescape"))


REDACTED = "[redacted]"
"""what a secret is replaced by in a stored body, a dead letter or an error message"""
SECRET_FIELDS = {"pagerduty-events-v2": ("routing_key",)}
"""top-level body fields that carry a sender's secret, by source"""


def redact(body: bytes, secrets: list[str], source: str = "") -> bytes:
    """The body with every secret, and the source's secret fields, replaced by REDACTED before it is stored.

    A JSON body is rewritten through its decoded form (so an escaped spelling of a secret goes too);
    anything else has the secrets' bytes replaced.
    """
    wanted = [s for s in secrets if s]
    fields = SECRET_FIELDS.get(source, ())
    plain = not any(s.encode() in body for s in wanted) and not any(f.encode() in body for f in fields)
    if plain and (b"\\u" not in body or not wanted):  # an escaped secret needs decoding to be seen
        return body
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        for s in wanted:
            body = body.replace(s.encode(), REDACTED.encode())
        return body

    def clean(value: Any) -> Any:
        if isinstance(value, str):
            for s in wanted:
                value = value.replace(s, REDACTED)
            return value
        if isinstance(value, dict):
            return {clean(k): clean(v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    cleaned = clean(data)
    if isinstance(cleaned, dict):
        for f in fields:
            if isinstance(cleaned.get(f), str):
                cleaned[f] = REDACTED
    out = orjson.dumps(cleaned)
    return body if out == orjson.dumps(data) and not fields else out


def redact_text(text: str, secrets: list[str]) -> str:
    """An error message with any secret, or the start of one (a message quotes 40 characters), replaced."""
    for s in secrets:
        if len(s) >= 12 and s[:12] in text:
            text = re.sub(re.escape(s[:12]) + r"\S*", REDACTED, text)
        elif s and s in text:
            text = text.replace(s, REDACTED)
    return text
