"""Incident verbs: declare, ack, status, mitigate, resolve, ... Each is one service call and a rendering."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.table import Column, Table

from warroom.cli import postmortems as pm
from warroom.cli.backend import Backend, connect
from warroom.cli.paging import paging_warning
from warroom.cli.root import app, console, err_console, fail
from warroom.commands import grammar
from warroom.domain.clock import hhmm_utc
from warroom.domain.errors import PolicyError, ServiceError
from warroom.incidents.schemas import DeclareRequest, IncidentView, TimelineView
from warroom.settings import get_settings

F = TypeVar("F", bound=Callable[..., Any])


def default_actor() -> str:
    return os.environ.get("WARROOM_USER") or os.environ.get("USER") or getpass.getuser()


BY = typer.Option(None, "--by", help="who is doing this (default: $WARROOM_USER or $USER)")
JSON = typer.Option(False, "--json", help="print JSON for machines")
LIST_MOST = 100_000
"""the most incidents `warroom list` shows"""


def handled(fn: F) -> F:
    """Service errors and bad input become one line on stderr and exit code 2."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ServiceError as exc:
            fail(exc.detail)
        except PolicyError as exc:
            fail(str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}")

    return wrapper  # type: ignore[return-value]


def backend() -> Backend:
    return connect(get_settings())


def emit(view: BaseModel | list[Any], as_json: bool) -> bool:
    if not as_json:
        return False
    if isinstance(view, list):
        console.print_json(json.dumps([v.model_dump(mode="json") for v in view]))
    else:
        console.print_json(view.model_dump_json())
    return True


def show_incident(inc: IncidentView) -> None:
    console.print(f"[bold]{inc.id}[/bold]  {inc.severity} {inc.severity_label}  [bold]{inc.status}[/bold]")
    console.print(f"{inc.title}", markup=False)
    if inc.service:
        console.print(f"service: {inc.service}", markup=False)
    console.print(f"channel: {inc.channel}", markup=False)
    console.print(f"declared {hhmm_utc(inc.declared_at)} by {inc.declared_by}", markup=False)
    clocks = Table("SLA", "deadline (UTC)", "state", box=None)
    for c in inc.clocks:
        deadline = c.deadline.strftime("%Y-%m-%d %H:%M") if c.deadline else "—"
        clocks.add_row(c.name, deadline, c.display)
    console.print(clocks)
    for r in inc.roles:
        mark = "*" if r.required else " "
        console.print(f" {mark} {r.title}: {r.person or '[red]unassigned[/red]'}")
    if inc.missing_roles:
        console.print(f"[yellow]missing required roles: {', '.join(inc.missing_roles)}[/yellow]")
    for h in inc.hypotheses:
        console.print(f"  H{h.number} [{h.status}] {h.text} ({h.confidence}%)", markup=False)
    if inc.flags:
        console.print(f"flags: {', '.join(sorted(inc.flags))}", markup=False)
    if inc.postmortem_due_at:
        console.print(f"postmortem due {inc.postmortem_due_at.strftime('%Y-%m-%d %H:%M UTC')}")


def _done(inc: IncidentView, as_json: bool, line: str) -> None:
    if not emit(inc, as_json):
        console.print(line, markup=False)


