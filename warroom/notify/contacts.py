"""Contact points: people with their methods and rules, and named channel destinations.

All of it is configuration in the database, managed through `warroom contact` and
/api/v1/contacts, or loaded from a YAML file (WARROOM_CONTACTS). URLs are Apprise URLs and
are checked with Apprise when they are saved; listings show them with secrets masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from warroom.domain.errors import Invalid, NotFound
from warroom.domain.view import View
from warroom.notify import rules as rules_mod
from warroom.store.notify_models import Channel, ContactMethod, Person, PersonRule
from warroom.store.unit import Context

PERSON_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,119}$")
CHANNEL_NAME = re.compile(r"^[^\s:]{1,200}$")
PERSON_PREFIX = "person:"
SAMPLE = {"channel": "incident-2026-05-07-sample", "incident": "INC-20260507-0001"}
Delivery = Literal["at-most-once", "at-least-once"]
APPRISE_DEFAULTS = frozenset(
    {"overflow=upstream", "retry=0", "wait=0.5", "optional=no", "method=POST", "format=text", "format=html"}
)
"""Parameters Apprise prints with its own defaults; left out of listings so the URL reads like the one saved."""

# --- requests and views -------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PersonRequest(_Request):
    display_name: str = ""
    timezone: str = "UTC"
    fallback: str | None = Field(None, description="one of the person's methods (email) or a channel (#incidents)")


class MethodRequest(_Request):
    url: str = Field(description="an Apprise URL, e.g. mailto://… or ntfy://…")


class RuleRequest(_Request):
    severities: list[str] = Field(default_factory=list, description="empty: every severity")
    methods: list[str] = Field(default_factory=list, description="empty: the methods the policy asks for")
    quiet_hours: str | None = Field(None, description="HH:MM-HH:MM in the person's time zone")
    note: str = ""


class ChannelRequest(_Request):
    url: str = Field(description="an Apprise URL; may hold {channel} (the incident's channel) and {incident}")
    fallback: str | None = Field(None, description="destination that gets the message when this one is dead")
    max_attempts: int | None = Field(None, ge=1, le=50)
    rate_per_minute: int | None = Field(None, ge=1, le=10_000)
    delivery: Delivery | None = Field(
        None, description="at-most-once (no duplicate after a crash) or at-least-once (no loss); default by kind"
    )
    description: str = ""


class PersonSpec(_Request):
    """A person as written in the contacts file."""

    display_name: str = Field("", alias="name")
    timezone: str = "UTC"
    fallback: str | None = None
    methods: dict[str, str] = Field(default_factory=dict)
    rules: list[RuleRequest] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ContactsFile(_Request):
    people: dict[str, PersonSpec] = Field(default_factory=dict)
    channels: dict[str, ChannelRequest] = Field(default_factory=dict)

    @field_validator("channels", mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        """`"#incidents": slack://…` is short for `{url: slack://…}`."""
        if isinstance(value, dict):
            return {k: ({"url": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value


class MethodView(View):
    method: str
    url: str


class RuleView(View):
    position: int
    severities: list[str]
    methods: list[str]
    quiet_hours: str | None
    note: str


class PersonView(View):
    name: str
    display_name: str
    timezone: str
    fallback: str | None
    methods: list[MethodView]
    rules: list[RuleView]


class ChannelView(View):
    name: str
    url: str
    fallback: str | None
    max_attempts: int | None
    rate_per_minute: int | None
    delivery: str | None
    description: str


class ContactsView(View):
    people: list[PersonView]
    channels: list[ChannelView]


# --- URLs ---------------------------------------------------------------------------------------


def _sample(url: str) -> str:
    try:
        return url.format(**SAMPLE)
    except (KeyError, IndexError, ValueError) as exc:
        raise Invalid(
            f"'{mask(url)}' has an unknown placeholder ({exc}); only {{channel}} and {{incident}} are filled in",
            field="url",
        ) from None


def check_url(url: str) -> str:
    """Refuse what Apprise cannot send to, with the reason, before it is saved."""
    import apprise

    text = url.strip()
    if not text or len(text) > 4000:
        raise Invalid("an Apprise URL is required, such as mailto://user:pass@example.com", field="url")
    if apprise.Apprise.instantiate(_sample(text)) is None:
        scheme = text.split("://", 1)[0] if "://" in text else text[:20]
        raise Invalid(
            f"Apprise does not understand '{scheme}://…' (unknown service or missing parts); "
            "see https://github.com/caronc/apprise/wiki for URL formats",
            field="url",
        )
    return text


def mask(url: str) -> str:
    """The URL with passwords and tokens hidden, as Apprise prints it in privacy mode."""
    import apprise

    scheme = url.split("://", 1)[0] if "://" in url else "?"
    try:
        plugin = apprise.Apprise.instantiate(url.format(**SAMPLE))
    except (KeyError, IndexError, ValueError):
        plugin = None
    if plugin is None:
        return f"{scheme}://…"
    shown = str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    for key, value in SAMPLE.items():
        shown = shown.replace(value, "{" + key + "}")
    base, _, query = shown.partition("?")
    kept = [p for p in query.split("&") if p and p not in APPRISE_DEFAULTS]
    return base + ("?" + "&".join(kept) if kept else "")


# --- validation ---------------------------------------------------------------------------------


def _person_name(name: str) -> str:
    value = name.strip()
    if not PERSON_NAME.match(value):
        raise Invalid(f"'{name}' is not a person name; use letters, digits and . _ @ + -", field="name")
    return value


def _channel_name(name: str) -> str:
    value = name.strip()
    if not CHANNEL_NAME.match(value) or value.startswith(PERSON_PREFIX):
        raise Invalid(
            f"'{name}' is not a channel name (no spaces or colons), e.g. #incidents or war-room", field="name"
        )
    return value


def _timezone(tz: str) -> str:
    try:
        rules_mod.zone(tz)
    except rules_mod.RuleError as exc:
        raise Invalid(str(exc), field="timezone") from None
    return tz


def _method(method: str) -> str:
    if method not in rules_mod.METHODS:
        raise Invalid(f"unknown method '{method}'; methods are {', '.join(rules_mod.METHODS)}", field="method")
    return method


def _rule(req: RuleRequest) -> RuleRequest:
    try:
        rules_mod.check_methods(req.methods)
        if req.quiet_hours:
            rules_mod.parse_quiet_hours(req.quiet_hours)
    except rules_mod.RuleError as exc:
        raise Invalid(str(exc), field="rules") from None
    return req


# --- reads --------------------------------------------------------------------------------------


def _person_view(session: Session, p: Person) -> PersonView:
    methods = session.scalars(select(ContactMethod).where(ContactMethod.person == p.name))
    order = {m: i for i, m in enumerate(rules_mod.METHODS)}
    rules = session.scalars(select(PersonRule).where(PersonRule.person == p.name).order_by(PersonRule.position))
    return PersonView(
        name=p.name,
        display_name=p.display_name,
        timezone=p.timezone,
        fallback=p.fallback,
        methods=[MethodView(method=m.method, url=mask(m.url)) for m in sorted(methods, key=lambda m: order[m.method])],
        rules=[
            RuleView(
                position=r.position,
                severities=list(r.severities),
                methods=list(r.methods),
                quiet_hours=r.quiet_hours,
                note=r.note,
            )
            for r in rules
        ],
    )


def _channel_view(c: Channel) -> ChannelView:
    return ChannelView(
        name=c.name,
        url=mask(c.url),
        fallback=c.fallback,
        max_attempts=c.max_attempts,
        rate_per_minute=c.rate_per_minute,
        delivery=c.delivery,
        description=c.description,
    )


def list_contacts(ctx: Context) -> ContactsView:
    with ctx.db.unit() as session:
        people = session.scalars(select(Person).order_by(Person.name))
        people_views = [_person_view(session, p) for p in people]
        channels = session.scalars(select(Channel).order_by(Channel.name))
        return ContactsView(people=people_views, channels=[_channel_view(c) for c in channels])


def get_person(ctx: Context, name: str) -> PersonView:
    with ctx.db.unit() as session:
        p = session.get(Person, name.strip())
        if p is None:
            raise NotFound(f"no person '{name}'; add one with `warroom contact add-person {name}`", field="name")
        return _person_view(session, p)


# --- writes -------------------------------------------------------------------------------------


def _put_person(session: Session, name: str, req: PersonRequest, now: datetime) -> Person:
    name = _person_name(name)
    tz = _timezone(req.timezone or "UTC")
    p = session.get(Person, name)
    if p is None:
        p = Person(name=name, created_at=now, updated_at=now)
        session.add(p)
    p.display_name = req.display_name.strip()[:200]
    p.timezone = tz
    p.fallback = (req.fallback or "").strip() or None
    p.updated_at = now
    return p


def put_person(ctx: Context, name: str, req: PersonRequest) -> PersonView:
    with ctx.db.unit() as session:
        p = _put_person(session, name, req, ctx.clock.now())
        session.flush()
        return _person_view(session, p)


def _need_person(session: Session, name: str) -> Person:
    p = session.get(Person, name.strip())
    if p is None:
        raise NotFound(f"no person '{name}'; add one with `warroom contact add-person {name}`", field="person")
    return p


def remove_person(ctx: Context, name: str) -> None:
    with ctx.db.unit() as session:
        p = _need_person(session, name)
        session.execute(delete(ContactMethod).where(ContactMethod.person == p.name))
        session.execute(delete(PersonRule).where(PersonRule.person == p.name))
        session.delete(p)


def _put_method(session: Session, person: str, method: str, url: str, now: datetime) -> None:
    p = _need_person(session, person)
    method = _method(method)
    checked = check_url(url)
    row = session.get(ContactMethod, (p.name, method))
    if row is None:
        session.add(ContactMethod(person=p.name, method=method, url=checked, created_at=now))
    else:
        row.url = checked
    p.updated_at = now


def put_method(ctx: Context, person: str, method: str, req: MethodRequest) -> PersonView:
    with ctx.db.unit() as session:
        _put_method(session, person, method, req.url, ctx.clock.now())
        session.flush()
        return _person_view(session, _need_person(session, person))


def remove_method(ctx: Context, person: str, method: str) -> PersonView:
    with ctx.db.unit() as session:
        p = _need_person(session, person)
        row = session.get(ContactMethod, (p.name, method))
        if row is None:
            raise NotFound(f"{p.name} has no {method} contact", field="method")
        session.delete(row)
        session.flush()
        return _person_view(session, p)


def _set_rules(session: Session, p: Person, reqs: list[RuleRequest], now: datetime) -> None:
    checked = [_rule(r) for r in reqs]
    session.execute(delete(PersonRule).where(PersonRule.person == p.name))
    for i, r in enumerate(checked, start=1):
        session.add(
            PersonRule(
                person=p.name,
                position=i,
                severities=[s.strip() for s in r.severities if s.strip()],
                methods=list(rules_mod.check_methods(r.methods)),
                quiet_hours=r.quiet_hours.strip() if r.quiet_hours else None,
                note=r.note.strip(),
                created_at=now,
            )
        )
    p.updated_at = now


def set_rules(ctx: Context, person: str, reqs: list[RuleRequest]) -> PersonView:
    """Replace a person's rules (order matters: the first matching rule applies)."""
    with ctx.db.unit() as session:
        p = _need_person(session, person)
        _set_rules(session, p, reqs, ctx.clock.now())
        session.flush()
        return _person_view(session, p)


