"""AX.25 frames: addresses, control fields, encoding and decoding, sans-IO.

The layout follows the AX.25 v2.2 specification (see shared/reference/ax25-kiss.md):

    address field: destination, source, 0..8 digipeaters, 7 octets each
        six callsign characters, ASCII shifted left one bit, space padded,
        then the SSID octet  C/H R R S S S S E  (R bits are 1; E marks the last address)
    control field: one octet (modulo 8; U frames always) or two (modulo 128, I and S)
    PID: one octet, on I and UI frames only
    information field: the rest (the TNC strips the FCS)

The C bits of destination and source tell command (dest C=1, source C=0) from response
(the reverse); on a digipeater the same bit is H, "has been repeated".

A received frame cannot say whether its sequence numbers are modulo 8 or 128; the link
that receives it knows, so `decode` takes the modulo from the caller. Anything malformed
raises `FrameError`, and nothing else escapes `decode` for any input bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum
from types import MappingProxyType

__all__ = [
    "MAX_DIGIPEATERS",
    "PID_NO_LAYER3",
    "S_FRAMES",
    "U_FRAMES",
    "Address",
    "Frame",
    "FrameError",
    "FrameType",
    "decode",
    "peek_addresses",
    "reply_path",
]

#: PID for "no layer 3 protocol": what connected-mode text and APRS use.
PID_NO_LAYER3 = 0xF0
#: The spec allows 2 digipeaters; 8 are in common use and fit the address field.
MAX_DIGIPEATERS = 8

_ADDRESS_LEN = 7
_CALL_LEN = 6
_SSID_RESERVED = 0x60  # the two R bits, always sent as 1
_CALL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class FrameError(ValueError):
    """A received frame is malformed; ``reason`` says how (for the log, not the peer)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FrameType(Enum):
    """The frame types of AX.25 v2.2 (I, supervisory S, unnumbered U)."""

    #: Information: sequenced data, with N(S), N(R) and PID.
    I = "I"  # noqa: E741 - the protocol's own name
    #: Receive Ready: acknowledges up to N(R)-1, ready for more.
    RR = "RR"
    #: Receive Not Ready: acknowledges up to N(R)-1, busy.
    RNR = "RNR"
    #: Reject: resend everything from N(R) (go-back-N).
    REJ = "REJ"
    #: Selective Reject: resend only N(R) (v2.2).
    SREJ = "SREJ"
    #: Set Asynchronous Balanced Mode: connect, modulo 8.
    SABM = "SABM"
    #: Set Asynchronous Balanced Mode Extended: connect, modulo 128 (v2.2).
    SABME = "SABME"
    #: Disconnect.
    DISC = "DISC"
    #: Disconnected Mode: "not connected" / connection refused.
    DM = "DM"
    #: Unnumbered Acknowledge: accepts SABM(E) or DISC.
    UA = "UA"
    #: Frame Reject (v2.0; removed from v2.2 but still answered and understood).
    FRMR = "FRMR"
    #: Unnumbered Information: datagrams (beacons, APRS), with PID.
    UI = "UI"
    #: Exchange Identification: v2.2 parameter negotiation.
    XID = "XID"
    #: Test: echo request.
    TEST = "TEST"


_S_CODES = MappingProxyType(
    {FrameType.RR: 0b00, FrameType.RNR: 0b01, FrameType.REJ: 0b10, FrameType.SREJ: 0b11}
)
_S_BY_CODE = MappingProxyType({code: kind for kind, code in _S_CODES.items()})
# U frame control octets with the P/F bit (0x10) clear.
_U_CODES = MappingProxyType(
    {
        FrameType.SABM: 0x2F,
        FrameType.SABME: 0x6F,
        FrameType.DISC: 0x43,
        FrameType.DM: 0x0F,
        FrameType.UA: 0x63,
        FrameType.FRMR: 0x87,
        FrameType.UI: 0x03,
        FrameType.XID: 0xAF,
        FrameType.TEST: 0xE3,
    }
)
_U_BY_CODE = MappingProxyType({code: kind for kind, code in _U_CODES.items()})
_PF_BIT = 0x10

