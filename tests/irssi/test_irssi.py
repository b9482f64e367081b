"""Integration: the real irssi client against our IRC server, over plain TCP and over TLS.

The server runs both ways it ships: standalone (`python -m ircd --config FILE`) and embedded
in the gateway (`python -m gateway --config FILE run`), from the same `irc:` section.

irssi runs headless inside a private tmux server (its own socket, its own --home). The test
types into it with `tmux send-keys`, reads what it shows from its log files (`/log open`
for everything, autolog for the channel window) and talks to it through a raw-socket client
of its own. irssi connects, registers (with CAP negotiation, as it does by default), joins a
channel, talks both ways and opers up with an Argon2id password; over TLS it verifies the
server's certificate against the self-signed certificate made here.

Every wait is for an expected line with a timeout. The server's stderr is read by a thread,
so waiting for its "ready" line needs no polling; irssi and tmux offer no event to await from
here, so their log files are polled with short sleeps inside that timeout.
Skipped only when irssi or tmux is not installed (Debian packages `irssi` and `tmux`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.ports import free_port
from tests.clientlog import size, wait_for_line
from tests.tlscerts import self_signed

needs_irssi = pytest.mark.skipif(
    shutil.which("irssi") is None or shutil.which("tmux") is None,
    reason="needs the irssi and tmux programs (Debian packages irssi and tmux)",
)
pytestmark = [pytest.mark.slow, needs_irssi]  # irssi in tmux, driven and read in real time

ROOT = Path(__file__).resolve().parents[2]
OPER_NAME = "root"
# One word: irssi's /OPER sends only the first word after the name as the password.
OPER_PASSWORD = "hunter2-de-n0call"
NICK = "irssinick"
CHANNEL = "#ham"
TIMEOUT = 15.0


# -- the server ------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """The Argon2id hash, made the way an operator makes it: `python -m ircd hash-password`."""
    done = subprocess.run(
        [sys.executable, "-m", "ircd", "hash-password"],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
    )
    digest = done.stdout.strip()
    assert digest.startswith("$argon2id$"), done
    return digest


class ServerProcess:
    """The server under test as a subprocess; a thread drains its stderr into `log`.

    The pipe must be read all along (a full pipe would block the server's logging); the
    thread also lets the test wait for a log line with a timeout instead of polling.
    """

    def __init__(self, argv: list[str], what: str) -> None:
        self.what = what
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)  # end of stream: the process is gone

    def wait_for(self, *patterns: str, timeout: float = TIMEOUT) -> None:
        """Wait until every regex in `patterns` has matched some stderr line, in any order."""
        missing = set(patterns)
        deadline = time.monotonic() + timeout
        while missing:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                recent = "\n".join(self.log[-30:])
                raise AssertionError(
                    f"{self.what}: no line matching {sorted(missing)} in {timeout} s; "
                    f"log:\n{recent}"
                ) from None
            if line is None:
                status = self.proc.wait(10)
                recent = "\n".join(self.log[-30:])
                raise AssertionError(f"{self.what} exited with status {status}; log:\n{recent}")
            missing = {p for p in missing if not re.search(p, line)}

    def stop(self) -> None:
        """SIGTERM (the clean stop) by PID, SIGKILL if that takes too long; always reaped."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(10)


@dataclass
class Ircd:
    """How to reach the running IRC server (whichever way it was started)."""

    plain_port: int
    tls_port: int
    cert: Path


@pytest.fixture(scope="module")
def oper_hash() -> str:
    """One Argon2id hash for every test here: making it is the slow part of the setup."""
    return hash_password(OPER_PASSWORD)


@pytest.fixture(params=["ircd", "gateway"])
def ircd(request: pytest.FixtureRequest, tmp_path: Path, oper_hash: str) -> Iterator[Ircd]:
    """The same `irc:` section served by `python -m ircd` ("ircd") and `gateway run`."""
    kind: str = request.param
    cert, key, _ = self_signed(tmp_path, for_loopback=True)
    plain, tls = free_port(), free_port()
    irc_section = f"""irc:
  server_name: irc.test
  network: PacketNet
  listen:
    - {{host: 127.0.0.1, port: {plain}}}
    - {{host: 127.0.0.1, port: {tls}, tls: {{cert: {cert}, key: {key}}}}}
  opers:
    - {{name: {OPER_NAME}, password_hash: "{oper_hash}"}}
"""
    config = tmp_path / "config.yaml"
    if kind == "gateway":
        # The gateway needs a data directory for its store and a telnet listener of its
        # own; the `irc:` section is the standalone server's, unchanged.
        config.write_text(
            f"data_dir: {tmp_path / 'data'}\n"
            f"telnet: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n" + irc_section,
            encoding="utf-8",
        )
        argv = [sys.executable, "-m", "gateway", "--config", str(config), "run"]
        ready = ["gateway running"]  # logged once every listener is up
    else:
        config.write_text(irc_section, encoding="utf-8")
        argv = [sys.executable, "-m", "ircd", "--config", str(config), "--verbose"]
        ready = [rf"listening on 127\.0\.0\.1:{port}\b" for port in (plain, tls)]
    server = ServerProcess(argv, kind)
    try:
        server.wait_for(*ready)
        yield Ircd(plain, tls, cert)
    finally:
        server.stop()


# -- the raw-socket client -------------------------------------------------------------


class RawClient:
    """A minimal IRC client on asyncio streams: the test's own view of the conversation."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.seen: list[str] = []

    @classmethod
    async def connect(cls, port: int, nick: str) -> RawClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        await client.send(f"NICK {nick}", f"USER {nick} 0 * :raw socket")
        await client.expect(r"^:\S+ 001 ")
        return client

    async def send(self, *lines: str) -> None:
        self.writer.write("".join(line + "\r\n" for line in lines).encode())
        await self.writer.drain()

    async def expect(self, pattern: str, timeout: float = TIMEOUT) -> str:
        """Read lines until one matches `pattern` (a regex); answer PINGs meanwhile."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.reader.readline()
                    if not raw:
                        raise AssertionError(f"connection closed waiting for {pattern!r}")
                    line = raw.decode(errors="replace").rstrip("\r\n")
                    self.seen.append(line)
                    if line.startswith("PING "):
                        await self.send("PONG " + line[5:])
                    if re.search(pattern, line):
                        return line
        except TimeoutError:
            recent = "\n".join(self.seen[-20:])
            raise AssertionError(f"no line matching {pattern!r}; last lines:\n{recent}") from None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()


# -- irssi in tmux ---------------------------------------------------------------------


class Irssi:
    """irssi in a detached pane of a private tmux server; typed into with send-keys."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.socket = home / "tmux.sock"
        self.log = home / "all.log"
        self.logs = home / "logs"
        self.tmux_pid: int | None = None
        self.irssi_pid: int | None = None
        # No user's files: HOME and the tmux config point into the test's directory.
        self.env = {**os.environ, "HOME": str(home), "TERM": "xterm-256color"}

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=10,
            check=True,
        )
        return done.stdout

    def start(
        self, options: str, host: str, port: int | str, nick: str = NICK, setup: str = ""
    ) -> None:
        """Start irssi as `nick`; its startup file opens the logs, runs the `setup` lines
        (e.g. a /network with SASL) and connects with `options`."""
        self.logs.mkdir(parents=True, exist_ok=True)
        # Settings go in the config file: a /set in the startup file would expand $tag.
        (self.home / "config").write_text(
            f"""settings = {{
  core = {{ nick = "{nick}"; user_name = "irssi"; real_name = "irssi under test"; }};
  # irssi paces its own commands (2.2 s apart after a burst): off, to keep the test fast.
  "irc/core" = {{ cmd_queue_speed = "0"; cmds_max_at_once = "100"; }};
  "fe-common/core" = {{
    autolog = "yes";
    autolog_path = "{self.logs}/$tag/$0.log";
    autolog_level = "all";
  }};
}};
""",
            encoding="utf-8",
        )
        # Everything irssi shows goes to all.log, numerics of the status window included;
        # the raw protocol goes to raw.log, for the failure report.
        (self.home / "startup").write_text(
            f"/log open {self.log} ALL\n"
            f"{setup}/connect {options} -rawlog {self.home / 'raw.log'} {host} {port}\n",
            encoding="utf-8",
        )
        # Command and arguments given separately: tmux execs irssi itself, no shell in
        # between, so the pane's PID is irssi's.
        self.tmux(
            "new-session", "-d", "-s", "irssi", "-x", "160", "-y", "48",
            "irssi", f"--home={self.home}", "--noconnect",
        )  # fmt: skip
        self.tmux_pid = int(self.tmux("display-message", "-p", "-t", "irssi", "#{pid}"))
        self.irssi_pid = int(self.tmux("display-message", "-p", "-t", "irssi", "#{pane_pid}"))

    def type(self, text: str) -> None:
        """Type `text` (literally, not as key names) and press Enter."""
        self.tmux("send-keys", "-t", "irssi", "-l", text)
        self.tmux("send-keys", "-t", "irssi", "Enter")

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "irssi")

    def mark(self) -> int:
        """How much all.log holds now: `wait_log(..., since=mark)` reads only what follows."""
        return size(self.log)

    async def wait_log(
        self, pattern: str, path: Path | None = None, timeout: float = TIMEOUT, since: int = 0
    ) -> str:
        """Wait until irssi logged a line matching `pattern` to `path` (default: all.log)
        after byte `since`; return what it logged there, up to the end of that line."""

        def explain(text: str) -> str:
            screen = self.screen() if self.tmux_pid is not None else ""
            raw = self.home / "raw.log"
            protocol = raw.read_text(errors="replace")[-3000:] if raw.exists() else ""
            return f"log:\n{text[-3000:]}\nscreen:\n{screen}\nraw log:\n{protocol}"

        file = path if path is not None else self.log
        return await wait_for_line(file, pattern, timeout=timeout, since=since, explain=explain)

    def channel_log(self) -> Path | None:
        """The autolog file of the channel window (its directory is named after irssi's tag)."""
        found = [p for p in self.logs.rglob("*.log") if p.name.lower() == f"{CHANNEL}.log"]
        return found[0] if found else None

    def kill(self) -> None:
        """Kill irssi and the tmux server by PID (tmux daemonizes: not our child to reap)."""
        for pid in (self.irssi_pid, self.tmux_pid):
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        for pid in (self.irssi_pid, self.tmux_pid):
            while pid is not None and _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status[status.rindex(")") + 2] != "Z"  # a zombie is dead, only not yet reaped


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["plain", "tls"])
async def test_irssi_registers_joins_talks_and_opers(
    ircd: Ircd, irssi: Irssi, transport: str
) -> None:
    raw = await RawClient.connect(ircd.plain_port, "rawham")
    try:
        await raw.send(f"JOIN {CHANNEL}")
        await raw.expect(rf" 366 rawham {CHANNEL} ")

        if transport == "tls":
            # Verified against our own certificate: no "accept anything" shortcut.
            # irssi matches the host name only against DNS names of the certificate, not
            # IP addresses: connect by name, over IPv4 where the listener is.
            options = f"-4 -tls -tls_verify -tls_cafile {ircd.cert}"
            irssi.start(options, "localhost", ircd.tls_port)
        else:
            irssi.start("-notls", "127.0.0.1", ircd.plain_port)
        await irssi.wait_log(r"Welcome to the PacketNet IRC Network " + NICK)

        irssi.type(f"/join {CHANNEL}")
        await raw.expect(rf"^:{NICK}!\S+ JOIN :?{CHANNEL}$")
        await irssi.wait_log(rf"{NICK}.*has joined {CHANNEL}")

        # Plain text typed into the channel window goes to the channel.
        irssi.type("cq cq de irssi")
        await raw.expect(rf"^:{NICK}!\S+ PRIVMSG {CHANNEL} :cq cq de irssi$")

        await raw.send(f"PRIVMSG {CHANNEL} :73 de rawham, {transport} copy")
        log = irssi.channel_log()
        deadline = time.monotonic() + TIMEOUT
        while log is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            log = irssi.channel_log()
        assert log is not None, f"no autolog file for {CHANNEL} under {irssi.logs}"
        await irssi.wait_log(rf"<.rawham> 73 de rawham, {transport} copy", path=log)

        irssi.type(f"/oper {OPER_NAME} {OPER_PASSWORD}")
        await irssi.wait_log(r"You are now an IRC operator")  # 381 RPL_YOUREOPER
        # The raw view agrees: WHOIS shows the operator line (313) for irssi's nick.
        await raw.send(f"WHOIS {NICK}")
        start = len(raw.seen)
        await raw.expect(rf" 318 rawham {NICK} ")  # end of WHOIS: the reply is complete
        whois = " ".join(line.split()[1] for line in raw.seen[start:])
        assert "313" in whois.split(), raw.seen[start:]
        if transport == "tls":
            assert "671" in whois.split(), raw.seen[start:]  # RPL_WHOISSECURE: TLS seen

        irssi.type("/quit 73")
        await raw.expect(rf"^:{NICK}!\S+ QUIT :")
    finally:
        await raw.close()
