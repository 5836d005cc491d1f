"""POST /api/v1/chatops/slack and /api/v1/chatops/mattermost: verify, find the warroom user, run the
command, answer in the platform's format within its time limit (else later, through response_url)."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from warroom.auth import audit
from warroom.chat import identities
from warroom.chatops import later, verify
from warroom.chatops.execute import refusal, run_line
from warroom.chatops.replies import Reply, payload
from warroom.commands.grammar import words
from warroom.domain.errors import Invalid, ServiceError
from warroom.settings import Settings
from warroom.store.unit import AuditNote, Context

router = APIRouter(prefix="/api/v1/chatops", tags=["chatops"])
WORKING = "Working on it… the answer follows here in a moment."
ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "the platform's answer: `{response_type: ephemeral|in_channel, text}`"},
    400: {"description": "a body that is not a UTF-8 form, or a required field missing (problem+json)"},
    401: {"description": "a missing or wrong signature or token: nothing is done (problem+json)"},
}


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name, "").strip()
    if not value:
        raise Invalid(f"the form field {name} is required", field=name)
    return value


def _target(line: str) -> str:
    """The audit row's target: the verb and what it names first (`ack INC-20260507-0001`)."""
    try:
        return " ".join(words(line)[:2])[:300] or "help"
    except ServiceError:
        return line[:60]


async def _close(ctx: Context, note: AuditNote | None, result: str) -> None:
    if note is not None and not note.written:
        await anyio.to_thread.run_sync(audit.close, ctx, note, result[:200])


async def _serve(request: Request, platform: str, fields: dict[str, str]) -> JSONResponse:
    ctx: Context = request.app.state.ctx
    settings: Settings = request.app.state.settings
    external = _required(fields, "user_id")
    line = fields.get("text", "")
    note: AuditNote | None = getattr(request.state, "audit", None)
    if note is not None:
        note.via = platform
        note.target = _target(line)
    user = await anyio.to_thread.run_sync(identities.resolve, ctx, platform, external)
    if user is None or user.disabled:
        why = (f"your {platform} user {external} is not linked to a warroom user; nothing was done. Ask an admin to "
               f"run: warroom user link YOUR-NAME --{platform} {external}") if user is None else (
               f"the warroom user {user.name} is disabled; nothing was done")  # fmt: skip
        await _close(
            ctx, note, f"refused: {platform} user {external} " + ("not linked" if user is None else "disabled")
        )
        return JSONResponse(payload(platform, refusal(why)))
    if note is not None:
        note.actor = user.name
    # In a worker thread with this request's context (its audit note), so the answer can go first.
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(
        None, contextvars.copy_context().run, run_line, ctx, platform, line, user, fields.get("channel_name", "")
    )
    try:
        reply = await asyncio.wait_for(asyncio.shield(work), timeout=max(settings.chatops_answer_seconds, 0.0))
    except TimeoutError:
        url = fields.get("response_url", "")

        async def finish() -> None:
            done = await work
            if done.refused:
                await _close(ctx, note, f"refused: {done.refused}")
            await later.send(settings, platform, url, done)

        return JSONResponse(payload(platform, Reply(WORKING)), background=BackgroundTask(finish))
    if reply.refused:
        await _close(ctx, note, f"refused: {reply.refused}")
    return JSONResponse(payload(platform, reply))


@router.post("/slack", responses=ANSWERS)
async def slack(request: Request) -> JSONResponse:
    """Slack's slash command (form fields team_id, channel_id, channel_name, user_id, user_name, command,
    text, response_url, trigger_id), signed with the app's signing secret."""
    body = await request.body()
    verify.slack(
        request.app.state.settings,
        body,
        request.headers.get("x-slack-request-timestamp"),
        request.headers.get("x-slack-signature"),
    )
    return await _serve(request, "slack", verify.form(body))


@router.post("/mattermost", responses=ANSWERS)
async def mattermost(request: Request) -> JSONResponse:
    """Mattermost's slash command (form fields token, team_id, channel_id, channel_name, user_id, user_name,
    command, text, response_url, trigger_id), carrying the command's token."""
    body = await request.body()
    try:
        fields = verify.form(body)
    except ServiceError:
        fields = {}
    verify.mattermost(request.app.state.settings, fields.get("token") or verify.header_token(
        request.headers.get("authorization")))  # fmt: skip
    return await _serve(request, "mattermost", verify.form(body))
