"""`warroom integration ...`, `warroom alerts ...` and `warroom silence ...`.

Integrations (their secrets) are managed on the database directly. Alerts, groups, silences
and dead letters go to the server at WARROOM_URL when it is set, else to the database.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import BaseModel, TypeAdapter
from rich.table import Table

from warroom.cli.http import ApiClient
from warroom.cli.incidents import BY, JSON, default_actor, handled
from warroom.cli.root import app, console, fail
from warroom.settings import get_settings

if TYPE_CHECKING:
    from warroom.store.unit import Context  # annotations only: remote mode never loads the database layer

integration_app = typer.Typer(help="Alert senders and their secrets.", no_args_is_help=True)
alerts_app = typer.Typer(help="Alerts, alert groups and their triage, dead letters.", no_args_is_help=True)
silence_app = typer.Typer(help="Silences: matching alerts are kept but neither page nor declare.", no_args_is_help=True)
app.add_typer(integration_app, name="integration")
app.add_typer(alerts_app, name="alerts")
app.add_typer(silence_app, name="silence")

M = TypeVar("M")


def _context() -> Context:
    from warroom.compose import build_context

    return build_context(get_settings())


def _remote(method: str, path: str, model: Any, body: dict[str, Any] | None = None,
            params: dict[str, Any] | None = None) -> Any:  # fmt: skip
    url = get_settings().url
    assert url
    return TypeAdapter(model).validate_python(ApiClient(url).call(method, path, body, params))


def _remote_on() -> bool:
    return bool(get_settings().url)


def _emit(view: BaseModel | list[Any], as_json: bool) -> bool:
    if not as_json:
        return False
    if isinstance(view, list):
        console.print_json(json.dumps([v.model_dump(mode="json") for v in view]))
    else:
        console.print_json(view.model_dump_json())
    return True


def _t(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "—"


# --- integrations -------------------------------------------------------------------------------


@integration_app.command("add")
@handled
def integration_add(
    source: str = typer.Argument(..., help="alertmanager, grafana, datadog, sentry, pagerduty-events-v2 or generic"),
    name: str = typer.Argument(..., help="a name for this sender, such as prod-alertmanager"),
    signing_secret: str = typer.Option(
        None, "--signing-secret", help="Sentry only: the integration's client secret, to verify Sentry-Hook-Signature"
    ),
    by: str = BY,
) -> None:
    """Create an integration and print its secret, once: warroom keeps only its hash."""
    from warroom.intake import integrations

    created = integrations.add(_context(), source, name, by or default_actor(), signing_secret)
    base = (get_settings().url or "http://127.0.0.1:8080").rstrip("/")
    console.print(f"integration {created.name} ({created.source}) created. Its secret, shown this once:")
    console.print(created.token, markup=False, soft_wrap=True)
    console.print(
        f"webhook: {base}/api/v1/alerts/{created.source}  with  Authorization: Bearer <secret>",
        markup=False,
        soft_wrap=True,
    )
    console.print(f"     or: {base}/api/v1/alerts/{created.source}?token=<secret>", markup=False, soft_wrap=True)
    if created.source == "pagerduty-events-v2":
        console.print("     or: the secret as the event's routing_key", markup=False)
    if created.source == "sentry" and signing_secret:
        console.print(f"     or: {base}/api/v1/alerts/sentry?integration={created.name} signed by Sentry", markup=False)


@integration_app.command("list")
@handled
def integration_list(as_json: bool = JSON) -> None:
    """Integrations with the first characters of their secret (never the secret)."""
    from warroom.intake import integrations

    rows = integrations.listing(_context())
    if as_json:
        console.print_json(json.dumps([{**r.__dict__, "created_at": r.created_at.isoformat()} for r in rows]))
        return
    table = Table("name", "source", "secret", "signed", "created", "by")
    for r in rows:
        table.add_row(r.name, r.source, r.token_hint, "yes" if r.signed else "", _t(r.created_at), r.created_by)
    console.print(table)


@integration_app.command("remove")
@handled
def integration_remove(name: str) -> None:
    """Remove an integration: its secret stops working (within the server's few-second cache)."""
    from warroom.intake import integrations

    integrations.remove(_context(), name)
    console.print(f"integration {name} removed")


# --- alerts and groups --------------------------------------------------------------------------


@alerts_app.command("list")
@handled
def alerts_list(
    status: str = typer.Option(None, help="firing or resolved"),
    service_name: str = typer.Option(None, "--service"),
    incident: str = typer.Option(None, help="only this incident's alerts"),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = JSON,
) -> None:
    """Newest alerts first."""
    from warroom.intake import service
    from warroom.intake.schemas import AlertView

    if _remote_on():
        params = {"status": status, "service": service_name, "incident_id": incident, "limit": limit}
        rows = _remote("GET", "/alerts", list[AlertView], params={k: v for k, v in params.items() if v})
    else:
        rows = service.list_alerts(_context(), status, service_name, None, incident, None, limit)
    if _emit(rows, as_json):
        return
    table = Table("id", "status", "source", "service", "summary", "count", "last seen", "group", "incident")
    for a in rows:
        state = a.status + (" (silenced)" if a.silence_id else "")
        table.add_row(str(a.id), state, a.source, a.service or "", a.summary[:60], str(a.count), _t(a.last_seen),
                      str(a.group_id or ""), a.incident_id or "")  # fmt: skip
    console.print(table)


@alerts_app.command("show")
@handled
def alerts_show(alert_id: int, as_json: bool = JSON) -> None:
    """One alert with its raw payload."""
    from warroom.intake import service
    from warroom.intake.schemas import AlertDetail

    view = (
        _remote("GET", f"/alerts/{alert_id}", AlertDetail) if _remote_on() else service.get_alert(_context(), alert_id)
    )
    if _emit(view, as_json):
        return
    console.print(f"alert {view.id}: {view.summary}", markup=False)
    console.print(
        f"  {view.status}, {view.source} via {view.integration}, fingerprint {view.fingerprint}", markup=False
    )
    console.print(f"  service {view.service or '—'}, severity {view.severity_hint or '—'}, count {view.count}")
    console.print(
        f"  first seen {_t(view.first_seen)}, last seen {_t(view.last_seen)}, resolved {_t(view.resolved_at)}"
    )
    console.print(f"  group {view.group_id or '—'}, incident {view.incident_id or '—'}")
    console.print_json(json.dumps(view.raw))


@alerts_app.command("groups")
@handled
def alerts_groups(
    outcome: str = typer.Option(None, help="incident, ticket, none, pending, merged or dismissed"),
    limit: int = typer.Option(50, min=1, max=1000),
    as_json: bool = JSON,
) -> None:
    """Alert groups and the triage decision for each."""
    from warroom.intake import service
    from warroom.intake.schemas import GroupView

    if _remote_on():
        params = {"outcome": outcome, "limit": limit}
        rows = _remote("GET", "/alert-groups", list[GroupView], params={k: v for k, v in params.items() if v})
    else:
        rows = service.list_groups(_context(), outcome, None, limit)
    if _emit(rows, as_json):
        return
    table = Table("id", "key", "outcome", "severity", "confidence", "alerts", "services", "incident", "decided by")
    for g in rows:
        table.add_row(str(g.id), g.key[:40], g.outcome + (" (storm)" if g.storm else ""), g.severity or "",
                      f"{g.confidence}%" if g.confidence is not None else "", str(g.alert_count),
                      ", ".join(g.services)[:40], g.incident_id or "", g.decided_by)  # fmt: skip
    console.print(table)


def _print_group(view: Any) -> None:
    console.print(f"group {view.id} ({view.key}): {view.outcome}" + (" - storm" if view.storm else ""), markup=False)
    if view.severity:
        conf = f" at {view.confidence}% confidence" if view.confidence is not None else ""
        console.print(f"  triage: {view.severity}{conf}", markup=False)
    for reason in view.triage.get("reasons", []):
        console.print(f"   - {reason['kind']}: {reason['detail']}", markup=False)
    if view.runbook:
        console.print(f"  runbook: {view.runbook['runbook']} ({view.runbook['symptom']})", markup=False)
        for item in view.runbook.get("checklist", []):
            console.print(f"   [ ] {item}", markup=False)
    console.print(
        f"  {view.alert_count} alerts from {', '.join(view.services) or '—'}; incident {view.incident_id or '—'}"
    )
    for h in view.history:
        console.print(f"  {h['at']} {h['by']}: {h['from']} → {h['to']} {h.get('reason', '')}", markup=False)


@alerts_app.command("group")
@handled
def alerts_group(group_id: int, as_json: bool = JSON) -> None:
    """One group: its triage (severity, confidence, reasons), runbook, alerts and decisions."""
    from warroom.intake import service
    from warroom.intake.schemas import GroupDetail

    view = (
        _remote("GET", f"/alert-groups/{group_id}", GroupDetail)
        if _remote_on()
        else service.get_group(_context(), group_id)
    )
    if not _emit(view, as_json):
        _print_group(view)


def _group_action(group_id: int, verb: str, by: str | None, reason: str, severity: str | None, as_json: bool) -> None:
    from warroom.intake import service
    from warroom.intake.schemas import GroupDetail

    who = by or default_actor()
    if _remote_on():
        body = {"by": who, "reason": reason, **({"severity": severity} if severity else {})}
        view = _remote("POST", f"/alert-groups/{group_id}/{verb}", GroupDetail, body)
    elif verb == "declare":
        view = service.declare_group(_context(), group_id, who, severity, reason)
    else:
        view = service.set_group_outcome(
            _context(), group_id, "ticket" if verb == "ticket" else "dismissed", who, reason
        )
    if not _emit(view, as_json):
        _print_group(view)


@alerts_app.command("declare")
@handled
def alerts_declare(
    group_id: int,
    severity: str = typer.Option(None, help="declare at this severity (default: triage's)"),
    reason: str = typer.Option("", help="why (kept in the group's history)"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Override triage: declare an incident for a ticket-only or informational group."""
    _group_action(group_id, "declare", by, reason, severity, as_json)


@alerts_app.command("link")
@handled
def alerts_link(
    group_id: int,
    incident_id: str = typer.Argument(..., help="the open incident these alerts are part of"),
    reason: str = typer.Option("", help="why (kept in the group's history and on the timeline)"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Make an alert group part of an open incident (its alerts count there and restart its quiet window)."""
    from warroom.intake import service
    from warroom.intake.schemas import GroupDetail

    who = by or default_actor()
    if _remote_on():
        body = {"incident_id": incident_id, "by": who, "reason": reason}
        view = _remote("POST", f"/alert-groups/{group_id}/link", GroupDetail, body)
    else:
        view = service.link_group(_context(), group_id, incident_id, who, reason)
    if not _emit(view, as_json):
        _print_group(view)


@alerts_app.command("ticket")
@handled
def alerts_ticket(group_id: int, reason: str = typer.Option(""), by: str = BY, as_json: bool = JSON) -> None:
    """Override triage: ticket only."""
    _group_action(group_id, "ticket", by, reason, None, as_json)


@alerts_app.command("dismiss")
@handled
def alerts_dismiss(group_id: int, reason: str = typer.Option(""), by: str = BY, as_json: bool = JSON) -> None:
    """Override triage: no incident, no ticket."""
    _group_action(group_id, "dismiss", by, reason, None, as_json)


@alerts_app.command("request")
@handled
def alerts_request(
    request_id: int,
    wait: float = typer.Option(0.0, min=0, max=60, help="seconds to wait for it to be applied"),
    as_json: bool = JSON,
) -> None:
    """An accepted webhook: queued, applied (each alert's outcome) or failed."""
    import time

    from warroom.intake import service
    from warroom.intake.schemas import IntakeRequestView

    deadline = time.monotonic() + wait
    while True:
        if _remote_on():
            view = _remote("GET", f"/intake/requests/{request_id}", IntakeRequestView, params={"wait": wait})
        else:
            view = service.get_request(_context(), request_id)
        if view.status != "queued" or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    if _emit(view, as_json):
        return
    console.print(f"request {view.id}: {view.status}, {view.alerts} alert(s) from {view.source} via "
                  f"{view.integration}, received {_t(view.received_at)}", markup=False)  # fmt: skip
    if view.error:
        console.print(f"  {view.error}", markup=False)
    table = Table("alert", "fingerprint", "status", "outcome", "group", "incident")
    for o in view.outcomes or []:
        table.add_row(str(o.get("id") or "—"), str(o.get("fingerprint")), str(o.get("status")), str(o.get("outcome")),
                      str(o.get("group_id") or "—"), str(o.get("incident_id") or "—"))  # fmt: skip
    if view.outcomes:
        console.print(table)


@alerts_app.command("dead-letters")
@handled
def dead_letters(limit: int = typer.Option(50, min=1, max=1000), as_json: bool = JSON) -> None:
    """Requests refused after authentication, newest first."""
    from warroom.intake import service
    from warroom.intake.schemas import DeadLetterView

    if _remote_on():
        rows = _remote("GET", "/dead-letters", list[DeadLetterView], params={"limit": limit})
    else:
        rows = service.list_dead_letters(_context(), limit)
    if _emit(rows, as_json):
        return
    table = Table("id", "received", "source", "integration", "status", "field", "error", "bytes")
    for d in rows:
        table.add_row(str(d.id), _t(d.received_at), d.source, d.integration, str(d.status), d.field or "",
                      d.error[:60], str(d.size))  # fmt: skip
    console.print(table)


@alerts_app.command("dead-letter")
@handled
def dead_letter(dead_id: int, as_json: bool = JSON) -> None:
    """One refused request and its raw body."""
    from warroom.intake import service
    from warroom.intake.schemas import DeadLetterDetail

    view = (
        _remote("GET", f"/dead-letters/{dead_id}", DeadLetterDetail)
        if _remote_on()
        else service.get_dead_letter(_context(), dead_id)
    )
    if _emit(view, as_json):
        return
    console.print(f"dead letter {view.id}: {view.status} {view.error}", markup=False)
    console.print(
        f"  {view.source} via {view.integration} at {_t(view.received_at)}, {view.size} bytes ({view.encoding})"
    )
    console.print(view.body, markup=False, soft_wrap=True)


# --- silences -----------------------------------------------------------------------------------


@silence_app.command("add")
@handled
def silence_add(
    matchers: list[str] = typer.Argument(..., help="name=value, name!=value, name=~regex or name!~regex"),
    duration: str = typer.Option(None, "--for", help="how long, such as 30m or 2h"),
    until: str = typer.Option(None, help="or until when (ISO-8601 with Z)"),
    start: str = typer.Option(None, help="from when (default now)"),
    comment: str = typer.Option("", help="why (maintenance, a known issue ...)"),
    by: str = BY,
    as_json: bool = JSON,
) -> None:
    """Silence matching alerts for a time box."""
    from warroom.intake import service
    from warroom.intake.schemas import SilenceRequest, SilenceView

    if duration is None and until is None:
        fail("give --for (such as 2h) or --until")
    body: dict[str, Any] = {"matchers": matchers, "by": by or default_actor(), "comment": comment}
    if duration:
        body["duration"] = duration
    if until:
        body["ends_at"] = until
    if start:
        body["starts_at"] = start
    req = SilenceRequest.model_validate(body)
    view = _remote("POST", "/silences", SilenceView, req.model_dump(mode="json", exclude_none=True)) if _remote_on() \
        else service.add_silence(_context(), req)  # fmt: skip
    if not _emit(view, as_json):
        console.print(f"silence {view.id}: {' '.join(view.matchers)} until {_t(view.ends_at)}", markup=False)


@silence_app.command("list")
@handled
def silence_list(expired: bool = typer.Option(False, help="include ended silences"), as_json: bool = JSON) -> None:
    from warroom.intake import service
    from warroom.intake.schemas import SilenceView

    if _remote_on():
        rows = _remote("GET", "/silences", list[SilenceView], params={"expired": str(expired).lower()})
    else:
        rows = service.list_silences(_context(), expired)
    if _emit(rows, as_json):
        return
    table = Table("id", "matchers", "from", "until", "by", "comment", "active")
    for s in rows:
        table.add_row(str(s.id), " ".join(s.matchers), _t(s.starts_at), _t(s.ends_at), s.created_by, s.comment[:40],
                      "yes" if s.active else "")  # fmt: skip
    console.print(table)


@silence_app.command("expire")
@handled
def silence_expire(silence_id: int, by: str = BY, as_json: bool = JSON) -> None:
    """End a silence now."""
    from warroom.intake import service
    from warroom.intake.schemas import SilenceView

    who = by or default_actor()
    if _remote_on():
        view = _remote("POST", f"/silences/{silence_id}/expire", SilenceView, {"by": who})
    else:
        view = service.expire_silence(_context(), silence_id, who)
    if not _emit(view, as_json):
        console.print(f"silence {view.id} ended at {_t(view.ends_at)}")
