"""The authorization matrix: every route of the API and the web against each role, read from the app's
own routes, so a route added without an access rule fails here. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.conftest import token_for
from warroom.access import rules
from warroom.app import create_app
from warroom.settings import Settings
from warroom.store.unit import Context

ROLES = ["viewer", "responder", "admin"]
RANK = {None: 0, "viewer": 1, "responder": 2, "admin": 3}
FRAMEWORK = {"/openapi.json", "/static", "/docs/assets"}
"""the OpenAPI document and the static assets: public, and not routed through the gate"""


def routes(app: Any) -> Iterator[tuple[str, str]]:
    for route in app.routes:
        for r in (getattr(route, "original_router", None) and route.original_router.routes) or [route]:
            if isinstance(r, APIRoute):
                for method in sorted(r.methods - {"HEAD"}):
                    yield method, r.path
            else:
                assert getattr(r, "path", None) in FRAMEWORK, f"{r} is not an APIRoute and not a known public route"


PUBLIC_ROUTES = {
    ("GET", "/healthz"),
    ("POST", "/api/v1/alerts/{source}"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
}
PUBLIC_ROUTES |= {("POST", "/api/v1/chatops/slack"), ("POST", "/api/v1/chatops/mattermost")}  # their own secrets
PUBLIC_ROUTES |= {("GET", "/ack/{token}"), ("POST", "/ack/{token}")}  # a page's signed single-use link
STREAMS = {"/api/v1/events"}
"""answers that never end (Server-Sent Events): only their status is read"""
OWN_SECRET = ("/api/v1/chatops/",)
"""public routes whose own secret (a platform's signature or token) refuses a request without it: 401"""


def expected(method: str, path: str) -> str:
    """The access policy, said a second time in words: what the README promises for each kind of route."""
    if (method, path) in PUBLIC_ROUTES:
        return rules.PUBLIC
    if path == "/status" or path.startswith("/status/"):
        return rules.PUBLIC  # the public status page: read by anyone, subscribed to by anyone
    if path.startswith(("/api/v1/users", "/api/v1/tokens", "/api/v1/audit", "/api/v1/auth/act-as")):
        return "admin"  # people, tokens, the audit log, acting for someone
    if path.startswith("/admin/"):
        return "admin"  # the web pages for users and tokens
    writes = method in ("POST", "PUT", "DELETE")
    if writes and path.startswith(("/api/v1/contacts", "/api/v1/oncall/schedules/{name}/layers")):
        return "admin"  # where notifications go, and who is on a rotation
    if writes and path == "/api/v1/oncall/schedules/{name}":
        return "admin"
    if path.startswith(("/api/v1/contacts", "/api/v1/dead-letters", "/api/v1/status/subscribers", "/statuspage/subs")):
        return "responder"  # contact points, raw rejected payloads and subscribers are not for every reader
    if not writes or path in ("/logout", "/account/password"):
        return "viewer"
    return "responder"  # acting on incidents, alerts, silences, overrides, notifications


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture
def http(ctx: Context) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=ctx.db.url, engine_enabled=False), context=ctx)
    with TestClient(app) as client:
        yield client


def test_every_route_has_a_rule_and_each_role_gets_exactly_what_it_allows(ctx: Context, http: TestClient) -> None:
    found = list(routes(http.app))
    assert len(found) > 80
    missing = [f"{m} {p}" for m, p in found if rules.need(m, p) is None]
    assert missing == [], f"routes without an access rule: {missing}"
    stale = sorted(f"{m} {p}" for m, p in set(rules.RULES) - set(found))
    assert stale == [], f"rules for routes that do not exist: {stale}"
    differ = [
        f"{m} {p}: {rules.need(m, p)}, expected {expected(m, p)}"
        for m, p in found
        if str(rules.need(m, p)) != expected(m, p)
    ]
    assert differ == [], differ
    headers = {None: {}} | {
        role: {"Authorization": f"Bearer {token_for(ctx.db.url, role + '-1', role)}"} for role in ROLES
    }
    wrong = []
    for method, path in found:
        need = rules.need(method, path)
        url = concrete(path)
        for role, hdrs in headers.items():
            kw: dict[str, Any] = {"headers": hdrs, "follow_redirects": False}
            if method != "GET":
                kw["json"] = {}
            if path in STREAMS:
                with http.stream(method, url, **kw) as streamed:
                    status, location = streamed.status_code, ""
            else:
                answer = http.request(method, url, **kw)
                status, location = answer.status_code, answer.headers.get("location", "")
            to_sign_in = status == 303 and location.startswith(("/login", "/account/password"))
            if need == rules.PUBLIC and path.startswith(OWN_SECRET):
                ok = status == 401  # unsigned: refused by the route itself, whoever is signed in
            elif need == rules.PUBLIC or RANK[role] >= RANK[str(need)]:
                ok = status not in (401, 403) and (not to_sign_in or path == "/logout")
            elif role is None:
                ok = status == 401 if path.startswith(("/api/", "/metrics")) else to_sign_in  # a page: sign in
            else:
                ok = status == 403
            if not ok:
                wrong.append(f"{role or 'anonymous'} {method} {path} -> {status} (needs {need})")
    assert wrong == []


def test_a_refusal_says_what_is_missing(ctx: Context, http: TestClient) -> None:
    anonymous = http.post("/api/v1/incidents", json={"severity": "P1", "title": "x"})
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["field"] == "Authorization"
    viewer = {"Authorization": f"Bearer {token_for(ctx.db.url, 'vic', 'viewer')}"}
    refused = http.post("/api/v1/incidents", json={"severity": "P1", "title": "x"}, headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "this needs the responder role; vic is a viewer"
    page = http.get("/incidents/INC-1", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/incidents/INC-1"
    assert http.get("/healthz").status_code == 200


def test_a_responder_silences_one_service_and_only_an_admin_silences_more(ctx: Context, http: TestClient) -> None:
    responder = {"Authorization": f"Bearer {token_for(ctx.db.url, 'rae', 'responder')}"}
    admin = {"Authorization": f"Bearer {token_for(ctx.db.url, 'ada', 'admin')}"}
    everything = {"matchers": ["alertname=~.+"], "duration": "24h"}
    refused = http.post("/api/v1/silences", json=everything, headers=responder)
    assert refused.status_code == 403 and refused.json()["field"] == "matchers"
    one = http.post("/api/v1/silences", json={"matchers": ["service=search"], "duration": "1h"}, headers=responder)
    assert one.status_code == 201, one.text
    assert one.json()["created_by"] == "rae"
    assert http.post("/api/v1/silences", json=everything, headers=admin).status_code == 201