#: The supervisory frame types (N(R), no information field).
S_FRAMES = frozenset(_S_CODES)
#: The unnumbered frame types (one control octet whatever the modulo).
U_FRAMES = frozenset(_U_CODES)
#: Frame types that carry a PID octet.
_WITH_PID = frozenset({FrameType.I, FrameType.UI})
#: Frame types that may carry an information field.
_WITH_INFO = frozenset({FrameType.I, FrameType.UI, FrameType.FRMR, FrameType.XID, FrameType.TEST})


@dataclass(frozen=True, slots=True)
class Address:
    """A station address: callsign, SSID, and the C (or, on a digipeater, H) bit."""

    call: str
    ssid: int = 0
    c_or_h: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.call, str) or not 1 <= len(self.call) <= _CALL_LEN:
            raise ValueError(f"callsign must be 1-6 characters (got {self.call!r})")
        if not set(self.call) <= _CALL_CHARS:
            raise ValueError(f"callsign must be A-Z and 0-9 only (got {self.call!r})")
        if isinstance(self.ssid, bool) or not isinstance(self.ssid, int):
            raise TypeError("ssid must be an int")
        if not 0 <= self.ssid <= 15:
            raise ValueError(f"SSID must be 0-15 (got {self.ssid})")

    @classmethod
    def parse(cls, text: str) -> Address:
        """Parse ``N0CALL``, ``n0call-7`` or ``WIDE1-1*`` (``*``: H bit set)."""
        body = text.strip()
        bit = body.endswith("*")
        if bit:
            body = body[:-1]
        call, sep, ssid_text = body.upper().partition("-")
        ssid = 0
        if sep:
            if not ssid_text.isdigit() or not ssid_text.isascii():
                raise ValueError(f"bad SSID in address {text!r}")
            ssid = int(ssid_text)
        return cls(call, ssid, bit)

    def __str__(self) -> str:
        return f"{self.call}-{self.ssid}" if self.ssid else self.call

    def same_station(self, other: Address) -> bool:
        """True if ``other`` has the same callsign and SSID, whatever its C/H bit."""
        return self.call == other.call and self.ssid == other.ssid

    def with_bit(self, bit: bool) -> Address:
        """This address with the C/H bit set to ``bit``."""
        return self if self.c_or_h == bit else replace(self, c_or_h=bit)

    def encode(self, last: bool) -> bytes:
        """The 7 octets of this address; ``last`` sets the extension bit."""
        padded = self.call.ljust(_CALL_LEN).encode("ascii")
        octet = (self.c_or_h << 7) | _SSID_RESERVED | (self.ssid << 1) | int(last)
        return bytes(c << 1 for c in padded) + bytes([octet])


