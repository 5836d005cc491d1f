"""Report arithmetic: a hand-computed set of incidents through the real use cases (SQLite and PostgreSQL),
and properties of the figures (hypothesis): one incident's MTTR is its duration; adding an incident never
changes another's figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from warroom.domain.clock import FakeClock
from warroom.incidents import service as incidents
from warroom.incidents.schemas import DeclareRequest
from warroom.reports import figures
from warroom.reports import service as reports
from warroom.store.unit import Context

M = 60.0


def play(
    ctx: Context,
    clock: FakeClock,
    sev: str,
    ack: int | None,
    mitigate: int,
    resolve: int | None,
    service: str = "billing",
) -> str:
    """Declare now, then ack / mitigate / resolve that many minutes after declaring."""
    start = clock.now()
    inc = incidents.declare(
        ctx, DeclareRequest(severity=sev, title=f"{sev} {service} {start:%H%M}", service=service, by="monitor")
    )
    if ack is not None:
        clock.set(start + timedelta(minutes=ack))
        incidents.acknowledge(ctx, inc.id, "alice")
    clock.set(start + timedelta(minutes=mitigate))
    incidents.mitigate(ctx, inc.id, "rollback", True, "alice")
    if resolve is not None:
        clock.set(start + timedelta(minutes=resolve))
        incidents.resolve(ctx, inc.id, "alice", force=True, reason="checked by hand")
    clock.set(start + timedelta(hours=2))
    return inc.id


def test_a_hand_computed_set(ctx: Context, clock: FakeClock) -> None:
    # acks after 2, 4, 12 minutes; mitigated after 10, 20, 30; resolved after 30, 60, (not yet)
    play(ctx, clock, "P1", 2, 10, 30)
    play(ctx, clock, "P1", 4, 20, 60, service="search")
    play(ctx, clock, "P2", 12, 30, None)
    rep = reports.summary(ctx, since="30d")
    assert rep.incidents == 3 and rep.by_severity == {"P1": 2, "P2": 1}
    assert rep.mtta.count == 3 and rep.mtta.mean == 6 * M and rep.mtta.p50 == 4 * M and rep.mtta.p90 == 12 * M
    assert rep.mttm.mean == 20 * M and rep.mttm.p50 == 20 * M and rep.mttm.p90 == 30 * M
    assert rep.mttr.count == 2 and rep.mttr.mean == 45 * M and rep.mttr.p50 == 30 * M and rep.mttr.p90 == 60 * M
    assert rep.alerts_cleared_before_ack == 0
    # nself P1 acks within 5m: both met; P2 (15m): met. Mitigate P1 within 60m: met.
    ack_p1 = next(r for r in rep.sla if r.severity == "P1" and r.clock == "ack")
    assert (ack_p1.met, ack_p1.met_late, ack_p1.breached, ack_p1.compliance) == (2, 0, 0, 1.0)
    only_p1 = reports.summary(ctx, since="30d", severity="SEV2")  # an alias of P1
    assert only_p1.incidents == 2 and only_p1.mttr.mean == 45 * M
    search = reports.summary(ctx, since="30d", service="search")
    assert search.incidents == 1 and search.mtta.mean == 4 * M and search.mttr.mean == 60 * M
    assert {c.name: c.count for c in rep.services} == {"billing": 2, "search": 1}
    csv_lines = reports.to_csv(rep).splitlines()
    assert csv_lines[0].startswith("id,severity,service,declared_at,tta_seconds")
    assert csv_lines[1].split(",")[4:7] == ["120", "600", "1800"]


def test_since_and_severity_are_checked(ctx: Context) -> None:
    import pytest

    from warroom.domain.errors import Invalid

    for kwargs, field in (({"since": "soon"}, "since"), ({"since": "0m"}, "since"), ({"severity": "P9"}, "severity")):
        with pytest.raises(Invalid) as bad:
            reports.summary(ctx, **kwargs)
        assert bad.value.field == field


T0 = datetime(2026, 5, 1, tzinfo=UTC)
minutes = st.integers(min_value=0, max_value=10_000)


@st.composite
def incident_times(draw: st.DrawFn) -> figures.Times:
    declared = T0 + timedelta(minutes=draw(minutes))
    ack = draw(st.none() | minutes)
    mit = draw(st.none() | minutes)
    res = draw(st.none() | minutes)
    cleared = draw(st.none() | minutes)
    at = lambda m: None if m is None else declared + timedelta(minutes=m)  # noqa: E731
    return figures.Times(declared, at(ack), at(mit), at(res), at(cleared))


@given(incident_times())
def test_the_mttr_of_one_incident_is_its_duration(t: figures.Times) -> None:
    _, _, mttr = figures.summarise([t])
    if t.resolved_at is None:
        assert mttr.count == 0 and mttr.mean is None
    else:
        duration = (t.resolved_at - t.declared_at).total_seconds()
        assert mttr.count == 1 and mttr.mean == mttr.p50 == mttr.p90 == duration


@given(st.lists(incident_times(), max_size=12), incident_times())
def test_adding_an_incident_never_changes_another_ones_figures(ts: list[figures.Times], extra: figures.Times) -> None:
    before = [(figures.tta(t), figures.ttm(t), figures.ttr(t)) for t in ts]
    after = [(figures.tta(t), figures.ttm(t), figures.ttr(t)) for t in [*ts, extra]]
    assert after[: len(ts)] == before
    a, m, r = figures.summarise([*ts, extra])
    counts = [sum(x[i] is not None for x in after) for i in range(3)]
    assert (a.count, m.count, r.count) == tuple(counts)


@given(st.lists(st.floats(min_value=0, max_value=1e7), min_size=1, max_size=40))
def test_percentiles_are_measured_values_in_order(values: list[float]) -> None:
    s = figures.stat(values)
    assert s.p50 in values and s.p90 in values
    assert min(values) <= s.p50 <= s.p90 <= max(values)  # type: ignore[operator]


def test_alerts_cleared_before_an_ack_are_counted_apart() -> None:
    cleared = figures.Times(T0, None, T0 + timedelta(minutes=3), T0 + timedelta(minutes=20), T0 + timedelta(minutes=3))
    taken_late = figures.Times(
        T0, T0 + timedelta(minutes=9), T0 + timedelta(minutes=3), None, T0 + timedelta(minutes=3)
    )
    acked = figures.Times(T0, T0 + timedelta(minutes=2), T0 + timedelta(minutes=8), None, None)
    a, m, r = figures.summarise([cleared, taken_late, acked])
    assert figures.cleared_before_ack(cleared) and figures.cleared_before_ack(taken_late)
    assert (a.count, a.mean) == (1, 2 * M) and (m.count, m.mean) == (1, 8 * M)
    assert (r.count, r.mean) == (1, 20 * M)
