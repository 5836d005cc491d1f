"""Live pages: one stream of "this incident changed" events per browser, fed by every process's commits.

Each server process has one watcher. It is woken by the unit of work's `changed` signal when this
process commits, and otherwise looks at the newest timeline entry every second, which is how a
change committed by another replica, a worker or the CLI reaches the pages this process serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Query, Request
from sse_starlette.sse import EventSourceResponse

from warroom.incidents import service
from warroom.store import memo as cache
from warroom.store import unit
from warroom.store.memo import PageCache
from warroom.store.unit import Context

router = APIRouter(tags=["live"])
POLL_SECONDS = 1.0


class Watcher:
    """Publishes the incidents that changed since the last look to every open stream of this process."""

    def __init__(self, ctx: Context, page_cache: PageCache) -> None:
        self.ctx = ctx
        self.page_cache = page_cache
        self.streams: set[asyncio.Queue[list[str]]] = set()
        self._nudge: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    def subscribe(self) -> asyncio.Queue[list[str]]:
        if self._task is None or self._task.done():
            self._loop = asyncio.get_running_loop()
            self._nudge = asyncio.Event()
            unit.changed.connect(self._committed)
            self._task = self._loop.create_task(self._watch())
        queue: asyncio.Queue[list[str]] = asyncio.Queue(maxsize=100)
        self.streams.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[list[str]]) -> None:
        self.streams.discard(queue)

    def _committed(self) -> None:
        """After a commit in this process (any thread): look now rather than at the next poll."""
        loop, nudge = self._loop, self._nudge
        if loop is None or nudge is None or loop.is_closed():
            unit.changed.disconnect(self._committed)  # the server that watched has stopped
            return
        loop.call_soon_threadsafe(nudge.set)

    async def _watch(self) -> None:
        assert self._nudge is not None
        last, _ = await anyio.to_thread.run_sync(service.changes_since, self.ctx, None)
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._nudge.wait(), POLL_SECONDS)
            self._nudge.clear()
            if not self.streams:
                continue
            try:
                last, changed = await anyio.to_thread.run_sync(service.changes_since, self.ctx, last)
            except Exception:  # the database may be away for a moment; pages keep what they show
                continue
            if changed:
                self.page_cache.bump()  # committed elsewhere (another process, the CLI): pages read it afresh
                for queue in list(self.streams):
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(changed)


def watcher(request: Request) -> Watcher:
    found: Watcher | None = getattr(request.app.state, "live", None)
    if found is None:
        found = request.app.state.live = Watcher(request.app.state.ctx, cache.of(request.app.state))
    return found


@router.get("/api/v1/events", response_class=EventSourceResponse)
async def events(request: Request, incident: str | None = Query(None, max_length=40)) -> EventSourceResponse:
    """Server-Sent Events: `changed` with the ids of incidents whose record changed (only `incident`'s, if given)."""
    hub = watcher(request)
    queue = hub.subscribe()
    wanted = incident.strip().upper() if incident else None

    async def stream() -> AsyncIterator[dict[str, str]]:
        try:
            yield {"event": "ready", "data": "{}"}
            while True:
                changed = await queue.get()
                if wanted is None or wanted in changed:
                    yield {"event": "changed", "data": json.dumps({"incidents": changed})}
        finally:
            hub.unsubscribe(queue)

    return EventSourceResponse(stream(), ping=15)
