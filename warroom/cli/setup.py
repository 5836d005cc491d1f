"""`warroom setup`: the first run. Who is on call for the policy's schedules, how each is reached, and
where the war-room and incident channels post, so the first page reaches a person instead of nobody.

It asks on a terminal and takes flags anywhere; without a terminal it never waits for input
(`make run` calls it with `--if-needed`). It works on the local database, like `warroom db upgrade`.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import typer

from warroom.cli.root import app, console, err_console, fail
from warroom.settings import get_settings

if TYPE_CHECKING:
    from warroom.store.unit import Context  # annotations only: remote mode never loads the database layer

CHANNEL_HINT = "an Apprise URL, e.g. slack://T000/B000/XXXX, discord://id/token, json://host/path"
METHOD_HINT = "an Apprise URL such as mailto://user:pass@mail.example.com?to=you@example.com or ntfy://ntfy.sh/topic"


@dataclass
class Plan:
    """What setup will store: schedule -> person, person -> (method, url), channel -> url."""

    oncall: dict[str, str] = field(default_factory=dict)
    contacts: dict[str, tuple[str, str]] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key.strip() or not rest.strip():
            fail(f"{flag} takes NAME=VALUE, got '{value}'")
        out[key.strip()] = rest.strip()
    return out


def _method_url(text: str) -> tuple[str, str]:
    """`email:mailto://…` names the method; a bare URL is the person's pager (`page`)."""
    head, sep, rest = text.partition(":")
    if sep and head in ("page", "push", "sms", "email", "phone", "chat") and "://" in rest:
        return head, rest
    return "page", text


def _context() -> Context:
    from warroom.compose import build_context
    from warroom.domain.errors import PolicyError

    if get_settings().url:
        fail("warroom setup works on the local database; unset WARROOM_URL and run it where the server runs")
    try:
        return build_context(get_settings())
    except PolicyError as exc:
        fail(str(exc))


def command_for(schedules: list[str], channels: list[str]) -> str:
    """The exact non-interactive command, with placeholders, for a fresh install of this policy."""
    parts = ["warroom setup"]
    for i, name in enumerate(schedules):
        person = ("alice", "bob", "carol", "dave")[i % 4]
        parts.append(f"--oncall {name}={person}")
    for i, _name in enumerate(schedules):
        person = ("alice", "bob", "carol", "dave")[i % 4]
        parts.append(f"--contact '{person}=mailto://mail.example.com?to={person}@example.com'")
    parts += [f"--channel '{c}=json://127.0.0.1:9000/{c.strip('#')}'" for c in channels]
    return " \\\n    ".join(dict.fromkeys(parts))


def _ask(question: str) -> str:
    return str(typer.prompt(question, default="", show_default=False)).strip()


def _interactive(ctx: Context, plan: Plan, schedules: list[tuple[str, bool]], channels: list[str]) -> None:
    for name, first in schedules:
        if name not in plan.oncall:
            tier = "first paged" if first else "paged later"
            who = _ask(f"Who is on call for {name} ({tier})? [Enter to skip]")
            if who:
                plan.oncall[name] = who
    for person in dict.fromkeys(plan.oncall.values()):
        if person not in plan.contacts and not _has_method(ctx, person):
            url = _ask(f"How is {person} reached? ({METHOD_HINT}) [Enter to skip]")
            if url:
                plan.contacts[person] = _method_url(url)
    for name in channels:
        if name not in plan.channels:
            url = _ask(f"Where does '{name}' post? ({CHANNEL_HINT}) [Enter to skip]")
            if url:
                plan.channels[name] = url


def _has_method(ctx: Context, person: str) -> bool:
    from warroom.domain.errors import NotFound
    from warroom.notify import contacts

    try:
        return bool(contacts.get_person(ctx, person).methods)
    except NotFound:
        return False