@app.command()
@handled
def declare(
    severity: str = typer.Argument(..., help="P0..P4, SEV1.. or any alias in the policy"),
    title: str = typer.Argument(...),
    service: str = typer.Option(None, "--service", "-s"),
    summary: str = typer.Option("", "--summary"),
    flag: list[str] = typer.Option([], "--flag", help="set a flag at declaration (repeatable)"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Declare an incident."""
    req = DeclareRequest(
        severity=severity,
        title=title,
        service=service,
        summary=summary,
        by=by or default_actor(),
        flags=dict.fromkeys(flag, True),
    )
    inc = backend().declare(req)
    if not emit(inc, as_json):
        console.print(f"declared {inc.id} {inc.severity}: {inc.title}", markup=False)
        console.print(f"war room: {inc.channel}", markup=False)
    warning = paging_warning()  # a fresh install pages nobody: say so where the declare was typed
    if warning:
        err_console.print(f"warroom: warning: {warning}", markup=False, soft_wrap=True)


def _cmd(incident_id: str, verb: str, body: dict[str, Any], as_json: bool, line: Callable[[IncidentView], str]) -> None:
    inc = backend().command(incident_id, verb, body)
    _done(inc, as_json, line(inc))


@app.command()
@handled
def ack(incident_id: str, by: str = BY, as_json: bool = JSON) -> None:
    """Acknowledge: stops paging."""
    _cmd(
        incident_id,
        "ack",
        {"by": by or default_actor()},
        as_json,
        lambda i: f"{i.id} acknowledged by {i.acknowledged_by} at {hhmm_utc(i.acknowledged_at or i.declared_at)}",
    )


@app.command()
@handled
def status(
    incident_id: str,
    new_status: str = typer.Argument(..., metavar="investigating|identified"),
    note: str = typer.Option("", "--note"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Move the incident to investigating or identified."""
    _cmd(
        incident_id,
        "status",
        {"status": new_status, "note": note, "by": by or default_actor()},
        as_json,
        lambda i: f"{i.id} is {i.status}",
    )


@app.command()
@handled
def severity(
    incident_id: str, new_severity: str, reason: str = typer.Option("", "--reason"), by: str = BY, as_json: bool = JSON
) -> None:
    """Raise or lower the severity (SLA clocks are recomputed from declaration)."""
    _cmd(
        incident_id,
        "severity",
        {"severity": new_severity, "reason": reason, "by": by or default_actor()},
        as_json,
        lambda i: f"{i.id} is now {i.severity}",
    )


@app.command()
@handled
def mitigate(
    incident_id: str,
    strategy: str = typer.Option(..., "--strategy", help="a strategy from the policy's table (rollback, restart...)"),
    failed: bool = typer.Option(False, "--failed", help="the attempt did not work"),
    note: str = typer.Option("", "--note"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Record a mitigation attempt; a working one moves the incident to mitigated and starts the watch."""
    body = {"strategy": strategy, "worked": not failed, "note": note, "by": by or default_actor()}
    _cmd(
        incident_id,
        "mitigations",
        body,
        as_json,
        lambda i: f"{i.id} is {i.status} ({i.mitigation_failures} failed attempts)",
    )


@app.command()
@handled
def decide(
    incident_id: str,
    path: str = typer.Argument(..., metavar="mitigate_first|dig_first"),
    reason: str = typer.Option(..., "--reason"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Record the mitigate-vs-dig decision."""
    _cmd(
        incident_id,
        "decision",
        {"path": path, "reason": reason, "by": by or default_actor()},
        as_json,
        lambda i: f"{i.id}: {path.replace('_', ' ')}",
    )


@app.command()
@handled
def resolve(
    incident_id: str,
    force: bool = typer.Option(False, "--force", help="resolve inside the quiet window"),
    reason: str = typer.Option("", "--reason", help="required with --force"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Resolve (refused while the quiet window runs, unless forced with a reason)."""

    def line(i: IncidentView) -> str:
        due = f"; postmortem due {i.postmortem_due_at.strftime('%Y-%m-%d %H:%M UTC')}" if i.postmortem_due_at else ""
        return f"{i.id} resolved at {hhmm_utc(i.resolved_at or i.declared_at)}{due}"

    _cmd(incident_id, "resolve", {"force": force, "reason": reason, "by": by or default_actor()}, as_json, line)


@app.command()
@handled
def reopen(incident_id: str, reason: str = typer.Option("", "--reason"), by: str = BY, as_json: bool = JSON) -> None:
    """Reopen a resolved incident (back to investigating; clocks restart)."""
    _cmd(
        incident_id,
        "reopen",
        {"reason": reason, "by": by or default_actor()},
        as_json,
        lambda i: f"{i.id} reopened; it is {i.status}",
    )


@app.command()
@handled
def close(incident_id: str, by: str = BY, as_json: bool = JSON) -> None:
    """Close a resolved incident whose postmortem is done or not required."""
    _cmd(incident_id, "close", {"by": by or default_actor()}, as_json, lambda i: f"{i.id} closed")


@app.command()
@handled
def flag(
    incident_id: str,
    names: list[str] = typer.Argument(..., help="flag names; prefix with no- to clear (no-customer_facing)"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Set or clear flags (credential_exposed, data_breach_suspected, ...); floor rules may raise severity."""
    flags = {n.removeprefix("no-"): not n.startswith("no-") for n in names}
    _cmd(
        incident_id,
        "flags",
        {"flags": flags, "by": by or default_actor()},
        as_json,
        lambda i: f"{i.id} {i.severity}; flags: {', '.join(sorted(i.flags)) or 'none'}",
    )


@app.command()
@handled
def impact(
    incident_id: str,
    users: int = typer.Option(None, "--users", help="users affected"),
    estimate: bool = typer.Option(None, "--estimate/--exact", help="the user count is an estimate"),
    orgs: int = typer.Option(None, "--orgs"),
    state: str = typer.Option(None, "--state", help="broken or degraded"),
    service: list[str] = typer.Option(None, "--service", help="affected service or surface (repeatable)"),
    description: str = typer.Option(None, "--description"),
    revenue: float = typer.Option(None, "--revenue", help="revenue impact"),
    customer_facing: bool = typer.Option(None, "--customer-facing/--internal-only"),
    data_at_risk: bool = typer.Option(None, "--data-at-risk/--no-data-at-risk"),
    security_breach: bool = typer.Option(None, "--security-breach/--no-security-breach"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Record impact: users/orgs affected, broken vs degraded, surfaces, flags."""
    body = {
        "users_affected": users,
        "users_estimate": estimate,
        "orgs_affected": orgs,
        "state": state,
        "services": service or None,
        "description": description,
        "revenue_impact": revenue,
        "customer_facing": customer_facing,
        "data_at_risk": data_at_risk,
        "security_breach": security_breach,
        "by": by or default_actor(),
    }
    _cmd(
        incident_id,
        "impact",
        {k: v for k, v in body.items() if v is not None},
        as_json,
        lambda i: f"{i.id} impact: {json.dumps(i.impact)}",
    )


@app.command()
@handled
def role(incident_id: str, role_name: str, person: str, by: str = BY, as_json: bool = JSON) -> None:
    """Assign or hand over a role (incident-commander, technical-lead, scribe, comms-officer, ...)."""
    person = grammar.person(person)[0]  # `@carol` as in chat's /incident role
    _cmd(
        incident_id,
        f"roles/{role_name}",
        {"person": person, "by": by or default_actor()},
        as_json,
        lambda i: f"{i.id} {role_name}: {person}",
    )


@app.command()
@handled
def hypothesis(
    incident_id: str,
    text: str = typer.Argument(None, help="a new hypothesis (omit with --rule-out/--confirm)"),
    evidence: str = typer.Option("", "--evidence"),
    confidence: int = typer.Option(50, "--confidence", min=0, max=100),
    rule_out: int = typer.Option(None, "--rule-out", help="rule out hypothesis N"),
    confirm: int = typer.Option(None, "--confirm", help="confirm hypothesis N"),
    note: str = typer.Option("", "--note"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Add a hypothesis, or rule one out / confirm it."""
    who = by or default_actor()
    if rule_out is not None or confirm is not None:
        number = rule_out if rule_out is not None else confirm
        new = "ruled_out" if rule_out is not None else "confirmed"
        _cmd(
            incident_id,
            f"hypotheses/{number}",
            {"status": new, "note": note, "by": who},
            as_json,
            lambda i: f"{i.id} H{number} {new.replace('_', ' ')}",
        )
        return
    if not text:
        fail("give the hypothesis text, or --rule-out N / --confirm N")
    _cmd(
        incident_id,
        "hypotheses",
        {"text": text, "evidence": evidence, "confidence": confidence, "by": who},
        as_json,
        lambda i: f"{i.id} H{i.hypotheses[-1].number}: {text}",
    )


@app.command()
@handled
def update(
    incident_id: str,
    text: str,
    audience: str = typer.Option("internal", "--audience", "-a", help="internal, external or executive"),
    next_step: str = typer.Option("", "--next", help="what happens next"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Post an update for an audience (numbered per audience)."""
    body = {"audience": audience, "text": text, "next": next_step, "by": by or default_actor()}
    up = backend().update(incident_id, body)
    if not emit(up, as_json):
        console.print(f"[{hhmm_utc(up.at)}] {up.audience} update #{up.number}: {up.text}", markup=False)


@app.command("log")
@handled
def log_cmd(
    incident_id: str,
    what: str,
    outcome: str = typer.Option("", "--outcome"),
    corrects: int = typer.Option(None, "--corrects", help="id of the entry this one corrects"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Add a timeline entry (append-only; correct with --corrects ID)."""
    body = {"what": what, "outcome": outcome, "corrects": corrects, "by": by or default_actor()}
    row = backend().log(incident_id, body)
    if not emit(row, as_json):
        console.print(timeline_line(row), markup=False)


def timeline_line(e: TimelineView) -> str:
    outcome = e.outcome.replace("\n", " ")
    fix = f" (corrects #{e.corrects})" if e.corrects else ""
    return f"{hhmm_utc(e.at)} | {e.actor} | {e.what.replace(chr(10), ' ')}{fix} | {outcome}"


@app.command()
@handled
def timeline(incident_id: str, as_json: bool = JSON) -> None:
    """The timeline as `HH:MM UTC | who | what | outcome` lines."""
    rows = backend().timeline(incident_id)
    if not emit(rows, as_json):
        for row in rows:
            console.print(timeline_line(row), markup=False, soft_wrap=True)


@app.command()
@handled
def show(incident_id: str, as_json: bool = JSON) -> None:
    """One incident: clocks, roles, hypotheses, flags."""
    inc = backend().get(incident_id)
    if not emit(inc, as_json):
        show_incident(inc)


@app.command()
@handled
def brief(incident_id: str) -> None:
    """The live working document (symptoms, surfaces, hypotheses, actions) in Markdown."""
    console.print(backend().brief(incident_id), markup=False, soft_wrap=True)


@app.command("list")
@handled
def list_cmd(
    status_filter: str = typer.Option("open", "--status", help="open, all, or a status"),
    severity_filter: str = typer.Option(None, "--severity"),
    service: str = typer.Option(None, "--service"),
    q: str = typer.Option(None, "--q", help="text in title or summary"),
    limit: int = typer.Option(200, "--limit", min=1, max=LIST_MOST, help="show at most this many"),
    as_json: bool = JSON,
) -> None:
    """Open incidents by severity then age, with the nearest SLA deadline."""
    rows = backend().search(status_filter, severity_filter, service, q, limit + 1)
    more, rows = len(rows) > limit, rows[:limit]
    if not emit(rows, as_json):
        table = Table("sev", "status", "title", "service", "IC", "next deadline")
        table.columns.insert(0, Column("id", no_wrap=True))
        for r in rows:
            nd = f"{r.next_deadline.name}: {r.next_deadline.display}" if r.next_deadline else "—"
            table.add_row(r.id, r.severity, r.status, r.title, r.service or "", r.commander or "", nd)
        console.print(table)
    if more:  # never a silently short list
        wider = f"--limit {limit * 10} shows more" if limit * 10 <= LIST_MOST else "narrow it with --q or --service"
        err_console.print(f"more incidents match: these are the first {limit} ({wider})")


@app.command("draft")
@handled
def draft_cmd(
    incident_id: str,
    kind: str = typer.Argument(
        ...,
        help="ack, war_room_opening, internal_update, status_investigating, "
        "status_identified, status_monitoring, status_resolved, customer_email, "
        "executive_brief, resolution, working_doc, postmortem",
    ),
    text: str = typer.Option("", "--text", help="the current state, for updates"),
    next_step: str = typer.Option("", "--next", help="what happens next, for updates"),
    post: bool = typer.Option(False, "--post", help="post it and record it as an update"),
    final: str = typer.Option(None, "--final", help="post this edited text instead of the rendering"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Print a message drafted from the policy's template; --post records it as an update."""
    body = {"by": by or default_actor(), "text": text, "next": next_step, "final": final}
    if post:
        up = backend().post_draft(incident_id, kind, body)
        if not emit(up, as_json):
            console.print(f"posted {kind} as {up.audience} update #{up.number}", markup=False)
        return
    d = backend().draft(incident_id, kind, body)
    if not emit(d, as_json):
        if d.subject:
            console.print(f"Subject: {d.subject}\n", markup=False)
        console.print(d.text, markup=False, soft_wrap=True)


@app.command()
@handled
def postmortem(
    incident_id: str,
    done: bool = typer.Option(False, "--done", help="the postmortem is published: record it and close the incident"),
    link: str = typer.Option("", "--link", help="where the published postmortem lives"),
    record: str = typer.Option(
        None, "--record", help="the stored postmortem: show, start, review, draft (back to draft), publish"
    ),
    save: typer.FileText = typer.Option(None, "--save", help="save FILE (- for stdin) as a new version"),
    note: str = typer.Option("", "--note", help="what this version changed"),
    diff: str = typer.Option(None, "--diff", help="OLD..NEW: the changes between two versions"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Print the blameless postmortem drafted from the record, or record it as done with --done; --record,
    --save and --diff work on the stored, versioned postmortem."""
    if record or save or diff:
        if record and record not in ("show", "start", "review", "draft", "publish"):
            fail("--record must be show, start, review, draft or publish")
        old, _, new = (diff or "").partition("..")
        if diff and not (old.isdigit() and new.isdigit()):
            fail("--diff must be OLD..NEW, two version numbers such as 1..2")
        action = "diff" if diff else "save" if save else record
        text = save.read() if save else ""
        view = pm.record(incident_id, action, by or default_actor(), text, note, int(old or 0), int(new or 0))
        if not emit(view, as_json):
            pm.show(view)
        return
    if done:
        inc = backend().postmortem_done(incident_id, {"by": by or default_actor(), "link": link})
        _done(inc, as_json, f"{inc.id} postmortem recorded; incident closed")
        return
    console.print(backend().postmortem(incident_id), markup=False, soft_wrap=True)
