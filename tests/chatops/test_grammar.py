"""The /incident grammar on its own (pure): what each form means, and refusals that name the field."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from warroom.commands.grammar import Command, parse, role_key
from warroom.domain.errors import Invalid

ROLES = ["incident-commander", "technical-lead", "scribe", "comms-officer"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('declare SEV2 "API error rate spike"', Command("declare", severity="SEV2", text="API error rate spike")),
        ("declare P1 Billing down for one", Command("declare", severity="P1", text="Billing down for one")),
        ("ack", Command("ack")),
        ("ack inc-20260507-0001", Command("ack", "INC-20260507-0001")),
        ('update "Rolling back"', Command("update", text="Rolling back")),
        ("status INC-20260507-0001 identified", Command("status", "INC-20260507-0001", status="identified")),
        ("status", Command("status")),
        ("role commander @bob", Command("role", role="commander", person="bob")),
        ("role scribe <@U0BOB|bob>", Command("role", role="scribe", person="bob", mention="U0BOB")),
        ("hypothesis \u201cCache stampede\u201d 70", Command("hypothesis", text="Cache stampede", confidence=70)),
        ('hypothesis "Cache" 70%', Command("hypothesis", text="Cache", confidence=70)),
        ("mitigate rollback worked", Command("mitigate", strategy="rollback", worked=True)),
        (
            "mitigate INC-20260507-0001 restart failed",
            Command("mitigate", "INC-20260507-0001", strategy="restart", worked=False),
        ),
        ("resolve", Command("resolve")),
        ("", Command("help")),
        ("LIST", Command("list")),
    ],
)
def test_each_form(line: str, expected: Command) -> None:
    assert parse(line) == expected


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        ("explode", "command", "unknown command"),
        ('declare P1 "unclosed', "text", "quote is not closed"),
        ("declare P1", "text", "usage"),
        ("status closed", "status", "status is one of"),
        ('hypothesis "x" 101', "confidence", "0 to 100"),
        ("mitigate rollback maybe", "worked", "worked or failed"),
        ("ack INC-20260507-0001 extra", "text", "only an incident id"),
        ("list everything", "text", "takes nothing more"),
    ],
)
def test_refusals_name_the_field(line: str, field: str, words: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse(line)
    assert refused.value.field == field and words in refused.value.detail


def test_a_role_by_a_word_of_its_key() -> None:
    assert role_key(ROLES, "commander") == "incident-commander"
    assert role_key(ROLES, "Technical_Lead") == "technical-lead"
    assert role_key(ROLES, "officer") == "comms-officer"
    assert role_key(ROLES, "nobody") is None


@given(st.text(max_size=200))
def test_any_line_parses_or_is_refused_with_a_field(line: str) -> None:
    try:
        cmd = parse(line)
    except Invalid as exc:
        assert exc.field
        return
    assert cmd.verb in ("declare", "ack", "update", "status", "role", "hypothesis", "mitigate", "resolve", "show",
                        "list", "help")  # fmt: skip


def test_user_link_refuses_an_unknown_user_and_nothing_to_link(tmp_path: object) -> None:
    from warroom.store.migrate import upgrade

    url = f"sqlite:///{tmp_path}/w.db"
    upgrade(url)
    env = {**os.environ, "WARROOM_DATABASE_URL": url}
    for args, says in (
        (["user", "link", "nobody", "--slack", "U123"], "no user nobody"),
        (["user", "link", "nobody"], "give --slack ID, --mattermost ID or both"),
        (["user", "link", "nobody", "--slack", "U 1"], "a slack user id is letters and digits"),
    ):
        done = subprocess.run([sys.executable, "-m", "warroom", *args], env=env, capture_output=True, text=True,
                              timeout=60)  # fmt: skip
        assert done.returncode == 2 and says in done.stderr, done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
