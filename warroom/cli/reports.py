"""`warroom report` and `warroom actions`: the report's figures and the action items, locally or remotely."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime

import typer
from pydantic import TypeAdapter
from rich.table import Table

from warroom.cli import postmortems as pm
from warroom.cli.incidents import BY, JSON, default_actor, handled
from warroom.cli.root import app, console
from warroom.domain.errors import Invalid
from warroom.postmortems.schemas import ActionItemView
from warroom.reports.schemas import ReportSummary

actions_app = typer.Typer(help="Action items: list (default), add, set.", invoke_without_command=True)
app.add_typer(actions_app, name="actions")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


@app.command()
@handled
def report(
    since: str = typer.Option("90d", "--since", help="how far back: 90d, 12w, 24h"),
    severity: str = typer.Option(None, "--severity"),
    service: str = typer.Option(None, "--service"),
    as_csv: bool = typer.Option(False, "--csv", help="one row per incident with its durations"),
    as_json: bool = JSON,
) -> None:
    """MTTA, MTTM, MTTR, SLA compliance, postmortems, action items and pages for incidents declared since."""
    api = pm.remote()
    if api is not None:
        params = {"since": since, "severity": severity, "service": service}
        if as_csv:
            sys.stdout.write(str(api.call("GET", "/reports/summary", params={**params, "format": "csv"})))
            return
        rep = TypeAdapter(ReportSummary).validate_python(api.call("GET", "/reports/summary", params=params))
    else:
        from warroom.reports import service as reports

        rep = reports.summary(pm.context(), since, severity, service)
        if as_csv:
            sys.stdout.write(reports.to_csv(rep))
            return
    if as_json:
        console.print_json(rep.model_dump_json())
        return
    scope = " ".join(x for x in (rep.severity, rep.service) if x)
    console.print(
        f"{rep.incidents} incidents {scope + ' ' if scope else ''}declared since {rep.since:%Y-%m-%d %H:%M} UTC",
        markup=False,
    )
    t = Table("figure", "incidents", "mean", "p50", "p90", "from → to")
    for key, span in (
        ("mtta", "declared → first acknowledgement"),
        ("mttm", "declared → mitigated"),
        ("mttr", "declared → resolved"),
    ):
        s = getattr(rep, key)
        t.add_row(key.upper(), str(s.count), _duration(s.mean), _duration(s.p50), _duration(s.p90), span)
    console.print(t)
    console.print(
        f"alerts cleared before any acknowledgement: {rep.alerts_cleared_before_ack} (not in MTTA/MTTM)", markup=False
    )
    if rep.sla:
        t = Table("severity", "clock", "met", "met late", "breached", "running", "compliance")
        for r in rep.sla:
            shown = "—" if r.compliance is None else f"{r.compliance:.0%}"
            t.add_row(r.severity, r.clock, str(r.met), str(r.met_late), str(r.breached), str(r.running), shown)
        console.print(t)
    p, a = rep.postmortems, rep.action_items
    console.print(
        f"postmortems: {p.required} required, {p.on_time} on time, {p.late} late, {p.overdue} overdue, "
        f"{p.pending} pending",
        markup=False,
    )
    console.print(
        f"action items: {a.open} open ({a.overdue} overdue), {a.done} done, {a.wont_do} won't do", markup=False
    )
    if rep.services:
        console.print("services: " + ", ".join(f"{c.name} {c.count}" for c in rep.services), markup=False)
    if rep.pages:
        console.print(
            "pages: " + ", ".join(f"{x.person} {x.pages} ({x.out_of_hours} out of hours)" for x in rep.pages),
            markup=False,
        )


def _item_table(items: list[ActionItemView]) -> None:
    t = Table("id", "incident", "action", "owner", "due", "status", "reminded (UTC)", "link")
    for i in items:
        due = f"{i.due_at:%Y-%m-%d}" if i.due_at else "—"
        reminded = f"{i.reminded_at:%Y-%m-%d %H:%M}" if i.reminded_at else ("not yet" if i.overdue else "—")
        t.add_row(
            str(i.id),
            i.incident_id,
            i.text,
            i.owner or "—",
            due + (" OVERDUE" if i.overdue else ""),
            i.status,
            reminded,
            i.link,
        )
    console.print(t)


@actions_app.callback()
@handled
def actions(
    ctx: typer.Context,
    overdue: bool = typer.Option(False, "--overdue", help="unfinished items past their due date"),
    owner: str = typer.Option(None, "--owner"),
    status: str = typer.Option(None, "--status", help="open, in_progress, done, wont_do or unfinished"),
    incident: str = typer.Option(None, "--incident"),
    as_csv: bool = typer.Option(False, "--csv", help="export as CSV"),
    as_json: bool = JSON,
) -> None:
    """Action items by due date (undated last)."""
    if ctx.invoked_subcommand is not None:
        return
    from warroom.postmortems.actions import to_csv, to_json

    found = pm.items(overdue, owner, status, incident)
    # Exports go out as they are: the console would wrap them at the terminal's width (80 when piped).
    if as_csv:
        sys.stdout.write(to_csv(found))
    elif as_json:
        sys.stdout.write(to_json(found) + "\n")
    elif not found:
        console.print("no action items" + (" overdue" if overdue else ""), markup=False)
    else:
        _item_table(found)


def _due(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(
            f"due must be a date or time such as 2026-05-14 or 2026-05-14T17:00Z, not '{text}'", field="due_at"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


@actions_app.command("add")
@handled
def add(
    incident_id: str,
    text: str,
    owner: str = typer.Option(None, "--owner"),
    due: str = typer.Option(None, "--due", help="2026-05-14 (UTC) or an ISO time"),
    link: str = typer.Option("", "--link", help="the tracker issue it became"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Add an action item to an incident's postmortem."""
    item = pm.add_item(incident_id, text, by or default_actor(), owner, _due(due), link)
    if as_json:
        console.print_json(item.model_dump_json())
    else:
        console.print(f"action item {item.id} added to {item.incident_id}", markup=False)


@actions_app.command("set")
@handled
def set_item(
    item_id: int,
    status: str = typer.Option(None, "--status", help="open, in_progress, done, wont_do"),
    owner: str = typer.Option(None, "--owner"),
    due: str = typer.Option(None, "--due"),
    link: str = typer.Option(None, "--link"),
    text: str = typer.Option(None, "--text"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Change an action item."""
    item = pm.change_item(
        item_id, by or default_actor(), text=text, owner=owner, due_at=_due(due), status=status, link=link
    )
    if as_json:
        console.print(json.dumps(item.model_dump(mode="json")), markup=False)
    else:
        console.print(f"action item {item.id}: {item.status}, {item.owner or 'no owner'}", markup=False)
