"""The `warroom` CLI as a user runs it: a real process, against the local database or a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.conftest import Server, sign_cli


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        env={**os.environ, "COLUMNS": "200", **sign_cli(env, args)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(params=["local", "remote"])
def cli_env(request: pytest.FixtureRequest, server: Server, tmp_path: Path) -> dict[str, str]:
    """Local: the CLI opens the server's database itself. Remote: it talks HTTP to WARROOM_URL."""
    if request.param == "local":
        return {"WARROOM_DATABASE_URL": server.db_url, "WARROOM_POLICY": "nself", "WARROOM_URL": ""}
    return {
        "WARROOM_URL": server.base,
        "WARROOM_TEST_DB": server.db_url,
        "WARROOM_DATABASE_URL": f"sqlite:///{tmp_path}/unused.db",
    }


def test_cli_tour(cli_env: dict[str, str]) -> None:
    out = run(cli_env, "declare", "P1", "Billing webhooks failing", "--service", "billing", "--by", "monitor", "--json")
    assert out.returncode == 0, out.stderr
    iid = json.loads(out.stdout)["id"]

    ack = run(cli_env, "ack", iid, "--by", "bob")
    assert ack.returncode == 0 and f"{iid} acknowledged by bob" in ack.stdout
    again = run(cli_env, "ack", iid, "--by", "carol")
    assert again.returncode == 2
    assert again.stderr.strip() == f"warroom: {iid} was already acknowledged by bob"

    assert run(cli_env, "role", iid, "scribe", "carol", "--by", "bob").returncode == 0
    hyp = run(cli_env, "hypothesis", iid, "Signature check broke", "--confidence", "75", "--by", "bob")
    assert hyp.returncode == 0 and "H1" in hyp.stdout
    up = run(cli_env, "update", iid, "Rolling back the deploy", "--audience", "internal", "--by", "bob")
    assert up.returncode == 0 and "internal update #1" in up.stdout
    logged = run(cli_env, "log", iid, "Restarted the database container", "--outcome", "errors clearing", "--by", "bob")
    assert logged.returncode == 0 and logged.stdout.count("|") == 3
    assert run(cli_env, "mitigate", iid, "--strategy", "rollback", "--by", "bob").returncode == 0

    early = run(cli_env, "resolve", iid, "--by", "bob")
    assert early.returncode == 2 and "left" in early.stderr
    done = run(cli_env, "resolve", iid, "--force", "--reason", "confirmed by customer", "--by", "bob")
    assert done.returncode == 0 and "postmortem due" in done.stdout

    timeline = run(cli_env, "timeline", iid)
    lines = [line for line in timeline.stdout.splitlines() if line]
    odd = [line for line in lines if line.count(" | ") != 3 or not line[:9].endswith(" UTC")]
    assert not odd, odd
    assert "| bob | Restarted the database container | errors clearing" in timeline.stdout
    as_json = json.loads(run(cli_env, "timeline", iid, "--json").stdout)
    assert as_json[0]["kind"] == "declared"

    shown = run(cli_env, "show", iid)
    assert shown.returncode == 0 and "resolved" in shown.stdout
    listing = run(cli_env, "list", "--status", "all", "--q", "Billing webhooks")
    assert iid in listing.stdout
    brief = run(cli_env, "brief", iid)
    assert "Signature check broke" in brief.stdout
    drafted = run(cli_env, "draft", iid, "resolution", "--by", "bob")
    assert drafted.returncode == 0 and "RESOLVED — P1 resolved at" in drafted.stdout
    pm = run(cli_env, "postmortem", iid)
    assert pm.returncode == 0 and "## Post-Mortem: Billing webhooks failing" in pm.stdout
    assert "| bob | Restarted the database container" in pm.stdout
    closed = run(cli_env, "postmortem", iid, "--done", "--link", "https://wiki.example.com/pm/1", "--by", "alice")
    assert closed.returncode == 0 and "closed" in closed.stdout


def test_cli_bad_input_exits_2_with_one_line(cli_env: dict[str, str]) -> None:
    bad = run(cli_env, "declare", "P9", "x")
    assert bad.returncode == 2 and "unknown severity 'P9'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    empty = run(cli_env, "declare", "P1", "   ")
    assert empty.returncode == 2 and "title" in empty.stderr
    missing = run(cli_env, "ack", "INC-20990101-0001")
    assert missing.returncode == 2 and "no incident INC-20990101-0001" in missing.stderr


def declared(server: Server, prefix: str, count: int) -> str:
    """`count` P3 incidents of a new service, "<prefix> 0".. in declaration order; the service's name."""
    service = f"{prefix.lower()}-{uuid.uuid4().hex[:8]}"
    with server.client() as http:
        for n in range(count):
            body = {"severity": "P3", "title": f"{prefix} {n}", "service": service, "by": "monitor"}
            assert http.post("/api/v1/incidents", json=body).status_code == 201
    return service


def test_list_says_when_more_match_than_it_shows(cli_env: dict[str, str], server: Server) -> None:
    service = declared(server, "Listed", 4)
    short = run(cli_env, "list", "--service", service, "--limit", "3", "--json")
    assert short.returncode == 0, short.stderr
    assert [i["title"] for i in json.loads(short.stdout)] == ["Listed 0", "Listed 1", "Listed 2"]
    assert "more incidents match: these are the first 3 (--limit 30 shows more)" in short.stderr
    whole = run(cli_env, "list", "--service", service, "--limit", "4")
    assert whole.returncode == 0 and "Listed 3" in whole.stdout and "more incidents match" not in whole.stderr


@pytest.mark.parametrize("face", ["local", "remote"])
def test_list_follows_pages_past_one(face: str, server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past one page (1,000 incidents; 2 here) the CLI follows the cursor, locally and over HTTP alike."""
    from warroom.cli import backend, local
    from warroom.settings import Settings

    monkeypatch.setattr(backend, "PAGE", 2)
    monkeypatch.setattr(local, "PAGE", 2)
    service = declared(server, "Paged", 5)
    if face == "remote":
        monkeypatch.setenv("WARROOM_TOKEN", server.token_for())
        found = backend.Remote(server.base).search("open", None, service, None, 4)
    else:
        found = local.Local(Settings(database_url=server.db_url, policy="nself")).search("open", None, service, None, 4)
    assert [i.title for i in found] == ["Paged 0", "Paged 1", "Paged 2", "Paged 3"]
