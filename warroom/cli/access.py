"""`warroom user ...`, `warroom token ...` and `warroom audit`.

Users and tokens are managed on the database directly (whoever can open it is its operator);
the audit log is read there too, or from the server at WARROOM_URL with an admin's WARROOM_TOKEN.
"""

from __future__ import annotations

import getpass
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import typer
from pydantic import TypeAdapter
from rich.table import Table

from warroom.auth import tokens, users
from warroom.auth.audit import AuditView, entries
from warroom.chat import identities
from warroom.cli.http import ApiClient
from warroom.cli.incidents import JSON, default_actor, handled
from warroom.cli.root import app, console, fail
from warroom.compose import build_context
from warroom.domain.durations import DurationError, parse_fixed
from warroom.settings import get_settings

if TYPE_CHECKING:
    from warroom.store.unit import Context  # annotations only: remote mode never loads the database layer

user_app = typer.Typer(help="People who sign in, and their roles (viewer, responder, admin).", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for the CLI's remote mode and for scripts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")


def _context() -> Context:
    return build_context(get_settings())


def _t(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


def _span(text: str | None, option: str) -> timedelta | None:
    if not text:
        return None
    try:
        return parse_fixed(text)
    except DurationError as exc:
        fail(f"{option}: {exc}")


@user_app.command("add")
@handled
def user_add(
    name: str = typer.Argument(..., help="the name they sign in with (lowercase)"),
    role: str = typer.Option(..., "--role", help="viewer, responder or admin"),
    email: str = typer.Option("", "--email"),
) -> None:
    """Add a user with a one-time password, printed once; they choose their own at the first sign-in."""
    view, password = users.add(_context(), name, role, email)
    console.print(f"user {view.name} ({view.role}) added. One-time password, shown this once:")
    console.print(password, markup=False)


@user_app.command("list")
@handled
def user_list(as_json: bool = JSON) -> None:
    rows = users.list_users(_context())
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("name", "role", "email", "state", "since")
    for r in rows:
        state = "disabled" if r.disabled else ("must change password" if r.must_change_password else "active")
        table.add_row(r.name, r.role, r.email, state, _t(r.created_at))
    console.print(table)


@user_app.command("role")
@handled
def user_role(name: str, role: str = typer.Argument(..., help="viewer, responder or admin")) -> None:
    view = users.set_role(_context(), name, role)
    console.print(f"{view.name} is now {view.role}")


@user_app.command("disable")
@handled
def user_disable(name: str) -> None:
    """Disabled, never deleted: their sessions end and their tokens stop working."""
    view = users.disable(_context(), name)
    console.print(f"{view.name} is disabled; their sessions and tokens no longer work")


@user_app.command("password")
@handled
def user_password(name: str) -> None:
    """Set a user's password (asked twice on a terminal, or one line on standard input)."""
    if sys.stdin.isatty():
        first = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != first:
            fail("the two passwords differ")
    else:
        first = sys.stdin.readline().rstrip("\n")
    view = users.set_password(_context(), name, first)
    console.print(f"password of {view.name} changed")


@user_app.command("link")
@handled
def user_link(
    name: str,
    slack: str = typer.Option(None, "--slack", help="their Slack user id (U024BE7LH: profile, ⋮, Copy member ID)"),
    mattermost: str = typer.Option(None, "--mattermost", help="their Mattermost user id (26 letters and digits)"),
) -> None:
    """Link a chat user to this warroom user: their /incident commands act as them (and nobody else's do)."""
    if not slack and not mattermost:
        fail("give --slack ID, --mattermost ID or both")
    for platform, ident in (("slack", slack), ("mattermost", mattermost)):
        if ident:
            view = identities.link(_context(), name, platform, ident, default_actor())
            console.print(f"{platform} user {view.external_id} is now {view.user_name} in warroom", markup=False)


@token_app.command("create")
@handled
def token_create(
    name: str = typer.Argument(..., help="what the token is for, such as ci-deploy"),
    role: str = typer.Option(..., "--role", help="viewer, responder or admin"),
    expires: str = typer.Option(None, "--expires", help="a lifetime such as 90d (default: until revoked)"),
    user: str = typer.Option(None, "--user", help="act as this user (never above their role)"),
    bot: bool = typer.Option(False, "--bot", help="an admin token that says on whose behalf it acts (`by`)"),
) -> None:
    """Create a token and print it once: only its digest is stored."""
    view, secret = tokens.create(_context(), name, role, default_actor(), _span(expires, "--expires"), user, bot)
    until = f", expires {_t(view.expires_at)}" if view.expires_at else ""
    console.print(f"token {view.name} ({view.role}{until}) created. Shown this once:")
    console.print(secret, markup=False)
    console.print("use it as  Authorization: Bearer <token>  or  export WARROOM_TOKEN=<token>", markup=False)


@token_app.command("revoke")
@handled
def token_revoke(name: str) -> None:
    view = tokens.revoke(_context(), name)
    console.print(f"token {view.name} revoked")


@token_app.command("list")
@handled
def token_list(as_json: bool = JSON) -> None:
    """Tokens with their first characters (never the token)."""
    rows = tokens.list_tokens(_context())
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("name", "starts", "role", "acts as", "created", "expires", "state")
    for r in rows:
        acts = r.user_name or ("bot" if r.bot else r.name)
        table.add_row(r.name, r.prefix + "…", r.role, acts, _t(r.created_at), _t(r.expires_at),
                      "revoked" if r.revoked_at else "active")  # fmt: skip
    console.print(table)


@app.command("audit")
@handled
def audit(
    since: str = typer.Option(None, "--since", help="how far back, such as 24h or 7d"),
    who: str = typer.Option(None, "--who", help="only this actor"),
    limit: int = typer.Option(200, "--limit", min=1, max=5000),
    as_json: bool = JSON,
) -> None:
    """Every state-changing request, newest first: who, what, target, when, from where, how it ended."""
    span = _span(since, "--since")
    start = datetime.now(UTC) - span if span else None
    url = get_settings().url
    if url:
        params = {"since": start.isoformat() if start else None, "who": who, "limit": limit}
        rows = TypeAdapter(list[AuditView]).validate_python(ApiClient(url).call("GET", "/audit", params=params))
    else:
        rows = entries(_context(), start, who, limit)
    if as_json:
        console.print_json(json.dumps([r.model_dump(mode="json") for r in rows]))
        return
    table = Table("at", "who", "on behalf of", "via", "what", "target", "from", "result")
    for r in rows:
        table.add_row(_t(r.at), r.actor, r.on_behalf_of or "", r.via, r.action, r.target, r.address, r.result)
    console.print(table)
