"""Composition: settings, database, policy, clock and the HTTP faces in one ASGI application."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from warroom import __version__
from warroom.api import alerts as alerts_api
from warroom.api import engine as engine_api
from warroom.api import health as health_api
from warroom.api import incidents as incidents_api
from warroom.api import notifications as notifications_api
from warroom.api import problems
from warroom.compose import build_context
from warroom.engine.loop import EngineLoop
from warroom.notify import loop as notify_loop
from warroom.settings import Settings, get_settings
from warroom.store.unit import Context
from warroom.web import routes as web_routes


class BodyLimit:
    """Refuse bodies over the limit with 413 before reading them into memory."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = (
            b'{"type":"about:blank","title":"Payload too large","status":413,'
            b'"detail":"request body is larger than ' + str(self.limit).encode() + b' bytes"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/problem+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class Warroom(FastAPI):
    """The application; alert webhooks take a fast path in front of the middleware (see api/alerts.py)."""

    alert_webhooks: ASGIApp
    """the webhook handler within the body limit, set by create_app"""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        source = alerts_api.webhook_source(scope)
        if source is None:
            await super().__call__(scope, receive, send)
            return
        scope["path_params"] = {"source": source}
        await self.alert_webhooks(scope, receive, send)


def serving_app() -> FastAPI:
    """The application as `warroom serve` runs it: a long-lived process (see `serving` below)."""
    return create_app(serving=True)


def create_app(settings: Settings | None = None, context: Context | None = None, *, serving: bool = False) -> FastAPI:
    settings = settings or get_settings()
    ctx = context or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = EngineLoop(ctx, worker_id=settings.worker_id, interval=settings.engine_interval)
        app.state.engine = engine if settings.engine_enabled else None
        if settings.engine_enabled:
            engine.start()
        delivery = notify_loop.start_background(ctx, engine.worker_id) if settings.engine_enabled else None
        intake = alerts_api.intake_of(app)
        intake.writer.start()  # applies a backlog accepted before a restart, and decides held alert groups
        if serving:
            # What start-up made lives as long as the process: keep it out of every collection, so a
            # storm's garbage collections walk only the objects the storm made (a third of its time otherwise).
            gc.freeze()
            ctx.db.start_checkpoints()
        yield
        intake.writer.stop()
        if settings.engine_enabled:
            engine.stop()
        if delivery is not None:
            delivery.stop()
        ctx.db.dispose()

    app = Warroom(
        title="warroom",
        version=__version__,
        description="Incident response as running software: alerts, incidents, paging, war room, postmortems.",
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.state.settings = settings
    problems.install(app)
    app.include_router(alerts_api.router)  # first: the alert webhook is the hot path of a storm
    app.include_router(incidents_api.router)
    app.include_router(engine_api.router)
    app.include_router(notifications_api.router)
    app.include_router(web_routes.router)
    app.include_router(health_api.router)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.alert_webhooks = BodyLimit(alerts_api.Webhooks(app), settings.max_body_bytes)
    return app
