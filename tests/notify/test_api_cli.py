"""Contacts and notifications through the HTTP API and the CLI (local database and WARROOM_URL)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import ActAs, Server
from tests.notify.conftest import WebhookSink
from warroom.app import create_app
from warroom.cli import app as cli_app
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.notify import views
from warroom.notify.delivery import deliver_due
from warroom.notify.outbox import Message, enqueue
from warroom.notify.settings import NotifySettings
from warroom.settings import Settings, get_settings
from warroom.store.unit import Context


@pytest.fixture
def client(nctx: Context) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=nctx.db.url, engine_enabled=False), context=nctx)
    http = TestClient(app)
    http.auth = ActAs(nctx.db.url)
    yield http


def test_contacts_api(client: TestClient) -> None:
    r = client.put("/api/v1/contacts/people/alice", json={"display_name": "Alice", "timezone": "Europe/Berlin"})
    assert r.status_code == 200, r.text
    r = client.put("/api/v1/contacts/people/alice/methods/email", json={"url": "mailtos://alice:s3cret@example.com"})
    assert r.status_code == 200
    assert r.json()["methods"][0]["method"] == "email"
    assert "s3cret" not in r.text

    bad = client.put("/api/v1/contacts/people/alice/methods/sms", json={"url": "nonsense://x"})
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "Apprise does not understand 'nonsense://…'" in bad.json()["detail"]
    assert client.put("/api/v1/contacts/people/alice/methods/fax", json={"url": "json://h/x"}).status_code == 422
    assert client.put("/api/v1/contacts/people/bob/methods/email", json={"url": "json://h/x"}).status_code == 404
    assert client.put("/api/v1/contacts/people/carol", json={"timezone": "Mars/Olympus"}).status_code == 422

    rules = [{"severities": ["P0"]}, {"quiet_hours": "22:00-07:00"}]
    assert client.put("/api/v1/contacts/people/alice/rules", json=rules).status_code == 200
    wrong = client.put("/api/v1/contacts/people/alice/rules", json=[{"quiet_hours": "late"}])
    assert wrong.status_code == 422 and "22:00-07:00" in wrong.json()["detail"]

    r = client.put(
        "/api/v1/contacts/channels/%23incidents",
        json={"url": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ/#incidents", "fallback": "customer-email"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "#incidents"
    assert "TIiajkdnlazkcOXrIdevi7FQ" not in r.text
    r = client.put("/api/v1/contacts/channels/war-room", json={"url": "json://chat.example.com/rooms/{channel}"})
    assert r.status_code == 200 and r.json()["url"].endswith("/rooms/{channel}")
    assert client.put("/api/v1/contacts/channels/war-room", json={"url": "json://h/{oops}"}).status_code == 422

    listing = client.get("/api/v1/contacts").json()
    assert [p["name"] for p in listing["people"]] == ["alice"]
    assert [r["quiet_hours"] for r in listing["people"][0]["rules"]] == [None, "22:00-07:00"]
    assert [c["name"] for c in listing["channels"]] == ["#incidents", "war-room"]
    assert client.delete("/api/v1/contacts/channels/war-room").status_code == 204
    assert client.delete("/api/v1/contacts/people/alice").status_code == 204
    assert client.get("/api/v1/contacts").json()["people"] == []


def test_notifications_api(
    client: TestClient, nctx: Context, unwired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    iid = service.declare(nctx, DeclareRequest(severity="P2", title="Slow exports", by="mon")).id
    with nctx.db.unit() as s:
        enqueue(s, [Message("x:1", "#incidents", "test", "Hi", "there", incident_id=iid)], nctx.clock.now())
    deliver_due(nctx, "w1", settings=settings)

    failed = client.get("/api/v1/notifications", params={"state": "failed", "log": True}).json()
    assert [(n["destination"], n["state"]) for n in failed] == [("#incidents", "dead")]
    nid = failed[0]["id"]
    assert failed[0]["log"][0]["outcome"] == "unroutable"
    assert failed[0]["created_at"].endswith("Z")
    assert client.get("/api/v1/notifications", params={"incident": iid}).json()[0]["id"] == nid
    assert client.get("/api/v1/notifications", params={"incident": "INC-19990101-0001"}).json() == []
    assert client.get("/api/v1/notifications", params={"state": "lost"}).status_code == 422

    client.put("/api/v1/contacts/channels/%23incidents", json={"url": webhook.url("slack/incidents")})
    r = client.post(f"/api/v1/notifications/{nid}/retry", json={"by": "carol"})
    assert r.status_code == 200 and r.json()["state"] == "pending"
    again = client.post(f"/api/v1/notifications/{nid}/retry")
    assert again.status_code == 409 and "only failed, dead or unknown" in again.json()["detail"]
    deliver_due(nctx, "w1", settings=settings)
    one = client.get(f"/api/v1/notifications/{nid}").json()
    assert one["state"] == "sent" and [a["outcome"] for a in one["log"]] == ["unroutable", "retry", "sent"]
    assert client.get("/api/v1/notifications/999999").status_code == 404

    refused = client.post(f"/api/v1/incidents/{iid}/customer-email", json={"by": "carol"})
    assert refused.status_code == 409


def test_notifications_page_by_cursor(client: TestClient, nctx: Context) -> None:
    """Newest first, `Link: <...>; rel="next"` for the older ones, the filters kept; a cursor this list did not
    give out is a 422 naming it."""
    iid = service.declare(nctx, DeclareRequest(severity="P3", title="Many pages", by="mon")).id
    with nctx.db.unit() as s:
        messages = [Message(f"paged:{n}", "#incidents", "test", f"Hi {n}", "there", incident_id=iid) for n in range(5)]
        enqueue(s, messages, nctx.clock.now())
    whole = client.get("/api/v1/notifications", params={"incident": iid})
    assert "link" not in whole.headers
    ids = [n["id"] for n in whole.json()]
    assert len(ids) >= 5 and ids == sorted(ids, reverse=True)  # the five, and what declaring it sent
    pages: list[list[int]] = []
    resp = client.get("/api/v1/notifications", params={"incident": iid, "limit": 2})
    while True:
        assert resp.status_code == 200, resp.text
        pages.append([n["id"] for n in resp.json()])
        following = resp.links.get("next", {}).get("url")
        if not following:
            break
        assert following.startswith("/api/v1/notifications?") and f"incident={iid}" in following
        resp = client.get(following)
    assert pages == [ids[at : at + 2] for at in range(0, len(ids), 2)]
    alerts_cursor = base64.urlsafe_b64encode(b'["alerts", 12]').decode()
    for cursor in ("not a cursor", alerts_cursor):
        bad = client.get("/api/v1/notifications", params={"cursor": cursor})
        assert bad.status_code == 422 and bad.json()["field"] == "cursor", bad.text


# --- CLI ----------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, nctx: Context) -> Iterator[CliRunner]:
    monkeypatch.setenv("WARROOM_DATABASE_URL", nctx.db.url)
    monkeypatch.setenv("WARROOM_POLICY", "nself")
    monkeypatch.setenv("WARROOM_URL", "")
    monkeypatch.setenv("COLUMNS", "200")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_cli_contacts_and_notifications(
    cli: CliRunner, nctx: Context, webhook: WebhookSink, settings: NotifySettings, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        result = cli.invoke(cli_app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "alice [Europe/Berlin]" in run("contact", "add-person", "alice", "--name", "Alice", "--tz", "Europe/Berlin")
    assert "push json://" in run("contact", "add-method", "alice", "push", webhook.url("alice/push"))
    out = run("contact", "add-rule", "alice", "--severity", "P3", "--methods", "email")
    assert "1. P3: only email" in out
    out = run("contact", "add-rule", "alice", "--quiet", "22:00-07:00")
    assert "2. any severity: as the policy asks; quiet 22:00-07:00" in out
    bad = cli.invoke(cli_app, ["contact", "add-method", "alice", "sms", "nonsense://x"])
    assert bad.exit_code == 2 and "Apprise does not understand" in bad.output
    assert "#incidents → json://" in run(
        "contact",
        "add-channel",
        "#incidents",
        webhook.url("slack/incidents"),
        "--fallback",
        "#ops-low",
        "--attempts",
        "2",
    )

    file = tmp_path / "contacts.yaml"
    file.write_text(
        "people:\n"
        "  bob:\n"
        "    name: Bob\n"
        "    timezone: America/New_York\n"
        "    fallback: email\n"
        "    methods:\n"
        f"      push: {webhook.url('bob/push')}\n"
        "      email: mailto://bob:pw@example.com\n"
        "    rules:\n"
        "      - {severities: [P0]}\n"
        "      - {quiet_hours: '22:00-07:00'}\n"
        "channels:\n"
        f"  '#ops-low': {webhook.url('slack/ops-low')}\n"
        "  status-page: {url: 'json://status.example.com/hook', fallback: customer-email}\n",
        encoding="utf-8",
    )
    assert "2 people, 3 channels" in run("contact", "load", str(file))
    listing = json.loads(run("contact", "list", "--json"))
    bob = next(p for p in listing["people"] if p["name"] == "bob")
    assert (bob["timezone"], bob["fallback"], [m["method"] for m in bob["methods"]]) == (
        "America/New_York",
        "email",
        ["push", "email"],
    )
    assert "pw@" not in json.dumps(listing)
    assert {c["name"]: c["fallback"] for c in listing["channels"]}["status-page"] == "customer-email"
    broken = tmp_path / "broken.yaml"
    broken.write_text("people:\n  eve:\n    methods: {fax: 'json://x/y'}\n", encoding="utf-8")
    result = cli.invoke(cli_app, ["contact", "load", str(broken)])
    assert result.exit_code == 2 and "unknown method 'fax'" in result.output

    with nctx.db.unit() as s:
        (nid,) = enqueue(s, [Message("x:1", "nowhere", "test", "Lost", "body")], nctx.clock.now())
    deliver_due(nctx, "w1", settings=settings)
    failed = json.loads(run("notifications", "--failed", "--json"))
    assert [(n["id"], n["state"]) for n in failed] == [(nid, "dead")]
    table = run("notifications", "--failed")
    assert "no destination 'nowhere' is configured" in table
    assert "dead" in run("notifications", "show", str(nid))
    assert "queued again" in run("notifications", "retry", str(nid), "--by", "carol")
    assert views.get_notification(nctx, nid).state == "pending"
    again = cli.invoke(cli_app, ["notifications", "retry", str(nid)])
    assert again.exit_code == 2 and "only failed, dead or unknown" in again.output


@pytest.mark.parametrize("server", ["sqlite"], indirect=True)  # the HTTP path; backends are covered above
def test_cli_against_a_server(server: Server, monkeypatch: pytest.MonkeyPatch, webhook: WebhookSink) -> None:
    """WARROOM_URL: the same verbs over HTTP to a real `warroom serve`."""
    monkeypatch.setenv("WARROOM_URL", server.base)
    monkeypatch.setenv("WARROOM_TOKEN", server.token_for())
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        name = f"remote-{server.port}"
        r = runner.invoke(cli_app, ["contact", "add-person", name, "--tz", "Asia/Tokyo"])
        assert r.exit_code == 0, r.output
        r = runner.invoke(cli_app, ["contact", "add-method", name, "chat", webhook.url("remote/chat")])
        assert r.exit_code == 0 and "chat json://" in r.output
        r = runner.invoke(cli_app, ["contact", "add-rule", name, "--quiet", "23:00-06:00"])
        assert r.exit_code == 0 and "quiet 23:00-06:00" in r.output
        listing = json.loads(runner.invoke(cli_app, ["contact", "list", "--json"]).output)
        assert any(p["name"] == name and p["timezone"] == "Asia/Tokyo" for p in listing["people"])
        missing = runner.invoke(cli_app, ["notifications", "retry", "987654321"])
        assert missing.exit_code == 2 and "no notification 987654321" in missing.output
        assert runner.invoke(cli_app, ["notifications", "--json"]).exit_code == 0
        assert runner.invoke(cli_app, ["contact", "remove-person", name]).exit_code == 0
    finally:
        get_settings.cache_clear()
