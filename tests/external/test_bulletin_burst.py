"""A burst of bulletins against InspIRCd's stock flood limits: the poster is paced, not
killed (`RecvQ exceeded`), and what it drops is logged once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import irc_peers as peers
from tests.external.test_external import Spawn, gateway_on, irc_user, started
from tests.gateway.test_mqtt_e2e import Broker, subscriber

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
