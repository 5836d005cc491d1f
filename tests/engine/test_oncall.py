"""On-call schedules: rotations, layers, overrides; the store, the CLI, the API, and paging through them."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import ActAs, Server, sign_cli
from tests.engine.conftest import small_policy
from warroom.app import create_app
from warroom.domain.errors import Invalid, NotFound
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.oncall import rotation
from warroom.oncall import service as oncall
from warroom.oncall.directory import Directory
from warroom.oncall.rotation import DAY, WEEK, Layer, Override, Rota, RotationError
from warroom.oncall.schemas import LayerRequest, OverrideRequest
from warroom.settings import Settings
from warroom.store.engine_models import Page
from warroom.store.migrate import upgrade
from warroom.store.unit import Context


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def rota(*layers: Layer, zone: str = "UTC", overrides: tuple[Override, ...] = ()) -> Rota:
    return Rota("primary", zone, tuple(layers), overrides)


WEEKLY = Layer(1, ("ann", "ben", "cat"), WEEK, time(9, 0), date(2026, 5, 4))


# --- the pure rotation ------------------------------------------------------------------------


def test_weekly_rotation_hands_off_at_the_local_time() -> None:
    r = rota(WEEKLY, zone="Europe/Berlin")
    # 2026-05-04 09:00 in Berlin (summer time) is 07:00 UTC.
    assert rotation.who(r, at("2026-05-04T06:59Z")).person == "cat"  # the week before belongs to the last member
    assert rotation.who(r, at("2026-05-04T07:00Z")).person == "ann"
    assert rotation.who(r, at("2026-05-11T06:59Z")).person == "ann"
    now = rotation.who(r, at("2026-05-11T07:00Z"))
    assert (now.person, now.source, now.until) == ("ben", "layer 1", at("2026-05-18T07:00Z"))
    assert rotation.who(r, at("2026-05-25T07:00Z")).person == "ann"


def test_daily_rotation_keeps_local_handoff_across_daylight_saving() -> None:
    daily = Layer(1, ("ann", "ben"), DAY, time(9, 0), date(2026, 3, 27))
    r = rota(daily, zone="Europe/Berlin")
    # Clocks go forward on 2026-03-29: the 09:00 local handoff moves from 08:00 to 07:00 UTC.
    assert rotation.who(r, at("2026-03-28T08:00Z")).person == "ben"
    assert rotation.who(r, at("2026-03-29T07:00Z")).person == "ann"
    assert rotation.who(r, at("2026-03-29T06:59Z")).person == "ben"
    shifts = rotation.shifts(r, at("2026-03-28T12:00Z"), at("2026-03-30T12:00Z"))
    assert [(s.person, s.end) for s in shifts] == [
        ("ben", at("2026-03-29T07:00Z")),
        ("ann", at("2026-03-30T07:00Z")),
        ("ben", at("2026-03-30T12:00Z")),
    ]


def test_custom_length_rotation_counts_from_the_first_handoff() -> None:
    twelve = Layer(1, ("ann", "ben", "cat"), 12 * 3600, time(8, 0), date(2026, 5, 1))
    r = rota(twelve)
    assert rotation.who(r, at("2026-05-01T19:59Z")).person == "ann"
    assert rotation.who(r, at("2026-05-01T20:00Z")).person == "ben"
    assert rotation.who(r, at("2026-05-02T08:00Z")).person == "cat"
    assert rotation.who(r, at("2026-05-02T20:00Z")).person == "ann"


def test_a_higher_layer_wins_only_where_it_is_active() -> None:
    base = Layer(1, ("night",), WEEK, time(0, 0), date(2026, 5, 4))
    office = Layer(2, ("day",), WEEK, time(9, 0), date(2026, 5, 4), frozenset(range(5)), (time(9), time(17)))
    r = rota(base, office)
    assert rotation.who(r, at("2026-05-07T10:00Z")).person == "day"  # Thursday 10:00
    assert rotation.who(r, at("2026-05-07T17:00Z")).person == "night"
    assert rotation.who(r, at("2026-05-09T10:00Z")).person == "night"  # Saturday
    now = rotation.who(r, at("2026-05-08T16:00Z"))
    assert (now.person, now.until) == ("day", at("2026-05-08T17:00Z"))
    assert rotation.who(r, at("2026-05-08T17:00Z")).until == at("2026-05-11T09:00Z")  # over the weekend


def test_overnight_hours_wrap_past_midnight() -> None:
    nights = Layer(2, ("owl",), WEEK, time(0, 0), date(2026, 5, 4), None, (time(22), time(6)))
    r = rota(Layer(1, ("lark",), WEEK, time(0, 0), date(2026, 5, 4)), nights)
    assert [rotation.who(r, at(f"2026-05-05T{h}Z")).person for h in ("21:59", "22:00", "03:00", "06:00")] == [
        "lark",
        "owl",
        "owl",
        "lark",
    ]


def test_overrides_beat_layers_and_the_newest_override_wins() -> None:
    o1 = Override("olga", at("2026-05-07T12:00Z"), at("2026-05-07T18:00Z"), order=1)
    o2 = Override("pete", at("2026-05-07T14:00Z"), at("2026-05-07T15:00Z"), order=2)
    r = rota(WEEKLY, overrides=(o1, o2))
    assert [rotation.who(r, at(f"2026-05-07T{h}Z")).person for h in ("11:59", "12:00", "14:30", "15:00", "18:00")] == [
        "ann",
        "olga",
        "pete",
        "olga",
        "ann",
    ]
    assert rotation.who(r, at("2026-05-07T12:00Z")).until == at("2026-05-07T14:00Z")


def test_an_empty_schedule_has_nobody() -> None:
    r = rota(Layer(2, ("day",), WEEK, time(9), date(2026, 5, 4), frozenset({0}), None))
    assert rotation.who(r, at("2026-05-05T10:00Z")).person is None
    assert rotation.who(r, at("2026-05-05T10:00Z")).source == "nobody"


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=4),
    length=st.sampled_from([DAY, WEEK, 8 * 3600, 36 * 3600]),
    offset_minutes=st.integers(min_value=0, max_value=60 * 24 * 60),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_shifts_agree_with_who_at_every_moment(members: list[str], length: int, offset_minutes: int, zone: str) -> None:
    """The shift listing and the point query never disagree, and shifts tile the window exactly."""
    r = rota(Layer(1, tuple(members), length, time(9, 30), date(2026, 3, 1)), zone=zone)
    start = at("2026-03-01T00:00Z") + timedelta(minutes=offset_minutes)
    end = start + timedelta(days=3)
    shifts = rotation.shifts(r, start, end)
    assert shifts[0].start == start and shifts[-1].end == end
    for a, b in itertools.pairwise(shifts):
        assert a.end == b.start and a.person != b.person
    for s in shifts:
        assert rotation.who(r, s.start).person == s.person
        assert rotation.who(r, s.end - timedelta(seconds=1)).person == s.person


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: rotation.parse_length("30m"), "shorter than an hour"),
        (lambda: rotation.parse_length("fortnightly"), "daily, weekly or a duration"),
        (lambda: rotation.parse_days("mon-funday"), "weekdays"),
        (lambda: rotation.parse_hours("9-5"), "local range such as 09:00-17:00"),
        (lambda: rotation.check_zone("Mars/Olympus"), "unknown time zone"),
    ],
)
def test_bad_schedule_definitions_say_what_is_wrong(call: Callable[[], object], message: str) -> None:
    with pytest.raises(RotationError, match=message):
        call()


def test_days_read_and_print_as_ranges() -> None:
    assert rotation.format_days(rotation.parse_days("mon-fri")) == "mon-fri"
    assert rotation.format_days(rotation.parse_days("sat, sun,wed")) == "wed,sat-sun"
    assert rotation.parse_days("fri-mon") == frozenset({4, 5, 6, 0})


# --- the store and the engine ---------------------------------------------------------------


def test_schedules_are_stored_and_answer_who_is_on_call(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    oncall.set_layer(ctx, "primary", LayerRequest(members=["ann", "ben"], length="daily", start=date(2026, 5, 7)))
    oncall.set_layer(ctx, "backup", LayerRequest(members=["cat"], length="weekly", handoff="00:00"))
    oncall.add_override(
        ctx,
        "primary",
        OverrideRequest(person="olga", starts_at=at("2026-05-08T10:00Z"), ends_at=at("2026-05-08T12:00Z"), by="ann"),
    )
    now = oncall.who_is_on_call(ctx)
    assert [(v.schedule, v.person, v.targets) for v in now] == [
        ("primary", "ann", ["primary"]),
        ("backup", "cat", ["backup"]),
    ]
    later = {v.schedule: v for v in oncall.who_is_on_call(ctx, at("2026-05-08T11:00Z"))}
    assert (later["primary"].person, later["primary"].source) == ("olga", "override")
    view = oncall.get_schedule(ctx, "primary", days=2)
    assert [s.person for s in view.shifts] == ["ann", "ben", "olga", "ben", "ann"]
    oncall.set_layer(ctx, "primary", LayerRequest(members=["zoe"], length="weekly"))  # replaces layer 1
    assert oncall.get_schedule(ctx, "primary", 0).layers[0].members == ["zoe"]
    oncall.remove(ctx, "backup")
    assert [v.schedule for v in oncall.who_is_on_call(ctx)] == ["primary"]


def test_schedule_mistakes_are_refused(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    with pytest.raises(Invalid, match="kebab-case"):
        oncall.set_layer(ctx, "Primary On Call", LayerRequest(members=["ann"]))
    with pytest.raises(Invalid, match="unknown time zone"):
        oncall.set_layer(ctx, "primary", LayerRequest(members=["ann"], timezone="Nowhere/Land"))
    with pytest.raises(NotFound, match="warroom oncall set nobody"):
        oncall.add_override(
            ctx,
            "nobody",
            OverrideRequest(person="x", starts_at=at("2026-05-07T10:00Z"), ends_at=at("2026-05-07T11:00Z"), by="ops"),
        )
    oncall.set_layer(ctx, "primary", LayerRequest(members=["ann"]))
    with pytest.raises(Invalid, match="end after it starts"):
        oncall.add_override(
            ctx,
            "primary",
            OverrideRequest(person="x", starts_at=at("2026-05-07T10:00Z"), ends_at=at("2026-05-07T10:00Z"), by="ops"),
        )
    with pytest.raises(NotFound, match="no layer 3"):
        oncall.remove(ctx, "primary", 3)


def test_pages_resolve_through_schedules_people_and_channels(make_ctx: Callable[..., Context]) -> None:
    policy = small_policy(
        targets={
            "primary": {"via": "schedule", "ref": "primary"},
            "backup": {"via": "schedule", "ref": "no-such-schedule"},
            "lead": {"via": "channel", "ref": "leads"},
        }
    )
    ctx = make_ctx(policy)
    oncall.set_layer(ctx, "primary", LayerRequest(members=["ann", "ben"], length="daily", start=date(2026, 5, 7)))
    oncall.add_override(
        ctx,
        "primary",
        OverrideRequest(person="olga", starts_at=at("2026-05-07T14:00Z"), ends_at=at("2026-05-07T15:00Z"), by="ops"),
    )
    view = service.declare(ctx, DeclareRequest(severity="P0", title="Checkout down", by="mon"))
    loop = EngineLoop(ctx, worker_id="w", directory=Directory(), strict=True)
    loop.tick()
    for minutes in (5, 10):
        ctx.clock.set(view.declared_at + timedelta(minutes=minutes))  # type: ignore[attr-defined]
        loop.tick()
    with ctx.db.unit() as s:
        pages = [(p.target, p.person, p.channel, p.tier) for p in s.scalars(select(Page).order_by(Page.id))]
    assert pages == [("primary", "olga", None, 1), ("backup", None, None, 2), ("lead", None, "leads", 3)]
    timeline = [e.what for e in service.timeline(ctx, view.id) if e.kind == "page"]
    assert "no on-call schedule named 'no-such-schedule'" in timeline[1]


# --- the faces --------------------------------------------------------------------------------


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", *args],
        env={**os.environ, "COLUMNS": "200", "WARROOM_URL": "", **sign_cli(env, args)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_oncall_cli_sets_overrides_and_answers(tmp_path: Path, sqlite_template: Path) -> None:
    db = tmp_path / "cli.db"
    db.write_bytes(sqlite_template.read_bytes())
    env = {"WARROOM_DATABASE_URL": f"sqlite:///{db}", "WARROOM_POLICY": "nself"}
    empty = _cli(env, "oncall")
    assert empty.returncode == 0 and "no on-call schedules yet" in empty.stdout
    assert "pages these schedules: nself-primary (primary-on-call), nself-backup (backup-on-call)" in empty.stdout
    first = _cli(
        env, "oncall", "set", "nself-primary", "--members", "ann,ben", "--length", "weekly", "--start", "2026-05-04"
    )
    assert first.returncode == 0, first.stderr
    assert "nself-primary layer 1: ann, ben · weekly handoff 09:00 UTC from 2026-05-04" in first.stdout
    ok = _cli(
        env,
        "oncall",
        "override",
        "nself-primary",
        "--person",
        "olga",
        "--from",
        "2026-05-07T10:00Z",
        "--to",
        "2026-05-07T12:00Z",
    )
    assert ok.returncode == 0, ok.stderr
    then = _cli(env, "oncall", "--at", "2026-05-07T11:00Z")
    assert then.returncode == 0
    row = next(line for line in then.stdout.splitlines() if "nself-primary" in line)
    assert "primary-on-call" in row and "olga" in row and "override" in row and "2026-05-07 12:00 UTC" in row
    shown = _cli(env, "oncall", "show", "nself-primary", "--days", "1", "--at", "2026-05-07T00:00Z")
    assert shown.returncode == 0 and "override: olga" in shown.stdout
    bad = _cli(env, "oncall", "set", "x", "--members", "ann", "--hours", "nine-five")
    assert bad.returncode == 2 and bad.stderr.startswith("warroom: hours 'nine-five'")
    missing = _cli(env, "oncall", "show", "nope")
    assert missing.returncode == 2 and "no schedule named 'nope'" in missing.stderr
    bad_time = _cli(env, "oncall", "--at", "tomorrow")
    assert bad_time.returncode == 2 and "--at: 'tomorrow' is not a time" in bad_time.stderr


def test_oncall_api(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    app = create_app(Settings(engine_enabled=False), ctx)
    with TestClient(app) as http:
        http.auth = ActAs(ctx.db.url)
        put = http.put(
            "/api/v1/oncall/schedules/primary/layers/1",
            json={"members": ["ann", "ben"], "length": "daily", "start": "2026-05-07"},
        )
        assert put.status_code == 200, put.text
        assert put.json()["on_call"]["person"] == "ann"
        over = http.post(
            "/api/v1/oncall/schedules/primary/overrides",
            json={"person": "olga", "starts_at": "2026-05-07T15:00Z", "ends_at": "2026-05-07T16:00Z", "by": "ann"},
        )
        assert over.status_code == 201 and over.json()["person"] == "olga"
        who = http.get("/api/v1/oncall", params={"at": "2026-05-07T15:30Z"}).json()
        assert who == [
            {
                "schedule": "primary",
                "person": "olga",
                "source": "override",
                "until": "2026-05-07T16:00:00Z",
                "targets": ["primary"],
            }
        ]
        sched = http.get("/api/v1/oncall/schedules/primary", params={"days": 2}).json()
        assert [s["person"] for s in sched["shifts"]] == ["ann", "olga", "ann", "ben", "ann"]
        bad = http.put("/api/v1/oncall/schedules/primary/layers/1", json={"members": ["a"], "length": "5m"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
        assert "shorter than an hour" in bad.json()["detail"]
        assert http.get("/api/v1/oncall/schedules/nope").status_code == 404
        assert http.delete("/api/v1/oncall/schedules/primary").status_code == 204
        assert http.get("/api/v1/oncall").json() == []


def test_oncall_cli_through_a_server(tmp_path: Path) -> None:
    """With WARROOM_URL set, the on-call verbs go over HTTP and read the same."""
    url = f"sqlite:///{tmp_path / 'srv.db'}"
    upgrade(url)
    srv = Server(url, {"WARROOM_POLICY": "so1", "WARROOM_URL": ""}).start()
    try:
        env = {
            "WARROOM_URL": srv.base,
            "WARROOM_TEST_DB": url,
            "WARROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.db'}",
        }
        made = _cli(
            env, "oncall", "set", "so1-primary", "--members", "ann,ben", "--length", "12h", "--start", "2026-05-01"
        )
        assert made.returncode == 0, made.stderr
        assert "so1-primary layer 1: ann, ben · 12h handoff 09:00 UTC from 2026-05-01" in made.stdout
        who = _cli(env, "oncall", "--at", "2026-05-01T10:00Z")
        row = next(line for line in who.stdout.splitlines() if "so1-primary" in line)
        assert "on-call-engineer" in row and "ann" in row and "2026-05-01 21:00 UTC" in row
        over = _cli(env, "oncall", "override", "so1-primary", "--person", "cy", "--from", "+0m", "--to", "+1h")
        assert over.returncode == 0, over.stderr
        assert "cy" in _cli(env, "oncall").stdout
        missing = _cli(env, "oncall", "remove", "nope")
        assert missing.returncode == 2 and "no schedule named 'nope'" in missing.stderr
    finally:
        srv.stop()
