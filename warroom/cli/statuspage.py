"""`warroom statuspage ...`: post to the public status page, its components and maintenance, and a static
export. (`warroom status INC STATUS` is the incident's own lifecycle; this is what the public reads.)"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer
from pydantic import TypeAdapter

from warroom.cli.http import ApiClient
from warroom.cli.root import app, console, fail
from warroom.domain.clock import within_calendar
from warroom.domain.errors import ServiceError
from warroom.settings import get_settings
from warroom.statuspage.schemas import (
    ComponentChange,
    ComponentRequest,
    ComponentView,
    MaintenanceRequest,
    MaintenanceStep,
    MaintenanceView,
    PostView,
)
from warroom.statuspage.subscribers import DeliveryView, SubscriberRequest, SubscriberView

if TYPE_CHECKING:
    from warroom.store.unit import Context  # annotations only: remote mode never loads the database layer

status_app = typer.Typer(
    help="The public status page: posts, components, maintenance, a static export.", no_args_is_help=True
)
component_app = typer.Typer(help="Components the page lists (and their groups).", no_args_is_help=True)
maintenance_app = typer.Typer(help="Scheduled maintenance windows.", no_args_is_help=True)
subscriber_app = typer.Typer(
    help="Subscribers by e-mail and by webhook, and what was delivered to each.", no_args_is_help=True
)
status_app.add_typer(component_app, name="component")
status_app.add_typer(maintenance_app, name="maintenance")
status_app.add_typer(subscriber_app, name="subscriber")
app.add_typer(status_app, name="statuspage")

BY = typer.Option(None, "--by", help="who is doing this (default: $WARROOM_USER or $USER)")
JSON_OUT = typer.Option(False, "--json", help="print JSON")


def _by(by: str | None) -> str:
    return by or os.environ.get("WARROOM_USER") or os.environ.get("USER") or getpass.getuser()


def _context() -> Context:
    from warroom.compose import build_context
    from warroom.domain.errors import PolicyError

    try:
        return build_context(get_settings())
    except PolicyError as exc:
        fail(str(exc))


def _q(part: str) -> str:
    return quote(part, safe="")


class _Local:
    """Straight to the service functions on the local database."""

    def __init__(self) -> None:
        self.ctx = _context()

    def post(self, incident: str, body: dict[str, Any]) -> PostView:
        from warroom.statuspage import posts

        return posts.post(
            self.ctx,
            incident,
            body["text"],
            body["by"],
            status=body["status"],
            components=body["components"],
            title=body["title"],
        )

    def add_component(self, req: ComponentRequest) -> ComponentView:
        from warroom.statuspage import components

        return components.add_component(self.ctx, req)

    def change_component(self, ref: str, req: ComponentChange) -> ComponentView:
        from warroom.statuspage import components

        return components.change_component(self.ctx, ref, req)

    def components(self) -> list[ComponentView]:
        from warroom.statuspage import components

        return components.list_components(self.ctx)

    def schedule(self, req: MaintenanceRequest) -> MaintenanceView:
        from warroom.statuspage import maintenance

        return maintenance.schedule(self.ctx, req)

    def step(self, code: str, req: MaintenanceStep) -> MaintenanceView:
        from warroom.statuspage import maintenance

        return maintenance.advance(self.ctx, code, req)

    def maintenances(self) -> list[MaintenanceView]:
        from warroom.statuspage import maintenance

        return maintenance.list_maintenance(self.ctx)

    def subscribers(self) -> list[SubscriberView]:
        from warroom.statuspage import subscribers

        return subscribers.list_subscribers(self.ctx)

    def add_subscriber(self, req: SubscriberRequest) -> SubscriberView:
        from warroom.statuspage import subscribers

        return subscribers.add(self.ctx, req)

    def remove_subscriber(self, subscriber_id: int, by: str) -> SubscriberView:
        from warroom.statuspage import subscribers

        return subscribers.remove(self.ctx, subscriber_id, by)

    def deliveries(self, subscriber_id: int, limit: int) -> list[DeliveryView]:
        from warroom.statuspage import subscribers

        return subscribers.deliveries(self.ctx, subscriber_id, limit)


class _Remote:
    """The same calls to a running server at WARROOM_URL."""

    def __init__(self, base: str) -> None:
        self.api = ApiClient(base)

    def post(self, incident: str, body: dict[str, Any]) -> PostView:
        return PostView.model_validate(self.api.call("POST", f"/status/incidents/{_q(incident)}/posts", body))

    def add_component(self, req: ComponentRequest) -> ComponentView:
        return ComponentView.model_validate(self.api.call("POST", "/status/components", req.model_dump()))

    def change_component(self, ref: str, req: ComponentChange) -> ComponentView:
        body = req.model_dump(exclude_none=True)
        return ComponentView.model_validate(self.api.call("POST", f"/status/components/{_q(ref)}", body))

    def components(self) -> list[ComponentView]:
        return TypeAdapter(list[ComponentView]).validate_python(self.api.call("GET", "/status/components"))

    def schedule(self, req: MaintenanceRequest) -> MaintenanceView:
        return MaintenanceView.model_validate(
            self.api.call("POST", "/status/maintenances", req.model_dump(mode="json"))
        )

    def step(self, code: str, req: MaintenanceStep) -> MaintenanceView:
        path = f"/status/maintenances/{_q(code)}/status"
        return MaintenanceView.model_validate(self.api.call("POST", path, req.model_dump()))

    def maintenances(self) -> list[MaintenanceView]:
        return TypeAdapter(list[MaintenanceView]).validate_python(self.api.call("GET", "/status/maintenances"))

    def subscribers(self) -> list[SubscriberView]:
        return TypeAdapter(list[SubscriberView]).validate_python(self.api.call("GET", "/status/subscribers"))

    def add_subscriber(self, req: SubscriberRequest) -> SubscriberView:
        return SubscriberView.model_validate(self.api.call("POST", "/status/subscribers", req.model_dump()))

    def remove_subscriber(self, subscriber_id: int, by: str) -> SubscriberView:
        path = f"/status/subscribers/{subscriber_id}/remove"
        return SubscriberView.model_validate(self.api.call("POST", path, {"by": by}))

    def deliveries(self, subscriber_id: int, limit: int) -> list[DeliveryView]:
        path = f"/status/subscribers/{subscriber_id}/deliveries?limit={limit}"
        return TypeAdapter(list[DeliveryView]).validate_python(self.api.call("GET", path))


def _backend() -> _Local | _Remote:
    url = get_settings().url
    return _Remote(url) if url else _Local()


def _print(obj: Any, as_json: bool, line: str) -> None:
    if as_json:
        data = [o.model_dump(mode="json") for o in obj] if isinstance(obj, list) else obj.model_dump(mode="json")
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        console.print(line, markup=False, soft_wrap=True)


def _pairs(items: list[str], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        name, eq, status = item.rpartition("=")
        if not eq or not name.strip() or not status.strip():
            fail(f"{option} takes NAME=STATUS, such as 'API=partial_outage'; got '{item}'")
        out[name.strip()] = status.strip()
    return out


def _when(value: str, option: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        fail(f"{option}: '{value}' is not a time; write it as 2026-05-08T02:00Z")
    if t.tzinfo is None:
        fail(f"{option}: '{value}' has no time zone; add Z for UTC")
    if not within_calendar(t):
        fail(f"{option}: '{value}' is not between 1970 and 9000")
    return t


@status_app.command("post")
def post(
    incident: str = typer.Argument(..., help="the incident, e.g. INC-20260507-0001"),
    text: str = typer.Argument(..., help="what the public reads"),
    status: str = typer.Option(
        None, "--status", help="investigating, identified, monitoring or resolved (default: from the incident's stage)"
    ),
    component: list[str] = typer.Option(
        [], "--component", "-c", help="NAME=STATUS, e.g. API=partial_outage (repeat for several)"
    ),
    title: str = typer.Option(None, "--title", help="the public name (default: the incident's title)"),
    by: str = BY,
    as_json: bool = JSON_OUT,
) -> None:
    """Publish a status update: the incident's external update, with its public status and components."""
    body = {
        "text": text,
        "status": status,
        "components": _pairs(component, "--component"),
        "title": title,
        "by": _by(by),
    }
    try:
        p = _backend().post(incident, body)
    except ServiceError as exc:
        fail(exc.detail)
    changes = ", ".join(f"{c['code']} {c['old_status']} → {c['new_status']}" for c in p.components)
    _print(
        p,
        as_json,
        f"{p.incident_id}: posted {p.status} (external update #{p.update_number}) at "
        f"{p.url}" + (f"; {changes}" if changes else ""),
    )


