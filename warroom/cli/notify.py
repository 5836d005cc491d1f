"""`warroom notifications ...` (the outbox, retries, delivery, the customer e-mail) and `warroom contact ...`."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer
from pydantic import TypeAdapter
from rich.table import Table

from warroom.cli.http import ApiClient
from warroom.cli.root import app, console, err_console, fail
from warroom.domain.clock import iso_z
from warroom.domain.errors import ServiceError
from warroom.notify.contacts import (
    ChannelRequest,
    ChannelView,
    ContactsView,
    MethodRequest,
    PersonRequest,
    PersonView,
    RuleRequest,
)
from warroom.notify.views import NotificationView
from warroom.settings import get_settings

if TYPE_CHECKING:
    from warroom.store.unit import Context  # annotations only: remote mode never loads the database layer


def _context() -> Context:
    from warroom.compose import build_context
    from warroom.domain.errors import PolicyError

    try:
        return build_context(get_settings())
    except PolicyError as exc:
        fail(str(exc))


class _Local:
    """Straight to the service functions on the local database."""

    def __init__(self) -> None:
        self.ctx = _context()

    def notifications(self, state: str | None, incident: str | None, limit: int, log: bool) -> list[NotificationView]:
        from warroom.notify import views

        return views.list_notifications(self.ctx, state=state, incident=incident, limit=limit, with_log=log)

    def get(self, nid: int) -> NotificationView:
        from warroom.notify import views

        return views.get_notification(self.ctx, nid)

    def retry(self, nid: int, by: str) -> NotificationView:
        from warroom.notify import views

        return views.retry(self.ctx, nid, by)

    def customer_email(self, incident: str, by: str, text: str | None, subject: str | None) -> NotificationView:
        from warroom.notify import customer, views

        return views.get_notification(self.ctx, customer.send(self.ctx, incident, by, text, subject))

    def contacts(self) -> ContactsView:
        from warroom.notify import contacts

        return contacts.list_contacts(self.ctx)

    def put_person(self, name: str, req: PersonRequest) -> PersonView:
        from warroom.notify import contacts

        return contacts.put_person(self.ctx, name, req)

    def get_person(self, name: str) -> PersonView:
        from warroom.notify import contacts

        return contacts.get_person(self.ctx, name)

    def remove_person(self, name: str) -> None:
        from warroom.notify import contacts

        contacts.remove_person(self.ctx, name)

    def put_method(self, name: str, method: str, url: str) -> PersonView:
        from warroom.notify import contacts

        return contacts.put_method(self.ctx, name, method, MethodRequest(url=url))

    def remove_method(self, name: str, method: str) -> PersonView:
        from warroom.notify import contacts

        return contacts.remove_method(self.ctx, name, method)

    def set_rules(self, name: str, rules: list[RuleRequest]) -> PersonView:
        from warroom.notify import contacts

        return contacts.set_rules(self.ctx, name, rules)

    def put_channel(self, name: str, req: ChannelRequest) -> ChannelView:
        from warroom.notify import contacts

        return contacts.put_channel(self.ctx, name, req)

    def remove_channel(self, name: str) -> None:
        from warroom.notify import contacts

        contacts.remove_channel(self.ctx, name)


class _Remote:
    """The same calls to a running server at WARROOM_URL; problem+json comes back as the same errors."""

    def __init__(self, base: str) -> None:
        self.api = ApiClient(base)

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.api.call(method, path, body, params)

    def notifications(self, state: str | None, incident: str | None, limit: int, log: bool) -> list[NotificationView]:
        rows = self._call(
            "GET", "/notifications", params={"state": state, "incident": incident, "limit": limit, "log": log}
        )
        return TypeAdapter(list[NotificationView]).validate_python(rows)

    def get(self, nid: int) -> NotificationView:
        return NotificationView.model_validate(self._call("GET", f"/notifications/{nid}"))

    def retry(self, nid: int, by: str) -> NotificationView:
        return NotificationView.model_validate(self._call("POST", f"/notifications/{nid}/retry", {"by": by}))

    def customer_email(self, incident: str, by: str, text: str | None, subject: str | None) -> NotificationView:
        body = {"by": by, "text": text, "subject": subject}
        return NotificationView.model_validate(self._call("POST", f"/incidents/{incident}/customer-email", body))

    def contacts(self) -> ContactsView:
        return ContactsView.model_validate(self._call("GET", "/contacts"))

    def put_person(self, name: str, req: PersonRequest) -> PersonView:
        return PersonView.model_validate(self._call("PUT", f"/contacts/people/{_q(name)}", req.model_dump()))

    def get_person(self, name: str) -> PersonView:
        return PersonView.model_validate(self._call("GET", f"/contacts/people/{_q(name)}"))

    def remove_person(self, name: str) -> None:
        self._call("DELETE", f"/contacts/people/{_q(name)}")

    def put_method(self, name: str, method: str, url: str) -> PersonView:
        path = f"/contacts/people/{_q(name)}/methods/{_q(method)}"
        return PersonView.model_validate(self._call("PUT", path, {"url": url}))

    def remove_method(self, name: str, method: str) -> PersonView:
        return PersonView.model_validate(self._call("DELETE", f"/contacts/people/{_q(name)}/methods/{_q(method)}"))

    def set_rules(self, name: str, rules: list[RuleRequest]) -> PersonView:
        body = [r.model_dump() for r in rules]
        return PersonView.model_validate(self._call("PUT", f"/contacts/people/{_q(name)}/rules", body))

    def put_channel(self, name: str, req: ChannelRequest) -> ChannelView:
        return ChannelView.model_validate(self._call("PUT", f"/contacts/channels/{_q(name)}", req.model_dump()))

    def remove_channel(self, name: str) -> None:
        self._call("DELETE", f"/contacts/channels/{_q(name)}")


def _q(part: str) -> str:
    return quote(part, safe="")


def _backend() -> _Local | _Remote:
    url = get_settings().url
    return _Remote(url) if url else _Local()


def _time(value: Any) -> str:
    return value.strftime("%m-%d %H:%M:%S") if value else "—"


def _json(rows: Any) -> None:
    sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")


# --- notifications ------------------------------------------------------------------------------

notifications_app = typer.Typer(
    help="The outbox: every notification, its state and delivery log; retry, deliver, the customer e-mail.",
    invoke_without_command=True,
)
app.add_typer(notifications_app, name="notifications")

STATE_STYLE = {"sent": "green", "dead": "bold red", "unknown": "red", "failed": "yellow", "sending": "cyan"}


def _where(n: NotificationView) -> str:
    return f"{n.destination} ({n.address})" if n.address else n.destination


@notifications_app.callback()
def notifications(
    ctx: typer.Context,
    failed: bool = typer.Option(False, "--failed", help="only failed, dead and unknown ones (needing an eye)"),
    state: str = typer.Option(None, "--state", help="only these states, comma-separated"),
    incident: str = typer.Option(None, "--incident", help="only this incident"),
    as_json: bool = typer.Option(False, "--json", help="JSON (with the delivery log) instead of a table"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Notifications, newest first: where each went, its state, attempts and last error."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        rows = _backend().notifications("failed" if failed else state, incident, limit, as_json)
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _json([r.model_dump(mode="json") for r in rows])
        return
    if not rows:
        console.print("no notifications" + (" that failed" if failed else ""))
        return
    t = Table(title="notifications" + (" (failed, dead, unknown)" if failed else ""))
    for col in ("id", "created", "incident", "kind", "to", "state", "tries", "next / sent", "last error / note"):
        t.add_column(col)
    for n in rows:
        style = STATE_STYLE.get(n.state, "")
        when = _time(n.sent_at) if n.sent_at else _time(n.next_attempt_at)
        t.add_row(
            str(n.id),
            _time(n.created_at),
            n.incident_id or "",
            n.kind,
            _where(n),
            f"[{style}]{n.state}[/]" if style else n.state,
            f"{n.attempts}/{n.max_attempts}",
            when,
            (n.last_error or n.note)[:120],
        )
    console.print(t)


@notifications_app.command("show")
def notifications_show(
    notification_id: int = typer.Argument(...),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """One notification: its text and every delivery attempt."""
    try:
        n = _backend().get(notification_id)
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _json(n.model_dump(mode="json"))
        return
    console.print(f"[bold]#{n.id}[/] {n.kind} → {_where(n)}: {n.state} ({n.attempts}/{n.max_attempts} attempts)")
    console.print(
        f"event {n.event_key}; created {iso_z(n.created_at)}" + (f"; sent {iso_z(n.sent_at)}" if n.sent_at else "")
    )
    if n.note:
        console.print(f"note: {n.note}", markup=False, soft_wrap=True)
    console.print(f"[bold]{n.title}[/]")
    console.print(n.body, markup=False, soft_wrap=True)
    for a in n.log:
        console.print(
            f"  {iso_z(a.at)} #{a.number} {a.outcome} by {a.worker} ({a.elapsed_ms} ms) {a.error}", markup=False
        )


@notifications_app.command("retry")
def notifications_retry(
    notification_id: int = typer.Argument(...),
    by: str = typer.Option("cli", help="who retries it (recorded in the log)"),
) -> None:
    """Send a dead, failed or unknown notification again now (with a fresh set of attempts)."""
    try:
        n = _backend().retry(notification_id, by)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"notification {n.id} → {_where(n)}: queued again (attempt {n.attempts + 1} next)")


@notifications_app.command("customer-email")
def notifications_customer_email(
    incident_id: str = typer.Argument(...),
    by: str = typer.Option(..., "--by", help="who sends it"),
    text_file: Path = typer.Option(None, "--text-file", help="the e-mail as edited; default: the policy's draft"),
    subject: str = typer.Option(None, "--subject"),
) -> None:
    """Queue the customer e-mail for the customer-email destination (needs confirmed impact)."""
    text = None
    if text_file is not None:
        try:
            text = text_file.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {text_file}: {exc.strerror or exc}")
    try:
        n = _backend().customer_email(incident_id, by, text, subject)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"customer e-mail queued as notification {n.id}: {n.title}", markup=False, soft_wrap=True)


@notifications_app.command("deliver")
def notifications_deliver(
    once: bool = typer.Option(False, "--once", help="one round, then exit"),
    worker_id: str = typer.Option(None, "--id", help="name of this worker (default host:pid:random)"),
) -> None:
    """Deliver notifications until SIGTERM (what `warroom serve` and `warroom worker` also run)."""
    from warroom.notify.loop import DeliveryLoop

    ctx = _context()
    loop = DeliveryLoop(ctx, worker_id=worker_id or get_settings().worker_id)
    if once:
        try:
            loop.load_contacts()
        except ServiceError as exc:
            fail(exc.detail)
        report = loop.round()
        console.print(
            f"claimed {report.claimed}: sent {report.sent}, failed {report.failed}, dead {report.dead}, "
            f"unknown {report.unknown}, coalesced {report.coalesced}"
        )
        ctx.db.dispose()
        return
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        err_console.print(f"delivery {loop.worker_id}: {signal.Signals(signum).name}, stopping")
        stop.set()
        loop.wake()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        loop.load_contacts()
    except ServiceError as exc:
        fail(exc.detail)
    err_console.print(f"delivery {loop.worker_id}: policy {ctx.policy.name}, database {ctx.db.dialect}")
    loop.run(stop)
    ctx.db.dispose()
    t = loop.totals
    err_console.print(f"delivery {loop.worker_id}: stopped; sent {t.sent}, failed {t.failed}, dead {t.dead}")


# --- contacts -----------------------------------------------------------------------------------

contact_app = typer.Typer(
    help="Contact points: people (methods as Apprise URLs, personal rules) and channel destinations.",
    no_args_is_help=True,
)
app.add_typer(contact_app, name="contact")


def _person_line(p: PersonView) -> str:
    methods = ", ".join(f"{m.method} {m.url}" for m in p.methods) or "no methods"
    extra = f" (fallback {p.fallback})" if p.fallback else ""
    return f"{p.name} [{p.timezone}]{extra}: {methods}"


@contact_app.command("list")
def contact_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """Everyone and every channel destination (secrets in URLs are masked)."""
    try:
        view = _backend().contacts()
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _json(view.model_dump(mode="json"))
        return
    t = Table(title="people")
    for col in ("name", "zone", "methods", "rules", "fallback"):
        t.add_column(col)
    for p in view.people:
        rules = "; ".join(
            " ".join(
                x
                for x in (
                    "/".join(r.severities) or "any",
                    ("only " + ",".join(r.methods)) if r.methods else "",
                    f"quiet {r.quiet_hours}" if r.quiet_hours else "",
                )
                if x
            )
            for r in p.rules
        )
        t.add_row(p.name, p.timezone, "\n".join(f"{m.method}: {m.url}" for m in p.methods), rules, p.fallback or "")
    console.print(t)
    t = Table(title="channels")
    for col in ("name", "url", "fallback", "attempts", "rate/min", "delivery"):
        t.add_column(col)
    for c in view.channels:
        t.add_row(
            c.name,
            c.url,
            c.fallback or "",
            str(c.max_attempts or ""),
            str(c.rate_per_minute or ""),
            c.delivery or "",
        )
    console.print(t)


@contact_app.command("add-person")
def contact_add_person(
    name: str = typer.Argument(..., help="the name schedules use (e.g. alice)"),
    display_name: str = typer.Option("", "--name", help="full name"),
    timezone: str = typer.Option("UTC", "--timezone", "--tz", help="IANA zone for quiet hours"),
    fallback: str = typer.Option(None, help="where dead notifications go: one of their methods, or a channel"),
) -> None:
    """Add (or update) a person."""
    try:
        p = _backend().put_person(name, PersonRequest(display_name=display_name, timezone=timezone, fallback=fallback))
    except ServiceError as exc:
        fail(exc.detail)
    console.print(_person_line(p), markup=False, soft_wrap=True)


@contact_app.command("remove-person")
def contact_remove_person(name: str = typer.Argument(...)) -> None:
    try:
        _backend().remove_person(name)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"removed {name}")


@contact_app.command("add-method")
def contact_add_method(
    person: str = typer.Argument(...),
    method: str = typer.Argument(..., help="page, push, sms, email, phone or chat"),
    url: str = typer.Argument(..., help="an Apprise URL, e.g. mailtos://…, ntfy://…, pover://…"),
) -> None:
    """Set how to reach a person by one method."""
    try:
        p = _backend().put_method(person, method, url)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(_person_line(p), markup=False, soft_wrap=True)


@contact_app.command("remove-method")
def contact_remove_method(person: str = typer.Argument(...), method: str = typer.Argument(...)) -> None:
    try:
        p = _backend().remove_method(person, method)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(_person_line(p), markup=False, soft_wrap=True)


def _csv(text: str | None) -> list[str]:
    return [x.strip() for x in (text or "").split(",") if x.strip()]


@contact_app.command("add-rule")
def contact_add_rule(
    person: str = typer.Argument(...),
    severity: str = typer.Option(None, "--severity", help="comma-separated severities (default: every one)"),
    methods: str = typer.Option(None, "--methods", help="use only these methods, comma-separated (e.g. email)"),
    quiet: str = typer.Option(None, "--quiet", help="quiet hours in their zone, e.g. 22:00-07:00"),
    note: str = typer.Option("", "--note"),
) -> None:
    """Append a personal rule; the first rule matching an incident's severity applies."""
    b = _backend()
    try:
        existing = b.get_person(person).rules
        rules = [
            RuleRequest(severities=r.severities, methods=r.methods, quiet_hours=r.quiet_hours, note=r.note)
            for r in existing
        ]
        rules.append(RuleRequest(severities=_csv(severity), methods=_csv(methods), quiet_hours=quiet, note=note))
        p = b.set_rules(person, rules)
    except ServiceError as exc:
        fail(exc.detail)
    for r in p.rules:
        console.print(
            f"{r.position}. {'/'.join(r.severities) or 'any severity'}: "
            f"{'only ' + ', '.join(r.methods) if r.methods else 'as the policy asks'}"
            f"{'; quiet ' + r.quiet_hours if r.quiet_hours else ''}",
            markup=False,
        )


