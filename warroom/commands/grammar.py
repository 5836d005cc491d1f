"""The words of `/incident ...`, parsed once for every face that takes a line of text.

Pure: no I/O, no policy. Names the service calls need (a severity, a role) are checked by the use
case; what only the grammar knows (an unbalanced quote, a confidence that is not a number) is refused here.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from dataclasses import dataclass

from warroom.domain.errors import Invalid

INCIDENT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d{8}-\d{1,9}$")
SMART_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})
"""phones and Slack turn typed quotes into curly ones"""
STATUSES = ("investigating", "identified", "mitigated")
WORKED = {"worked": True, "works": True, "ok": True, "yes": True, "failed": False, "fail": False, "no": False}
MENTION = re.compile(r"^<@([A-Za-z0-9._-]+)(?:\|([^>]*))?>$")
"""Slack's escaped mention, <@U123|name>"""
LINE_LIMIT = 4000

VERBS = {
    "declare": 'declare SEVERITY "title"',
    "ack": "ack [INC]",
    "update": 'update [INC] "text"',
    "status": "status [INC] [investigating|identified|mitigated]",
    "role": "role [INC] ROLE @user",
    "hypothesis": 'hypothesis [INC] "text" [CONFIDENCE]',
    "mitigate": "mitigate [INC] STRATEGY [worked|failed]",
    "resolve": "resolve [INC]",
    "show": "show [INC]",
    "list": "list",
    "help": "help",
}
CHANGES = frozenset({"declare", "ack", "update", "status", "role", "hypothesis", "mitigate", "resolve"})
"""verbs that change the record (they need the responder role and answer in the channel)"""


@dataclass(frozen=True)
class Command:
    verb: str
    incident: str | None = None
    severity: str = ""
    text: str = ""
    status: str = ""
    role: str = ""
    person: str = ""
    mention: str = ""
    """a chat user id the person was mentioned by (Slack's <@U123>), to look up"""
    confidence: int = 50
    strategy: str = ""
    worked: bool = True

    @property
    def changes(self) -> bool:
        return self.verb in CHANGES


def usage() -> str:
    return "\n".join(f"/incident {form}" for form in VERBS.values())


def _refuse(detail: str, field: str = "text") -> Invalid:
    return Invalid(detail, field=field)


def words(line: str) -> list[str]:
    """Split like a shell: quotes keep a title together; an unclosed quote is refused."""
    text = line.translate(SMART_QUOTES).strip()
    if len(text) > LINE_LIMIT:
        raise _refuse(f"the command is longer than {LINE_LIMIT} characters")
    try:
        return shlex.split(text)
    except ValueError:
        raise _refuse('a quote is not closed; put the text between two " marks') from None


def incident_id(word: str) -> str | None:
    """An incident id (INC-20260507-0001, any case) or None."""
    return word.upper() if INCIDENT_ID.match(word) else None


def person(word: str) -> tuple[str, str]:
    """(name, chat user id) of `@alice`, `alice` or Slack's `<@U123|alice>`; the id is '' unless mentioned."""
    found = MENTION.match(word)
    if found:
        return (found.group(2) or "").lstrip("@"), found.group(1)
    return word.lstrip("@"), ""


def role_key(roles: Iterable[str], word: str) -> str | None:
    """A policy role by its key, or by one word of it (`commander` is incident-commander); None if unknown
    or ambiguous."""
    wanted = word.strip().lower().replace("_", "-")
    keys = list(roles)
    if wanted in keys:
        return wanted
    partial = [k for k in keys if wanted in k.split("-")]
    return partial[0] if len(partial) == 1 else None


def confidence(word: str) -> int:
    value = word.rstrip("%")
    if not value.isdigit() or not 0 <= int(value) <= 100:
        raise _refuse(f"confidence must be a number from 0 to 100, not '{word[:20]}'", "confidence")
    return int(value)


def outcome(word: str) -> bool:
    """worked (the default) or failed: how a mitigation attempt went."""
    try:
        return WORKED[word.lower()]
    except KeyError:
        raise _refuse(f"say whether it worked or failed, not '{word[:20]}'", "worked") from None


def parse(line: str) -> Command:
    """One command line (what follows `/incident`)."""
    parts = words(line)
    if not parts:
        return Command("help")
    verb, args = parts[0].lower(), parts[1:]
    if verb not in VERBS:
        raise _refuse(f"unknown command '{parts[0][:30]}'; try: {', '.join(VERBS)}", "command")
    if verb in ("help", "list"):
        if args:
            raise _refuse(f"{verb} takes nothing more; usage: /incident {VERBS[verb]}")
        return Command(verb)
    if verb == "declare":
        if len(args) < 2:
            raise _refuse(f"usage: /incident {VERBS['declare']}")
        return Command(verb, severity=args[0], text=" ".join(args[1:]))
    inc = incident_id(args[0]) if args else None
    if inc is not None:
        args = args[1:]
    return _rest(verb, inc, args)


def _rest(verb: str, inc: str | None, args: list[str]) -> Command:
    usage_line = f"usage: /incident {VERBS[verb]}"
    if verb in ("ack", "resolve", "show"):
        if args:
            raise _refuse(f"{verb} takes only an incident id; {usage_line}")
        return Command(verb, inc)
    if verb == "update":
        if not args:
            raise _refuse(usage_line)
        return Command(verb, inc, text=" ".join(args))
    if verb == "status":
        if len(args) > 1 or (args and args[0].lower() not in STATUSES):
            raise _refuse(f"status is one of {', '.join(STATUSES)}; {usage_line}", "status")
        return Command(verb, inc, status=args[0].lower() if args else "")
    if verb == "role":
        if len(args) != 2:
            raise _refuse(usage_line)
        name, mention = person(args[1])
        if not name and not mention:
            raise _refuse(f"say who: {usage_line}", "person")
        return Command(verb, inc, role=args[0], person=name, mention=mention)
    if verb == "hypothesis":
        if not args:
            raise _refuse(usage_line)
        if len(args) > 1 and args[-1].rstrip("%").isdigit():
            return Command(verb, inc, text=" ".join(args[:-1]), confidence=confidence(args[-1]))
        return Command(verb, inc, text=" ".join(args))
    # mitigate
    if not args or len(args) > 2:
        raise _refuse(usage_line)
    return Command(verb, inc, strategy=args[0], worked=outcome(args[1]) if len(args) == 2 else True)
