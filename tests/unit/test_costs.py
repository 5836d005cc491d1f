"""What applying costs (`writer.Costs`), fitted from passes: the backlog in seconds that back-pressure bounds.

Simulated passes: each is a count of requests, of alerts, and the seconds it took, so these tests time nothing.
"""

from __future__ import annotations

import pytest

from warroom.intake.writer import COST, REQUEST_COST, Costs


def singles(costs: Costs, seconds_each: float, passes: int = 300) -> None:
    for _ in range(passes):
        costs.ran(100, 100, 100 * seconds_each)  # passes of a hundred single-alert requests


def test_single_alerts_on_a_busy_machine_scale_both_costs_and_a_batch_after_them_is_not_overrated() -> None:
    """A flood of single alerts cannot tell a request's cost from an alert's. On a machine three times slower
    than the defaults assume (the flood competes with its own acceptance), both go up in proportion: the
    batches that come next are expected at about three times their quiet cost, not at the single alert's
    whole increase per alert (which put 176 batches of 100 at 3.4 s and pushed back a flood of them at once)."""
    costs = Costs()
    costs.ran(1, 1, 1.0)  # the cold pass (not counted)
    singles(costs, 490e-6)
    assert costs.seconds(1, 1) == pytest.approx(490e-6, rel=0.02), "a single alert costs what the passes took"
    assert costs.per_request / costs.per_alert == pytest.approx(REQUEST_COST / COST, rel=0.1)
    quiet = 176 * REQUEST_COST + 17_600 * COST
    assert costs.seconds(176, 17_600) == pytest.approx(quiet * 490e-6 / (REQUEST_COST + COST), rel=0.1)
    assert costs.seconds(176, 17_600) < 2.0


def test_a_request_cost_fitted_to_nothing_grows_again() -> None:
    """Passes of both shapes whose time is all per alert fit a request's cost at nothing. Single alerts that cost
    more come after them (a busier machine): their cost goes to requests as well, so a batch after them is not
    taken for a hundred single alerts."""
    costs = Costs()
    costs.ran(1, 1, 1.0)
    for _ in range(50):
        costs.ran(100, 100, 100 * 50e-6)
        costs.ran(20, 2000, 2000 * 50e-6)
    assert costs.per_request < 1e-6 and costs.per_alert == pytest.approx(50e-6, rel=0.05)
    singles(costs, 490e-6)  # long enough that the mixed passes weigh nothing any more
    assert costs.seconds(1, 1) == pytest.approx(490e-6, rel=0.05)
    assert costs.seconds(1, 100) < 0.5 * 100 * costs.seconds(1, 1), "the single alerts' cost went to requests too"


def test_passes_of_both_shapes_resolve_the_two_costs() -> None:
    costs = Costs()
    costs.ran(1, 1, 1.0)
    for _ in range(40):
        costs.ran(100, 100, 100 * (300e-6 + 60e-6))
        costs.ran(20, 2000, 20 * 300e-6 + 2000 * 60e-6)
    assert costs.per_request == pytest.approx(300e-6, rel=0.05)
    assert costs.per_alert == pytest.approx(60e-6, rel=0.05)


def batches(costs: Costs, seconds_each: float, passes: int) -> None:
    for _ in range(passes):
        costs.ran(20, 2000, 2000 * seconds_each)  # passes of twenty batches of a hundred


def test_one_slow_pass_does_not_swing_the_backlog_in_seconds() -> None:
    """A process's first passes decide its costs alone: one that waited on a busy machine (3.6 times the cost)
    put a backlog of 50,000 alerts at 7.6 s of applying where it took 2.4, and every replica pushed back."""
    costs = Costs()
    costs.ran(1, 1, 1.0)
    before = costs.seconds(500, 50_000)
    batches(costs, 3.6 * COST, 1)
    assert costs.seconds(500, 50_000) <= before * Costs.STEP * 1.001, "one pass moves the costs a step at most"
    batches(costs, 47e-6, 30)
    assert costs.per_alert == pytest.approx(47e-6, rel=0.05), "the passes after it decide"


def test_a_machine_ten_times_slower_is_followed_within_a_few_dozen_passes() -> None:
    """Passes of 20 to 40 ms: half the way in about half a second, all of it in two."""
    costs = Costs()
    costs.ran(1, 1, 1.0)
    batches(costs, COST, 20)
    batches(costs, 10 * COST, 16)
    assert costs.per_alert > 4.5 * COST
    batches(costs, 10 * COST, 50)
    assert costs.per_alert == pytest.approx(10 * COST, rel=0.05)
