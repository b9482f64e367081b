"""AX.25 connections as line streams: the radio twin of the telnet adapter.

A station (radio/) hands the gateway a `Connection` per link; `AX25Stream` turns it
into the `LineStream` sessions run on. Lines from the air end with CR; output uses CR.
Output is kept here and handed to the link about one window at a time, so a long
answer can still be cut short by the user: the link paces itself by its window and
acknowledgements, and what has not reached it yet is dropped on interrupt.
"""

from __future__ import annotations

import asyncio
import logging

from gateway.callsign import Callsign
from gateway.session.linequeue import LineQueue
from gateway.session.linestream import LineReader, LineTooLong
from gateway.session.render import encode_text
from radio.station import Connection

log = logging.getLogger("gateway.ax25")

MAX_QUEUED_LINES = 16
CLOSE_TIMEOUT = 120.0
STOPPED = "(output stopped)\n"


class AX25Stream:
    def __init__(self, conn: Connection, port_name: str, max_line: int = 256) -> None:
        self.conn = conn
        self.port_name = port_name
        self._reader = LineReader(max_line, telnet=False)
        self._lines = LineQueue()
        self._out = bytearray()
        self._pumping = False
        self._closing = False
        self._gone = asyncio.Event()
        paclen = conn.link.params.paclen
        self._window = conn.link.params.k * paclen
        self._paclen = paclen
        path = ",".join(str(d) for d in conn.path)
        self.via = f"AX.25 {port_name}" + (f" via {path}" if path else "")
        conn.on_data = self._data
        conn.on_close = self._closed
        conn.on_progress = self._pump

    # -- from the link -------------------------------------------------------------

    def _data(self, data: bytes) -> None:
        if self._closing:
            return
        for item in self._reader.feed(data):
            if isinstance(item, LineTooLong):
                self.write(f"Line too long (max {item.limit}).\n")
                continue
            if len(self._out) > self._paclen:
                # A line while a long answer is still queued means "stop".
                self._out.clear()
                self.write(STOPPED)
            if len(self._lines) >= MAX_QUEUED_LINES:
                log.info(
                    "%s: typed-ahead line dropped (%d queued)", self.conn.remote, MAX_QUEUED_LINES
                )
                continue
            self._lines.put(item.text)

    def _closed(self, reason: str) -> None:
        self._out.clear()
        self._lines.end()
        self._gone.set()

    def _pump(self) -> None:
        """Hand the link what fits in about one window; the rest waits here."""
        if self._pumping or self.conn.closed:
            return
        self._pumping = True
        try:
            while self._out and self.conn.queued_bytes < self._window:
                chunk = bytes(self._out[: self._paclen])
                del self._out[: self._paclen]
                self.conn.send(chunk)
            if self._closing and not self._out:
                self.conn.close()
        finally:
            self._pumping = False

    # -- LineStream --------------------------------------------------------------

    async def read_line(self) -> str | None:
        return await self._lines.get()

    def write(self, text: str) -> None:
        if self.conn.closed:
            return
        self._out += encode_text(text, eol=b"\r")
        self._pump()

    def discard_input(self) -> None:
        self._lines.discard()

    def source_key(self, callsign: Callsign) -> str:
        # Anyone can claim any callsign on air; the port and the path it came by are
        # what the station can observe (see SECURITY.md).
        path = ",".join(str(d) for d in self.conn.path) or "direct"
        return f"ax25:{self.port_name}:{path}"

    async def close(self, farewell: str | None = None) -> None:
        if self._closing or self.conn.closed:
            return
        if farewell:
            self.write(farewell + "\n")
        self._closing = True
        self._pump()
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self._gone.wait()
        except TimeoutError:
            log.warning("%s: link did not close in %.0f s", self.conn.remote, CLOSE_TIMEOUT)
