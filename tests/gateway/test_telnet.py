"""The telnet adapter in-process over real loopback sockets: pacing, interrupt, EOF."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.config import TelnetListener
from gateway.telnet import STOPPED, ListenerState, TelnetConnection
from tests.gateway.support import Client


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A slow listener (20 B/s, 16-byte packets) whose session prints a long listing."""
    cfg = TelnetListener(host="127.0.0.1", port=0, bpq=False, bytes_per_second=20, packet_bytes=16)
    state = ListenerState(cfg)
    seen: list[str] = []

    async def session(conn: TelnetConnection) -> None:
        conn.write("ready\n")
        while (line := await conn.read_line()) is not None:
            seen.append(line)
            if line == "list":
                conn.write("".join(f"item {i:03d} \u00e9\u2603\n" for i in range(100)))
            elif line == "bye":
                await conn.close("bye")
                return

    server = await asyncio.get_running_loop().create_server(
        lambda: TelnetConnection(state, session), "127.0.0.1", 0
    )
    try:
        yield server.sockets[0].getsockname()[1], seen
    finally:
        server.close()
        for conn in list(state.connections):
            await conn.shutdown("test over")


async def test_long_output_is_paced_and_interruptible(listener: tuple[int, list[str]]) -> None:
    port, seen = listener
    client = await Client.connect(port)
    await client.expect("ready\r\n")
    client.send(b"list\r\n")
    first = await client.expect("item 000 e?\r\n")  # accents folded, the rest replaced
    assert b"\xff" not in first
    client.send(b"\r\n")  # an empty line stops the listing
    rest = await client.expect(STOPPED.replace("\n", "\r\n"))
    # 100 items would be 1,300 bytes (65 s at 20 B/s); the stop came after a few packets.
    assert rest.count(b"item") < 20
    client.send(b"bye\r\n")
    tail = await client.expect_close()
    assert b"item 099" not in tail and tail.endswith(b"bye\r\n")
    assert seen == ["list", "", "bye"]


async def test_peer_hangup_is_eof(listener: tuple[int, list[str]]) -> None:
    port, seen = listener
    client = await Client.connect(port)
    await client.expect("ready")
    client.send(b"partial line without end")
    client.writer.write_eof()
    await client.expect_close()
    assert seen == []
