"""A worker that dies between sending and recording: no double e-mail, no lost page.

E-mail (and the customer e-mail, and the status page) is at-most-once: a message whose worker died
mid-send becomes `unknown` and is not sent again by itself. Pages and chat are at-least-once: they are
sent again, so a crash can never lose a page (the price is a possible duplicate).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import fresh_database, make_context
from tests.notify.conftest import BACKENDS, SmtpSink, WebhookSink, channel, person
from warroom.domain.clock import FakeClock, SystemClock
from warroom.notify import views
from warroom.notify.delivery import SendResult, apprise_send, deliver_due
from warroom.notify.outbox import Message, enqueue
from warroom.notify.settings import NotifySettings
from warroom.store.unit import Context


class Crash(BaseException):
    """The process dies here: nothing after this line runs, nothing uncommitted survives."""


def crash_after_sending(url: str, title: str, body: str, notify_type: str) -> SendResult:
    apprise_send(url, title, body, notify_type)
    raise Crash


def test_crash_after_an_email_went_out_never_sends_it_twice(
    nctx: Context, smtp: SmtpSink, settings: NotifySettings
) -> None:
    channel(nctx, "customer-email", smtp.url("customers@example.com"))
    with nctx.db.unit() as s:
        (nid,) = enqueue(
            s,
            [Message("customer-email:X:1", "customer-email", "customer_email", "Our outage", "Hi there, ...")],
            nctx.clock.now(),
        )
    with pytest.raises(Crash):
        deliver_due(nctx, "w-dead", sender=crash_after_sending, settings=settings)
    assert len(smtp.wait(1)) == 1
    n = views.get_notification(nctx, nid)
    assert (n.state, n.attempts) == ("sending", 1)

    # Another worker, while the lease holds: it leaves the row alone.
    assert deliver_due(nctx, "w2", settings=settings).claimed == 0
    assert isinstance(nctx.clock, FakeClock)
    nctx.clock.advance(timedelta(seconds=settings.lease_seconds + 1))
    report = deliver_due(nctx, "w2", settings=settings)
    assert (report.unknown, report.claimed) == (1, 0)
    n = views.get_notification(nctx, nid)
    assert n.state == "unknown" and "at-most-once" in n.last_error and "w-dead" in n.last_error
    assert [a.outcome for a in n.log] == ["unknown"]
    nctx.clock.advance(timedelta(hours=1))
    deliver_due(nctx, "w2", settings=settings)
    time.sleep(0.2)
    assert len(smtp.messages) == 1  # still one: nobody sent it again
    assert [x.id for x in views.list_notifications(nctx, state="failed")] == [nid]

    # A human who checked and found it missing can send it again.
    views.retry(nctx, nid, "carol")
    deliver_due(nctx, "w2", settings=settings)
    assert len(smtp.wait(2)) == 2
    assert views.get_notification(nctx, nid).state == "sent"


def test_crash_after_a_page_went_out_sends_it_again(
    nctx: Context, webhook: WebhookSink, settings: NotifySettings
) -> None:
    person(nctx, "alice", push=webhook.url("alice/push"))
    with nctx.db.unit() as s:
        (nid,) = enqueue(
            s,
            [
                Message(
                    "page:X:t1:r0:alice", "person:alice:push", "page", "P0", "wake up", person="alice", method="push"
                )
            ],
            nctx.clock.now(),
        )
    with pytest.raises(Crash):
        deliver_due(nctx, "w-dead", sender=crash_after_sending, settings=settings)
    assert isinstance(nctx.clock, FakeClock)
    nctx.clock.advance(timedelta(seconds=settings.lease_seconds + 1))
    report = deliver_due(nctx, "w2", settings=settings)
    assert (report.resent, report.sent) == (1, 1)
    n = views.get_notification(nctx, nid)
    assert (n.state, n.attempts) == ("sent", 2)
    assert [a.outcome for a in n.log] == ["resend", "sent"]
    assert len(webhook.delivered("alice/push")) == 2  # a duplicate page rather than a lost one


# --- a real worker process killed with SIGKILL mid-send ----------------------------------------


@pytest.fixture(params=BACKENDS)
def real_ctx(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Context]:
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    ctx = make_context(url, "nself", FakeClock(SystemClock().now()))
    ctx.clock = SystemClock()
    yield ctx
    ctx.db.dispose()
    next(gen, None)


def _worker(ctx: Context, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "WARROOM_DATABASE_URL": ctx.db.url,
        "WARROOM_POLICY": "nself",
        "WARROOM_URL": "",
        "WARROOM_NOTIFY_LEASE_SECONDS": "2",
        "WARROOM_NOTIFY_INTERVAL": "0.1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "warroom", "notifications", "deliver", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_worker_killed_with_sigkill_mid_send_does_not_double_the_email(real_ctx: Context, smtp: SmtpSink) -> None:
    channel(real_ctx, "customer-email", smtp.url("customers@example.com"))
    with real_ctx.db.unit() as s:
        (nid,) = enqueue(
            s,
            [Message("customer-email:K:1", "customer-email", "customer_email", "Our outage", "Hi there")],
            real_ctx.clock.now(),
        )
    smtp.hold.set()  # the server has the message but holds its "250 OK": the worker is mid-send
    worker = _worker(real_ctx, "--id", "doomed")
    try:
        assert smtp.arrived.wait(30), "the worker never sent the e-mail"
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    smtp.hold.clear()
    assert worker.returncode == -signal.SIGKILL
    n = views.get_notification(real_ctx, nid)
    assert (n.state, n.attempts) == ("sending", 1)

    time.sleep(2.2)  # the dead worker's lease runs out; the next worker finds the row
    report = deliver_due(real_ctx, "survivor", settings=NotifySettings(lease_seconds=2))
    assert (report.unknown, report.claimed) == (1, 0)
    n = views.get_notification(real_ctx, nid)
    assert n.state == "unknown" and "doomed" in n.last_error
    time.sleep(0.2)
    assert len(smtp.messages) == 1
