"""Per source: connections per address, OPER failures, and OPER's own Argon2id queue."""

from __future__ import annotations

import asyncio
import base64

import argon2

from ircd.client import Client
from ircd.config import OperConfig
from ircd.inprocess import InProcessConnection
from ircd.sources import MAX_PENALIZED, ConnectionCounts, FailurePenalties, source_of
from tests.ircd.conftest import Harness, OrderedSink

CHEAP = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def test_source_of_groups_ipv6_by_64() -> None:
    assert source_of("192.0.2.7") == "192.0.2.7"
    assert source_of("::ffff:192.0.2.7") == "192.0.2.7"
    assert source_of("2001:db8:1:2:aaaa::1") == source_of("2001:db8:1:2:bbbb::9")
    assert source_of("2001:db8:1:2::1") != source_of("2001:db8:1:3::1")


def test_per_address_connection_limit(make_harness) -> None:  # type: ignore[no-untyped-def]
    h: Harness = make_harness(max_per_address=3)
    held = [h.connect("192.0.2.1") for _ in range(3)]  # silent sockets, never registered
    sink, refused = h.connect_raw("192.0.2.1")
    assert refused is None and sink.closed
    assert b"Too many connections from your address" in sink.data
    assert h.connect_raw("192.0.2.2")[1] is not None  # another address still gets in
    # In-process clients share the embedder's address but never count.
    for i in range(5):
        InProcessConnection.attach(
            h.server, nick=f"radio{i}", user="r", host="radio", ip="192.0.2.1"
        )
    h.server.disconnect(held[0].client, "bye")
    assert h.connect_raw("192.0.2.1")[1] is not None  # a slot freed by a close is reusable
    assert h.server.admission.connections.count("192.0.2.1") == 3


def test_per_address_limit_from_config(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ircd.config import load_irc_config

    path = tmp_path / "irc.yaml"
    path.write_text("irc:\n  limits: {max_per_address: 4, oper_penalty: 5}\n", encoding="utf-8")
    config = load_irc_config(path)
    assert config.limits.max_per_address == 4 and config.limits.oper_penalty == 5


def test_connection_counts_forget_closed_sources() -> None:
    counts = ConnectionCounts()
    counts.add("a"), counts.add("a"), counts.remove("a"), counts.remove("a")
    assert len(counts) == 0 and counts.count("a") == 0


def test_failure_penalties_openssh_style() -> None:
    p = FailurePenalties(per_failure=10, most=60)
    for _ in range(3):  # three free failures
        p.failed("a", 0.0)
    assert p.wait("a", 0.0) == 0.0
    p.failed("a", 0.0)
    assert p.wait("a", 0.0) == 10.0
    assert p.wait("a", 10.0) == 0.0  # it runs down in real time
    for _ in range(100):
        p.failed("a", 10.0)
    assert p.wait("a", 10.0) == 60 - 30  # capped at `most`
    assert p.wait("b", 10.0) == 0.0  # per source


def test_failure_penalties_are_bounded() -> None:
    p = FailurePenalties(per_failure=10, most=60)
    for i in range(MAX_PENALIZED + 50):
        p.failed(str(i), float(i) / 1000)
    assert len(p) == MAX_PENALIZED


def test_oper_failures_are_penalised_per_source(make_harness) -> None:  # type: ignore[no-untyped-def]
    h: Harness = make_harness(
        opers=(OperConfig("root", CHEAP.hash("right")),), oper_penalty=10, sync=True
    )
    h.server.passwords._dummy_hash = h.server.oper_passwords._dummy_hash = CHEAP.hash("x")
    a = h.connect("192.0.2.1").register("alice")
    for _ in range(3):
        a.send("OPER root wrong")
        h.settle()
        assert not a.sink.paused
    assert a.commands() == ["464"] * 3
    a.send("OPER root wrong")
    h.settle()
    assert not a.sink.paused
    a.take()
    a.send("OPER root right")  # refused without any check, even with the right password
    replies = a.take()
    assert [m.command for m in replies] == ["464"]
    assert "wait 10 seconds" in replies[0].params[-1]
    assert not a.sink.paused and a.client.oper is None
    b = h.connect("192.0.2.2").register("bob")  # another address is not affected
    b.send("OPER root right")
    h.settle()
    assert not b.sink.paused
    assert b.commands() == ["381", "MODE"]
    h.clock.now += 10
    a.send("OPER root right")
    h.settle()
    assert not a.sink.paused
    assert a.commands() == ["381", "MODE"]


def _noted_user(h: Harness, events: list[tuple[str, str]], name: str, ip: str) -> Client:
    """A registered client whose 464 and 381 are noted in `events`, in order."""
    client = h.server.connect(OrderedSink(name, events, ("464", "381")), ip=ip)
    assert client is not None
    h.server.receive(client, f"NICK {name}\r\nUSER u 0 * :u\r\n".encode())
    return client


def test_wrong_opers_from_many_sources_do_not_hold_up_a_real_one(make_harness) -> None:  # type: ignore[no-untyped-def]
    # Hostile review, finding 8 (t12.py): 60 addresses x 4 wrong OPERs delayed a real
    # OPER by 7 s. Checks answered before the real one are counted, for 10 and 60 sources.
    for sources in (10, 60):
        h: Harness = make_harness(opers=(OperConfig("root", CHEAP.hash("right")),), sync=True)
        events: list[tuple[str, str]] = []
        guessers = [
            _noted_user(h, events, f"g{i}x{k}", f"10.0.{i}.1")
            for i in range(sources)
            for k in (1, 2)
        ]
        for g in guessers[::2]:  # one failure each source: it owes a penalty now
            h.server.receive(g, b"OPER root wrong\r\n")
        h.settle()
        events.clear()
        for g in guessers:  # then two more each, all waiting for the two slots
            h.server.receive(g, b"OPER root wrong\r\n")
        h.server.receive(_noted_user(h, events, "realop", "203.0.113.1"), b"OPER root right\r\n")
        h.settle()
        assert len(events) == 2 * sources + 1  # every guess was checked
        assert events.index(("realop", "381")) <= h.server.config.limits.max_password_checks


class InstantAccounts:
    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return account if password == "right" else None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return None


def test_oper_checks_cannot_starve_sasl(make_harness) -> None:  # type: ignore[no-untyped-def]
    h: Harness = make_harness(
        opers=(OperConfig("root", CHEAP.hash("right")),), accounts=InstantAccounts(), sync=True
    )
    assert h.deferred is not None
    # Every OPER slot is busy, and more OPERs queue behind them.
    release = asyncio.Event()
    blockers = [
        h.deferred.start(h.server.oper_passwords.bounded(release.wait()))
        for _ in range(h.server.config.limits.max_password_checks)
    ]
    h.settle()
    opers = [h.connect(f"192.0.2.{i}").register(f"op{i}") for i in range(1, 6)]
    for o in opers:
        o.send("OPER root right")
    c = h.connect("198.51.100.1")
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK alice", "AUTHENTICATE PLAIN")
    c.send("AUTHENTICATE " + base64.b64encode(b"\0alice\0right").decode())
    h.settle()
    assert not c.sink.paused
    assert "903" in c.commands()  # SASL went through while OPER waited
    assert all(o.sink.paused for o in opers)
    release.set()
    h.settle()
    assert all(b.done() for b in blockers)
    for o in opers:
        assert not o.sink.paused
