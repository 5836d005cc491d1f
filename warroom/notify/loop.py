"""The delivery loop: a thread in `warroom serve` and `warroom worker`, or `warroom notifications deliver`.

It runs apart from the engine loop because sending waits on the network (an SMTP server or a
webhook that is slow must not delay a page timer).
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from warroom.notify import contacts, outbox
from warroom.notify.delivery import Report, Sender, deliver_due, next_due, warm_up
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
        self.last_round: datetime | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def load_contacts(self) -> None:
        """WARROOM_CONTACTS, if set, is loaded (upserted) when the loop starts."""
        if self.settings.contacts:
            view = contacts.load(self.ctx, self.settings.contacts)
            log.info(
                "contacts: %d people, %d channels from %s", len(view.people), len(view.channels), self.settings.contacts
            )

    def round(self) -> Report:
        report = deliver_due(self.ctx, self.worker_id, sender=self.sender, settings=self.settings)
        self.rounds += 1
        self.last_round = self.ctx.clock.now()
        for name in ("claimed", "sent", "failed", "dead", "unknown", "resent", "coalesced", "deferred", "caught_up"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(report, name))
        return report

    def run(self, stop: threading.Event | None = None) -> None:
        stop = stop or self._stop
        outbox.queued.connect(self.wake)
        try:
            self._run(stop)
        finally:
            outbox.queued.disconnect(self.wake)

    def _run(self, stop: threading.Event) -> None:
        while not stop.is_set() and not self._stop.is_set():
            busy = False
            try:
                report = self.round()
                busy = report.claimed >= self.settings.batch
                nxt = next_due(self.ctx)
            except Exception as exc:  # the database may be away for a moment; keep going
                log.warning("notification delivery round failed: %s", exc)
                self.last_error = f"{type(exc).__name__}: {exc}"
                nxt = None
            if busy:
                continue
            wait = self.settings.interval
            if nxt is not None:
                wait = min(wait, max(0.0, (nxt - self.ctx.clock.now()).total_seconds()))
            if wait > 0:
                self._wake.wait(wait)
            self._wake.clear()

    def wake(self) -> None:
        self._wake.set()

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
        self._wake.set()
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
        }


def start_background(ctx: Context, worker_id: str | None = None) -> DeliveryLoop | None:
    """One line for `warroom serve` and `warroom worker`: deliver in a daemon thread (unless
    WARROOM_NOTIFY_ENABLED=false); stop it with `.stop()` on the way out."""
    settings = current()
    if not settings.enabled:
        return None
    return DeliveryLoop(ctx, worker_id=worker_id, settings=settings).start()
