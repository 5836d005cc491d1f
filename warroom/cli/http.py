"""The CLI's remote mode: JSON calls to a running server's /api/v1; problem+json comes back as the
same errors the service functions raise, so every verb fails the same way locally and remotely."""

from __future__ import annotations

from typing import Any

import httpx

from warroom.domain.errors import Conflict, Invalid, NotFound, ServiceError

_ERRORS: dict[int, type[ServiceError]] = {404: NotFound, 409: Conflict, 422: Invalid}


class ApiClient:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base.rstrip("/") + "/api/v1", timeout=30)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            resp = self.http.request(method, path, json=body, params=clean or None)
        except httpx.HTTPError as exc:
            raise ServiceError(f"cannot reach {self.http.base_url}: {exc}") from None
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
