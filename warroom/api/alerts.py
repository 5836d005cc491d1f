"""/api/v1/alerts: webhooks from six senders, and the alerts, groups, silences and dead letters they leave.

The webhook is the hot path of an alert storm: it reads the body once, decodes it with orjson,
checks it with the sender's hand parser and hands it to the group-commit writer, answering 202 once
the request is committed; dedup, grouping and triage follow behind the answer, and
GET /api/v1/intake/requests/{id} tells what became of each alert. Everything refused after
authentication is kept in the dead-letter table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.types import Receive as ASGIReceive
from starlette.types import Scope, Send

from warroom.access.answers import problem
from warroom.access.gate import Who
from warroom.api import guards, outage
from warroom.api.deps import ctx
from warroom.api.guards import Id, OptionalId
from warroom.api.paging import Cursor, link_next
from warroom.auth.principal import Role
from warroom.domain.cursor import MOST
from warroom.domain.cursor import newest_first as by_id
from warroom.domain.errors import Forbidden
from warroom.intake import inbox, service, silences
from warroom.intake import integrations as integ
from warroom.intake.config import get_intake_settings
from warroom.intake.inbox import Accepted
from warroom.intake.ingest import Refused
from warroom.intake.normal import PayloadError
from warroom.intake.parsers import CHECKS, PARSERS, SOURCES
from warroom.intake.schemas import (
    ActorBody,
    AlertDetail,
    AlertView,
    DeadLetterDetail,
    DeadLetterView,
    GroupAction,
    GroupDetail,
    GroupView,
    IncidentAlerts,
    IntakeRequestView,
    LinkRequest,
    SilenceRequest,
    SilenceView,
    WebhookAnswer,
)
from warroom.intake.writer import Stored, Writer
from warroom.store.unit import Context

log = logging.getLogger("warroom.intake")
router = APIRouter(prefix="/api/v1")
Ctx = Annotated[Context, Depends(ctx)]
MAX_DEPTH = 254
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "Not found (problem+json)"},
    409: {"description": "Not allowed in the current state (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}
WEBHOOK_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not JSON, not UTF-8, or nested too deep; the body is kept as a dead letter"},
    401: {"description": "No valid secret for an integration of this source; nothing is stored"},
    404: {"description": "Unknown source"},
    413: {"description": "Body larger than WARROOM_MAX_BODY_BYTES"},
    415: {"description": "Not JSON by its Content-Type; the body is kept as a dead letter"},
    503: {
        "description": "Applying is behind by more than WARROOM_INTAKE_MAX_LAG seconds, or the database is away; "
        "nothing is stored; retry after Retry-After seconds"
    },
    422: {"description": "Not the sender's shape; `field` names the culprit; the body is kept as a dead letter"},
}


class Intake:
    """Per-application intake machinery: the writer thread and the token verifier."""

    def __init__(self, context: Context) -> None:
        cfg = get_intake_settings()
        self.writer = Writer(context, cfg)
        self.verifier = integ.Verifier(context, cfg.intake_auth_cache_seconds)


_lock = threading.Lock()


def intake_of(app: FastAPI) -> Intake:
    found: Intake | None = getattr(app.state, "intake", None)
    if found is None:
        with _lock:
            found = getattr(app.state, "intake", None)
            if found is None:
                found = Intake(app.state.ctx)
                app.state.intake = found
    return found


def _too_deep(body: bytes, data: Any) -> bool:
    """Deeper than orjson writes (254 levels) is refused: stored payloads must serialise again."""
    if body.count(b"[") + body.count(b"{") < 64:
        return False
    try:
        orjson.dumps(data)
    except orjson.JSONEncodeError:
        return True
    return False


async def _authenticate(intake: Intake, source: str, headers: Mapping[str, str], query: Mapping[str, str],
                        body: bytes) -> integ.Known | None:  # fmt: skip
    """The integration the request proves itself as, or None."""
    token = _token(source, headers, query, body)
    if token is not None:
        known = intake.verifier.cached(token) or await run_in_threadpool(intake.verifier.by_token, token)
        return known if known is not None and known.source == source else None
    signature = headers.get("sentry-hook-signature")
    name = query.get("integration")
    if source == "sentry" and signature and name:
        known = await run_in_threadpool(intake.verifier.by_name, name)
        if (
            known
            and known.source == source
            and known.signing_secret
            and integ.signature_ok(known.signing_secret, body, signature)
        ):
            return known
    return None


def _secrets(source: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes,
             known: integ.Known) -> list[str]:  # fmt: skip
    """What must never be stored or shown again: the token the request used, and the signing secret."""
    token = _token(source, headers, query, body)
    return [s for s in (token, known.signing_secret) if s]


def _token(source: str, headers: Mapping[str, str], query: Mapping[str, str], body: bytes) -> str | None:
    token = integ.token_from(query, headers)
    if token is None and source == "pagerduty-events-v2":
        try:
            data = orjson.loads(body)
            key = data.get("routing_key") if isinstance(data, dict) else None
            token = key if isinstance(key, str) and key else None
        except orjson.JSONDecodeError:
            token = None
    return token


# --- the fast path ------------------------------------------------------------------------------

PREFIX = "/api/v1/alerts/"


def webhook_source(scope: Scope) -> str | None:
    """The source when this request is a webhook (POST /api/v1/alerts/{source}), else None."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return None
    source = path[len(PREFIX) :]
    return source if source and "/" not in source else None


