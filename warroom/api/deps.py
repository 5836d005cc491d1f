"""Request-scoped access to the composed application."""

from __future__ import annotations

from fastapi import Request

from warroom.incidents.service import Context


def ctx(request: Request) -> Context:
    context: Context = request.app.state.ctx
    return context