@contact_app.command("clear-rules")
def contact_clear_rules(person: str = typer.Argument(...)) -> None:
    try:
        _backend().set_rules(person, [])
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"{person}: no rules")


@contact_app.command("add-channel")
def contact_add_channel(
    name: str = typer.Argument(..., help="#incidents, #ops-low, war-room, status-page, customer-email, @engineers…"),
    url: str = typer.Argument(..., help="an Apprise URL; {channel} is the incident's channel, {incident} its id"),
    fallback: str = typer.Option(None, help="destination that gets the message when this one is dead"),
    attempts: int = typer.Option(None, "--attempts", min=1, max=50, help="tries before dead"),
    rate: int = typer.Option(None, "--rate", min=1, help="messages per minute before coalescing"),
    delivery: str = typer.Option(None, help="at-most-once or at-least-once (default by kind)"),
    description: str = typer.Option("", "--description"),
) -> None:
    """Add (or update) a channel destination."""
    try:
        req = ChannelRequest(
            url=url,
            fallback=fallback,
            max_attempts=attempts,
            rate_per_minute=rate,
            delivery=delivery,
            description=description,
        )
        c = _backend().put_channel(name, req)
    except ServiceError as exc:
        fail(exc.detail)
    except ValueError as exc:
        fail(str(exc).splitlines()[0] if str(exc) else "invalid channel")
    console.print(
        f"{c.name} → {c.url}" + (f" (fallback {c.fallback})" if c.fallback else ""), markup=False, soft_wrap=True
    )


