"""One parser per sender, each turning a decoded JSON body into normalised alerts, cleaned the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from warroom.intake.normal import Incoming, scrub
from warroom.intake.parsers import alertmanager, datadog, generic, grafana, pagerduty, sentry

Parser = Callable[[Any, Mapping[str, str]], list[Incoming]]


def _scrubbed(parse: Parser) -> Parser:
    """The sender's parser, then the one text policy for every sender (`normal.scrub`)."""

    def run(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
        return [scrub(item) for item in parse(data, headers)]

    run.__doc__ = parse.__doc__
    return run


PARSERS: dict[str, Parser] = {
    "alertmanager": _scrubbed(alertmanager.parse),
    "grafana": _scrubbed(grafana.parse),
    "datadog": _scrubbed(datadog.parse),
    "sentry": _scrubbed(sentry.parse),
    "pagerduty-events-v2": _scrubbed(pagerduty.parse),
    "generic": _scrubbed(generic.parse),
}
SOURCES = tuple(PARSERS)
CHECKS: dict[str, Callable[[bytes], int | None]] = {"alertmanager": alertmanager.check}
"""quick checks of a raw body on the way in: how many alerts its parser will take, or None to parse it"""
FAST: dict[str, Callable[[bytes], list[Incoming] | None]] = {"alertmanager": alertmanager.fast}
"""stored bodies decoded straight into alerts when a request is applied, or None to parse them"""


def parse_body(source: str, body: bytes, headers: Mapping[str, str]) -> list[Incoming]:
    """A stored request's alerts, as its source's parser makes them (raises what the parser raises)."""
    fast = FAST.get(source)
    if fast is not None:
        items = fast(body)
        if items is not None:
            return items
    return PARSERS[source](orjson.loads(body), headers)
