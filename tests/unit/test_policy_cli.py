"""`warroom policy list|show|validate|lint` as a user runs them (Typer's CliRunner, no database)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from warroom.cli import app
from warroom.policy import list_presets, load_policy
from warroom.policy.loader import PRESET_DIR, parse_policy

WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env=WIDE)


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- list ---------------------------------------------------------------------------------------


def test_list_shows_each_preset_with_its_description(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "list"])
    assert result.exit_code == 0, result.output
    rows = [line.split(None, 1) for line in result.stdout.splitlines() if line.strip()]
    assert [r[0] for r in rows] == list_presets()
    for name, description in rows:
        assert description.strip() == load_policy(name).description


def test_list_fits_an_80_column_terminal() -> None:
    result = CliRunner(env={"COLUMNS": "80"}).invoke(app, ["policy", "list"])
    assert len(result.stdout.strip().splitlines()) == len(list_presets())


# --- show ---------------------------------------------------------------------------------------


def test_show_renders_the_severity_matrix(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "show", "nself"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    row = next(line for line in out.splitlines() if "P0 (SEV1)" in line)
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    assert cells[:5] == ["P0 (SEV1)", "Total outage", "5m", "1h", "4h"]
    assert "required within 48h of resolution" in row
    p3 = next(line for line in out.splitlines() if "P3 (SEV4)" in line)
    assert "next-business-day" in p3 and "next-sprint" in p3


def test_show_renders_communication_escalation_roles_and_triage(runner: CliRunner) -> None:
    out = runner.invoke(app, ["policy", "show", "nself"]).stdout
    p0 = next(line for line in out.splitlines() if line.startswith("│ P0 ") and "on detect" in line)
    assert "every 10m (war-room)" in p0 and "every 15m (status-page)" in p0 and "quiet 10m" in p0
    assert "within 30m after mitigation" in p0
    assert "Escalation policy nself-paging (P0, P1)" in out
    tiers = [line for line in out.splitlines() if line.startswith("│ 1 ") or line.startswith("│ 3 ")]
    assert "push, sms" in tiers[0] and "5m" in tiers[0]
    assert "email, phone" in tiers[1] and "10m" in tiers[1]
    comms = next(line for line in out.splitlines() if line.startswith("│ comms-officer"))
    assert "│ P0 " in comms and "│ P1 " in comms
    assert "credential_exposed → at least P0" in out
    assert "unsure between P1 and P2 → P1" in out


def test_show_renders_conditions_and_phases(runner: CliRunner) -> None:
    nexus = runner.invoke(app, ["policy", "show", "nexus"]).stdout
    row = next(line for line in nexus.splitlines() if "p0-unresolved-30m" in line)
    assert "unresolved after 30m (P0)" in row and "studio-producer" in row
    assert any(
        "flag user_data_affected" in line and "executive-summary-generator" in line for line in nexus.splitlines()
    )
    novavms = runner.invoke(app, ["policy", "show", "novavms"]).stdout
    assert any(line.startswith("│ identify ") and "0m–5m" in line for line in novavms.splitlines())
    assert any(line.startswith("│ postmortem ") and "within 5bd" in line for line in novavms.splitlines())
    assert "no hypothesis after 20m (P1, P2)" in novavms


def test_show_adds_a_respond_column_only_when_used(runner: CliRunner) -> None:
    assert "┃ Respond ┃" in runner.invoke(app, ["policy", "show", "so1"]).stdout
    assert "┃ Respond ┃" not in runner.invoke(app, ["policy", "show", "nself"]).stdout
    so1 = runner.invoke(app, ["policy", "show", "so1"]).stdout
    assert "confidence below 70% → investigation required" in so1
    assert "alert storm: 10+ alerts within 5m are one incident" in so1


@pytest.mark.parametrize("name", list_presets())
def test_show_json_is_the_policy(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, ["policy", "show", name, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert parse_policy(data) == load_policy(name)


def test_show_a_file_by_path(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "name: tiny\nseverities:\n  - {name: SEV1, aliases: [P1], sla: {ack: 7m}}\n")
    result = runner.invoke(app, ["policy", "show", str(path)])
    assert result.exit_code == 0, result.output
    assert any("SEV1 (P1)" in line and "7m" in line for line in result.stdout.splitlines())


def test_show_unknown_preset_is_one_line_and_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "show", "nope"])
    assert result.exit_code == 2
    assert result.stderr == "warroom: no preset named 'nope'; presets: nexus, novavms, nself, so1\n"
    assert result.stdout == ""


# --- validate -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list_presets())
def test_validate_a_good_file(runner: CliRunner, name: str) -> None:
    result = runner.invoke(app, ["policy", "validate", str(PRESET_DIR / f"{name}.yaml")])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"ok: {len(load_policy(name).severities)} severities\n"


def test_validate_reports_every_problem_one_per_line(runner: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: tiny\n"
        "severities:\n"
        "  - name: P1\n"
        "    sla: {ack: -5m, resolve: 30}\n"
        "targets:\n"
        "  lead: {via: pigeon}\n"
        "templates:\n"
        "  ack: \"{{ ''.__class__.__mro__ }}\"\n",
    )
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"warroom: {path} is not a valid policy (4 problems):"
    assert sorted(line.split(": ", 1)[0] for line in lines[1:]) == [
        "severities.0.sla.ack",
        "severities.0.sla.resolve",
        "targets.lead.via",
        "templates.ack",
    ]
    assert "severities.0.sla.ack: '-5m' is negative; durations must be zero or more" in lines


def test_validate_cross_reference_problems(runner: CliRunner, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: tiny\nseverities:\n  - name: P1\n    notify: [{who: [ghost]}]\n"
        "classification:\n  floors: [{id: f, flag: auth_broken, at_least: P9, reason: r}]\n",
    )
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        "severities.0.notify.0.who: unknown target 'ghost' (define it under targets)",
        "classification.floors.0.at_least: unknown severity 'P9'",
    ]


def test_validate_malformed_yaml(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "name: tiny\nseverities: [\n")
    result = runner.invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 2
    [problem] = result.stderr.splitlines()[1:]
    assert problem.startswith("(yaml) line 3, column 1: ")


def test_validate_long_problems_are_not_wrapped(tmp_path: Path) -> None:
    path = write(tmp_path, "name: tiny\nseverities:\n  - name: P1\n    sla: {ack: a-duration-nobody-could-read}\n")
    result = CliRunner(env={"COLUMNS": "40"}).invoke(app, ["policy", "validate", str(path)])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 2


def test_validate_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["policy", "validate", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert result.stderr.startswith("warroom: no policy file at ")


def test_validate_sees_edits_to_the_same_file(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "name: tiny\nseverities: [{name: P1}]\n")
    assert runner.invoke(app, ["policy", "validate", str(path)]).exit_code == 0
    path.write_text("name: tiny\nseverities: [{name: P1, sla: {ack: soon}}]\n", encoding="utf-8")
    assert runner.invoke(app, ["policy", "validate", str(path)]).exit_code == 2


# --- lint ---------------------------------------------------------------------------------------


def test_lint_a_preset_with_only_warnings_exits_0(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "lint", "nself"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[-1] == "0 error(s), 2 warning(s)"
    assert lines[0].startswith("warning severities.0.cadence.internal.every: P0 internal updates every 10m")
    assert lines[0].endswith("[cadence-slower-than-ack]")


def test_lint_with_errors_exits_1(runner: CliRunner, tmp_path: Path) -> None:
    data = load_policy("nself").model_dump(mode="json")
    data["severities"][0]["sla"]["mitigate"] = "6h"
    path = write(tmp_path, yaml.safe_dump(data, allow_unicode=True))
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 1
    assert any(
        line.startswith(
            "error   severities.0.sla.mitigate: P0: the mitigate SLA (6h) is longer than the resolve SLA (4h)"
        )
        for line in result.stdout.splitlines()
    )
    assert any(
        line.startswith("error   severities.1.sla.mitigate: P1 is less severe") for line in result.stdout.splitlines()
    )
    assert result.stdout.splitlines()[-1] == "2 error(s), 2 warning(s)"


def test_lint_clean_policy(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "name: tiny\nseverities: [{name: P1, sla: {ack: 5m, resolve: 1h}}]\n")
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 0
    assert result.stdout == "ok: no findings\n"


def test_lint_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["policy", "lint", "so1", "--json"])
    assert result.exit_code == 0
    findings = json.loads(result.stdout)
    assert {f["level"] for f in findings} == {"warning"}
    assert set(findings[0]) == {"level", "path", "message", "code"}


def test_lint_refuses_an_invalid_file_with_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    path = write(tmp_path, "name: tiny\nseverities: [{name: P1, sla: {ack: -1m}}]\n")
    result = runner.invoke(app, ["policy", "lint", str(path)])
    assert result.exit_code == 2
    assert "severities.0.sla.ack: '-1m' is negative" in result.stderr
