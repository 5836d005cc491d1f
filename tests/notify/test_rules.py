"""Personal rules: quiet hours in the person's zone, only e-mail for P3, page for P0 at any hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.notify.conftest import WebhookSink, channel, on_call, person
from warroom.domain.clock import FakeClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.notify import contacts, views
from warroom.notify.delivery import deliver_due
from warroom.notify.routing import catch_up_pages
from warroom.notify.rules import Rule, RuleError, backoff, choose, parse_quiet_hours, quiet_until
from warroom.notify.settings import NotifySettings
from warroom.store.engine_models import Page
from warroom.store.unit import Context

NIGHT = datetime(2026, 5, 7, 21, 30, tzinfo=UTC)  # 23:30 in Berlin (CEST)


def test_quiet_hours_overnight_in_the_persons_zone() -> None:
    assert quiet_until("22:00-07:00", "Europe/Berlin", NIGHT) == datetime(2026, 5, 8, 5, 0, tzinfo=UTC)
    assert quiet_until("22:00-07:00", "Europe/Berlin", datetime(2026, 5, 8, 4, 0, tzinfo=UTC)) == datetime(
        2026, 5, 8, 5, 0, tzinfo=UTC
    )
    assert quiet_until("22:00-07:00", "Europe/Berlin", datetime(2026, 5, 8, 5, 0, tzinfo=UTC)) is None
    assert quiet_until("12:00-13:00", "UTC", datetime(2026, 5, 8, 12, 30, tzinfo=UTC)) == datetime(
        2026, 5, 8, 13, 0, tzinfo=UTC
    )
    assert quiet_until(None, "UTC", NIGHT) is None
    with pytest.raises(RuleError, match="must look like 22:00-07:00"):
        parse_quiet_hours("10pm-7am")


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)))
def test_quiet_hours_always_end_within_a_day_and_outside_the_quiet_window(at: datetime) -> None:
    until = quiet_until("22:00-07:00", "America/New_York", at)
    if until is not None:
        # 22:00-07:00 is nine hours of wall clock, ten on the night the clocks fall back.
        assert at < until <= at + timedelta(hours=10, minutes=1)
        assert quiet_until("22:00-07:00", "America/New_York", until) is None


def test_choose_maps_page_to_what_the_person_has() -> None:
    have = {"push": "x", "sms": "y", "email": "z"}
    assert choose(["page"], have, None, at=NIGHT).methods == ("push",)
    assert choose(["push", "sms"], have, None, at=NIGHT).methods == ("push", "sms")
    assert choose(["page", "push"], have, None, any_method=True, at=NIGHT).methods == ("push",)
    only_mail = choose(["phone"], {"email": "z"}, None, at=NIGHT)
    assert only_mail.methods == ("email",) and only_mail.notes == ("no phone contact; used email instead",)
    assert choose(["page"], {}, None, at=NIGHT).methods == ()
    rule = Rule(severities=("P3",), methods=("email",))
    assert choose(["push", "sms"], have, rule, at=NIGHT).methods == ("email",)


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff(n, 30, 600).total_seconds() for n in range(1, 8)] == [30, 60, 120, 240, 480, 600, 600]
    assert backoff(500, 30, 600).total_seconds() == 600


def test_a_persons_rules_decide_when_and_how(
    nctx: Context, wired: None, webhook: WebhookSink, settings: NotifySettings
) -> None:
    assert isinstance(nctx.clock, FakeClock)
    nctx.clock.set(NIGHT)
    on_call(nctx, "nself-primary", "alice")
    person(nctx, "alice", tz="Europe/Berlin", push=webhook.url("alice/push"), email=webhook.url("alice/email"))
    contacts.set_rules(
        nctx,
        "alice",
        [
            contacts.RuleRequest(severities=["P0"], note="page for P0 at any hour"),
            contacts.RuleRequest(severities=["P3"], methods=["email"], note="only e-mail for P3"),
            contacts.RuleRequest(quiet_hours="22:00-07:00"),
        ],
    )
    for name in ("war-room", "#incidents", "#ops-low", "@engineers"):
        channel(nctx, name, webhook.url("chat"))

    p0 = service.declare(nctx, DeclareRequest(severity="P0", title="All down", by="mon")).id
    p1 = service.declare(nctx, DeclareRequest(severity="SEV2", title="Billing broken", by="mon")).id
    rows = {n.incident_id: n for n in views.list_notifications(nctx) if n.person == "alice"}
    assert rows[p0].next_attempt_at == NIGHT
    assert rows[p1].next_attempt_at == datetime(2026, 5, 8, 5, 0, tzinfo=UTC)
    assert "quiet hours 22:00-07:00 (Europe/Berlin): waits until 05:00 UTC" in rows[p1].note

    p3 = service.declare(nctx, DeclareRequest(severity="P3", title="Cert expiry", by="mon")).id
    with nctx.db.unit() as s:
        s.add(
            Page(
                key="manual",
                incident_id=p3,
                kind="page",
                target="primary-on-call",
                person="alice",
                tier=1,
                round=0,
                methods=["push", "sms"],
                reason="test",
                created_at=NIGHT,
                delivery="pending",
            )
        )
        s.flush()
        catch_up_pages(s, nctx.policy, NIGHT, settings)
    (mail,) = [n for n in views.list_notifications(nctx, incident=p3) if n.person == "alice"]
    assert mail.destination == "person:alice:email" and "only e-mail" not in mail.note
    assert "personal rule: email instead of push, sms" in mail.note

    deliver_due(nctx, "w1", settings=settings)
    assert [h.body["title"] for h in webhook.delivered("alice/push")] == [f"[P0] {p0}: All down"]
    assert [h.body["title"] for h in webhook.delivered("alice/email")] == [f"[P3] {p3}: Cert expiry"]
    nctx.clock.set(datetime(2026, 5, 8, 5, 0, tzinfo=UTC))
    deliver_due(nctx, "w1", settings=settings)
    assert [h.body["title"] for h in webhook.delivered("alice/push")][-1] == f"[P1] {p1}: Billing broken"
