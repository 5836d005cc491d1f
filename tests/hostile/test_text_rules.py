"""The text rules as properties: whatever a person or a sender supplies, nothing stored carries junk."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warroom.domain.text import BIDI_CONTROLS, TextError, clean_name, clean_text, sender_text, visible

JUNKY = st.text(alphabet=st.characters(codec=None, categories=None), max_size=60) | st.text(
    alphabet="ab \n\t\x00\x07\u200b\u202e\u2066\ufeff\u00ad\ud800e\u0301", max_size=30
)


def junk_free(text: str, *, multiline: bool) -> bool:
    for ch in text:
        if 0xD800 <= ord(ch) <= 0xDFFF or ch in BIDI_CONTROLS:
            return False
        if unicodedata.category(ch) == "Cc" and not (multiline and ch in "\n\t"):
            return False
    return unicodedata.is_normalized("NFC", text)


@settings(max_examples=400, deadline=None)
@given(JUNKY, st.booleans())
def test_people_text_is_clean_or_refused(value: str, multiline: bool) -> None:
    try:
        text = clean_text("f", value, limit=100, multiline=multiline)
    except TextError as exc:
        assert exc.field == "f"
        return
    assert junk_free(text, multiline=multiline) and visible(text) and text == text.strip()


@settings(max_examples=400, deadline=None)
@given(JUNKY)
def test_names_have_nothing_invisible(value: str) -> None:
    try:
        name = clean_name("by", value, limit=100)
    except TextError:
        return
    assert junk_free(name, multiline=False)
    assert all(unicodedata.category(ch) != "Cf" and (not ch.isspace() or ch == " ") for ch in name)


@settings(max_examples=400, deadline=None)
@given(JUNKY, st.booleans())
def test_senders_text_is_cleaned_once_and_for_all(value: str, multiline: bool) -> None:
    once = sender_text(value, multiline=multiline)
    assert junk_free(once, multiline=multiline)
    assert sender_text(once, multiline=multiline) == once


@pytest.mark.parametrize("value", ["", "   ", "\u200b", "\u200b \ufeff\u2060", "\u00ad\n\t"])
def test_invisible_is_empty(value: str) -> None:
    with pytest.raises(TextError, match="must not be empty"):
        clean_text("title", value, limit=300, multiline=True)
    assert clean_text("summary", value, limit=300, required=False, multiline=True) == ""
