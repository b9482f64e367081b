"""A stop that always ends: SIGTERM or DIE while a peer is away, hung, or never reads.

Each test starts the real `gateway run` with a short `shutdown_timeout`, breaks one
peer (Mosquitto killed or stopped, an external ngircd stopped with SIGSTOP, a TNC that
accepts the connection and never reads a byte), then sends SIGTERM. The process must
end by itself (a SIGKILL from the test reads as -9) and must end through its own
bounded shutdown ("gateway stopped" logged), not by the CLI's watchdog, whose grace
would be spent first. The wait allows the bound, the watchdog's grace and a margin for
a busy machine: what is checked is that the stop ends, not how fast.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bench import irc_peers as peers
from gateway.cli.main import WATCHDOG_GRACE
from radio.ax25 import Address, Frame, FrameType
from radio.kiss import Command, KissFrame, encode
from tests.external.test_hung import server  # noqa: F401 (a fixture: ngircd, killed even if stopped)
from tests.gateway.support import GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_mqtt_e2e import MOSQUITTO, Broker, broker  # noqa: F401 (a fixture)
from tests.gateway.test_operators_e2e import oper_config, operator

pytestmark = pytest.mark.slow  # each stop runs out its real bound
Spawn = Callable[[Path], GatewayProcess]

BOUND = 4.0
#: The most a stop may take here: the bound, the watchdog's grace, a busy machine's margin.
WITHIN = BOUND + WATCHDOG_GRACE + 15.0


def gateway_yaml(tmp_path: Path, extra: str) -> Path:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nshutdown_timeout: {BOUND}\n"
        "auth: {failure_pause: 0}\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {free_port()}}}]}}\n" + extra
    )
    return config


async def assert_stops(gw: GatewayProcess, *, signal_it: bool = True) -> None:
    code = await (gw.stop(within=WITHIN) if signal_it else gw.exited(within=WITHIN))
    log = "\n".join(gw.log[-40:])
    assert code == 0, log
    assert any("gateway stopped" in line for line in gw.log), log
    assert not any("exiting anyway" in line for line in gw.log), log


@pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="needs Mosquitto")
@pytest.mark.parametrize("outage", ["killed", "hung"])
async def test_stop_while_the_broker_is_away(
    tmp_path: Path,
    broker: Broker,  # noqa: F811
    spawn_gateway: Spawn,
    outage: str,
) -> None:
    config = gateway_yaml(
        tmp_path,
        f"mqtt: {{host: 127.0.0.1, port: {broker.port}, prefix: test, name: gw, qos: 1,"
        " home_assistant: true}\n",
    )
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log("MQTT: connected to")
    assert broker.proc is not None
    if outage == "killed":
        broker.stop()
        await gw.wait_log("MQTT: .*retrying")  # noticed at once, not by a publish timing out
    else:
        os.kill(broker.proc.pid, signal.SIGSTOP)  # accepts bytes into its socket, answers none
    await assert_stops(gw)


async def test_stop_while_the_external_network_is_hung(
    tmp_path: Path,
    server: peers.IrcPeer,  # noqa: F811
    spawn_gateway: Spawn,
) -> None:
    bpq = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\nshutdown_timeout: {BOUND}\n"
        "auth: {failure_pause: 0}\n"
        "irc:\n  mode: external\n  network: TestNet\n"
        f"  external: {{host: 127.0.0.1, port: {server.port},"
        f" webirc_password: {peers.WEBIRC_PASSWORD}}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        " bytes_per_second: 1000000, packet_bytes: 4096}]}\n"
        "bridge: {third_party: all}\n"
    )
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log("the service nick .* is on IRC")
    ham = await radio_login(bpq, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/j #test\r")
    assert (await ham.expect("\r\n")).startswith(b"Joined #test")
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)  # hung: its sockets take bytes, nothing answers
    await assert_stops(gw)
    assert b"Gateway shutting down. 73!" in await ham.expect_close()  # told, and let go


class SilentTnc:
    """A KISS TCP "TNC" that accepts, sends one caller's SABM, and never reads a byte."""

    def __init__(self) -> None:
        self.server: asyncio.Server | None = None
        self.accepted = asyncio.Event()
        self.port = 0

    async def start(self) -> None:
        sabm = Frame.build(
            FrameType.SABM, dest=Address("N0GW", 10), source=Address("N0CALL", 5), pf=True
        )

        def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            reader._transport.pause_reading()  # type: ignore[attr-defined]  # never read
            writer.write(encode(KissFrame(0, Command.DATA, sabm.encode())))
            self.accepted.set()

        self.server = await asyncio.start_server(connected, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_stop_while_a_tnc_accepts_and_never_reads(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    tnc = SilentTnc()
    await tnc.start()
    try:
        config = gateway_yaml(
            tmp_path,
            f'callsign: N0GW-10\nradio: {{ports: [{{name: vhf, tcp: "127.0.0.1:{tnc.port}"}}]}}\n',
        )
        gw = spawn_gateway(config)
        await gw.start()
        async with asyncio.timeout(20):
            await tnc.accepted.wait()
        await gw.wait_log("N0CALL-5")  # the caller's link is up: a goodbye to say at the stop
        await assert_stops(gw)
    finally:
        tnc.close()


async def test_die_from_an_operator_while_a_tnc_never_reads(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    tnc = SilentTnc()
    await tnc.start()
    try:
        bpq, irc_port = free_port(), free_port()
        config = oper_config(tmp_path, bpq, irc_port)
        config.write_text(
            config.read_text()
            + f"shutdown_timeout: {BOUND}\ncallsign: N0GW-10\n"
            + f'radio: {{ports: [{{name: vhf, tcp: "127.0.0.1:{tnc.port}"}}]}}\n'
        )
        gw = spawn_gateway(config)
        await gw.start()
        await gw.wait_log("N0CALL-5")
        op = await operator(irc_port)
        await op.send("DIE")
        await assert_stops(gw, signal_it=False)
        assert any("DIE by sysop" in line for line in gw.log)
    finally:
        tnc.close()