def add_rule(ctx: Context, person: str, req: RuleRequest) -> PersonView:
    """Append a rule after the person's existing ones."""
    with ctx.db.unit() as session:
        p = _need_person(session, person)
        existing = session.scalars(select(PersonRule).where(PersonRule.person == p.name).order_by(PersonRule.position))
        reqs = [
            RuleRequest(severities=r.severities, methods=r.methods, quiet_hours=r.quiet_hours, note=r.note)
            for r in existing
        ]
        _set_rules(session, p, [*reqs, req], ctx.clock.now())
        session.flush()
        return _person_view(session, p)


def _put_channel(session: Session, name: str, req: ChannelRequest, now: datetime) -> Channel:
    name = _channel_name(name)
    url = check_url(req.url)
    if req.fallback and req.fallback.strip() == name:
        raise Invalid(f"{name} cannot fall back to itself", field="fallback")
    c = session.get(Channel, name)
    if c is None:
        c = Channel(name=name, created_at=now, updated_at=now)
        session.add(c)
    c.url = url
    c.fallback = (req.fallback or "").strip() or None
    c.max_attempts = req.max_attempts
    c.rate_per_minute = req.rate_per_minute
    c.delivery = req.delivery
    c.description = req.description.strip()
    c.updated_at = now
    return c


