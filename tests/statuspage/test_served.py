"""The status page from real `warroom serve` processes: public without sign-in, from memory with ETag and
Cache-Control, following a post in the same process at once and in another process by its version check;
Statuspage JSON, feeds parsed by feedparser, the CLI, and a static export served by `python -m http.server`.
On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from tests.conftest import BACKENDS, START, Server, free_port, fresh_database, make_context
from tests.statuspage.helpers import SECRETS, secret_incident
from warroom.domain.clock import FakeClock, SystemClock
from warroom.intake import integrations
from warroom.store.unit import Context

DOCS = (
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
)


class Site:
    def __init__(self, url: str, a: Server, b: Server, ctx: Context) -> None:
        self.url, self.a, self.b, self.ctx = url, a, b, ctx


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    env = {"WARROOM_POLICY": "nself", "WARROOM_STATUS_NAME": "Acme"}
    a = Server(url, env, tmp_path / "a.log").start()
    b = Server(url, env, tmp_path / "b.log").start()
    ctx = make_context(url, "nself", FakeClock(START))
    ctx.clock = SystemClock()
    try:
        yield Site(url, a, b, ctx)
    finally:
        a.stop()
        b.stop()
        ctx.db.dispose()
        next(gen, None)


def _until(fetch: Any, test: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if test(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def _public(base: str) -> Iterator[tuple[str, httpx.Response]]:
    with httpx.Client(base_url=base, timeout=10) as anon:
        for path in ["/status", *(f"/status/api/v2/{d}" for d in DOCS), "/status/history.atom", "/status/history.rss"]:
            yield path, anon.get(path)
        for inc in anon.get("/status/api/v2/incidents.json").json()["incidents"]:
            yield inc["shortlink"], anon.get(f"/status/incidents/{inc['id']}")


def test_public_page_follows_posts_in_this_process_and_the_other(site: Site) -> None:
    anon = httpx.Client(base_url=site.a.base, timeout=10)
    first = anon.get("/status")
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/html")
    assert "All Systems Operational" in first.text
    assert first.headers["cache-control"].startswith("public, max-age=")
    assert "script-src 'self'" in first.headers["content-security-policy"]
    assert first.headers["content-encoding"] == "gzip" and first.headers["vary"] == "Accept-Encoding"
    plain = anon.get("/status", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == first.text
    again = anon.get("/status", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert anon.head("/status/api/v2/summary.json").status_code == 200

    with site.a.client() as api:
        for name in ("API", "Billing"):
            assert api.post("/api/v1/status/components", json={"name": name, "by": "alice"}).status_code == 201
        inc = secret_incident(site.ctx)
        token = integrations.add(site.ctx, "generic", "tests-generic", "tests").token
        alert = {
            "summary": "alertname=PgReplicationLag on db-primary-7.internal",
            "service": "billing",
            "severity": "critical",
        }
        assert api.post(f"/api/v1/alerts/generic?token={token}", json=alert).status_code == 202
        bad = api.post(f"/api/v1/status/incidents/{inc}/posts", json={"text": "x", "status": "fixed", "by": "alice"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["field"] == "status"
        missing = api.post(
            f"/api/v1/status/incidents/{inc}/posts",
            json={"text": "x", "components": {"Nope": "major_outage"}, "by": "alice"},
        )
        assert missing.status_code == 404
        posted = api.post(
            f"/api/v1/status/incidents/{inc}/posts",
            json={
                "text": "Payments fail for some customers.",
                "status": "identified",
                "components": {"Billing": "major_outage"},
                "title": "Payment failures",
                "by": "mallory-oncall",
            },
        )
        assert posted.status_code == 201, posted.text
    here = anon.get("/status/api/v2/summary.json").json()
    assert here["status"]["indicator"] == "critical"  # the same process: at once
    assert here["incidents"][0]["incident_updates"][0]["body"] == "Payments fail for some customers."
    there = _until(
        lambda: httpx.get(site.b.base + "/status/api/v2/summary.json").json(),
        lambda d: d["status"]["indicator"] == "critical",
    )
    assert there["status"]["indicator"] == "critical"  # the other process: by its version check
    assert there == here
    changed = anon.get("/status", headers={"If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200 and "Major System Outage" in changed.text and "Payment failures" in changed.text
    assert anon.get("/status/incidents/zzzzzzzzzzzz").status_code == 404

    seen = 0
    for path, resp in _public(site.a.base):
        assert resp.status_code == 200, path
        for secret in (*SECRETS, "Checkout errors", "mallory"):
            assert secret not in resp.text, f"{secret} reached {path}"
        seen += 1
    assert seen == 12

    feed = feedparser.parse(anon.get("/status/history.atom").content)
    assert feed.bozo == 0 and feed.feed.title == "Acme status - incident history"
    assert [e.title for e in feed.entries] == ["Payment failures"]
    assert feed.entries[0].link == here["incidents"][0]["shortlink"]
    rss = feedparser.parse(anon.get("/status/history.rss").content)
    assert rss.bozo == 0 and rss.version == "rss20" and rss.entries[0].title == "Payment failures"
    assert "Payments fail for some customers." in rss.entries[0].description
    anon.close()


def test_the_cli_posts_and_a_static_export_serves_without_warroom(site: Site, tmp_path: Path) -> None:
    with site.a.client() as api:
        assert api.post("/api/v1/status/components", json={"name": "API", "by": "alice"}).status_code == 201
    inc = secret_incident(site.ctx)
    env = {**site.a.env, **site.a.env_for("carol")}
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "warroom",
            "statuspage",
            "post",
            inc,
            "--status",
            "investigating",
            "-c",
            "API=partial_outage",
            "--title",
            "Slow API",
            "Requests are slow.",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    assert "posted investigating" in cli.stdout
    wrong = subprocess.run(
        [sys.executable, "-m", "warroom", "statuspage", "post", inc, "-c", "API", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode == 2 and wrong.stderr.count("\n") == 1 and "NAME=STATUS" in wrong.stderr

    out = tmp_path / "site"
    local = {k: v for k, v in site.a.env.items() if k != "WARROOM_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "warroom", "statuspage", "export", str(out)],
        env=local,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "files" in done.stdout
    port = free_port()
    static = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        page = _until(lambda: _get(base + "/status/"), lambda r: r is not None)
        assert page is not None and page.status_code == 200 and "Slow API" in page.text
        exported = httpx.get(base + "/status/api/v2/summary.json").json()
        live = httpx.get(site.a.base + "/status/api/v2/summary.json").json()
        assert exported == live
        code = exported["incidents"][0]["id"]
        story = httpx.get(f"{base}/status/incidents/{code}/")
        assert story.status_code == 200 and "Requests are slow." in story.text
        assert httpx.get(base + "/static/status.css").status_code == 200
        assert feedparser.parse(httpx.get(base + "/status/history.atom").content).entries[0].title == "Slow API"
    finally:
        static.terminate()
        static.wait(timeout=10)


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=2)
    except httpx.HTTPError:
        return None


def test_the_public_reads_answered_before_asgi_keep_http_semantics(tmp_path: Path) -> None:
    """`warroom serve` answers the public reads in its HTTP protocol (api/status_http.py): the same answers as
    the ASGI path, with a Date, keep-alive and pipelining kept, HTTP/1.0 closed, HEAD without a body, 304 on
    a known ETag, and what it declines (a 404, a non-public path, a query string with %-escapes) answered as
    before."""
    import socket

    url = f"sqlite:///{tmp_path / 'raw.db'}"
    from warroom.store.migrate import upgrade

    upgrade(url)
    srv = Server(url, {"WARROOM_POLICY": "nself", "WARROOM_STATUS_NAME": "Acme"}, tmp_path / "serve.log").start()
    try:
        first = httpx.get(srv.base + "/status/api/v2/status.json")  # built and checked: the next ones are raw
        assert first.status_code == 200
        time.sleep(0.1)

        def exchange(data: bytes, until_closed: bool = False) -> bytes:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=10) as s:
                s.sendall(data)
                got = b""
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    try:
                        chunk = s.recv(65536)
                    except TimeoutError:
                        break
                    if not chunk:
                        break
                    got += chunk
                    if not until_closed and got.count(b"HTTP/1.1 ") >= data.count(b"HTTP/1.") and got.endswith(b"}"):
                        break
                return got

        two = exchange(
            b"GET /status/api/v2/status.json HTTP/1.1\r\nHost: x\r\n\r\n"
            b"GET /status/api/v2/components.json?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        answers = two.split(b"HTTP/1.1 200 OK\r\n")
        assert len(answers) == 3, two[:500]
        assert b'"status":{"indicator":"none"' in answers[1] and b'"components":[]' in answers[2]
        head = answers[1].split(b"\r\n\r\n")[0].lower()
        assert b"\r\ndate: " in b"\r\n" + head and b"etag: " in head and b"x-content-type-options: nosniff" in head
        old = exchange(b"GET /status/api/v2/status.json HTTP/1.0\r\n\r\n", until_closed=True)
        assert old.startswith(b"HTTP/1.1 200 OK\r\n") and b"connection: close" in old.lower()
        assert old.endswith(b"}")  # the server closed the connection after the answer
        etag = first.headers["etag"]
        assert httpx.get(srv.base + "/status/api/v2/status.json", headers={"If-None-Match": etag}).status_code == 304
        bare = httpx.head(srv.base + "/status")
        assert bare.status_code == 200 and bare.content == b"" and int(bare.headers["content-length"]) > 1000
        assert httpx.get(srv.base + "/status/incidents/zzzzzzzzzzzz").status_code == 404
        assert httpx.get(srv.base + "/status/api/v2/summary%2Ejson").status_code == 200
        assert httpx.get(srv.base + "/healthz").status_code == 200
    finally:
        srv.stop()


def test_the_raw_answers_are_the_asgi_answers(ctx: Context) -> None:
    from warroom.api.status import Fast, answer
    from warroom.statuspage.cache import StatusCache
    from warroom.statuspage.settings import StatusSettings

    cache = StatusCache(ctx, StatusSettings(name="Acme"))
    try:
        cache.refresh()
        fast = Fast(cache)
        for path in ("/status", "/status/api/v2/summary.json", "/status/history.atom"):
            r = cache.built.files[path]  # type: ignore[union-attr]
            for gz, inm, head in [
                (False, None, False),
                (True, None, False),
                (True, None, True),
                (False, r.etag, False),
            ]:
                headers = [(b"accept-encoding", b"gzip")] if gz else []
                if inm:
                    headers.append((b"if-none-match", inm.encode()))
                raw = fast.raw(head, path.encode() + b"?q=1", headers)
                assert raw is not None
                status, lines, body = raw
                code, expected, expected_body = answer(r, inm, head, cache, gz)
                assert status.startswith(f"HTTP/1.1 {code} ".encode())
                assert lines == b"".join(k + b": " + v + b"\r\n" for k, v in expected) and body == expected_body
        assert fast.raw(False, b"/status/incidents/zzzzzzzzzzzz", []) is None  # a 404: the ASGI way
        assert fast.raw(False, b"/statuspage", []) is None and fast.raw(False, b"/status/a%2Fb", []) is None
        cache.mark_stale()
        assert fast.raw(False, b"/status", []) is None  # a change here: checked first, the ASGI way
    finally:
        cache.close()
