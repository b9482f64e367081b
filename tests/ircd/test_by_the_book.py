"""Replies checked against the Modern IRC documentation and the IRCv3 specifications.

One test per case found wrong when compared with InspIRCd, ngircd and Ergo (issue 9).
"""

from __future__ import annotations

import base64

import argon2

from ircd.config import AllowConfig, OperConfig
from tests.ircd.conftest import Harness

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_mode_limit_without_or_with_empty_parameter(harness: Harness) -> None:
    a = harness.user("alice")
    a.send("JOIN #c")
    a.take()
    a.send("MODE #c +l", "MODE #c +l :", "MODE #c +l :a b")
    replies = a.take()
    assert [m.command for m in replies] == ["696", "696", "696"]
    assert [m.params[3] for m in replies] == ["*", "*", "*"]  # never an empty middle
    assert not a.sink.closed
    assert harness.server.find_channel("#c").limit is None  # type: ignore[union-attr]


def test_channel_key_with_space_or_empty_is_refused(harness: Harness) -> None:
    a = harness.user("alice")
    a.send("JOIN #c")
    a.take()
    a.send("MODE #c +k :a b", "MODE #c +k :", "MODE #c +k :")
    assert a.commands() == ["525", "525", "525"]
    assert harness.server.find_channel("#c").key is None  # type: ignore[union-attr]
    a.send("MODE #c +k good")
    assert a.take()[0].params == ("#c", "+k", "good")


def test_away_notify_on_join(harness: Harness) -> None:
    a = harness.user("alice", "away-notify")
    plain = harness.user("carol")
    b = harness.user("bob", "away-notify")
    a.send("JOIN #c")
    plain.send("JOIN #c")
    b.send("AWAY :gone fishing")
    a.take(), plain.take(), b.take()
    b.send("JOIN #c")
    assert [(m.command, m.params) for m in a.take()] == [
        ("JOIN", ("#c",)),
        ("AWAY", ("gone fishing",)),
    ]
    assert plain.commands() == ["JOIN"]
    assert "AWAY" not in b.commands()  # not to the joiner itself


def test_user_with_empty_realname_gets_461(harness: Harness) -> None:
    c = harness.connect()
    c.send("NICK alice", "USER alice 0 * :")
    replies = c.take()
    assert [(m.command, m.params[1]) for m in replies] == [("461", "USER")]
    c.send("USER alice 0 * :Alice")
    assert "001" in c.commands()


def test_unknown_command_with_other_characters_gets_421_with_label(harness: Harness) -> None:
    a = harness.user("alice", "labeled-response")
    a.send("@label=q1 NONEXISTENT_COMMAND x", "FOO-BAR", "123")
    replies = a.take()
    assert [(m.command, m.params[1], m.tags.get("label")) for m in replies] == [
        ("421", "NONEXISTENT_COMMAND", "q1"),
        ("421", "FOO-BAR", None),
        ("421", "123", None),
    ]


def test_an_unknown_command_is_echoed_without_control_bytes(harness: Harness) -> None:
    a = harness.user("alice", "standard-replies")
    long_word = "X" * 300
    a.send_raw(
        b"FO\x01O\x1b[31m x\r\n\xe2\x80\xaeEVIL\r\n"
        + long_word.encode()
        + b"\r\nB\x07D\xff\r\nPRIVMSG\x03 bob :hi\r\n"
    )
    replies = a.take()
    # 421 <nick> <command>, FAIL <command> <code>
    assert [(m.command, m.params[m.command != "FAIL"]) for m in replies] == [
        ("421", "FO?O?[31M"),
        ("421", "?EVIL"),
        ("421", "X" * 32),
        ("FAIL", "B?D?"),  # not UTF-8: FAIL INVALID_UTF8, the word cleaned as well
        ("421", "PRIVMSG?"),
    ]
    wire = b"".join(m.to_bytes() for m in replies).replace(b"\r\n", b"")
    assert not any(byte < 0x20 or byte == 0x7F for byte in wire)


