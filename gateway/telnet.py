"""The telnet front end: an asyncio adapter between sockets and sessions.

One `TelnetConnection` per socket (uvicorn style): `data_received` feeds the sans-IO
line reader, output goes through the pacer, timers are call_later handles the
connection owns and cancels. Admission (safelist, connection limits) happens in
`connection_made`, before a session exists. A BPQ node's
`*** Disconnected from Stream N` line means the user has gone.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.callsign import Callsign
from gateway.config import TelnetListener
from gateway.session.linequeue import LineQueue
from gateway.session.linestream import LineReader, LineTooLong
from gateway.session.pacing import Pacer
from gateway.session.render import encode_text

log = logging.getLogger("gateway.telnet")

BPQ_DISCONNECT = re.compile(r"\*\*\* Disconnected from Stream \d+\s*")
#: Lines typed ahead beyond this many pause reading until the session catches up.
MAX_QUEUED_LINES = 16
#: A BPQ node without the S flag can lose bytes written just before a close.
BPQ_CLOSE_DELAY = 1.0
DRAIN_TIMEOUT = 30.0
STOPPED = "(output stopped)\n"


class ListenerState:
    """The connections of one listener, passed to each connection (never global)."""

    def __init__(self, config: TelnetListener) -> None:
        self.config = config
        self.connections: set[TelnetConnection] = set()
        self.per_ip: dict[str, int] = {}
        self.empty = asyncio.Event()
        self.empty.set()

    def admit(self, conn: TelnetConnection, ip: str) -> str | None:
        """Register `conn`, or say why it is refused."""
        cfg = self.config
        if not cfg.allows(ip):
            return "not in safelist"
        if len(self.connections) >= cfg.max_connections:
            return "listener full"
        if cfg.max_per_ip and self.per_ip.get(ip, 0) >= cfg.max_per_ip:
            return "too many connections from this address"
        self.connections.add(conn)
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        self.empty.clear()
        return None

    def release(self, conn: TelnetConnection, ip: str) -> None:
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        left = self.per_ip.get(ip, 1) - 1
        if left > 0:
            self.per_ip[ip] = left
        else:
            self.per_ip.pop(ip, None)
        if not self.connections:
            self.empty.set()


SessionRunner = Callable[["TelnetConnection"], Coroutine[Any, Any, None]]


class TelnetConnection(asyncio.Protocol):
    """One telnet client (or one BPQ user) as a LineStream."""

    def __init__(self, state: ListenerState, run_session: SessionRunner) -> None:
        self.state = state
        self.config = state.config
        self._run_session = run_session
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._reader = LineReader(self.config.max_line, telnet=True)
        self._pacer = Pacer(self.config.bytes_per_second, self.config.packet_bytes)
        self._lines = LineQueue()
        self._pump_handle: asyncio.TimerHandle | None = None
        self._write_paused = False
        self._drained = asyncio.Event()
        self._drained.set()
        self._closed = asyncio.Event()
        self._closing = False
        self._close_started = False
        self._task: asyncio.Task[None] | None = None
        self.ip = ""
        kind = "BPQ" if self.config.bpq else "telnet"
        self.via = f"{kind} {self.config.label}"

    # -- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else "?"
        refused = self.state.admit(self, self.ip)
        if refused is not None:
            log.warning("refused %s on %s: %s", self.ip, self.config.label, refused)
            transport.write(b"Connection refused.\r\n")
            transport.close()
            self._closing = True
            return
        log.info("connection from %s on %s", self.ip, self.config.label)
        self._task = self._loop.create_task(self._session())

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        for item in self._reader.feed(data):
            if isinstance(item, LineTooLong):
                self.write(f"Line too long (max {item.limit}).\n")
                continue
            if self.config.bpq and BPQ_DISCONNECT.fullmatch(item.text):
                self._lines.end()
                self._closing = True
                return
            if self._pacer.pending > self._pacer.packet_bytes:
                # A line while a long output is queued means "stop": drop the rest.
                self._pacer.cancel()
                self.write(STOPPED)
            self._lines.put(item.text)
        if len(self._lines) >= MAX_QUEUED_LINES and self._transport is not None:
            self._transport.pause_reading()

    def eof_received(self) -> bool | None:
        self._lines.end()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._lines.end()
        if self._pump_handle is not None:
            self._pump_handle.cancel()
            self._pump_handle = None
        self._pacer.cancel()
        self._drained.set()
        self._closed.set()
        if self._task is not None:  # an admitted connection, not a refused one
            log.info("connection from %s on %s closed", self.ip, self.config.label)
        self.state.release(self, self.ip)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._pump()

    # -- LineStream --------------------------------------------------------------

    async def read_line(self) -> str | None:
        line = await self._lines.get()
        if self._transport is not None and len(self._lines) < MAX_QUEUED_LINES // 2:
            self._transport.resume_reading()
        return line

    def write(self, text: str) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        self._pacer.push(encode_text(text))
        self._drained.clear()
        if self._pump_handle is None:
            self._pump()

    def discard_input(self) -> None:
        self._lines.discard()

    def source_key(self, callsign: Callsign) -> str:
        # Behind a BPQ node everyone is 127.0.0.1: the node (listener) and the
        # claimed callsign are the most specific source there is.
        if self.config.bpq:
            return f"telnet:{self.config.label}:call:{callsign.base}"
        return f"telnet:{self.config.label}:ip:{self.ip}"

    async def close(self, farewell: str | None = None) -> None:
        if self._transport is None or self._transport.is_closing() or self._close_started:
            return
        self._close_started = True
        if farewell:
            self.write(farewell + "\n")
        self._closing = True
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await self._drained.wait()
        except TimeoutError:
            log.info("output to %s not drained at close; dropped", self.ip)
        if self.config.bpq and BPQ_CLOSE_DELAY:
            self._loop.call_later(BPQ_CLOSE_DELAY, self._transport.close)
        else:
            self._transport.close()

    # -- internals ---------------------------------------------------------------

    def _pump(self) -> None:
        """Send the next paced packet and schedule the one after."""
        self._pump_handle = None
        if self._transport is None or self._transport.is_closing() or self._write_paused:
            return
        packet, wait = self._pacer.next_packet(self._loop.time())
        if packet:
            self._transport.write(packet)
        if self._pacer.pending == 0:
            self._drained.set()
            return
        self._pump_handle = self._loop.call_later(wait, self._pump)

    async def _session(self) -> None:
        try:
            await self._run_session(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The one catch-all: log the bug and end this connection only.
            log.exception("session on %s from %s failed", self.config.label, self.ip)
            self.write("Internal error; disconnecting.\n")
        finally:
            await self.close()

    async def shutdown(self, farewell: str) -> None:
        """Graceful stop: say goodbye, drain, close."""
        await self.close(farewell)
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait_closed(self) -> None:
        await self._closed.wait()
