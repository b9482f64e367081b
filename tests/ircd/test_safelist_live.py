"""SAFELIST over real sockets against `python -m ircd`: a LIST far longer than the SendQ
and the kernel's buffers reaches a client that reads slowly, which stays connected."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from ircd.protocol import Message
from ircd.websocket import TEXT
from tests.ircd.conftest import LiveClient
from tests.ircd.test_websocket import running, ws_client
from tests.tlscerts import self_signed

#: Small, so that the LIST (~130 kB) is many times the SendQ.
SENDQ = 16 * 1024
CHANNELS = 300
TOPIC = "t" * 390


async def far_socket(port: int) -> socket.socket:
    """A connected socket as if far away: the segment size of a long path (536 bytes, not
    the 64 KiB of loopback, which makes the kernel start the server's socket with a send
    buffer of megabytes) and a receive buffer of 4 KiB. The kernel then holds some tens
    of kB for it, and what the server makes beyond that waits in the server."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def slow_client(port: int, context: ssl.SSLContext | None) -> LiveClient:
    """A far client (`far_socket`) reading through a stream buffer of 1 KiB."""
    sock = await far_socket(port)
    hostname = "irc.test" if context is not None else None
    streams = await asyncio.open_connection(
        sock=sock, limit=1024, ssl=context, server_hostname=hostname
    )
    return LiveClient(*streams)


async def owner_of_channels(live_client: Any, port: int) -> tuple[LiveClient, list[str]]:
    """A client holding `CHANNELS` channels, each with a long topic, and their names."""
    owner = await (await live_client(port)).register("owner")
    names = [f"#topic{i:03d}" for i in range(CHANNELS)]
    for name in names:
        await owner.send(f"JOIN {name}", f"TOPIC {name} :{TOPIC}")
    for _ in names:
        await owner.expect("TOPIC", timeout=30)
    return owner, names


# Over TLS the paced LIST waits on the TLS layer's own buffer (asyncio's SSL protocol):
# the same reader must get it all. (Made at once, a reply over TLS went whole to the
# transport below the TLS layer, which the SendQ does not see: only plain fails before.)
@pytest.mark.parametrize("tls", [False, True], ids=["plain", "tls"])
async def test_a_list_many_times_the_sendq_reaches_a_slow_reader(
    tls: bool, tmp_path: Path, start_live_server: Any, live_client: Any
) -> None:
    limits = (
        f"limits: {{sendq: {SENDQ}, max_per_address: 0, flood_rate: 0, "
        f"max_channels_per_client: {CHANNELS}, max_channels_per_address: {CHANNELS}}}\n"
    )
    context = None
    if tls:
        cert, key, _ = self_signed(tmp_path)
        server = start_live_server(limits, tls=(cert, key))
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
    else:
        server = start_live_server(limits)
    owner, names = await owner_of_channels(live_client, server.port)
    port = server.tls_port if tls else server.port
    asker = await (await slow_client(port, context)).register("asker")
    assert any("SAFELIST" in m.params for m in asker.seen if m.command == "005")
    await asker.send("LIST")
    got: list[Message] = []
    while True:  # line by line, through a 1 KiB stream buffer: a slow reader
        msg = await asker.read(timeout=30)
        assert msg is not None, f"dropped after {len(got)} lines: {server.log[-3:]}"
        got.append(msg)
        if msg.command == "323":
            break
    listed = [m.params[1] for m in got if m.command == "322"]
    assert sorted(listed) == names
    assert all(m.params[-1].endswith(TOPIC) for m in got if m.command == "322")
    assert [m.command for m in got if m.command != "322"] == ["321", "323"]
    await asker.send("PING :still-here")
    assert (await asker.expect("PONG")).params[-1] == "still-here"
    assert "SendQ exceeded" not in "\n".join(server.log)
    await owner.close()
    await asker.close()


async def test_a_list_many_times_the_sendq_reaches_a_websocket_reader(live_client: Any) -> None:
    # The same through a WebSocket listener (`ircd.websocket`), whose transport passes
    # the drain mark down to the socket's and the pause and resume back up.
    limits = {
        "sendq": SENDQ,
        "max_per_address": 0,
        "flood_rate": 0,
        "max_channels_per_client": CHANNELS,
        "max_channels_per_address": CHANNELS,
    }
    async with running(**limits) as ports:
        owner, names = await owner_of_channels(live_client, ports.tcp)
        sock = await far_socket(ports.ws)
        async with ws_client(ports.ws, TEXT, sock=sock, max_queue=1) as asker:
            await asker.register("asker")
            await asker.send("LIST")
            got: list[Message] = []
            while not got or got[-1].command != "323":
                got.append(await asker.read(timeout=30))
            assert [m.params[1] for m in got if m.command == "322"] == names
            assert [m.command for m in got if m.command != "322"] == ["321", "323"]
            await asker.send("PING :still-here")
            assert (await asker.expect("PONG")).params[-1] == "still-here"
        await owner.close()
