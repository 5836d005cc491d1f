"""Prometheus Alertmanager's webhook (version 4): a notification for one group, with its alerts[]."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.intake import normal as n
from warroom.intake.normal import Incoming

ENVELOPE = ("version", "groupKey", "truncatedAlerts", "status", "receiver", "externalURL")


def parse(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
    body = n.obj(data, "body")
    version = n.scalar_text(body, "version", "")
    if version is not None and version != "4":
        raise n.PayloadError("version", f"Alertmanager webhook version '{version}' is not supported; send version 4")
    return alerts(body, "alertmanager")


def alerts(body: dict[str, Any], source: str) -> list[Incoming]:
    """Shared with Grafana, whose unified alerting sends the same envelope with a few extra fields."""
    items = n.array(body.get("alerts"), "alerts")
    if not items:
        raise n.PayloadError("alerts", "is empty; a notification carries at least one alert")
    group_status = n.status_word(n.string(body, "status", ""), "status")
    common = n.labels(body.get("commonLabels"), "commonLabels")
    common_ann = n.labels(body.get("commonAnnotations"), "commonAnnotations")
    external = n.string(body, "externalURL", "")
    envelope = {k: body[k] for k in ENVELOPE if k in body}
    out = []
    for i, item in enumerate(items):
        path = f"alerts.{i}"
        a = n.obj(item, path)
        # Alertmanager's commonLabels are in every alert's labels; a hand-written payload may omit them there.
        lbls = {**common, **n.labels(a.get("labels"), f"{path}.labels")}
        ann = {**common_ann, **n.labels(a.get("annotations"), f"{path}.annotations")}
        status = n.status_word(n.string(a, "status", path), f"{path}.status", default=group_status)
        fp = n.fingerprint(n.string(a, "fingerprint", path), f"{path}.fingerprint") if a.get("fingerprint") else None
        summary = ann.get("summary") or ann.get("message") or ann.get("description") or lbls.get("alertname") or ""
        if not summary:
            raise n.PayloadError(f"{path}.labels.alertname", "is required when the alert has no summary annotation")
        raw = {**envelope, "alert": a}
        out.append(
            Incoming(
                source=source,
                fingerprint=fp or n.label_fingerprint(lbls),
                status=status,
                summary=n.short(summary),
                description=ann.get("description", ""),
                service=n.service_of(lbls),
                labels=lbls,
                severity_hint=lbls.get("severity") or lbls.get("priority"),
                metric=lbls.get("metric") or ann.get("metric"),
                value=n.number(ann.get("value") or ann.get("current_value"), f"{path}.annotations.value"),
                threshold=ann.get("threshold") or lbls.get("threshold"),
                users=n.count(ann.get("users_affected"), f"{path}.annotations.users_affected"),
                links=n.links(
                    n.link(a.get("generatorURL"), "source"),
                    n.link(ann.get("runbook_url"), "runbook"),
                    n.link(ann.get("dashboard_url") or a.get("dashboardURL"), "dashboard"),
                    n.link(a.get("panelURL"), "panel"),
                    n.link(a.get("silenceURL"), "silence"),
                    n.link(external, source),
                ),
                starts_at=n.timestamp(a, "startsAt", path),
                ends_at=n.timestamp(a, "endsAt", path),
                raw=raw,
            )
        )
    return out
