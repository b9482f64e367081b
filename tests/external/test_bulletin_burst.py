"""Bulletins on a real network: a burst against InspIRCd's stock flood limits is paced,
not killed (`RecvQ exceeded`), and what it drops is logged once; a feed that two
gateways subscribe to is posted once, and taken over when the gateway posting it goes;
a bulletin sent while the gateway was stopped is posted when it is back (the broker kept
it for the gateway's persistent session); one sent while the poster's own lost connection
still held its nick is posted once that ghost is gone."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import pytest

from bench import irc_peers as peers
from gateway.events.poster import REFUSED_MAX
from tests.external.test_external import Spawn, gateway_on, irc_user, linked_inspircd, started
from tests.gateway.support import GatewayProcess
from tests.gateway.test_mqtt_e2e import Broker, subscriber
from tests.ircd.conftest import LiveClient

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture, shared

BURST = 30  # 30 lines of 300 characters: past InspIRCd's 8K RecvQ if sent at once


async def test_a_burst_of_bulletins_is_paced_within_the_flood_limits(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        peer = peers.inspircd(tmp_path / "ircd", stock_flood=True)
        started.append(peer)
        await peer.start()
        alice = await irc_user(peer, "alice", "#wx")
        feed = "{topic: wx/alerts, channel: wx, nick: WX, min_interval: 0}"
        mqtt = f"mqtt: {{port: {broker.port}, prefix: test, name: gw, bulletins: [{feed}]}}\n"
        gw, _, _ = await gateway_on(spawn_gateway, tmp_path / "gw", peer, "N0TEST", mqtt)
        sub = await subscriber(broker.port)
        await gw.wait_log("MQTT: connected to")
        await alice.expect("JOIN")
        for i in range(BURST):
            await sub.publish("wx/alerts", f"{i:02d} " + "x" * 400, qos=1)
        got = []
        while len(got) < 16:  # the poster's queue; the rest were dropped
            msg = await alice.expect("PRIVMSG", "QUIT")
            assert msg.command == "PRIVMSG", msg  # a QUIT would be the poster killed
            got.append(msg.params[1][:2])
        assert got == [f"{i:02d}" for i in range(16)]
        await gw.wait_log("bulletins on wx/alerts dropped")
        await sub.publish("wx/alerts", "after the burst", qos=1)
        while (msg := await alice.expect("PRIVMSG", "QUIT")).params[1] != "after the burst":
            assert msg.command == "PRIVMSG", msg
        await gw.wait_log(r"\d+ bulletin\(s\) on wx/alerts were dropped before this one")
        await sub.__aexit__(None, None, None)
        await alice.close()
        assert await gw.stop() == 0
    finally:
        broker.stop()


async def posted(watcher: LiveClient, until: str) -> list[tuple[str, str]]:
    """(poster nick, text) of every PRIVMSG the watcher reads, up to `until` included."""
    got = []
    while True:
        msg = await watcher.expect("PRIVMSG")
        assert msg.source is not None
        got.append((msg.source.split("!")[0], msg.params[1]))
        if msg.params[1] == until:
            return got


async def takes_over(gw: GatewayProcess) -> None:
    """Wait for `gw`'s poster to hold the nick: within its longest backoff (and a margin)."""
    for _ in range(int(REFUSED_MAX * 1.25 / 20) + 2):  # wait_log's bound is 20 s
        with contextlib.suppress(TimeoutError):
            await gw.wait_log("bulletin nick WX is on IRC")
            return
    raise AssertionError("the standing-by poster never took the nick over")


