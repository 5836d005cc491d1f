"""One parser per sender, each turning a decoded JSON body into normalised alerts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from warroom.intake.normal import Incoming
from warroom.intake.parsers import alertmanager, datadog, generic, grafana, pagerduty, sentry

Parser = Callable[[Any, Mapping[str, str]], list[Incoming]]

PARSERS: dict[str, Parser] = {
    "alertmanager": alertmanager.parse,
    "grafana": grafana.parse,
    "datadog": datadog.parse,
    "sentry": sentry.parse,
    "pagerduty-events-v2": pagerduty.parse,
    "generic": generic.parse,
}
SOURCES = tuple(PARSERS)
CHECKS: dict[str, Callable[[bytes], int | None]] = {"alertmanager": alertmanager.check}
"""quick checks of a raw body on the way in: how many alerts its parser will take, or None to parse it"""
