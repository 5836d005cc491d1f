"""/ack/{token}: the page a page's one-tap link opens, on a phone, without signing in.

GET shows what the tap will do and never changes anything (mail scanners and chat previews fetch
links); the button POSTs, which acknowledges as the paged person, attributed and audited as them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from warroom.chat import acklinks
from warroom.chat.acklinks import LinkState
from warroom.store.unit import AuditNote, Context

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATUS = {"ready": 200, "done": 200, "taken": 409, "used": 410, "expired": 410, "invalid": 404}
TOKEN_LIMIT = 200


def _render(request: Request, link: LinkState, token: str, code: int | None = None) -> HTMLResponse:
    target = f"/incidents/{link.incident_id}" if link.incident_id else "/"
    data = {
        "link": link,
        "token": token,
        "incident_url": target,
        "sign_in_url": "/login?next=" + quote(target, safe="/"),
    }
    return templates.TemplateResponse(request, "ack.html", data, status_code=code or STATUS[link.state])


def _invalid() -> LinkState:
    return LinkState(state="invalid", message="This link is not valid. Sign in to acknowledge.")


@router.get("/ack/{token}", response_class=HTMLResponse)
async def confirm(request: Request, token: str) -> HTMLResponse:
    ctx: Context = request.app.state.ctx
    if len(token) > TOKEN_LIMIT:
        return _render(request, _invalid(), "")
    link = await anyio.to_thread.run_sync(acklinks.look, ctx, token)
    return _render(request, link, token, 200 if link.state == "taken" else None)


@router.post("/ack/{token}", response_class=HTMLResponse)
async def acknowledge(request: Request, token: str) -> HTMLResponse:
    ctx: Context = request.app.state.ctx
    if len(token) > TOKEN_LIMIT:
        return _render(request, _invalid(), "")
    held = await anyio.to_thread.run_sync(acklinks.holder, ctx, token)
    note: AuditNote | None = getattr(request.state, "audit", None)
    if note is not None:
        note.via = "ack-link"
        note.target = f"incident_id={held[1]}" if held else ""  # never the token: it is the link's secret
        if held is not None:
            note.actor = held[0]  # the paged person the link was made for: the record names them, not "anonymous"
    link = await anyio.to_thread.run_sync(acklinks.redeem, ctx, token)
    return _render(request, link, token)
