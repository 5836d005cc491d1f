"""Slugs and the one input policy every string people or senders supply passes before it is stored.

People (API, web, CLI) get a refusal naming the field, because they can fix what they typed; a
sender's alert text is cleaned instead, because refusing it would lose a page over a stray byte.
"""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")

ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad"
"""characters that take no space: zero-width space/joiners, word joiner, BOM, Mongolian vowel separator, soft hyphen"""
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
"""embeddings, overrides and isolates: they reorder the text around them (U+202E makes 'exe.txt' of 'txt.exe')"""
_INVISIBLE = frozenset(ZERO_WIDTH)
_SENDER_JUNK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "\ud800-\udfff]")
_SENDER_JUNK_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029" + BIDI_CONTROLS + "\ud800-\udfff]")


def slugify(title: str, limit: int = 48) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    slug = _NON_WORD.sub("-", ascii_title.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0] or slug[:limit]
    return slug or "incident"


class TextError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def visible(text: str) -> bool:
    """True when something is left after removing whitespace and zero-width characters."""
    return any(not ch.isspace() and ch not in _INVISIBLE for ch in text)


def _refuse_junk(field: str, text: str, *, multiline: bool, name: bool) -> None:
    allowed = "\n\t" if multiline else ""
    for ch in text:
        code = ord(ch)
        if 0xD800 <= code <= 0xDFFF:
            raise TextError(field, f"contains the lone surrogate U+{code:04X}, which is not a character")
        category = unicodedata.category(ch)
        if category == "Cc" and ch not in allowed:
            raise TextError(field, f"contains the control character U+{code:04X}")
        if ch in BIDI_CONTROLS:
            raise TextError(field, f"contains the bidirectional control U+{code:04X}, which reorders the text")
        if ch in "\u2028\u2029" and not multiline:
            raise TextError(field, f"contains the line separator U+{code:04X}; this field is one line")
        if name and (category == "Cf" or ch in _INVISIBLE or (ch.isspace() and ch != " ")):
            raise TextError(field, f"contains the invisible character U+{code:04X}; a name is letters, digits, "
                                   "punctuation and single spaces")  # fmt: skip


def clean_text(field: str, value: str, *, limit: int, required: bool = True, multiline: bool = False) -> str:
    """Free text people type: NFC, trimmed; control, bidirectional-control and surrogate characters refused.

    Empty means empty after removing whitespace and zero-width characters; an optional field that is
    only those comes back as "".
    """
    _refuse_junk(field, value, multiline=multiline, name=False)
    text = unicodedata.normalize("NFC", value).strip()
    if not visible(text):
        if required:
            raise TextError(field, "must not be empty (whitespace and zero-width characters do not count)")
        return ""
    if len(text) > limit:
        raise TextError(field, f"is {len(text)} characters long; the limit is {limit}")
    return text


def clean_name(field: str, value: str, *, limit: int) -> str:
    """A name or identifier (a person, a service, a strategy): one line, and no invisible character at all."""
    text = value.strip()
    _refuse_junk(field, text, multiline=False, name=True)
    text = unicodedata.normalize("NFC", text)
    if not text:
        raise TextError(field, "must not be empty")
    if len(text) > limit:
        raise TextError(field, f"is {len(text)} characters long; the limit is {limit}")
    return text


def clean_list(field: str, values: list[str], *, limit: int, items: int) -> list[str]:
    """A bounded list of names: each cleaned as a name, duplicates dropped, at most `items` of them."""
    if len(values) > items:
        raise TextError(field, f"has {len(values)} entries; the limit is {items}")
    out: list[str] = []
    for i, v in enumerate(values):
        name = clean_name(f"{field}.{i}", v, limit=limit)
        if name not in out:
            out.append(name)
    return out


def sender_text(value: str, *, multiline: bool = False) -> str:
    """A sender's text, cleaned rather than refused: NFC, with control, bidirectional-control and
    surrogate characters removed (a line's breaks become spaces). Untouched when already clean."""
    junk = _SENDER_JUNK if multiline else _SENDER_JUNK_LINE
    if junk.search(value):
        value = junk.sub(lambda m: " " if m.group() in "\n\r\t\u2028\u2029" else "", value)
    if not value.isascii() and not unicodedata.is_normalized("NFC", value):
        value = unicodedata.normalize("NFC", value)
    return value


def sender_clean(value: str, *, line: bool = False) -> bool:
    """True when `sender_text` would leave the text as it is (the usual case, checked at C speed)."""
    junk = _SENDER_JUNK_LINE if line else _SENDER_JUNK
    return junk.search(value) is None and (value.isascii() or unicodedata.is_normalized("NFC", value))
