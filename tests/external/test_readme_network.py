"""README's network with two gateways configured by its block as written (issue 20), on
two linked InspIRCd and on one ngircd, with Mosquitto as README says (one listener, a
username per gateway): a bulletin feed both gateways subscribe to with one poster nick
is posted once, and a server stopped with SIGSTOP is
noticed within `ping_timeout`, a line typed meanwhile is named as maybe not sent, and
the radio users of both gateways talk again once it is back."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import time
from pathlib import Path
from subprocess import run

import aiomqtt
import pytest

from bench import irc_peers as peers
from tests.external.test_bulletin_burst import posted
from tests.external.test_external import Spawn, irc_user, started
from tests.external.test_trust import networks, readme_gateway
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_mqtt_e2e import Broker

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture

MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
FEED = {"topic": "wx/alerts", "channel": "net", "nick": "WX", "min_interval": 0}


@pytest.mark.parametrize("kind", ["inspircd", "ngircd"])
async def test_a_shared_feed_once_and_a_hung_server_told_on_readmes_network(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer], kind: str
) -> None:
    broker = Broker(tmp_path)
    users = {"n0gw": "n0gw-password", "w2gw": "w2gw-password", "wx": "wx-password"}
    passwords = tmp_path / "mosquitto.passwd"
    for user, password in users.items():  # -c: a new file, with its first user
        made = ["-c"] if user == "n0gw" else []
        run([MOSQUITTO_PASSWD, "-b", *made, str(passwords), user, password], check=True)
    # `user root`: run as root, mosquitto would take its own user, who cannot read the
    # test's private directory (run as anyone else, the line does nothing).
    broker.conf.write_text(
        f"user root\nlistener {broker.port} 127.0.0.1\npassword_file {passwords}\n"
    )
    broker.start()
    try:
        one, two, watcher = await networks(kind, tmp_path, started)
        mqtt = {"host": "127.0.0.1", "port": broker.port, "bulletins": [FEED]}
        a_mqtt = mqtt | {"username": "n0gw", "password": users["n0gw"]}
        b_mqtt = mqtt | {"username": "w2gw", "password": users["w2gw"]}
        hung = {"ping_timeout": 10}  # the least it takes
        gw_a, bpq_a, totp_a = await readme_gateway(
            spawn_gateway, tmp_path / "a", one, "N0AAA", "N0GW-10", "N0GWmail", a_mqtt, hung
        )
        gw_b, bpq_b, totp_b = await readme_gateway(
            spawn_gateway, tmp_path / "b", two, "N0BBB", "W2GW-10", "W2GWmail", b_mqtt, hung
        )
        for gw in (gw_a, gw_b):  # each with its own username
            await gw.wait_log("MQTT: connected to")
        # One gateway's poster holds WX; the other's is refused by the network and stands by.
        waits = {
            asyncio.ensure_future(gw.wait_log("bulletin nick WX is on IRC")): gw
            for gw in (gw_a, gw_b)
        }
        done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        holder = waits[done.pop()]
        await (gw_b if holder is gw_a else gw_a).wait_log("bulletin nick WX refused by IRC")
        alice = await irc_user(two, "alice", "#net")
        step = int(time.time() // 30)
        ham_a = await radio_login(bpq_a, "N0AAA", totp_a.at(step * 30))
        ham_b = await radio_login(bpq_b, "N0BBB", totp_b.at(step * 30))
        for ham in (ham_a, ham_b):
            ham.send(b"/j #net\r")
            await ham.expect("Joined #net")

        # Both gateways hold each bulletin; the network shows it once.
        async with aiomqtt.Client("127.0.0.1", broker.port, username="wx",
                                  password=users["wx"]) as feed:  # fmt: skip
            await feed.publish("wx/alerts", "Storm warning", qos=1)
            await feed.publish("wx/alerts", "Gusts 90 km/h", qos=1)
        assert await posted(alice, "Gusts 90 km/h") == [
            ("WX", "Storm warning"), ("WX", "Gusts 90 km/h"),
        ]  # fmt: skip

        # The first server hangs: A's radio user (and B's on ngircd, the same server)
        # is told within the ping timeout; a line typed meanwhile is named, not lost unsaid.
        assert one.proc is not None
        os.kill(one.proc.pid, signal.SIGSTOP)
        try:
            ham_a.send(b"anyone there?\r")
            # Under `identified` a closing reason goes on air as its kind only.
            lost = b"IRC network lost (Ping timeout); reconnecting.\r\n"
            got = await ham_a.expect("reconnecting.\r\n")  # after the channel's joins
            assert (b"\n" + got).endswith(b"\n" + lost), got
            await gw_a.wait_log("N0AAA: the network did not answer for 10 s")
            told = await ham_a.expect("\r\n")
            assert told == b"Maybe not sent (IRC did not answer): anyone there?\r\n", told
            if two is one:
                assert (await ham_b.expect("reconnecting.\r\n")).endswith(b"\n" + lost)
        finally:
            os.kill(one.proc.pid, signal.SIGCONT)
        for ham in (ham_a, ham_b) if two is one else (ham_a,):
            back = await ham.expect("said meanwhile is lost.\r\n")
            assert b"IRC network back after " in back and b"; rejoining #net." in back, back
        if two is one:
            ham_b.send(b"/who\r")  # answered once its JOIN is done
            await ham_b.expect("N0BBB")
        # The radio users of both gateways talk again (`: ` when the line right above is
        # N0AAA's too: a server that resumes may still read what it had been sent).
        ham_a.send(b"back again\r")
        got = await ham_b.expect("back again\r\n")
        assert re.search(rb"\n(N0AAA|): back again\r\n$", got), got
        for ham in (ham_a, ham_b):
            ham.send(b"/b\r")
            await ham.expect_close()
        for client in (alice, watcher):
            if client is not None:
                await client.close()
        assert await gw_a.stop() == 0
        assert await gw_b.stop() == 0
    finally:
        broker.stop()