@component_app.command("add")
def component_add(
    name: str = typer.Argument(...),
    group: str = typer.Option(None, "--group", help="the group it shows under (made if new)"),
    description: str = typer.Option("", "--description"),
    position: int = typer.Option(None, "--position", min=0, max=10_000),
    by: str = BY,
    as_json: bool = JSON_OUT,
) -> None:
    """Add a component to the page."""
    try:
        c = _backend().add_component(
            ComponentRequest(name=name, group=group, description=description, position=position, by=_by(by))
        )
    except ServiceError as exc:
        fail(exc.detail)
    _print(c, as_json, f"component {c.name} ({c.code}) added")


@component_app.command("set")
def component_set(
    name: str = typer.Argument(..., help="its name or code"),
    status: str = typer.Option(
        None, "--status", help="operational, degraded_performance, partial_outage, major_outage or under_maintenance"
    ),
    description: str = typer.Option(None, "--description"),
    position: int = typer.Option(None, "--position", min=0, max=10_000),
    by: str = BY,
    as_json: bool = JSON_OUT,
) -> None:
    """Set a component's status by hand, describe or reorder it."""
    try:
        c = _backend().change_component(
            name, ComponentChange(status=status, description=description, position=position, by=_by(by))
        )
    except ServiceError as exc:
        fail(exc.detail)
    _print(c, as_json, f"component {c.name}: {c.status}")


