"""`warroom policy list|show|validate|lint`."""

from __future__ import annotations

import typer

from warroom.cli.app import app, console
from warroom.policy import list_presets

policy_app = typer.Typer(help="Inspect, validate and lint runbook policies.", no_args_is_help=True)
app.add_typer(policy_app, name="policy")


@policy_app.command("list")
def list_cmd() -> None:
    """The built-in presets."""
    for name in list_presets():
        console.print(name)
