"""The `warroom` command. Each verb parses input, calls one service function and renders the result."""

from __future__ import annotations

from warroom.cli.app import app
from warroom.cli import policy as _policy  # noqa: F401  (registers `warroom policy ...`)


def main() -> None:
    app()
