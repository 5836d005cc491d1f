"""Sign-in through a real `warroom serve`: the first admin, tokens (shown once, stored as a digest,
revocable), throttled passwords, bots and acting for someone, sign-in switched off, security headers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, Server, fresh_database

PROBLEM = "application/problem+json"


def cli(url: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_URL": "", "WARROOM_USER": "ops", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args], env=env, capture_output=True, text=True, timeout=60, input=stdin
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of its own on a database nobody has used: no users yet."""
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    srv = Server(url, {"WARROOM_POLICY": "nself"}, log=tmp_path / "serve.log").start()
    yield srv
    srv.stop()
    next(gen, None)


def _login_form(http: httpx.Client) -> str:
    page = http.get("/login")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1)


def sign_in(http: httpx.Client, name: str, password: str) -> httpx.Response:
    return http.post(
        "/login", data={"username": name, "password": password, "csrf_token": _login_form(http), "next": "/"}
    )


def test_the_first_start_makes_an_admin_with_a_one_time_password_shown_once(fresh: Server, tmp_path: Path) -> None:
    printed = fresh.log.read_text()
    match = re.search(r"one-time password\n\s+(\S+)\n", printed)
    assert match, printed
    assert "warroom user password admin" in printed
    with httpx.Client(base_url=fresh.base) as http:
        assert http.get("/api/v1/incidents").status_code == 401, "nothing is open by default"
        landed = sign_in(http, "admin", match.group(1))
        assert landed.status_code == 303 and landed.headers["location"] == "/account/password"
        assert http.get("/", follow_redirects=False).headers["location"] == "/account/password"
    fresh.stop()
    again = Server(fresh.db_url, {"WARROOM_POLICY": "nself"}, log=tmp_path / "second.log").start()
    try:
        assert "one-time password" not in again.log.read_text(), "shown once: a second start makes nobody"
    finally:
        again.stop()


def test_a_token_is_shown_once_stored_as_a_digest_and_stops_working_when_revoked(fresh: Server) -> None:
    assert cli(fresh.db_url, "user", "add", "dana", "--role", "responder").returncode == 0
    made = cli(
        fresh.db_url, "token", "create", "dana-laptop", "--role", "responder", "--user", "dana", "--expires", "90d"
    )
    assert made.returncode == 0, made.stderr
    token = next(line for line in made.stdout.splitlines() if line.startswith("wr_"))
    listed = cli(fresh.db_url, "token", "list")
    assert "dana-laptop" in listed.stdout and token not in listed.stdout
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=fresh.base, headers=auth) as http:
        made_inc = http.post("/api/v1/incidents", json={"severity": "P2", "title": "Token works", "by": "someone"})
        assert made_inc.status_code == 201, made_inc.text
        assert made_inc.json()["declared_by"] == "dana", "a personal token acts as its user, whatever `by` says"
        assert http.get("/api/v1/users").status_code == 403, "never above the role it was given"
        assert cli(fresh.db_url, "token", "revoke", "dana-laptop").returncode == 0
        deadline = time.monotonic() + 15  # a server trusts what it read of a token for 5 s
        status = 200
        while time.monotonic() < deadline and status != 401:
            status = http.get("/api/v1/incidents").status_code
            time.sleep(0.25)
        assert status == 401
        refused = http.get("/api/v1/incidents")
        assert refused.headers["content-type"].startswith(PROBLEM) and refused.json()["field"] == "Authorization"
    if fresh.db_url.startswith("sqlite"):
        stored = Path(fresh.db_url.removeprefix("sqlite:///")).read_bytes()
        for suffix in ("-wal", "-shm"):
            extra = Path(fresh.db_url.removeprefix("sqlite:///") + suffix)
            stored += extra.read_bytes() if extra.exists() else b""
        assert token.encode() not in stored
    else:
        dumped = subprocess.run(["pg_dump", fresh.db_url], capture_output=True, timeout=60, check=True).stdout
        assert token.encode() not in dumped and b"dana-laptop" in dumped
    assert token not in fresh.log.read_text()


def test_the_sixth_wrong_password_in_a_minute_is_refused_with_retry_after(fresh: Server) -> None:
    cli(fresh.db_url, "user", "password", "admin", stdin=PASSWORD + "\n")
    with httpx.Client(base_url=fresh.base) as http:
        codes = [sign_in(http, "admin", f"wrong password {i}").status_code for i in range(5)]
        assert codes == [401] * 5
        sixth = sign_in(http, "admin", PASSWORD)
        assert sixth.status_code == 429, "throttled even with the right password"
        assert 0 < int(sixth.headers["retry-after"]) <= 61
        assert "try again in" in sixth.text
    rows = cli(fresh.db_url, "audit", "--json").stdout
    assert rows.count('"sign in"') >= 6


