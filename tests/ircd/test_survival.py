"""Every command in the table, with random parameters and tags, through the core.

Whatever a client sends, its connection survives, it gets an answer (a labeled reply or
ACK), and no handler raises. A handler that does raise is the class of bug the command
boundary in `ircd.intake` contains: logged with its traceback, one 400, no close.
"""

from __future__ import annotations

import dataclasses
import logging

import argon2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ircd.commands import COMMANDS
from ircd.config import OperConfig
from ircd.protocol import escape_tag_value, parse_line
from tests.ircd.conftest import CoreClient, DeferredRunner, Harness, make_config

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
OPER_HASH = CHEAP.hash("right")


class Accounts:
    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return account if password == "right" else None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return None


CAPS = (
    "account-notify away-notify batch echo-message extended-join invite-notify "
    "labeled-response message-tags multi-prefix sasl setname userhost-in-names "
    "draft/chathistory extended-monitor chghost draft/multiline draft/read-marker "
    "draft/message-redaction draft/channel-rename"
)

#: Values that have broken servers: empty, spaces, colons, lists, masks, numbers.
TRICKY = [
    "",
    " ",
    ":",
    "a b",
    ":x",
    "*",
    "+",
    "-",
    "0",
    "-1",
    "99999999999",
    "#c",
    "#c,#d",
    "#c,,#nope",
    "@#c",
    "fuzz",
    "other",
    "other,fuzz,ghost,x,y",
    "+l",
    "+k",
    "+kl",
    "-k+b-l",
    "+ov",
    "+beI",
    "+b-k",
    "b",
    "LS",
    "REQ",
    "END",
    "LIST",
    "302",
    "PLAIN",
    "EXTERNAL",
    "LATEST",
    "BETWEEN",
    "TARGETS",
    "msgid=x",
    "timestamp=2024-01-01T00:00:00.000Z",
    "*!*@*",
    "*@192.0.2.1",
    "10m",
    "root",
    "right",
    "%tcuihsnfdlaor,12",
    "add",
    "del",
    "k",
    "g",
    "z",
    "u",
    "\x01ACTION x\x01",
    "+r1",
    "-r1",
    "draft/multiline",
    "-force",
    "+s",
    "+cq-x",
    "SET",
    "SUB",
    "CLEAR",
    "SYNC",
    "url",
]
text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\0\r\n"),
    max_size=30,
)
middle = st.one_of(st.sampled_from(TRICKY), text).filter(
    lambda p: p != "" and " " not in p and not p.startswith(":")
)
trailing = st.one_of(st.sampled_from(TRICKY), text)
tag_keys = st.sampled_from(
    ["+typing", "+draft/reply", "msgid", "time", "batch", "+a", "account", "draft/multiline-concat"]
)
tags = st.dictionaries(tag_keys, st.one_of(st.sampled_from(TRICKY), text), max_size=3)


def build(command: str, params: list[str], last: str | None, tag_map: dict[str, str]) -> bytes:
    tag_map = {**tag_map, "label": "L1"}
    tag_part = ";".join(f"{k}={escape_tag_value(v)}" if v else k for k, v in tag_map.items())
    words = [command, *params]
    if last is not None:
        words.append(":" + last)
    return f"@{tag_part} {' '.join(words)}\r\n".encode()


def setup() -> CoreClient:
    config = dataclasses.replace(make_config(), opers=(OperConfig("root", OPER_HASH),))
    h = Harness(config, accounts=Accounts(), runner=DeferredRunner(at_once=True))
    # The unknown-name path hashes a dummy password with the default (slow) parameters.
    h.server.passwords._dummy_hash = OPER_HASH
    other = h.user("other")
    fuzz = h.user("fuzz", *CAPS.split())
    fuzz.send("JOIN #c,#d")
    other.send("JOIN #c")
    h.server.set_oper(fuzz.client, "root")
    fuzz.take()
    other.take()
    return fuzz


