"""The telnet front end: an asyncio adapter between sockets and sessions.

One `TelnetConnection` per socket (uvicorn style): `data_received` feeds the sans-IO
line reader and hands lines to the session; output goes through the pacer (a page at
once, then the radio's pace; none on a direct listener unless the sysop sets one), and
the session hears `ready` when another packet may leave; timers are call_later handles the
connection owns and cancels. Reading pauses while the session is behind. Admission
(safelist, connection limits) happens in `connection_made`, before a session exists.
A BPQ node's `*** Disconnected from Stream N` line means the user has gone.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Coroutine
from typing import Any

from gateway.callsign import Callsign
from gateway.config import TelnetListener
from gateway.links.linestream import LineReader, LineTooLong
from gateway.links.startups import WARN_INTERVAL, Startups, address_claimant
from gateway.logpace import LogPace
from gateway.session.pacing import Pacer
from gateway.session.render import encode_text
from gateway.session.transport import EarlyEvents, TransportEvents

log = logging.getLogger("gateway.links.telnet")

BPQ_DISCONNECT = re.compile(r"\*\*\* Disconnected from Stream \d+\s*")
#: Lines received before the session starts beyond this many pause reading.
MAX_QUEUED_LINES = 16
#: A BPQ node without the S flag can lose bytes that reach it in the same poll as the
#: close: it polls its sockets every 100 ms and, seeing the close, drops the stream with
#: whatever it has not yet read. So the close waits until every byte has left our buffer
#: for the kernel (the node can read it from there at its next poll) and then this long,
#: more than two polls, so the node has read the last line before it sees the close.
#: (A fixed second after our pacer drained made logging out take seconds.)
BPQ_CLOSE_MARGIN = 0.25
DRAIN_TIMEOUT = 30.0
#: Input per connection: 16 KiB/s sustained, 64 KiB at once. A 1200-baud link carries
#: about 120 B/s and a fast LAN telnet user types far less; a flood beyond it waits in
#: the kernel instead of taking the loop's time from everyone else.
INPUT_RATE = 16 * 1024.0
INPUT_BURST = 64 * 1024
EVICTED = "Too many logins in progress; try again."


class ListenerState:
    """The connections of one listener, passed to each connection (never global).

    Connections still logging in are bounded apart from logged-in sessions: when they
    are too many, one of them is dropped to make room, those over their claimant's
    share first, then silent ones, and those typing last (`Startups`).
    """

    def __init__(self, config: TelnetListener, clock: Callable[[], float] = time.monotonic) -> None:
        self.unauthenticated: Startups[TelnetConnection] = Startups(
            config.label, config.max_unauthenticated, clock
        )
        self.config = config
        self.connections: set[TelnetConnection] = set()
        self.per_ip: dict[str, int] = {}
        self.empty = asyncio.Event()
        self.empty.set()
        #: A flood of refusals is one line a minute; of connections, 20 lines a minute
        #: of each kind (opened, closed).
        self._refusals_logged = LogPace(1, WARN_INTERVAL, clock)
        self.opened_logged = LogPace(clock=clock)
        self.closed_logged = LogPace(clock=clock)

    @property
    def config(self) -> TelnetListener:
        return self._config

    @config.setter
    def config(self, config: TelnetListener) -> None:
        """A reload: new settings apply to new connections."""
        self._config = config
        self.unauthenticated.label = config.label
        self.unauthenticated.limit = config.max_unauthenticated

    def admit(self, conn: TelnetConnection, ip: str) -> str | None:
        """Register `conn`, or say why it is refused."""
        cfg = self.config
        if not cfg.allows(ip):
            return "not in safelist"
        if cfg.max_per_ip and self.per_ip.get(ip, 0) >= cfg.max_per_ip:
            return "too many connections from this address"
        # After a reload that lowered the bound there may be more than one too many.
        while self.unauthenticated.full and self._evict_one():
            pass
        if len(self.connections) >= cfg.max_connections:
            self._evict_one()
        if len(self.connections) >= cfg.max_connections:
            return "listener full"
        self.connections.add(conn)
        # Behind a BPQ node every user comes from the node's address: not a claimant.
        self.unauthenticated.add(conn, () if cfg.bpq else (address_claimant(ip),))
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        self.empty.clear()
        return None

    def refused(self, ip: str, why: str) -> None:
        """Log a refused connection: the first at once, then one line a minute with the
        count (a flood from over the limit must not flood the log)."""
        more = self._refusals_logged.admit()
        if more is not None:
            log.warning("refused %s on %s: %s%s", ip, self.config.label, why, more)

    def _evict_one(self) -> bool:
        victim = self.unauthenticated.evict()
        if victim is None:
            return False
        self.release(victim, victim.ip)
        victim.evict(EVICTED)
        return True

    def logged_in(self, conn: TelnetConnection) -> None:
        self.unauthenticated.discard(conn)

    def release(self, conn: TelnetConnection, ip: str) -> None:
        if conn not in self.connections:
            return
        self.connections.discard(conn)
        self.logged_in(conn)
        left = self.per_ip.get(ip, 1) - 1
        if left > 0:
            self.per_ip[ip] = left
        else:
            self.per_ip.pop(ip, None)
        if not self.connections:
            self.empty.set()


SessionRunner = Callable[["TelnetConnection"], Coroutine[Any, Any, None]]


class TelnetConnection(asyncio.Protocol):
    """One telnet client (or one BPQ user) as a session `Transport`."""

    def __init__(self, state: ListenerState, run_session: SessionRunner) -> None:
        self.state = state
        self.config = state.config
        self._run_session = run_session
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._reader = LineReader(self.config.max_line, telnet=True)
        #: A page leaves at once, a stream at the radio's pace; None: not paced (a
        #: direct link whose sysop did not ask), output goes to the socket at once.
        cfg = self.config
        self._pacer = (
            Pacer(cfg.bytes_per_second, cfg.packet_bytes, cfg.burst_bytes)
            if cfg.bytes_per_second > 0
            else None
        )
        self._early = EarlyEvents()
        self._events: TransportEvents = self._early
        self._pump_handle: asyncio.TimerHandle | None = None
        self._ready_handle: asyncio.Handle | None = None
        self._write_paused = False
        self._input_paused = False
        self._reading_paused = False
        self._budget = float(INPUT_BURST)
        self._budget_at = self._loop.time()
        self._over_budget = False
        self._drained = asyncio.Event()
        self._drained.set()
        #: Clear while the transport's own buffer is above its limits (pause_writing).
        self._writable = asyncio.Event()
        self._writable.set()
        self._closed = asyncio.Event()
        self._closing = False
        self._gone = False
        self._close_started = False
        self._task: asyncio.Task[None] | None = None
        self.ip = ""
        kind = "BPQ" if self.config.bpq else "telnet"
        self.via = f"{kind} {self.config.label}"
        self.host_kind = kind.lower()  # the node's name is for operators (WHOIS 320)
        self.chunk_bytes = self.config.packet_bytes
        self.bytes_in = 0
        self.bytes_out = 0

    # -- asyncio.Protocol --------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.ip = str(peer[0]) if peer else "?"
        refused = self.state.admit(self, self.ip)
        if refused is not None:
            self.state.refused(self.ip, refused)
            transport.write(b"Connection refused.\r\n")
            transport.close()
            self._closing = True
            return
        more = self.state.opened_logged.admit()
        if more is not None:
            log.info("connection from %s on %s%s", self.ip, self.config.label, more)
        self._task = self._loop.create_task(self._session())

    def data_received(self, data: bytes) -> None:
        if not self.bytes_in:
            # Any byte, even part of a line: a user typing the callsign is not silent.
            self.state.unauthenticated.heard(self)
        self.bytes_in += len(data)
        self._spend(len(data))
        for item in self._reader.feed(data):
            if self._gone:
                return
            if isinstance(item, LineTooLong):
                self._events.line_too_long(item.limit)
            elif self.config.bpq and BPQ_DISCONNECT.fullmatch(item.text):
                self._user_gone()
            else:
                self._events.line(item.text)
        if self._events is self._early and len(self._early.items) >= MAX_QUEUED_LINES:
            self._pause_reading(True)

    def _spend(self, size: int) -> None:
        """The input budget: far above what a radio link carries, far below what would
        starve the event loop. Past it, reading pauses until the budget has refilled."""
        now = self._loop.time()
        elapsed = now - self._budget_at
        self._budget = min(INPUT_BURST, self._budget + elapsed * INPUT_RATE) - size
        self._budget_at = now
        if self._budget < 0 and not self._over_budget:
            self._over_budget = True
            self._update_reading()
            self._loop.call_later(-self._budget / INPUT_RATE, self._budget_refilled)

    def _budget_refilled(self) -> None:
        self._over_budget = False
        self._update_reading()

    def _update_reading(self) -> None:
        self._pause_reading(self._input_paused or self._over_budget)

    def eof_received(self) -> bool | None:
        self._user_gone()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        for handle in (self._pump_handle, self._ready_handle):
            if handle is not None:
                handle.cancel()
        self._pump_handle = self._ready_handle = None
        if self._pacer is not None:
            self._pacer.cancel()
        self._drained.set()
        self._writable.set()
        self._closed.set()
        self._user_gone()
        if self._task is not None:  # an admitted connection, not a refused one
            more = self.state.closed_logged.admit()
            if more is not None:
                log.info("connection from %s on %s closed%s", self.ip, self.config.label, more)
        self.state.release(self, self.ip)

    def pause_writing(self) -> None:
        self._write_paused = True
        self._writable.clear()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._writable.set()
        if self._pacer is None:
            self._ready_soon()
        else:
            self._pump()

    # -- Transport ---------------------------------------------------------------

    def bind(self, events: TransportEvents) -> None:
        self._events = events
        self._early.replay(events)
        self._update_reading()

    def write(self, text: str) -> None:
        if self._transport is None or self._transport.is_closing():
            return
        if self._pacer is None:
            data = encode_text(text)
            self._transport.write(data)
            self.bytes_out += len(data)
            # Ready for more at once, unless the socket's buffer is full (resume_writing).
            if not self._write_paused:
                self._ready_soon()
            return
        self._pacer.push(encode_text(text))
        self._drained.clear()
        if self._pump_handle is None:
            self._pump()

    def set_input_paused(self, paused: bool) -> None:
        self._input_paused = paused
        self._update_reading()

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
        transport = self._transport
        try:
            async with asyncio.timeout(DRAIN_TIMEOUT):
                await self._drained.wait()  # our pacer has released everything
                if self.config.bpq and not transport.is_closing():
                    # Limits of 0: pause_writing now if anything is still buffered,
                    # resume_writing once the kernel has taken the last byte.
                    transport.set_write_buffer_limits(high=0, low=0)
                    await self._writable.wait()
        except TimeoutError:
            log.info("output to %s not drained at close; dropped", self.ip)
        if self.config.bpq:
            self._loop.call_later(BPQ_CLOSE_MARGIN, transport.close)
        else:
            transport.close()

    # -- internals ---------------------------------------------------------------

    def _user_gone(self) -> None:
        if not self._gone:
            self._gone = True
            self._events.gone()

    def _pause_reading(self, paused: bool) -> None:
        transport = self._transport
        if transport is None or transport.is_closing() or paused == self._reading_paused:
            return
        self._reading_paused = paused
        if paused:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def _ready_soon(self) -> None:
        if self._ready_handle is None and not self._closing:
            self._ready_handle = self._loop.call_soon(self._signal_ready)

    def _pump(self) -> None:
        """Send the next paced packet and schedule the one after."""
        self._pump_handle = None
        if self._pacer is None:
            return
        if self._transport is None or self._transport.is_closing() or self._write_paused:
            return
        now = self._loop.time()
        packet, wait = self._pacer.next_packet(now)
        if packet:
            self._transport.write(packet)
            self.bytes_out += len(packet)
        if self._pacer.pending == 0:
            self._drained.set()
            # Ready for more once the link has carried what it was given.
            if self._ready_handle is None and not self._closing:
                delay = self._pacer.busy_for(now)
                self._ready_handle = self._loop.call_later(delay, self._signal_ready)
            return
        self._pump_handle = self._loop.call_later(wait, self._pump)

    def _signal_ready(self) -> None:
        self._ready_handle = None
        if not self._gone and not self._closing:
            self._events.ready()

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

    def at_code_prompt(self, callsign: Callsign) -> None:
        """The session asks for a code: this connection is dropped last for a while."""
        self.state.unauthenticated.at_code_prompt(self, callsign.base)

    def familiar_claim(self) -> None:
        """The claim comes through the callsign's familiar source: strangers go first."""
        self.state.unauthenticated.familiar(self)

    def logged_in(self) -> None:
        """The session logged in: this connection no longer counts as logging in."""
        self.state.logged_in(self)

    def evict(self, text: str) -> None:
        """Drop a connection still logging in, to make room for a newcomer."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(encode_text(text + "\n"))
            self._transport.close()

    async def shutdown(self, farewell: str) -> None:
        """Graceful stop: say goodbye, drain, close."""
        await self.close(farewell)
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def wait_closed(self) -> None:
        await self._closed.wait()
