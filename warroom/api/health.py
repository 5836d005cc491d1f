"""/healthz: what an operator (and a load balancer) looks at when things are bad.

HTTP 503 means exactly one thing: this replica cannot reach its database, take it out of rotation.
Every other degradation is reported in the body with 200, so a load balancer never pulls every
replica at once for a problem no replica can fix.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from warroom import __version__
from warroom.api.outage import RETRY_AFTER_SECONDS
from warroom.domain.clock import iso_z
from warroom.oncall.service import paging_readiness
from warroom.store.db import unavailable
from warroom.store.unit import Context

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "the database cannot be reached"}})
def healthz(request: Request) -> Any:
    """Liveness with the database and engine state; 503 only while the database cannot be reached."""
    ctx: Context = request.app.state.ctx
    try:
        with ctx.db.read() as session:  # a read takes no write lock: a long write must not hold up the answer
            session.execute(text("SELECT 1"))
        database = {"ok": True, "dialect": ctx.db.dialect}
    except Exception as exc:  # report, don't crash: this is what operators look at when things are bad
        database = {"ok": False, "dialect": ctx.db.dialect, "error": unavailable(exc) or str(exc)}
    engine = getattr(request.app.state, "engine", None)
    body: dict[str, Any] = {
        "status": "ok" if database["ok"] else "degraded",
        "version": __version__,
        "policy": ctx.policy.name,
        "time": iso_z(ctx.clock.now()),
        "database": database,
        "engine": engine.status() if engine else {"running": False},
    }
    intake = getattr(request.app.state, "intake", None)
    if intake is not None:  # back-pressure is reported, never a 503 here: it is not this replica's fault
        writer = intake.writer
        body["intake"] = {"lag_seconds": round(writer.lag(), 3), "max_lag_seconds": writer.cfg.intake_max_lag,
                          "pushed_back": writer.stats.pushed_back,
                          "taken_over_bound": writer.stats.taken_over_bound}  # fmt: skip
    if not database["ok"]:
        body["status"] = "unavailable"
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    paging = paging_readiness(ctx)  # a fresh install pages nobody: degraded (200), so it is seen, not pulled
    body["paging"] = "ok" if paging.ok else paging.message
    if not paging.ok:
        body["status"] = "degraded"
        body["fix"] = paging.fix
    return body
