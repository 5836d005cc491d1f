"""/healthz: what an operator (and a load balancer) looks at when things are bad."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import text

from warroom import __version__
from warroom.domain.clock import iso_z
from warroom.store.unit import Context

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    """Liveness with the database and engine state."""
    ctx: Context = request.app.state.ctx
    try:
        with ctx.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        database = {"ok": True, "dialect": ctx.db.dialect}
    except Exception as exc:  # report, don't crash: this is what operators look at when things are bad
        database = {"ok": False, "dialect": ctx.db.dialect, "error": str(exc)}
    engine = getattr(request.app.state, "engine", None)
    return {
        "status": "ok" if database["ok"] else "degraded",
        "version": __version__,
        "policy": ctx.policy.name,
        "time": iso_z(ctx.clock.now()),
        "database": database,
        "engine": engine.status() if engine else {"running": False},
    }