class Webhooks:
    """The webhook as a bare ASGI app, served in front of the framework's middleware and routing.

    An alert storm is thousands of these a second; the application's middleware stack costs more
    than the handler. The app wraps this in the same body limit (413) as everything else; here a
    problem+json 500 answers anything unexpected. The source comes in `scope["path_params"]`.
    """

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: Send) -> None:
        intake_of(self.app).writer.arrived()
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        source = scope["path_params"]["source"]
        raw_query = scope["query_string"]
        query: Mapping[str, str] = QueryParams(raw_query) if raw_query else {}
        try:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            response = await accept(self.app, source, headers, query, b"".join(chunks))
        except Exception as exc:
            response = outage.answer(None, exc) or _failed(exc)
        await response(scope, receive, send)


def _failed(exc: Exception) -> Response:
    log.error("alert webhook failed", exc_info=exc)
    return problem(500, "Internal error", "the webhook failed; nothing was acknowledged")


class AcceptedResponse(Response):
    """202 with its JSON answer and Location, its headers written once (a storm answers thousands a second)."""

    def __init__(self, answer: dict[str, Any], location: str) -> None:
        self.status_code = 202
        self.body = orjson.dumps(answer)
        self.raw_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self.body)).encode()),
            (b"location", location.encode()),
        ]

    async def __call__(self, scope: Scope, receive: ASGIReceive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 202, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


@router.post(
    "/alerts/{source}",
    tags=["alerts"],
    status_code=202,
    response_model=WebhookAnswer,
    responses=WEBHOOK_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
            "description": "the sender's own webhook body (see the README for each source and the generic shape)",
        },
        "parameters": [
            {
                "name": "token",
                "in": "query",
                "required": False,
                "schema": {"type": "string"},
                "description": "the integration's secret (or send Authorization: Bearer)",
            },
        ],
    },
)
async def receive(source: str, request: Request) -> Response:
    """Receive one webhook (alertmanager, grafana, datadog, sentry, pagerduty-events-v2, generic).

    Answers 202 once the request is committed, with its id; its alerts are then applied in the order
    they arrived (dedup, silences, grouping, storms, triage). `GET /api/v1/intake/requests/{id}`
    (with `?wait=` seconds) gives each alert's outcome: new, repeat, resolved, silenced, with its
    group and incident.
    """
    intake_of(request.app).writer.arrived()
    return await accept(request.app, source, request.headers, request.query_params, await request.body())


