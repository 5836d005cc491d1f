"""`warroom integration|alerts|silence` as a user runs them, locally and against a server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server, sign_cli
from tests.intake.conftest import unique


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        env={**os.environ, "COLUMNS": "200", **sign_cli(env, args)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def send(server: Server, headers: dict[str, str], body: dict[str, str]) -> dict[str, Any]:
    """Post one generic alert and wait until it is applied; its outcome."""
    resp = httpx.post(server.base + "/api/v1/alerts/generic", json=body, headers=headers, timeout=10)
    assert resp.status_code == 202, resp.text
    done = server.client().get(resp.headers["location"], params={"wait": 15}, timeout=20).json()
    assert done["status"] == "applied", done
    return done["outcomes"][0]  # type: ignore[no-any-return]


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # a face test: the API tests cover both backends
def test_integration_add_list_remove(server: Server) -> None:
    env = {"WARROOM_DATABASE_URL": server.db_url, "WARROOM_POLICY": "nself", "WARROOM_URL": ""}
    name = unique("cli")
    out = run(env, "integration", "add", "generic", name, "--by", "ops")
    assert out.returncode == 0, out.stderr
    token = next(line for line in out.stdout.splitlines() if line.startswith("wr_"))
    resp = httpx.post(server.base + "/api/v1/alerts/generic", json={"summary": "from cli test"},
                      headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
    assert resp.status_code == 202, resp.text
    listed = run(env, "integration", "list", "--json")
    entry = next(i for i in json.loads(listed.stdout) if i["name"] == name)
    assert entry["source"] == "generic" and entry["token_hint"] == token[:10] + "…"
    assert token not in listed.stdout, "the secret is shown once, at creation"
    assert run(env, "integration", "remove", name).returncode == 0
    again = run(env, "integration", "remove", name)
    assert again.returncode == 2 and f"no integration named '{name}'" in again.stderr


@pytest.fixture
def cli_env(server: Server, tmp_path: Path) -> dict[str, str]:
    """Against the server (WARROOM_URL); the integration test above covers the local database."""
    return {
        "WARROOM_URL": server.base,
        "WARROOM_TEST_DB": server.db_url,
        "WARROOM_DATABASE_URL": f"sqlite:///{tmp_path}/unused.db",
    }


@pytest.mark.parametrize("server", ["postgresql"], indirect=True)
def test_silences_alerts_and_groups_from_the_cli(cli_env: dict[str, str], server: Server,
                                                 server_tokens: dict[str, str]) -> None:  # fmt: skip
    service = unique("cli")
    added = run(cli_env, "silence", "add", f"service={service}", "env!=staging", "--for", "30m",
                "--comment", "deploy", "--by", "ops", "--json")  # fmt: skip
    assert added.returncode == 0, added.stderr
    silence = json.loads(added.stdout)
    assert silence["active"] and silence["created_by"] == "ops"

    headers = {"Authorization": f"Bearer {server_tokens['generic']}"}
    body = {"summary": "Deploy in progress", "service": service, "severity": "critical"}
    alert_id = send(server, headers, body)["id"]
    shown = run(cli_env, "alerts", "show", str(alert_id), "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["silence_id"] == silence["id"]
    assert run(cli_env, "silence", "expire", str(silence["id"]), "--by", "ops").returncode == 0

    info = {"summary": "Disk 60%", "service": service + "-disk", "severity": "info"}
    group_id = send(server, headers, info)["group_id"]
    declared = run(cli_env, "alerts", "declare", str(group_id), "--severity", "P2", "--reason", "spreading",
                   "--by", "ops", "--json")  # fmt: skip
    assert declared.returncode == 0, declared.stderr
    assert json.loads(declared.stdout)["incident_id"]
    refused = run(cli_env, "alerts", "dismiss", str(group_id))
    assert refused.returncode == 2 and "resolve or close the incident" in refused.stderr

    other = {"summary": "Disk 70% on the replica", "service": service + "-replica", "severity": "warning"}
    other_group = send(server, headers, other)["group_id"]
    incident = json.loads(declared.stdout)["incident_id"]
    linked = run(cli_env, "alerts", "link", str(other_group), incident, "--reason", "same disk", "--by", "ops",
                 "--json")  # fmt: skip
    assert linked.returncode == 0, linked.stderr
    assert json.loads(linked.stdout)["incident_id"] == incident
    unknown = run(cli_env, "alerts", "link", str(other_group), "INC-20990101-0001")
    assert unknown.returncode == 2 and "no incident INC-20990101-0001" in unknown.stderr


@pytest.mark.parametrize("server", ["sqlite", "postgresql"], indirect=True)
def test_what_became_of_a_webhook_from_the_cli(server: Server, server_tokens: dict[str, str]) -> None:
    service = unique("cli-req")
    resp = httpx.post(server.base + "/api/v1/alerts/generic", timeout=10,
                      json={"summary": "Checkout latency", "service": service, "severity": "critical"},
                      headers={"Authorization": f"Bearer {server_tokens['generic']}"})  # fmt: skip
    assert resp.status_code == 202, resp.text
    rid = str(resp.json()["request"])
    remote = {
        "WARROOM_URL": server.base,
        "WARROOM_TEST_DB": server.db_url,
        "WARROOM_DATABASE_URL": "sqlite:///unused.db",
    }
    local = {"WARROOM_URL": "", "WARROOM_DATABASE_URL": server.db_url, "WARROOM_POLICY": "nself"}
    for env in (remote, local):
        shown = run(env, "alerts", "request", rid, "--wait", "15", "--json")
        assert shown.returncode == 0, shown.stderr
        view = json.loads(shown.stdout)
        assert view["status"] == "applied" and view["outcomes"][0]["outcome"] == "new"
        human = run(env, "alerts", "request", rid)
        assert (
            human.returncode == 0
            and f"request {rid}: applied" in human.stdout
            and view["outcomes"][0]["incident_id"] in human.stdout
        )
        missing = run(env, "alerts", "request", "999999999")
        assert missing.returncode == 2 and "no intake request 999999999" in missing.stderr
    bad = run(local, "alerts", "request", rid, "--wait", "-1")
    assert bad.returncode == 2 and "wait" in bad.stderr.lower()
