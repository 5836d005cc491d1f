"""The postmortem as a record on SQLite and PostgreSQL: versions never lost, a diff between them, review
states, publication closing the incident through complete_postmortem, and action items refused at publish
without an owner or a due date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict, Invalid
from warroom.incidents import service as incidents
from warroom.incidents.schemas import DeclareRequest
from warroom.postmortems import service
from warroom.store.unit import Context


def resolved_incident(ctx: Context, clock: FakeClock) -> str:
    inc = incidents.declare(
        ctx, DeclareRequest(severity="P1", title="Webhooks failing", service="billing", by="monitor")
    )
    clock.advance(timedelta(minutes=3))
    incidents.acknowledge(ctx, inc.id, "alice")
    clock.advance(timedelta(minutes=10))
    incidents.mitigate(ctx, inc.id, "rollback", True, "bob")
    clock.advance(timedelta(minutes=20))
    incidents.resolve(ctx, inc.id, "alice")
    return inc.id


def test_every_save_is_a_new_version_and_none_is_lost(ctx: Context, clock: FakeClock) -> None:
    iid = resolved_incident(ctx, clock)
    first = service.start(ctx, iid, "alice")
    assert first.status == "draft" and first.latest == 1
    assert "Webhooks failing" in first.version.text  # drafted from the record by the policy's template
    with pytest.raises(Conflict):
        service.start(ctx, iid, "alice")
    texts = [first.version.text]
    for n in range(2, 5):
        clock.advance(timedelta(minutes=1))
        texts.append(texts[-1] + f"\nRoot cause, take {n}: the signature check used the old key.")
        saved = service.save(ctx, iid, texts[-1], "carol", note=f"take {n}")
        assert saved.latest == n
    for n, text in enumerate(texts, start=1):
        assert service.get(ctx, iid, n).version.text == text.strip()
    assert [v.number for v in service.get(ctx, iid).versions] == [1, 2, 3, 4]
    d = service.diff(ctx, iid, 2, 3)
    assert "+Root cause, take 3" in d.diff and "-Root cause" not in d.diff
    with pytest.raises(Invalid) as bad:
        service.save(ctx, iid, "   \u200b ", "carol")
    assert bad.value.field == "text"
    assert service.get(ctx, iid).latest == 4
    timeline = [e.kind for e in incidents.timeline(ctx, iid)]
    assert timeline.count("postmortem_saved") == 4


def test_publish_needs_review_and_ready_action_items_then_closes_the_incident(ctx: Context, clock: FakeClock) -> None:
    iid = resolved_incident(ctx, clock)
    service.start(ctx, iid, "alice")
    with pytest.raises(Conflict, match="draft"):
        service.publish(ctx, iid, "alice")
    service.set_status(ctx, iid, "in_review", "alice")
    item = service.add_action_item(ctx, iid, "Alert when webhook 401s exceed 1% for 5m", "alice")
    with pytest.raises(Invalid) as refused:
        service.publish(ctx, iid, "alice")
    assert refused.value.field == "action_items"
    assert "no owner and no due date" in refused.value.detail
    assert incidents.get(ctx, iid).status == "resolved"
    # the old path (postmortem --done) is refused the same way: the subscriber checks in its transaction
    with pytest.raises(Invalid):
        incidents.complete_postmortem(ctx, iid, "alice", "https://wiki.example.com/pm")
    assert incidents.get(ctx, iid).status == "resolved"
    service.change_action_item(ctx, item.id, "alice", owner="bob", due_at=clock.now() + timedelta(days=7))
    service.add_action_item(ctx, iid, "Maybe later", "alice")
    wont = service.action_items(ctx, incident_id=iid)[-1]
    service.change_action_item(ctx, wont.id, "alice", status="wont_do")
    published = service.publish(ctx, iid, "alice")
    assert published.status == "published" and published.published_version == 1 and published.published_by == "alice"
    assert incidents.get(ctx, iid).status == "closed"
    kinds = [e.kind for e in incidents.timeline(ctx, iid)]
    assert kinds.count("postmortem_done") == 1
    with pytest.raises(Conflict):
        service.save(ctx, iid, "too late", "carol")


def test_publishing_an_unresolved_incident_is_refused_and_changes_nothing(ctx: Context, clock: FakeClock) -> None:
    inc = incidents.declare(ctx, DeclareRequest(severity="P2", title="Slow search", by="monitor"))
    service.start(ctx, inc.id, "alice")
    service.set_status(ctx, inc.id, "in_review", "alice")
    with pytest.raises(Conflict):
        service.publish(ctx, inc.id, "alice")
    assert service.get(ctx, inc.id).status == "in_review"


def test_action_items_filter_by_owner_and_overdue_and_export(ctx: Context, clock: FakeClock) -> None:
    iid = resolved_incident(ctx, clock)
    now = clock.now()
    a = service.add_action_item(
        ctx, iid, "Add a canary stage to the billing deploy", "alice", "bob", now + timedelta(days=1)
    )
    b = service.add_action_item(
        ctx, iid, "Rotate the webhook key every 90 days", "alice", "carol", now + timedelta(days=10), "OPS-12"
    )
    clock.advance(timedelta(days=2))
    overdue = service.action_items(ctx, overdue=True)
    assert [i.id for i in overdue] == [a.id] and overdue[0].overdue
    assert [i.id for i in service.action_items(ctx, owner="carol")] == [b.id]
    service.change_action_item(ctx, a.id, "bob", status="done")
    assert service.action_items(ctx, overdue=True) == []
    csv_text = service.to_csv(service.action_items(ctx))
    lines = csv_text.splitlines()
    assert lines[0].startswith("id,incident_id,text,owner,due_at,status")
    assert len(lines) == 3 and "OPS-12" in lines[2]
    with pytest.raises(Invalid) as bad:
        service.change_action_item(ctx, b.id, "bob", status="finished")
    assert bad.value.field == "status"
    with pytest.raises(Invalid) as bad:
        service.add_action_item(ctx, iid, "x" * 10, "alice", due_at=datetime(1999, 1, 1, tzinfo=UTC))
    assert bad.value.field == "due_at"


def test_the_draft_lists_the_action_items(ctx: Context, clock: FakeClock) -> None:
    iid = resolved_incident(ctx, clock)
    service.add_action_item(
        ctx, iid, "Add a canary stage to the billing deploy", "alice", "bob", clock.now() + timedelta(days=3)
    )
    pm = service.start(ctx, iid, "alice")
    assert "Add a canary stage to the billing deploy" in pm.version.text and "bob" in pm.version.text
