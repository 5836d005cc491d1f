"""The `warroom` command. Each verb parses input, calls one service function and renders the result."""

from __future__ import annotations

from warroom.cli import engine, incidents, intake, notify, policy, server
from warroom.cli.app import app

__all__ = ["app", "engine", "incidents", "intake", "main", "notify", "policy", "server"]


def main() -> None:
    app()
