"""Every message of each preset, rendered from a realistic incident and compared with golden files.

Regenerate after an intended template change with WARROOM_REGEN_GOLDEN=1, then read the diff.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import make_context
from warroom.domain.clock import FakeClock
from warroom.domain.errors import Conflict, Invalid
from warroom.incidents import drafts, service
from warroom.incidents.schemas import DeclareRequest, ImpactRequest
from warroom.policy import list_presets
from warroom.store.unit import Context

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def realistic_incident(ctx: Context, clock: FakeClock) -> str:
    top = ctx.policy.severities[0].name
    inc = service.declare(
        ctx,
        DeclareRequest(
            severity=top,
            title="Auth down for all users",
            service="auth",
            summary="Sign-in returns 500 for every user since the 14:05 deploy",
            by="monitor",
        ),
    )
    iid = inc.id
    clock.advance(timedelta(minutes=4))
    service.acknowledge(ctx, iid, "alice")
    service.set_impact(
        ctx,
        iid,
        ImpactRequest(
            users_affected=1200,
            orgs_affected=3,
            state="broken",
            description="nobody can sign in",
            customer_facing=True,
            by="alice",
        ),
    )
    service.set_flags(ctx, iid, {"impact_confirmed": True}, "alice")
    clock.advance(timedelta(minutes=3))
    service.add_hypothesis(ctx, iid, "The 14:05 deploy broke token signing", "500s start at 14:06", 80, "bob")
    service.set_hypothesis_status(ctx, iid, 1, "confirmed", "bob")
    clock.advance(timedelta(minutes=13))
    strategy = ctx.policy.mitigation_strategies[0].name if ctx.policy.mitigation_strategies else "rollback"
    service.mitigate(
        ctx,
        iid,
        "rollback" if any(s.name == "rollback" for s in ctx.policy.mitigation_strategies) else strategy,
        True,
        "bob",
    )
    clock.advance(timedelta(minutes=31))
    service.resolve(ctx, iid, "alice")
    return iid


@pytest.fixture(params=list_presets())
def preset_ctx(request: pytest.FixtureRequest, db_url: str, clock: FakeClock) -> Context:
    return make_context(db_url, request.param, clock)


def test_every_template_of_every_preset_matches_its_golden_file(preset_ctx: Context, clock: FakeClock) -> None:
    iid = realistic_incident(preset_ctx, clock)
    folder = GOLDEN / preset_ctx.policy.name
    regen = os.environ.get("WARROOM_REGEN_GOLDEN") == "1"
    rendered = 0
    for kind in drafts.KINDS:
        try:
            d = drafts.draft(preset_ctx, iid, kind, "alice", "Rolled back the 14:05 deploy", "watching error rates")
            text = (f"Subject: {d.subject}\n\n" if d.subject else "") + d.text + "\n"
            rendered += 1
        except (Conflict, Invalid) as exc:
            text = f"REFUSED: {exc.detail}\n"
        path = folder / f"{kind}.txt"
        if regen:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        assert path.read_text(encoding="utf-8") == text, f"{preset_ctx.policy.name}/{kind} changed"
    assert rendered >= 9
    assert not any("{{" in p.read_text() for p in folder.glob("*.txt"))


def test_nself_shapes(ctx: Context, clock: FakeClock) -> None:
    iid = realistic_incident(ctx, clock)
    ack = drafts.draft(ctx, iid, "ack", "alice").text
    assert ack == ":ack: P0 ack — Sign-in returns 500 for every user since the 14:05 deploy — IC: alice — 14:21 UTC"
    update = drafts.draft(ctx, iid, "internal_update", "alice", "Rolled back", "watching errors").text
    assert update.endswith("Update #1: Rolled back. Next: watching errors.")
    resolution = drafts.draft(ctx, iid, "resolution", "alice").text
    assert "RESOLVED — P0 resolved at 15:08 UTC. Duration: 51 min." in resolution
    assert "Post-mortem due: 2026-05-09 15:08 UTC" in resolution
    email = drafts.draft(ctx, iid, "customer_email", "alice")
    assert email.subject and email.subject.startswith("nSelf service incident")
    assert "apologize" not in email.text.lower()


def test_posting_a_draft_records_an_update(ctx: Context, clock: FakeClock) -> None:
    iid = service.declare(ctx, DeclareRequest(severity="P0", title="Checkout down", by="m")).id
    # nself's P0 status page is posted on detection: no impact_confirmed flag to wait for.
    posted = drafts.post(ctx, iid, "status_investigating", "alice")
    assert posted.audience == "external" and posted.number == 1 and "[Investigating]" in posted.text
    edited = drafts.post(ctx, iid, "internal_update", "alice", final="[14:30 UTC] Update #1: edited by hand")
    assert edited.text == "[14:30 UTC] Update #1: edited by hand" and edited.audience == "internal"
    with pytest.raises(Invalid, match="a document"):
        drafts.post(ctx, iid, "postmortem", "alice")
    with pytest.raises(Invalid, match="unknown draft"):
        drafts.draft(ctx, iid, "limerick", "alice")
