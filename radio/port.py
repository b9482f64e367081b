"""KISS TNC transports: TCP (Dire Wolf's KISS port) and serial, reconnecting with backoff.

A `KissPort` keeps one connection to a TNC up for as long as it runs: when the TNC goes
away it logs, waits (1 s, doubling to a minute) and tries again. Frames to send while
it is down are dropped (the AX.25 links above retransmit on their own timers, so link
state survives a short outage). Incoming bytes go through the bounded KISS decoder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from radio.kiss import Command, KissDecoder, KissFrame, encode

log = logging.getLogger("radio.port")

BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
READ_SIZE = 4096
#: Bytes left unread by the TNC past which frames for it are dropped: at 1200 baud about
#: ten minutes of air time, far more than any TNC that is reading holds back.
MAX_BACKLOG = 64 * 1024


@dataclass(frozen=True, slots=True)
class TcpEndpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"tcp {self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class SerialEndpoint:
    device: str
    baud: int = 9600

    def __str__(self) -> str:
        return f"serial {self.device} at {self.baud} baud"


Endpoint = TcpEndpoint | SerialEndpoint


async def _open(endpoint: Endpoint) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if isinstance(endpoint, TcpEndpoint):
        return await asyncio.open_connection(endpoint.host, endpoint.port)
    # Imported here: the serial packages are only needed by serial ports.
    import serial_asyncio_fast

    return await serial_asyncio_fast.open_serial_connection(
        url=endpoint.device, baudrate=endpoint.baud
    )


class KissPort:
    """One TNC connection; `run()` until cancelled, `send()` at any time."""

    def __init__(
        self,
        endpoint: Endpoint,
        on_frame: Callable[[KissFrame], None],
        *,
        name: str = "",
        tnc_port: int = 0,
        init_frames: Sequence[KissFrame] = (),
        backoff_initial: float = BACKOFF_INITIAL,
        backoff_max: float = BACKOFF_MAX,
        on_state: Callable[[bool], None] | None = None,
    ) -> None:
        """`on_state(up)`: called when the TNC connection comes up and when it goes."""
        self.endpoint = endpoint
        self._on_state = on_state
        self.name = name or str(endpoint)
        self.tnc_port = tnc_port
        self._on_frame = on_frame
        self._init_frames = tuple(init_frames)
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._writer: asyncio.StreamWriter | None = None
        self.connected = asyncio.Event()
        self.decoder_drops = 0
        #: Frames dropped because the TNC left MAX_BACKLOG bytes unread (this connection;
        #: the warning is given once per connection).
        self.backlog_drops = 0

    @property
    def is_up(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    def send(self, payload: bytes) -> bool:
        """Queue an AX.25 frame for the TNC; False (dropped) if the TNC is not connected
        or has left MAX_BACKLOG bytes unread (a TNC that accepts and never reads must not
        grow our buffer for good; the link layer resends I frames as after a collision)."""
        if not self.is_up:
            return False
        assert self._writer is not None
        if self._writer.transport.get_write_buffer_size() > MAX_BACKLOG:
            if not self.backlog_drops:
                log.warning("%s: the TNC is not reading; dropping frames for it", self.name)
            self.backlog_drops += 1
            return False
        self._writer.write(encode(KissFrame(self.tnc_port, Command.DATA, payload)))
        return True

    async def run(self) -> None:
        backoff = self._backoff_initial
        while True:
            try:
                reader, writer = await _open(self.endpoint)
            except (OSError, ValueError) as exc:
                log.warning(
                    "%s: cannot reach the TNC (%s); retry in %.0f s", self.name, exc, backoff
                )
            else:
                backoff = self._backoff_initial
                await self._serve(reader, writer)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._backoff_max)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        log.info("%s: connected to the TNC", self.name)
        decoder = KissDecoder()
        self._writer = writer
        self.backlog_drops = 0
        for frame in self._init_frames:
            writer.write(encode(frame))
        self.connected.set()
        if self._on_state is not None:
            self._on_state(True)
        try:
            while data := await reader.read(READ_SIZE):
                for frame in decoder.feed(data):
                    if frame.port == self.tnc_port and frame.command is Command.DATA:
                        self._on_frame(frame)
        except OSError as exc:
            log.warning("%s: TNC connection failed: %s", self.name, exc)
        finally:
            self.connected.clear()
            self._writer = None
            stats = decoder.stats
            self.decoder_drops += stats.oversized + stats.bad_escape
            if writer.transport.get_write_buffer_size():
                writer.transport.abort()  # a TNC that stopped reading would never drain it
            else:
                writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        log.warning("%s: TNC connection lost", self.name)
        if self._on_state is not None:
            self._on_state(False)
