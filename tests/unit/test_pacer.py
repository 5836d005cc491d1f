"""When intake applies what it accepted: at once while webhooks are few, within its share while many keep coming.

Simulated time: the pacer takes monotonic seconds as arguments, so these tests time nothing.
"""

from __future__ import annotations

import pytest

from warroom.intake.writer import BURST, Pacer


def simulate(pacer: Pacer, rate: float, seconds: float, pass_seconds: float) -> tuple[float, float]:
    """Webhooks at `rate` a second; a pass of `pass_seconds` whenever the pacer allows one.

    Returns the time spent applying, and the longest a pass waited while it was due.
    """
    now, applied, longest, next_arrival = 0.0, 0.0, 0.0, 0.0
    due_since: float | None = None
    step = min(1 / rate, pass_seconds) / 4
    while now < seconds:
        while next_arrival <= now:
            pacer.arrived(next_arrival)
            next_arrival += 1 / rate
        busy = pacer.busy(now)
        if not busy or pacer.wait(now) == 0:
            if due_since is not None:
                longest = max(longest, now - due_since)
            pacer.ran(pass_seconds, now + pass_seconds, busy)
            applied += pass_seconds
            now += pass_seconds
            due_since = now
        else:
            now += step
    return applied, longest


@pytest.mark.parametrize("share", [0.1, 0.25, 0.5])
def test_while_many_webhooks_keep_coming_applying_keeps_to_its_share(share: float) -> None:
    applied, _ = simulate(Pacer(share), rate=10_000, seconds=5.0, pass_seconds=0.005)
    assert share * 5.0 - 0.01 <= applied <= share * 5.0 + BURST + 0.005 + 1e-6  # a pass may overrun by itself


def test_while_webhooks_are_few_every_pass_runs_at_once() -> None:
    pacer = Pacer(0.25)
    applied, longest = simulate(pacer, rate=20, seconds=5.0, pass_seconds=0.04)
    assert longest == 0 and applied == pytest.approx(5.0, abs=0.05), "a quiet server applies at full speed"


def test_a_storm_is_applied_at_once_then_paced_and_at_full_speed_when_it_ends() -> None:
    pacer = Pacer(0.25)
    for i in range(200):  # 200 webhooks in 20 ms
        pacer.arrived(i / 10_000)
    assert pacer.busy(0.02)
    assert pacer.wait(0.02) == 0, "the storm's first pass runs at once"
    pacer.ran(0.1, 0.12, busy=True)  # a pass of 100 ms: twice the burst
    assert pacer.wait(0.12) == pytest.approx(0.1), "then it waits until its share has paid for that pass"
    assert pacer.wait(0.22) == pytest.approx(0, abs=1e-9)
    assert not pacer.busy(0.25), "200 ms after the last webhook the server is quiet again"


@pytest.mark.parametrize(("pressure", "waits"), [(0.0, 0.19 / 0.2), (0.5, 0.07 / 0.6), (1.0, 0.0), (3.0, 0.0)])
def test_applying_takes_more_of_the_time_as_the_backlog_nears_its_bound(pressure: float, waits: float) -> None:
    pacer = Pacer(0.2)
    for i in range(200):  # 200 webhooks in 20 ms
        pacer.arrived(i / 10_000)
    assert pacer.wait(0.02, pressure) == 0
    pacer.ran(0.3, 0.32, busy=True)  # a pass of 300 ms: 250 ms past the burst
    # The share is 0.2 with no backlog, 0.2 + 0.8 / 2 at half the bound, and all of the time at the bound and
    # past it, where the pass has paid for itself as it ran.
    assert pacer.wait(0.32, pressure) == pytest.approx(waits, abs=1e-9)


@pytest.mark.parametrize("pressure", [0.0, 0.5, 1.0])
def test_under_pressure_applying_gets_its_grown_share(pressure: float) -> None:
    pacer = Pacer(0.2)
    now, applied, arrival = 0.0, 0.0, 0.0
    while now < 5.0:
        while arrival <= now:
            pacer.arrived(arrival)
            arrival += 1 / 10_000
        if pacer.wait(now, pressure) == 0:
            pacer.ran(0.005, now + 0.005, True)
            applied += 0.005
            now += 0.005
        else:
            now += 0.00025
    share = 0.2 + 0.8 * pressure
    assert share * 5.0 - 0.01 <= applied <= share * 5.0 + BURST + 0.005 + 1e-6
