"""A minimal AGW (AGWPE) network-protocol client for Dire Wolf (rig tests and benchmarks).

Frames: a 36-byte header (port, kind, PID, call from, call to, data length) and data.
Used kinds: 'X' register a callsign, 'C' connect, 'D' connected data, 'd' disconnect,
'R' version (a harmless probe).
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

_HEADER = struct.Struct("<B3xcxBx10s10sI4x")


@dataclass(frozen=True, slots=True)
class AgwFrame:
    kind: str
    call_from: str
    call_to: str
    data: bytes
    port: int = 0
    pid: int = 0xF0

    def encode(self) -> bytes:
        return (
            _HEADER.pack(
                self.port,
                self.kind.encode(),
                self.pid,
                self.call_from.encode().ljust(10, b"\0"),
                self.call_to.encode().ljust(10, b"\0"),
                len(self.data),
            )
            + self.data
        )


class AgwClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> AgwClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    def send(self, frame: AgwFrame) -> None:
        self.writer.write(frame.encode())

    async def receive(self) -> AgwFrame:
        header = await self.reader.readexactly(_HEADER.size)
        port, kind, pid, call_from, call_to, length = _HEADER.unpack(header)
        data = await self.reader.readexactly(length) if length else b""

        def call(raw: bytes) -> str:
            return raw.split(b"\0", 1)[0].decode("ascii", "replace")

        return AgwFrame(kind.decode("latin-1"), call(call_from), call(call_to), data, port, pid)

    async def wait_for(self, kind: str, timeout: float) -> AgwFrame:
        """The next frame of `kind`, skipping others (monitoring, status)."""
        async with asyncio.timeout(timeout):
            while True:
                frame = await self.receive()
                if frame.kind == kind:
                    return frame

    async def register(self, call: str) -> None:
        self.send(AgwFrame("X", call, "", b""))
        reply = await self.wait_for("X", 10)
        if reply.data[:1] != b"\x01":
            raise RuntimeError(f"AGW registration of {call} refused")

    def close(self) -> None:
        self.writer.close()
