"""The CLI's remote mode: JSON calls to a running server's /api/v1; problem+json comes back as the
same errors the service functions raise, so every verb fails the same way locally and remotely."""

from __future__ import annotations

import os
from typing import Any

import httpx

from warroom.domain.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError, Unauthorized

_ERRORS: dict[int, type[ServiceError]] = {401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict, 422: Invalid}


class ApiClient:
    """Signed in with WARROOM_TOKEN (`warroom token create`), sent as a bearer token."""

    def __init__(self, base: str) -> None:
        token = os.environ.get("WARROOM_TOKEN", "").strip()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base.rstrip("/") + "/api/v1", timeout=30, headers=headers)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self._answer(self._send(method, path, body, params))

    def every_page(self, path: str, params: dict[str, Any] | None = None, most: int = 100_000) -> list[Any]:
        """A paged list in full (up to `most` rows), following each answer's `Link: <...>; rel="next"`."""
        rows: list[Any] = []
        query = dict(params or {})
        while True:
            resp = self._send("GET", path, None, query)
            rows += self._answer(resp) or []
            following = resp.links.get("next", {}).get("url")
            if not following or len(rows) >= most:
                return rows[:most]
            query = {**query, "cursor": httpx.URL(following).params.get("cursor")}

    def _send(self, method: str, path: str, body: Any, params: dict[str, Any] | None) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            return self.http.request(method, path, json=body, params=clean or None)
        except httpx.HTTPError as exc:
            raise ServiceError(f"cannot reach {self.http.base_url}: {exc}") from None

    def _answer(self, resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                problem = resp.json()
                detail, field = problem.get("detail", resp.text), problem.get("field")
            except ValueError:
                detail, field = resp.text, None
            raise _ERRORS.get(resp.status_code, ServiceError)(detail, field=field)
        if not resp.content:
            return None
        if resp.headers.get("content-type", "").startswith("application/json"):
            return resp.json()
        return resp.text
