"""`warroom policy list|show|validate|lint`: read a runbook policy the way its owner wrote it."""

from __future__ import annotations

import json
from typing import NoReturn

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from warroom.cli.root import app, console, err_console, fail
from warroom.domain.durations import Span
from warroom.policy import Policy, PolicyError, list_presets, load_policy
from warroom.policy.lint import Finding, lint
from warroom.policy.loader import read_policy_file, resolve_source
from warroom.policy.model import Cadence, ConditionTrigger, Phase, Severity

policy_app = typer.Typer(help="Inspect, validate and lint runbook policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")

SOURCE = typer.Argument(..., metavar="NAME|PATH", help="a preset name (see `warroom policy list`) or a YAML file")


def _refuse(exc: PolicyError) -> NoReturn:
    """Every problem on its own line (`path.to.field: what is wrong`), then exit 2."""
    count = len(exc.problems)
    err_console.print(
        f"warroom: {exc.source} is not a valid policy ({count} problem{'s' if count != 1 else ''}):",
        markup=False,
        soft_wrap=True,
    )
    for problem in exc.problems:
        err_console.print(problem, markup=False, soft_wrap=True, highlight=False)
    raise typer.Exit(2)


def _load(name_or_path: str, *, fresh: bool = False) -> Policy:
    """`fresh` reads the file again (validate, lint); otherwise the loader's cache may answer."""
    try:
        path = resolve_source(name_or_path)
    except PolicyError as exc:
        fail(exc.problems[0])
    try:
        return read_policy_file(path) if fresh else load_policy(str(path))
    except PolicyError as exc:
        _refuse(exc)


@policy_app.command("list")
def list_cmd() -> None:
    """The built-in presets, each with what makes it distinctive."""
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("description")
    for name in list_presets():
        try:
            description = load_policy(name).description
        except PolicyError as exc:
            description = f"(does not load: {exc.problems[0]})"
        table.add_row(name, description)
    console.print(table)


@policy_app.command("validate")
def validate_cmd(source: str = SOURCE) -> None:
    """Check a policy file: `ok: N severities`, or every problem and exit code 2."""
    policy = _load(source, fresh=True)
    console.print(f"ok: {len(policy.severities)} severities", markup=False)


@policy_app.command("lint")
def lint_cmd(
    source: str = SOURCE,
    as_json: bool = typer.Option(False, "--json", help="print the findings as JSON"),
) -> None:
    """Find contradictions in a valid policy. Exit 1 when any finding is an error."""
    findings = lint(_load(source, fresh=True))
    if as_json:
        typer.echo(json.dumps([f.__dict__ for f in findings], indent=2, ensure_ascii=False))
    else:
        for finding in findings:
            console.print(_finding_line(finding), soft_wrap=True)
        n_err = sum(f.level == "error" for f in findings)
        n_warn = len(findings) - n_err
        console.print("ok: no findings" if not findings else f"{n_err} error(s), {n_warn} warning(s)", markup=False)
    if any(f.level == "error" for f in findings):
        raise typer.Exit(1)


def _finding_line(finding: Finding) -> Text:
    style = "bold red" if finding.level == "error" else "yellow"
    line = Text(f"{finding.level:<7}", style=style)
    line.append(f" {finding.path}: ", style="bold")
    line.append(finding.message)
    if finding.code:
        line.append(f"  [{finding.code}]", style="dim")
    return line


@policy_app.command("show")
def show_cmd(
    source: str = SOURCE,
    as_json: bool = typer.Option(False, "--json", help="dump the whole policy as JSON"),
) -> None:
    """The policy in tables: severities, communication, escalation, conditions, roles, phases, triage."""
    policy = _load(source)
    if as_json:
        typer.echo(json.dumps(policy.model_dump(mode="json"), indent=2, ensure_ascii=False))
        return
    for part in _render(policy):
        console.print(part)
        console.print()


# --- rendering ------------------------------------------------------------------------------------


def _span(span: Span | None) -> str:
    return "—" if span is None else str(span)


def _cadence(cadence: Cadence | None) -> str:
    if cadence is None:
        return "—"
    parts = []
    if cadence.first_within is not None:
        parts.append(f"first within {cadence.first_within}")
    if cadence.every is not None:
        parts.append(f"every {cadence.every}")
    if cadence.on:
        parts.append("on " + "/".join(e.replace("_", " ") for e in cadence.on))
    text = ", ".join(parts) or "—"
    return f"{text} ({cadence.channel})" if cadence.channel else text


def _postmortem(sev: Severity) -> str:
    pm = sev.postmortem
    if pm.need.value == "none":
        return "—"
    text = pm.need.value
    anchor = {"resolved": "resolution", "mitigated": "mitigation", "declared": "declaration"}[pm.anchor]
    if pm.due is not None and pm.earliest is not None:
        text += f" {pm.earliest}–{pm.due} after {anchor}"
    elif pm.due is not None:
        text += f" within {pm.due} of {anchor}"
    if pm.publish_within is not None:
        text += f", published within {pm.publish_within}"
    if pm.analysis:
        text += f", {pm.analysis}"
    return text


