"""Around every answer: security headers, and the audit row of a state-changing request that no unit
of work wrote (refused, failed, or one that changed nothing)."""

from __future__ import annotations

import json
import logging
import time
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
ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


access = logging.getLogger("warroom.access")


def log_requests_to_stderr() -> None:
    """`warroom serve`: the access log goes to standard error, one JSON object a line."""
    if not access.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
        access.setLevel(logging.INFO)
        access.propagate = False


class Guard:
    def __init__(self, app: ASGIApp, ctx: Context, access_log: bool = True) -> None:
        self.app = app
        self.ctx = ctx
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status = 500
        began = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.extend(ALWAYS)
                html = any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers)
                if html:
                    headers.append((b"content-security-policy", CSP.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if self.access_log:
                principal = state.get("principal")
                line = {
                    "method": scope["method"],
                    "path": scope["path"],  # never the query: it may carry a webhook's token
                    "status": status,
                    "ms": round((time.perf_counter() - began) * 1000, 1),
                    "user": principal.name if principal else None,
                    "address": (scope.get("client") or ("",))[0],
                }
                access.info(json.dumps(line))
            note: AuditNote | None = state.get("audit")
            if note is not None and not note.written:
                try:
                    await anyio.to_thread.run_sync(
                        audit.close, self.ctx, note, f"{'done' if status < 400 else 'refused'} {status}"
                    )
                except Exception:  # the answer has gone out; the database may be away
                    log.exception("the audit row of %s could not be written", note.action)
