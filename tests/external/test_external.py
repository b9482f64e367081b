"""`irc.mode: external` against real networks: ngircd, InspIRCd, two linked InspIRCd.

Each test starts the IRC server(s) from Debian on free loopback ports, then the real
`gateway run` as a subprocess in external mode, a BPQ-style radio user over telnet,
and a plain IRC client on the network.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pyotp
import pytest

from bench import irc_peers as peers
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_bridge_e2e import bridge_config, radio_login
from tests.gateway.test_mqtt_e2e import Broker, subscriber
from tests.ircd.conftest import LiveClient

pytestmark = pytest.mark.slow

Spawn = Callable[[Path], GatewayProcess]


@pytest.fixture
async def started() -> AsyncIterator[list[peers.IrcPeer]]:
    """IRC servers a test started; each is killed by its PID at the end."""
    running: list[peers.IrcPeer] = []
    try:
        yield running
    finally:
        for peer in running:
            await peer.stop()


def external_config(
    directory: Path,
    peer: peers.IrcPeer,
    bpq: int,
    extra: str = "",
    third_party: str = "all",
    external: str = "",
) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "gateway.yaml"
    path.write_text(
        f"data_dir: {directory / 'data'}\n"
        "auth: {failure_pause: 0}\n"
        "irc:\n  mode: external\n  network: TestNet\n"
        f"  external: {{host: 127.0.0.1, port: {peer.port},"
        f" webirc_password: {peers.WEBIRC_PASSWORD}{external}}}\n"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        " bytes_per_second: 1000000, packet_bytes: 4096}\n"
        f"bridge:\n  third_party: {third_party}\n" + extra
    )
    return path


async def irc_user(peer: peers.IrcPeer, nick: str, channel: str) -> LiveClient:
    irc = await LiveClient.connect(peer.port)
    await irc.register(nick)
    await irc.send(f"JOIN {channel}")
    await irc.expect("366")
    return irc


async def linked(client: LiveClient, server: str) -> None:
    """Wait until `server` is linked to the client's server (LINKS lists it)."""
    async with asyncio.timeout(30):
        while True:
            await client.send("LINKS")
            names = []
            while (msg := await client.expect("364", "365")).command == "364":
                names.append(msg.params[1])
            if server in names:
                return
            await asyncio.sleep(0.2)  # autoconnect retries every second


async def linked_inspircd(
    base: Path, started: list[peers.IrcPeer]
) -> tuple[peers.IrcPeer, peers.IrcPeer, LiveClient]:
    """Two linked InspIRCd servers, and a client on the first watching #net once the
    second is linked."""
    one = peers.inspircd(base / "one", "one.inspircd.test", "9AA")
    two = peers.inspircd(base / "two", "two.inspircd.test", "9BB")
    peers.link(one, two)
    return one, two, await start_linked(one, two, started, [one, two])


async def start_linked(
    one: peers.IrcPeer,
    two: peers.IrcPeer,
    started: list[peers.IrcPeer],
    order: list[peers.IrcPeer],
) -> LiveClient:
    """Start two servers configured to link (in `order`), and a client on `one`
    watching #net once `two` is linked."""
    started.extend(order)
    for peer in order:
        await peer.start()
    watcher = await irc_user(one, "watcher", "#net")
    await linked(watcher, two.server_name)
    return watcher


async def running(
    make: Callable[[Path], peers.IrcPeer], directory: Path, started: list[peers.IrcPeer]
) -> peers.IrcPeer:
    """One server made by `make`, started (and killed at the end by `started`)."""
    peer = make(directory)
    started.append(peer)
    await peer.start()
    return peer


async def back_in_test(ham: Client) -> None:
    """The one line after a reconnection: back in #test, and what may have been missed
    (ngircd keeps no history)."""
    got = await ham.expect("said meanwhile is lost.\r\n")
    assert re.search(rb"\nIRC network back after \d+ s; rejoining #test\. Anything said "
                     rb"meanwhile is lost\.\r\n$", b"\n" + got), got  # fmt: skip


async def gateway_on(
    spawn: Spawn,
    directory: Path,
    peer: peers.IrcPeer,
    call: str,
    extra: str = "",
    third_party: str = "all",
    external: str = "",
) -> tuple[GatewayProcess, int, pyotp.TOTP]:
    """A gateway in external mode on `peer`, with `call` enrolled, its service on IRC."""
    bpq = free_port()
    config = external_config(directory, peer, bpq, extra, third_party, external)
    totp = enroll(config, call)
    gw = spawn(config)
    await gw.start()
    await gw.wait_log("the service nick .* is on IRC")
    return gw, bpq, totp


