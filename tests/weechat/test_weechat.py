"""Integration: the real WeeChat client against `gateway run`, over plain TCP and over TLS.

WeeChat is how many IRC operators run the gateway (README: "manage it from irssi or
WeeChat"); irssi has its own tests (tests/irssi/), this is the other client. The gateway
runs as a subprocess with its embedded IRC server, a BPQ listener and an operator block
(tests/gateway/test_operators_e2e.py's config, plus a TLS listener here).

WeeChat runs as `weechat-headless` in the foreground, our child, with its own `--dir`
under `tmp_path` and only the irc, logger and fifo plugins. The test writes commands to
its FIFO (`<buffer> */command` lines) and reads what it shows from its logger's files,
flushed at once (`logger.file.flush_delay 0`): one file per buffer, the server buffer's
for numerics and notices, the channel's for what is said there, and the raw buffer's for
the protocol both ways. WeeChat offers no event to await from here, so the files are
polled with short sleeps inside a timeout.

WeeChat logs in with SASL PLAIN as a callsign with an application password made by the
CLI (`gateway apppass add`), over TLS verifying the server's self-signed certificate;
its capability negotiation is read from the protocol (the server's CAP ACK to its CAP
REQ) and from what it printed. A radio user on the BPQ listener and WeeChat talk both
ways in a channel; WeeChat opers up and runs `RADIO SESSIONS` and `RADIO KICK`, and no
command it sent by itself drew an error. Without SASL, WeeChat asking for a callsign nick
comes in as a guest and shows why. Skipped only when weechat-headless is not installed
(Debian package `weechat-headless`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyotp
import pytest

from tests.clientlog import size, wait_for_line
from tests.gateway.support import GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_operators_e2e import oper_config
from tests.irssi.test_irssi import CHANNEL, TIMEOUT
from tests.tlscerts import self_signed

needs_weechat = pytest.mark.skipif(
    shutil.which("weechat-headless") is None,
    reason="needs the weechat-headless program (Debian package weechat-headless)",
)
pytestmark = [pytest.mark.slow, needs_weechat]  # WeeChat driven and read in real time

#: WeeChat's callsign (its account and nick); N0TEST is the radio user's.
CALLSIGN = "K2ABC"
#: WeeChat's name for the gateway's IRC server, hence its buffers' names.
SERVER = "ham"
SERVER_BUFFER = f"irc.server.{SERVER}"
CHANNEL_BUFFER = f"irc.{SERVER}.{CHANNEL}"
CORE_BUFFER = "core.weechat"
#: The raw protocol, every server's: `<-- ham` lines WeeChat sent, `--> ham` lines it read.
RAW_BUFFER = "irc.irc_raw"


# -- the gateway -----------------------------------------------------------------------


@dataclass
class Gateway:
    """A running `gateway run`: operator `sysop` (password `pw`), N0TEST enrolled for
    the radio user, CALLSIGN enrolled with one application password for WeeChat."""

    bpq: int  #: the BPQ listener `node1`
    irc_port: int
    tls_port: int
    cert: Path  #: the TLS listener's self-signed certificate, to verify it against
    totp: pyotp.TOTP  #: N0TEST's codes
    password: str  #: CALLSIGN's application password
    process: GatewayProcess


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    bpq, irc_port, tls_port = free_port(), free_port(), free_port()
    cert, key, _ = self_signed(tmp_path, for_loopback=True)
    config = oper_config(tmp_path, bpq, irc_port)
    plain = f"{{host: 127.0.0.1, port: {irc_port}}}"
    tls = f"{{host: 127.0.0.1, port: {tls_port}, tls: {{cert: {cert}, key: {key}}}}}"
    text = config.read_text()
    assert plain in text, text
    config.write_text(text.replace(plain, f"{plain}, {tls}", 1))
    totp = enroll(config, "N0TEST")
    enroll(config, CALLSIGN)
    # The way README.md tells a sysop to make a ham's IRC client password.
    made = run_cli(config, "apppass", "add", CALLSIGN, "weechat")
    assert made.returncode == 0, made.stderr
    assert f"SASL PLAIN password with account {CALLSIGN}" in made.stdout, made.stdout
    password = re.search(r"^    (\S+)$", made.stdout, re.MULTILINE)
    assert password is not None, made.stdout
    process = GatewayProcess(config)
    try:
        await process.start()
        yield Gateway(bpq, irc_port, tls_port, cert, totp, password[1], process)
    finally:
        await process.stop()  # SIGTERM by PID, SIGKILL if it lingers


# -- WeeChat ---------------------------------------------------------------------------


class WeeChat:
    """weechat-headless as our child, with its own home; driven through its FIFO."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.fifo = home / "weechat.fifo"
        self.logs = home / "logs"
        self.proc: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Start WeeChat with its FIFO and logs where the test looks for them, the raw
        protocol logged too (WeeChat keeps its raw buffer out of the logs by default)."""
        # The logger lowercases file names and logs every buffer at level 9 (all) by
        # default. WeeChat paces commands to a server (2 s apart after a burst): off, to
        # keep the test fast, as irssi's cmd_queue_speed is in tests/irssi.
        startup = [
            f"/set fifo.file.path {self.fifo}",
            f"/set logger.file.path {self.logs}",
            "/set logger.file.flush_delay 0",
            "/set irc.server_default.anti_flood_prio_high 0",
            "/set irc.server_default.anti_flood_prio_low 0",
        ]
        with (self.home / "stdout").open("wb") as out:
            self.proc = subprocess.Popen(
                ["weechat-headless", f"--dir={self.home}", "--plugins=irc,logger,fifo",
                 "--no-script", "--run-command", ";".join(startup)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                env={**os.environ, "HOME": str(self.home)},
            )  # fmt: skip
        await self.command(CORE_BUFFER, "/server raw")
        await self.command(RAW_BUFFER, "/buffer set localvar_del_no_log")

    async def connect(self, address: str, options: str) -> None:
        """Add the gateway's server as SERVER (`host/port`, /server add's `options`) and
        connect to it."""
        await self.command(CORE_BUFFER, f"/server add {SERVER} {address} {options}")
        await self.command(CORE_BUFFER, f"/connect {SERVER}")

    async def command(self, buffer: str, text: str) -> None:
        """Run `text` (a /command, or text to say) in `buffer` (WeeChat's full name of it,
        e.g. `irc.server.ham`), written to the FIFO as one line."""
        line = f"{buffer} *{text}\n".encode()
        deadline = time.monotonic() + TIMEOUT
        while True:
            # Non-blocking: opening fails with ENXIO until WeeChat has opened its end.
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ENXIO) or time.monotonic() > deadline:
                    raise AssertionError(f"WeeChat's FIFO {self.fifo}: {e}\n{self.report()}") from e
                await asyncio.sleep(0.05)
                continue
            try:
                assert os.write(fd, line) == len(line)  # under PIPE_BUF: written whole
            finally:
                os.close(fd)
            return

    def log(self, buffer: str) -> Path:
        """The logger's file for `buffer` (names lowercased, the logger's default)."""
        return self.logs / f"{buffer.lower()}.weechatlog"

    def mark(self, buffer: str) -> int:
        """How much `buffer`'s log holds now, for `wait_log(..., since=mark)`."""
        return size(self.log(buffer))

    async def wait_log(self, buffer: str, pattern: str, since: int = 0) -> str:
        """Wait until WeeChat logged a line matching `pattern` in `buffer` after byte
        `since`; return what it logged there, up to the end of that line."""

        def explain(text: str) -> str:
            return f"log:\n{text[-3000:]}\n{self.report()}"

        return await wait_for_line(
            self.log(buffer), pattern, timeout=TIMEOUT, since=since, explain=explain
        )

    def report(self) -> str:
        """What WeeChat said elsewhere, for a failure: its status, server buffer, own log."""
        status = "not started" if self.proc is None else f"exit status {self.proc.poll()}"
        parts = [f"WeeChat: {status}"]
        for file in (self.log(SERVER_BUFFER), self.home / "weechat.log"):
            if file.exists():
                parts.append(f"{file.name}:\n{file.read_text(errors='replace')[-2000:]}")
        return "\n".join(parts)

    def kill(self) -> None:
        """SIGKILL by PID and reap: nothing of WeeChat's is worth a clean exit here."""
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def weechat(tmp_path: Path) -> Iterator[WeeChat]:
    """WeeChat with its home under `tmp_path`; killed by PID after, even on failure."""
    home = tmp_path / "weechat"
    home.mkdir()
    client = WeeChat(home)
    try:
        yield client
    finally:
        client.kill()


