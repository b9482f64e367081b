"""Our AX.25 stack against a real one: Dire Wolf B (through AGW) calls our station on A's KISS port.

The echo tests attach an echo application to the station instead of the session and
check that a few kilobytes cross the real 1200-baud modem path intact, both ways,
with and without frame loss. The gateway test runs the real `gateway run`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.direwolf.agw import AgwClient, AgwFrame
from bench.direwolf.rig import DireWolfRig, available
from ircd.passwords import hash_password
from radio.ax25 import Address, LinkParams
from radio.port import KissPort, TcpEndpoint
from radio.station import Connection, Station, StationParams
from tests.gateway.support import GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_integration import wrong_code
from tests.ircd.conftest import LiveClient

pytestmark = pytest.mark.slow

TIMEOUT = 60.0
#: Frames each Dire Wolf corrupts on transmit (its -E option), in percent.
LOSS = 20
PAYLOAD = bytes((i * 7 + i // 256) % 256 for i in range(2048))


async def echo_station(rig: DireWolfRig) -> tuple[Station, asyncio.Task[None]]:
    holder: list[Station] = []
    kiss = KissPort(
        TcpEndpoint("127.0.0.1", rig.a.kiss_port), lambda f: holder[0].frame_received(f.payload)
    )

    def accept(conn: Connection) -> None:
        conn.on_data = conn.send  # echo

    station = Station(StationParams(Address.parse("N0GW-10"), LinkParams()), kiss.send, accept)
    holder.append(station)
    task = asyncio.create_task(kiss.run())
    async with asyncio.timeout(TIMEOUT):
        await kiss.connected.wait()
    return station, task


async def exchange(rig: DireWolfRig) -> float:
    """Send PAYLOAD from B to our echo station; return seconds until all came back."""
    station, task = await echo_station(rig)
    far = await AgwClient.connect(rig.b.agw_port)
    try:
        await far.register("K1USR-5")
        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        try:
            connected = await far.wait_for("C", TIMEOUT)
        except TimeoutError:  # say what each side heard (a rare flake on a fresh machine)
            logs = "\n".join(["A:", *rig.a.log[-30:], "B:", *rig.b.log[-30:]])
            raise AssertionError(f"no CONNECTED in {TIMEOUT} s; {station.stats}\n{logs}") from None
        assert b"CONNECTED" in connected.data
        start = time.monotonic()
        for i in range(0, len(PAYLOAD), 256):
            far.send(AgwFrame("D", "K1USR-5", "N0GW-10", PAYLOAD[i : i + 256]))
        received = b""
        async with asyncio.timeout(TIMEOUT * 4):
            while len(received) < len(PAYLOAD):
                received += (await far.wait_for("D", TIMEOUT * 4)).data
        elapsed = time.monotonic() - start
        assert received == PAYLOAD
        far.send(AgwFrame("d", "K1USR-5", "N0GW-10", b""))
        assert b"DISCONNECTED" in (await far.wait_for("d", TIMEOUT)).data
        # Our ID is heard at the end of the link, and not before: not after the first UA.
        heard = await rig.b.wait_log("N0GW-10>ID:N0GW-10", TIMEOUT)
        ours = [n for n, line in enumerate(rig.b.log) if "N0GW-10>K1USR-5" in line]
        assert ours and heard > ours[-1], "\n".join(rig.b.log)
        assert station.stats.malformed == 0
        return elapsed
    finally:
        far.close()
        station.stop()
        task.cancel()


async def test_echo_both_ways_intact(rig: DireWolfRig) -> None:
    elapsed = await exchange(rig)
    print(f"2 x {len(PAYLOAD)} bytes echoed in {elapsed:.1f} s")
    # Dire Wolf on its defaults called with SABME, and we answered in v2.2: no fallback.
    assert any("Connected to N0GW-10.  (v2.2)" in line for line in rig.b.log)
    assert not any("doesn't understand AX.25 v2.2" in line for line in rig.b.log)
    assert any("(XID res, f=1)" in line for line in rig.b.log)  # its XID answered


async def test_echo_with_a_v20_caller(tmp_path: Path) -> None:
    """Dire Wolf held to v2.0 (`V20` for our call) gets the v2.0 link it asks for."""
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    rig = DireWolfRig(tmp_path, extra="V20 N0GW-10\n")
    await rig.start()
    try:
        await exchange(rig)
        assert any("Connected to N0GW-10.  (v2.0)" in line for line in rig.b.log)
        assert not any("SABME" in line for line in rig.b.log)
    finally:
        await rig.stop()


@pytest.fixture
async def lossy_rig(tmp_path: Path) -> AsyncIterator[DireWolfRig]:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    rig = DireWolfRig(tmp_path, loss_a=LOSS, loss_b=LOSS)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()


async def test_echo_both_ways_intact_with_frame_loss(lossy_rig: DireWolfRig) -> None:
    elapsed = await exchange(lossy_rig)
    corrupted = sum(
        "Intentionally sending invalid CRC" in line for line in lossy_rig.a.log + lossy_rig.b.log
    )
    # About 40 frames cross; at 20 % the chance that none was corrupted is 1e-4.
    assert corrupted > 0
    print(f"2 x {len(PAYLOAD)} bytes echoed, {corrupted} frames corrupted, in {elapsed:.1f} s")


async def test_gateway_login_over_the_air(rig: DireWolfRig, tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\ncallsign: N0GW-10\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        f"telnet: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        "auth: {failure_pause: 0}\n"
        f"radio:\n  ports:\n    - {{name: vhf, tcp: '127.0.0.1:{rig.a.kiss_port}'}}\n"
    )
    totp = enroll(config, "K1USR")
    gw = GatewayProcess(config)
    await gw.start()
    far = await AgwClient.connect(rig.b.agw_port)
    try:
        await gw.wait_log("vhf: connected to the TNC")
        await far.register("K1USR-5")

        async def expect(text: bytes) -> bytes:
            got = b""
            async with asyncio.timeout(TIMEOUT):
                while text not in got:
                    got += (await far.wait_for("D", TIMEOUT)).data
            return got

        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        assert b"CONNECTED" in (await far.wait_for("C", TIMEOUT)).data
        # The gateway set its TNC up from the config (the defaults: Dire Wolf's own).
        for setting in ("TXDELAY = 30 ", "Persistence = 63,", "SlotTime = 10 ", "TXtail = 10 ",
                        "FullDuplex = 0,"):  # fmt: skip
            assert any(f"KISS protocol set {setting}" in line for line in rig.a.log), setting
        await expect(b"Code: ")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", totp.now().encode() + b"\r"))
        assert b"Welcome K1USR-5. /? for help.\r" in await expect(b"help.\r")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", b"I\r"))
        assert b"You are K1USR-5, via AX.25 vhf" in await expect(b"Z.\r")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", b"B\r"))
        await expect(b"73!\r")
        assert b"DISCONNECTED" in (await far.wait_for("d", TIMEOUT)).data
        # Our side ended the link properly: a DISC (not a DM giving up).
        assert any("N0GW-10>K1USR-5:(DISC cmd" in line for line in rig.a.log)
        await gw.wait_log(r"login ok for K1USR from ax25:vhf:direct:call:K1USR")

        # The kill switch: off refuses calls with DM; on lets them in again.
        assert run_cli(config, "radio", "off").returncode == 0
        await gw.wait_log("radio transmitter OFF")
        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        assert b"DISCONNECTED" in (await far.wait_for("d", TIMEOUT)).data
        assert run_cli(config, "radio", "on").returncode == 0
        await gw.wait_log("radio transmitter ON")
        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        assert b"CONNECTED" in (await far.wait_for("C", TIMEOUT)).data
        await expect(b"Code: ")
        assert await gw.stop() == 0
    finally:
        far.close()
        gw.kill()
        if gw.proc is not None:
            await gw.proc.wait()


async def test_chat_over_the_air(rig: DireWolfRig, tmp_path: Path) -> None:
    """A radio user joins #test through Dire Wolf and chats with an IRC client."""
    irc_port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\ncallsign: N0GW-10\n"
        f"telnet: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        "auth: {failure_pause: 0}\nbridge: {third_party: all, join_history: 0}\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {irc_port}}}],"
        f" opers: [{{name: sysop, password_hash: '{hash_password('pw')}'}}]}}\n"
        f"radio:\n  ports:\n    - {{name: vhf, tcp: '127.0.0.1:{rig.a.kiss_port}'}}\n"
    )
    totp = enroll(config, "K1USR")
    gw = GatewayProcess(config)
    await gw.start()
    far = await AgwClient.connect(rig.b.agw_port)
    irc = await LiveClient.connect(irc_port)
    got = b""

    async def expect(text: bytes) -> bytes:
        nonlocal got
        async with asyncio.timeout(TIMEOUT):
            while text not in got:
                got += (await far.wait_for("D", TIMEOUT)).data
        head, _, got = got.partition(text)
        return head + text

    try:
        await gw.wait_log("vhf: connected to the TNC")
        await irc.register("alice")
        await irc.send("JOIN #test")
        await irc.expect("366")
        await far.register("K1USR-5")
        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        assert b"CONNECTED" in (await far.wait_for("C", TIMEOUT)).data
        await expect(b"Code: ")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", wrong_code(totp).encode() + b"\r"))
        await expect(b"Login failed.\r")  # a penalty for this port and path, cleared below
        await expect(b"Code: ")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", totp.now().encode() + b"\r"))
        await expect(b"/? for help.\r")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", b"/j #test\r"))
        assert b"Joined #test, 2 users." in await expect(b"users.\r")
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", b"hello from the air\r"))
        msg = await irc.expect("PRIVMSG", timeout=TIMEOUT)
        assert msg.source is not None and msg.source.startswith("K1USR-5!k1usr@ax25.radio")
        assert msg.params == ("#test", "hello from the air")
        await irc.send("PRIVMSG #test :hello from irssi")
        assert await expect(b"alice: hello from irssi\r") == b"alice: hello from irssi\r"
        far.send(AgwFrame("D", "K1USR-5", "N0GW-10", b"/q\r"))
        await expect(b"73!\r")
        assert b"DISCONNECTED" in (await far.wait_for("d", TIMEOUT)).data

        # An IRC operator sees the AX.25 penalty and clears it.
        await irc.send("OPER sysop pw", "RADIO PENALTIES")
        await irc.expect("381")
        lines = []
        while not (lines and "penalt" in lines[-1]):
            lines.append((await irc.expect("NOTICE")).params[-1])
        assert any(line.startswith("node ax25:vhf: ") for line in lines), lines
        await irc.send("RADIO UNLOCK ax25:vhf")
        note = ""
        while "unlocked ax25:vhf" not in note:
            note = (await irc.expect("NOTICE")).params[-1]
        assert note.endswith(": 2 record(s) cleared")  # the node's budget and the source's

        # The operator switches this port's transmitter off: a call gets DM; on again.
        await irc.send("RADIO TX OFF vhf")
        await gw.wait_log("radio transmitter OFF on port vhf")
        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        assert b"DISCONNECTED" in (await far.wait_for("d", TIMEOUT)).data
        await irc.send("RADIO TX ON vhf")
        await gw.wait_log("radio transmitter ON on port vhf")
        far.send(AgwFrame("C", "K1USR-5", "N0GW-10", b""))
        assert b"CONNECTED" in (await far.wait_for("C", TIMEOUT)).data
        await expect(b"Code: ")
        # The master switch off: the port's own switch is on, and RADIO TX says it is held.
        await irc.send("RADIO TX OFF")
        await gw.wait_log("radio transmitter OFF")
        await irc.send("RADIO TX")
        note = ""
        while not note.startswith("Port vhf: "):
            note = (await irc.expect("NOTICE")).params[-1]
        assert note.startswith("Port vhf: on, held OFF by the transmitter switch, "), note
        assert await gw.stop() == 0
    finally:
        far.close()
        await irc.close()
        gw.kill()
        if gw.proc is not None:
            await gw.proc.wait()
