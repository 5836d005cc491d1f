"""Prometheus Alertmanager's webhook (version 4): a notification for one group, with its alerts[]."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import orjson

from warroom.domain.text import visible
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
    timestamp that its neighbours share once (`_stamp`).
    """
    items = n.array(body.get("alerts"), "alerts")
    if not items:
        raise n.PayloadError("alerts", "is empty; a notification carries at least one alert")
    group_status = n.status_word(n.string(body, "status", ""), "status")
    common = n.labels(body.get("commonLabels"), "commonLabels")
    common_ann = n.labels(body.get("commonAnnotations"), "commonAnnotations")
    external = n.link(n.string(body, "externalURL", ""), source)
    envelope = {k: body[k] for k in ENVELOPE if k in body}
    out = []
    for i, item in enumerate(items):
        try:
            out.append(_one(item, source, group_status, common, common_ann, external, envelope))
        except n.PayloadError as exc:
            raise n.PayloadError(f"alerts.{i}.{exc.field}" if exc.field else f"alerts.{i}", exc.message) from None
    return out


def _one(item: Any, source: str, group_status: str, common: dict[str, str], common_ann: dict[str, str],
         external: dict[str, str] | None, envelope: dict[str, Any]) -> Incoming:  # fmt: skip
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
    return Incoming(
        source,
        fp,
        status,
        n.short(_summary(lbls, ann)),
        n.service_of(lbls),
        lbls,
        lbls.get("severity") or lbls.get("priority"),
        ann.get("description", ""),
        lbls.get("metric") or ann.get("metric"),
        _value(ann),
        ann.get("threshold") or lbls.get("threshold"),
        _users(ann),
        links,
        _time(a, "startsAt"),
        _time(a, "endsAt"),
        {**envelope, "alert": a},
    )


def _summary(lbls: dict[str, str], ann: dict[str, str]) -> str:
    for found in (ann.get("summary"), ann.get("message"), ann.get("description"), lbls.get("alertname")):
        if found and (bool(found.strip()) if found.isascii() else visible(found)):  # ASCII: as `visible`, in C
            return found
    raise n.PayloadError("labels.alertname", "is required when the alert has no visible summary annotation")


def _value(ann: dict[str, str]) -> float | None:
    value = ann.get("value") or ann.get("current_value")
    return None if value is None else n.number(value, "annotations.value")


def _users(ann: dict[str, str]) -> int | None:
    users = ann.get("users_affected")
    return None if users is None else n.count(users, "annotations.users_affected")


def _link(links: list[dict[str, str]], href: Any, text: str) -> None:
    found = n.link(href, text)
    if found:
        links.append(found)


def _time(a: dict[str, Any], key: str) -> datetime | None:
    value = a.get(key)
    return _stamp(key, value) if isinstance(value, str) else n.timestamp(a, key, "")


@functools.lru_cache(maxsize=4096)
def _stamp(key: str, value: str) -> datetime | None:
    """A timestamp text, read once however many alerts share it (a refusal is not kept)."""
    return n.timestamp({key: value}, key, "")


# --- the quick check on the way in --------------------------------------------------------------
#
# A webhook is answered once its body is committed; the alerts are parsed again when they are
# applied. On the way in it is enough to know that `parse` will take the body, and how many alerts
# it holds. For the shape Alertmanager itself sends, msgspec checks that against the schema below
# in C, several times faster than decoding and walking it in Python. The schema is at least as
# strict as `parse` (tests/unit/test_quick_check.py holds it to that): anything else, an unknown
# field included, goes the slow way, which also names the culprit in its refusal. Every field is
# flat, so a body that passes cannot nest deeper than its stored form may.

_Name = Annotated[str, msgspec.Meta(max_length=n.LABEL_NAME_LIMIT)]
_Text = Annotated[str, msgspec.Meta(max_length=n.LABEL_VALUE_LIMIT)]
_Labels = Annotated[dict[_Name, _Text], msgspec.Meta(max_length=n.LABELS_LIMIT)]
_Status = Literal["firing", "resolved", ""]


_Unset = msgspec.UnsetType
UNSET = msgspec.UNSET
"""a field the body left out (kept apart from an explicit null: the stored envelope keeps what was sent)"""


class _Alert(msgspec.Struct, forbid_unknown_fields=True):
    labels: _Labels | _Unset | None = UNSET
    annotations: _Labels | _Unset | None = UNSET
    status: _Status | _Unset | None = UNSET
    startsAt: str | _Unset | None = UNSET
    endsAt: str | _Unset | None = UNSET
    generatorURL: str | _Unset | None = UNSET
    fingerprint: Annotated[str, msgspec.Meta(max_length=n.FINGERPRINT_LIMIT)] | _Unset | None = UNSET


class _Webhook(msgspec.Struct, forbid_unknown_fields=True):
    alerts: Annotated[list[_Alert], msgspec.Meta(min_length=1)]
    version: Literal["4", ""] | _Unset | None = UNSET
    groupKey: str | _Unset | None = UNSET
    truncatedAlerts: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | _Unset | None = UNSET
    status: _Status | _Unset | None = UNSET
    receiver: str | _Unset | None = UNSET
    groupLabels: _Labels | _Unset | None = UNSET
    commonLabels: _Labels | _Unset | None = UNSET
    commonAnnotations: _Labels | _Unset | None = UNSET
    externalURL: str | _Unset | None = UNSET