@component_app.command("list")
def component_list(as_json: bool = JSON_OUT) -> None:
    """The page's components, in order."""
    try:
        rows = _backend().components()
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _print(rows, True, "")
        return
    for c in rows:
        console.print(
            f"{c.code}  {'  ' if c.group_code else ''}{c.name}  {'(group)' if c.is_group else c.status}", markup=False
        )


@maintenance_app.command("add")
def maintenance_add(
    name: str = typer.Argument(...),
    start: str = typer.Option(..., "--start", help="when it starts, e.g. 2026-05-08T02:00Z"),
    end: str = typer.Option(..., "--end", help="when it ends"),
    component: list[str] = typer.Option([], "--component", "-c", help="a component it takes down (repeat)"),
    text: str = typer.Option("", "--text", help="what the public reads"),
    by: str = BY,
    as_json: bool = JSON_OUT,
) -> None:
    """Schedule a maintenance window: shown ahead, started and completed at its times, its alerts silenced."""
    req = MaintenanceRequest(
        name=name,
        text=text,
        scheduled_for=_when(start, "--start"),
        scheduled_until=_when(end, "--end"),
        components=component,
        by=_by(by),
    )
    try:
        m = _backend().schedule(req)
    except ServiceError as exc:
        fail(exc.detail)
    _print(
        m,
        as_json,
        f"maintenance {m.code} scheduled {m.scheduled_for:%Y-%m-%d %H:%M}–{m.scheduled_until:%H:%M} UTC"
        + (f", silence {m.silence_id}" if m.silence_id else ""),
    )


@maintenance_app.command("step")
def maintenance_step(
    code: str = typer.Argument(...),
    status: str = typer.Argument(..., help="in_progress, verifying or completed"),
    text: str = typer.Option("", "--text"),
    by: str = BY,
    as_json: bool = JSON_OUT,
) -> None:
    """Move a window by hand (start early, verify, complete, or cancel a scheduled one)."""
    try:
        m = _backend().step(code, MaintenanceStep(status=status, text=text, by=_by(by)))
    except ServiceError as exc:
        fail(exc.detail)
    _print(m, as_json, f"maintenance {m.code}: {m.status}")


@maintenance_app.command("list")
def maintenance_list(as_json: bool = JSON_OUT) -> None:
    """Maintenance windows, latest first."""
    try:
        rows = _backend().maintenances()
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _print(rows, True, "")
        return
    for m in rows:
        console.print(
            f"{m.code}  {m.status:<11}  {m.scheduled_for:%Y-%m-%d %H:%M}–{m.scheduled_until:%H:%M} UTC  {m.name}",
            markup=False,
        )


