"""Request-scoped access to the composed application."""

from __future__ import annotations

from fastapi import Request

from warroom.store.unit import Context


def ctx(request: Request) -> Context:
    context: Context = request.app.state.ctx
    return context