def test_invalid_utf8_gets_fail_invalid_utf8(harness: Harness) -> None:
    a = harness.user("alice", "labeled-response", "standard-replies")
    b = harness.user("bob")
    a.send_raw(b"@label=u1 PRIVMSG bob :caf\xe9\r\nNOTICE bob :\xff\r\n")
    replies = a.take()
    assert [(m.command, m.params[:2], m.tags.get("label")) for m in replies] == [
        ("FAIL", ("PRIVMSG", "INVALID_UTF8"), "u1"),
        ("FAIL", ("NOTICE", "INVALID_UTF8"), None),
    ]
    assert b.take() == []


def test_invalid_utf8_in_user_still_registers(harness: Harness) -> None:
    c = harness.connect()
    c.send_raw(b"NICK alice\r\nUSER al\xffice 0 * :Caf\xe9 owner\r\n")
    assert "001" in c.commands()
    assert c.client.realname == "Caf\ufffd owner"
    assert c.client.user == "~alice"


def test_kick_several_nicks_each_with_its_own_line(harness: Harness) -> None:
    a = harness.user("alice")
    b, c, d = harness.user("bob"), harness.user("carol"), harness.user("dave")
    for u in (a, b, c, d):
        u.send("JOIN #c")
    for u in (a, b, c, d):
        u.take()
    a.send("KICK #c bob,carol :bye")
    assert [m.params for m in d.take()] == [("#c", "bob", "bye"), ("#c", "carol", "bye")]
    channel = harness.server.find_channel("#c")
    assert channel is not None and set(channel.members) == {a.client, d.client}
    a.take()
    a.send("KICK #c dave,x,y,z,w")  # more than TARGMAX: nobody is kicked
    assert a.commands() == ["407"]
    assert d.client in channel.members


def test_monitor_nick_change(harness: Harness) -> None:
    old_watch = harness.user("w1")
    new_watch = harness.user("w2")
    a = harness.user("alice")
    old_watch.send("MONITOR + alice")
    new_watch.send("MONITOR + zed,ZED")
    assert [m.params for m in old_watch.take()] == [("w1", "alice!~alice@192.0.2.1")]
    assert [m.params for m in new_watch.take()] == [("w2", "zed")]  # "zed,ZED" is one nick
    a.send("NICK Alice")  # a change of case only: nothing for MONITOR
    assert old_watch.take() == [] and new_watch.take() == []
    a.send("NICK zed")
    assert [(m.command, m.params[1]) for m in old_watch.take()] == [("731", "Alice")]
    assert [(m.command, m.params[1]) for m in new_watch.take()] == [("730", "zed!~alice@192.0.2.1")]


def test_names_several_channels(harness: Harness) -> None:
    a = harness.user("alice")
    a.send("JOIN #a,#b")
    a.take()
    a.send("NAMES #a,#b,#none")
    assert [(m.command, m.params[-2]) for m in a.take()] == [
        ("353", "#a"),
        ("366", "#a"),
        ("353", "#b"),
        ("366", "#b"),
        ("366", "#none"),
    ]


def test_who_shows_invisible_users_to_those_sharing_a_channel(harness: Harness) -> None:
    inv = harness.user("ghost")
    friend = harness.user("friend")
    stranger = harness.user("stranger")
    inv.send("MODE ghost +i", "JOIN #shared,#public")
    friend.send("JOIN #shared")
    for u in (inv, friend):
        u.take()

    def who(client, mask: str) -> list[str]:  # type: ignore[no-untyped-def]
        client.send(f"WHO {mask}")
        return [m.params[5] for m in client.take() if m.command == "352"]

    assert who(friend, "#public") == ["ghost"]  # not a member of #public, but shares #shared
    assert who(friend, "g*") == ["ghost"]
    assert who(stranger, "#public") == []
    assert who(stranger, "g*") == []
    assert who(stranger, "ghost") == ["ghost"]  # an exact nick always answers


