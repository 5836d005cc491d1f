"""The status page's faces: the public pages and Statuspage v2 JSON under /status (no sign-in, from
memory), and the responders' admin routes under /api/v1/status.

`Fast` answers the public GETs in front of the middleware stack (as the alert webhooks do): a status page
is read most when everything else is down, and each layer of middleware costs a busy server throughput.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

from warroom.access.gate import Who
from warroom.access.middleware import ALWAYS, CSP
from warroom.api.deps import ctx
from warroom.api.guards import Id
from warroom.domain.cursor import MOST
from warroom.statuspage import components, maintenance, pages, posts, subscribers
from warroom.statuspage.cache import Rendered, StatusCache
from warroom.statuspage.schemas import (
    ComponentChange,
    ComponentRequest,
    ComponentView,
    MaintenanceRequest,
    MaintenanceStep,
    MaintenanceView,
    PostRequest,
    PostView,
)
from warroom.statuspage.settings import page_name_and_url
from warroom.statuspage.subscribers import DeliveryView, RemoveRequest, SubscriberRequest, SubscriberView
from warroom.store.unit import Context

public = APIRouter(tags=["status page"])
admin = APIRouter(prefix="/api/v1/status", tags=["status page"])
Ctx = Annotated[Context, Depends(ctx)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such component, incident or window (problem+json)"},
    409: {"description": "Not allowed in this state; `detail` says why (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}
DOCUMENTS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)
NOT_FOUND = b'{"type":"about:blank","title":"Not found","status":404,"detail":"the status page has no such page"}'
UNAVAILABLE = (
    b'{"type":"about:blank","title":"Status page unavailable","status":503,'
    b'"detail":"the status page has not been built yet and the database cannot be reached"}'
)


def cache_of(app: Any) -> StatusCache:
    cache: StatusCache = app.state.status_cache
    return cache


def _lookup(cache: StatusCache, path: str) -> Rendered | None:
    built = cache.built
    if built is None:
        return None
    if path.endswith("/") and len(path) > 1:
        path = path.rstrip("/")
    hit = built.files.get(path)
    if hit is None and path.startswith("/status/incidents/"):
        code = path.removeprefix("/status/incidents/")
        if code.isalnum() and len(code) <= 12:
            hit = built.story(code)
    return hit


async def current(cache: StatusCache) -> None:
    """Bring the copy up to date when it may be behind (one check at a time; a poll while another runs
    serves the copy there is)."""
    if cache.due() and (cache.built is None or cache.stale or not cache.refreshing.locked()):
        await anyio.to_thread.run_sync(cache.refresh)


def _headers(r: Rendered, length: int, packed: bool = False) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-type", r.content_type.encode()),
        (b"content-length", str(length).encode()),
        (b"etag", (r.etag[:-1] + '-gz"' if packed else r.etag).encode()),
        (b"vary", b"Accept-Encoding"),
        (b"last-modified", r.last_modified.encode()),
        (b"cache-control", b"public, max-age=10, stale-if-error=86400"),
        (b"access-control-allow-origin", b"*"),
        *ALWAYS,
    ]
    if r.content_type.startswith("text/html"):
        headers.append((b"content-security-policy", CSP.encode()))
    if packed:
        headers.append((b"content-encoding", b"gzip"))
    return headers


def _fresh(r: Rendered, if_none_match: str) -> bool:
    return any(t.strip().replace('-gz"', '"') == r.etag for t in if_none_match.split(","))


def _kind(r: Rendered, status: int, packed: bool) -> list[tuple[bytes, bytes]]:
    """The headers of one kind of answer of `r` (200 or 304, gzipped or not), made once per copy."""
    key = (status, packed)
    hit: list[tuple[bytes, bytes]] | None = r.memo.get(key)
    if hit is None:
        body = r.gzipped if packed and r.gzipped is not None else r.body
        hit = _headers(r, len(body), packed)
        if status == 304:
            hit = [h for h in hit if h[0] not in (b"content-length", b"content-type", b"content-encoding")]
        r.memo[key] = hit
    return hit


def answer(
    r: Rendered | None, if_none_match: str | None, head: bool, cache: StatusCache, gzip_ok: bool = False
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    if r is None:
        body = NOT_FOUND if cache.built is not None else UNAVAILABLE
        status = 404 if cache.built is not None else 503
        headers = [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            *ALWAYS,
        ]
        if status == 503:
            headers.append((b"retry-after", b"5"))
        return status, headers, b"" if head else body
    packed = gzip_ok and r.gzipped is not None
    if if_none_match is not None and _fresh(r, if_none_match):
        return 304, _kind(r, 304, packed), b""
    body = r.gzipped if packed and r.gzipped is not None else r.body
    return 200, _kind(r, 200, packed), b"" if head else body


STATUS_LINES = {200: b"HTTP/1.1 200 OK\r\n", 304: b"HTTP/1.1 304 Not Modified\r\n"}


def raw_answer(r: Rendered, if_none_match: str | None, head: bool, gzip_ok: bool) -> tuple[bytes, bytes, bytes]:
    """The same answer as HTTP/1.1 bytes: (status line, header lines, body), each made once per copy."""
    packed = gzip_ok and r.gzipped is not None
    status = 304 if if_none_match is not None and _fresh(r, if_none_match) else 200
    key = ("raw", status, packed)
    block: bytes | None = r.memo.get(key)
    if block is None:
        block = r.memo[key] = b"".join(k + b": " + v + b"\r\n" for k, v in _kind(r, status, packed))
    if status == 304 or head:
        return STATUS_LINES[status], block, b""
    return STATUS_LINES[status], block, r.gzipped if packed and r.gzipped is not None else r.body


def accepts_gzip(value: str | None) -> bool:
    """Whether Accept-Encoding allows gzip (a q=0 refuses it)."""
    if not value:
        return False
    for part in value.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def is_public_read(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
        return False
    return is_public_path(scope["path"])


PUBLIC_PREFIXES = ("/status/api/v2/", "/status/incidents/", "/status/history.")


def is_public_path(path: str) -> bool:
    return path in ("/status", "/status/") or path.startswith(PUBLIC_PREFIXES)


class Fast:
    """The public reads, answered from the in-memory copy without the middleware stack (and, in `warroom
    serve`, before any ASGI at all: see status_http.py, which calls `raw`)."""

    def __init__(self, cache: StatusCache) -> None:
        self.cache = cache

    def raw(self, head: bool, url: bytes, headers: list[tuple[bytes, bytes]]) -> tuple[bytes, bytes, bytes] | None:
        """The answer to a public read as bytes, when the copy in memory may answer it as it is; None sends the
        request the ASGI way (the copy must be checked against the database first, or it is not a public read,
        or not there)."""
        cache = self.cache
        if cache.built is None or (cache.due() and (cache.stale or not cache.refreshing.locked())):
            return None
        path = url.partition(b"?")[0]
        if not path.startswith(b"/status") or b"%" in path:
            return None
        text = path.decode("latin-1")
        if not is_public_path(text):
            return None
        r = _lookup(cache, text)
        if r is None:
            return None
        inm = enc = None
        for k, v in headers:
            if k == b"if-none-match":
                inm = v.decode("latin-1")
            elif k == b"accept-encoding":
                enc = v.decode("latin-1")
        return raw_answer(r, inm, head, accepts_gzip(enc))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await current(self.cache)
        inm = enc = None
        for k, v in scope["headers"]:
            if k == b"if-none-match":
                inm = v.decode("latin-1")
            elif k == b"accept-encoding":
                enc = v.decode("latin-1")
        status, headers, body = answer(
            _lookup(self.cache, scope["path"]), inm, scope["method"] == "HEAD", self.cache, accepts_gzip(enc)
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def _serve(request: Request) -> Response:
    cache = cache_of(request.app)
    await current(cache)
    status, headers, body = answer(
        _lookup(cache, request.url.path), request.headers.get("if-none-match"), request.method == "HEAD", cache
    )
    out = Response(content=body, status_code=status)
    out.raw_headers = [h for h in headers if h[0] not in ALWAYS_NAMES]
    return out


ALWAYS_NAMES = {k for k, _ in ALWAYS} | {b"content-security-policy"}


@public.get("/status", response_class=Response, responses={200: {"content": {"text/html": {}}}})
async def status_page(request: Request) -> Response:
    """The public status page (HTML): overall state, components with 90-day uptime, incidents, maintenance."""
    return await _serve(request)


@public.get("/status/incidents/{code}", response_class=Response, responses={200: {"content": {"text/html": {}}}})
async def status_story(code: str, request: Request) -> Response:
    """One incident's (or maintenance window's) public story."""
    return await _serve(request)


@public.get("/status/history.atom", response_class=Response, responses={200: {"content": {"application/atom+xml": {}}}})
async def status_atom(request: Request) -> Response:
    """Atom feed of incidents and maintenance."""
    return await _serve(request)


@public.get("/status/history.rss", response_class=Response, responses={200: {"content": {"application/rss+xml": {}}}})
async def status_rss(request: Request) -> Response:
    """RSS feed of incidents and maintenance."""
    return await _serve(request)


def _document(doc: str) -> None:
    async def handler(request: Request) -> Response:
        return await _serve(request)

    handler.__name__ = "statuspage_v2_" + doc.replace("/", "_").replace("-", "_").replace(".json", "")
    handler.__doc__ = f"Atlassian Statuspage v2 `{doc}`, field for field."
    public.add_api_route(
        f"/status/api/v2/{doc}",
        handler,
        methods=["GET"],
        response_class=Response,
        responses={200: {"content": {"application/json": {}}}},
    )


for _doc in DOCUMENTS:
    _document(_doc)


# --- subscribing (public) ---------------------------------------------------------------------------

TOKEN = Query(..., min_length=8, max_length=100, description="the secret from the mail's link")
HTML_OK: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}


def _page(heading: str, text: str, **form: str) -> HTMLResponse:
    return HTMLResponse(
        pages.message(page_name_and_url()[0], heading, text, **form), headers={"Cache-Control": "no-store"}
    )


@public.post("/status/subscribe", response_class=HTMLResponse, responses=HTML_OK)
def subscribe(
    c: Ctx,
    email: str = Form("", max_length=320),
    webhook: str = Form("", max_length=500),
    component: list[str] = Form([], max_length=50),
) -> HTMLResponse:
    """Ask for updates (all components, or those named) by e-mail, or at a webhook URL: a confirmation goes
    out first (the webhook's first POST carries its confirmation link)."""
    if webhook.strip() and not email.strip():
        subscribers.subscribe_webhook(c, webhook, component)
        return _page(
            "Check your webhook",
            "If that URL is not subscribed yet, it gets a POST whose subscription_confirmation.confirm_url "
            "confirms it. Nothing else is sent until that link's button is pressed.",
        )
    subscribers.subscribe(c, email, component)
    return _page(
        "Check your inbox",
        "If that address is not subscribed yet, a mail with a confirmation link is on "
        "its way. Nothing else is sent until you follow it.",
    )


@public.get("/status/subscribers/confirm", response_class=HTMLResponse, responses=HTML_OK)
def confirm_page(token: str = TOKEN) -> HTMLResponse:
    """The confirmation link's page: one button (so a mail scanner following links confirms nothing)."""
    return _page(
        "Confirm your subscription",
        "Press the button to start getting updates.",
        action="/status/subscribers/confirm",
        token=token,
        button="Confirm",
    )


@public.post("/status/subscribers/confirm", response_class=HTMLResponse, responses=HTML_OK)
def confirm(c: Ctx, token: str = Form(..., min_length=8, max_length=100)) -> HTMLResponse:
    if subscribers.confirm(c, token):
        return _page("You are subscribed", "You will get a mail for each update; each has a link to unsubscribe.")
    return _page(
        "That link is not valid",
        "It may be old, or the address was unsubscribed. Subscribe again from the status page.",
    )


@public.get("/status/subscribers/unsubscribe", response_class=HTMLResponse, responses=HTML_OK)
def unsubscribe_page(token: str = TOKEN) -> HTMLResponse:
    return _page(
        "Unsubscribe",
        "Press the button to get no more mail from this status page.",
        action="/status/subscribers/unsubscribe",
        token=token,
        button="Unsubscribe",
    )


@public.post("/status/subscribers/unsubscribe", response_class=HTMLResponse, responses=HTML_OK)
def unsubscribe(c: Ctx, token: str = Form(..., min_length=8, max_length=100)) -> HTMLResponse:
    if subscribers.unsubscribe(c, token):
        return _page("You are unsubscribed", "No more mail will come from this status page.")
    return _page("That link is not valid", "Nothing was changed.")


# --- admin -----------------------------------------------------------------------------------------


@admin.get("/components", response_model=list[ComponentView], responses=ERRORS)
def list_components(c: Ctx) -> list[ComponentView]:
    return components.list_components(c)


@admin.post("/components", response_model=ComponentView, status_code=201, responses=ERRORS)
def add_component(body: ComponentRequest, c: Ctx, who: Who) -> ComponentView:
    """A component (in a group, made if new); it shows on the page at once."""
    return components.add_component(c, body.model_copy(update={"by": who(body.by)}))


@admin.post("/components/{code}", response_model=ComponentView, responses=ERRORS)
def change_component(code: str, body: ComponentChange, c: Ctx, who: Who) -> ComponentView:
    """Describe, reorder or set the status of a component by hand."""
    return components.change_component(c, code, body.model_copy(update={"by": who(body.by)}))


@admin.post("/incidents/{incident_id}/posts", response_model=PostView, status_code=201, responses=ERRORS)
def post(incident_id: str, body: PostRequest, c: Ctx, who: Who) -> PostView:
    """Publish a status update: the incident's external update, with its public status and components."""
    return posts.post(
        c, incident_id, body.text, who(body.by), status=body.status, components=body.components, title=body.title
    )


@admin.get("/maintenances", response_model=list[MaintenanceView], responses=ERRORS)
def list_maintenances(c: Ctx) -> list[MaintenanceView]:
    return maintenance.list_maintenance(c)


@admin.post("/maintenances", response_model=MaintenanceView, status_code=201, responses=ERRORS)
def schedule(body: MaintenanceRequest, c: Ctx, who: Who) -> MaintenanceView:
    """Schedule a window; its components' alerts page nobody while it runs (a silence it owns)."""
    return maintenance.schedule(c, body.model_copy(update={"by": who(body.by)}))


@admin.post("/maintenances/{code}/status", response_model=MaintenanceView, responses=ERRORS)
def step(code: str, body: MaintenanceStep, c: Ctx, who: Who) -> MaintenanceView:
    """Start, verify, complete or cancel a window by hand (the clock starts and completes it on its own)."""
    return maintenance.advance(c, code, body.model_copy(update={"by": who(body.by)}))


@admin.get("/subscribers", response_model=list[SubscriberView], responses=ERRORS)
def list_subscribers(c: Ctx) -> list[SubscriberView]:
    """Every subscriber and what was delivered to them (sent, failed, pending, the last error)."""
    return subscribers.list_subscribers(c)


@admin.post("/subscribers", response_model=SubscriberView, status_code=201, responses=ERRORS)
def add_subscriber(body: SubscriberRequest, c: Ctx, who: Who) -> SubscriberView:
    """Add a webhook (confirmed at once) or an e-mail address (sent its confirmation), for all components or
    those named."""
    return subscribers.add(c, body.model_copy(update={"by": who(body.by)}))


@admin.get("/subscribers/{subscriber_id}", response_model=SubscriberView, responses=ERRORS)
def get_subscriber(subscriber_id: Id, c: Ctx) -> SubscriberView:
    return subscribers.get(c, subscriber_id)


@admin.get("/subscribers/{subscriber_id}/deliveries", response_model=list[DeliveryView], responses=ERRORS)
def subscriber_deliveries(
    subscriber_id: Id, c: Ctx, limit: int = Query(subscribers.DELIVERIES, ge=1, le=MOST)
) -> list[DeliveryView]:
    """The subscriber's delivery log, newest first: each message, its state, and every attempt with its error."""
    return subscribers.deliveries(c, subscriber_id, limit)


@admin.post("/subscribers/{subscriber_id}/remove", response_model=SubscriberView, responses=ERRORS)
def remove_subscriber(subscriber_id: Id, body: RemoveRequest, c: Ctx, who: Who) -> SubscriberView:
    """Remove a subscriber: nothing more is sent to it (its delivery log is kept)."""
    return subscribers.remove(c, subscriber_id, who(body.by))
