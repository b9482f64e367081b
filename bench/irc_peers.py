"""Real IRC servers from Debian (ngircd, InspIRCd), started on free loopback ports.

Each server runs in the foreground as a child process, with a config written to a temp
directory; `stop()` kills it by its own PID. InspIRCd servers can be linked to each other
(spanning tree) to make a two-server network.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

from bench.gateway_process import free_port

NGIRCD = "/usr/sbin/ngircd"
INSPIRCD = "/usr/sbin/inspircd"
WEBIRC_PASSWORD = "webirc-secret-for-tests"
LINK_PASSWORD = "link-secret-for-tests"


@dataclass
class IrcPeer:
    name: str
    port: int
    argv: list[str]
    directory: Path
    proc: asyncio.subprocess.Process | None = None
    link_port: int = 0
    server_name: str = ""
    sid: str = ""
    #: InspIRCd's stock flood limits (fake lag, 8K RecvQ) instead of none.
    stock_flood: bool = False
    log: list[str] = field(default_factory=list)

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=self.directory,
        )
        await wait_listening(self.port, self.proc)

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()


async def wait_listening(port: int, proc: asyncio.subprocess.Process) -> None:
    """Wait until the server accepts connections (or die with its exit status)."""
    async with asyncio.timeout(20):
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"the IRC server exited with status {proc.returncode}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


def ngircd(directory: Path, stock_flood: bool = False) -> IrcPeer:
    """ngircd with WEBIRC for loopback and its flood penalties off (`stock_flood`: on,
    as ngircd ships: a command costs time once a client is a few ahead)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (directory / "motd").write_text("test network\n", encoding="utf-8")
    config = directory / "ngircd.conf"
    config.write_text(
        f"""[Global]
Name = irc.ngircd.test
Info = test
Listen = 127.0.0.1
Ports = {port}
MotdFile = {directory / "motd"}
[Limits]
MaxConnectionsIP = 0
PingTimeout = 600
PongTimeout = 600
{"" if stock_flood else "MaxPenaltyTime = 0"}
[Options]
DNS = no
Ident = no
PAM = no
WebIRCPassword = {WEBIRC_PASSWORD}
""",
        encoding="utf-8",
    )
    argv = [NGIRCD, "--nodaemon", "--config", str(config)]
    return IrcPeer("ngircd", port, argv, directory, stock_flood=stock_flood)


def inspircd(
    directory: Path, name: str = "irc.inspircd.test", sid: str = "9AA", stock_flood: bool = False
) -> IrcPeer:
    """InspIRCd with WEBIRC (m_cgiirc) for loopback, ready to link (m_spanningtree);
    `stock_flood`: the flood limits of InspIRCd's own example class, not none."""
    directory.mkdir(parents=True, exist_ok=True)
    port, link_port = free_port(), free_port()
    (directory / "motd").write_text("test network\n", encoding="utf-8")
    peer = IrcPeer("inspircd", port, [], directory, link_port=link_port, server_name=name, sid=sid,
                   stock_flood=stock_flood)  # fmt: skip
    peer.argv = [INSPIRCD, "--config", str(directory / "inspircd.conf"), "--nofork", "--nopid",
                 "--runasroot"]  # fmt: skip
    _write_inspircd(peer, links=[])
    return peer


def _write_inspircd(peer: IrcPeer, links: list[IrcPeer], connect: bool = False) -> None:
    d, name = peer.directory, peer.server_name
    flood = (
        'threshold="10" commandrate="1000" fakelag="yes" recvq="8K"'
        if peer.stock_flood
        else 'threshold="1000000" commandrate="1000000000" fakelag="no"'
    )
    link_blocks = "".join(
        f"""<link name="{other}" ipaddr="127.0.0.1" port="{port}" allowmask="127.0.0.1"
 sendpass="{LINK_PASSWORD}" recvpass="{LINK_PASSWORD}">
"""
        + (f'<autoconnect period="1s" server="{other}">\n' if connect else "")
        for other, port in ((p.server_name, p.link_port) for p in links)
    )
    (d / "inspircd.conf").write_text(
        f"""<server name="{name}" description="test" network="TestNet" id="{peer.sid}">
<admin name="test" nick="test" email="test@localhost">
<bind address="127.0.0.1" port="{peer.port}" type="clients">
<bind address="127.0.0.1" port="{peer.link_port}" type="servers">
<connect allow="*" timeout="60" pingfreq="600" {flood}
 localmax="1000" globalmax="1000" maxconnwarn="no" resolvehostnames="no"
 useident="no" limit="1000">
<files motd="{d / "motd"}">
<dns server="127.0.0.1" timeout="1">
<pid file="{d / "inspircd.pid"}">
<options syntaxhints="no">
<security hideserver="">
<performance nouserdns="yes" clonesonconnect="no">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="{d / "log"}">
<module name="cgiirc">
<cgihost type="webirc" password="{WEBIRC_PASSWORD}" mask="127.0.0.1">
<module name="ircv3">
<module name="ircv3_accounttag">
<module name="ircv3_servertime">
<module name="ircv3_batch">
<module name="ircv3_ctctags">
<module name="cap">
<module name="spanningtree">
{link_blocks}""",
        encoding="utf-8",
    )


def link(a: IrcPeer, b: IrcPeer) -> None:
    """Configure two InspIRCd servers (not yet started) to link: `a` connects to `b`
    (from one side only: two links crossing would both fail)."""
    _write_inspircd(a, links=[b], connect=True)
    _write_inspircd(b, links=[a])