def put_channel(ctx: Context, name: str, req: ChannelRequest) -> ChannelView:
    with ctx.db.unit() as session:
        return _channel_view(_put_channel(session, name, req, ctx.clock.now()))


def remove_channel(ctx: Context, name: str) -> None:
    with ctx.db.unit() as session:
        c = session.get(Channel, name.strip())
        if c is None:
            raise NotFound(f"no channel destination '{name}'", field="name")
        session.delete(c)


# --- the contacts file --------------------------------------------------------------------------


def parse_file(text: str, source: str = "contacts") -> ContactsFile:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise Invalid(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"{source}: expected a mapping with people: and channels:")
    try:
        return ContactsFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise Invalid(f"{source}: {where}: {first['msg']}", field=where) from None


def load(ctx: Context, path: str | Path) -> ContactsView:
    """Upsert every person and channel of the file; a person's methods and rules become exactly the file's."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise Invalid(f"cannot read contacts file {file}: {exc.strerror or exc}") from None
    spec = parse_file(text, str(file))
    with ctx.db.unit() as session:
        apply_file(session, spec, ctx.clock.now())
    return list_contacts(ctx)


def apply_file(session: Session, spec: ContactsFile, now: datetime) -> None:
    for name, ps in spec.people.items():
        p = _put_person(
            session, name, PersonRequest(display_name=ps.display_name, timezone=ps.timezone, fallback=ps.fallback), now
        )
        session.flush()
        session.execute(delete(ContactMethod).where(ContactMethod.person == p.name))
        for method, url in ps.methods.items():
            _put_method(session, p.name, method, url, now)
        _set_rules(session, p, ps.rules, now)
    for name, cs in spec.channels.items():
        _put_channel(session, name, cs, now)


# --- lookups for delivery -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Contact:
    """What routing and delivery need of one person: whether they are known, their time zone,
    methods, rules and fallback."""

    known: bool
    timezone: str
    methods: dict[str, str]
    rules: tuple[rules_mod.Rule, ...]
    fallback: str | None


MEMO = "warroom.contacts.memo"


def remember(session: Session) -> None:
    """Read each person's contacts once in this transaction (for work that does not change contacts,
    such as a chunk of engine firings reaching the same commander again and again)."""
    session.info[MEMO] = {}


def contact(session: Session, name: str) -> Contact:
    memo: dict[str, Contact] | None = session.info.get(MEMO)
    if memo is not None and name in memo:
        return memo[name]
    p = session.get(Person, name)
    methods = {m.method: m.url for m in session.scalars(select(ContactMethod).where(ContactMethod.person == name))}
    rows = session.scalars(select(PersonRule).where(PersonRule.person == name).order_by(PersonRule.position))
    rules = tuple(rules_mod.Rule(tuple(r.severities), tuple(r.methods), r.quiet_hours, r.note) for r in rows)
    if p is None:
        found = Contact(False, "UTC", methods, rules, None)
    else:
        found = Contact(True, p.timezone, methods, rules, p.fallback or None)
    if memo is not None:
        memo[name] = found
    return found