@contact_app.command("remove-channel")
def contact_remove_channel(name: str = typer.Argument(...)) -> None:
    try:
        _backend().remove_channel(name)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"removed {name}")


@contact_app.command("load")
def contact_load(path: Path = typer.Argument(..., help="YAML with people: and channels: (see docs)")) -> None:
    """Load people and channels from a file (upsert; a listed person's methods and rules become the file's)."""
    from warroom.notify import contacts

    b = _backend()
    try:
        if isinstance(b, _Local):
            view = contacts.load(b.ctx, path)
        else:
            spec = contacts.parse_file(path.read_text(encoding="utf-8"), str(path))
            for name, ps in spec.people.items():
                b.put_person(
                    name, PersonRequest(display_name=ps.display_name, timezone=ps.timezone, fallback=ps.fallback)
                )
                for method, url in ps.methods.items():
                    b.put_method(name, method, url)
                for gone in [m.method for m in b.get_person(name).methods if m.method not in ps.methods]:
                    b.remove_method(name, gone)
                b.set_rules(name, ps.rules)
            for name, cs in spec.channels.items():
                b.put_channel(name, cs)
            view = b.contacts()
    except ServiceError as exc:
        fail(exc.detail)
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    console.print(f"{len(view.people)} people, {len(view.channels)} channels")
