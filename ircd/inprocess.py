"""An in-process connection: an attached client without a socket, for the gateway's bridge.

    conn = InProcessConnection.attach(server, nick="K1ABC", user="k1abc",
                                      host="radio.gateway", account="K1ABC")
    conn.send("JOIN #hamradio")
    while (msg := await conn.read()) is not None:
        ...                       # every line the server sent to this client, parsed
    conn.quit("73")               # or the server ends it (KILL, SendQ exceeded): read() -> None

Output is queued up to `sendq` bytes (the client's `limits.sendq` by default); a reader
that falls further behind is disconnected with "SendQ exceeded", like a socket client.
The reader runs between loop passes, so the queue is measured after its turn: one pass
that makes more than `sendq` bytes does not drop a reader waiting for them.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from ircd.protocol import Message, parse_line

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.server import Server


class InProcessConnection:
    """The `Sink` of one attached client, and the embedder's handle on it."""

    def __init__(self, server: Server, sendq: int | None = None) -> None:
        self._server = server
        self._sendq = sendq if sendq is not None else server.config.limits.sendq
        self._lines: deque[bytes] = deque()
        self._queued = 0
        self._ready = asyncio.Event()
        self._overflowed = False
        self.closed = False
        self.client: Client | None = None

    @classmethod
    def attach(
        cls,
        server: Server,
        *,
        sendq: int | None = None,
        service: bool = False,
        **identity: str | None,
    ) -> InProcessConnection:
        """Attach a client with a trusted identity (see `Server.attach` for the fields)."""
        conn = cls(server, sendq)
        conn.client = server.attach(conn, service=service, **identity)
        return conn

    # -- Sink ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        for line in data.split(b"\r\n"):
            if line:
                self._lines.append(line)
                self._queued += len(line) + 2
        self._ready.set()
        if self._queued > self._sendq and not self._overflowed and self.client is not None:
            # Never call into the server from write(): it may be in a fan-out loop. Judge
            # after the reader's turn: it runs only between loop passes, and one pass may
            # hold many clients' bursts; what it leaves unread then is what waits.
            self._overflowed = True
            asyncio.get_running_loop().call_soon(self._overflow)

    def _overflow(self) -> None:
        self._overflowed = self._queued > self._sendq
        if self._overflowed and self.client is not None and not self.closed:
            self._server.disconnect(self.client, "SendQ exceeded")

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def pause_reading(self) -> None:
        """Nothing to do: input sent meanwhile waits in the server's line buffer."""

    def resume_reading(self) -> None:
        """Nothing to do (see `pause_reading`)."""

    # -- embedder side ---------------------------------------------------------------

    def send(self, line: str) -> None:
        """Send one line as this client (without CR LF)."""
        if self.client is not None and not self.closed:
            self._server.receive(self.client, line.encode() + b"\r\n")

    async def read(self) -> Message | None:
        """The next message sent to this client, or None once the connection is closed."""
        while not self._lines:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        line = self._lines.popleft()
        self._queued -= len(line) + 2
        return parse_line(line)  # the server writes only lines it built: they parse

    def pending(self) -> list[Message]:
        """Every message queued now, without waiting (handy in tests)."""
        out = []
        while self._lines:
            line = self._lines.popleft()
            self._queued -= len(line) + 2
            out.append(parse_line(line))
        return out

    def quit(self, reason: str = "") -> None:
        """End the connection as QUIT would."""
        if self.client is not None:
            self._server.disconnect(self.client, f"Quit: {reason}" if reason else "Quit")
