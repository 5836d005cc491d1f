"""Any sequence of commands leaves an incident valid, with monotonic stamps and an entry per change."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.domain.errors import ServiceError
from warroom.domain.lifecycle import OPEN_STATUSES, Status
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest, IncidentView
from warroom.policy import load_policy
from warroom.store.db import Database
from warroom.store.migrate import upgrade
from warroom.store.unit import Context

Command = Callable[[Context, str], object]

COMMANDS: dict[str, Command] = {
    "ack": lambda c, i: service.acknowledge(c, i, "bob"),
    "investigating": lambda c, i: service.set_status(c, i, "investigating", "bob"),
    "identified": lambda c, i: service.set_status(c, i, "identified", "bob"),
    "mitigate": lambda c, i: service.mitigate(c, i, "rollback", True, "bob"),
    "mitigate_failed": lambda c, i: service.mitigate(c, i, "restart", False, "bob"),
    "resolve": lambda c, i: service.resolve(c, i, "bob"),
    "resolve_forced": lambda c, i: service.resolve(c, i, "bob", force=True, reason="verified"),
    "reopen": lambda c, i: service.reopen(c, i, "bob"),
    "close": lambda c, i: service.close(c, i, "bob"),
    "raise": lambda c, i: service.change_severity(c, i, "P0", "bob"),
    "lower": lambda c, i: service.change_severity(c, i, "P3", "bob"),
    "flag": lambda c, i: service.set_flags(c, i, {"auth_broken": True}, "bob"),
    "hypothesis": lambda c, i: service.add_hypothesis(c, i, "maybe DNS", "", 40, "bob"),
    "confirm": lambda c, i: service.set_hypothesis_status(c, i, 1, "confirmed", "bob"),
    "update": lambda c, i: service.post_update(c, i, "internal", "still investigating", "bob"),
    "log": lambda c, i: service.log(c, i, "looked at dashboards", "bob"),
    "role": lambda c, i: service.assign_role(c, i, "scribe", "carol", "bob"),
    "postmortem_done": lambda c, i: service.complete_postmortem(c, i, "bob", "https://wiki.example.com/pm"),
}

_tmp = Path(tempfile.mkdtemp(prefix="warroom-props-"))
_URL = f"sqlite:///{_tmp / 'props.db'}"
upgrade(_URL)
_CLOCK = FakeClock(datetime(2026, 5, 7, 9, 0, tzinfo=UTC))
_CTX = context(db=Database(_URL), policy=load_policy("nself"), clock=_CLOCK)


def _check(view: IncidentView) -> None:
    status = Status(view.status)
    assert (status in OPEN_STATUSES) == (view.resolved_at is None)
    if view.acknowledged_at:
        assert view.acknowledged_at >= view.declared_at
    if status not in (Status.TRIGGERED,):
        assert view.acknowledged_at is not None, "working on an incident acknowledges it"
    if view.mitigated_at and view.resolved_at:
        assert view.mitigated_at <= view.resolved_at
    if status is Status.CLOSED:
        assert view.closed_at is not None and view.resolved_at is not None
    if status is Status.MITIGATED:
        assert view.mitigated_at is not None and view.watch_started_at is not None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    severity=st.sampled_from(["P0", "P1", "P2", "P3"]),
    steps=st.lists(st.tuples(st.sampled_from(sorted(COMMANDS)), st.integers(0, 20)), max_size=14),
)
def test_any_command_sequence_keeps_the_incident_valid(severity: str, steps: list[tuple[str, int]]) -> None:
    iid = service.declare(_CTX, DeclareRequest(severity=severity, title="property", by="monitor")).id
    entries = len(service.timeline(_CTX, iid))
    for name, minutes in steps:
        _CLOCK.advance(timedelta(minutes=minutes))
        try:
            COMMANDS[name](_CTX, iid)
            changed = True
        except ServiceError:
            changed = False
        after = len(service.timeline(_CTX, iid))
        assert (after > entries) == changed, f"{name}: a change must add an entry, a refusal none"
        entries = after
        _check(service.get(_CTX, iid))
    stamps = [e.at for e in service.timeline(_CTX, iid)]
    assert stamps == sorted(stamps)
