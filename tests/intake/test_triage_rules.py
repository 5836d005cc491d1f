"""The pure classifier: evidence, confidence, the uncertain rule, floors, thresholds, outcomes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from warroom.policy import load_policy
from warroom.policy import triage as tri
from warroom.policy.model import Policy, TriageMatch, TriageRule
from warroom.policy.triage import Signal, classify

NSELF = load_policy("nself")
SO1 = load_policy("so1")


def with_rules(policy: Policy, *rules: TriageRule) -> Policy:
    cls = policy.classification.model_copy(update={"rules": list(rules)})
    return policy.model_copy(update={"classification": cls})


def test_sender_severity_words_map_onto_the_policy() -> None:
    assert tri.hint_severity(NSELF, "critical") == ("P1", tri.HINT_CONFIDENCE)
    assert tri.hint_severity(NSELF, "error") == ("P2", tri.HINT_CONFIDENCE)
    assert tri.hint_severity(NSELF, "warning") == ("P3", tri.HINT_CONFIDENCE)
    assert tri.hint_severity(NSELF, "info") == ("P4", tri.HINT_CONFIDENCE)
    assert tri.hint_severity(SO1, "info") == ("SEV4", tri.HINT_CONFIDENCE)
    assert tri.hint_severity(NSELF, "SEV2") == ("P1", tri.NAMED_LEVEL_CONFIDENCE), "a policy alias"
    assert tri.hint_severity(NSELF, "banana") is None


def test_thresholds_read_both_ways() -> None:
    assert tri.excess(12, "< 1%") == 12
    assert tri.excess(90, "> 99%") == 99 / 90
    assert tri.excess(600, "500") == 1.2
    assert tri.excess(5, "five") is None


def test_no_evidence_is_the_middle_level_at_low_confidence() -> None:
    t = classify(SO1, [Signal(summary="something odd")])
    assert t.severity == "SEV2" and t.confidence == tri.DEFAULT_CONFIDENCE
    assert t.below_threshold and t.flags["investigation_required"] and t.escalate_to == ("engineering-lead",)


def test_evidence_combines_and_disagreement_costs_confidence() -> None:
    alone = classify(SO1, [Signal(summary="api errors", severity_hint="critical")])
    assert alone.severity == "SEV1" and alone.confidence == 60 and alone.below_threshold
    backed = classify(SO1, [Signal(summary="api errors", severity_hint="critical", value=12, threshold="< 1%")])
    assert backed.severity == "SEV1" and backed.confidence == 76 and not backed.below_threshold
    policy = with_rules(SO1, TriageRule(id="minor", match=TriageMatch(keywords=["api"]), severity="SEV3",
                                        confidence=50))  # fmt: skip
    split = classify(policy, [Signal(summary="api errors", severity_hint="critical")])
    assert split.severity == "SEV1" and split.confidence == 45, "60% × (1 - 50%/2)"


def test_uncertain_between_p1_and_p2_picks_p1() -> None:
    policy = with_rules(NSELF, TriageRule(id="billing-degraded", match=TriageMatch(service="billing"),
                                          severity="P2", confidence=70))  # fmt: skip
    t = classify(policy, [Signal(summary="billing slow", service="billing", severity_hint="critical")])
    assert t.severity == "P1", "P2 has more evidence, but the policy says pick P1 when torn between them"
    assert any(r.kind == "uncertain" and "picks P1" in r.detail for r in t.reasons)
    without = policy.model_copy(update={"classification": policy.classification.model_copy(update={"uncertain": None})})
    assert (
        classify(without, [Signal(summary="billing slow", service="billing", severity_hint="critical")]).severity
        == "P2"
    )


def test_floors_from_the_alerts_words() -> None:
    t = classify(NSELF, [Signal(summary="Sign-in failing with 500 for EU users", severity_hint="warning")])
    assert t.severity == "P1" and t.flags == {"auth_broken": True}
    assert [r.kind for r in t.reasons][-1] == "floor"
    leaked = classify(NSELF, [Signal(summary="AWS secret key leaked in public repo", severity_hint="info")])
    assert leaked.severity == "P0" and leaked.flags["credential_exposed"]
    fine = classify(NSELF, [Signal(summary="login latency up 10%", severity_hint="warning")])
    assert fine.severity == "P3" and not fine.flags


def test_outcomes_follow_the_policy() -> None:
    assert classify(SO1, [Signal(summary="x", severity_hint="info")]).outcome == "ticket"
    assert classify(NSELF, [Signal(summary="x", severity_hint="info")]).outcome == "none"
    low = classify(SO1, [Signal(summary="x", severity_hint="info")])
    assert not low.below_threshold, "a low-confidence ticket is not escalated as an incident"


def test_runbook_from_the_symptom_table() -> None:
    t = classify(SO1, [Signal(summary="API latency spike", description="slow query on orders")])
    assert t.runbook is not None and t.runbook.runbook == "slow-queries"
    assert classify(SO1, [Signal(summary="cpu hot")]).runbook is None


def test_several_alerts_agreeing_raise_confidence() -> None:
    one = classify(SO1, [Signal(summary="a", severity_hint="critical")])
    many = classify(SO1, [Signal(summary=f"a{i}", severity_hint="critical") for i in range(5)])
    assert many.confidence > one.confidence and any(r.kind == "agreement" for r in many.reasons)


@given(
    hints=st.lists(st.sampled_from(["critical", "error", "warning", "info", "P1", "bogus", None]), min_size=1,
                   max_size=5),
    value=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
    threshold=st.none() | st.sampled_from(["< 1%", "> 99%", "500", "n/a"]),
    words=st.text(max_size=80),
)  # fmt: skip
def test_always_a_known_level_and_a_sane_confidence(
    hints: list[str | None], value: float | None, threshold: str | None, words: str
) -> None:
    for policy in (NSELF, SO1):
        t = classify(policy, [Signal(summary=words, severity_hint=h, value=value, threshold=threshold) for h in hints])
        assert policy.severity(t.severity).name == t.severity
        assert 0 <= t.confidence <= 99
        assert t.outcome == policy.severity(t.severity).triage_outcome
        assert t.below_threshold == (
            t.outcome == "incident" and t.confidence < policy.classification.confidence_threshold
        )
