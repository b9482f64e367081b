"""KISS transports against real peers: a TCP TNC that drops and returns, and a pty serial port."""

from __future__ import annotations

import asyncio
import os
import tty

from radio.kiss import Command, KissDecoder, KissFrame, encode
from radio.port import KissPort, SerialEndpoint, TcpEndpoint

TIMEOUT = 10


async def next_frame(reader: asyncio.StreamReader) -> KissFrame:
    decoder = KissDecoder()
    while True:
        frames = decoder.feed(await reader.read(1024))
        if frames:
            return frames[0]


async def test_tcp_reconnects_after_the_tnc_goes_away() -> None:
    got: list[KissFrame] = []
    arrived = asyncio.Event()
    clients: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def tnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await clients.put((reader, writer))

    server = await asyncio.start_server(tnc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]

    def on_frame(frame: KissFrame) -> None:
        got.append(frame)
        arrived.set()

    kiss = KissPort(TcpEndpoint("127.0.0.1", port), on_frame, backoff_initial=0.05)
    task = asyncio.create_task(kiss.run())
    try:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await clients.get()
            await kiss.connected.wait()
            # Another port's frames and parameter frames are not ours; garbage is skipped.
            writer.write(encode(KissFrame(1, Command.DATA, b"other port")) + b"\xdb\x00\xc0")
            writer.write(encode(KissFrame(0, Command.DATA, b"\xc0ours\xdb")))
            await arrived.wait()
            assert [f.payload for f in got] == [b"\xc0ours\xdb"]
            assert kiss.send(b"to the air")
            assert await next_frame(reader) == KissFrame(0, Command.DATA, b"to the air")
            writer.close()  # the TNC goes away...
            reader2, writer2 = await clients.get()  # ...and the port comes back by itself
            await kiss.connected.wait()
            assert kiss.send(b"again")
            assert (await next_frame(reader2)).payload == b"again"
            writer2.close()
    finally:
        task.cancel()
        server.close()


async def test_serial_over_a_pty_pair() -> None:
    master, slave = os.openpty()
    tty.setraw(master)
    got: asyncio.Queue[KissFrame] = asyncio.Queue()
    kiss = KissPort(SerialEndpoint(os.ttyname(slave), 9600), got.put_nowait)
    task = asyncio.create_task(kiss.run())
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(TIMEOUT):
            await kiss.connected.wait()
            os.write(master, encode(KissFrame(0, Command.DATA, b"from the tnc")))
            assert (await got.get()).payload == b"from the tnc"
            assert kiss.send(b"to the tnc")
            decoder, frames = KissDecoder(), []
            while not frames:
                frames = decoder.feed(await loop.run_in_executor(None, os.read, master, 1024))
            assert frames[0].payload == b"to the tnc"
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        os.close(master)
        os.close(slave)


async def test_a_tnc_that_never_reads_costs_a_bounded_buffer(caplog) -> None:
    """Frames for a TNC that accepts and never reads are dropped past MAX_BACKLOG."""
    from radio.port import MAX_BACKLOG

    accepted = asyncio.Event()
    held: list[asyncio.StreamWriter] = []

    def tnc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.pause_reading()  # never reads a byte
        held.append(writer)
        accepted.set()

    server = await asyncio.start_server(tnc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    kiss = KissPort(TcpEndpoint("127.0.0.1", port), lambda frame: None, name="vhf")
    task = asyncio.create_task(kiss.run())
    try:
        async with asyncio.timeout(TIMEOUT):
            await accepted.wait()
            await kiss.connected.wait()
            frame = bytes(256)
            sent = 0
            # The kernel's buffers take what they take; then ours grows to the bound.
            while kiss.send(frame):
                sent += 1
                if sent % 64 == 0:
                    await asyncio.sleep(0)  # let the transport hand bytes to the kernel
            assert kiss._writer is not None
            buffered = kiss._writer.transport.get_write_buffer_size()
            assert MAX_BACKLOG < buffered <= MAX_BACKLOG + len(encode(KissFrame(0, 0, frame)))
            assert not kiss.send(frame) and kiss.backlog_drops == 2
            assert "vhf: the TNC is not reading; dropping frames for it" in caplog.text
            assert caplog.text.count("not reading") == 1  # once per connection, not per frame
    finally:
        task.cancel()
        for writer in held:
            writer.close()
        server.close()
