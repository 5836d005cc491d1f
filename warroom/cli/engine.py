"""`warroom worker`, `warroom oncall ...` and `warroom engine timers|pages`."""

from __future__ import annotations

import signal
import threading
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from warroom.cli.http import ApiClient
from warroom.cli.root import app, console, err_console, fail
from warroom.domain.clock import ensure_utc, iso_z, within_calendar
from warroom.domain.durations import DurationError, parse_fixed
from warroom.domain.errors import ServiceError
from warroom.engine.views import PageView, TimerView
from warroom.oncall.schemas import LayerRequest, OnCallView, OverrideRequest, OverrideView, ScheduleView
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


def _when(text: str | None, what: str = "--at") -> datetime | None:
    """An ISO-8601 time (Z or offset), `now`, or an offset from now such as +2h or -30m."""
    if text is None or text.strip().lower() == "now":
        return None
    value = text.strip()
    if value[0] in "+-":
        try:
            delta = parse_fixed(value[1:])
        except DurationError as exc:
            fail(f"{what}: {exc}")
        return datetime.now().astimezone() + (delta if value[0] == "+" else -delta)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        fail(f"{what}: '{value}' is not a time; use ISO-8601 such as 2026-05-07T14:00Z, or +2h")
    if parsed.tzinfo is None:
        fail(f"{what}: '{value}' has no time zone; add Z for UTC")
    if not within_calendar(parsed):
        fail(f"{what}: '{value}' is not between 1970 and 9000")
    return ensure_utc(parsed)


