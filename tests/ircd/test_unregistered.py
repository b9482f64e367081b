"""Registering connections have slots of their own; a flood of them keeps no login out
(issue 19, finding 4), and neither the registered places nor the throttle refuse one."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import random
from pathlib import Path

import pytest

from ircd import net
from ircd.client import Client
from ircd.config import ConfigError, IrcConfig, Limits, load_irc_config
from ircd.inprocess import InProcessConnection
from ircd.throttle import ThrottleConfig
from ircd.unregistered import SCAN, Counted, in_sasl, network_of
from tests.ircd.conftest import CoreClient, Harness, ListSink
from tests.tlscerts import self_signed

OWNER = "192.0.2.1"


class Accounts:
    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return "K1ABC" if password == "right" else None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return "K1ABC" if certfp == "ab" * 32 else None


def plain(password: str) -> str:
    return base64.b64encode(f"\0K1ABC\0{password}".encode()).decode()


class Flood:
    """Silent sockets from `addresses`, each reconnecting as soon as it is dropped."""

    def __init__(self, h: Harness, addresses: list[str]) -> None:
        self.h = h
        self.addresses = addresses
        self.held: list[tuple[str, ListSink]] = []
        self.sent = 0

    def connect(self, ip: str) -> None:
        self.sent += 1
        sink = ListSink()
        if self.h.server.connect(sink, ip=ip) is not None:
            self.held.append((ip, sink))

    def fill(self, per_address: int) -> None:
        for ip in self.addresses:
            for _ in range(per_address):
                self.connect(ip)

    def churn(self, times: int) -> None:
        """Reconnect every dropped socket, `times` times over (a flood that goes on)."""
        for _ in range(times):
            dropped = [ip for ip, sink in self.held if sink.closed]
            self.held = [(ip, sink) for ip, sink in self.held if not sink.closed]
            for ip in dropped or self.addresses[:1]:
                self.connect(ip)


def owner_logs_in(h: Harness, flood: Flood, external: bool = False) -> CoreClient:
    """The owner's SASL login (PLAIN, or EXTERNAL with a bound certificate), step by
    step, with the flood going on between steps."""
    owner = h.connect(OWNER)
    if external:
        owner.client.certfp = "ab" * 32  # as the TLS listener would have set it
    for step in (
        ("CAP LS 302",),
        ("CAP REQ :sasl", "NICK K1ABC", "USER k1abc 0 * :Owner"),
        ("AUTHENTICATE EXTERNAL" if external else "AUTHENTICATE PLAIN",),
        ("AUTHENTICATE " + ("+" if external else plain("right")),),
    ):
        flood.churn(20)
        assert not owner.sink.closed, bytes(owner.sink.data)
        owner.send(*step)
    flood.churn(20)
    h.settle()  # the password check
    flood.churn(20)
    owner.send("CAP END")
    assert "001" in owner.commands() and owner.client.account == "K1ABC"
    return owner


def test_network_keys() -> None:
    assert network_of("192.0.2.77") == "192.0.2.0/24" == network_of("::ffff:192.0.2.1")
    assert network_of("2001:db8:1:2::1") == network_of("2001:db8:1:ffff::9")
    assert network_of("2001:db8:1::1") != network_of("2001:db8:2::1")


def test_a_socket_flood_keeps_no_sasl_login_out(make_harness) -> None:
    """Finding 4 at a small scale: 8 addresses x 4 sockets against 8 registering slots
    (the total of 16 that filled the server before). The owner logs in 4 times of 4,
    twice with a password and twice with a certificate."""
    h: Harness = make_harness(
        sync=True, accounts=Accounts(), max_unregistered=8, max_per_address=4, max_clients=16
    )
    flood = Flood(h, [f"198.51.100.{i}" for i in range(1, 9)])
    flood.fill(4)
    assert len(h.server.admission.unregistered) == 8
    for i in range(4):
        owner = owner_logs_in(h, flood, external=i % 2 == 1)
        h.server.disconnect(owner.client, "bye")
    assert h.server.admission.made_room > 100  # the flood went on all along
    assert len(h.server.admission.unregistered) <= 8
    assert len(h.server.clients) <= 8 + 16


def test_before_sasl_the_owner_keeps_its_slot_against_fewer_places(make_harness) -> None:
    """Silent owner too (typing nothing yet): it is the place holding the fewest slots."""
    h: Harness = make_harness(max_unregistered=8, max_per_address=0)
    flood = Flood(h, ["198.51.100.7"])
    flood.fill(7)
    owner = h.connect(OWNER)
    flood.churn(100)
    assert not owner.sink.closed and flood.sent == 107


def test_who_makes_room(make_harness) -> None:
    h: Harness = make_harness(sync=True, accounts=Accounts(), max_unregistered=4)
    room = h.server.admission.unregistered
    # Network first: the /24 holding two slots loses one (its oldest) before any lone one.
    a1, a2 = h.connect("198.51.100.1"), h.connect("198.51.100.2")
    lone, b = h.connect("203.0.113.1"), h.connect("192.0.2.9")
    assert room.victim() is a1.client  # its /24 holds two, the oldest of them
    h.connect("198.51.100.3")
    assert a1.sink.closed and not a2.sink.closed and len(room) == 4
    # Within one network, the source holding most goes first.
    h.server.disconnect(lone.client, "bye")
    h.connect("198.51.100.3")
    assert room.victim() is not None and room.victim().ip == "198.51.100.3"
    assert b.client in room


def test_sasl_in_progress_outranks_silence_and_logged_in_is_never_dropped(make_harness) -> None:
    h: Harness = make_harness(sync=True, accounts=Accounts(), max_unregistered=3)
    room = h.server.admission.unregistered
    quiet = h.connect("198.51.100.1")
    asking = h.connect("198.51.100.2")
    asking.send("CAP REQ :sasl", "AUTHENTICATE PLAIN")
    assert room.victim() is quiet.client  # oldest, and not in SASL either way
    quiet2 = h.connect("198.51.100.3")
    assert room.victim() is quiet.client
    h.server.disconnect(quiet.client, "bye")
    assert room.victim() is quiet2.client  # though asking is older
    # A failed SASL earns nothing.
    asking.send("AUTHENTICATE " + plain("wrong"))
    h.settle()
    assert room.victim() is asking.client
    # Logged in (waiting for CAP END): never dropped for a newcomer.
    for c in (asking, quiet2):
        h.server.disconnect(c.client, "bye")
    logged = []
    for i in range(3):
        c = h.connect(f"203.0.113.{i}")
        c.send("CAP REQ :sasl", "AUTHENTICATE PLAIN", "AUTHENTICATE " + plain("right"))
        h.settle()
        assert c.client.account == "K1ABC"
        logged.append(c)
    assert room.victim() is None
    sink, refused = h.connect_raw("192.0.2.200")
    assert refused is None and b"Server is full" in sink.data
    assert not any(c.sink.closed for c in logged)


def test_a_flood_from_more_networks_than_slots_drops_the_silent_first(make_harness) -> None:
    """The weakest case (one socket per /24): a silent newcomer lives until
    `max_unregistered - 1` newer ones arrived; one in a SASL exchange outlives every
    silent socket."""
    h: Harness = make_harness(sync=True, accounts=Accounts(), max_unregistered=8)
    for i in range(8):
        h.connect(f"10.0.{i}.1")
    owner = h.connect(OWNER)
    for i in range(7):
        h.connect(f"10.1.{i}.1")
    assert not owner.sink.closed
    h.connect("10.2.0.1")
    assert owner.sink.closed
    owner = h.connect(OWNER)
    owner.send("CAP REQ :sasl", "AUTHENTICATE PLAIN")
    for i in range(100):
        h.connect(f"10.3.{i}.1")
    assert not owner.sink.closed
    owner.send("AUTHENTICATE " + plain("right"), "NICK K1ABC", "USER k 0 * :k")
    h.settle()
    owner.send("CAP END")
    assert "001" in owner.commands()


def test_registered_places_keep_a_reserve_for_logins(make_harness) -> None:
    h: Harness = make_harness(sync=True, accounts=Accounts(), max_clients=4, login_reserve=2)
    assert h.server.config.limits.open_places() == 2
    h.user("guest1")
    h.user("guest2")
    third = h.connect("192.0.2.3")
    third.send("NICK guest3", "USER g 0 * :g")
    assert third.sink.closed and b"Server is full" in third.sink.data
    for i in range(2):
        c = h.connect(f"192.0.2.{10 + i}")
        c.send("CAP REQ :sasl", "AUTHENTICATE PLAIN", "AUTHENTICATE " + plain("right"))
        h.settle()
        c.send(f"NICK own{i}", "USER o 0 * :o", "CAP END")
        assert "001" in c.commands()
    late = h.connect("192.0.2.20")
    late.send("CAP REQ :sasl", "AUTHENTICATE PLAIN", "AUTHENTICATE " + plain("right"))
    h.settle()
    late.send("NICK own9", "USER o 0 * :o", "CAP END")
    assert late.sink.closed and b"Server is full" in late.sink.data
    with pytest.raises(Exception, match="full"):
        InProcessConnection.attach(h.server, nick="radio", user="r", host="h")
    # At most half of max_clients is kept.
    small: Harness = make_harness(max_clients=3, login_reserve=64)
    assert small.server.config.limits.open_places() == 2


def test_the_throttle_never_refuses_a_login(make_harness) -> None:
    """The verdict waits for CAP END, when SASL is over: a login passes and takes no token."""
    h: Harness = make_harness(
        sync=True,
        accounts=Accounts(),
        throttle=ThrottleConfig(new_users=2, period=3600, known_after=3600, start_delay=0),
    )
    for i in range(2):
        h.connect(f"203.0.113.{i}").register(f"guest{i}")
    for i in range(5):
        c = h.connect(f"198.51.100.{i}")
        c.send("CAP LS 302", "NICK K1ABC", "USER k 0 * :k", "CAP REQ :sasl")
        c.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + plain("right"))
        h.settle()
        c.send("CAP END")
        assert "001" in c.commands()
        h.server.disconnect(c.client, "bye")
    refused = h.connect("192.0.2.99")
    refused.send("NICK guest", "USER g 0 * :g")
    assert b"Throttled" in refused.sink.data  # the throttle is on


def test_limits_from_config(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text(
        "irc:\n  limits: {max_unregistered: 32, login_reserve: 8, registration_timeout: 5}\n",
        encoding="utf-8",
    )
    limits = load_irc_config(path).limits
    assert (limits.max_unregistered, limits.login_reserve) == (32, 8)
    assert limits.registration_timeout == 5
    defaults = Limits()
    assert (defaults.max_unregistered, defaults.registration_timeout) == (1024, 20)
    for wrong in (0, 1_000_001):
        path.write_text(f"irc:\n  limits: {{max_unregistered: {wrong}}}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match="max_unregistered"):
            load_irc_config(path)


async def test_a_silent_tls_handshake_ends_with_the_registration_timeout(
    tmp_path: Path, start_live_server
) -> None:
    """Before its handshake a TLS socket is no client and holds no registering slot:
    it gets `registration_timeout`, not asyncio's 60 s."""
    cert, key, _ = self_signed(tmp_path)
    server = start_live_server("limits: {registration_timeout: 1}\n", tls=(cert, key))
    reader, writer = await asyncio.open_connection("127.0.0.1", server.tls_port)
    try:
        async with asyncio.timeout(30):  # closed after about 1 s (60 s without the bound)
            assert await reader.read() == b""
    finally:
        writer.close()


