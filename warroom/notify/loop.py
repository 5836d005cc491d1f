"""The delivery loop: a thread in `warroom serve` and `warroom worker`, or `warroom notifications deliver`.

It runs apart from the engine loop because sending waits on the network (an SMTP server or a
webhook that is slow must not delay a page timer); its sends run in threads of their own
(notify/dispatch.py), so one slow destination does not delay another's.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from warroom.notify import contacts, outbox
from warroom.notify.delivery import (
    Job,
    Report,
    Sender,
    SendResult,
    apprise_send,
    claim_due,
    deliver_due,
    dispatcher,
    housekeeping,
    next_due,
    warm_up,
)
from warroom.notify.dispatch import Dispatcher
from warroom.notify.settings import NotifySettings, current
from warroom.store.unit import Context
from warroom.store.workers import default_worker_id

log = logging.getLogger("warroom.notify")


class DeliveryLoop:
    def __init__(
        self,
        ctx: Context,
        *,
        worker_id: str | None = None,
        settings: NotifySettings | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.ctx = ctx
        self.worker_id = (worker_id or default_worker_id()) + "/notify"
        self.settings = settings or current()
        self.sender = sender
        self.rounds = 0
        self.totals = Report()
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.last_round: datetime | None = None
        self._stop = threading.Event()
        self._sends: Dispatcher[Job, SendResult] | None = None
        self._thread: threading.Thread | None = None

    def load_contacts(self) -> None:
        """WARROOM_CONTACTS, if set, is loaded (upserted) when the loop starts."""
        if self.settings.contacts:
            view = contacts.load(self.ctx, self.settings.contacts)
            log.info(
                "contacts: %d people, %d channels from %s", len(view.people), len(view.channels), self.settings.contacts
            )

    def round(self) -> Report:
        """One round as `warroom notifications deliver` runs it, waiting for its sends (tests, the CLI)."""
        report = deliver_due(self.ctx, self.worker_id, sender=self.sender, settings=self.settings)
        self.rounds += 1
        self.last_round = self.ctx.clock.now()
        self._add(report)
        return report

    def _add(self, report: Report) -> None:
        for name in ("claimed", "sent", "failed", "dead", "unknown", "resent", "coalesced", "deferred", "caught_up",
                     "timed_out", "skipped"):  # fmt: skip
            setattr(self.totals, name, getattr(self.totals, name) + getattr(report, name))

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or self._stop
        self._sends = dispatcher(self.ctx, self.worker_id, self.settings, self.sender or apprise_send, self.totals)
        outbox.queued.connect(self.wake)
        try:
            self._run(stop, self._sends)
        finally:
            outbox.queued.disconnect(self.wake)
            self._settle(self._sends)

    def _settle(self, sends: Dispatcher[Job, SendResult], seconds: float = 5.0) -> None:
        """On the way out, record the sends still in flight (else their rows wait for their lease)."""
        end = time.monotonic() + seconds
        while sends.live and time.monotonic() < end:
            try:
                sends.poll(0.2)
            except Exception as exc:  # the lease brings the row back
                self._failed(exc)

    def _run(self, stop: threading.Event, sends: Dispatcher[Job, SendResult]) -> None:
        """Claim what is due for destinations with nothing in flight, hand it to the sends, and wait for a
        send to return, a new message, or the next due time: a hung destination holds up only itself."""
        housekept = 0.0
        while not stop.is_set() and not self._stop.is_set():
            wait = self.settings.interval
            try:
                if time.monotonic() - housekept >= self.settings.interval:
                    housekeeping(self.ctx, self.settings, self.totals)
                    housekept = time.monotonic()
                room = min(self.settings.batch, sends.free())
                if room:
                    jobs = claim_due(self.ctx, self.worker_id, room, self.settings, self.totals, sends.busy())
                    sends.add(jobs)
                    self.rounds += 1
                    self.last_round = self.ctx.clock.now()
                    if len(jobs) >= room:
                        wait = 0.0
                if wait:
                    nxt = next_due(self.ctx, sends.busy())
                    if nxt is not None:
                        wait = min(wait, max(0.0, (nxt - self.ctx.clock.now()).total_seconds()))
                self.last_error = self.last_error_at = None
            except Exception as exc:  # the database may be away for a moment; keep going
                log.warning("notification delivery round failed: %s", exc)
                self._failed(exc)
            try:
                if sends.poll(wait):
                    housekept = 0.0  # new messages: hand over pages nobody handed over yet, too
            except Exception as exc:  # recording a send needs the database; its lease brings it back
                log.warning("recording a notification failed: %s", exc)
                self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.last_error_at = self.ctx.clock.now()

    def wake(self) -> None:
        if self._sends is not None:
            self._sends.wake()

    def start(self) -> DeliveryLoop:
        if self._thread is not None and self._thread.is_alive():
            return self
        try:
            self.load_contacts()
        except Exception as exc:  # a bad contacts file is reported, and delivery still runs
            log.error("contacts file not loaded: %s", exc)
            self.last_error = str(exc)
        if self.sender is None:
            warm_up()
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="warroom-notify", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def status(self) -> dict[str, object]:
        t = self.totals
        return {
            "running": self._thread is not None and self._thread.is_alive(),
            "worker": self.worker_id,
            "rounds": self.rounds,
            "sent": t.sent,
            "failed": t.failed,
            "dead": t.dead,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat().replace("+00:00", "Z") if self.last_error_at else None,
            "in_flight": len(self._sends.live) if self._sends else 0,
            "hung": len(self._sends.hung) if self._sends else 0,
            "timed_out": t.timed_out,
        }


def start_background(ctx: Context, worker_id: str | None = None) -> DeliveryLoop | None:
    """One line for `warroom serve` and `warroom worker`: deliver in a daemon thread (unless
    WARROOM_NOTIFY_ENABLED=false); stop it with `.stop()` on the way out."""
    settings = current()
    if not settings.enabled:
        return None
    return DeliveryLoop(ctx, worker_id=worker_id, settings=settings).start()
