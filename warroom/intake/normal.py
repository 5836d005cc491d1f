"""The one shape every sender's alert is normalised into, and the strict readers the parsers share.

Parsers read payloads by hand rather than through pydantic models: an alert storm is mostly
parsing, and a hand reader names the exact field (`alerts.3.labels.severity`) in its refusal.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warroom.domain import text as txt
from warroom.domain.inputs import EARLIEST, INT_MAX, SENDER_LATEST

SUMMARY_LIMIT = 1000
FINGERPRINT_LIMIT = 255
LABEL_NAME_LIMIT = 200
LABEL_VALUE_LIMIT = 2000
LABELS_LIMIT = 200
LINKS_LIMIT = 50
SERVICE_LABELS = ("service", "service_name", "app", "application", "component", "job")
"""Label names that carry the affected service, in order of preference."""


class PayloadError(ValueError):
    """A payload that does not have the sender's shape; `field` is the dotted path of the culprit."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


@dataclass(slots=True)
class Incoming:
    """One alert event, whatever sent it."""

    source: str
    fingerprint: str
    status: str
    """firing | resolved | acknowledged (PagerDuty only: updates an open alert, never opens one)"""
    summary: str
    service: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    severity_hint: str | None = None
    description: str = ""
    metric: str | None = None
    value: float | None = None
    threshold: str | None = None
    users: int | None = None
    links: list[dict[str, str]] = field(default_factory=list)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    raw: dict[str, Any] | bytes = field(default_factory=dict)
    """the sender's payload for this alert: decoded, or its JSON text as sent (`parsers.alertmanager.fast`)"""

    @property
    def key(self) -> str:
        return f"{self.source}:{self.fingerprint}"


# --- readers ------------------------------------------------------------------------------------


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(path, f"must be a JSON object, not {_kind(value)}")
    return value


