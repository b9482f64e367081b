"""MQTT against a real Mosquitto: events out, a bulletin in, the broker going away and back."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import aiomqtt
import pytest

from tests.gateway.support import GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.ircd.conftest import LiveClient

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
TIMEOUT = 20.0

pytestmark = [
    pytest.mark.slow,  # the broker's restart and the gateway's reconnect run in real time
    pytest.mark.skipif(
        not Path(MOSQUITTO).exists(), reason="needs Mosquitto (Debian package mosquitto)"
    ),
]
Spawn = Callable[[Path], GatewayProcess]


class Broker:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.conf = tmp_path / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


async def subscriber(port: int) -> aiomqtt.Client:
    """A client subscribed to every topic of the test gateway (retries while the broker starts)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            client = aiomqtt.Client("127.0.0.1", port)
            try:
                await client.__aenter__()
            except aiomqtt.MqttError:
                await asyncio.sleep(0.1)
                continue
            await client.subscribe("test/#", qos=1)
            return client


async def next_event(client: aiomqtt.Client, topic: str) -> dict | bytes:
    async with asyncio.timeout(TIMEOUT):
        async for message in client.messages:
            if message.topic.matches(topic):
                payload = bytes(message.payload)  # type: ignore[arg-type]
                return payload if topic.endswith("/status") else json.loads(payload)
    raise AssertionError("subscription ended")


@pytest.fixture
def cpu_load(request: pytest.FixtureRequest) -> Iterator[None]:
    """With the parameter "loaded": busy processes on every core, killed by PID at the end.

    The outage once failed only on a busy machine (a stop that never ended), so it is
    played on a loaded one as well.
    """
    hogs: list[subprocess.Popen[bytes]] = []
    if request.param == "loaded":
        for _ in range(2 * (os.cpu_count() or 1)):
            hogs.append(subprocess.Popen([sys.executable, "-c", "while True: pass"]))
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


@pytest.mark.parametrize("cpu_load", ["quiet", "loaded"], indirect=True)
async def test_events_bulletins_and_a_broker_outage(
    tmp_path: Path, broker: Broker, spawn_gateway: Spawn, cpu_load: None
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nauth: {{failure_pause: 0}}\ncallsign: N0GW-10\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {irc_port}}}]}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq},"
        " bytes_per_second: 1000000, packet_bytes: 4096}]}\n"
        "bridge: {third_party: identified, join_history: 0}\n"
        f"mqtt:\n  host: 127.0.0.1\n  port: {broker.port}\n  prefix: test\n  qos: 1\n"
        "  queue: 10\n  messages: metadata\n"
        "  bulletins: [{topic: wx/alerts, channel: wx, nick: WX, min_interval: 0, on_air: true}]\n"
    )
    totp = enroll(config, "N0TEST")
    sub = await subscriber(broker.port)
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log("MQTT: connected to")
    assert await next_event(sub, "test/N0GW-10/status") == b"online"

    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    login = await next_event(sub, "test/N0GW-10/login")
    assert login["callsign"] == "N0TEST" and login["transport"] == "telnet"
    assert "code" not in json.dumps(login).lower()
    start = await next_event(sub, "test/N0GW-10/session_start")
    assert start["nick"] == "N0TEST-5" and start["via"] == "BPQ node1"
    ham.send(b"/j #wx\r")
    await ham.expect("Joined #wx")
    irc = await LiveClient.connect(irc_port)
    await irc.register("alice")
    await irc.send("JOIN #wx")
    await irc.expect("366")

    # A bulletin: 7-bit, posted by WX, seen on IRC and, vouched for on air, by the radio user.
    await sub.publish("wx/alerts", "Storm warning: gusts 90 km/h at Sa\u00f4ne", qos=1)
    msg = await irc.expect("PRIVMSG")
    assert msg.source is not None and msg.source.startswith("WX!")
    assert msg.params == ("#wx", "Storm warning: gusts 90 km/h at Saone")
    await ham.expect("WX: Storm warning: gusts 90 km/h at Saone\r\n")

    # The broker goes away: the session goes on; 16 events wait in a queue of 10.
    broker.stop()
    await gw.wait_log("MQTT: .*retrying")  # the link noticed
    for i in range(15):
        ham.send(f"line {i}\r".encode())
    for i in range(15):
        assert (await irc.expect("PRIVMSG")).params == ("#wx", f"line {i}")
    ham.send(b"/b\r")
    await ham.expect_close()
    await gw.wait_log("N0TEST-5 logged out")

    broker.start()
    sub = await subscriber(broker.port)
    dropped = await next_event(sub, "test/N0GW-10/dropped")
    # At least 15 messages and the session's end waited (one more if a publish was in
    # flight when the broker died); 10 were kept.
    assert dropped["count"] >= 6
    end = await next_event(sub, "test/N0GW-10/session_end")
    assert end["bytes_to_user"] > 0 and end["bytes_from_user"] > 0
    await irc.close()
    code = await gw.stop()
    assert code == 0, "\n".join(gw.log[-30:])
    assert await next_event(sub, "test/N0GW-10/status") == b"offline"
    await sub.__aexit__(None, None, None)