def _status_page(sev: Severity) -> str:
    return {"on_detect": "on detect", "on_confirmed_impact": "once impact confirmed", "optional": "optional"}.get(
        sev.status_page.post, "—"
    )


def _customer_email(sev: Severity) -> str:
    rule = sev.customer_email
    text = {
        "after_mitigation": "after mitigation",
        "after_resolution": "after resolution",
        "optional": "optional",
    }.get(rule.send, "—")
    if rule.within is not None:
        text = f"within {rule.within} {text}"
    if rule.on_request:
        text += " (or when asked)"
    return text


def _resolution(sev: Severity) -> str:
    parts = []
    if sev.resolution.quiet_window is not None:
        parts.append(f"quiet {sev.resolution.quiet_window}")
    if sev.resolution.monitor is not None:
        parts.append(f"monitor {sev.resolution.monitor}")
    return ", ".join(parts) or "—"


def _trigger(when: ConditionTrigger) -> str:
    if when.unresolved_for is not None:
        text = f"unresolved after {when.unresolved_for}"
    elif when.unacknowledged_for is not None:
        text = f"unacknowledged after {when.unacknowledged_for}"
    elif when.no_hypothesis_for is not None:
        text = f"no hypothesis after {when.no_hypothesis_for}"
    elif when.mitigation_failures is not None:
        text = f"{when.mitigation_failures} failed mitigations"
    elif when.flag is not None:
        text = f"flag {when.flag}"
    else:
        text = f"revenue impact over {when.revenue_impact_over:g}"
    return f"{text} ({', '.join(when.severities)})" if when.severities else text


def _phase_window(phase: Phase) -> str:
    if phase.start is not None or phase.end is not None:
        return f"{_span(phase.start)}–{_span(phase.end)}"
    if phase.every is not None:
        return f"every {phase.every}"
    if phase.due is not None:
        return f"within {phase.due}"
    return "—"


def _severity_table(policy: Policy) -> Table:
    has_respond = any(s.sla.respond is not None for s in policy.severities)
    table = Table(title="Severities", title_justify="left", title_style="bold")
    table.add_column("Severity", no_wrap=True)
    table.add_column("Label")
    table.add_column("Ack")
    if has_respond:
        table.add_column("Respond")
    table.add_column("Mitigate")
    table.add_column("Resolve")
    table.add_column("Postmortem")
    table.add_column("Paging")
    table.add_column("Outcome")
    for sev in policy.severities:
        name = sev.name + (f" ({', '.join(sev.aliases)})" if sev.aliases else "")
        row = [name, sev.label or "—", _span(sev.sla.ack)]
        if has_respond:
            row.append(_span(sev.sla.respond))
        row += [
            _span(sev.sla.mitigate),
            _span(sev.sla.resolve),
            _postmortem(sev),
            sev.escalation_policy or "—",
            sev.triage_outcome,
        ]
        table.add_row(*row)
    return table


def _communication_table(policy: Policy) -> Table:
    table = Table(title="Communication and resolution", title_justify="left", title_style="bold")
    for column in ("Severity", "Status page", "Customer e-mail", "Internal", "External", "Executive", "Resolution"):
        table.add_column(column, no_wrap=column == "Severity")
    for sev in policy.severities:
        table.add_row(
            sev.name,
            _status_page(sev),
            _customer_email(sev),
            _cadence(sev.cadence.get("internal")),
            _cadence(sev.cadence.get("external")),
            _cadence(sev.cadence.get("executive")),
            _resolution(sev),
        )
    return table


def _escalation_tables(policy: Policy) -> list[RenderableType]:
    out: list[RenderableType] = []
    for name, esc in policy.escalation_policies.items():
        users = [s.name for s in policy.severities if s.escalation_policy == name]
        title = f"Escalation policy {name}" + (f" ({', '.join(users)})" if users else " (unused)")
        table = Table(title=title, title_justify="left", title_style="bold")
        for column in ("Tier", "Targets", "Methods", "Wait"):
            table.add_column(column)
        for i, tier in enumerate(esc.tiers, start=1):
            table.add_row(str(i), ", ".join(tier.targets), ", ".join(tier.methods) or "—", str(tier.wait))
        table.caption = f"repeat {esc.repeat}×, then {esc.when_exhausted.replace('_', ' ')}"
        out.append(table)
    return out


def _conditions_table(policy: Policy) -> Table:
    table = Table(title="Escalation conditions", title_justify="left", title_style="bold")
    for column in ("Condition", "When", "Bring in", "Action"):
        table.add_column(column)
    for cond in policy.conditions:
        table.add_row(cond.id, _trigger(cond.when), ", ".join(cond.targets), cond.action or "—")
    return table