# -- the tests -------------------------------------------------------------------------


def capabilities(shown: str, step: str) -> set[str]:
    """The capabilities WeeChat printed for `step`: `server supports` (CAP LS),
    `requesting` (its CAP REQ) or `enabled` (the server's CAP ACK)."""
    found = re.search(rf"irc: client capability, {step}: (.*)", shown)
    assert found is not None, f"WeeChat showed no {step!r} capabilities:\n{shown}"
    return {cap.split("=", 1)[0] for cap in found[1].split()}


@pytest.mark.parametrize("transport", ["plain", "tls"])
async def test_weechat_logs_in_with_sasl_talks_with_a_radio_user_and_opers(
    gateway: Gateway, weechat: WeeChat, transport: str
) -> None:
    await weechat.start()
    sasl = (
        f"-nicks={CALLSIGN} -sasl_mechanism=plain -sasl_username={CALLSIGN}"
        f" -sasl_password={gateway.password}"
    )
    if transport == "tls":
        # Verified against our own certificate only (the system's CAs off). WeeChat 3.8
        # still spells its TLS options `ssl`; an unknown `-tls` would be ignored.
        await weechat.command(CORE_BUFFER, "/set weechat.network.gnutls_ca_system off")
        await weechat.command(CORE_BUFFER, f"/set weechat.network.gnutls_ca_user {gateway.cert}")
        await weechat.connect(f"127.0.0.1/{gateway.tls_port}", f"-ssl -ssl_verify {sasl}")
    else:
        await weechat.connect(f"127.0.0.1/{gateway.irc_port}", f"-nossl {sasl}")
    welcome = rf"Welcome to the PacketNet IRC Network {CALLSIGN}!"
    shown = await weechat.wait_log(SERVER_BUFFER, welcome)
    if transport == "tls":
        assert "(SSL)..." in shown and "gnutls: peer's certificate is trusted" in shown, shown

    # Capability negotiation: every capability WeeChat asked for was offered, and the
    # server's CAP ACK (read from the raw protocol) acknowledged each; WeeChat printed
    # them as enabled.
    raw = await weechat.wait_log(RAW_BUFFER, rf"--> {SERVER}\t.* 001 {CALLSIGN} ")
    req = re.search(r"<-- \S+\tCAP REQ :(.*)", raw)
    ack = re.search(r"--> \S+\t\S* ?:irc\.localhost CAP \S+ ACK :(.*)", raw)
    assert req is not None and ack is not None, raw
    requested, acknowledged = set(req[1].split()), set(ack[1].split())
    assert acknowledged == requested, raw
    assert requested <= capabilities(shown, "server supports"), shown
    assert capabilities(shown, "enabled") == requested, shown
    assert {"sasl", "server-time", "message-tags", "account-notify", "extended-join"} <= requested
    # SASL before registration: the callsign nick, logged in with the application password.
    assert f"You are now logged in as {CALLSIGN}" in shown, shown
    assert "SASL authentication successful" in shown, shown
    await gateway.process.wait_log(rf"SASL login of {CALLSIGN} with application password #1")

    ham = await radio_login(gateway.bpq, "N0TEST-5", gateway.totp.now())
    ham.send(f"/j {CHANNEL}\r".encode())
    assert (await ham.expect("\r\n")).startswith(f"Joined {CHANNEL}".encode())
    await weechat.command(SERVER_BUFFER, f"/join {CHANNEL}")
    await weechat.wait_log(CHANNEL_BUFFER, rf"Channel {CHANNEL}: 2 nicks")

    ham.send(b"73 from the air\r")
    await weechat.wait_log(CHANNEL_BUFFER, r"\t[@+]?N0TEST-5\t73 from the air\n")
    await weechat.command(CHANNEL_BUFFER, f"good evening from WeeChat over {transport}")
    said = await ham.expect(f"over {transport}\r\n")
    assert said.endswith(f"{CALLSIGN}: good evening from WeeChat over {transport}\r\n".encode())

    # The operator's side: OPER, then the radio sessions listed and one ended.
    await weechat.command(SERVER_BUFFER, "/oper sysop pw")
    await weechat.wait_log(SERVER_BUFFER, r"You are now an IRC operator")
    await weechat.command(SERVER_BUFFER, "/quote RADIO SESSIONS")
    await weechat.wait_log(SERVER_BUFFER, r"N0TEST-5 \(N0TEST-5\) via BPQ node1, since ")
    await weechat.wait_log(SERVER_BUFFER, r"1 radio session\(s\)\.")
    await weechat.command(SERVER_BUFFER, "/quote RADIO KICK N0TEST-5 net closed")
    await weechat.wait_log(SERVER_BUFFER, r"ended the radio session of N0TEST-5")
    closed = await ham.expect_close()
    assert closed.endswith(f"Disconnected by {CALLSIGN}: net closed\r\n".encode())
    await weechat.wait_log(CHANNEL_BUFFER, r"N0TEST-5 .*has quit")

    # Nothing WeeChat sent by itself (MODE and WHO with WHOX on the join, ...) drew an
    # error numeric: the only one is 422, the missing MOTD.
    raw = await weechat.wait_log(RAW_BUFFER, r"QUIT :Quit: kicked by operator")
    errors = re.findall(rf"--> {SERVER}\t\S* ?:irc\.localhost ([45]\d\d) .*", raw)
    assert set(errors) == {"422"}, raw


