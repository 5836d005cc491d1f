"""A flood never delays another outage: work that can page someone is applied before more of a flood.

The backlog is made the way a flood leaves it: request rows committed while no server runs, behind
an incident the flood's group already has. A server then applies it in passes of ten alerts. The
order is read from the alert rows' ids (taken in the order alerts are applied), never from a clock:
the alert of a new group comes before the flood's backlog, and a resolve in the flood still comes
after the fire it resolves (both backends).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS, Server, fresh_database
from tests.intake.conftest import Intake, make_tokens, start_server, unique
from tests.intake.test_inbox import left_behind
from warroom.intake.priority import Backlog, Cover, Shape
from warroom.policy import load_policy
from warroom.store.db import Database

SLOW = {"WARROOM_POLICY": "nself", "WARROOM_INTAKE_PROCESS_MAX": "10", "WARROOM_ENGINE_INTERVAL": "0.2"}
"""passes of ten alerts: a backlog of hundreds takes tens of passes, so order shows"""


@pytest.fixture(params=BACKENDS)
def flooded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str], str, str]]:
    """A database whose flood service already has its incident (declared through a real server), no server running."""
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    tokens = make_tokens(url, "nself")
    flood = unique("flood")
    srv, _ = start_server(url, "nself")
    api = Intake(srv, tokens)
    try:
        first = api.generic(summary=f"5xx on {flood}", service=flood, fingerprint=f"{flood}-first", severity="critical")
        incident = first["alerts"][0]["incident_id"]
        assert incident, "the flood's first alert declared its incident"
    finally:
        api.close()
        srv.stop()
    yield url, tokens, flood, incident
    next(gen, None)


def body(service: str, fingerprint: str, status: str = "firing", severity: str = "critical") -> bytes:
    return json.dumps({"summary": f"5xx on {service}", "service": service, "fingerprint": fingerprint,
                       "status": status, "severity": severity}).encode()  # fmt: skip


def alert_ids(url: str, *services: str) -> dict[str, list[tuple[int, str]]]:
    """Per fingerprint: its alert rows (id, status) in id order."""
    db = Database(url)
    found: dict[str, list[tuple[int, str]]] = {}
    try:
        with db.read() as session:
            for service in services:
                rows = session.execute(
                    text("SELECT id, fingerprint, status FROM alerts WHERE service = :s ORDER BY id"), {"s": service}
                )
                for rid, fp, status in rows:
                    found.setdefault(fp, []).append((int(rid), status))
    finally:
        db.dispose()
    return found


def apply_backlog(url: str, tokens: dict[str, str], ids: list[int]) -> list[dict[str, Any]]:
    srv = Server(url, SLOW).start()
    api = Intake(srv, tokens)
    try:
        return [api.applied(i, timeout=30) for i in ids]
    finally:
        api.close()
        srv.stop()


def test_a_new_group_during_a_flood_is_applied_before_the_floods_backlog(
    flooded: tuple[str, dict[str, str], str, str],
) -> None:
    url, tokens, flood, incident = flooded
    other = unique("checkout")
    bodies = [body(flood, f"{flood}-{n}") for n in range(200)]
    bodies.insert(120, body(other, f"{other}-down"))
    ids = left_behind(url, bodies, "prod-am")
    done = apply_backlog(url, tokens, ids)
    news = done[120]["outcomes"][0]
    assert news["outcome"] == "new" and news["incident_id"] not in (None, incident), "its own incident"
    assert all(d["outcomes"][0]["incident_id"] == incident for n, d in enumerate(done) if n != 120)
    rows = alert_ids(url, flood, other)
    first_flood = min(rows[f"{flood}-{n}"][0][0] for n in range(200))
    assert rows[f"{other}-down"][0][0] < first_flood, "the other outage went before the 120 flood alerts sent before it"
    alone = done[120]["processed_at"]
    assert all(d["processed_at"] != alone for n, d in enumerate(done) if n != 120), (
        "its pass took it alone: the flood's alerts did not hold back its commit, and so its page"
    )


def test_a_resolve_in_a_flood_keeps_its_place_after_the_fire_it_resolves(
    flooded: tuple[str, dict[str, str], str, str],
) -> None:
    url, tokens, flood, _ = flooded
    other = unique("search")
    bodies = [body(flood, f"{flood}-{n}") for n in range(150)]
    bodies[40] = body(flood, f"{flood}-x")
    bodies[100] = body(flood, f"{flood}-x", status="resolved")
    bodies.insert(110, body(other, f"{other}-down"))
    ids = left_behind(url, bodies, "prod-am")
    done = apply_backlog(url, tokens, ids)
    assert done[40]["outcomes"][0]["outcome"] == "new" and done[100]["outcomes"][0]["outcome"] == "resolved"
    rows = alert_ids(url, flood, other)
    assert [status for _, status in rows[f"{flood}-x"]] == ["resolved"], "one row: fired, then resolved"
    after = [rows[f"{flood}-{n}"][0][0] for n in range(101, 150) if n != 110 and f"{flood}-{n}" in rows]
    assert after and rows[f"{other}-down"][0][0] < min(after), "still ahead of the flood sent after the resolve"


def test_the_order_follows_alerts_groups_and_incidents_shared_with_earlier_routine_work() -> None:
    """The order itself, without a database: a storm's incident joins groups a and b; c has an incident of its own."""
    policy = load_policy("so1")
    cover = Cover(policy, {"service=a": ("INC-1", "SEV2"), "service=b": ("INC-1", "SEV2"),
                           "service=c": ("INC-2", "SEV2")})  # fmt: skip
    flood_a, flood_b, flood_c = (Shape(True, frozenset({f"service={g}"}), frozenset()) for g in "abc")
    new = Shape(True, frozenset({"service=n"}), frozenset())
    resolve_a = Shape(False, frozenset({"service=a"}), frozenset())
    worse_c = Shape(True, frozenset({"service=c"}), frozenset({"critical"}))
    backlog = Backlog()
    for rid, shape, key in ((1, flood_c, "c1"), (2, flood_b, "b1"), (3, flood_a, "a1"), (4, flood_b, "b2"),
                            (5, new, "n1"), (6, resolve_a, "a9"), (7, flood_b, "b3"), (8, flood_c, "c2"),
                            (9, worse_c, "c3")):  # fmt: skip
        backlog.add(rid, 1, shape, {key})
    assert cover.routine(flood_a) and cover.routine(flood_b) and cover.routine(flood_c)
    assert not cover.routine(new) and not cover.routine(resolve_a)
    assert not cover.routine(worse_c), "its sender rates it worse than the incident: it can raise the severity"
    order = list(backlog.order(cover))
    assert order[0] == 5, "the new group goes first: nothing before it shares anything with it"
    assert order[1:5] == [2, 3, 4, 6], "the resolve follows the routine work of its incident (storm-joined b too)"
    assert order[5:8] == [1, 8, 9], "the worse alert follows its group's earlier flood, not the other incident's"
    assert order == [5, 2, 3, 4, 6, 1, 8, 9, 7], "then the rest of the flood, oldest first"


