"""Prometheus Alertmanager's webhook (version 4): a notification for one group, with its alerts[]."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
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
    """Shared with Grafana, whose unified alerting sends the same envelope with a few extra fields.

    A storm is mostly this loop, so it names a culprit's path only when it refuses one, and reads a
    timestamp that its neighbours share once.
    """
    items = n.array(body.get("alerts"), "alerts")
    if not items:
        raise n.PayloadError("alerts", "is empty; a notification carries at least one alert")
    group_status = n.status_word(n.string(body, "status", ""), "status")
    common = n.labels(body.get("commonLabels"), "commonLabels")
    common_ann = n.labels(body.get("commonAnnotations"), "commonAnnotations")
    external = n.link(n.string(body, "externalURL", ""), source)
    envelope = {k: body[k] for k in ENVELOPE if k in body}
    times: dict[Any, datetime | None] = {}
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_one(item, source, group_status, common, common_ann, external, envelope, times))
        except n.PayloadError as exc:
            raise n.PayloadError(f"alerts.{i}.{exc.field}" if exc.field else f"alerts.{i}", exc.message) from None
    return out


def _one(item: Any, source: str, group_status: str, common: dict[str, str], common_ann: dict[str, str],
         external: dict[str, str] | None, envelope: dict[str, Any],
         times: dict[Any, datetime | None]) -> Incoming:  # fmt: skip
    """One alert of the envelope; a refusal names the field relative to the alert."""
    a = n.obj(item, "")
    get = a.get
    # Alertmanager's commonLabels are in every alert's labels; a hand-written payload may omit them there.
    own = n.labels(get("labels"), "labels")
    lbls = {**common, **own} if common else own
    ann = {**common_ann, **n.labels(get("annotations"), "annotations")}
    word = get("status")
    if word == "firing" or word == "resolved":
        status = word
    else:
        status = group_status if word is None or word == "" else n.status_word(n.string(a, "status", ""), "status")
    fp = get("fingerprint")
    if not fp:
        fp = n.label_fingerprint(lbls)
    elif type(fp) is not str or len(fp) > n.FINGERPRINT_LIMIT:
        fp = n.fingerprint(n.string(a, "fingerprint", ""), "fingerprint")
    summary = ann.get("summary") or ann.get("message") or ann.get("description") or lbls.get("alertname") or ""
    if not summary:
        raise n.PayloadError("labels.alertname", "is required when the alert has no summary annotation")
    links: list[dict[str, str]] = []
    href = get("generatorURL")
    if href:
        _link(links, href, "source")
    href = ann.get("runbook_url")
    if href:
        _link(links, href, "runbook")
    href = ann.get("dashboard_url") or get("dashboardURL")
    if href:
        _link(links, href, "dashboard")
    href = get("panelURL")
    if href:
        _link(links, href, "panel")
    href = get("silenceURL")
    if href:
        _link(links, href, "silence")
    if external:
        links.append(external)
    value = ann.get("value") or ann.get("current_value")
    users = ann.get("users_affected")
    return Incoming(
        source,
        fp,
        status,
        n.short(summary),
        n.service_of(lbls),
        lbls,
        lbls.get("severity") or lbls.get("priority"),
        ann.get("description", ""),
        lbls.get("metric") or ann.get("metric"),
        None if value is None else n.number(value, "annotations.value"),
        ann.get("threshold") or lbls.get("threshold"),
        None if users is None else n.count(users, "annotations.users_affected"),
        links,
        _time(a, "startsAt", times),
        _time(a, "endsAt", times),
        {**envelope, "alert": a},
    )


def _link(links: list[dict[str, str]], href: Any, text: str) -> None:
    found = n.link(href, text)
    if found:
        links.append(found)


def _time(a: dict[str, Any], key: str, seen: dict[Any, datetime | None]) -> datetime | None:
    value = a.get(key)
    if not isinstance(value, str):
        return n.timestamp(a, key, "")
    if value not in seen:
        seen[value] = n.timestamp(a, key, "")
    return seen[value]
