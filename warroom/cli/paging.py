"""What the CLI says about paging: a fresh install that pages nobody is warned of where a declare is typed."""

from __future__ import annotations

from warroom.settings import get_settings


def paging_warning() -> str | None:
    """What `warroom declare` warns of: nobody on call for the first paging tier (None when someone is)."""
    settings = get_settings()
    if settings.url:
        import httpx

        try:
            body = httpx.get(settings.url.rstrip("/") + "/healthz", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return None
        paging = body.get("paging")
        return None if paging in (None, "ok") else f"paging: {paging}; {body.get('fix', '')}".rstrip("; ")
    from warroom.compose import build_context
    from warroom.oncall import service as oncall_service

    readiness = oncall_service.paging_readiness(build_context(settings))
    return None if readiness.ok else f"paging: {readiness.message}; {readiness.fix}"
