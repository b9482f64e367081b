"""WHO, WHOIS, LUSERS, MOTD, VERSION, ISON, USERHOST, HELP, OPER and KILL on the core."""

from __future__ import annotations

import base64
import logging
import re

import argon2

from ircd.config import OperConfig
from ircd.hooks import Login
from ircd.masks import glob_match
from ircd.protocol import MAX_LINE
from tests.ircd.conftest import ListSink

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
    killed = "*** KILL: alice (oper root) killed bob (~bob@192.0.2.1)"
    assert replies[1].params[1].startswith(killed)
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
    assert op.take()[0].params[1] == "+os"  # opers get the default mask (afgkloprux)
    op.send("MODE op +s +cqn-f")
    replies = op.take()
    assert [(m.command, m.params[1]) for m in replies] == [("008", "+acgklnopqrux")]
    user = h.connect("198.51.100.7")
    user.send("NICK guest", "USER guest 0 * :G")
    user.take()
    user.send("NICK guest2", "QUIT :bye")
    notices = [m.params[1] for m in op.take()]
    assert notices == [
        "*** CONNECT: Client connecting (plaintext): guest!~guest@198.51.100.7 (198.51.100.7) [G]",
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
    connect = "CONNECT: Client connecting (plaintext): dx!~dx@198.51.100.9 (198.51.100.9) [Real dx]"
    assert connect in caplog.text
    assert "QUIT: Client exiting: dx (~dx@198.51.100.9) [198.51.100.9] (Quit: 73)" in caplog.text


def notices_of(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.params[1] for m in client.take() if m.command == "NOTICE"]


def opered(h, nick: str = "op"):  # type: ignore[no-untyped-def]
    h.server.start()  # the keepalive tick, which also sends the "repeated" lines
    op = h.user(nick)
    h.server.set_oper(op.client, "root")
    op.take()
    return op


def test_two_hundred_failed_opers_are_a_handful_of_notices(make_harness) -> None:
    # Four addresses, 50 failures each, within one window: one notice per address and
    # kind, then at the window's end one "repeated" line for each (issue 22).
    h = oper_harness(make_harness)
    op = opered(h)
    guessers = [h.connect(f"203.0.113.{i}").register(f"g{i}") for i in range(1, 5)]
    for _ in range(50):
        for g in guessers:
            g.send("OPER root wrong")
            h.settle()
            h.clock.now += 0.1
    seen = notices_of(op)
    assert len(seen) == 4, seen  # the first failure of each address
    assert all(s.startswith("*** OPER: ") for s in seen)
    assert {s.split("[")[1].split("]")[0] for s in seen} == {f"203.0.113.{i}" for i in range(1, 5)}
    h.scheduler.advance(snomask_window() + 5)  # the keepalive tick notices the window's end
    summaries = notices_of(op)
    assert len(summaries) == 4, summaries
    assert all("*** OPER: last message repeated " in s for s in summaries)
    told = sum(int(s.split("repeated ")[1].split(" ")[0]) for s in summaries)
    assert told + len(seen) == 200  # every failure is shown or counted, none lost
    # Quiet since: the windows close and the next failure is shown at once.
    h.scheduler.advance(snomask_window() + 5)
    assert notices_of(op) == []


def test_the_log_collapses_repeats_as_operators_see_them(make_harness, caplog) -> None:
    # Hostile review, finding 6: 3000 connections failing SASL wrote 6 log lines each.
    h = oper_harness(make_harness)
    h.server.start()
    with caplog.at_level(logging.INFO, logger="ircd.snotice"):
        for _ in range(100):
            g = h.connect("203.0.113.50").register("g")
            g.send("OPER root wrong")
            h.settle()
            h.server.disconnect(g.client, "bye")
            h.clock.now += 0.1
        h.scheduler.advance(snomask_window() + 5)
    lines = [r.getMessage() for r in caplog.records if r.name == "ircd.snotice"]
    assert len(lines) == 2, lines  # the first, then the count, not 100 lines
    assert lines[0].startswith("OPER: Failed OPER 'root' by g ")
    assert lines[1].startswith("OPER: last message repeated 99 times: OPER 'root' by g ")
    assert not [r for r in caplog.records if r.name == "ircd.oper" and r.levelno >= logging.INFO]


def snomask_window() -> float:
    from ircd.repeats import REPEAT_WINDOW

    return REPEAT_WINDOW


def test_repeats_table_is_bounded_and_loses_no_count() -> None:
    from ircd.repeats import Repeats

    r = Repeats(window=10, max_keys=3)
    sent = [r.offer(("o", "failed", f"ip{i}"), "OPER", f"fail {i}", 0.0) for i in range(6)]
    assert sent == [True, True, True, True, False, False]  # 4th opens the overflow entry
    assert len(r) == 4
    assert r.offer(("o", "failed", "ip0"), "OPER", "again", 1.0) is False
    assert r.ended(9.9) == []
    assert sorted(r.ended(10.0)) == [("o", "OPER", 1, "again"), ("o", "OPER", 2, "fail 5")]
    assert len(r) == 2  # the windows that held some open again; the others closed
    assert r.ended(20.0) == [] and len(r) == 0
    assert r.offer(("o", "failed", "ip0"), "OPER", "new", 20.0) is True


def test_a_flood_of_one_letter_never_hides_another_letters_sources() -> None:
    """Connections from many addresses (c) fill the letter's share, not the table: a
    guessing alert (l) from a new source still gets its own line at once."""
    from ircd.repeats import Repeats

    r = Repeats(window=30, max_keys=256, per_letter=32)
    shown = [r.offer(("c", "", f"conn {i}"), "CONNECT", f"conn {i}", 0.0) for i in range(500)]
    assert shown.count(True) == 33  # 32 of its own, then its overflow entry
    assert len(r) == 33
    assert r.offer(("l", "alert", "telnet:node1"), "RADIOLOGIN", "guessing", 1.0) is True
    assert r.offer(("l", "alert", "ax25:vhf"), "RADIOLOGIN", "guessing", 1.0) is True
    assert sum(count for *_, count, _latest in r.ended(30.0)) == 500 - 33


def test_identical_notices_collapse_and_the_actor_always_hears(make_harness) -> None:
    h = make_harness()
    op, other = opered(h), opered(h, "op2")
    rb_owner = h.server.replies(op.client)
    for _ in range(3):
        h.server.notice_opers("sysop switched the transmitter OFF", rb_owner, "r")
        rb_owner.flush()
    # The one who acted hears every answer; the others hear it once, then the count.
    assert notices_of(op) == ["*** RADIO: sysop switched the transmitter OFF"] * 3
    assert notices_of(other) == ["*** RADIO: sysop switched the transmitter OFF"]
    h.scheduler.advance(snomask_window() + 5)
    repeated = "*** RADIO: last message repeated 2 times: sysop switched the transmitter OFF"
    assert notices_of(other) == notices_of(op) == [repeated]
    # Muted: MODE +s -r and the letter's notices stop.
    other.send("MODE op2 +s -r")
    other.take()
    h.server.notice_opers("vhf: TNC connection lost", None, "r", kind="lost", source="vhf")
    assert notices_of(other) == []
    assert notices_of(op) == ["*** RADIO: vhf: TNC connection lost"]


def test_connect_notice_has_port_tls_realname_and_account(make_harness) -> None:
    from ircd.welcome import connecting

    h = make_harness()
    op = opered(h)
    op.send("MODE op +s +c")
    op.take()
    sink = ListSink()
    client = h.server.connect(sink, ip="198.51.100.20", tls=True, port=6697)
    assert client is not None
    h.server.receive(client, b"NICK dx\r\nUSER dx 0 * :Dee Ex\r\n")
    assert notices_of(op) == [
        "*** CONNECT: Client connecting on port 6697 (TLS): dx!~dx@198.51.100.20 "
        "(198.51.100.20) [Dee Ex]"
    ]
    client.account = "N0CALL"
    client.websocket = True
    assert connecting(client) == (
        "Client connecting on port 6697 (WebSocket, TLS): dx!~dx@198.51.100.20 "
        "(198.51.100.20) logged in as N0CALL [Dee Ex]"
    )


class RadioHooks:
    """An embedder that knows one radio user (as the gateway does)."""

    def nick_reserved(self, client, nick):  # type: ignore[no-untyped-def]
        return None

    def message_to_absent(self, client, nick, command, text):  # type: ignore[no-untyped-def]
        return False

    def target_alias(self, name):  # type: ignore[no-untyped-def]
        return None

    def whois_for_opers(self, user):  # type: ignore[no-untyped-def]
        return ["is on the air through BPQ node1, logged in 2026-12-07 12:00Z"] * (
            user.nick == "N0CALL"
        )


def test_whois_shows_radio_details_and_certfp_to_opers_only(make_harness) -> None:
    h = make_harness(hooks=RadioHooks())
    h.user("N0CALL")
    sink = ListSink()
    tls = h.server.connect(sink, ip="198.51.100.30", tls=True, certfp="ab" * 32, port=6697)
    assert tls is not None
    h.server.receive(tls, b"NICK certy\r\nUSER certy 0 * :C\r\n")
    plain = h.user("plain")
    op = opered(h)
    for who in ("N0CALL", "certy"):
        plain.send(f"WHOIS {who}")
        assert not {"276", "320"} & set(plain.commands())
    op.send("WHOIS N0CALL")
    [special] = [m.params for m in op.take() if m.command == "320"]
    on_air = "is on the air through BPQ node1, logged in 2026-12-07 12:00Z"
    assert special == ("op", "N0CALL", on_air)
    op.send("WHOIS certy")
    [fp] = [m.params for m in op.take() if m.command == "276"]
    assert fp == ("op", "certy", f"has client certificate fingerprint {'ab' * 32}")
    sink.data.clear()
    h.server.receive(tls, b"WHOIS certy\r\n")  # the user themself sees their own
    assert b" 276 certy certy :has client certificate fingerprint " in bytes(sink.data)


class PlainAccounts:
    async def check_password(self, account, password, address, *, browser=False):  # type: ignore[no-untyped-def]
        return Login("N0CALL", "apppass:3") if password == "right" else None

    async def account_for_certfp(self, certfp):  # type: ignore[no-untyped-def]
        return None


def test_sasl_logins_and_failures_are_told_under_u_without_the_password(make_harness) -> None:
    h = make_harness(accounts=PlainAccounts(), sync=True)
    op = opered(h)
    for nick, password in (("guess", "wrong-secret"), ("n0call", "right")):
        c = h.connect("198.51.100.40")
        c.send("CAP LS 302", "CAP REQ :sasl", f"NICK {nick}", "USER n0call 0 * :r")
        c.send("AUTHENTICATE PLAIN")
        blob = base64.b64encode(f"\0N0CALL\0{password}".encode()).decode()
        c.send(f"AUTHENTICATE {blob}")
        h.settle()
        c.send("CAP END")
    said = notices_of(op)
    assert said == [
        "*** SASL: Failed SASL PLAIN login as 'N0CALL' by guess (~n0call@198.51.100.40) "
        "[198.51.100.40]: refused",
        "*** SASL: n0call (~n0call@198.51.100.40) [198.51.100.40] logged in as N0CALL with "
        "PLAIN (apppass:3)",
    ]
    assert not any("wrong-secret" in s or "right" in s.split("with")[-1] for s in said)
    # A code typed in the name field (the fields swapped) is never shown.
    c = h.connect("198.51.100.42")
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK swapped", "USER s 0 * :r", "AUTHENTICATE PLAIN")
    c.send("AUTHENTICATE " + base64.b64encode(b"\0" + b"123456\0N0CALL").decode())
    h.settle()
    [failed] = notices_of(op)
    assert "123456" not in failed and "as (not an account name) by swapped" in failed
    op.send("MODE op +s -u")
    op.take()
    c = h.connect("198.51.100.41")
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK x", "USER x 0 * :r", "AUTHENTICATE FOO")
    assert notices_of(op) == []


def test_operators_guide_lists_every_snomask_letter_with_its_title() -> None:
    from pathlib import Path

    from ircd.snomask import DEFAULT, LETTERS

    guide = (Path(__file__).parents[2] / "docs" / "OPERATORS.md").read_text()
    rows = re.findall(r"^\| `(\w)` \| ([A-Z, ]+) \|", guide, re.MULTILINE)
    assert {letter: title.split(",")[0] for letter, title in rows} == {
        letter: spec.title for letter, spec in LETTERS.items()
    }
    assert f"`+{DEFAULT}`" in guide
