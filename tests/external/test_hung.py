"""A hung server (SIGSTOP) is noticed by the client side within its ping timeout, and a
connection is taken again as soon as the server is back (real ngircd)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench import irc_peers as peers
from gateway.config import ExternalIrc
from gateway.irc.external import SENT_AWAY, ExternalConnector
from gateway.irc.link import Identity

pytestmark = pytest.mark.slow

IDENT = Identity(nicks=("N0HUNG",), user="n0hung", host="bpq.node1.radio", realname="test")


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[peers.IrcPeer]:
    peer = peers.ngircd(tmp_path / "ngircd")
    await peer.start()
    try:
        yield peer
    finally:
        if peer.proc is not None and peer.proc.returncode is None:
            os.kill(peer.proc.pid, signal.SIGCONT)  # a stopped process ignores SIGKILL's wait
        await peer.stop()


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