async def test_a_feed_two_gateways_subscribe_to_is_posted_once_and_taken_over(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        one, two, watcher = await linked_inspircd(tmp_path, started)
        feed = "{topic: wx/alerts, channel: net, nick: WX, min_interval: 0}"
        gws = []
        for name, peer, call in (("gwa", one, "N0AAA"), ("gwb", two, "N0BBB")):
            mqtt = f"mqtt: {{port: {broker.port}, prefix: club, name: {name}, bulletins: [{feed}]}}"
            service = f"  service_nick: Gateway{name[-1].upper()}\n"
            gw, _, _ = await gateway_on(
                spawn_gateway, tmp_path / name, peer, call, f"{service}{mqtt}\n"
            )
            await gw.wait_log("MQTT: connected to")
            gws.append(gw)
        # One gateway's poster holds the nick WX; the other's is refused and stands by.
        waits = {asyncio.ensure_future(gw.wait_log("bulletin nick WX is on IRC")): gw for gw in gws}
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        holder = waits[done.pop()]
        standby = next(gw for gw in gws if gw is not holder)
        await standby.wait_log("bulletin nick WX refused by IRC")
        sub = await subscriber(broker.port)
        await sub.publish("wx/alerts", "Storm warning", qos=1)
        await sub.publish("wx/alerts", "Gusts 90 km/h", qos=1)
        # Both gateways hold both bulletins; each line is posted once.
        assert await posted(watcher, "Gusts 90 km/h") == [
            ("WX", "Storm warning"), ("WX", "Gusts 90 km/h"),
        ]  # fmt: skip
        # The gateway posting goes away: the other takes the feed over.
        assert await holder.stop() == 0
        await takes_over(standby)
        await sub.publish("wx/alerts", "All clear", qos=1)
        assert await posted(watcher, "All clear") == [("WX", "All clear")]
        await sub.__aexit__(None, None, None)
        await watcher.close()
        assert await standby.stop() == 0
    finally:
        broker.stop()


async def test_a_bulletin_sent_while_the_gateway_was_stopped_is_posted_when_it_is_back(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    broker = Broker(tmp_path)
    broker.start()
    try:
        peer = peers.ngircd(tmp_path / "ircd")
        started.append(peer)
        await peer.start()
        alice = await irc_user(peer, "alice", "#wx")  # stays on while the gateway is away
        feed = "{topic: wx/alerts, channel: wx, nick: WX, min_interval: 0}"
        mqtt = f"mqtt: {{port: {broker.port}, prefix: test, name: gw, bulletins: [{feed}]}}\n"
        gw, _, _ = await gateway_on(spawn_gateway, tmp_path / "gw", peer, "N0TEST", mqtt)
        await gw.wait_log("MQTT: connected to")
        assert await gw.stop() == 0
        sub = await subscriber(broker.port)
        await sub.publish("wx/alerts", "Sent while the gateway was stopped", qos=1)
        again = spawn_gateway(gw.config)
        await again.start()
        assert await posted(alice, "Sent while the gateway was stopped") == [
            ("WX", "Sent while the gateway was stopped")
        ]
        await sub.__aexit__(None, None, None)
        await alice.close()
        assert await again.stop() == 0
    finally:
        broker.stop()


class Relay:
    """One relayed connection: both ends, and whether it went silent."""

    def __init__(self, ends: tuple[asyncio.StreamWriter, asyncio.StreamWriter]) -> None:
        self.ends = ends
        self.frozen = False

    def close(self) -> None:
        for writer in self.ends:
            writer.close()


class FreezingProxy:
    """A TCP relay to `port` that can go silent on the connections it has (`freeze`: the
    gateway's ping timeout gives them up while the server still holds them, as after a
    network blip: nothing passes, not even the gateway's close) and later close them
    (`release`: the server sees them go)."""

    def __init__(self, port: int) -> None:
        self.port = 0
        self._upstream = port
        self._relays: list[Relay] = []
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._upstream)
        relay = Relay((writer, up_writer))
        self._relays.append(relay)
        pipes = (self._pipe(reader, up_writer, relay), self._pipe(up_reader, writer, relay))
        await asyncio.gather(*pipes, return_exceptions=True)

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, relay: Relay
    ) -> None:
        while data := await reader.read(4096):
            if not relay.frozen:
                writer.write(data)
        if not relay.frozen:
            relay.close()

    def freeze(self) -> list[Relay]:
        """Go silent on every connection relayed so far (new ones are relayed)."""
        frozen, self._relays = self._relays, []
        for relay in frozen:
            relay.frozen = True
        return frozen

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for relay in self._relays:
            relay.close()


async def test_a_bulletin_sent_while_the_posters_ghost_holds_its_nick_is_posted(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    """A network blip: the gateway gives its connections up (its ping timeout), the server
    does not notice (ngircd's ping timeout is 10 minutes here) and keeps the poster's nick
    for the lost connection. A bulletin that comes meanwhile is kept, not dropped, and
    posted once the server lets the ghost go."""
    broker = Broker(tmp_path)
    broker.start()
    proxy: FreezingProxy | None = None
    try:
        peer = peers.ngircd(tmp_path / "ircd")
        started.append(peer)
        await peer.start()
        proxy = FreezingProxy(peer.port)
        await proxy.start()
        alice = await irc_user(peer, "alice", "#wx")
        feed = "{topic: wx/alerts, channel: wx, nick: WX, min_interval: 0}"
        mqtt = f"mqtt: {{port: {broker.port}, prefix: test, name: gw, bulletins: [{feed}]}}\n"
        relayed = dataclasses.replace(peer, port=proxy.port)
        gw, _, _ = await gateway_on(spawn_gateway, tmp_path / "gw", relayed, "N0TEST", mqtt,
                                    external=", ping_timeout: 10")  # fmt: skip
        await gw.wait_log("MQTT: connected to")
        await alice.expect("JOIN")  # WX
        frozen = proxy.freeze()
        for _ in range(3):  # the ping timeout (10 s), then a try within seconds
            with contextlib.suppress(TimeoutError):
                await gw.wait_log("bulletin nick WX refused by IRC .* its own lost connection")
                break
        else:
            raise AssertionError("the poster never met its ghost")
        sub = await subscriber(broker.port)
        await sub.publish("wx/alerts", "Sent while the ghost held WX", qos=1)
        await gw.wait_log("bulletins for WX kept until it is on IRC")
        since = len(gw.log)
        for relay in frozen:  # the server sees the lost connections go at last
            relay.close()
        quit_ = await alice.expect("QUIT")  # the ghost goes
        assert quit_.source is not None and quit_.source.startswith("WX!")
        await gw.wait_log("bulletin nick WX is on IRC", since)  # within GHOST_RETRY
        assert await posted(alice, "Sent while the ghost held WX") == [
            ("WX", "Sent while the ghost held WX")
        ]
        await sub.__aexit__(None, None, None)
        await alice.close()
        assert await gw.stop() == 0
    finally:
        if proxy is not None:
            proxy.close()
        broker.stop()
