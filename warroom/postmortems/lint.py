"""The blameless check: warnings (never refusals) on blaming language and on vague action items.

The runbooks ask for a postmortem that names systems, not people, and for action items a reader
can verify as done; this points at the lines that fall short and says why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from warroom.domain import actors
from warroom.postmortems.schemas import LintWarning

_BLAME_PHRASES: tuple[tuple[str, str], ...] = (
    (r"\bhuman error\b", "'human error' stops the analysis at a person; ask what let the mistake through"),
    (r"\b(?:his|her|their)\s+fault\b|\w's fault\b", "assigns fault to a person"),
    (r"\bfault of\b", "assigns fault"),
    (r"\bto blame\b|\bblame[sd]?\b", "blames someone"),
    (r"\bcareless(?:ly|ness)?\b|\bnegligen(?:t|ce)\b|\bsloppy\b|\bincompeten(?:t|ce)\b", "judges a person"),
    (r"\b(?:he|she)\s+(?:should|shouldn't|should not)\s+have\b", "second-guesses a person"),
    (r"\bshould have known\b", "hindsight aimed at a person"),
)
_PERSON_VERBS = r"(?:forgot|failed to|broke|messed up|screwed up|didn't|did not|neglected|ignored|caused)"

_VAGUE_PHRASES: tuple[str, ...] = (
    r"\bbe (?:more )?careful\b",
    r"\bimprove (?:the )?(?:monitoring|alerting|testing|tests|documentation|docs|process|communication)\b",
    r"\bbetter (?:monitoring|alerting|testing|tests|documentation|docs|process|communication)\b",
    r"\bmore (?:monitoring|alerting|testing|tests)\b",
    r"\b(?:look into|investigate|think about|consider|revisit)\b",
    r"\bmake sure\b|\bensure\b",
    r"\bbe more\b|\btry to\b|\bdouble[- ]check\b",
)
_CONCRETE = re.compile(r"\d|`|https?://|\b(?:when|if|alert|page|test|runbook|dashboard|limit|timeout|canary)\b", re.I)
"""a number, a code name, a link or a named mechanism: what makes an item checkable"""


def blame(text: str, people: Iterable[str] = ()) -> list[LintWarning]:
    """Lines whose language aims at a person rather than at the system."""
    names = [re.escape(p) for p in people if actors.is_person(p)]
    person = re.compile(rf"\b(?:{'|'.join(names)})\b(?:'s)?\s+{_PERSON_VERBS}", re.I) if names else None
    out: list[LintWarning] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern, why in _BLAME_PHRASES:
            if re.search(pattern, line, re.I):
                out.append(LintWarning(rule="blame", where=f"line {number}", text=line.strip(), why=why))
                break
        else:
            if person is not None and person.search(line):
                out.append(
                    LintWarning(
                        rule="blame",
                        where=f"line {number}",
                        text=line.strip(),
                        why="names a person as the cause; describe what the system allowed instead",
                    )
                )
    return out


def vague(item: str) -> str | None:
    """Why an action item cannot be verified as done, or None when it reads as specific."""
    for pattern in _VAGUE_PHRASES:
        found = re.search(pattern, item, re.I)
        if found and not _CONCRETE.search(item):
            return f"'{found.group(0)}' is not verifiable; say what changes, where, and how anyone checks it is done"
    if len(item.split()) < 4 and not _CONCRETE.search(item):
        return "too short to verify; name the change, the system and the check"
    return None


def items(texts: Iterable[tuple[str, str]]) -> list[LintWarning]:
    """Vague action items, each named by where it lives (an item id or a line)."""
    out = []
    for where, text in texts:
        why = vague(text)
        if why:
            out.append(LintWarning(rule="vague", where=where, text=text, why=why))
    return out