def test_the_open_files_limit_is_raised_to_fit_the_clients(monkeypatch) -> None:
    """systemd's soft limit (1,024) is raised within the hard one, warning if short."""
    limits: dict[str, tuple[int, int]] = {}

    def setrlimit(which: int, values: tuple[int, int]) -> None:
        limits["set"] = values

    config = IrcConfig()
    monkeypatch.setattr(net.resource, "setrlimit", setrlimit)
    monkeypatch.setattr(net.resource, "getrlimit", lambda which: (1024, 524_288))
    assert net.raise_fd_limit(config) == net.FD_WANTED
    assert limits["set"] == (net.FD_WANTED, 524_288)
    big = dataclasses.replace(config, limits=Limits(max_clients=100_000))
    assert net.raise_fd_limit(big) == 100_000 + 1024 + net.FD_MARGIN
    # Short of what the clients need: as much as the hard limit allows, and a warning.
    monkeypatch.setattr(net.resource, "getrlimit", lambda which: (1024, 2048))
    assert net.raise_fd_limit(config) == 2048 and limits["set"] == (2048, 2048)
    limits.clear()
    monkeypatch.setattr(net.resource, "getrlimit", lambda which: (1024, 1024))
    assert net.raise_fd_limit(config) == 1024 and not limits
    monkeypatch.setattr(net.resource, "getrlimit", lambda which: (70_000, 70_000))
    assert net.raise_fd_limit(config) == 70_000 and not limits  # enough already

    def refused(which: int, values: tuple[int, int]) -> None:
        raise ValueError("not allowed to raise the current limit")

    monkeypatch.setattr(net.resource, "setrlimit", refused)
    monkeypatch.setattr(net.resource, "getrlimit", lambda which: (1024, 524_288))
    assert net.raise_fd_limit(config) == 1024  # kept, with a warning; the server starts


