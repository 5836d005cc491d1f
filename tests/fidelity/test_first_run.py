"""Issue 17, point 5: a fresh install says who it will page (nobody) until `warroom setup` says who is
on call: through the CLI, /healthz of a real server, and the web page in Chromium, on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import Server

RECEIVER = "json://127.0.0.1:9/setup-test"  # never delivered here: nothing is declared after setup in these tests


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "WARROOM_DATABASE_URL": db_url, "WARROOM_URL": "", "WARROOM_POLICY": "nself"}
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: setup must never wait for input
        capture_output=True,
        text=True,
        timeout=120,
    )


SETUP = (
    "setup",
    "--oncall",
    "nself-primary=alice",
    "--contact",
    f"alice={RECEIVER}",
    "--war-room",
    RECEIVER,
    "--incidents",
    RECEIVER,
)


def test_first_run_through_the_cli(db_url: str) -> None:
    before = cli(db_url, "setup", "--if-needed")
    assert before.returncode == 0, before.stderr
    assert "paging: nobody is on call for nself-primary" in before.stderr
    assert "warroom setup \\\n    --oncall nself-primary=alice" in before.stderr, "it prints exactly how"
    declared = cli(db_url, "declare", "P1", "Billing down", "--by", "monitor")
    assert declared.returncode == 0, declared.stderr
    assert "declared INC-" in declared.stdout
    assert "warroom: warning: paging: nobody is on call for nself-primary; run `warroom setup`" in declared.stderr

    done = cli(db_url, *SETUP)
    assert done.returncode == 0, done.stderr
    assert "on call for nself-primary: alice" in done.stdout
    assert "channel war-room:" in done.stdout and "channel #incidents:" in done.stdout
    assert "paging: pages go to alice (nself-primary)" in done.stdout
    who = cli(db_url, "oncall")
    assert "alice" in who.stdout, who.stdout + who.stderr
    contacts = cli(db_url, "contact", "list")
    assert "alice" in contacts.stdout and "war-room" in contacts.stdout, contacts.stdout + contacts.stderr

    again = cli(db_url, "declare", "P1", "Billing down again", "--by", "monitor")
    assert again.returncode == 0 and "warning" not in again.stderr
    assert cli(db_url, "setup", "--if-needed").stdout.strip() == "paging: pages go to alice (nself-primary)"


def test_setup_refuses_what_the_policy_does_not_page(db_url: str) -> None:
    bad = cli(db_url, "setup", "--oncall", "someone-else=alice")
    assert bad.returncode == 2
    assert bad.stderr.strip() == (
        "warroom: --oncall: the nself policy pages no schedule 'someone-else'; it pages nself-primary, nself-backup"
    )
    malformed = cli(db_url, "setup", "--oncall", "nself-primary")
    assert malformed.returncode == 2 and "NAME=VALUE" in malformed.stderr
    url = cli(db_url, "setup", "--oncall", "nself-primary=alice", "--contact", "alice=not a url")
    assert url.returncode == 2 and url.stderr.startswith("warroom: ")


@pytest.fixture
def fresh_server(db_url: str) -> Iterator[Server]:
    srv = Server(db_url, {"WARROOM_POLICY": "nself", "WARROOM_ENGINE_ENABLED": "false"}).start()
    yield srv
    srv.stop()


def test_healthz_is_degraded_until_setup(fresh_server: Server, db_url: str) -> None:
    before = httpx.get(fresh_server.base + "/healthz", timeout=10)
    assert before.status_code == 200
    body = before.json()
    assert body["status"] == "degraded" and body["database"]["ok"] is True
    assert body["paging"] == "nobody is on call for nself-primary"
    assert "warroom setup" in body["fix"]
    assert cli(db_url, *SETUP).returncode == 0
    after = httpx.get(fresh_server.base + "/healthz", timeout=10).json()
    assert after["status"] == "ok" and after["paging"] == "ok" and "fix" not in after


def test_the_web_page_says_nobody_would_be_paged_until_setup(
    browser: object, fresh_server: Server, db_url: str
) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    page.goto(fresh_server.base + "/")
    banner = page.locator("#paging-banner")
    assert banner.is_visible()
    text = banner.text_content() or ""
    assert "nobody is on call for nself-primary" in text and "would page nobody" in text
    assert "warroom setup" in text
    assert cli(db_url, *SETUP).returncode == 0
    page.reload()
    page.wait_for_load_state()
    assert page.locator("#paging-banner").count() == 0
    page.close()
