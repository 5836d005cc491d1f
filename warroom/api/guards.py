"""What every JSON request body passes before a route sees it, and the bounds of ids in paths and queries.

Python's JSON reader takes the last of two equal keys, NaN and 1e400, integers of any size and lone
surrogate escapes; a route would then store junk or fail on the way to the database. The guard
refuses them with a problem naming the key, the same way for every endpoint and for the webhooks.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.access.answers import problem
from warroom.domain.clock import within_calendar
from warroom.domain.inputs import INT_MAX

MAX_DEPTH = 254
"""deeper than orjson writes is refused: stored documents must serialise again"""
INT_MIN = -INT_MAX - 1
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_PATHS = ("/api/v1/chatops/",)
"""chat platforms post forms, verified (signature or token) and parsed by their own routes"""

Id = Annotated[int, Path(ge=1, le=INT_MAX, description="a row id (1 .. 2^63-1)")]
"""a row id in a path: beyond the column's range is 422, never an overflow on the way to the database"""
OptionalId = Annotated[int | None, Query(ge=1, le=INT_MAX)]


def _sane_time(value: datetime | None) -> datetime | None:
    if value is not None and not within_calendar(value if value.tzinfo else value.replace(tzinfo=UTC)):
        raise ValueError("must be a time between 1970 and 9000")
    return value


When = Annotated[datetime | None, AfterValidator(_sane_time)]
"""a time in a query: outside the years schedules and records can be computed for is 422, never an overflow"""


class BodyRefused(ValueError):
    """A body refused before parsing it into the route's model: an HTTP status, a title and the field."""

    def __init__(self, status: int, title: str, detail: str, field: str) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.field = field
        super().__init__(detail)


def is_json(content_type: str) -> bool:
    """application/json or any application/*+json, parameters such as charset allowed."""
    kind = content_type.split(";", 1)[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise BodyRefused(400, "Duplicate key", f"the key '{key[:80]}' appears twice in one object; "
                                  "send each key once", key[:200])  # fmt: skip
            seen.add(key)
    return found


def _constant(name: str) -> Any:
    raise BodyRefused(400, "Not JSON", f"{name} is not a JSON number", "body")


def duplicate_key(body: bytes) -> BodyRefused | None:
    """A duplicate key anywhere in the document, or None (also for a body that is not JSON at all)."""
    try:
        json.loads(body, object_pairs_hook=_pairs)
    except BodyRefused as exc:
        return exc
    except (ValueError, RecursionError):  # not JSON, or too deep: the caller's own reader says which
        return None
    return None


def read_json(body: bytes) -> Any:
    """Parse a request body strictly; raise BodyRefused naming the field at fault."""
    try:
        data = json.loads(body, object_pairs_hook=_pairs, parse_constant=_constant)
    except BodyRefused:
        raise
    except RecursionError:
        raise BodyRefused(400, "Nested too deep", f"the JSON nests deeper than {MAX_DEPTH} levels", "body") from None
    except UnicodeDecodeError as exc:
        raise BodyRefused(400, "Not UTF-8", f"the body is not UTF-8 text (byte {exc.start})", "body") from None
    except ValueError as exc:
        raise BodyRefused(400, "Not JSON", f"the body is not valid JSON: {exc}", "body") from None
    _check(data, "", 0)
    return data


def _check(value: Any, path: str, depth: int) -> None:
    """Lone surrogates, integers no column holds and non-finite numbers, with the dotted path of the culprit."""
    if depth > MAX_DEPTH:
        raise BodyRefused(400, "Nested too deep", f"the JSON is nested deeper than {MAX_DEPTH} levels", "body")
    if isinstance(value, str):
        _text(value, path or "body")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise BodyRefused(422, "Invalid input", f"{path or 'body'}: {value} is outside the 64-bit range",
                              path or "body")  # fmt: skip
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BodyRefused(422, "Invalid input", f"{path or 'body'}: must be a finite number", path or "body")
    elif isinstance(value, dict):
        for k, v in value.items():
            where = f"{path}.{k}" if path else k
            _text(k, where)
            _check(v, where, depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check(v, f"{path}.{i}" if path else str(i), depth + 1)


def _text(value: str, path: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = path.encode("utf-8", "replace").decode()
        raise BodyRefused(422, "Invalid input", f"{where}: contains the lone surrogate U+{ord(value[exc.start]):04X}, "
                          "which is not a character", where) from None  # fmt: skip


class JsonGuard:
    """Checks the JSON body of every API request (the webhooks check their own, see api/alerts.py).

    A body that is not JSON by its Content-Type gets 415; one with a duplicate key 400; a lone
    surrogate, an integer beyond 64 bits or a non-finite number 422 naming the field. The body,
    read once, is handed on to the route.
    """

    def __init__(self, app: ASGIApp, prefix: str = "/api/") -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in BODY_METHODS
            or not scope["path"].startswith(self.prefix)
            or scope["path"].startswith(FORM_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body.strip():
            content_type = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"content-type"), "")
            try:
                if not is_json(content_type):
                    raise BodyRefused(415, "Unsupported media type", f"send JSON with Content-Type: application/json, "
                                      f"not '{content_type[:80] or 'none'}'", "content-type")  # fmt: skip
                read_json(body)
            except BodyRefused as exc:
                await problem(exc.status, exc.title, exc.detail, field=exc.field)(scope, receive, send)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