@pytest.mark.parametrize("make", [peers.ngircd, peers.inspircd], ids=["ngircd", "inspircd"])
async def test_radio_user_chats_on_an_external_network(
    tmp_path: Path,
    spawn_gateway: Spawn,
    started: list[peers.IrcPeer],
    make: Callable[[Path], peers.IrcPeer],
) -> None:
    peer = await running(make, tmp_path / "ircd", started)
    gw, bpq, totp = await gateway_on(spawn_gateway, tmp_path / "gw", peer, "N0TEST")
    step = int(time.time() // 30)

    ham = await radio_login(bpq, "N0TEST-5", totp.at(step * 30))
    ham.send(b"/j #test\r")
    assert (await ham.expect("\r\n")).startswith(b"Joined #test")

    alice = await irc_user(peer, "alice", "#test")
    await alice.send("PRIVMSG #test :hello radio \x02world\x02")
    assert (await ham.expect("\r\n")) == b"alice: hello radio world\r\n"
    ham.send(b"good evening from the air\r")
    msg = await alice.expect("PRIVMSG")
    assert msg.source is not None and msg.source.startswith("N0TEST-5!")
    assert msg.params == ("#test", "good evening from the air")
    await alice.send("WHOIS N0TEST-5")
    assert (await alice.expect("311")).params[-1] == "N0TEST-5 (BPQ)"
    await alice.send("PRIVMSG N0TEST-5 :a private word")
    assert (await ham.expect("\r\n")).endswith(b"*alice* a private word\r\n")
    ham.send(b"/b\r")
    assert (await ham.expect_close()).endswith(b"73!\r\n")
    assert (await alice.expect("QUIT")).source.startswith("N0TEST-5!")  # type: ignore[union-attr]

    # Off the air, the service nick takes mail for the callsign.
    await alice.send("PRIVMSG Gateway :N0TEST are you there?")
    held = await alice.expect("NOTICE")
    assert held.source is not None and held.source.startswith("Gateway!")
    assert "held" in held.params[-1]
    # A callsign nick that is not that radio user's (nobody keeps nicks here): refused.
    fake = await LiveClient.connect(peer.port)
    await fake.register("N0ZZZ")
    await fake.send("PRIVMSG Gateway :N0TEST it is me, honest")
    assert (await fake.expect("NOTICE")).params[-1] == (
        "Not held for N0TEST: your nick is or looks like a callsign; choose another nick"
        " (third-party rule)."
    )
    ham = await radio_login(bpq, "N0TEST", totp.at((step + 1) * 30))
    assert await ham.expect("/READ\r\n") == b"1 new message, /READ\r\n"
    ham.send(b"/read\r")
    mail = await ham.expect("there?\r\n")
    assert b"alice (not logged in): are you there?" in mail
    await fake.close()
    ham.send(b"/q\r")
    await ham.expect_close()
    await alice.close()
    assert await gw.stop() == 0


async def test_two_gateways_on_two_linked_inspircd(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    one, two, watcher = await linked_inspircd(tmp_path, started)

    gw_a, bpq_a, totp_a = await gateway_on(
        spawn_gateway, tmp_path / "a", one, "N0AAA", "  service_nick: GatewayA\n"
    )
    gw_b, bpq_b, totp_b = await gateway_on(
        spawn_gateway, tmp_path / "b", two, "N0BBB", "  service_nick: GatewayB\n"
    )
    step = int(time.time() // 30)
    ham_a = await radio_login(bpq_a, "N0AAA", totp_a.at(step * 30))
    ham_b = await radio_login(bpq_b, "N0BBB", totp_b.at(step * 30))
    ham_a.send(b"/j #net\r")
    await ham_a.expect("Joined #net")
    ham_b.send(b"/j #net\r")
    await ham_b.expect("Joined #net")
    await ham_b.expect("users.\r\n")
    ham_b.send(b"/who\r")  # the other gateway's radio user is there, by callsign
    await ham_b.expect("N0AAA")

    ham_a.send(b"hello from gateway A\r")
    assert (await ham_b.expect("hello from gateway A\r\n")).endswith(
        b"N0AAA: hello from gateway A\r\n"
    )
    ham_b.send(b"/msg N0AAA and back from B\r")
    assert (await ham_a.expect("and back from B\r\n")).endswith(b"*N0BBB* and back from B\r\n")
    for ham in (ham_a, ham_b):
        ham.send(b"/b\r")
        await ham.expect_close()
    await watcher.close()
    assert await gw_a.stop() == 0
    assert await gw_b.stop() == 0


async def test_a_network_outage_is_one_line_and_the_session_goes_on(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    peer = peers.ngircd(tmp_path / "ircd")
    started.append(peer)
    await peer.start()
    gw, bpq, totp = await gateway_on(spawn_gateway, tmp_path / "gw", peer, "N0TEST")
    ham = await radio_login(bpq, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/j #test\r")
    assert (await ham.expect("\r\n")).startswith(b"Joined #test")

    await peer.stop()  # the network goes away without a word
    assert await ham.expect("\r\n") == b"IRC network lost (connection lost); reconnecting.\r\n"
    ham.send(b"anyone?\r")
    await ham.expect("Not sent: reconnecting to IRC, try again shortly.\r\n")
    ham.send(b"/info\r")  # the session itself goes on
    await ham.expect("N0TEST-5")
    await peer.start()
    await back_in_test(ham)

    alice = await irc_user(peer, "alice", "#test")
    ham.send(b"back on the air\r")
    msg = await alice.expect("PRIVMSG")
    assert msg.source is not None and msg.source.startswith("N0TEST-5!")
    assert msg.params == ("#test", "back on the air")
    await alice.send("PRIVMSG #test :welcome back")
    await ham.expect("alice: welcome back\r\n")
    ham.send(b"/b\r")
    await ham.expect_close()
    await alice.close()
    assert await gw.stop() == 0


async def test_a_network_with_accounts_gets_a_sasl_login(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    """The network here is another gateway's embedded server: its accounts are the
    callsigns, and an application password logs in with SASL PLAIN."""
    irc_port, bpq_b = free_port(), free_port()
    (tmp_path / "b").mkdir()
    config_b = bridge_config(tmp_path / "b", bpq_b, irc_port)
    enroll(config_b, "N0TEST")
    made = run_cli(config_b, "apppass", "add", "N0TEST", "gateway A")
    assert made.returncode == 0, made.stderr
    password = made.stdout.split("never again):\n", 1)[1].split()[0]
    gw_b = spawn_gateway(config_b)
    await gw_b.start()

    network = peers.IrcPeer("gateway B", irc_port, [], tmp_path / "b")
    gw_a, bpq_a, totp = await gateway_on(
        spawn_gateway, tmp_path / "a", network, "N0TEST", "  service_nick: GatewayA\n"
    )
    config_a = tmp_path / "a" / "gateway.yaml"
    stored = run_cli(config_a, "irc-login", "set", "N0TEST", stdin=password + "\n")
    assert stored.returncode == 0, stored.stderr
    assert password not in stored.stdout + stored.stderr
    listed = run_cli(config_a, "irc-login", "list").stdout
    assert "N0TEST" in listed and password not in listed
    assert password.encode() not in (tmp_path / "a" / "data" / "gateway.db").read_bytes()

    ham = await radio_login(bpq_a, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
    alice = await LiveClient.connect(irc_port)
    await alice.register("alice")
    # The nick of a callsign is kept for its account: N0TEST-5 only with the login.
    await alice.send("WHOIS N0TEST-5")
    whois = await alice.expect("330")
    assert whois.params[1:3] == ("N0TEST-5", "N0TEST")
    ham.send(b"/b\r")
    await ham.expect_close()
    await alice.close()
    assert await gw_a.stop() == 0
    assert await gw_b.stop() == 0


async def test_bulletins_are_posted_on_the_network(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        peer = peers.inspircd(tmp_path / "ircd")
        started.append(peer)
        await peer.start()
        alice = await irc_user(peer, "alice", "#wx")
        feed = "{topic: wx/alerts, channel: wx, nick: WX, min_interval: 0, on_air: true}"
        mqtt = f"mqtt: {{port: {broker.port}, prefix: test, name: gw, bulletins: [{feed}]}}\n"
        gw, bpq, totp = await gateway_on(
            spawn_gateway, tmp_path / "gw", peer, "N0TEST", mqtt, third_party="identified"
        )
        sub = await subscriber(broker.port)
        await gw.wait_log("MQTT: connected to")
        joined = await alice.expect("JOIN")  # the poster is a client of the network too
        assert joined.source is not None and joined.source.startswith("WX!")
        ham = await radio_login(bpq, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
        ham.send(b"/j #wx\r")
        assert (await ham.expect("\r\n")).startswith(b"Joined #wx")
        # Under `identified`, alice (no account here) stays off the air; the bulletin
        # goes on: WX is trusted as the gateway's own client, by its full source.
        await alice.send("PRIVMSG #wx :not for the air")
        await sub.publish("wx/alerts", "Storm warning: gusts 90 km/h", qos=1)
        msg = await alice.expect("PRIVMSG")
        assert msg.source is not None and msg.source.startswith("WX!")
        assert msg.params == ("#wx", "Storm warning: gusts 90 km/h")
        assert await ham.expect("\r\n") == b"WX: Storm warning: gusts 90 km/h\r\n"
        await sub.__aexit__(None, None, None)
        await alice.close()
        assert await gw.stop() == 0
    finally:
        broker.stop()
