"""Applying a stored Alertmanager body the fast way makes exactly the alerts the parser makes.

When a request is applied, `alertmanager.fast` decodes its body with the quick check's msgspec
schema straight into alerts instead of decoding it to Python objects and walking them. Whatever it
takes, the parser (then `normal.scrub`) must make the same alerts of: every field, the raw payload
decoded alike; whatever the parser refuses, the fast way leaves to the parser. Bodies are
Alertmanager's shape with fields changed, removed or added, written as ASCII with escapes and as
UTF-8 (the fast way skips the text cleaning only for clean ASCII).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings

from tests.unit.test_quick_check import webhooks
from warroom.intake.normal import Incoming, PayloadError
from warroom.intake.parsers import PARSERS, alertmanager, parse_body

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"


def slow(body: bytes) -> list[Incoming] | None:
    try:
        return PARSERS["alertmanager"](orjson.loads(body), {})
    except PayloadError:
        return None


def fields(items: list[Incoming] | None) -> list[dict[str, Any]] | None:
    """Each alert's fields, the raw payload decoded (the fast way keeps the sender's JSON text)."""
    if items is None:
        return None
    out = []
    for item in items:
        found = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
        if isinstance(found["raw"], bytes):
            found["raw"] = orjson.loads(found["raw"])
        out.append(found)
    return out


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(webhooks())
def test_the_fast_way_makes_what_the_parser_makes(hook: Any) -> None:
    for body in (json.dumps(hook).encode(), json.dumps(hook, ensure_ascii=False).encode()):
        fast = alertmanager.fast(body)
        if fast is not None:
            assert fields(fast) == fields(slow(body))


def test_alertmanagers_own_shape_and_text_to_clean_take_the_fast_way() -> None:
    body = (PAYLOADS / "alertmanager.json").read_bytes()
    hook = json.loads(body)
    assert fields(alertmanager.fast(body)) == fields(slow(body)) and len(alertmanager.fast(body) or []) == 2
    hook["alerts"][0]["annotations"]["summary"] = "disk \u202efull\u0007 on\u00a0db-1"  # bidi, BEL, NBSP
    hook["alerts"][1]["labels"]["service"] = "cafe\u0301"  # not NFC
    for dirty in (json.dumps(hook).encode(), json.dumps(hook, ensure_ascii=False).encode()):
        fast = alertmanager.fast(dirty)
        assert fast is not None and fields(fast) == fields(slow(dirty))
        assert "\u202e" not in fast[0].summary and fast[1].service == "caf\u00e9"


def test_a_body_only_the_parser_can_tell_about_goes_to_it() -> None:
    hook = json.loads((PAYLOADS / "alertmanager.json").read_text())
    hook["alerts"][0]["status"] = "FIRING"  # the parser takes it; the schema does not
    body = json.dumps(hook).encode()
    assert alertmanager.fast(body) is None
    assert fields(parse_body("alertmanager", body, {})) == fields(slow(body))