class _AsSent(msgspec.Struct):
    """Each alert's JSON text as the sender wrote it (the rest of the body is skipped)."""

    alerts: list[msgspec.Raw]


_decoder = msgspec.json.Decoder(_Webhook)
_as_sent = msgspec.json.Decoder(_AsSent)


def check(body: bytes) -> int | None:
    """How many alerts `parse` will take from this body, or None when only `parse` itself can tell."""
    try:
        hook = _decoder.decode(body)
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        return None
    common = hook.commonLabels or {}
    common_ann = hook.commonAnnotations or {}
    try:
        for a in hook.alerts:
            own = a.labels or {}
            ann = {**common_ann, **a.annotations} if a.annotations else common_ann
            _summary({**common, **own} if common else own, ann)
            _value(ann)
            _users(ann)
            if a.startsAt:
                _stamp("startsAt", a.startsAt)
            if a.endsAt:
                _stamp("endsAt", a.endsAt)
    except n.PayloadError:
        return None
    return len(hook.alerts)


# --- applying: the same schema, decoded straight into alerts ------------------------------------
#
# When a request is applied its body is parsed again. For the shape the quick check takes, `fast`
# decodes it with the same schema in C and builds each alert from the typed fields, with exactly
# what `parse` (and `normal.scrub` after it) would make of them; the raw payload is kept as the
# sender's own JSON text. tests/intake/test_fast_parse.py holds it to that.


@functools.lru_cache(maxsize=4096)
def _number(value: str) -> float | None:
    return n.number(value, "annotations.value")


@functools.lru_cache(maxsize=4096)
def _count(value: str) -> int | None:
    return n.count(value, "annotations.users_affected")


_ESCAPE = re.compile(rb"\\[ubfnrt]")
"""a JSON escape of a control or non-ASCII character (else only quotes and slashes are escaped)"""


def _clean(body: bytes) -> bool:
    """ASCII without DEL or an escape that could stand for a control or non-ASCII character: three scans in C,
    each a memchr-like pass (one alternation over every byte took 8 µs an alert, most of a fast parse)."""
    return body.isascii() and b"\x7f" not in body and _ESCAPE.search(body) is None


def _short(text: str) -> str:
    """`normal.short` of clean ASCII text."""
    value = " ".join(text.split())
    return value if len(value) <= n.SUMMARY_LIMIT else value[: n.SUMMARY_LIMIT - 1] + "…"


def fast(body: bytes, source: str = "alertmanager") -> list[Incoming] | None:
    """The alerts `parse` then `normal.scrub` make of this body, or None when only `parse` can tell."""
    try:
        hook = _decoder.decode(body)
        sent = _as_sent.decode(body).alerts
    except (msgspec.DecodeError, RecursionError):
        return None
    if len(sent) != len(hook.alerts):
        return None
    # ASCII without DEL or an escape that could stand for a control or non-ASCII character holds no
    # character `scrub` would change: it is skipped, and a summary only has its spaces collapsed.
    clean = _clean(body)
    group_status = hook.status or "firing"
    common = hook.commonLabels or {}
    common_ann = hook.commonAnnotations or {}
    ext = hook.externalURL
    external = {"href": ext[:2000], "text": source} if ext else None
    envelope = {k: v for k in ENVELOPE if (v := getattr(hook, k)) is not UNSET}
    head = orjson.dumps(envelope)[:-1] + (b',"alert":' if envelope else b'"alert":')
    out: list[Incoming] = []
    short, service_of, scrub = n.short, n.service_of, n.scrub
    try:
        for a, text in zip(hook.alerts, sent, strict=True):
            own = a.labels or {}
            lbls = {**common, **own} if common else own
            ann = {**common_ann, **a.annotations} if a.annotations else common_ann
            status = a.status or group_status
            fp = a.fingerprint or n.label_fingerprint(lbls)
            links: list[dict[str, str]] = []
            if a.generatorURL:
                links.append({"href": a.generatorURL[:2000], "text": "source"})
            if href := ann.get("runbook_url"):
                links.append({"href": href[:2000], "text": "runbook"})
            if href := ann.get("dashboard_url"):
                links.append({"href": href[:2000], "text": "dashboard"})
            if external:
                links.append(external)
            value = ann.get("value") or ann.get("current_value")
            users = ann.get("users_affected")
            starts, ends = a.startsAt, a.endsAt
            item = Incoming(
                source,
                fp,
                status,
                _short(_summary(lbls, ann)) if clean else short(_summary(lbls, ann)),
                service_of(lbls),
                lbls,
                lbls.get("severity") or lbls.get("priority"),
                ann.get("description", ""),
                lbls.get("metric") or ann.get("metric"),
                None if value is None else _number(value),
                ann.get("threshold") or lbls.get("threshold"),
                None if users is None else _count(users),
                links,
                _stamp("startsAt", starts) if isinstance(starts, str) else None,
                _stamp("endsAt", ends) if isinstance(ends, str) else None,
                b"".join((head, text, b"}")),
            )
            out.append(item if clean else scrub(item))
    except n.PayloadError:
        return None
    return out
