"""A hung server (SIGSTOP) is noticed by the client side within its ping timeout, and a
connection is taken again as soon as the server is back (real ngircd)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench import irc_peers as peers
from gateway.config import ExternalIrc
from gateway.irc.external import SENT_AWAY, ExternalConnector
from gateway.irc.link import Identity
from tests.external.test_external import Spawn, back_in_test, gateway_on
from tests.gateway.test_bridge_e2e import radio_login

pytestmark = pytest.mark.slow

IDENT = Identity(nicks=("N0HUNG",), user="n0hung", host="bpq.node1.radio", realname="test")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[peers.IrcPeer]:
    peer = peers.ngircd(tmp_path / "ngircd")
    await peer.start()
    try:
        yield peer
    finally:
        await peer.stop()  # SIGKILL ends a process stopped with SIGSTOP as well


async def test_a_stopped_server_is_noticed_within_the_ping_timeout(server: peers.IrcPeer) -> None:
    settings = ExternalIrc("127.0.0.1", port=server.port, webirc_password=peers.WEBIRC_PASSWORD,
                           ping_timeout=2.0)  # fmt: skip
    connector = ExternalConnector(settings)
    link = await connector.connect(IDENT)
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        # Everything the server sent before it stopped (MOTD, USERHOST) is read first.
        async with asyncio.timeout(30):  # a safety net only: the link decides
            while (msg := await link.read()) is not None and msg.command != "ERROR":
                pass
        assert msg is not None and msg.params == ("Ping timeout: 2 seconds",)
        assert await link.read() is None and link.closed
        # Told as a loss worth reconnecting after, not a kill or a ban.
        assert SENT_AWAY.search(msg.params[0]) is None
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    back = await connector.connect(IDENT)  # the server took us again at once
    assert back.nick == "N0HUNG"
    back.quit("done")
    await back.wait_closed()


async def test_a_radio_user_is_told_when_the_server_hangs_and_comes_back(
    tmp_path: Path, spawn_gateway: Spawn, server: peers.IrcPeer
) -> None:
    """The gateway as run, `ping_timeout: 10`: the ham reads why, then the return."""
    gw, bpq, totp = await gateway_on(
        spawn_gateway, tmp_path / "gw", server, "N0TEST", external=", ping_timeout: 10"
    )
    ham = await radio_login(bpq, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/j #test\r")
    assert (await ham.expect("\r\n")).startswith(b"Joined #test")
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        line = await ham.expect("\r\n")
        assert line == b"IRC network lost (Ping timeout: 10 seconds); reconnecting.\r\n"
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    await back_in_test(ham)
    ham.send(b"/b\r")
    await ham.expect_close()
    assert await gw.stop() == 0
