"""AX.25 v2.2 XID parameter negotiation (section 4.3.3.7 of the 2017 revision), sans-IO.

The information field of an XID frame:

    FI 0x82 (general-purpose XID information)   GI 0x80 (parameter negotiation)
    GL: 2 octets, high-order first, the length of the parameter field that follows
    then PI (1 octet), PL (1 octet), PV (PL octets, high-order first), in ascending PI order

    PI 2  classes of procedures, 2 octets: balanced ABM (0x01 in the first), half
          duplex (0x20) or full duplex (0x40)
    PI 3  HDLC optional functions, 3 octets: REJ 0x02, SREJ 0x04, extended address
          0x80 in the first; modulo 8 0x04, modulo 128 0x08, TEST 0x20, 16-bit FCS
          0x80 in the second; multi-SREJ 0x20, segmenter 0x40, synchronous TX 0x02 in
          the third
    PI 6  I field length receive (N1), in bits
    PI 8  window size receive (k), frames
    PI 9  acknowledge timer (T1), milliseconds
    PI 10 retries (N2)

The command offers a menu (REJ and SREJ may both be set); the response picks one, and
both ends then use the values of the response (Dire Wolf 1.6 and LinBPQ do the same).
An absent parameter keeps its default. Parsing never raises: whatever a peer sends, a
malformed field is treated as absent.

The octet order of PI 2 and PI 3 is as Figure 4.6 shows it and Dire Wolf sends it
(``21 00``, ``86 A8 02``). LinBPQ 6 sends both reversed (``00 21``, ``22 A4 86``: its
L2Code.c); the parser tells them apart by where the bits every station sets (balanced
ABM, extended address) are, and we answer in the figure's order (LinBPQ does not read
the response's values).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

__all__ = ["XidParams", "encode_xid", "negotiate", "parse_xid"]

FORMAT_INDICATOR = 0x82
GROUP_PARAMETERS = 0x80

PI_CLASSES = 2
PI_OPTIONAL = 3
PI_N1_RX = 6
PI_WINDOW_RX = 8
PI_ACK_TIMER = 9
PI_RETRIES = 10

# Classes of procedures, as the 2-octet value read high-order first.
_ABM = 0x0100
_HALF_DUPLEX = 0x2000
_FULL_DUPLEX = 0x4000
# HDLC optional functions, as the 3-octet value read high-order first.
_REJ = 0x020000
_SREJ = 0x040000
_EXTENDED_ADDRESS = 0x800000
_MOD8 = 0x000400
_MOD128 = 0x000800
_TEST = 0x002000
_FCS16 = 0x008000
_SYNC_TX = 0x000002
_ALWAYS = _EXTENDED_ADDRESS | _TEST | _FCS16 | _SYNC_TX

#: Largest N1 we take from a peer (octets): what the KISS decoder accepts.
MAX_N1 = 2048


@dataclass(frozen=True, slots=True)
class XidParams:
    """Negotiable parameters; None where the frame did not say (the default applies)."""

    modulo: int | None = None
    #: True: selective reject; False: REJ only.
    srej: bool | None = None
    #: N1, the longest information field the sender receives, octets.
    n1: int | None = None
    #: k, the window the sender receives.
    window: int | None = None
    ack_timer_ms: int | None = None
    retries: int | None = None
    full_duplex: bool = False


def parse_xid(info: bytes) -> XidParams:
    """The parameters in an XID information field (empty or malformed: all defaults)."""
    params = XidParams()
    if len(info) < 4 or info[0] != FORMAT_INDICATOR or info[1] != GROUP_PARAMETERS:
        return params
    for pi, value in _parameters(info):
        decode = _DECODERS.get(pi)
        if decode is not None:
            params = decode(params, value)
    return params


def _parameters(info: bytes) -> Iterator[tuple[int, int]]:
    """(PI, value) of each parameter that has a value; absent (PL 0) or cut short: none."""
    end = min(len(info), 4 + (info[2] << 8 | info[3]))
    pos = 4
    while pos + 2 <= end:
        pi, pl = info[pos], info[pos + 1]
        raw = info[pos + 2 : pos + 2 + pl]
        pos += 2 + pl
        if 1 <= pl <= 4 and len(raw) == pl:
            yield pi, int.from_bytes(_spec_order(pi, raw), "big")


def _spec_order(pi: int, raw: bytes) -> bytes:
    """The octets in the spec's order: LinBPQ sends two fields byte-reversed."""
    if pi == PI_CLASSES and len(raw) == 2 and not raw[0] & 0x01 and raw[1] & 0x01:
        return raw[::-1]  # LinBPQ's order: balanced ABM in the last octet
    if pi == PI_OPTIONAL and len(raw) == 3 and not raw[0] & 0x80 and raw[2] & 0x80:
        return raw[::-1]  # LinBPQ's order: extended address in the last octet
    return raw


