"""The public page and its JSON, rendered once per change and served from memory.

Rebuilt when something public changed: in this process the unit of work's `changed` signal marks the
copy stale at once; other processes' changes are seen by a version check against the database at most
every `poll_seconds`. While the database is away the last copy keeps being served.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime
from typing import Any

import orjson

from warroom.statuspage import feeds, pages, snapshot, v2
from warroom.statuspage.settings import StatusSettings
from warroom.statuspage.snapshot import Snapshot
from warroom.store.unit import Context, changed

log = logging.getLogger("warroom.statuspage")
JSON = "application/json"
HTML = "text/html; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str
    last_modified: str
    gzipped: bytes | None = None
    """the body compressed once at build time, for clients that accept gzip (most of them)"""
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)
    """its answers' headers, made the first time each kind is asked for (api/status.py)"""


@dataclass
class Built:
    snapshot: Snapshot
    files: dict[str, Rendered]
    name: str
    url: str
    history_days: int
    stories: dict[str, Rendered] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def story(self, code: str) -> Rendered | None:
        """One incident's or window's page, rendered the first time it is asked for in this copy."""
        hit = self.stories.get(code)
        if hit is not None:
            return hit
        item = next((i for i in self.snapshot.incidents if i.code == code), None) or next(
            (m for m in self.snapshot.maintenances if m.code == code), None
        )
        if item is None:
            return None
        with self.lock:
            out = self.stories[code] = _rendered(
                pages.story(self.snapshot, self.name, self.url, item), HTML, self.snapshot
            )
        return out


def _rendered(body: bytes, content_type: str, s: Snapshot) -> Rendered:
    etag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
    packed = gzip.compress(body, compresslevel=6, mtime=0) if len(body) > 1024 else None
    return Rendered(body, content_type, etag, format_datetime(s.updated_at, usegmt=True), packed)


def public_url(ctx_url: str | None, settings: StatusSettings) -> str:
    if settings.url:
        return settings.url.rstrip("/")
    return (ctx_url or "http://127.0.0.1:8080").rstrip("/") + "/status"


def build(ctx: Context, settings: StatusSettings, base_url: str | None = None) -> Built:
    """Read the public snapshot and render every main page, document and feed."""
    now = ctx.clock.now()
    with ctx.db.read() as session:
        s = snapshot.load(session, now)
    name, url = settings.name, public_url(base_url, settings)
    files: dict[str, Rendered] = {}
    for path, doc in v2.documents(s, name, url).items():
        files[f"/status/api/v2/{path}"] = _rendered(orjson.dumps(doc), JSON, s)
    atom, rss = feeds.build(s, name, url)
    files["/status/history.atom"] = _rendered(atom, ATOM, s)
    files["/status/history.rss"] = _rendered(rss, RSS, s)
    files["/status"] = _rendered(pages.index(s, name, url, settings.history_days, settings.public_webhooks), HTML, s)
    return Built(s, files, name, url, settings.history_days)


class StatusCache:
    """One process's copy. `current()` is what a request reads; `refresh()` runs off the event loop."""

    def __init__(self, ctx: Context, settings: StatusSettings | None = None, base_url: str | None = None) -> None:
        self.ctx = ctx
        self.settings = settings or StatusSettings()
        self.base_url = base_url
        self.built: Built | None = None
        self.stale = True
        self.checked = 0.0
        self.refreshing = threading.Lock()
        self.error: str | None = None
        changed.connect(self.mark_stale)

    def close(self) -> None:
        changed.disconnect(self.mark_stale)

    def mark_stale(self) -> None:
        self.stale = True

    def due(self) -> bool:
        """Whether a request should check the database before answering."""
        if self.built is None or self.stale:
            return True
        b = self.built.snapshot
        if b.valid_until is not None and self.ctx.clock.now() >= b.valid_until:
            return True
        return time.monotonic() - self.checked >= self.settings.poll_seconds

    def refresh(self) -> Built | None:
        """Check the version (and the clock, for maintenance windows); rebuild if either moved. (The engine writes
        a window's steps down at its times; the copy follows the clock, so it is right at that moment either way.)"""
        with self.refreshing:
            if not self.due():
                return self.built
            self.stale = False
            self.checked = time.monotonic()
            try:
                b = self.built
                with self.ctx.db.read() as session:
                    version = snapshot.version(session)
                timed = (
                    b is not None
                    and b.snapshot.valid_until is not None
                    and (self.ctx.clock.now() >= b.snapshot.valid_until)
                )
                if b is None or version != b.snapshot.version or timed:
                    self.built = build(self.ctx, self.settings, self.base_url)
                self.error = None
            except Exception as exc:  # the database is away: keep serving the last copy
                self.error = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
                log.warning("the status page could not be refreshed; serving the last copy: %s", self.error)
            return self.built