def apply(ctx: Context, plan: Plan) -> list[str]:
    """Store the plan through the same use cases as `warroom oncall set` and `warroom contact ...`."""
    from warroom.domain.errors import NotFound
    from warroom.notify import contacts
    from warroom.oncall import service as oncall
    from warroom.oncall.schemas import LayerRequest

    done = []
    for schedule, person in plan.oncall.items():
        oncall.set_layer(ctx, schedule, LayerRequest(members=[person], length="weekly"))
        done.append(f"on call for {schedule}: {person} (weekly; add people with `warroom oncall set {schedule}`)")
    for person, (method, url) in plan.contacts.items():
        try:
            contacts.get_person(ctx, person)
        except NotFound:
            contacts.put_person(ctx, person, contacts.PersonRequest())
        contacts.put_method(ctx, person, method, contacts.MethodRequest(url=url))
        done.append(f"{person} is reached by {method}: {contacts.mask(url)}")
    for name, url in plan.channels.items():
        contacts.put_channel(ctx, name, contacts.ChannelRequest(url=url))
        done.append(f"channel {name}: {contacts.mask(url)}")
    return done


@app.command()
def setup(
    oncall: list[str] = typer.Option([], "--oncall", help="SCHEDULE=PERSON: who is on call (repeatable)"),
    contact: list[str] = typer.Option(
        [], "--contact", help="PERSON=URL or PERSON=METHOD:URL (Apprise URL; a bare URL is their pager)"
    ),
    channel: list[str] = typer.Option([], "--channel", help="NAME=URL for a policy channel (repeatable)"),
    war_room: str = typer.Option(None, "--war-room", help="where each incident's war room posts (Apprise URL)"),
    incidents: str = typer.Option(None, "--incidents", help="the shared incidents channel, e.g. #incidents"),
    if_needed: bool = typer.Option(False, "--if-needed", help="do nothing when someone is already on call"),
    no_input: bool = typer.Option(False, "--no-input", help="never ask, even on a terminal"),
) -> None:
    """First run: who is on call for the policy's schedules, how to reach them, and the channels."""
    from warroom.domain.errors import ServiceError
    from warroom.oncall import service as oncall_service

    ctx = _context()
    policy = ctx.policy
    schedules = oncall_service.paged_schedules(policy)
    channels = [c for c in policy.channels if c == "war-room" or "incident" in c]
    plan = Plan(oncall=_pairs(oncall, "--oncall"), channels=_pairs(channel, "--channel"))
    plan.contacts = {p: _method_url(u) for p, u in _pairs(contact, "--contact").items()}
    if war_room:
        plan.channels["war-room"] = war_room
    if incidents:
        shared = next((c for c in policy.channels if c != "war-room" and "incident" in c), "#incidents")
        plan.channels[shared] = incidents
    known = [name for name, _ in schedules]
    for name in plan.oncall:
        if name not in known:
            fail(f"--oncall: the {policy.name} policy pages no schedule '{name}'; it pages {', '.join(known)}")
    given = bool(plan.oncall or plan.contacts or plan.channels)
    before = oncall_service.paging_readiness(ctx)
    if if_needed and before.ok and not given:
        console.print(f"paging: {before.message}", markup=False)
        return
    interactive = sys.stdin.isatty() and not no_input
    if interactive:
        _interactive(ctx, plan, schedules, channels)
    elif not given:
        err_console.print(f"warroom: paging: {before.message}", markup=False)
        err_console.print(
            "warroom: say who is on call and how to reach them (or run `warroom setup` on a terminal):\n"
            + command_for([n for n, _ in schedules], channels),
            markup=False,
            soft_wrap=True,
        )
        return
    try:
        for line in apply(ctx, plan):
            console.print(line, markup=False)
    except ServiceError as exc:
        fail(exc.detail)
    after = oncall_service.paging_readiness(ctx)
    for person in dict.fromkeys(plan.oncall.values()):
        if not _has_method(ctx, person):
            err_console.print(
                f"warroom: warning: {person} has no contact method yet: "
                f"`warroom setup --contact '{person}=mailto://…'`",
                markup=False,
            )
    if after.ok:
        console.print(f"paging: {after.message}", markup=False)
    else:
        err_console.print(f"warroom: paging: {after.message}; {after.fix}", markup=False)
    if after.later:
        console.print(f"later tiers with nobody on call: {', '.join(after.later)}", markup=False)
