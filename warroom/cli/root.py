"""The root Typer application and the helpers every verb shares."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

app = typer.Typer(
    name="warroom",
    help="Incident response as running software: your runbook as code.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    # A callback keeps `warroom` a group of verbs when only the invoked verb's module is loaded.
    pass


console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Bad input: one line on stderr, exit code 2."""
    err_console.print(f"warroom: {message}", markup=False, soft_wrap=True)
    sys.exit(code)