def test_of_a_new_groups_flood_only_the_first_goes_ahead_of_routine_work() -> None:
    """The first request of a new group's flood opens the group and declares; the rest fire into what it opened, so
    they wait with the routine work and the pass that declares is short. A group that exists without an incident
    (a ticket) keeps every request ahead: any of them may be the one that pages."""
    policy = load_policy("so1")
    cover = Cover(policy, {"service=a": ("INC-1", "SEV2")}, {"service=a", "service=t"})
    flood_a, new_n, ticket_t, new_m = (Shape(True, frozenset({f"service={g}"}), frozenset()) for g in "antm")
    backlog = Backlog()
    for rid, shape in ((1, flood_a), (2, ticket_t), (3, new_n), (4, flood_a), (5, new_n), (6, ticket_t), (7, new_n),
                       (8, new_m)):  # fmt: skip
        backlog.add(rid, 1, shape, {f"k{rid}"})
    assert backlog.urgent(cover) == {2, 3, 6, 8}
    assert list(backlog.order(cover)) == [2, 3, 6, 8, 1, 4, 5, 7]
    assert backlog.buckets[new_n].rids == [3, 5, 7], "ordering changes no bucket"


def test_a_request_read_twice_is_held_once_and_forgotten_once() -> None:
    """A pass in a worker thread reads a request its own server committed meanwhile; the server then reads it
    for its priority too. Held twice, forgetting it left it in its bucket without a size, and every later pass
    that ordered the backlog failed (KeyError) and fell back to one request per transaction."""
    policy = load_policy("so1")
    flood = Shape(True, frozenset({"service=a"}), frozenset())
    other = Shape(True, frozenset({"service=b"}), frozenset())
    backlog = Backlog()
    backlog.add(1, 1, flood, {"a1"})
    backlog.add(2, 1, flood, {"a2"})
    backlog.add(2, 1, flood, {"a2"}, advance=False)
    backlog.add(1, 1, other, {"b1"}, advance=False)
    assert len(backlog) == 2 and backlog.buckets[flood].rids == [1, 2] and other not in backlog.buckets
    backlog.forget([1, 2])
    backlog.add(3, 1, flood, {"a3"})
    assert list(backlog.order(Cover(policy, {}))) == [3], "nothing forgotten is left behind to be ordered"