async def accept(app: FastAPI, source: str, headers: Mapping[str, str], query: Mapping[str, str],
                 body: bytes) -> Response:  # fmt: skip
    """Authenticate, parse and commit one webhook body; the answer comes after the commit."""
    context: Context = app.state.ctx
    received = context.clock.now()
    parser = PARSERS.get(source)
    if parser is None:
        return problem(404, "Unknown source", f"no alert source '{source}'; use one of {', '.join(SOURCES)}",
                       field="source")  # fmt: skip
    intake = intake_of(app)
    known = await _authenticate(intake, source, headers, query, body)
    if known is None:
        return problem(
            401,
            "Unauthorized",
            f"no valid secret for a {source} integration: send ?token=, Authorization: Bearer"
            + (", the routing_key" if source == "pagerduty-events-v2" else "")
            + (", or Sentry-Hook-Signature with ?integration=" if source == "sentry" else ""),
        )

    writer = intake.writer
    if (wait := writer.pushback(lambda: writer.can_page(source, body, headers))) is not None:
        # nothing is stored: the sender keeps it and retries
        busy = problem(503, "Alert intake is behind",
                       f"{writer.lag():.1f} s of accepted alerts are waiting to be applied (the bound is "
                       f"{writer.cfg.intake_max_lag:g} s); nothing was stored; retry in {wait} s",
                       retry_after=wait)  # fmt: skip
        busy.headers["Retry-After"] = str(wait)
        busy.headers["Cache-Control"] = "no-store"
        return busy
    secrets = _secrets(source, headers, query, body, known)

    async def refuse(status: int, title: str, detail: str, field: str | None) -> Response:
        detail = integ.redact_text(detail, secrets)
        job = Refused(source, known.name, received, status, detail, field,
                      headers.get("content-type", ""), integ.redact(body, secrets, source))  # fmt: skip
        try:
            dead = await intake.writer.submit(job)
        except Stored:
            dead = None
        return problem(status, title, detail, field=field, dead_letter=dead)

    if not guards.is_json(headers.get("content-type", "")):
        given = headers.get("content-type", "")[:80] or "none"
        return await refuse(415, "Unsupported media type",
                            f"send the webhook as JSON (Content-Type: application/json), not '{given}'",
                            "content-type")  # fmt: skip
    quick = CHECKS.get(source)
    count = quick(body) if quick is not None else None
    items = None
    if count is not None and (twice := guards.duplicate_key(body)) is not None:
        return await refuse(twice.status, twice.title, twice.detail, twice.field)
    if count is None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as bad:
                return await refuse(400, "Not UTF-8", f"the body is not UTF-8 text (byte {bad.start})", "body")
            if not body.strip():
                return await refuse(400, "Empty body", "the body is empty; send the sender's JSON", "body")
            return await refuse(400, "Not JSON", f"the body is not valid JSON: {exc}", "body")
        if _too_deep(body, data):
            return await refuse(400, "Nested too deep", f"the JSON is nested deeper than {MAX_DEPTH} levels", "body")
        if (twice := guards.duplicate_key(body)) is not None:
            return await refuse(twice.status, twice.title, twice.detail, twice.field)
        try:
            items = parser(data, headers)
        except PayloadError as exc:
            return await refuse(422, "Invalid alert payload", f"{exc.field}: {exc.message}", exc.field)
        count = len(items)
    try:
        stored = integ.redact(body, secrets, source)
        request_id = await intake.writer.submit(
            Accepted(source, known.name, received, inbox.kept_headers(headers), stored, count, items is None)
        )
    except Stored as exc:
        if (down := outage.answer(None, exc)) is not None:
            return down
        return problem(500, "Not stored", f"the alerts could not be committed: {exc}", dead_letter=exc.dead_letter)
    where = f"/api/v1/intake/requests/{request_id}"
    answer: dict[str, Any] = {"status": "accepted", "request": request_id, "accepted": count,
                              "integration": known.name, "location": where}  # fmt: skip
    if items is not None and source == "pagerduty-events-v2":
        answer["dedup_key"] = items[0].fingerprint
    return AcceptedResponse(answer, where)


@router.get("/alerts", response_model=list[AlertView], tags=["alerts"], responses=ERRORS)
def list_alerts(
    c: Ctx,
    request: Request,
    response: Response,
    status: str | None = Query(None, description="firing or resolved"),
    service_name: str | None = Query(None, alias="service"),
    source: str | None = None,
    incident_id: str | None = None,
    group_id: OptionalId = None,
    limit: int = Query(100, ge=1, le=MOST),
    cursor: Cursor = None,
) -> list[AlertView]:
    """Newest first; `Link: <...>; rel="next"` names the next (older) page when there is one."""
    rows, following = by_id(
        "alerts",
        lambda n, before: service.list_alerts(c, status, service_name, source, incident_id, group_id, n, before),
        limit,
        cursor,
        lambda a: a.id,
    )
    link_next(request, response, following)
    return rows


@router.get("/alerts/{alert_id}", response_model=AlertDetail, tags=["alerts"], responses=ERRORS)
def show_alert(alert_id: Id, c: Ctx) -> AlertDetail:
    """One alert with the raw payload its sender sent."""
    return service.get_alert(c, alert_id)


@router.get("/alert-groups", response_model=list[GroupView], tags=["alerts"], responses=ERRORS)
def list_groups(
    c: Ctx,
    request: Request,
    response: Response,
    outcome: str | None = Query(None, description="incident, ticket, none, pending, merged or dismissed"),
    status: str | None = Query(None, description="open or closed"),
    limit: int = Query(100, ge=1, le=MOST),
    cursor: Cursor = None,
) -> list[GroupView]:
    """Alert groups with their triage decision (severity, confidence, reasons, outcome, runbook), newest
    first; `Link: <...>; rel="next"` names the next (older) page when there is one."""
    rows, following = by_id(
        "alert-groups",
        lambda n, before: service.list_groups(c, outcome, status, n, before),
        limit,
        cursor,
        lambda g: g.id,
    )
    link_next(request, response, following)
    return rows


@router.get("/alert-groups/{group_id}", response_model=GroupDetail, tags=["alerts"], responses=ERRORS)
def show_group(group_id: Id, c: Ctx) -> GroupDetail:
    return service.get_group(c, group_id)


