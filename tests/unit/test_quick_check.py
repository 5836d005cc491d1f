"""The quick check on the way in never lets through a body the Alertmanager parser would refuse.

A webhook is answered once its body is committed and parsed again when it is applied; on the way
in, `alertmanager.check` stands in for the parser. If it ever said yes where `parse` says no, an
accepted request would fail behind the answer. So: whatever it takes, `parse` takes too, with the
same number of alerts, and the body nests no deeper than its stored form may.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warroom.api.alerts import _too_deep
from warroom.intake.normal import PayloadError
from warroom.intake.parsers import alertmanager

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"

text = st.text(max_size=12)
oddballs = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
                     st.lists(st.integers(), max_size=2), st.dictionaries(text, st.integers(), max_size=2))  # fmt: skip
long_name = st.just("n" * 201)
long_value = st.just("v" * 2001)
label_maps = st.one_of(
    st.dictionaries(text, text, max_size=5),
    st.dictionaries(st.one_of(text, long_name), st.one_of(text, long_value, oddballs), max_size=4),
    st.builds(lambda n: {f"k{i}": "v" for i in range(n)}, st.sampled_from([199, 200, 201])),
    oddballs,
)
annotation_maps = st.one_of(
    label_maps,
    st.fixed_dictionaries(
        {},
        optional={
            "summary": st.one_of(text, st.just("")),
            "message": text,
            "description": text,
            "value": st.sampled_from(["12%", " 3.5 ", "", "abc", "1e3", "nan", "12 %"]),
            "current_value": st.sampled_from(["7", "x"]),
            "users_affected": st.sampled_from(["5", "-1", "1.5", "x", "", "0"]),
        },
    ),
)
statuses = st.one_of(st.sampled_from(["firing", "resolved", "", "FIRING", "Resolved", "pending"]), oddballs)
times = st.one_of(
    st.sampled_from([
        "2026-05-07T14:12:30Z", "2026-05-07T14:12:30.123456789Z", "0001-01-01T00:00:00Z", "2026-05-07T14:12:30",
        "2026-05-07T16:12:30+02:00", "yesterday", "", "1700000000", "2026-13-40T00:00:00Z",
    ]),
    st.integers(0, 2_000_000_000_000),
    oddballs,
)  # fmt: skip
fingerprints = st.one_of(text, st.just(""), st.just("f" * 255), st.just("f" * 256), oddballs)


names = st.sampled_from(["alertname", "service", "severity", "instance", "job", "env"])
valid_labels = st.dictionaries(names, text, max_size=4)
valid_annotations = st.fixed_dictionaries(
    {}, optional={"summary": text, "description": text, "value": st.sampled_from(["12%", "0.5"]),
                  "users_affected": st.sampled_from(["5", "0"]), "runbook_url": text}
)  # fmt: skip
valid_times = st.sampled_from(["2026-05-07T14:12:30Z", "2026-05-07T14:12:30.123456789Z", "0001-01-01T00:00:00Z"])


@st.composite
def valid_alert(draw: st.DrawFn) -> dict[str, Any]:
    fields = {
        "status": st.sampled_from(["firing", "resolved", ""]),
        "labels": valid_labels,
        "annotations": valid_annotations,
        "startsAt": valid_times,
        "endsAt": valid_times,
        "generatorURL": text,
        "fingerprint": text,
    }
    chosen = draw(st.sets(st.sampled_from(sorted(fields)), min_size=4))
    return {k: draw(fields[k]) for k in chosen}


ALERT_FIELDS = {
    "status": statuses,
    "labels": label_maps,
    "annotations": annotation_maps,
    "startsAt": times,
    "endsAt": times,
    "generatorURL": st.one_of(text, oddballs),
    "fingerprint": fingerprints,
    "panelURL": text,
}
ENVELOPE_FIELDS = {
    "version": st.one_of(st.sampled_from(["4", "", "3", "4.0"]), oddballs),
    "groupKey": st.one_of(text, oddballs),
    "truncatedAlerts": st.one_of(st.integers(-1, 3), st.just(2**64), oddballs),
    "status": statuses,
    "receiver": st.one_of(text, oddballs),
    "groupLabels": label_maps,
    "commonLabels": label_maps,
    "commonAnnotations": annotation_maps,
    "externalURL": st.one_of(text, oddballs),
    "alerts": st.one_of(st.just([]), oddballs),
    "orgId": oddballs,
}


@st.composite
def webhooks(draw: st.DrawFn) -> Any:
    """Alertmanager's shape with none, one or a few fields changed, removed or added (often wrongly)."""
    hook: dict[str, Any] = {
        "version": "4",
        "groupKey": draw(text),
        "status": draw(st.sampled_from(["firing", "resolved"])),
        "receiver": "warroom",
        "groupLabels": draw(valid_labels),
        "commonLabels": draw(valid_labels),
        "commonAnnotations": draw(st.one_of(st.just({}), valid_annotations)),
        "externalURL": draw(text),
        "alerts": draw(st.lists(valid_alert(), min_size=1, max_size=3)),
    }
    items = hook["alerts"]
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            target, fields = draw(st.sampled_from(items)), ALERT_FIELDS
        else:
            target, fields = hook, ENVELOPE_FIELDS
        key = draw(st.sampled_from(sorted(fields)))
        if draw(st.integers(0, 4)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(fields[key])
    return hook


def parse(body: bytes) -> int | None:
    try:
        return len(alertmanager.parse(orjson.loads(body), {}))
    except PayloadError:
        return None


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(webhooks())
def test_what_the_quick_check_takes_the_parser_takes(hook: Any) -> None:
    body = json.dumps(hook).encode()
    quick = alertmanager.check(body)
    if quick is not None:
        assert parse(body) == quick
        assert not _too_deep(body, orjson.loads(body))


@pytest.mark.parametrize("name", ["alertmanager"])
def test_alertmanagers_own_shape_takes_the_quick_way(name: str) -> None:
    body = (PAYLOADS / f"{name}.json").read_bytes()
    assert alertmanager.check(body) == parse(body) == 2
    resolved = json.loads(body)
    resolved["status"] = "resolved"
    for a in resolved["alerts"]:
        a["status"], a["endsAt"] = "resolved", "2026-05-07T14:40:00Z"
    assert alertmanager.check(json.dumps(resolved).encode()) == 2


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h["alerts"][0].update(grafanaField=1),  # an unknown field: only the parser knows
        lambda h: h["alerts"][1]["labels"].update(severity=3),
        lambda h: h["alerts"][0].update(status="FIRING"),  # the parser takes it; the check leaves it to the parser
        lambda h: h["alerts"][0]["annotations"].update(value="lots"),
        lambda h: h["alerts"][0].update(startsAt="2026-05-07 14:12"),
        lambda h: h.update(version="3"),
    ],
)
def test_anything_else_goes_to_the_parser(change: Any) -> None:
    hook = json.loads((PAYLOADS / "alertmanager.json").read_text())
    change(hook)
    assert alertmanager.check(json.dumps(hook).encode()) is None