def reply_path(digis: Iterable[Address]) -> tuple[Address, ...]:
    """The digipeater path for answering a frame that arrived via ``digis``.

    The path is reversed, and the H bits are cleared so the digipeaters repeat it again.
    """
    return tuple(d.with_bit(False) for d in reversed(tuple(digis)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One AX.25 frame. Build it with `Frame.build` to get the C bits right.

    ``nr`` is meaningful on I and S frames, ``ns`` on I frames; both are 0 elsewhere.
    ``modulo`` says how the control field is (or was) encoded; U frames always use
    one octet.
    """

    dest: Address
    source: Address
    digis: tuple[Address, ...] = ()
    kind: FrameType
    pf: bool = False
    nr: int = 0
    ns: int = 0
    pid: int | None = None
    info: bytes = b""
    modulo: int = 8

    def __post_init__(self) -> None:
        if not isinstance(self.digis, tuple):
            raise TypeError("digis must be a tuple")
        if len(self.digis) > MAX_DIGIPEATERS:
            raise ValueError(f"at most {MAX_DIGIPEATERS} digipeaters (got {len(self.digis)})")
        if self.modulo not in (8, 128):
            raise ValueError(f"modulo must be 8 or 128 (got {self.modulo})")
        kind = self.kind
        if kind is FrameType.I or kind in S_FRAMES:
            if not 0 <= self.nr < self.modulo:
                raise ValueError(f"N(R) must be 0-{self.modulo - 1} (got {self.nr})")
        elif self.nr:
            raise ValueError(f"{kind.value} frames have no N(R)")
        if kind is FrameType.I:
            if not 0 <= self.ns < self.modulo:
                raise ValueError(f"N(S) must be 0-{self.modulo - 1} (got {self.ns})")
        elif self.ns:
            raise ValueError(f"{kind.value} frames have no N(S)")
        if kind in _WITH_PID:
            if self.pid is None or not 0 <= self.pid <= 0xFF:
                raise ValueError(f"{kind.value} frames need a PID 0-255 (got {self.pid})")
        elif self.pid is not None:
            raise ValueError(f"{kind.value} frames have no PID")
        if not isinstance(self.info, bytes):
            raise TypeError("info must be bytes")
        if self.info and kind not in _WITH_INFO:
            raise ValueError(f"{kind.value} frames have no information field")

    @classmethod
    def build(
        cls,
        kind: FrameType,
        *,
        dest: Address,
        source: Address,
        digis: Sequence[Address] = (),
        command: bool = True,
        pf: bool = False,
        nr: int = 0,
        ns: int = 0,
        pid: int | None = None,
        info: bytes = b"",
        modulo: int = 8,
    ) -> Frame:
        """Build a frame as a command or a response; I and UI default to PID 0xF0."""
        if pid is None and kind in _WITH_PID:
            pid = PID_NO_LAYER3
        return cls(
            dest=dest.with_bit(command),
            source=source.with_bit(not command),
            digis=tuple(digis),
            kind=kind,
            pf=pf,
            nr=nr,
            ns=ns,
            pid=pid,
            info=info,
            modulo=modulo,
        )

    @property
    def is_command(self) -> bool:
        """Destination C=1 and source C=0 (v2.0 and later)."""
        return self.dest.c_or_h and not self.source.c_or_h

    @property
    def is_response(self) -> bool:
        """Destination C=0 and source C=1 (v2.0 and later)."""
        return self.source.c_or_h and not self.dest.c_or_h

    @property
    def repeated(self) -> bool:
        """True when every digipeater in the path has repeated the frame (H bits set).

        Only such a frame has reached its destination; a copy heard before the last
        digipeater repeated it must be ignored, or it would be processed twice.
        """
        return all(d.c_or_h for d in self.digis)

    def encode(self) -> bytes:
        """Serialize to the bytes a KISS DATA frame carries (no flags, no FCS)."""
        addresses = (self.dest, self.source, *self.digis)
        out = bytearray()
        for index, address in enumerate(addresses):
            out += address.encode(last=index == len(addresses) - 1)
        out += self._control()
        if self.pid is not None:
            out.append(self.pid)
        out += self.info
        return bytes(out)

    def _control(self) -> bytes:
        pf = int(self.pf)
        kind = self.kind
        if kind in U_FRAMES:
            return bytes([_U_CODES[kind] | (pf << 4)])
        if self.modulo == 8:
            if kind is FrameType.I:
                return bytes([(self.nr << 5) | (pf << 4) | (self.ns << 1)])
            return bytes([(self.nr << 5) | (pf << 4) | (_S_CODES[kind] << 2) | 0b01])
        if kind is FrameType.I:
            return bytes([self.ns << 1, (self.nr << 1) | pf])
        return bytes([(_S_CODES[kind] << 2) | 0b01, (self.nr << 1) | pf])

    def __str__(self) -> str:
        """A monitor line, e.g. ``N0A>N0B,WIDE1-1*: I C P S1 R2 'hello'``."""
        path = "".join(f",{d}{'*' if d.c_or_h else ''}" for d in self.digis)
        if self.is_command:
            cr = " C"
        elif self.is_response:
            cr = " R"
        else:
            cr = ""
        parts = [f"{self.source}>{self.dest}{path}: {self.kind.value}{cr}"]
        if self.pf:
            parts.append("P/F")
        if self.kind is FrameType.I:
            parts.append(f"S{self.ns}")
        if self.kind is FrameType.I or self.kind in S_FRAMES:
            parts.append(f"R{self.nr}")
        if self.pid is not None and self.pid != PID_NO_LAYER3:
            parts.append(f"pid={self.pid:02X}")
        if self.info:
            parts.append(repr(self.info)[1:])
        return " ".join(parts)


def _decode_address(chunk: bytes) -> Address:
    chars = []
    for octet in chunk[:_CALL_LEN]:
        if octet & 1:
            raise FrameError("bad address extension bit inside a callsign")
        chars.append(chr(octet >> 1))
    call = "".join(chars).rstrip(" ")
    if not call or not set(call) <= _CALL_CHARS:
        raise FrameError(f"bad characters in callsign {''.join(chars)!r}")
    ssid_octet = chunk[_CALL_LEN]
    return Address(call, (ssid_octet >> 1) & 0x0F, bool(ssid_octet & 0x80))


def peek_addresses(data: bytes) -> tuple[Address, Address]:
    """(destination, source) of a frame, to find its link before decoding the rest
    (whose control field depends on that link's modulo); `FrameError` if malformed."""
    addresses, _ = _decode_addresses(bytes(data))
    return addresses[0], addresses[1]


def _decode_addresses(data: bytes) -> tuple[list[Address], int]:
    """The address field: the addresses, and the offset of the control field."""
    addresses: list[Address] = []
    offset = 0
    while True:
        chunk = data[offset : offset + _ADDRESS_LEN]
        if len(chunk) < _ADDRESS_LEN:
            raise FrameError("frame too short: address field not terminated")
        addresses.append(_decode_address(chunk))
        offset += _ADDRESS_LEN
        if chunk[-1] & 1:
            break
        if len(addresses) == 2 + MAX_DIGIPEATERS:
            raise FrameError(f"more than {MAX_DIGIPEATERS} digipeaters")
    if len(addresses) < 2:
        raise FrameError("address field ends after the destination")
    return addresses, offset


def decode(data: bytes, modulo: int = 8) -> Frame:
    """Parse one AX.25 frame; raise `FrameError` if it is malformed in any way.

    ``modulo`` (8 or 128) is the link's: it decides whether I and S frames have one or
    two control octets. A caller with no link uses 8 (U frames read the same either way).
    """
    if modulo not in (8, 128):
        raise ValueError(f"modulo must be 8 or 128 (got {modulo})")
    data = bytes(data)
    addresses, offset = _decode_addresses(data)
    if offset >= len(data):
        raise FrameError("frame too short: no control field")
    kind, pf, nr, ns, offset = _decode_control(data, offset, modulo)
    pid = None
    if kind in _WITH_PID:
        if offset >= len(data):
            raise FrameError(f"{kind.value} frame without PID")
        pid = data[offset]
        offset += 1
    info = data[offset:]
    if info and kind not in _WITH_INFO:
        raise FrameError(f"{kind.value} frame with an information field")
    return Frame(
        dest=addresses[0],
        source=addresses[1],
        digis=tuple(addresses[2:]),
        kind=kind,
        pf=pf,
        nr=nr,
        ns=ns,
        pid=pid,
        info=info,
        modulo=modulo,
    )


def _decode_control(data: bytes, offset: int, modulo: int) -> tuple[FrameType, bool, int, int, int]:
    """Return (kind, P/F, N(R), N(S), offset after the control field)."""
    first = data[offset]
    if first & 0b11 == 0b11:
        kind = _U_BY_CODE.get(first & ~_PF_BIT)
        if kind is None:
            raise FrameError(f"unknown control field 0x{first:02X}")
        return kind, bool(first & _PF_BIT), 0, 0, offset + 1
    if modulo == 8:
        pf = bool(first & _PF_BIT)
        nr = first >> 5
        if first & 1 == 0:
            return FrameType.I, pf, nr, (first >> 1) & 0x07, offset + 1
        return _S_BY_CODE[(first >> 2) & 0b11], pf, nr, 0, offset + 1
    if offset + 1 >= len(data):
        raise FrameError("frame too short: modulo-128 control field needs two octets")
    second = data[offset + 1]
    pf = bool(second & 1)
    nr = second >> 1
    if first & 1 == 0:
        return FrameType.I, pf, nr, first >> 1, offset + 2
    if first & 0xF0:
        raise FrameError(f"unknown control field 0x{first:02X}{second:02X}")
    return _S_BY_CODE[(first >> 2) & 0b11], pf, nr, 0, offset + 2
