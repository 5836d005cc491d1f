"""How the gate's refusals look: pages go to the sign-in page, the API answers problem+json with the
headers a client needs (WWW-Authenticate for 401, Retry-After for 429)."""

from __future__ import annotations

import html
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from warroom.access.gate import GoTo, is_page
from warroom.domain.errors import Forbidden, ServiceError, Throttled, Unauthorized

PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem details answer: the one builder for the gate's refusals and the API's errors.

    `field` (the input at fault) is in the body only when there is one.
    """
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _problem(exc: ServiceError, headers: dict[str, str]) -> JSONResponse:
    return problem(exc.status, exc.title, exc.detail, field=exc.field, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(GoTo)
    async def _go(_: Request, exc: GoTo) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> Response:
        return _problem(exc, {"WWW-Authenticate": 'Bearer realm="warroom"'})

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if is_page(request.url.path):
            text = html.escape(exc.detail)
            body = (
                '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Refused — warroom</title>'
                '<meta name="viewport" content="width=device-width, initial-scale=1"></head>'
                f'<body><h1>Refused</h1><p role="alert">{text}</p>'
                '<p><a href="/">Back to the incidents</a></p></body></html>'
            )
            return HTMLResponse(body, status_code=403)
        return _problem(exc, {})

    @app.exception_handler(Throttled)
    async def _throttled(_: Request, exc: Throttled) -> Response:
        return _problem(exc, {"Retry-After": str(exc.retry_after)})
