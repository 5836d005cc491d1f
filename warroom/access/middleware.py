"""Around every answer: security headers, and the audit row of a state-changing request that no unit
of work wrote (refused, failed, or one that changed nothing)."""

from __future__ import annotations

import logging
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.auth import audit
from warroom.store.unit import AuditNote, Context

log = logging.getLogger("warroom.access")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
DOCS = ("/docs", "/redoc")
"""FastAPI's own API docs pages load their scripts as FastAPI wrote them; they get no CSP"""
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class Guard:
    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        docs = scope["path"].startswith(DOCS)

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(ALWAYS)
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html and not docs:
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            note: AuditNote | None = state.get("audit")
            if note is not None and not note.written:
                try:
                    await anyio.to_thread.run_sync(
                        audit.close, self.ctx, note, f"{'done' if status < 400 else 'refused'} {status}"
                    )
                except Exception:  # the answer has gone out; the database may be away
                    log.exception("the audit row of %s could not be written", note.action)
