"""Slugs and the checks every human-typed string passes before it is stored."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[^a-z0-9]+")


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


def clean_text(field: str, value: str, *, limit: int, required: bool = True, multiline: bool = False) -> str:
    """Trim, then refuse empty, over-long or control-character text with a sentence naming the field."""
    text = value.strip()
    if required and not text:
        raise TextError(field, "must not be empty")
    if len(text) > limit:
        raise TextError(field, f"is {len(text)} characters long; the limit is {limit}")
    allowed = "\n\t" if multiline else ""
    for ch in text:
        if unicodedata.category(ch) == "Cc" and ch not in allowed:
            raise TextError(field, f"contains the control character U+{ord(ch):04X}")
    return text