def test_a_bot_and_an_admin_acting_for_someone_are_on_the_record_as_both(fresh: Server) -> None:
    cli(fresh.db_url, "user", "add", "erin", "--role", "responder")
    bot = cli(fresh.db_url, "token", "create", "pager-bridge", "--role", "admin", "--bot").stdout
    bot_token = next(line for line in bot.splitlines() if line.startswith("wr_"))
    cli(fresh.db_url, "user", "add", "frank", "--role", "admin")
    admin = cli(fresh.db_url, "token", "create", "frank-cli", "--role", "admin", "--user", "frank").stdout
    admin_token = next(line for line in admin.splitlines() if line.startswith("wr_"))
    with httpx.Client(base_url=fresh.base, headers={"Authorization": f"Bearer {bot_token}"}) as http:
        iid = http.post("/api/v1/incidents", json={"severity": "P1", "title": "Bridge", "by": "erin"}).json()["id"]
        assert http.get(f"/api/v1/incidents/{iid}").json()["declared_by"] == "bot pager-bridge on behalf of erin"
    with httpx.Client(base_url=fresh.base, headers={"Authorization": f"Bearer {admin_token}"}) as http:
        no_reason = http.post("/api/v1/auth/act-as", json={"user": "erin", "reason": " ", "minutes": 30})
        assert no_reason.status_code == 422 and no_reason.json()["field"] == "reason"
        grant = http.post("/api/v1/auth/act-as", json={"user": "erin", "reason": "erin is on a plane", "minutes": 30})
        assert grant.status_code == 201, grant.text
        acked = http.post(f"/api/v1/incidents/{iid}/ack", json={})
        assert acked.json()["acknowledged_by"] == "frank on behalf of erin"
        assert http.delete("/api/v1/auth/act-as").json() == {"ended": 1}
        http.post(f"/api/v1/incidents/{iid}/timeline", json={"what": "back as myself"})
        actors = [e["actor"] for e in http.get(f"/api/v1/incidents/{iid}/timeline").json()]
        assert "frank on behalf of erin" in actors and actors[-1] == "frank"
        audit = http.get("/api/v1/audit", params={"who": "frank"}).json()
        ack_row = next(a for a in audit if a["action"].endswith("/ack"))
        assert ack_row["on_behalf_of"] == "erin" and ack_row["result"] == "done" and ack_row["via"] == "token"
        assert ack_row["target"] == f"incident_id={iid}" and ack_row["address"] == "127.0.0.1"


def test_security_headers_on_pages_and_answers(fresh: Server) -> None:
    with httpx.Client(base_url=fresh.base) as http:
        page = http.get("/login")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert "<script>" not in page.text, "no inline scripts"
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie


def test_sign_in_switched_off_says_so_at_start_up_and_on_every_page(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "off.db"
    db.write_bytes(sqlite_template.read_bytes())
    srv = Server(f"sqlite:///{db}", {"WARROOM_POLICY": "nself", "WARROOM_AUTH": "off"}, log=tmp_path / "off.log")
    srv.start()
    try:
        assert "WARROOM_AUTH=off" in srv.log.read_text()
        with httpx.Client(base_url=srv.base) as http:
            assert "Sign-in is off" in http.get("/").text
            nameless = http.post("/api/v1/incidents", json={"severity": "P3", "title": "who?"})
            assert nameless.status_code == 422 and nameless.json()["field"] == "by", "never recorded as nobody"
            named = http.post("/api/v1/incidents", json={"severity": "P3", "title": "who?", "by": "gail"})
            assert named.json()["declared_by"] == "gail"
    finally:
        srv.stop()


def test_the_first_admins_sign_in_address_is_where_serve_listens(tmp_path: Path) -> None:
    """`warroom serve --port` (no WARROOM_PORT): the printed address is that port, not the default 8080; on a
    database not migrated yet, serve says what to run instead of starting and failing at every turn."""
    from tests.conftest import free_port

    port, log = free_port(), tmp_path / "serve.log"
    env = {k: v for k, v in os.environ.items() if k not in ("WARROOM_PORT", "WARROOM_HOST", "WARROOM_PUBLIC_URL")}
    env.update(WARROOM_DATABASE_URL=f"sqlite:///{tmp_path / 'w.db'}", WARROOM_POLICY="nself")
    refused = subprocess.run([sys.executable, "-m", "warroom", "serve", "--port", str(port)], env=env,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert refused.returncode == 2, refused.stderr
    assert "revision none (empty)" in refused.stderr and "warroom db upgrade" in refused.stderr
    subprocess.run([sys.executable, "-m", "warroom", "db", "upgrade"], env=env, check=True, capture_output=True)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "warroom", "serve", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "/login" not in log.read_text() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        printed = log.read_text()
        assert f"sign in at http://127.0.0.1:{port}/login" in printed, printed
        while time.monotonic() < deadline:  # the address is printed as it starts: then it answers there
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"nothing answered on port {port}: {log.read_text()}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