def test_counted_keeps_the_top_and_who_reached_it_first() -> None:
    counted = Counted()
    for key in ("a", "b", "a", "c", "b"):
        counted.add(key)
    assert (counted.top, list(counted.leaders())) == (2, ["a", "b"])
    counted.remove("a")
    assert (counted.top, list(counted.leaders())) == (2, ["b"])
    counted.remove("b")
    assert (counted.top, list(counted.leaders())) == (1, ["c", "a", "b"])
    for key in ("a", "b", "c", "zzz"):
        counted.remove(key)
    assert (counted.top, list(counted.leaders()), len(counted)) == (0, [], 0)


def rule(c: Client, waiting: list[Client]) -> tuple[int, int, bool, int]:
    """The module's rule for `c` among `waiting`, by brute force."""
    network = network_of(c.ip)
    return (
        sum(network_of(o.ip) == network for o in waiting),
        sum(o.ip == c.ip for o in waiting),
        not in_sasl(c),
        -c.id,
    )


def test_the_bucketed_choice_is_the_exact_one(make_harness) -> None:
    """Random tables no larger than `SCAN`: the choice equals the rule applied to every
    connection (networks, then sources, then SASL, then age), through adds and drops."""
    rng = random.Random(19)
    for _ in range(30):
        h: Harness = make_harness(sync=True, accounts=Accounts(), max_unregistered=SCAN)
        room = h.server.admission.unregistered
        live: list[CoreClient] = []
        for _ in range(200):
            if live and rng.random() < 0.3:
                h.server.disconnect(live.pop(rng.randrange(len(live))).client, "bye")
            elif len(room) < SCAN:
                c = h.connect(f"10.0.{rng.randrange(4)}.{rng.randrange(3)}")
                if rng.random() < 0.3:
                    c.send("CAP REQ :sasl", "AUTHENTICATE PLAIN")
                live.append(c)
            live = [c for c in live if not c.sink.closed]
            waiting = [c.client for c in live]
            if not waiting:
                continue

            assert room.victim() is max(waiting, key=lambda c, w=waiting: rule(c, w))
