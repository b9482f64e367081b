"""KISS framing between the host and a TNC (Chepponis and Karn, 1987), sans-IO.

A KISS frame is ``FEND type data... FEND``: the type byte carries the TNC port in its
high nibble and a command in its low nibble; inside the frame FEND and FESC are escaped.
The TNC adds and checks the HDLC flags and FCS, so a data frame is a bare AX.25 frame.

`encode` turns a `KissFrame` into bytes; `KissDecoder.feed` turns any chunking of a
byte stream back into frames. The decoder never raises on what the TNC sends: an
oversized frame or a bad escape is dropped and counted in `KissDecoder.stats`, because
one corrupt frame on a serial line must not tear down the read loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "DEFAULT_MAX_FRAME",
    "Command",
    "KissDecoder",
    "KissFrame",
    "KissStats",
    "Special",
    "data_frame",
    "encode",
    "full_duplex",
    "persistence",
    "return_from_kiss",
    "set_hardware",
    "setup_frames",
    "slot_time",
    "tx_tail",
    "txdelay",
]


class Special(IntEnum):
    """Framing bytes of the KISS protocol."""

    #: Frame End: delimits frames.
    FEND = 0xC0
    #: Frame Escape: introduces a transposed FEND or FESC inside a frame.
    FESC = 0xDB
    #: Transposed Frame End: ``FESC TFEND`` stands for a FEND data byte.
    TFEND = 0xDC
    #: Transposed Frame Escape: ``FESC TFESC`` stands for a FESC data byte.
    TFESC = 0xDD


class Command(IntEnum):
    """KISS commands: the low nibble of the type byte (RETURN is the whole byte)."""

    #: The payload is a frame to send or a frame received (an AX.25 frame, no FCS).
    DATA = 0x00
    #: Keyup delay before data, in units of 10 ms (default 50, i.e. 500 ms).
    TXDELAY = 0x01
    #: p-persistence value P = p * 256 - 1 (default 63, p = 0.25).
    PERSISTENCE = 0x02
    #: Slot time between channel checks, in units of 10 ms (default 10).
    SLOT_TIME = 0x03
    #: Time to hold the transmitter after the last frame, in units of 10 ms (obsolete).
    TX_TAIL = 0x04
    #: 0 for half duplex (use CSMA), nonzero for full duplex.
    FULL_DUPLEX = 0x05
    #: Vendor-specific hardware settings; the payload is opaque.
    SET_HARDWARE = 0x06
    #: Leave KISS mode; sent as the single type byte 0xFF whatever the port.
    RETURN = 0xFF


#: Largest payload (unescaped, without the type byte) the decoder accepts by default.
#: An AX.25 frame with 8 digipeaters, two control octets and a 256-octet information
#: field is 330 octets; 2048 leaves room for a negotiated larger N1.
DEFAULT_MAX_FRAME = 2048

_FEND = bytes([Special.FEND])
_ESCAPED_FEND = bytes([Special.FESC, Special.TFEND])
_FESC = bytes([Special.FESC])
_ESCAPED_FESC = bytes([Special.FESC, Special.TFESC])
_PARAM_COMMANDS = frozenset(
    {Command.TXDELAY, Command.PERSISTENCE, Command.SLOT_TIME, Command.TX_TAIL}
)


@dataclass(frozen=True, slots=True)
class KissFrame:
    """One KISS frame: TNC port (0-15), command, and payload.

    ``command`` is a `Command` member or, for vendor extensions, another low-nibble
    value 0-15 (kept as a plain int). A RETURN frame has port 0.
    """

    port: int
    command: int
    payload: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 15:
            raise ValueError(f"KISS port must be 0-15 (got {self.port})")
        if self.command == Command.RETURN:
            if self.port != 0:
                raise ValueError("the RETURN command is not per port; use port 0")
        elif not 0 <= self.command <= 15:
            raise ValueError(f"KISS command must be 0-15 or 0xFF (got {self.command})")
        elif self.port == 15 and self.command == 15:
            # The type byte would be 0xFF, which every TNC reads as RETURN.
            raise ValueError("port 15 command 15 is the RETURN byte; use Command.RETURN")
        if not isinstance(self.payload, bytes):
            raise TypeError("payload must be bytes")

    @property
    def type_byte(self) -> int:
        """The first byte of the frame on the wire."""
        if self.command == Command.RETURN:
            return int(Command.RETURN)
        return (self.port << 4) | self.command


def _escape(data: bytes) -> bytes:
    # FESC first, or the FESC bytes introduced for FEND would be escaped again
    # (the double-escaping defect noted in kiss3).
    return data.replace(_FESC, _ESCAPED_FESC).replace(_FEND, _ESCAPED_FEND)


def encode(frame: KissFrame) -> bytes:
    """Serialize ``frame`` as ``FEND type payload FEND``, escaped.

    The type byte is escaped too: port 12 with command 0 is 0xC0, a FEND.
    """
    body = bytes([frame.type_byte]) + frame.payload
    return _FEND + _escape(body) + _FEND


def data_frame(payload: bytes, port: int = 0) -> KissFrame:
    """A DATA frame carrying one AX.25 frame to or from ``port``."""
    return KissFrame(port, Command.DATA, payload)


def _ten_ms_units(name: str, ms: int) -> int:
    if isinstance(ms, bool) or not isinstance(ms, int):
        raise TypeError(f"{name} must be an int number of milliseconds")
    if not 0 <= ms <= 2550 or ms % 10:
        raise ValueError(f"{name} must be a multiple of 10 ms from 0 to 2550 (got {ms})")
    return ms // 10


def txdelay(port: int, ms: int) -> KissFrame:
    """TXDELAY: wait ``ms`` (0-2550, in steps of 10) after keying up before data."""
    return KissFrame(port, Command.TXDELAY, bytes([_ten_ms_units("txdelay", ms)]))


def slot_time(port: int, ms: int) -> KissFrame:
    """SLOT_TIME: the interval between p-persistence channel checks."""
    return KissFrame(port, Command.SLOT_TIME, bytes([_ten_ms_units("slot time", ms)]))


def tx_tail(port: int, ms: int) -> KissFrame:
    """TX_TAIL: keep the transmitter keyed ``ms`` after the last frame."""
    return KissFrame(port, Command.TX_TAIL, bytes([_ten_ms_units("tx tail", ms)]))


def persistence(port: int, p: float) -> KissFrame:
    """PERSISTENCE: transmit in a free slot with probability ``p`` (1/256 to 1).

    Encoded as P = p * 256 - 1, rounded, so 0.25 gives the usual default of 63.
    """
    if not 1 / 256 <= p <= 1:
        raise ValueError(f"persistence must be from 1/256 to 1 (got {p})")
    return KissFrame(port, Command.PERSISTENCE, bytes([round(p * 256) - 1]))


def full_duplex(port: int, enabled: bool) -> KissFrame:
    """FULL_DUPLEX: 1 transmits without waiting for a clear channel."""
    return KissFrame(port, Command.FULL_DUPLEX, bytes([1 if enabled else 0]))


def setup_frames(
    port: int,
    *,
    tx_delay: float,
    persistence_p: float,
    slot: float,
    tail: float,
    duplex: bool,
) -> list[KissFrame]:
    """The five parameter commands that set a TNC up, as LinBPQ sends them at start-up.

    Times are in seconds (rounded to the TNC's 10 ms units, at most 2.55 s).
    """

    def ms(seconds: float) -> int:
        return min(2550, max(0, round(seconds * 100) * 10))

    return [
        txdelay(port, ms(tx_delay)),
        persistence(port, persistence_p),
        slot_time(port, ms(slot)),
        tx_tail(port, ms(tail)),
        full_duplex(port, duplex),
    ]


def set_hardware(port: int, data: bytes) -> KissFrame:
    """SET_HARDWARE: vendor-specific bytes, passed through unchanged."""
    return KissFrame(port, Command.SET_HARDWARE, bytes(data))


def return_from_kiss() -> KissFrame:
    """RETURN: ask the TNC to leave KISS mode (type byte 0xFF)."""
    return KissFrame(0, Command.RETURN)


@dataclass(slots=True)
class KissStats:
    """Counters kept by one `KissDecoder` (mutable, owned by that decoder)."""

    #: Frames returned to the caller.
    frames: int = 0
    #: Frames dropped because they exceeded ``max_frame``.
    oversized: int = 0
    #: Frames dropped because FESC was followed by something other than TFEND/TFESC.
    bad_escape: int = 0
    #: Back-to-back FENDs: not frames, ignored (TNCs send them as keep-alives/sync).
    empty: int = 0


class KissDecoder:
    """Incremental KISS decoder with a hard bound on buffered bytes.

    ``feed`` accepts any chunking of the stream (one byte at a time or many frames at
    once) and returns the frames completed by that chunk. Bytes after the last FEND stay
    buffered for the next call. Memory use never exceeds about ``2 * max_frame`` bytes:
    once a frame is certainly too long, the rest of it is discarded as it arrives.

    The KISS paper says a bad escape should be ignored and the frame kept; we drop the
    frame instead, because a corrupt AX.25 frame would be rejected one layer up anyway
    and dropping it here keeps the counters honest.
    """

    __slots__ = ("_buf", "_discarding", "max_frame", "stats")

    def __init__(self, max_frame: int = DEFAULT_MAX_FRAME) -> None:
        if max_frame < 1:
            raise ValueError("max_frame must be at least 1")
        self.max_frame = max_frame
        self.stats = KissStats()
        self._buf = bytearray()
        # True once the current frame is known to be oversized: drop until FEND.
        self._discarding = False

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame (for tests and diagnostics)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[KissFrame]:
        """Consume ``data`` and return the frames it completes, in order."""
        frames: list[KissFrame] = []
        # The escaped form of the largest acceptable frame: type byte + payload, every
        # byte possibly escaped. Beyond this the frame is oversized whatever it holds.
        raw_limit = 2 * (self.max_frame + 1)
        pieces = bytes(data).split(_FEND)
        for index, piece in enumerate(pieces):
            if not self._discarding:
                if len(self._buf) + len(piece) > raw_limit:
                    self._discarding = True
                    self._buf.clear()
                else:
                    self._buf += piece
            if index == len(pieces) - 1:
                break  # no FEND after this piece (yet): keep it buffered
            frame = self._end_of_frame()
            if frame is not None:
                frames.append(frame)
        return frames

    def _end_of_frame(self) -> KissFrame | None:
        """Handle a FEND: turn the buffered bytes into a frame, or count a drop."""
        raw = bytes(self._buf)
        self._buf.clear()
        if self._discarding:
            self._discarding = False
            self.stats.oversized += 1
            return None
        if not raw:
            self.stats.empty += 1
            return None
        body = _unescape(raw)
        if body is None:
            self.stats.bad_escape += 1
            return None
        if len(body) - 1 > self.max_frame:
            self.stats.oversized += 1
            return None
        type_byte = body[0]
        if type_byte == Command.RETURN:
            frame = KissFrame(0, Command.RETURN, body[1:])
        else:
            low = type_byte & 0x0F
            command = Command(low) if low <= Command.SET_HARDWARE else low
            frame = KissFrame(type_byte >> 4, command, body[1:])
        self.stats.frames += 1
        return frame


def _unescape(raw: bytes) -> bytes | None:
    """Undo FESC transpositions; None if an escape is malformed."""
    if Special.FESC not in raw:
        return raw
    out = bytearray()
    i = 0
    n = len(raw)
    while i < n:
        j = raw.find(Special.FESC, i)
        if j < 0:
            out += raw[i:]
            break
        out += raw[i:j]
        if j + 1 >= n:
            return None  # FESC right before FEND
        nxt = raw[j + 1]
        if nxt == Special.TFEND:
            out.append(Special.FEND)
        elif nxt == Special.TFESC:
            out.append(Special.FESC)
        else:
            return None
        i = j + 2
    return bytes(out)