def _roles_table(policy: Policy) -> Table:
    table = Table(title="Roles", title_justify="left", title_style="bold")
    for column in ("Role", "Title", "Required for", "Optional for", "Filled by"):
        table.add_column(column)
    for name, role in policy.roles.items():
        required = [s.name for s in policy.severities if name in s.roles_required]
        optional = [s.name for s in policy.severities if name in s.roles_optional]
        fillers = list(role.filled_by) + ([name] if name in policy.targets and name not in role.filled_by else [])
        table.add_row(
            name, role.title, ", ".join(required) or "—", ", ".join(optional) or "—", ", ".join(fillers) or "—"
        )
    return table


def _targets_table(policy: Policy) -> Table:
    table = Table(title="Targets", title_justify="left", title_style="bold")
    for column in ("Target", "Via", "Ref", "Responds within", "Methods"):
        table.add_column(column)
    for name, target in policy.targets.items():
        table.add_row(
            name,
            target.via,
            target.ref or "—",
            _span(target.response_time),
            ", ".join(target.methods) or "—",
        )
    return table


def _phases_table(policy: Policy) -> Table:
    table = Table(title="Phases", title_justify="left", title_style="bold")
    for column in ("Phase", "Window", "Exit"):
        table.add_column(column)
    for phase in policy.phases:
        table.add_row(phase.name, _phase_window(phase), phase.exit or "—")
    return table


def _classification(policy: Policy) -> RenderableType:
    cls = policy.classification
    lines: list[RenderableType] = [Text("Triage", style="bold")]
    if cls.confidence_threshold:
        escalate = ", ".join(cls.below_threshold_escalate_to)
        lines.append(
            Text(
                f"confidence below {cls.confidence_threshold}% → {cls.below_threshold.replace('_', ' ')}"
                + (f", escalate to {escalate}" if escalate else "")
            )
        )
    for floor in cls.floors:
        lines.append(Text(f"{floor.flag} → at least {floor.at_least}  ({floor.reason})"))
    if cls.uncertain is not None:
        lines.append(Text(f"unsure between {' and '.join(cls.uncertain.between)} → {cls.uncertain.pick}"))
    if cls.storm is not None:
        lines.append(Text(f"alert storm: {cls.storm.threshold}+ alerts within {cls.storm.window} are one incident"))
    for rule in cls.rules:
        lines.append(Text(f"rule {rule.id} → {rule.severity} at {rule.confidence}%"))
    if len(lines) == 1:
        lines.append(Text("—"))
    return Group(*lines)


def _playbook(policy: Policy) -> RenderableType | None:
    lines: list[RenderableType] = []
    if policy.mitigation_strategies:
        lines.append(Text("Mitigations", style="bold"))
        for m in policy.mitigation_strategies:
            extra = ", ".join(x for x in (f"risk {m.risk}" if m.risk else "", m.speed) if x)
            lines.append(Text(f"{m.name}: {m.when}" + (f" ({extra})" if extra else "")))
    if policy.decision_tree:
        lines.append(Text("Decision tree", style="bold"))
        for branch in policy.decision_tree:
            lines.append(Text(f"{branch.cause} → {', '.join(branch.strategies) or 'no strategy: see steps'}"))
    if policy.runbooks:
        lines.append(Text(f"Runbooks: {len(policy.runbooks)} symptom routes", style="bold"))
        for route in policy.runbooks:
            lines.append(Text(f"{route.symptom} → {route.runbook}"))
        if policy.runbook_fallback:
            lines.append(Text(f"otherwise → {policy.runbook_fallback}"))
    if policy.scenarios:
        lines.append(Text("Scenarios", style="bold"))
        for key, sc in policy.scenarios.items():
            lines.append(Text(f"{key}: {sc.title}" + (f" ({sc.severity})" if sc.severity else "")))
    return Group(*lines) if lines else None


def _render(policy: Policy) -> list[RenderableType]:
    head = Text(policy.name, style="bold")
    if policy.description:
        head.append(f" — {policy.description}", style="")
    cal = policy.calendar
    meta = Text(
        f"source: {policy.source or '—'} · ids {policy.incident_id.prefix}-YYYYMMDD-{'N' * policy.incident_id.digits}"
        f" · business hours {', '.join(cal.working_days)} {cal.hours_start:%H:%M}–{cal.hours_end:%H:%M}"
        f" {cal.timezone} · sprint {cal.sprint_length}",
        style="dim",
    )
    parts: list[RenderableType] = [Group(head, meta), _severity_table(policy), _communication_table(policy)]
    parts += _escalation_tables(policy)
    if policy.conditions:
        parts.append(_conditions_table(policy))
    if policy.roles:
        parts.append(_roles_table(policy))
    if policy.targets:
        parts.append(_targets_table(policy))
    if policy.phases:
        parts.append(_phases_table(policy))
    parts.append(_classification(policy))
    playbook = _playbook(policy)
    if playbook is not None:
        parts.append(playbook)
    return parts
