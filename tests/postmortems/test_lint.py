"""The blameless and vagueness lint: warnings on blaming language aimed at a person and on action items
nobody could verify; specific, system-centred text passes clean."""

from __future__ import annotations

import pytest

from warroom.postmortems import lint


@pytest.mark.parametrize(
    "line",
    [
        "Root cause: human error during the deploy.",
        "It was Bob's fault for skipping the checklist.",
        "bob forgot to rotate the key.",
        "Alice broke the webhook signature check.",
        "The on-call was careless with the rollback.",
        "He should have known the key had expired.",
    ],
)
def test_blaming_a_person_is_flagged(line: str) -> None:
    found = lint.blame("# Postmortem\n\n" + line, ["alice", "bob"])
    assert len(found) == 1 and found[0].rule == "blame" and found[0].where == "line 3"


@pytest.mark.parametrize(
    "line",
    [
        "The deploy pipeline let an unsigned build through because the check was optional.",
        "bob rolled back the 02:40 deploy at 03:15 UTC.",
        "Alerting did not fire: the 401 rate had no alert rule.",
    ],
)
def test_system_centred_text_passes(line: str) -> None:
    assert lint.blame(line, ["alice", "bob"]) == []


@pytest.mark.parametrize(
    "item", ["Improve monitoring", "Be more careful", "Investigate the outage", "Better testing", "Fix it"]
)
def test_vague_action_items_warn(item: str) -> None:
    assert lint.vague(item) is not None
    assert lint.items([("item 1", item)])[0].rule == "vague"


@pytest.mark.parametrize(
    "item",
    [
        "Alert when webhook 401s exceed 1% for 5 minutes",
        "Add a canary stage to the billing deploy pipeline",
        "Improve monitoring: page when p99 latency on /pay exceeds 800 ms",
    ],
)
def test_specific_action_items_pass(item: str) -> None:
    assert lint.vague(item) is None


def test_warroom_and_integrations_are_systems_not_people() -> None:
    """A timeline's actors include warroom and the integrations whose alerts acted; naming them is not blame."""
    from warroom.domain import actors

    text = "prod-am failed to resolve the alert.\nwarroom missed the escalation.\nbob forgot the key."
    found = lint.blame(text, [actors.integration("prod-am"), actors.SYSTEM, "bob"])
    assert [w.where for w in found] == ["line 3"]
    assert not actors.is_person("integration prod-am") and not actors.is_person("warroom")
    assert actors.is_person("bot deploy-bot on behalf of alice") and actors.is_person("carol on behalf of alice")
