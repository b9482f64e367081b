"""An operator at home in irssi: every action answered on screen and in the audit trail.

`gateway run` (with its embedded IRC server and a BPQ listener) as a subprocess; irssi in
tmux (as in test_irssi.py) connects and opers up. What irssi shows is read from its log
(everything it prints, numerics included); `gateway audit` is run as the console command.

The `operator` fixture is where every test here starts: add another test function taking
it to check more of what the operator reads, with `answer(irssi, "/whois ...", pattern)`
for what a command shows, `radio_login(operator.gateway.bpq, "N0TEST-5",
operator.gateway.totp.now())` (tests/gateway/test_bridge_e2e.py) for a radio user on the
BPQ listener `node1`, and `RawClient.connect(operator.gateway.irc_port, nick)` for a plain
IRC user (not an operator) and what it is told.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest

from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_operators_e2e import oper_config
from tests.irssi.test_irssi import NICK, Irssi, RawClient, needs_irssi

pytestmark = [pytest.mark.slow, needs_irssi]  # irssi in tmux, driven and read in real time

#: How `gateway audit` names the operator irssi is (oper_config's block `sysop`, password `pw`).
ACTOR = f"irc:{NICK} (oper sysop)  from 127.0.0.1: "


@dataclass
class Gateway:
    """A running `gateway run` with an operator block and the enrolled callsign N0TEST."""

    config: Path
    bpq: int  #: the BPQ listener `node1`, where radio users log in
    irc_port: int
    totp: pyotp.TOTP  #: N0TEST's codes
    process: GatewayProcess


@dataclass
class Operator:
    """irssi, connected to `gateway` as NICK and opered up."""

    irssi: Irssi
    gateway: Gateway


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    # Loopback is exempt from flood control, so one socket can play 200 failed OPERs at
    # once (their own penalty still applies; the snomask tests count the notices).
    exempt = "  exempt: {flood: {ip: 127.0.0.1}}\n"
    config.write_text(config.read_text().replace("irc:\n", "irc:\n" + exempt, 1))
    totp = enroll(config, "N0TEST")
    process = GatewayProcess(config)
    try:
        await process.start()
        yield Gateway(config, bpq, irc_port, totp, process)
    finally:
        await process.stop()  # SIGTERM by PID, SIGKILL if it lingers


@pytest.fixture
async def operator(gateway: Gateway, irssi: Irssi) -> Operator:
    irssi.start("-notls", "127.0.0.1", gateway.irc_port)
    await irssi.wait_log(r"Welcome to the PacketNet IRC Network " + NICK)
    irssi.type("/oper sysop pw")
    await irssi.wait_log(r"You are now an IRC operator")
    return Operator(irssi, gateway)


async def answer(irssi: Irssi, command: str, until: str) -> str:
    """Type `command`; return what irssi logs from then up to the line matching `until`."""
    mark = irssi.mark()
    irssi.type(command)
    return await irssi.wait_log(until, since=mark)


async def test_irssi_operator_rehash_kline_kill_and_radio_answered_and_audited(
    operator: Operator,
) -> None:
    irssi, gw = operator.irssi, operator.gateway
    good = gw.config.read_text()

    # REHASH of a broken file: refused, with the first problem check-config finds.
    gw.config.write_text(good.replace(f"port: {gw.bpq}", "port: 80x"))
    checked = run_cli(gw.config, "check-config")
    assert checked.returncode != 0 and "80x" in checked.stderr, checked
    first_error = next(line for line in checked.stderr.splitlines() if "80x" in line)
    problem = first_error[first_error.index(str(gw.config)) :]
    shown = await answer(irssi, "/rehash", r"rehashed the server: .*" + re.escape(problem))
    assert re.search(r"rehashed the server: refused, the running configuration stays: ", shown)
    gw.config.write_text(good)

    # A timed K-line, listed by STATS k, removed the InspIRCd way, and gone from STATS k.
    await answer(irssi, "/quote KLINE *@192.0.2.9 10m :testing removal", r"K-line saved")
    listed = await answer(irssi, "/stats k", r"End of /STATS report")
    assert re.search(rf"\*@192\.0\.2\.9 \d+ 600 {NICK} :?testing removal", listed), listed
    # The notice to the operators, then (the line ending there) the store's confirmation.
    removed = r"(?m)K-line on \*@192\.0\.2\.9 removed$"
    await answer(irssi, "/quote KLINE *@192.0.2.9", removed)
    listed = await answer(irssi, "/stats k", r"End of /STATS report")
    assert not re.search(r"\*@192\.0\.2\.9 \d+", listed), listed

    # KILL of a plain user: the user is gone, the operator reads who was killed and why.
    victim = await RawClient.connect(gw.irc_port, "victim")
    try:
        irssi.type("/kill victim flooding the channel")
        await victim.expect(r"^ERROR :.*flooding the channel")
    finally:
        await victim.close()
    await irssi.wait_log(r"killed victim\b.*: flooding the channel")

    # A RADIO command with bad arguments: one usage line, not the help text (the answer
    # to RADIO TX, typed next, shows where the first answer ended).
    mark = irssi.mark()
    irssi.type("/quote RADIO LOCK N0TEST")
    irssi.type("/quote RADIO TX")
    shown = await irssi.wait_log(r"The transmitter is ON\.", since=mark)
    usage = re.findall(r"Usage: RADIO LOCK <callsign> <30m\|12h\|7d>: ", shown)
    assert len(usage) == 1 and "RADIO ENROLL" not in shown, shown
    irssi.type("/quit 73")

    # The console's audit trail names irssi's nick for each of them.
    done = run_cli(gw.config, "audit", "--since", "1h")
    assert done.returncode == 0, done.stderr
    ours = [line.split(ACTOR, 1)[1] for line in done.stdout.splitlines() if ACTOR in line]
    assert ours[0].startswith("REHASH -> refused, the running configuration stays: "), ours
    assert "80x" in ours[0]
    assert ours[1:] == [
        "KLINE *@192.0.2.9 10m: testing removal -> set, 0 disconnected",
        "KLINE *@192.0.2.9 -> removed",
        "KILL victim: flooding the channel -> killed",
        "lock N0TEST -> bad arguments",
    ]


async def test_irssi_operator_sees_logins_whois_and_200_failed_opers_as_a_handful(
    operator: Operator,
) -> None:
    irssi, gw = operator.irssi, operator.gateway
    mark = irssi.mark()

    # A radio login and a failed one: one notice each, naming callsign and source.
    ham = await radio_login(gw.bpq, "N0TEST-5", gw.totp.now())
    await irssi.wait_log(r"RADIOLOGIN: N0TEST-5 logged in through BPQ node node1", since=mark)
    failed = await Client.connect(gw.bpq, b"N0TEST-7\r\n")
    await failed.expect("Code: ")
    wrong = f"{(int(gw.totp.now()) + 500_000) % 1_000_000:06d}"
    failed.send(wrong.encode() + b"\r")
    await failed.expect("Login failed.")
    failed.close()
    pattern = r"RADIOLOGIN: Failed radio login as N0TEST-7 through BPQ node node1: wrong code"
    shown = await irssi.wait_log(pattern, since=mark)
    assert len(re.findall(r"RADIOLOGIN: ", shown)) == 2 and wrong not in shown, shown

    # WHOIS of the radio user: the node and login time for the operator only.
    whois = await answer(irssi, "/whois N0TEST-5", r"is on the air as N0TEST-5 through BPQ node")
    assert re.search(r"through BPQ node node1, logged in \d{4}-\d\d-\d\d ", whois), whois
    plain = await RawClient.connect(gw.irc_port, "plain")
    try:
        await plain.send("WHOIS N0TEST-5")
        await plain.expect(r" 318 ")
        seen = "\n".join(plain.seen)
        assert " 311 plain N0TEST-5 n0test bpq.radio " in seen, seen
        assert " 320 " not in seen and "node1" not in seen, seen

        # 200 failed OPERs from one address: a handful of notices, then their count.
        mark = irssi.mark()
        await plain.send(*["OPER sysop wrong"] * 200)
        said = await irssi.wait_log(
            r"OPER: last message repeated \d+ times", since=mark, timeout=90
        )
    finally:
        await plain.close()
    opers = re.findall(r"\*\*\* OPER: .*", said)
    assert 1 <= len(opers) <= 5, opers
    repeated = int(re.search(r"last message repeated (\d+) times", said).group(1))  # type: ignore[union-attr]
    assert len(opers) - 1 + repeated == 200, opers
    ham.send(b"/q\r")
    await ham.expect_close()
