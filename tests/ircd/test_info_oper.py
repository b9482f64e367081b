"""WHO, WHOIS, LUSERS, MOTD, VERSION, ISON, USERHOST, HELP, OPER and KILL on the core."""

from __future__ import annotations

import logging

import argon2

from ircd.config import OperConfig
from ircd.masks import glob_match
from ircd.protocol import MAX_LINE

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_who_channel_and_mask(harness) -> None:
    a = harness.user("alice", "multi-prefix")
    b = harness.user("bob")
    a.send("JOIN #c", "MODE #c +v alice")
    b.send("JOIN #c", "AWAY :zzz")
    a.take()
    b.take()
    a.send("WHO #c")
    replies = a.take()
    assert [m.command for m in replies] == ["352", "352", "315"]
    assert replies[0].params == (
        "alice",
        "#c",
        "~alice",
        "192.0.2.1",
        "irc.test",
        "alice",
        "H@+",
        "0 Real alice",
    )
    assert replies[1].params[6] == "G"
    eve = harness.user("eve")
    eve.send("MODE eve +i")
    eve.take()
    a.send("WHO b*", "WHO e*", "WHO *")
    replies = a.take()
    nicks = [m.params[5] for m in replies if m.command == "352"]
    assert nicks == ["bob", "alice", "bob"]  # eve is invisible and shares no channel
    eve.send("WHO e?e")
    assert [m.params[5] for m in eve.take() if m.command == "352"] == ["eve"]


