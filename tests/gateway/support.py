"""Helpers for integration tests: the real `gateway` as a subprocess (from bench/, which
the benchmarks share), real sockets, and a telnet client."""

from __future__ import annotations

import asyncio

from bench.gateway_process import TIMEOUT, GatewayProcess, enroll, free_port, run_cli

__all__ = ["Client", "GatewayProcess", "enroll", "free_port", "run_cli"]


class Client:
    """A telnet client that waits for what it expects (no fixed sleeps)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.received = b""

    @classmethod
    async def connect(cls, port: int, first: bytes = b"") -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = cls(reader, writer)
        if first:
            client.send(first)
        return client

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def expect(self, text: str) -> bytes:
        """Read until `text` has arrived; return everything up to and including it."""
        needle = text.encode()
        async with asyncio.timeout(TIMEOUT):
            while needle not in self.received:
                chunk = await self.reader.read(4096)
                if not chunk:
                    raise AssertionError(f"closed before {text!r}; got {self.received!r}")
                self.received += chunk
        head, _, rest = self.received.partition(needle)
        self.received = rest
        return head + needle

    async def expect_close(self) -> bytes:
        async with asyncio.timeout(TIMEOUT):
            while chunk := await self.reader.read(4096):
                self.received += chunk
        data, self.received = self.received, b""
        return data

    def close(self) -> None:
        self.writer.close()
