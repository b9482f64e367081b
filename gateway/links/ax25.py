"""AX.25 connections as session transports: the radio twin of the telnet adapter.

A station (radio/) hands the gateway a `Connection` per link; `AX25Stream` turns it
into the `Transport` sessions run on. Lines from the air end with CR; output uses CR.
The session hands over one chunk (a packet) at a time and hears `ready` while the
link has room in its window, so a long answer can still be cut short by the user:
what has not reached the link yet is still in the session. When the session is
behind, the link answers the peer's I frames with RNR until it catches up, so lines
the user types ahead wait at the sender instead of being dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from gateway.callsign import Callsign
from gateway.links.linestream import Line, LineReader, LineTooLong
from gateway.session.render import encode_text
from gateway.session.transport import EarlyEvents, TransportEvents
from radio.station import Connection

log = logging.getLogger("gateway.links.ax25")

#: Lines received before the session starts beyond this many make the link busy.
MAX_EARLY_LINES = 16
CLOSE_TIMEOUT = 120.0


class AX25Stream:
    def __init__(self, conn: Connection, port_name: str, max_line: int = 256) -> None:
        self.conn = conn
        self.port_name = port_name
        self._reader = LineReader(max_line, telnet=False)
        self._early = EarlyEvents()
        self._events: TransportEvents = self._early
        self._loop = asyncio.get_running_loop()
        self._closing = False
        self._gone_told = False
        self._want_ready = False
        self._busy = False
        self._gone = asyncio.Event()
        paclen = conn.link.params.paclen
        self._window = conn.link.params.k * paclen
        self.chunk_bytes = paclen
        self.bytes_in = 0
        self.bytes_out = 0
        path = ",".join(str(d) for d in conn.path)
        self.via = f"AX.25 {port_name}" + (f" via {path}" if path else "")
        self.host_kind = "ax25"  # the port and path are for operators (WHOIS 320)
        #: Told once the session has logged in (the port stops counting it as a startup).
        self.on_logged_in: Callable[[], None] | None = None
        #: Told the base callsign claimed when the session asks for a code (the port
        #: drops it last for a while), and when the claim is through a familiar source.
        self.on_code_prompt: Callable[[str], None] | None = None
        self.on_familiar: Callable[[], None] | None = None
        conn.on_data = self._data
        conn.on_close = self._closed
        conn.on_progress = self._progress

    # -- from the link -------------------------------------------------------------

    def _data(self, data: bytes) -> None:
        self.bytes_in += len(data)
        if self._gone_told:
            return
        items = self._reader.feed(data)
        if items:
            # Called inside the station's handling of a frame: the session answers (and
            # may send RNR) after it, never in the middle of that frame's actions.
            self._loop.call_soon(self._deliver, items)

    def _deliver(self, items: list[Line | LineTooLong]) -> None:
        for item in items:
            if self._gone_told:
                return
            if isinstance(item, LineTooLong):
                self._events.line_too_long(item.limit)
            else:
                self._events.line(item.text)
        if self._events is self._early and len(self._early.items) >= MAX_EARLY_LINES:
            self._set_busy(True)
        elif self._busy and not self.conn.closed:
            # Still busy: a reset by the peer (SABM) cleared the link's own busy state,
            # and the line that came in meanwhile says so. The link sends RNR only if
            # it had forgotten.
            self.conn.set_busy(True)

    def _closed(self, reason: str) -> None:
        self._gone.set()
        if not self._gone_told:
            self._gone_told = True
            self._events.gone()

    def _progress(self) -> None:
        # Called after every link event, often inside our own send(): tell the
        # session later, never from within its own call.
        if self._want_ready and self._has_room():
            self._want_ready = False
            self._loop.call_soon(self._signal_ready)

    def _signal_ready(self) -> None:
        if not self._gone_told and not self._closing:
            self._events.ready()

    def _has_room(self) -> bool:
        return self.conn.queued_bytes + self.chunk_bytes <= self._window

    # -- Transport ---------------------------------------------------------------

    def bind(self, events: TransportEvents) -> None:
        self._events = events
        self._early.replay(events)

    def write(self, text: str) -> None:
        if self.conn.closed:
            return
        data = encode_text(text, eol=b"\r")
        self.conn.send(data)
        self.bytes_out += len(data)
        self._want_ready = True
        self._progress()

    def set_input_paused(self, paused: bool) -> None:
        self._set_busy(paused)

    def source_key(self, callsign: Callsign) -> str:
        # Anyone can claim any callsign on air; the port and the path it came by are
        # what the station can observe, and the claim keeps one caller's wrong codes
        # off another callsign's penalty on the same path (see SECURITY.md).
        path = ",".join(str(d) for d in self.conn.path) or "direct"
        return f"ax25:{self.port_name}:{path}:call:{callsign.base}"

    def at_code_prompt(self, callsign: Callsign) -> None:
        if self.on_code_prompt is not None:
            self.on_code_prompt(callsign.base)

    def familiar_claim(self) -> None:
        if self.on_familiar is not None:
            self.on_familiar()

    @property
    def path_claimant(self) -> str:
        """The claimant this link's path counts as among the port's logins in progress."""
        return "path:" + (",".join(str(d) for d in self.conn.path) or "direct")

    def logged_in(self) -> None:
        if self.on_logged_in is not None:
            self.on_logged_in()

    def drop(self, reason: str) -> None:
        """End the link at once with DM (a link still logging in, dropped for a newcomer)."""
        self.conn.drop(reason)

    async def close(self, farewell: str | None = None) -> None:
        if self._closing or self.conn.closed:
            return
        if farewell:
            self.write(farewell + "\n")
        self._closing = True
        self.conn.close()  # DISC once what was sent is acknowledged
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._gone.wait()
        except TimeoutError:
            log.warning("%s: link did not close in %.0f s", self.conn.remote, CLOSE_TIMEOUT)

    # -- internals ---------------------------------------------------------------

    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy and not self.conn.closed:
            self._busy = busy
            self.conn.set_busy(busy)