def _subscriber_line(s: SubscriberView) -> str:
    follows = ", ".join(s.components) or "all components"
    line = f"{s.id:>4}  {s.kind:<7}  {s.state:<12}  {s.address}  ({follows})  sent {s.sent}, failed {s.failed}"
    line += f", pending {s.pending}"
    return line + (f"  last error: {s.last_error}" if s.last_error else "")


@subscriber_app.command("list")
def subscriber_list(as_json: bool = JSON_OUT) -> None:
    """Every subscriber, its state and what was sent, failed or is pending (webhook URLs with secrets hidden)."""
    try:
        rows = _backend().subscribers()
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _print(rows, True, "")
        return
    for s in rows:
        console.print(_subscriber_line(s), markup=False, soft_wrap=True)


@subscriber_app.command("add")
def subscriber_add(
    webhook: str = typer.Option(None, "--webhook", help="a URL that gets each post as JSON (confirmed at once)"),
    email: str = typer.Option(None, "--email", help="an address (sent a confirmation mail first)"),
    component: list[str] = typer.Option([], "--component", "-c", help="only this component (repeat; default all)"),
    by: str = BY,
    as_json: bool = JSON_OUT,
) -> None:
    """Add a subscriber by webhook or by e-mail."""
    try:
        s = _backend().add_subscriber(SubscriberRequest(webhook=webhook, email=email, components=component, by=_by(by)))
    except ServiceError as exc:
        fail(exc.detail)
    _print(s, as_json, f"subscriber {s.id} ({s.kind}) {s.state}: {s.address}")


@subscriber_app.command("remove")
def subscriber_remove(subscriber_id: int = typer.Argument(...), by: str = BY, as_json: bool = JSON_OUT) -> None:
    """Remove a subscriber: nothing more is sent to it (its delivery log stays)."""
    try:
        s = _backend().remove_subscriber(subscriber_id, _by(by))
    except ServiceError as exc:
        fail(exc.detail)
    _print(s, as_json, f"subscriber {s.id} removed: {s.address}")


@subscriber_app.command("deliveries")
def subscriber_deliveries(
    subscriber_id: int = typer.Argument(...),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = JSON_OUT,
) -> None:
    """A subscriber's delivery log, newest first: each message, its state, and every attempt."""
    try:
        rows = _backend().deliveries(subscriber_id, limit)
    except ServiceError as exc:
        fail(exc.detail)
    if as_json:
        _print(rows, True, "")
        return
    if not rows:
        console.print(f"nothing was sent to subscriber {subscriber_id} yet", markup=False)
    for d in rows:
        sent = f" at {d.sent_at:%Y-%m-%d %H:%M:%S} UTC" if d.sent_at else ""
        console.print(f"#{d.id}  {d.state}{sent}  {d.title}  ({d.attempts} attempts)", markup=False, soft_wrap=True)
        for a in d.log:
            error = f": {a.error}" if a.error else ""
            console.print(
                f"    {a.at:%Y-%m-%d %H:%M:%S} UTC  try {a.number}  {a.outcome}  {a.elapsed_ms} ms{error}",
                markup=False,
                soft_wrap=True,
            )


@status_app.command("export")
def export(
    directory: Path = typer.Argument(..., help="where the static copy goes (replaced whole)"),
    watch: bool = typer.Option(False, "--watch", help="export again after every change, until interrupted"),
    every: float = typer.Option(2.0, "--every", min=0.2, max=3600, help="with --watch: how often to check"),
) -> None:
    """Write a static copy (HTML, Statuspage JSON, feeds) any web server can serve when warroom is down."""
    from warroom.statuspage import export as exporter
    from warroom.statuspage import snapshot

    if get_settings().url:
        fail("export reads the database itself; unset WARROOM_URL and set WARROOM_DATABASE_URL")
    ctx = _context()
    base = get_settings().public_url
    seen = None
    while True:
        if watch:
            from warroom.statuspage import maintenance

            maintenance.advance_due(ctx)  # a window whose time came moves, and so bumps the version
        with ctx.db.read() as session:
            version = snapshot.version(session)
        if version != seen:
            started = time.monotonic()
            out = exporter.export(ctx, directory, base_url=base)
            console.print(
                f"exported version {out.version}: {out.files} files, {out.bytes:,} bytes, in "
                f"{time.monotonic() - started:.2f}s to {directory}",
                markup=False,
            )
            seen = version
        if not watch:
            return
        time.sleep(every)