@router.post("/alert-groups/{group_id}/declare", response_model=GroupDetail, tags=["alerts"], responses=ERRORS)
def declare_group(group_id: Id, body: GroupAction, c: Ctx, who: Who) -> GroupDetail:
    """Override triage: declare an incident for a ticket-only, informational, dismissed or held group."""
    return service.declare_group(c, group_id, who(body.by), body.severity, body.reason)


@router.post("/alert-groups/{group_id}/link", response_model=GroupDetail, tags=["alerts"], responses=ERRORS)
def link_group(group_id: Id, body: LinkRequest, c: Ctx, who: Who) -> GroupDetail:
    """Make the group part of an open incident: its alerts count there and restart its quiet window."""
    return service.link_group(c, group_id, body.incident_id, who(body.by), body.reason)


@router.post("/alert-groups/{group_id}/ticket", response_model=GroupDetail, tags=["alerts"], responses=ERRORS)
def ticket_group(group_id: Id, body: GroupAction, c: Ctx, who: Who) -> GroupDetail:
    """Override triage: a ticket only, no incident."""
    return service.set_group_outcome(c, group_id, "ticket", who(body.by), body.reason)


@router.post("/alert-groups/{group_id}/dismiss", response_model=GroupDetail, tags=["alerts"], responses=ERRORS)
def dismiss_group(group_id: Id, body: GroupAction, c: Ctx, who: Who) -> GroupDetail:
    """Override triage: not an incident and not a ticket."""
    return service.set_group_outcome(c, group_id, "dismissed", who(body.by), body.reason)


@router.get("/incidents/{incident_id}/alerts", response_model=IncidentAlerts, tags=["alerts"], responses=ERRORS)
def incident_alerts(incident_id: str, c: Ctx, limit: int = Query(100, ge=1, le=MOST)) -> IncidentAlerts:
    """The alerts behind an incident: count, still firing, distinct services, groups."""
    return service.incident_alerts(c, incident_id, limit)


@router.get("/silences", response_model=list[SilenceView], tags=["silences"])
def list_silences(c: Ctx, expired: bool = Query(False, description="include ended silences")) -> list[SilenceView]:
    return service.list_silences(c, expired)


@router.post("/silences", status_code=201, response_model=SilenceView, tags=["silences"], responses=ERRORS)
def add_silence(body: SilenceRequest, c: Ctx, who: Who) -> SilenceView:
    """Silence alerts matching every matcher for a time box: they are stored but neither page nor declare."""
    if not who.principal.allows(Role.ADMIN) and not silences.names_a_service(body.matchers):
        raise Forbidden(
            "a responder's silence names its service (service=NAME); a broader silence needs an admin",
            field="matchers",
        )
    return service.add_silence(c, body.model_copy(update={"by": who(body.by)}))


@router.post("/silences/{silence_id}/expire", response_model=SilenceView, tags=["silences"], responses=ERRORS)
def expire_silence(silence_id: Id, body: ActorBody, c: Ctx, who: Who) -> SilenceView:
    """End a silence now (its record stays)."""
    return service.expire_silence(c, silence_id, who(body.by))


@router.get("/dead-letters", response_model=list[DeadLetterView], tags=["alerts"])
def list_dead_letters(c: Ctx, limit: int = Query(100, ge=1, le=MOST)) -> list[DeadLetterView]:
    """Requests refused after authentication, newest first (the table keeps WARROOM_DEAD_LETTERS_KEEP)."""
    return service.list_dead_letters(c, limit)


@router.get("/dead-letters/{dead_id}", response_model=DeadLetterDetail, tags=["alerts"], responses=ERRORS)
def show_dead_letter(dead_id: Id, c: Ctx) -> DeadLetterDetail:
    """One refused request with its raw body (UTF-8 text, or base64 when it is not text)."""
    return service.get_dead_letter(c, dead_id)


@router.get("/intake", tags=["alerts"])
def intake_status(request: Request) -> JSONResponse:
    """The intake writer: commits (batches, sizes), alerts applied, the backlog still to apply, failures."""
    return JSONResponse(intake_of(request.app).writer.status())


@router.get("/intake/requests/{request_id}", response_model=IntakeRequestView, tags=["alerts"], responses=ERRORS)
async def intake_request(
    request_id: Id,
    request: Request,
    wait: float = Query(0, ge=0, le=60, allow_inf_nan=False, description="seconds to wait for it to be applied"),
) -> IntakeRequestView:
    """An accepted webhook: queued, applied (each alert's outcome, group and incident) or failed (dead letter)."""
    context: Context = request.app.state.ctx
    writer = intake_of(request.app).writer
    deadline = time.monotonic() + wait
    while True:
        view = await run_in_threadpool(service.get_request, context, request_id)
        left = deadline - time.monotonic()
        if view.status != "queued" or left <= 0:
            return view
        await writer.applied(request_id, min(0.25, left))  # another replica's work shows on the next read
