"""Admins add users and create tokens from the web (the same auth services as `warroom user`/`warroom token`):
the secret is shown once, in the answer to the POST, never cached, never in the server's log or the audit log.
Headless Chromium against a real `warroom serve`, SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import PASSWORD, Server
from tests.e2e.test_web import sign_in


def test_an_admin_adds_a_user_and_creates_a_token_shown_once(browser: Any, server: Server, tmp_path: Path) -> None:
    name = f"uma{uuid.uuid4().hex[:6]}"
    page = browser.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "adele")  # the tests' users are admins
    page.goto(server.base + "/admin/users")

    page.locator("#user-name").fill(name)
    page.locator("#user-email").fill(f"{name}@example.org")
    page.locator("#user-role").select_option("viewer")
    with page.expect_response(lambda r: r.url.endswith("/admin/users") and r.request.method == "POST") as answer:
        page.locator("#add-user-button").click()
    headers = answer.value.headers
    assert answer.value.status == 200
    assert headers["cache-control"] == "no-store" and headers["pragma"] == "no-cache"
    password = page.locator("#secret").input_value()
    assert len(password) >= 12 and "only time it is shown" in page.locator("#shown-once").text_content()
    page.screenshot(path=str(tmp_path / "user-added.png"))

    page.locator("#done").click()
    page.wait_for_url("**/admin/users")
    row = page.locator("#users tr", has_text=name)
    assert "viewer" in row.text_content() and f"{name}@example.org" in row.text_content()
    assert password not in page.content()

    page.locator("#token-name").fill(f"{name}-ci")
    page.locator("#token-role").select_option("viewer")
    page.locator("#token-user").select_option(name)
    page.locator("#token-expires").fill("30d")
    page.locator("#create-token-button").click()
    secret = page.locator("#secret").input_value()
    assert f"acts as {name}" in page.locator("#shown-once").text_content()
    assert "(admin)" in page.locator(".whoami").text_content()  # the header still names who is signed in
    page.screenshot(path=str(tmp_path / "token-created.png"))

    me = httpx.get(server.base + "/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["name"] == name and me.json()["role"] == "viewer"

    # The same name again: refused on the users page with the reason, what was typed kept, no secret shown.
    page.goto(server.base + "/admin/users")
    page.locator("#token-name").fill(f"{name}-ci")
    page.locator("#token-expires").fill("7d")
    page.locator("#create-token-button").click()
    page.wait_for_url("**/admin/users")
    assert "exists already" in page.locator("#error").text_content()
    assert page.locator("#token-expires").input_value() == "7d" and page.locator("#secret").count() == 0

    page.locator("#tokens tr", has_text=f"{name}-ci").locator("button").click()
    page.wait_for_url("**/admin/users")
    assert "revoked" in page.locator("#tokens tr", has_text=f"{name}-ci").text_content()
    assert httpx.get(server.base + "/api/v1/auth/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401

    log = server.log.read_text(errors="replace")
    assert secret not in log and password not in log
    with server.client() as api:
        audit = api.get("/api/v1/audit", params={"limit": 200}).text
    assert secret not in audit and password not in audit and "/admin/tokens" in audit

    # The new user signs in with the one-time password and is asked to choose their own.
    other = browser.new_page()
    other.goto(server.base + "/login")
    other.locator("#username").fill(name)
    other.locator("#password").fill(password)
    other.locator("#sign-in").click()
    other.wait_for_url("**/account/password**")
    other.close()
    page.close()


def test_only_an_admin_adds_users_or_creates_tokens(server: Server) -> None:
    from tests.conftest import token_for

    responder = {"Authorization": f"Bearer {token_for(server.db_url, 'rhea', 'responder')}"}
    for path, form in [("/admin/users", {"name": "x1", "role": "admin"}), ("/admin/tokens", {"name": "x1"})]:
        answer = httpx.post(server.base + path, data=form, headers=responder)
        assert answer.status_code == 403, answer.text
    assert PASSWORD  # the tests' users all share it; the one-time password above is not it
