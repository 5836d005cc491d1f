"""Composition: settings, database, policy, clock and the HTTP faces in one ASGI application."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from warroom import __version__
from warroom.access import answers, middleware
from warroom.access.gate import authorize
from warroom.access.middleware import Guard
from warroom.api import alerts as alerts_api
from warroom.api import auth as auth_api
from warroom.api import docs as docs_api
from warroom.api import engine as engine_api
from warroom.api import guards, outage, problems
from warroom.api import health as health_api
from warroom.api import incidents as incidents_api
from warroom.api import metrics as metrics_api
from warroom.api import notifications as notifications_api
from warroom.api import postmortems as postmortems_api
from warroom.api import reports as reports_api
from warroom.api import status as status_api
from warroom.auth import users
from warroom.chatops import ackpage as chatops_ack
from warroom.chatops import routes as chatops_api
from warroom.compose import build_context
from warroom.engine.loop import EngineLoop
from warroom.notify import loop as notify_loop
from warroom.settings import Settings, get_settings
from warroom.statuspage.cache import StatusCache
from warroom.store.unit import Context
from warroom.web import live, pages, signin, status_admin
from warroom.web import reports as web_reports
from warroom.web import routes as web_routes

log = logging.getLogger("warroom")
STATIC = str(Path(__file__).parent / "web" / "static")
YOUNG_COLLECTION = 50_000
"""objects allocated (net of those freed) between collections of the youngest generation: a pass over 2,000
alerts makes some tens of thousands and frees them at its end, so at Python's 700 most of a flood's
collections walked objects about to go anyway (a twentieth of applying's time)"""


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
    status_reads: ASGIApp
    """the public status page's reads, set by create_app"""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if status_api.is_public_read(scope):  # the public status page, from memory, ahead of the middleware
            await self.status_reads(scope, receive, send)
            return
        source = alerts_api.webhook_source(scope)
        if source is None:
            await super().__call__(scope, receive, send)
            return
        scope["path_params"] = {"source": source}
        await self.alert_webhooks(scope, receive, send)


def announce(ctx: Context, settings: Settings) -> None:
    """At start-up: say loudly when sign-in is off; on a database with no users, make the first admin
    and print its one-time password, once."""
    if not settings.auth:
        log.warning("WARROOM_AUTH=off: sign-in is off; anyone who can reach this server can do anything")
        return
    try:
        password = users.ensure_first_admin(ctx)
    except Exception as exc:  # the database may not be there yet; the next start tries again
        log.warning("could not check for a first admin user: %s", exc)
        return
    if password is not None:
        where = settings.public_url or f"http://{settings.host}:{settings.port}"
        print(
            f"warroom: no users yet, so the admin user '{users.FIRST_ADMIN}' was created with the one-time password\n"
            f"    {password}\n"
            f"warroom: sign in at {where}/login and choose your own password there "
            f"(or: warroom user password {users.FIRST_ADMIN}); this is the only time it is shown",
            file=sys.stderr,
            flush=True,
        )


def serving_app() -> FastAPI:
    """The application as `warroom serve` runs it: a long-lived process (see `serving` below)."""
    app = create_app(serving=True)
    if app.state.settings.access_log:
        middleware.log_requests_to_stderr()
    return app


def create_app(settings: Settings | None = None, context: Context | None = None, *, serving: bool = False) -> FastAPI:
    settings = settings or get_settings()
    ctx = context or build_context(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        announce(ctx, settings)
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
            gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])
            ctx.db.start_checkpoints()
        yield
        app.state.status_cache.close()
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
        dependencies=[Depends(authorize)],
        docs_url=None,
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.state.settings = settings
    problems.install(app)
    outage.install(app)
    answers.install(app)
    app.include_router(alerts_api.router)  # first: the alert webhook is the hot path of a storm
    app.include_router(incidents_api.router)
    app.include_router(engine_api.router)
    app.include_router(notifications_api.router)
    app.include_router(auth_api.router)
    app.include_router(postmortems_api.router)
    app.include_router(reports_api.router)
    app.include_router(metrics_api.router)
    app.include_router(web_reports.router)
    app.include_router(chatops_api.router)
    app.include_router(chatops_ack.router)
    app.include_router(status_api.public)
    app.include_router(status_api.admin)
    app.include_router(web_routes.router)
    app.include_router(pages.router)
    app.include_router(status_admin.router)
    app.include_router(signin.router)
    app.include_router(health_api.router)
    app.include_router(docs_api.router)
    app.include_router(live.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs/assets", StaticFiles(directory=docs_api.ASSETS), name="docs-assets")

    app.state.metrics = metrics_api.registry_for(ctx)
    app.add_middleware(metrics_api.Timing, registry=app.state.metrics)
    app.add_middleware(guards.JsonGuard)  # inside the body limit: it reads bodies of at most that size
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.add_middleware(
        Guard, ctx=ctx, access_log=settings.access_log
    )  # outermost: every answer gets its security headers and audit row
    app.state.status_cache = StatusCache(ctx, base_url=settings.public_url)
    app.status_reads = status_api.Fast(app.state.status_cache)
    app.alert_webhooks = BodyLimit(alerts_api.Webhooks(app), settings.max_body_bytes)
    return app