async def test_weechat_asking_for_a_callsign_nick_without_sasl_is_told_why(
    gateway: Gateway, weechat: WeeChat
) -> None:
    # N0TEST is enrolled; without SASL its nick is kept for its account. WeeChat comes in
    # as a guest, told why, and takes its nick from the welcome (ircd/nickclaim.py).
    await weechat.start()
    await weechat.connect(f"127.0.0.1/{gateway.irc_port}", "-nossl -nicks=N0TEST")
    shown = await weechat.wait_log(SERVER_BUFFER, r"Welcome to the PacketNet IRC Network ")
    why = re.search(
        r"You are now (Guest\d+): N0TEST is a licensed callsign; log in with SASL as N0TEST",
        shown,
    )
    assert why is not None, shown
    guest = why[1]
    assert f"Welcome to the PacketNet IRC Network {guest}!" in shown, shown
    await weechat.command(SERVER_BUFFER, f"/join {CHANNEL}")
    await weechat.wait_log(CHANNEL_BUFFER, rf"{guest} .*has joined {CHANNEL}")
    await weechat.command(CHANNEL_BUFFER, "who am i")
    await weechat.wait_log(CHANNEL_BUFFER, rf"\t@?{guest}\twho am i\n")
    # Asked for again once registered: refused, and WeeChat shows why.
    mark = weechat.mark(SERVER_BUFFER)
    await weechat.command(SERVER_BUFFER, "/nick N0TEST")
    pattern = r"N0TEST: N0TEST is a licensed callsign; log in with SASL as N0TEST"
    await weechat.wait_log(SERVER_BUFFER, pattern, since=mark)