def test_whois(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    b.send("JOIN #pub", "JOIN #sec", "MODE #sec +s", "AWAY :out")
    b.take()
    harness.clock.now += 42
    a.send("WHOIS bob")
    replies = a.take()
    assert [m.command for m in replies] == ["311", "319", "312", "301", "317", "318"]
    assert replies[0].params == ("alice", "bob", "~bob", "192.0.2.1", "*", "Real bob")
    assert replies[1].params[-1] == "@#pub"
    assert replies[4].params[2:4] == ("42", "1700000000")
    a.send("WHOIS irc.test bob", "WHOIS ghost")
    codes = a.commands()
    assert codes[-2:] == ["401", "318"]


def test_lusers_counts(harness) -> None:
    a = harness.user("alice")
    harness.user("bob").send("MODE bob +i", "JOIN #x")
    harness.connect()
    a.send("LUSERS")
    replies = {m.command: m.params for m in a.take()}
    assert replies["251"][-1] == "There are 1 users and 1 invisible on 1 servers"
    assert replies["253"][1] == "1"
    assert replies["254"][1] == "1"
    assert replies["255"][-1] == "I have 2 clients and 0 servers"
    assert replies["265"][1:3] == ("2", "2")


def test_motd_version_ison_userhost(harness) -> None:
    a = harness.user("alice")
    b = harness.user("Bob")
    b.send("AWAY :x")
    a.send("MOTD")
    replies = a.take()
    assert [m.command for m in replies] == ["375", "372", "376"]
    assert replies[1].params[-1] == "- hello"
    a.send("VERSION")
    assert [m.command for m in a.take()][:2] == ["351", "005"]
    a.send("ISON bob ghost alice", "USERHOST bob alice ghost")
    replies = a.take()
    assert replies[0].params[-1] == "Bob alice"
    assert replies[1].params[-1] == "Bob=-~Bob@192.0.2.1 alice=+~alice@192.0.2.1"


def test_help(harness) -> None:
    a = harness.user("alice")
    a.send("HELP")
    replies = a.take()
    assert replies[0].command == "704" and replies[-1].command == "706"
    assert "PRIVMSG" in " ".join(m.params[-1] for m in replies)
    a.send("HELP topic", "HELP nothing")
    replies = a.take()
    assert replies[0].params[1:] == ("TOPIC", "TOPIC <channel> [:<topic>]")
    assert replies[-1].command == "524"


def oper_harness(make_harness):
    return make_harness(opers=(OperConfig("root", CHEAP.hash("right")),), sync=True)


def test_oper_success_holds_later_lines(make_harness) -> None:
    h = oper_harness(make_harness)
    a = h.user("alice")
    a.send("OPER root right", "PING after")
    assert a.sink.paused  # the hash check runs off the loop; input waits
    assert a.take() == []
    h.settle()
    assert not a.sink.paused
    replies = a.take()
    assert [m.command for m in replies] == ["381", "MODE", "PONG"]
    assert h.server.oper_count == 1
    a.send("MODE alice -o")
    assert a.take()[0].params == ("alice", "-o")
    assert h.server.oper_count == 0


def test_oper_failure_is_generic(make_harness) -> None:
    h = oper_harness(make_harness)
    a = h.user("alice")
    a.send("OPER root wrong")
    h.settle()
    assert not a.sink.paused
    a.send("OPER nobody right")
    h.settle()
    assert not a.sink.paused
    replies = a.take()
    assert [m.command for m in replies] == ["464", "464"]
    assert replies[0].params == replies[1].params  # unknown name and bad password look alike


def test_quit_during_oper_check(make_harness) -> None:
    h = oper_harness(make_harness)
    a = h.user("alice")
    a.send("OPER root right")
    h.server.disconnect(a.client, "gone")
    h.settle()
    tasks = h.server.runner.tasks  # type: ignore[attr-defined]
    assert tasks == set() or all(t.cancelled() or t.done() for t in tasks)
    assert h.server.oper_count == 0


def test_kill(make_harness) -> None:
    h = oper_harness(make_harness)
    a = h.user("alice")
    b = h.user("bob")
    b.send("KILL alice :no")
    assert b.commands() == ["481"]
    a.send("OPER root right")
    h.settle()
    assert not a.sink.paused
    a.take()
    a.send("KILL ghost :x", "KILL bob :spamming")
    replies = a.take()
    assert [m.command for m in replies] == ["401", "NOTICE"]  # the kill notice (snomask k)
    assert replies[1].params[1].startswith("*** KILL: root killed bob (~bob@192.0.2.1)")
    got = b.take()
    assert got[0].command == "KILL"
    assert got[-1].params[0] == "Closing Link: 192.0.2.1 (Killed (alice (spamming)))"
    assert b.sink.closed


def test_glob_match() -> None:
    assert glob_match("*", "")
    assert glob_match("a?c*", "abcdef")
    assert not glob_match("a?c", "ac")
    assert glob_match("*!*@192.0.2.*", "nick!user@192.0.2.7")
    # A pathological pattern finishes quickly (no exponential backtracking).
    assert not glob_match("*a" * 50 + "b", "a" * 5000)


def test_snomasks_choose_server_notices(make_harness) -> None:
    h = oper_harness(make_harness)
    op = h.user("op")
    op.send("OPER root right")
    h.settle()
    assert not op.sink.paused
    op.take()
    op.send("MODE op")
    assert op.take()[0].params[1] == "+os"  # opers get the default mask (afgkox)
    op.send("MODE op +s +cqn-f")
    replies = op.take()
    assert [(m.command, m.params[1]) for m in replies] == [("008", "+acgknoqx")]
    user = h.connect("198.51.100.7")
    user.send("NICK guest", "USER guest 0 * :G")
    user.take()
    user.send("NICK guest2", "QUIT :bye")
    notices = [m.params[1] for m in op.take()]
    assert notices == [
        "*** CONNECT: Client connecting: guest (~guest@198.51.100.7) [198.51.100.7]",
        "*** NICK: guest (~guest@198.51.100.7) changed nick to guest2",
        "*** QUIT: Client exiting: guest2 (~guest@198.51.100.7) [198.51.100.7] (Quit: bye)",
    ]
    # A failed OPER elsewhere (o), but no connect notices once c is gone.
    op.send("MODE op +s -c")
    op.take()
    other = h.connect("198.51.100.8").register("other")
    other.send("OPER root wrong")
    h.settle()
    assert not other.sink.paused
    [failed] = [m.params[1] for m in op.take()]
    assert failed.startswith("*** OPER: Failed OPER 'root' by other (~other@198.51.100.8)")
    op.send("MODE op -s")
    assert [m.params[1:] for m in op.take()] == [("-s",)]
    other.send("OPER root wrong")
    h.settle()
    assert not other.sink.paused
    assert op.take() == []
    other.take()
    other.send("MODE other +s")  # not an operator: no server notices
    assert other.commands() == ["481"]


def test_flood_kills_reach_opers(make_harness) -> None:
    h = make_harness(flood_rate=1, flood_burst=1, recvq=MAX_LINE + 2)
    op = h.user("op")
    h.server.set_oper(op.client, "root")
    flooder = h.user("flooder")
    op.take()
    flooder.send(*[f"PRIVMSG op :{'x' * 300}" for _ in range(200)])
    assert flooder.sink.closed
    notices = [m.params[1] for m in op.take() if m.command == "NOTICE"]
    assert notices == ["*** FLOOD: flooder (~flooder@192.0.2.1) [192.0.2.1]: Excess Flood"]


def test_verbose_log_has_connections(harness, caplog) -> None:  # type: ignore[no-untyped-def]
    # `python -m ircd -v` logs at DEBUG: connections, registrations, nick changes, quits.
    with caplog.at_level(logging.DEBUG, logger="ircd"):
        c = harness.connect("198.51.100.9").register("dx")
        c.send("QUIT :73")
    assert "connection 1 from 198.51.100.9" in caplog.text
    assert "CONNECT: Client connecting: dx (~dx@198.51.100.9) [198.51.100.9]" in caplog.text
    assert "QUIT: Client exiting: dx (~dx@198.51.100.9) [198.51.100.9] (Quit: 73)" in caplog.text