def _optional(params: XidParams, value: int) -> XidParams:
    srej = True if value & _SREJ else False if value & _REJ else params.srej
    modulo = 128 if value & _MOD128 else 8 if value & _MOD8 else params.modulo
    return replace(params, srej=srej, modulo=modulo)


#: How each parameter we negotiate is read (the others are skipped).
_DECODERS: Mapping[int, Callable[[XidParams, int], XidParams]] = MappingProxyType(
    {
        PI_CLASSES: lambda p, v: replace(
            p, full_duplex=bool(v & _FULL_DUPLEX) and not v & _HALF_DUPLEX
        ),
        PI_OPTIONAL: _optional,
        PI_N1_RX: lambda p, v: replace(p, n1=min(v // 8, MAX_N1)) if v >= 8 else p,
        PI_WINDOW_RX: lambda p, v: replace(p, window=min(v, 127)) if v >= 1 else p,
        PI_ACK_TIMER: lambda p, v: replace(p, ack_timer_ms=min(v, 0xFFFF)) if v >= 1 else p,
        PI_RETRIES: lambda p, v: replace(p, retries=min(v, 0xFF)) if v >= 1 else p,
    }
)


def encode_xid(params: XidParams, *, command: bool) -> bytes:
    """An XID information field; a command offers REJ besides SREJ, a response picks one.

    Absent (None) numeric parameters are left out; modulo defaults to 8.
    """
    classes = _ABM | (_FULL_DUPLEX if params.full_duplex else _HALF_DUPLEX)
    optional = _ALWAYS | (_MOD128 if params.modulo == 128 else _MOD8)
    if params.srej:
        optional |= _SREJ | (_REJ if command else 0)
    else:
        optional |= _REJ
    body = bytearray()
    body += bytes([PI_CLASSES, 2]) + classes.to_bytes(2, "big")
    body += bytes([PI_OPTIONAL, 3]) + optional.to_bytes(3, "big")
    if params.n1 is not None:
        body += bytes([PI_N1_RX, 2]) + min(params.n1 * 8, 0xFFFF).to_bytes(2, "big")
    if params.window is not None:
        body += bytes([PI_WINDOW_RX, 1, params.window])
    if params.ack_timer_ms is not None:
        body += bytes([PI_ACK_TIMER, 2]) + min(params.ack_timer_ms, 0xFFFF).to_bytes(2, "big")
    if params.retries is not None:
        body += bytes([PI_RETRIES, 1, min(params.retries, 0xFF)])
    return bytes([FORMAT_INDICATOR, GROUP_PARAMETERS]) + len(body).to_bytes(2, "big") + body


def negotiate(offer: XidParams, ours: XidParams) -> XidParams:
    """The values of our XID response to ``offer``, every parameter filled in.

    ``ours`` holds our limits (all set): the modulo we may use, whether we do SREJ, our
    N1 and window for that modulo, our T1 (ms) and N2. Sizes and the modulo take the
    lesser of the two sides, timer and retries the greater (as the spec and Dire Wolf
    do); SREJ only if both do it and the modulo is 128. Defaults for what the offer
    leaves out: modulo 8, N1 256, window 4 (modulo 8) or 32 (128), T1 3000 ms, N2 10.
    """
    assert ours.modulo and ours.n1 and ours.window and ours.ack_timer_ms and ours.retries
    modulo = min(offer.modulo or 8, ours.modulo)
    srej = bool(ours.srej) and modulo == 128 and offer.srej is not False
    window_default = 32 if modulo == 128 else 4
    window_limit = 127 if modulo == 128 else 7
    return replace(
        ours,
        modulo=modulo,
        srej=srej,
        n1=min(offer.n1 or 256, ours.n1, MAX_N1),
        window=min(offer.window or window_default, ours.window, window_limit),
        ack_timer_ms=max(offer.ack_timer_ms or 3000, ours.ack_timer_ms),
        retries=max(offer.retries or 10, ours.retries),
        full_duplex=False,
    )
