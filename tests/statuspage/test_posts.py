"""Components and public posts from an incident's external updates, on SQLite and PostgreSQL: the overall
state follows the worst component, transitions hold, and nothing internal reaches any public answer."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.statuspage.helpers import SECRETS, built, secret_incident, setup_components, summary
from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.incidents import service
from warroom.statuspage import admin, components, posts
from warroom.statuspage.schemas import ComponentChange, ComponentRequest
from warroom.store.unit import Context


def test_overall_state_is_the_worst_component_and_resolving_restores_it(ctx: Context, clock: FakeClock) -> None:
    setup_components(ctx)
    assert summary(ctx)["status"] == {"indicator": "none", "description": "All Systems Operational"}
    inc = secret_incident(ctx)
    first = posts.post(
        ctx,
        inc,
        "Some payments fail; we are looking into it.",
        "alice",
        status="investigating",
        components={"Billing": "degraded_performance"},
        title="Payment failures",
    )
    assert first.status == "investigating" and first.update_number == 1
    assert first.components[0]["old_status"] == "operational"
    doc = summary(ctx)
    assert doc["status"]["indicator"] == "minor"
    by = {c["name"]: c for c in doc["components"]}
    assert by["Billing"]["status"] == "degraded_performance"
    assert by["Payments"]["status"] == "degraded_performance" and by["Payments"]["group"] is True
    assert by["API"]["status"] == "operational"
    clock.advance(timedelta(minutes=10))
    posts.post(
        ctx,
        inc,
        "Payments are down.",
        "alice",
        status="identified",
        components={"billing": "major_outage", "API": "partial_outage"},
    )
    doc = summary(ctx)
    assert doc["status"] == {"indicator": "critical", "description": "Major System Outage"}
    assert doc["incidents"][0]["impact"] == "critical"
    assert [u["status"] for u in doc["incidents"][0]["incident_updates"]] == ["identified", "investigating"]
    clock.advance(timedelta(minutes=10))
    posts.post(
        ctx,
        inc,
        "A fix is out; watching.",
        "alice",
        status="monitoring",
        components={"Billing": "operational", "API": "operational"},
    )
    doc = summary(ctx)
    assert doc["status"]["indicator"] == "critical"  # an unresolved incident keeps its impact on the banner
    assert doc["incidents"][0]["monitoring_at"] is not None
    clock.advance(timedelta(minutes=10))
    posts.post(ctx, inc, "Resolved.", "alice", status="resolved")
    doc = summary(ctx)
    assert doc["status"]["indicator"] == "none" and doc["incidents"] == []
    assert all(c["status"] == "operational" for c in doc["components"])


def test_a_plain_external_update_becomes_a_post_with_the_incidents_stage(ctx: Context) -> None:
    setup_components(ctx)
    inc = secret_incident(ctx)
    service.set_status(ctx, inc, "identified", "mallory-oncall")
    service.post_update(ctx, inc, "external", "We know what is wrong.", "mallory-oncall")
    doc = summary(ctx)
    assert doc["incidents"][0]["status"] == "identified"
    assert doc["incidents"][0]["incident_updates"][0]["body"] == "We know what is wrong."
    internal = service.post_update(ctx, inc, "internal", "not for the public", "mallory-oncall")
    assert internal.number == 2
    assert b"not for the public" not in built(ctx).files["/status"].body


def test_transitions_and_bad_input_are_refused_and_change_nothing(ctx: Context) -> None:
    setup_components(ctx)
    inc = secret_incident(ctx)
    with pytest.raises(Invalid) as bad:
        posts.post(ctx, inc, "x", "alice", status="fixed")
    assert bad.value.field == "status"
    with pytest.raises(Invalid) as bad:
        posts.post(ctx, inc, "x", "alice", components={"API": "on fire"})
    assert bad.value.field == "components.API"
    with pytest.raises(NotFound):
        posts.post(ctx, inc, "x", "alice", components={"Nope": "major_outage"})
    with pytest.raises(Invalid):
        posts.post(ctx, inc, "x", "alice", components={"Payments": "major_outage"})  # a group
    assert summary(ctx)["incidents"] == []
    assert service.get(ctx, inc).updates == [] or all(u.audience != "external" for u in service.get(ctx, inc).updates)
    posts.post(ctx, inc, "Resolved.", "alice", status="resolved")
    service.resolve(ctx, inc, "alice", force=True, reason="test")
    with pytest.raises(Conflict):
        posts.post(ctx, inc, "Back again?", "alice", status="investigating")
    service.reopen(ctx, inc, "alice", "it came back")
    assert posts.post(ctx, inc, "It came back.", "alice", status="investigating").status == "investigating"
    with pytest.raises(Conflict):
        components.add_component(ctx, ComponentRequest(name="api", by="alice"))
    with pytest.raises(Invalid) as bad:
        components.change_component(ctx, "API", ComponentChange(status="sideways", by="alice"))
    assert bad.value.field == "status"


def test_a_component_set_by_hand_counts_without_an_incident(ctx: Context) -> None:
    setup_components(ctx)
    components.change_component(ctx, "Web app", ComponentChange(status="partial_outage", by="alice"))
    assert summary(ctx)["status"] == {"indicator": "major", "description": "Partial System Outage"}


def test_nothing_internal_reaches_any_public_answer(ctx: Context) -> None:
    setup_components(ctx)
    inc = secret_incident(ctx)
    posts.post(
        ctx,
        inc,
        "Payments fail for some customers.",
        "mallory-oncall",
        status="identified",
        components={"Billing": "major_outage"},
        title="Payment failures",
    )
    b = built(ctx)
    bodies = [r.body for r in b.files.values()]
    bodies += [b.story(i.code).body for i in b.snapshot.incidents]  # type: ignore[union-attr]
    assert len(bodies) >= 12
    for body in bodies:
        text = body.decode()
        for secret in (*SECRETS, "Checkout errors"):
            assert secret not in text, f"{secret} leaked"
    assert b"Payment failures" in b.files["/status"].body


def test_an_incidents_own_page_reads_its_public_story_and_what_its_posts_say_of_each_component(
    ctx: Context, clock: FakeClock
) -> None:
    """What the incident page shows beside its update form (`admin.on_the_page`): nothing posted yet, then the
    public name, status and posts, and each component as this incident's posts left it (others: not named)."""
    setup_components(ctx)
    inc = secret_incident(ctx)
    before = admin.on_the_page(ctx, inc)
    assert before.story is None
    assert [(c.name, c.status) for c in before.components] == [
        ("API", None), ("Web app", None), ("Billing", None), ("Invoices", None)
    ]  # the leaves only (Payments is a group), in the page's order
    posts.post(ctx, inc, "Some payments fail.", "alice", status="investigating", components={"Billing": "major_outage"},
               title="Payment failures", next_step="roll back the deploy")  # fmt: skip
    clock.advance(timedelta(minutes=5))
    posts.post(ctx, inc, "We know why.", "alice", status="identified", components={"API": "degraded_performance"})
    after = admin.on_the_page(ctx, inc)
    assert after.story is not None
    assert (after.story.name, after.story.status) == ("Payment failures", "identified")
    assert [p.body for p in after.story.posts] == ["We know why.", "Some payments fail."]  # newest first
    assert {c.name: c.status for c in after.components} == {
        "API": "degraded_performance", "Web app": None, "Billing": "major_outage", "Invoices": None
    }
    first = next(u for u in service.get(ctx, inc).updates if u.audience == "external" and u.number == 1)
    assert first.next_step == "roll back the deploy"  # the responders' part of the update, kept on it
    assert admin.on_the_page(ctx, secret_incident(ctx, "Another")).story is None
