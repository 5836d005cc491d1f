"""Database outages as every face answers them: 503 with Retry-After, never a 500 or a 2xx for nothing stored.

A sender or a browser cannot tell a 500 from a bug; 503 with Retry-After says "come back in a few
seconds, nothing was taken", which is what Alertmanager and load balancers act on.
"""

from __future__ import annotations

import html
import sqlite3

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from warroom.access.answers import PROBLEM
from warroom.store.db import unavailable

RETRY_AFTER_SECONDS = 5
"""what a sender is told to wait; a PostgreSQL restart or a failover usually takes about this long"""

TITLE = "Database unavailable"


def body(reason: str) -> dict[str, object]:
    return {
        "type": "about:blank",
        "title": TITLE,
        "status": 503,
        "detail": f"the database cannot be reached ({reason}); nothing was stored or changed; "
        f"retry in {RETRY_AFTER_SECONDS} s",
        "retry_after": RETRY_AFTER_SECONDS,
    }


def problem(reason: str) -> JSONResponse:
    """The problem+json answer for an API client or an alert sender."""
    return JSONResponse(body(reason), status_code=503, media_type=PROBLEM, headers=_headers())


def page(reason: str) -> HTMLResponse:
    """The plain page a responder's browser gets: no template, since templates may need the database too."""
    text = (
        "<!doctype html><html><head><meta charset='utf-8'><title>warroom: database unavailable</title>"
        f"<meta http-equiv='refresh' content='{RETRY_AFTER_SECONDS}'></head><body>"
        "<h1>warroom cannot reach its database</h1>"
        f"<p>Nothing was stored or changed. This page tries again in {RETRY_AFTER_SECONDS} seconds.</p>"
        f"<p><small>{html.escape(reason)}</small></p></body></html>"
    )
    return HTMLResponse(text, status_code=503, headers=_headers())


def _headers() -> dict[str, str]:
    return {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def answer(request: Request | None, exc: BaseException) -> Response | None:
    """The 503 for an error that means the database is away, or None for any other error."""
    reason = unavailable(exc)
    if reason is None:
        return None
    if request is not None and _wants_html(request):
        return page(reason)
    return problem(reason)


def _wants_html(request: Request) -> bool:
    path = request.url.path
    if path.startswith("/api/") or path in ("/healthz", "/openapi.json", "/metrics"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install(app: FastAPI) -> None:
    """Answer database outages with 503 wherever they surface; any other database error stays a 500."""

    async def _database(request: Request, exc: Exception) -> Response:
        found = answer(request, exc)
        if found is None:
            raise exc
        return found

    for kind in (SQLAlchemyError, psycopg.Error, sqlite3.Error):
        app.add_exception_handler(kind, _database)
