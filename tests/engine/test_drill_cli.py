"""The CLI loads only the module of the verb it runs: `warroom drill` starts without the server's stack."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.engine.conftest import DRILLS
from warroom import cli

HEAVY = ("fastapi", "uvicorn", "starlette", "apprise", "playwright", "httpx")


def _modules_after(argv: list[str]) -> set[str]:
    """The modules a `warroom ARGV` run had imported by the time it exited."""
    code = (
        "import sys, atexit\n"
        "atexit.register(lambda: print('\\n'.join(sorted(sys.modules)), file=sys.stderr))\n"
        f"sys.argv = ['warroom', *{argv!r}]\n"
        "from warroom.cli import main\n"
        "main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, "WARROOM_URL": ""},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    return set(out.stderr.split())


def test_every_verb_is_registered_by_the_module_the_table_names() -> None:
    code = """
import importlib, json
from warroom import cli
from warroom.cli.root import app

def verbs():
    return {c.name or c.callback.__name__ for c in app.registered_commands} | {g.name for g in app.registered_groups}

seen = {}
for name in cli.MODULES:
    before = verbs()
    importlib.import_module(f"warroom.cli.{name}")
    seen.update(dict.fromkeys(verbs() - before, name))
print(json.dumps(seen))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    # Each verb belongs to the first module that registers it (intake imports incidents' helpers).
    assert json.loads(out.stdout) == cli.VERBS


def test_a_drill_does_not_load_the_server_or_http_stack() -> None:
    loaded = _modules_after(["drill", str(DRILLS / "so1-alert-storm.yaml"), "--json"])
    assert {"warroom.cli.drill", "warroom.drill.runner", "warroom.intake.batch"} <= loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(("warroom.app", "warroom.api")))
    assert heavy == []
    assert not {"warroom.cli.engine", "warroom.cli.incidents", "warroom.cli.notify", "warroom.cli.server"} & loaded


def test_help_and_the_app_object_still_have_every_verb() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "warroom", "--help"], capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    listed = {line.split()[1] for line in out.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2}
    assert set(cli.VERBS) <= listed
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli.app, ["policy", "list"])
    assert result.exit_code == 0 and "nself" in result.output