@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    command=st.sampled_from(sorted(COMMANDS)),
    params=st.lists(middle, max_size=5),
    last=st.one_of(st.none(), trailing),
    tag_map=tags,
)
def test_every_command_survives_and_answers(
    command: str,
    params: list[str],
    last: str | None,
    tag_map: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    fuzz = setup()
    caplog.clear()
    line = build(command, params, last, tag_map)
    with caplog.at_level(logging.ERROR, logger="ircd"):
        fuzz.send_raw(line)
    assert "Traceback" not in caplog.text, (line, caplog.text)
    got = fuzz.take()
    quits = command == "QUIT" or (command == "KILL" and params[:1] and params[0].lower() == "fuzz")
    if quits:
        return
    assert not fuzz.sink.closed, (line, got)
    words = [*params, *([last] if last is not None else [])]
    if (
        command == "BATCH"
        and len(words) > 2
        and words[0][:1] == "+"
        and words[1] == "draft/multiline"
    ):
        return  # a multiline batch opened: its label is answered when it closes

    assert any(m.tags.get("label") == "L1" for m in got), (line, got)
    assert not any(m.command == "400" and m.params[-1] == "Internal error" for m in got)


def test_a_raising_handler_is_logged_answered_once_and_survived(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness(make_config())

    def broken(server, client, msg, rb) -> None:  # type: ignore[no-untyped-def]
        """BROKEN"""
        rb.numeric("300", "half a reply")
        raise RuntimeError("bug in a handler")

    h.server.add_command("BROKEN", broken, oper_only=False)
    a = h.user("alice", "labeled-response")
    with caplog.at_level(logging.ERROR, logger="ircd"):
        a.send("@label=x BROKEN", "PING :after")
    replies = a.take()
    assert [(m.command, m.tags.get("label")) for m in replies] == [("400", "x"), ("PONG", None)]
    assert replies[0].params == ("alice", "BROKEN", "Internal error")
    assert "bug in a handler" in caplog.text and "Traceback" in caplog.text
    assert not a.sink.closed


def test_tracebacks_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(make_config())

    def broken(server, client, msg, rb) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("again")

    h.server.add_command("BROKEN", broken, oper_only=False)
    a = h.user("alice")
    with caplog.at_level(logging.ERROR, logger="ircd"):
        a.send(*["BROKEN"] * 100)
    assert caplog.text.count("Traceback") == 5
    assert [m.command for m in a.take()] == ["400"] * 100
    caplog.clear()
    h.clock.now += 60  # the budget refills; the next traceback says what was left out
    with caplog.at_level(logging.ERROR, logger="ircd"):
        a.send("BROKEN")
    assert "95 more failures not logged" in caplog.text


@pytest.mark.parametrize(
    "line",
    ["CAP :a b", "NICK :a b", "TIME :a b", "MODE #c +l :", "MODE #c +k :a b", "CAP :"],
)
def test_values_that_cannot_be_middle_parameters(line: str) -> None:
    h = Harness(make_config())
    a = h.user("alice")
    a.send("JOIN #c")
    a.take()
    a.send(line)
    for m in a.take():
        parse_line(m.to_bytes()[:-2])  # every reply is well-formed
        assert m.command != "400"
    assert not a.sink.closed


def test_a_raising_continuation_is_answered_once_and_input_resumes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Harness(make_config(), runner=DeferredRunner(at_once=True))

    async def fail_later() -> None:
        raise RuntimeError("bug after the wait")

    def deferred(server, client, msg, rb):  # type: ignore[no-untyped-def]
        """DEFERRED"""
        return fail_later()

    h.server.add_command("DEFERRED", deferred, oper_only=False)
    a = h.user("alice", "labeled-response")
    with caplog.at_level(logging.ERROR, logger="ircd"):
        a.send("@label=d DEFERRED", "PING :after")
    replies = a.take()
    assert [(m.command, m.tags.get("label")) for m in replies] == [("400", "d"), ("PONG", None)]
    assert replies[0].params == ("alice", "DEFERRED", "Internal error")
    assert "bug after the wait" in caplog.text
    assert not a.sink.closed and not a.sink.paused