def test_tag_data_over_4094_bytes_gets_417_and_is_not_relayed(harness: Harness) -> None:
    a = harness.user("alice", "message-tags", "labeled-response")
    b = harness.user("bob", "message-tags")
    fits = "+a=" + "x" * (4094 - len("+a=;label=l1"))
    a.send(f"@{fits};label=l1 PRIVMSG bob :ok")
    assert [m.command for m in b.take()] == ["PRIVMSG"]
    a.take()
    over = "+a=" + "x" * (4095 - len("+a=;label=l2"))
    a.send(f"@{over};label=l2 PRIVMSG bob :no")
    assert [(m.command, m.tags.get("label")) for m in a.take()] == [("417", "l2")]
    assert b.take() == []


def test_too_many_targets_delivers_nothing(harness: Harness) -> None:
    a = harness.user("alice")
    others = [harness.user(f"u{i}") for i in range(5)]
    a.send("PRIVMSG u0,u1,u2,u3,u4 :hi")
    assert a.commands() == ["407"]
    assert all(o.take() == [] for o in others)


def test_433_before_registration_targets_star(harness: Harness) -> None:
    harness.user("alice")
    c = harness.connect()
    c.send("NICK bob", "NICK alice")
    replies = c.take()
    assert [(m.command, m.params[:2]) for m in replies] == [("433", ("*", "alice"))]


def test_labeled_echo_to_channel_and_to_self(harness: Harness) -> None:
    a = harness.user("alice", "labeled-response", "echo-message", "batch", "message-tags")
    b = harness.user("bob")
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take(), b.take()
    a.send("@label=e1 PRIVMSG #c :hi", "@label=e2 PRIVMSG alice :me", "@label=e3 NOTICE alice :n")
    replies = a.take()
    # One message each, the echo, with its label: no second copy, no batch, no ACK.
    assert [(m.command, m.params, m.tags.get("label")) for m in replies] == [
        ("PRIVMSG", ("#c", "hi"), "e1"),
        ("PRIVMSG", ("alice", "me"), "e2"),
        ("NOTICE", ("alice", "n"), "e3"),
    ]
    plain = harness.user("plain", "labeled-response")
    plain.send("@label=p1 PRIVMSG plain :me")  # without echo-message: the delivered copy
    assert [(m.command, m.tags.get("label")) for m in plain.take()] == [("PRIVMSG", "p1")]


class CheckedAccounts:
    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return account if password == "right" else None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return None


def test_deferred_commands_answer_with_their_label(make_harness) -> None:  # type: ignore[no-untyped-def]
    h = make_harness(
        opers=(OperConfig("root", CHEAP.hash("right")),),
        allow=(AllowConfig(password_hash=CHEAP.hash("letmein")),),
        accounts=CheckedAccounts(),
        sync=True,
    )
    h.server.passwords._dummy_hash = CHEAP.hash("x")
    c = h.connect()
    c.send("CAP LS 302", "CAP REQ :labeled-response batch sasl", "PASS letmein")
    c.send("NICK alice", "@label=s1 AUTHENTICATE PLAIN")
    c.take()
    c.send("@label=s2 AUTHENTICATE " + base64.b64encode(b"\0alice\0right").decode())
    assert c.take() == []  # nothing yet: no ACK ahead of the answer
    h.settle()
    sasl = c.take()
    assert sasl[0].command == "BATCH" and sasl[0].tags == {"label": "s2"}
    assert [m.command for m in sasl[1:-1]] == ["900", "903"]
    c.send("@label=r1 USER alice 0 * :A", "@label=r2 CAP END")  # password checked: deferred
    assert [(m.command, m.tags) for m in c.take()] == [("ACK", {"label": "r1"})]
    h.settle()
    welcome = c.take()
    assert welcome[0].command == "BATCH" and welcome[0].tags == {"label": "r2"}
    assert "001" in [m.command for m in welcome]
    c.send("@label=o1 OPER root right", "@label=o2 PING :after")
    assert c.take() == [] and c.sink.paused
    h.settle()
    replies = c.take()
    assert [(m.command, m.tags.get("label")) for m in replies] == [
        ("BATCH", "o1"),
        ("381", None),
        ("MODE", None),
        ("BATCH", None),
        ("PONG", "o2"),
    ]
    assert not c.sink.paused
