"""Webhook subscribers: each public post and maintenance start POSTed as JSON in Statuspage's webhook shape,
through the notification outbox (its durable rows, retries, backoff and delivery log).

A webhook's messages go to the channel `status-webhooks`, made when the first webhook subscriber is added,
whose Apprise URL is `warroomhook://status?to={channel}`: the subscriber's URL fills `{channel}`, and this
module's Apprise plugin (`install`, wired in compose) POSTs the message body, JSON already, as it is. So a
webhook is delivered, retried, rate-limited, timed out and logged exactly like every other notification,
at least once (a receiver tells a repeat by `incident.incident_updates[0].id` or `component_update.id`).

Bodies (what each one holds is documented in the README):

- an incident post, or a maintenance start: `{"meta", "page", "incident"}`, the incident (or window) as
  `incidents.json` has it, with its updates newest first;
- a component a post changed: `{"meta", "page", "component_update", "component"}`, one per component;
- the confirmation of a webhook asked for on the public page: `{"meta", "page", "subscription_confirmation"}`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy.orm import Session

from warroom.domain.errors import Invalid
from warroom.statuspage import snapshot, v2
from warroom.statuspage.records import new_code
from warroom.statuspage.settings import page_name_and_url
from warroom.store.db import insert_new
from warroom.store.notify_models import Channel
from warroom.store.status_models import StatusSubscriber

SCHEME = "warroomhook"
CHANNEL = "status-webhooks"
URL = f"{SCHEME}://status?to={{channel}}"
RATE = 600
"""per minute to one webhook: far above what a status page posts, so the rate limit never folds JSON into a digest"""
LIMIT = 500
USER_AGENT = "warroom-statuspage-webhook"
log = logging.getLogger("apprise")  # Apprise's own logger: what is said here becomes the attempt's error text


def install() -> None:
    """Teach Apprise the `warroomhook://` scheme (once per process; the delivery loop sends through it)."""
    from apprise.decorators import notify
    from apprise.decorators.base import N_MGR

    if SCHEME not in N_MGR:
        notify(on=SCHEME, name="warroom status page webhook")(_send)  # type: ignore[no-untyped-call]


def _send(body: str, title: str, notify_type: str, meta: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
    qsd = meta.get("qsd") or {}
    target = str(qsd.get("to") or "")
    if not target.startswith(("http://", "https://")):
        log.warning("no webhook URL in this message's address")
        return False
    connect = float(qsd.get("cto") or 5)
    read = float(qsd.get("rto") or 25)
    try:
        answer = httpx.post(
            target,
            content=body.encode(),
            headers={"content-type": "application/json", "user-agent": USER_AGENT},
            timeout=httpx.Timeout(read, connect=connect),
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        log.warning("webhook %s: %s: %s", mask(target), type(exc).__name__, exc)
        return False
    if answer.status_code >= 300:
        log.warning("webhook %s answered HTTP %d: %s", mask(target), answer.status_code, answer.text[:200])
        return False
    return True


def check_url(value: str, field: str = "webhook") -> str:
    """An http(s) URL with a host, as given (whitespace around it dropped)."""
    text = value.strip()
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        raise Invalid("give the webhook's URL, such as https://example.com/hooks/status", field=field) from None
    if (
        len(text) > LIMIT
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 for ch in text)
    ):
        raise Invalid(
            f"give the webhook's URL (http or https, at most {LIMIT} characters), such as "
            "https://example.com/hooks/status",
            field=field,
        )
    return text


def mask(url: str) -> str:
    """The URL as listings show it: a password in it and the values of its query hidden (they are often tokens)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:***@" + netloc.rpartition("@")[2]
    query = "&".join(p.split("=", 1)[0] + ("=***" if "=" in p else "") for p in parts.query.split("&") if p)
    return urlunsplit(SplitResult(parts.scheme, netloc, parts.path, query, ""))


def ensure_channel(session: Session, now: datetime) -> None:
    """The destination every webhook message goes to (an admin may change its attempts or rate later)."""
    insert_new(
        session,
        Channel,
        ("name",),
        "name",
        {
            "name": CHANNEL,
            "url": URL,
            "rate_per_minute": RATE,
            "description": "status page webhook subscribers: each gets its messages at its own URL ({channel})",
            "created_at": now,
            "updated_at": now,
        },
    )


def _meta(url: str, sub: StatusSubscriber) -> dict[str, Any]:
    return {"unsubscribe": f"{url}/subscribers/unsubscribe?token={sub.unsubscribe_token}", "documentation": url}


def _page(s: snapshot.Snapshot) -> dict[str, Any]:
    return {"id": s.page_id, "status_indicator": s.indicator, "status_description": s.description}


def dumps(body: dict[str, Any]) -> str:
    return orjson.dumps(body).decode()


class Bodies:
    """What one post (or maintenance start) sends to each webhook: read once, however many subscribers."""

    def __init__(self, session: Session, now: datetime, story: str, changes: list[dict[str, str]]) -> None:
        self.url = page_name_and_url()[1]
        s = snapshot.load(session, now, days=False)
        self.page = _page(s)
        incident = next((i for i in s.incidents if i.code == story), None)
        window = next((m for m in s.maintenances if m.code == story), None)
        if incident is not None:
            self.story: dict[str, Any] | None = v2.incident(s, incident, self.url)
        elif window is not None:
            self.story = v2.maintenance(s, window, self.url)
        else:
            self.story = None
        by = s.by_code
        self.updates: dict[str, dict[str, Any]] = {}
        for c in changes:
            comp = by.get(c["code"])
            if comp is None:
                continue
            self.updates[c["code"]] = {
                "component_update": {
                    "created_at": v2.ts(now),
                    "new_status": c["new_status"],
                    "old_status": c["old_status"],
                    "id": new_code(),
                    "component_id": comp.code,
                },
                "component": {
                    "created_at": v2.ts(comp.created_at),
                    "id": comp.code,
                    "name": comp.name,
                    "status": comp.status,
                },
            }

    def incident(self, sub: StatusSubscriber) -> str | None:
        if self.story is None:
            return None
        return dumps({"meta": _meta(self.url, sub), "page": self.page, "incident": self.story})

    def component(self, sub: StatusSubscriber, code: str) -> str:
        return dumps({"meta": _meta(self.url, sub), "page": self.page, **self.updates[code]})


def confirmation(session: Session, now: datetime, sub: StatusSubscriber, token: str) -> str:
    """The first message to a webhook asked for on the public page: where to confirm it."""
    _, url = page_name_and_url()
    s = snapshot.load(session, now, days=False)
    return dumps(
        {
            "meta": _meta(url, sub),
            "page": _page(s),
            "subscription_confirmation": {
                "confirm_url": f"{url}/subscribers/confirm?token={token}",
                "components": list(sub.components),
                "text": "Someone asked for this URL to get the status page's updates. Open confirm_url and press "
                "Confirm to start them; nothing else is sent until then.",
            },
        }
    )
