"""The `warroom` command. Each verb parses input, calls one service function and renders the result.

Only the module of the verb being run is imported (`warroom drill` loads neither the HTTP client
nor the server): start-up time is most of a short command's time. `warroom --help`, an unknown
verb and `from warroom.cli import app` load every module.
"""

from __future__ import annotations

import getpass
import importlib
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

_BY_MODULE = {
    "engine": "worker oncall engine",
    "drill": "drill",
    "incidents": "declare ack status severity mitigate decide resolve reopen close flag impact role hypothesis "
    "update log timeline show brief list draft postmortem",
    "intake": "integration alerts silence",
    "notify": "notifications contact",
    "policy": "policy",
    "server": "serve db",
    "setup": "setup",
    "access": "user token audit",
    "statuspage": "statuspage",
    "reports": "report actions",
}
MODULES = tuple(_BY_MODULE)
"""Every module that registers verbs, in the order `warroom --help` lists them."""
VERBS = {verb: module for module, verbs in _BY_MODULE.items() for verb in verbs.split()}
"""verb (or verb group) → the module that registers it (tests/engine/test_drill_cli.py keeps it true)"""


def load(verb: str | None = None) -> typer.Typer:
    """The root app with the verb's module loaded, or every module when the verb is not known."""
    from warroom.cli.root import app

    for name in [VERBS[verb]] if verb in VERBS else MODULES:
        importlib.import_module(f"warroom.cli.{name}")
    return app


def __getattr__(name: str) -> Any:
    if name == "app":
        return load()
    if name in MODULES:
        return importlib.import_module(f"warroom.cli.{name}")
    raise AttributeError(f"module 'warroom.cli' has no attribute '{name}'")


def main() -> None:
    verb = sys.argv[1] if len(sys.argv) > 1 else None
    if verb in VERBS:
        _audit_as_operator(sys.argv[1:])
    load(verb)()


def _audit_as_operator(args: list[str]) -> None:
    """A verb run on the database itself is audited as the operator who ran it (the first change it
    commits writes the row). In remote mode the server audits the request, and the database layer is not loaded."""
    from warroom.settings import get_settings

    if get_settings().url:
        return
    from warroom.store.unit import AuditNote, auditing

    words = [a for a in args[:3] if not a.startswith("-")][:2]
    who = os.environ.get("WARROOM_USER") or os.environ.get("USER") or getpass.getuser()
    auditing.set(AuditNote(actor=who, via="cli", action="cli " + " ".join(words), address="local"))
