"""Grafana unified alerting's webhook contact point: Alertmanager's envelope plus values and panel links."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.intake import normal as n
from warroom.intake.normal import Incoming
from warroom.intake.parsers.alertmanager import alerts


def parse(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
    body = n.obj(data, "body")
    out = alerts(body, "grafana")
    for i, item in enumerate(out):
        a = body["alerts"][i]
        values = a.get("values")
        if values is not None:
            vals = n.obj(values, f"alerts.{i}.values")
            for ref, value in vals.items():
                # The first query's value; later refs are usually reductions and the threshold condition.
                item.value = item.value if item.value is not None else n.number(value, f"alerts.{i}.values.{ref}")
                if item.metric is None:
                    item.metric = item.labels.get("__name__") or ref
                break
    return out