def array(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PayloadError(path, f"must be a JSON array, not {_kind(value)}")
    return value


def string(d: dict[str, Any], key: str, path: str, *, required: bool = False, limit: int | None = None) -> str | None:
    value = d.get(key)
    where = f"{path}.{key}" if path else key
    if value is None or value == "":
        if required:
            raise PayloadError(where, "is required")
        return None
    if not isinstance(value, str):
        raise PayloadError(where, f"must be a string, not {_kind(value)}")
    if limit is not None and len(value) > limit:
        raise PayloadError(where, f"is {len(value)} characters long; the limit is {limit}")
    return value


def scalar_text(d: dict[str, Any], key: str, path: str) -> str | None:
    """A string, or a number written as one (senders disagree on which)."""
    value = d.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PayloadError(f"{path}.{key}" if path else key, f"must be a string or a number, not {_kind(value)}")
    return str(value)


def labels(value: Any, path: str, *, coerce: bool = False) -> dict[str, str]:
    """A flat map of strings; `coerce` also takes numbers and booleans (written as text).

    The map may be the decoded one itself: callers copy it before changing it.
    """
    if value is None:
        return {}
    d = obj(value, path)
    if len(d) > LABELS_LIMIT:
        raise PayloadError(path, f"has {len(d)} entries; the limit is {LABELS_LIMIT}")
    for k, v in d.items():  # the usual case first: every value text, nothing too long
        if type(v) is not str or len(v) > LABEL_VALUE_LIMIT or len(k) > LABEL_NAME_LIMIT:
            break
    else:
        return d
    out: dict[str, str] = {}
    for k, v in d.items():
        if len(k) > LABEL_NAME_LIMIT:
            raise PayloadError(f"{path}.{k[:40]}…", f"label name is longer than {LABEL_NAME_LIMIT} characters")
        if not isinstance(v, str):
            if coerce and isinstance(v, bool | int | float):
                v = str(v).lower() if isinstance(v, bool) else str(v)
            else:
                raise PayloadError(f"{path}.{k}", f"must be a string, not {_kind(v)}")
        if len(v) > LABEL_VALUE_LIMIT:
            raise PayloadError(f"{path}.{k}", f"is {len(v)} characters long; the limit is {LABEL_VALUE_LIMIT}")
        out[k] = v
    return out


def timestamp(d: dict[str, Any], key: str, path: str) -> datetime | None:
    """RFC 3339 text or epoch (seconds or milliseconds); Go's zero time means 'not set'."""
    value = d.get(key)
    where = f"{path}.{key}" if path else key
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError(where, "must be a timestamp, not a boolean")
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        if number > 1e11:
            number /= 1000
        try:
            return _in_range(datetime.fromtimestamp(number, UTC), where)
        except (OverflowError, OSError, ValueError):
            raise PayloadError(where, f"{str(value)[:40]} is not a usable epoch time") from None
    if not isinstance(value, str):
        raise PayloadError(where, f"must be an RFC 3339 timestamp, not {_kind(value)}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(where, f"'{value[:60]}' is not an RFC 3339 timestamp") from None
    if parsed.tzinfo is None:
        raise PayloadError(where, f"'{value[:60]}' has no time zone; add Z for UTC")
    if parsed.year <= 1:
        return None
    try:
        return _in_range(parsed.astimezone(UTC), where)
    except OverflowError:
        raise PayloadError(where, f"'{value[:60]}' is not a usable time") from None


def _in_range(when: datetime, where: str) -> datetime:
    if not EARLIEST <= when < SENDER_LATEST:
        raise PayloadError(where, f"{when:%Y-%m-%d} is outside {EARLIEST:%Y-%m-%d} .. {SENDER_LATEST:%Y-%m-%d}")
    return when


def number(value: Any, where: str) -> float | None:
    """12, 12.5, '12', '12%' → float; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise PayloadError(where, "must be a number, not a boolean")
    if isinstance(value, int | float):
        try:
            found = float(value)
        except OverflowError:
            raise PayloadError(where, "is too large a number") from None
    elif isinstance(value, str):
        text = value.strip().rstrip("%").strip()
        try:
            found = float(text)
        except ValueError:
            raise PayloadError(where, f"'{value[:40]}' is not a number") from None
    else:
        raise PayloadError(where, f"must be a number, not {_kind(value)}")
    if not math.isfinite(found):
        raise PayloadError(where, f"'{str(value)[:40]}' is not a finite number")
    return found


def count(value: Any, where: str) -> int | None:
    n = number(value, where)
    if n is None:
        return None
    if n < 0 or n != int(n):
        raise PayloadError(where, "must be a whole number of zero or more")
    if n > INT_MAX:
        raise PayloadError(where, f"must be at most {INT_MAX}")
    return int(n)


def fingerprint(value: str | None, where: str, *fallback: Any) -> str:
    """The sender's id for the alert, or a stable hash of what identifies it."""
    if value:
        if len(value) > FINGERPRINT_LIMIT:
            raise PayloadError(where, f"is {len(value)} characters long; the limit is {FINGERPRINT_LIMIT}")
        return value
    digest = hashlib.sha256(repr(fallback).encode()).hexdigest()
    return digest[:16]


def label_fingerprint(lbls: dict[str, str]) -> str:
    return hashlib.sha256("\x00".join(f"{k}={v}" for k, v in sorted(lbls.items())).encode()).hexdigest()[:16]


def service_of(lbls: dict[str, str]) -> str | None:
    for name in SERVICE_LABELS:
        value = lbls.get(name)
        if value:
            return value[:200]
    return None


def short(text: str | None) -> str:
    value = " ".join(txt.sender_text(text or "").split())
    return value if len(value) <= SUMMARY_LIMIT else value[: SUMMARY_LIMIT - 1] + "…"


def summary_text(d: dict[str, Any], key: str, path: str, *, limit: int | None = None) -> str:
    """A required one-line summary that must still show once whitespace and invisible characters are gone."""
    found = string(d, key, path, required=True, limit=limit) or ""
    if not txt.visible(txt.sender_text(found)):
        where = f"{path}.{key}" if path else key
        raise PayloadError(where, "must not be empty (whitespace and zero-width characters do not count)")
    return found


def link(href: Any, text: str = "") -> dict[str, str] | None:
    if isinstance(href, str) and href:
        return {"href": href[:2000], "text": text}
    return None


def links(*items: dict[str, str] | None) -> list[dict[str, str]]:
    return [i for i in items if i]


def status_word(value: str | None, where: str, default: str = "firing") -> str:
    if value is None:
        return default
    word = value.lower()
    if word in ("firing", "resolved"):
        return word
    raise PayloadError(where, f"must be firing or resolved, not '{value[:40]}'")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def scrub(item: Incoming) -> Incoming:
    """Clean a sender's text before it is stored (warroom.domain.text.sender_text); the raw payload stays as sent.

    Control, bidirectional-control and surrogate characters go, text becomes NFC, a summary with
    nothing visible left is replaced by one naming the alert. The usual clean alert costs three checks.
    """
    lbls = item.labels
    line = " ".join((item.fingerprint, item.summary, item.service or "", item.severity_hint or "", item.metric or "",
                     item.threshold or "", *lbls, *lbls.values()))  # fmt: skip
    if not (txt.sender_clean(line, line=True) and txt.sender_clean(item.description)):
        one = txt.sender_text
        item.fingerprint = one(item.fingerprint)[:FINGERPRINT_LIMIT] or label_fingerprint(lbls)
        item.summary = short(item.summary)
        item.description = one(item.description, multiline=True)
        item.service = one(item.service) or None if item.service else None
        item.severity_hint = one(item.severity_hint) or None if item.severity_hint else None
        item.metric = one(item.metric) or None if item.metric else None
        item.threshold = one(item.threshold) or None if item.threshold else None
        item.labels = {one(k): one(v) for k, v in lbls.items()}
        item.links = [{k: one(v) for k, v in entry.items()} for entry in item.links]
    if not txt.visible(item.summary):
        item.summary = f"{item.source} alert {item.fingerprint}"
    return item
