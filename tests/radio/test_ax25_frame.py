"""Tests for radio.ax25.frame: known vectors, malformed input, round trips, fuzzing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radio.ax25.frame import (
    MAX_DIGIPEATERS,
    PID_NO_LAYER3,
    S_FRAMES,
    U_FRAMES,
    Address,
    Frame,
    FrameError,
    FrameType,
    decode,
    reply_path,
)

# Address octets written out from the bit layout: ASCII << 1, then C/H R R SSID E.
N0DEST_CMD = bytes.fromhex("9c 60 88 8a a6 a8 e0")  # N0DEST, C=1, SSID 0
N0CALL7_LAST = bytes.fromhex("9c 60 86 82 98 98 6f")  # N0CALL-7, C=0, E=1
N0CALL7_NOT_LAST = bytes.fromhex("9c 60 86 82 98 98 6e")
N0DEST_RESP = bytes.fromhex("9c 60 88 8a a6 a8 60")  # C=0
N0CALL7_RESP_LAST = bytes.fromhex("9c 60 86 82 98 98 ef")  # C=1, E=1
WIDE1_1_H_LAST = bytes.fromhex("ae 92 88 8a 62 40 e3")  # WIDE1-1, H=1, E=1
RELAY_NOT_LAST = bytes.fromhex("a4 8a 98 82 b2 40 60")  # RELAY, H=0

DEST = Address("N0DEST")
SRC = Address("N0CALL", 7)


def cmd(kind: FrameType, **fields: object) -> Frame:
    return Frame.build(kind, dest=DEST, source=SRC, command=True, **fields)  # type: ignore[arg-type]


def resp(kind: FrameType, **fields: object) -> Frame:
    return Frame.build(kind, dest=DEST, source=SRC, command=False, **fields)  # type: ignore[arg-type]


# --- addresses --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("N0CALL", Address("N0CALL", 0)),
        ("n0call-7", Address("N0CALL", 7)),
        (" K1ABC-15 ", Address("K1ABC", 15)),
        ("WIDE1-1*", Address("WIDE1", 1, True)),
        ("A", Address("A")),
    ],
)
def test_address_parse(text: str, expected: Address) -> None:
    assert Address.parse(text) == expected


@pytest.mark.parametrize(
    "text", ["", "-1", "N0CALL-", "N0CALL-16", "N0CALL-x", "TOOLONG1", "N0-CALL-1", "N0 CA", "Ä1"]
)
def test_address_parse_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        Address.parse(text)


@pytest.mark.parametrize(
    ("call", "ssid"), [("", 0), ("ABCDEFG", 0), ("ab", 0), ("A B", 0), ("A", -1), ("A", 16)]
)
def test_address_validation(call: str, ssid: int) -> None:
    with pytest.raises(ValueError):
        Address(call, ssid)


def test_address_ssid_type() -> None:
    with pytest.raises(TypeError):
        Address("A", True)


def test_address_str_and_same_station() -> None:
    assert str(Address("N0CALL", 7)) == "N0CALL-7"
    assert str(Address("N0CALL")) == "N0CALL"
    assert Address("N0CALL", 7, True).same_station(Address("N0CALL", 7))
    assert not Address("N0CALL", 7).same_station(Address("N0CALL", 6))


def test_address_encoding_vector() -> None:
    assert Address("N0DEST", 0, True).encode(last=False) == N0DEST_CMD
    assert Address("N0CALL", 7).encode(last=True) == N0CALL7_LAST
    assert Address("WIDE1", 1, True).encode(last=True) == WIDE1_1_H_LAST


def test_reply_path_reverses_and_clears_h() -> None:
    path = (Address("RELAY", 0, True), Address("WIDE2", 1, True))
    assert reply_path(path) == (Address("WIDE2", 1), Address("RELAY"))
    assert reply_path(()) == ()


# --- known vectors ----------------------------------------------------------------

VECTORS = [
    # SABM command, P=1: U frame 0x2F | 0x10.
    (cmd(FrameType.SABM, pf=True), N0DEST_CMD + N0CALL7_LAST + b"\x3f", 8),
    # UA response, F=1: 0x63 | 0x10.
    (resp(FrameType.UA, pf=True), N0DEST_RESP + N0CALL7_RESP_LAST + b"\x73", 8),
    (cmd(FrameType.DISC, pf=True), N0DEST_CMD + N0CALL7_LAST + b"\x53", 8),
    (resp(FrameType.DM), N0DEST_RESP + N0CALL7_RESP_LAST + b"\x0f", 8),
    (cmd(FrameType.SABME, pf=True), N0DEST_CMD + N0CALL7_LAST + b"\x7f", 8),
    (cmd(FrameType.XID, pf=True), N0DEST_CMD + N0CALL7_LAST + b"\xbf", 8),
    (cmd(FrameType.TEST, info=b"ping"), N0DEST_CMD + N0CALL7_LAST + b"\xe3ping", 8),
    (
        resp(FrameType.FRMR, pf=True, info=b"\x00\x01\x02"),
        N0DEST_RESP + N0CALL7_RESP_LAST + b"\x97\x00\x01\x02",
        8,
    ),
    # UI command with PID F0.
    (cmd(FrameType.UI, info=b"beacon"), N0DEST_CMD + N0CALL7_LAST + b"\x03\xf0beacon", 8),
    # I frame: N(R)=2 << 5 | P=0 | N(S)=5 << 1 = 0x4A, PID F0.
    (cmd(FrameType.I, nr=2, ns=5, info=b"hi\r"), N0DEST_CMD + N0CALL7_LAST + b"\x4a\xf0hi\r", 8),
    # I frame with P=1, N(R)=7, N(S)=7: 0xE0 | 0x10 | 0x0E = 0xFE.
    (cmd(FrameType.I, nr=7, ns=7, pf=True), N0DEST_CMD + N0CALL7_LAST + b"\xfe\xf0", 8),
    # RR response F=1 N(R)=3: 0x60 | 0x10 | 0x01 = 0x71.
    (resp(FrameType.RR, pf=True, nr=3), N0DEST_RESP + N0CALL7_RESP_LAST + b"\x71", 8),
    (cmd(FrameType.RNR, nr=1), N0DEST_CMD + N0CALL7_LAST + b"\x25", 8),
    (resp(FrameType.REJ, nr=4), N0DEST_RESP + N0CALL7_RESP_LAST + b"\x89", 8),
    (resp(FrameType.SREJ, nr=0), N0DEST_RESP + N0CALL7_RESP_LAST + b"\x0d", 8),
    # Modulo 128: I = [N(S) << 1, N(R) << 1 | P]; S = [SS << 2 | 01, N(R) << 1 | P/F].
    (
        cmd(FrameType.I, nr=77, ns=100, pf=True, modulo=128, info=b"x"),
        N0DEST_CMD + N0CALL7_LAST + b"\xc8\x9b\xf0x",
        128,
    ),
    (resp(FrameType.RR, nr=127, modulo=128), N0DEST_RESP + N0CALL7_RESP_LAST + b"\x01\xfe", 128),
    (
        resp(FrameType.REJ, nr=5, pf=True, modulo=128),
        N0DEST_RESP + N0CALL7_RESP_LAST + b"\x09\x0b",
        128,
    ),
    # U frames stay one octet under modulo 128.
    (cmd(FrameType.SABME, pf=True, modulo=128), N0DEST_CMD + N0CALL7_LAST + b"\x7f", 128),
    # Digipeaters: RELAY not yet repeated, WIDE1-1 repeated and last.
    (
        Frame.build(
            FrameType.UI,
            dest=DEST,
            source=SRC,
            digis=(Address("RELAY"), Address("WIDE1", 1, True)),
            info=b"x",
        ),
        N0DEST_CMD + N0CALL7_NOT_LAST + RELAY_NOT_LAST + WIDE1_1_H_LAST + b"\x03\xf0x",
        8,
    ),
]


@pytest.mark.parametrize(("frame", "wire", "modulo"), VECTORS)
def test_known_vectors(frame: Frame, wire: bytes, modulo: int) -> None:
    assert frame.encode() == wire
    assert decode(wire, modulo=modulo) == frame


def test_command_response_from_c_bits() -> None:
    assert cmd(FrameType.RR).is_command and not cmd(FrameType.RR).is_response
    assert resp(FrameType.RR).is_response and not resp(FrameType.RR).is_command
    legacy = Frame(dest=DEST, source=SRC, kind=FrameType.RR)  # both C bits 0: pre-2.0
    assert not legacy.is_command and not legacy.is_response
    both = decode(N0DEST_CMD + N0CALL7_RESP_LAST + b"\x01")
    assert not both.is_command and not both.is_response


def test_repeated_requires_every_h_bit() -> None:
    (frame,) = [v[0] for v in VECTORS if v[0].digis]
    assert not frame.repeated
    done = Frame.build(
        FrameType.UI, dest=DEST, source=SRC, digis=(Address("A", 0, True),), info=b""
    )
    assert done.repeated
    assert cmd(FrameType.SABM).repeated


def test_build_defaults_pid_for_i_and_ui() -> None:
    assert cmd(FrameType.I).pid == PID_NO_LAYER3
    assert cmd(FrameType.UI).pid == PID_NO_LAYER3
    assert cmd(FrameType.RR).pid is None
    assert cmd(FrameType.UI, pid=0xCF).encode()[15] == 0xCF


def test_str_is_a_monitor_line() -> None:
    frame = Frame.build(
        FrameType.I,
        dest=DEST,
        source=SRC,
        digis=(Address("WIDE1", 1, True),),
        pf=True,
        nr=2,
        ns=1,
        info=b"hi",
    )
    assert str(frame) == "N0CALL-7>N0DEST,WIDE1-1*: I C P/F S1 R2 'hi'"
    assert str(resp(FrameType.UA)) == "N0CALL-7>N0DEST: UA R"


# --- construction checks ----------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": FrameType.I, "nr": 8},
        {"kind": FrameType.I, "ns": -1},
        {"kind": FrameType.RR, "nr": 8},
        {"kind": FrameType.I, "ns": 128, "modulo": 128},
        {"kind": FrameType.RR, "ns": 1},
        {"kind": FrameType.SABM, "nr": 1},
        {"kind": FrameType.I, "pid": None},
        {"kind": FrameType.I, "pid": 256},
        {"kind": FrameType.RR, "pid": 0xF0},
        {"kind": FrameType.SABM, "info": b"x"},
        {"kind": FrameType.RR, "info": b"x"},
        {"kind": FrameType.UI, "pid": 0xF0, "modulo": 16},
        {"kind": FrameType.UI, "pid": 0xF0, "digis": (Address("D"),) * 9},
    ],
)
def test_invalid_frames_cannot_be_built(fields: dict[str, object]) -> None:
    base: dict[str, object] = {"dest": DEST, "source": SRC, "pid": 0xF0}
    if fields["kind"] not in (FrameType.I, FrameType.UI):
        base.pop("pid")
    with pytest.raises(ValueError):
        Frame(**{**base, **fields})  # type: ignore[arg-type]


def test_frames_are_frozen() -> None:
    frame = cmd(FrameType.SABM)
    with pytest.raises(AttributeError):
        frame.pf = True  # type: ignore[misc]


# --- malformed input --------------------------------------------------------------

GOOD_ADDRS = N0DEST_CMD + N0CALL7_LAST


@pytest.mark.parametrize(
    ("wire", "modulo", "reason"),
    [
        (b"", 8, "too short"),
        (N0DEST_CMD[:5], 8, "too short"),
        (N0DEST_CMD + N0CALL7_LAST[:6], 8, "too short"),
        (GOOD_ADDRS, 8, "no control"),
        (N0DEST_CMD[:6] + b"\xe1" + N0CALL7_LAST + b"\x3f", 8, "after the destination"),
        (N0DEST_CMD[:6] + b"\xe1", 8, "after the destination"),
        (N0DEST_CMD + N0CALL7_NOT_LAST, 8, "too short"),
        (bytes.fromhex("9d 60 88 8a a6 a8 e0") + N0CALL7_LAST + b"\x3f", 8, "extension bit"),
        (bytes.fromhex("c2 60 88 8a a6 a8 e0") + N0CALL7_LAST + b"\x3f", 8, "characters"),
        (bytes.fromhex("40 40 40 40 40 40 e0") + N0CALL7_LAST + b"\x3f", 8, "characters"),
        (bytes.fromhex("9c 40 88 8a a6 a8 e0") + N0CALL7_LAST + b"\x3f", 8, "characters"),
        (N0DEST_CMD + N0CALL7_NOT_LAST + RELAY_NOT_LAST * 9 + b"\x03\xf0", 8, "digipeaters"),
        (GOOD_ADDRS + b"\x4a", 8, "without PID"),
        (GOOD_ADDRS + b"\x03", 8, "without PID"),
        (GOOD_ADDRS + b"\xc8", 128, "two octets"),
        (GOOD_ADDRS + b"\x01", 128, "two octets"),
        (GOOD_ADDRS + b"\xc8\x9b", 128, "without PID"),
        (GOOD_ADDRS + b"\x21\x00", 128, "unknown control"),
        (GOOD_ADDRS + b"\x07", 8, "unknown control"),
        (GOOD_ADDRS + b"\xff", 8, "unknown control"),
        (GOOD_ADDRS + b"\x3fxx", 8, "information field"),
        (GOOD_ADDRS + b"\x01xx", 8, "information field"),
        (GOOD_ADDRS + b"\x63x", 8, "information field"),
    ],
)
def test_malformed_frames_raise_frame_error(wire: bytes, modulo: int, reason: str) -> None:
    with pytest.raises(FrameError) as info:
        decode(wire, modulo=modulo)
    assert reason in info.value.reason


def test_eight_digipeaters_are_accepted() -> None:
    wire = N0DEST_CMD + N0CALL7_NOT_LAST + RELAY_NOT_LAST * 7 + WIDE1_1_H_LAST + b"\x03\xf0"
    frame = decode(wire)
    assert len(frame.digis) == MAX_DIGIPEATERS
    assert frame.encode() == wire


def test_bad_modulo_is_a_caller_error() -> None:
    with pytest.raises(ValueError) as info:
        decode(GOOD_ADDRS + b"\x3f", modulo=16)
    assert not isinstance(info.value, FrameError)


def test_reserved_bits_are_ignored_on_decode() -> None:
    # Some stations clear the R bits; the address is still readable.
    wire = bytes.fromhex("9c 60 88 8a a6 a8 80") + bytes.fromhex("9c 60 86 82 98 98 0f") + b"\x3f"
    assert decode(wire) == cmd(FrameType.SABM, pf=True)


# --- properties -------------------------------------------------------------------

callsigns = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=6)
addresses = st.builds(Address, callsigns, st.integers(0, 15), st.booleans())


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    modulo = draw(st.sampled_from([8, 128]))
    kind = draw(st.sampled_from(list(FrameType)))
    seq = st.integers(0, modulo - 1)
    numbered = kind is FrameType.I or kind in S_FRAMES
    with_info = kind in (FrameType.I, FrameType.UI, FrameType.FRMR, FrameType.XID, FrameType.TEST)
    return Frame(
        dest=draw(addresses),
        source=draw(addresses),
        digis=tuple(draw(st.lists(addresses, max_size=MAX_DIGIPEATERS))),
        kind=kind,
        pf=draw(st.booleans()),
        nr=draw(seq) if numbered else 0,
        ns=draw(seq) if kind is FrameType.I else 0,
        pid=draw(st.integers(0, 255)) if kind in (FrameType.I, FrameType.UI) else None,
        info=draw(st.binary(max_size=300)) if with_info else b"",
        modulo=modulo,
    )


@settings(max_examples=500)
@given(frames())
def test_round_trip(frame: Frame) -> None:
    assert decode(frame.encode(), modulo=frame.modulo) == frame


@given(frames())
def test_u_frames_decode_the_same_under_either_modulo(frame: Frame) -> None:
    if frame.kind in U_FRAMES:
        other = 8 if frame.modulo == 128 else 128
        decoded = decode(frame.encode(), modulo=other)
        assert decoded.kind is frame.kind and decoded.info == frame.info


@settings(max_examples=1000)
@given(st.binary(max_size=120), st.sampled_from([8, 128]))
def test_random_bytes_only_raise_frame_error(data: bytes, modulo: int) -> None:
    try:
        frame = decode(data, modulo=modulo)
    except FrameError:
        return
    # Whatever decodes must re-encode to a frame that decodes the same.
    assert decode(frame.encode(), modulo=modulo) == frame


@settings(max_examples=300)
@given(frames(), st.data())
def test_mutated_frames_only_raise_frame_error(frame: Frame, data: st.DataObject) -> None:
    wire = bytearray(frame.encode())
    index = data.draw(st.integers(0, len(wire) - 1))
    wire[index] ^= data.draw(st.integers(1, 255))
    cut = data.draw(st.integers(0, len(wire)))
    with contextlib.suppress(FrameError):  # anything else fails the test
        decode(bytes(wire[:cut]), modulo=frame.modulo)