def _fmt(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


# --- local or remote (WARROOM_URL) -------------------------------------------------------------


class _Local:
    """On-call and engine reads straight through the service functions."""

    def __init__(self) -> None:
        self.ctx = _context()

    def now(self) -> datetime:
        return self.ctx.clock.now()

    def who(self, at: datetime | None) -> list[OnCallView]:
        from warroom.oncall import service

        return service.who_is_on_call(self.ctx, at)

    def set_layer(self, name: str, req: LayerRequest, layer: int) -> ScheduleView:
        from warroom.oncall import service

        return service.set_layer(self.ctx, name, req, position=layer)

    def override(self, name: str, req: OverrideRequest) -> OverrideView:
        from warroom.oncall import service

        return service.add_override(self.ctx, name, req)

    def schedule(self, name: str, days: int, at: datetime | None) -> ScheduleView:
        from warroom.oncall import service

        return service.get_schedule(self.ctx, name, days, at)

    def names(self) -> list[str]:
        from warroom.oncall import service

        return [v.name for v in service.list_schedules(self.ctx)]

    def remove(self, name: str, layer: int | None) -> None:
        from warroom.oncall import service

        service.remove(self.ctx, name, layer)

    def timers(self, incident: str | None, state: str, limit: int) -> list[TimerView]:
        from warroom.engine import views

        return views.timers(self.ctx, incident=incident, state=state, limit=limit)

    def pages(self, incident: str | None, limit: int) -> list[PageView]:
        from warroom.engine import views

        return views.pages(self.ctx, incident=incident, limit=limit)


class _Remote:
    """The same calls over HTTP to a running server; problem+json comes back as the same errors."""

    def __init__(self, base: str) -> None:
        self.api = ApiClient(base)

    def _call(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        return self.api.call(method, path, body, params)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def who(self, at: datetime | None) -> list[OnCallView]:
        rows = self._call("GET", "/oncall", params={"at": iso_z(at) if at else None})
        return [OnCallView.model_validate(r) for r in rows]

    def set_layer(self, name: str, req: LayerRequest, layer: int) -> ScheduleView:
        body = req.model_dump(mode="json", exclude_none=True)
        return ScheduleView.model_validate(self._call("PUT", f"/oncall/schedules/{name}/layers/{layer}", body))

    def override(self, name: str, req: OverrideRequest) -> OverrideView:
        body = req.model_dump(mode="json")
        return OverrideView.model_validate(self._call("POST", f"/oncall/schedules/{name}/overrides", body))

    def schedule(self, name: str, days: int, at: datetime | None) -> ScheduleView:
        params = {"days": days, "at": iso_z(at) if at else None}
        return ScheduleView.model_validate(self._call("GET", f"/oncall/schedules/{name}", params=params))

    def names(self) -> list[str]:
        return [r["name"] for r in self._call("GET", "/oncall/schedules")]

    def remove(self, name: str, layer: int | None) -> None:
        self._call("DELETE", f"/oncall/schedules/{name}", params={"layer": layer})

    def timers(self, incident: str | None, state: str, limit: int) -> list[TimerView]:
        rows = self._call("GET", "/engine/timers", params={"incident": incident, "state": state, "limit": limit})
        return [TimerView.model_validate(r) for r in rows]

    def pages(self, incident: str | None, limit: int) -> list[PageView]:
        rows = self._call("GET", "/pages", params={"incident": incident, "limit": limit})
        return [PageView.model_validate(r) for r in rows]


def _backend() -> _Local | _Remote:
    url = get_settings().url
    return _Remote(url) if url else _Local()


# --- worker -------------------------------------------------------------------------------------


@app.command()
def worker(
    worker_id: str = typer.Option(None, "--id", help="name of this worker (default host:pid:random)"),
    interval: float = typer.Option(None, help="longest sleep between polls, seconds (default WARROOM_ENGINE_INTERVAL)"),
    batch: int = typer.Option(50, min=1, max=1000, help="timers claimed per round"),
    lease: float = typer.Option(30.0, min=1.0, help="seconds a claim is held before another worker may take it"),
    threads: int = typer.Option(None, min=1, max=32, help="firing threads (default 4 on PostgreSQL, 1 on SQLite)"),
) -> None:
    """Run the engine loop on its own until SIGTERM: pages, reminders, SLA breaches, escalations."""
    from sqlalchemy import select
    from sqlalchemy.exc import DBAPIError

    from warroom.engine.loop import EngineLoop
    from warroom.notify import loop as notify_loop
    from warroom.store.db import unavailable
    from warroom.store.engine_models import Timer

    settings = get_settings()
    ctx = _context()
    try:
        with ctx.db.unit() as session:
            session.execute(select(Timer.id).limit(1))
    except DBAPIError as exc:
        if (down := unavailable(exc)) is None:
            fail("the database has no engine tables; run `warroom db upgrade` first")
        err_console.print(f"worker: the database cannot be reached ({down}); starting anyway, working once it answers")
    loop = EngineLoop(
        ctx,
        worker_id=worker_id or settings.worker_id,
        batch=batch,
        lease=timedelta(seconds=lease),
        interval=interval if interval is not None else settings.engine_interval,
        threads=threads,
    )
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        err_console.print(f"worker {loop.worker_id}: {signal.Signals(signum).name}, stopping after this timer")
        stop.set()
        loop.wake()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    err_console.print(
        f"worker {loop.worker_id}: policy {ctx.policy.name}, database {ctx.db.dialect}, {loop.threads} thread(s)"
    )
    delivery = notify_loop.start_background(ctx, loop.worker_id)
    loop.run(stop)
    if delivery is not None:
        delivery.stop()
    ctx.db.dispose()
    err_console.print(f"worker {loop.worker_id}: stopped after {loop.stats.fired} timers")


# --- on-call ------------------------------------------------------------------------------------

oncall_app = typer.Typer(
    help="On-call schedules: rotations, layers, overrides; with no subcommand, who is on call.",
    invoke_without_command=True,
)
app.add_typer(oncall_app, name="oncall")


@oncall_app.callback()
def oncall_now(
    ctx: typer.Context,
    at: str = typer.Option(None, "--at", help="a time (ISO-8601, or +2h / -30m from now); default now"),
) -> None:
    """Who is on call on every schedule (primary, backup, ...), now or at --at."""
    if ctx.invoked_subcommand is not None:
        return
    b = _backend()
    when = _when(at)
    try:
        rows = b.who(when)
    except ServiceError as exc:
        fail(exc.detail)
    if not rows:
        console.print("no on-call schedules yet; create one with `warroom oncall set NAME --members alice,bob`")
        if isinstance(b, _Local):
            wanted = {spec.ref or name: name for name, spec in b.ctx.policy.targets.items() if spec.via == "schedule"}
            if wanted:
                names = ", ".join(f"{ref} ({target})" for ref, target in wanted.items())
                console.print(f"policy {b.ctx.policy.name} pages these schedules: {names}")
        return
    t = Table(title=f"on call at {_fmt(when or b.now())}")
    for col in ("schedule", "targets", "person", "from", "until"):
        t.add_column(col)
    for r in rows:
        t.add_row(r.schedule, ", ".join(r.targets), r.person or "[red]nobody[/]", r.source, _fmt(r.until))
    console.print(t)


def _members(text: str) -> list[str]:
    return [m.strip() for m in text.split(",") if m.strip()]


@oncall_app.command("set")
def oncall_set(
    name: str = typer.Argument(
        ..., help="a schedule the policy pages (nself: nself-primary, nself-backup; `warroom setup` lists them)"
    ),
    members: str = typer.Option(..., "--members", help="comma-separated, in rotation order"),
    length: str = typer.Option("weekly", help="daily, weekly, or a duration such as 12h or 3d"),
    handoff: str = typer.Option("09:00", help="local handoff time"),
    start: str = typer.Option(None, help="YYYY-MM-DD the first member's first shift starts (default today)"),
    timezone: str = typer.Option(None, "--timezone", "--tz", help="IANA time zone of the schedule"),
    layer: int = typer.Option(1, help="layer number; higher layers win where they are active"),
    days: str = typer.Option(None, help="restrict this layer to days, e.g. mon-fri"),
    hours: str = typer.Option(None, help="restrict this layer to local hours, e.g. 09:00-17:00"),
    description: str = typer.Option(None, help="what this schedule is for"),
) -> None:
    """Create a schedule or replace one of its layers (a rotation)."""
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        fail(f"--start '{start}' must be a date such as 2026-05-04")
    try:
        req = LayerRequest(
            members=_members(members),
            length=length,
            handoff=handoff,
            start=first,
            timezone=timezone,
            days=days,
            hours=hours,
            description=description,
        )
        view = _backend().set_layer(name, req, layer)
    except ServiceError as exc:
        fail(exc.detail)
    except ValueError as exc:
        fail(str(exc))
    la = next(x for x in view.layers if x.position == layer)
    limits = " ".join(x for x in (la.days, la.hours) if x)
    console.print(
        f"{view.name} layer {la.position}: {', '.join(la.members)} · {la.length} handoff {la.handoff} "
        f"{view.timezone} from {la.start_date}" + (f" · only {limits}" if limits else "")
    )
    if view.on_call:
        console.print(f"on call now: {view.on_call.person or 'nobody'} until {_fmt(view.on_call.until)}")


@oncall_app.command("override")
def oncall_override(
    name: str = typer.Argument(..., help="schedule name"),
    person: str = typer.Option(..., "--person", help="who covers"),
    start: str = typer.Option(..., "--from", help="start (ISO-8601 or +offset)"),
    end: str = typer.Option(..., "--to", help="end (ISO-8601 or +offset)"),
    reason: str = typer.Option("", help="why (shown with the schedule)"),
    by: str = typer.Option("cli", help="who is making the change"),
) -> None:
    """A person covers a schedule for a window (swaps, holidays, sick days)."""
    b = _backend()
    begins = _when(start, "--from") or b.now()
    ends = _when(end, "--to") or b.now()
    try:
        row = b.override(name, OverrideRequest(person=person, starts_at=begins, ends_at=ends, reason=reason, by=by))
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"{name}: {row.person} covers {_fmt(row.starts_at)} → {_fmt(row.ends_at)}")


@oncall_app.command("show")
def oncall_show(
    name: str = typer.Argument(None, help="schedule name (default: all)"),
    days: int = typer.Option(7, min=0, max=90, help="list shifts this many days ahead"),
    at: str = typer.Option(None, "--at", help="start of the listing (default now)"),
) -> None:
    """A schedule's layers, overrides and upcoming shifts."""
    b = _backend()
    try:
        views = [b.schedule(n, days, _when(at)) for n in ([name] if name else b.names())]
    except ServiceError as exc:
        fail(exc.detail)
    if not views:
        console.print("no on-call schedules yet; create one with `warroom oncall set NAME --members alice,bob`")
    for v in views:
        console.print(f"[bold]{v.name}[/] ({v.timezone}){' — ' + v.description if v.description else ''}")
        for la in v.layers:
            limits = " ".join(x for x in (la.days, la.hours) if x)
            console.print(
                f"  layer {la.position}: {', '.join(la.members)} · {la.length} at {la.handoff} from {la.start_date}"
                + (f" · only {limits}" if limits else "")
            )
        for o in v.overrides:
            console.print(f"  override: {o.person} {_fmt(o.starts_at)} → {_fmt(o.ends_at)} {o.reason}")
        if v.shifts:
            t = Table(show_header=True, box=None, padding=(0, 2))
            for col in ("from", "to", "person", "by"):
                t.add_column(col)
            for s in v.shifts:
                t.add_row(_fmt(s.start), _fmt(s.end), s.person or "[red]nobody[/]", s.source)
            console.print(t)


@oncall_app.command("remove")
def oncall_remove(
    name: str = typer.Argument(...),
    layer: int = typer.Option(None, help="remove only this layer"),
) -> None:
    """Delete a schedule (or one layer of it)."""
    try:
        _backend().remove(name, layer)
    except ServiceError as exc:
        fail(exc.detail)
    console.print(f"removed {name}" + (f" layer {layer}" if layer else ""))


# --- engine state -------------------------------------------------------------------------------

engine_app = typer.Typer(help="Look inside the engine: timers and pages.", no_args_is_help=True)
app.add_typer(engine_app, name="engine")


@engine_app.command("timers")
def engine_timers(
    incident: str = typer.Option(None, help="only this incident"),
    state: str = typer.Option("live", help="live (pending or claimed), all, or one state"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Durable timers: what the engine will do, and when."""
    try:
        rows = _backend().timers(incident, state, limit)
    except ServiceError as exc:
        fail(exc.detail)
    t = Table(title=f"timers ({state})")
    for col in ("due", "kind", "incident", "state", "attempts", "key"):
        t.add_column(col)
    for r in rows:
        t.add_row(_fmt(r.due_at), r.kind, r.incident_id or "", r.state, str(r.attempts), r.key)
    console.print(t)


@engine_app.command("pages")
def engine_pages(
    incident: str = typer.Option(None, help="only this incident"),
    limit: int = typer.Option(50, min=1, max=1000),
) -> None:
    """Pages recorded (the hand-off to delivery), newest first."""
    try:
        rows = _backend().pages(incident, limit)
    except ServiceError as exc:
        fail(exc.detail)
    t = Table(title="pages")
    for col in ("at", "incident", "kind", "tier", "target", "person", "methods", "delivery"):
        t.add_column(col)
    for r in rows:
        t.add_row(
            iso_z(r.created_at),
            r.incident_id,
            r.kind,
            str(r.tier or ""),
            r.target,
            r.person or r.channel or "nobody",
            ", ".join(r.methods),
            r.delivery,
        )
    console.print(t)
