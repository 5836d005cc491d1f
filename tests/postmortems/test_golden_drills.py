"""A postmortem for an incident played through a drill of each preset, compared with a golden file.

Each preset has a drill in examples/drills/ that plays one incident from the page to its published
postmortem and then its action items (`<preset>-...-postmortem-action-items.yaml`). The drill runs on
its simulated clock, so the postmortem draft it stores (version 1, rendered by the policy's own
template from the record) is the same on every run; it must equal
`tests/golden/<preset>/postmortem-drill.txt` byte for byte.

After an intended change to a template, the drill or the draft, regenerate the golden files and read
the diff before committing it:

    WARROOM_UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/postmortems/test_golden_drills.py
    git diff tests/golden/

(`WARROOM_REGEN_GOLDEN=1`, the switch of tests/integration/test_drafts.py, does the same.)
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from warroom.drill import report
from warroom.drill.runner import DrillResult, run
from warroom.drill.scenario import load_scenario
from warroom.policy import list_presets, load_policy

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"
DRILLS = {
    "nself": "nself-p0-postmortem-action-items.yaml",
    "novavms": "novavms-p1-postmortem-action-items.yaml",
    "nexus": "nexus-p1-postmortem-action-items.yaml",
    "so1": "so1-sev1-postmortem-action-items.yaml",
}
UPDATE = os.environ.get("WARROOM_UPDATE_GOLDEN") == "1" or os.environ.get("WARROOM_REGEN_GOLDEN") == "1"


def play(preset: str) -> tuple[DrillResult, str]:
    scenario = load_scenario(ROOT / "examples" / "drills" / DRILLS[preset])
    assert scenario.policy == preset
    result = run(scenario, load_policy(preset))
    assert report.check(result, scenario.expect or [], scenario.expect_none) == []
    (text,) = result.postmortems.values()
    return result, text + "\n"


def test_every_preset_has_a_postmortem_drill() -> None:
    assert sorted(DRILLS) == sorted(list_presets())


@pytest.mark.parametrize("preset", sorted(DRILLS))
def test_the_drills_postmortem_matches_its_golden_file(preset: str) -> None:
    _, text = play(preset)
    path = GOLDEN / preset / "postmortem-drill.txt"
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with WARROOM_UPDATE_GOLDEN=1 and read the diff"
    assert text == path.read_text(encoding="utf-8"), f"{preset}'s drill postmortem changed; see the docstring"
    # Playing it again gives the same text: the drill clock makes it deterministic.
    assert play(preset)[1] == text


KEY_TIMES = {
    "nself": [
        "- Detected: 2026-05-05 13:44 UTC, 6m before the declaration",
        "- Acknowledged: 2026-05-05 13:57 UTC, 7m after the declaration — ack SLA 5m: breached by 2m",
        "- Mitigated: 2026-05-05 15:00 UTC, 1h10m after the declaration — mitigate SLA 1h: breached by 10m",
        "- Resolved: 2026-05-05 15:15 UTC, 1h25m after the declaration — resolve SLA 4h: met, 2h35m to spare",
    ],
    "novavms": [
        "- Acknowledged: 2026-05-12 09:33 UTC, 3m after the declaration — ack SLA 5m: met, 2m to spare",
        "- Mitigated: 2026-05-12 10:05 UTC, 35m after the declaration — mitigate SLA 1h: met, 25m to spare",
        "- Resolved: 2026-05-12 10:21 UTC, 51m after the declaration — no resolve SLA",
    ],
    "nexus": [
        "- Acknowledged: 2026-05-07 10:04 UTC, 4m after the declaration — ack SLA 1h: met, 56m to spare",
        "- Resolved: 2026-05-07 11:11 UTC, 1h11m after the declaration — no resolve SLA",
    ],
    "so1": [
        "- Detected: 2026-03-10 15:55 UTC, 5m before the declaration",
        "- Acknowledged: 2026-03-10 16:01 UTC, 1m after the declaration — ack SLA 2m: met, 1m to spare",
        "- First response: 2026-03-10 16:04 UTC, 4m after the declaration — respond SLA 5m: met, 1m to spare",
    ],
}


def headings(text: str, marker: str) -> list[str]:
    return [line[len(marker) :] for line in text.splitlines() if line.startswith(marker)]


@pytest.mark.parametrize("preset", sorted(DRILLS))
def test_the_postmortem_is_in_the_policys_template_with_the_key_times(preset: str) -> None:
    """Checked apart from the golden file, so a regenerated golden cannot quietly lose them."""
    result, text = play(preset)
    lines = text.splitlines()
    for line in KEY_TIMES[preset]:
        assert line in lines, f"{preset}: missing key time {line!r}"
    if preset == "nself":
        assert headings(text, "### ") == [
            "Impact",
            "Timeline",
            "Root Cause",
            "What Went Well",
            "What Went Wrong",
            "Action Items",
        ]
        assert "| Alert when checkout 5xx exceed 1% for 5m | user-b | 2026-05-08 | open |" in lines
        assert any(re.fullmatch(r"- 14:10 UTC \| user-a \| Mitigation failed: restart \| .*", x) for x in lines)
    elif preset == "novavms":
        assert headings(text, "## ") == [
            "Summary",
            "Impact",
            "Timeline (UTC)",
            "Root cause",
            "What went well",
            "What went wrong",
            "Action items",
        ]
    elif preset == "nexus":
        assert headings(text, "## ") == [
            "1. Timeline reconstruction",
            "2. Root cause analysis",
            "3. Impact assessment",
            "4. Prevention measures",
            "5. Action items",
        ]
        item = "- Reconnect the sync consumer on a Redis failover event, with a test that fails over"
        assert f"{item} → unassigned → 2026-05-09" in lines  # the draft came before it had an owner
    else:
        assert "## Root cause (5 Whys)" in lines
        assert [x for x in lines if x.startswith(tuple(f"{n}. Why?" for n in range(1, 6)))] == [
            f"{n}. Why? …" for n in range(1, 6)
        ]
    # The whole timeline is there, from the declaration to the action items, hypotheses and fixes included.
    severity = result.actions[0].fields["severity"]
    assert re.search(rf"\b(\d\d:\d\d UTC)\b.*Declared {severity}: ", text)
    assert re.search(r"H\d confirmed: ", text) and "Mitigation succeeded: " in text and "Action item 2: " in text
