"""Tests for radio.kiss: encoding, incremental decoding, bounds and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radio import kiss
from radio.kiss import Command, KissDecoder, KissFrame, Special

FEND = bytes([Special.FEND])


def feed_all_ways(wire: bytes, expected: list[KissFrame], **decoder_args: int) -> None:
    """Like h11's tr(): whole, byte by byte, and followed by trailing garbage."""
    decoder = KissDecoder(**decoder_args)
    assert decoder.feed(wire) == expected

    decoder = KissDecoder(**decoder_args)
    got: list[KissFrame] = []
    for byte in wire:
        got += decoder.feed(bytes([byte]))
    assert got == expected

    # Trailing bytes of a frame not yet terminated must not produce anything.
    decoder = KissDecoder(**decoder_args)
    assert decoder.feed(wire + b"\x00partial frame") == expected
    assert decoder.buffered > 0


# --- encoding ---------------------------------------------------------------------


def test_encode_plain_data_frame() -> None:
    assert kiss.encode(KissFrame(0, Command.DATA, b"hello\r")) == b"\xc0\x00hello\r\xc0"


def test_encode_escapes_fend_and_fesc_in_payload() -> None:
    frame = KissFrame(0, Command.DATA, b"a\xc0b\xdbc")
    assert kiss.encode(frame) == b"\xc0\x00a\xdb\xdcb\xdb\xddc\xc0"


def test_encode_escapes_each_byte_once() -> None:
    # kiss3 double-escaped: FESC inserted for a FEND must not be escaped again.
    assert kiss.encode(KissFrame(0, 0, b"\xc0\xdb")) == b"\xc0\x00\xdb\xdc\xdb\xdd\xc0"


def test_port_goes_in_high_nibble() -> None:
    assert kiss.encode(KissFrame(3, Command.DATA, b"x")) == b"\xc0\x30x\xc0"


def test_type_byte_that_equals_fend_is_escaped() -> None:
    # Port 12, command 0 -> 0xC0; port 13, command 11 -> 0xDB.
    assert kiss.encode(KissFrame(12, 0, b"")) == b"\xc0\xdb\xdc\xc0"
    assert kiss.encode(KissFrame(13, 11, b"")) == b"\xc0\xdb\xdd\xc0"
    feed_all_ways(kiss.encode(KissFrame(12, 0, b"z")), [KissFrame(12, 0, b"z")])


def test_trailing_whitespace_is_kept() -> None:
    # kiss3 stripped it: an I frame carrying "hello\r" arrived as "hello".
    frame = KissFrame(0, 0, b"hello \r\n\t ")
    feed_all_ways(kiss.encode(frame), [frame])


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        (kiss.txdelay(0, 300), b"\xc0\x01\x1e\xc0"),
        (kiss.txdelay(1, 0), b"\xc0\x11\x00\xc0"),
        (kiss.txdelay(0, 2550), b"\xc0\x01\xff\xc0"),
        (kiss.persistence(0, 0.25), b"\xc0\x02\x3f\xc0"),
        (kiss.persistence(0, 1.0), b"\xc0\x02\xff\xc0"),
        (kiss.slot_time(2, 100), b"\xc0\x23\x0a\xc0"),
        (kiss.tx_tail(0, 30), b"\xc0\x04\x03\xc0"),
        (kiss.full_duplex(0, True), b"\xc0\x05\x01\xc0"),
        (kiss.full_duplex(0, False), b"\xc0\x05\x00\xc0"),
        (kiss.set_hardware(0, b"\xc0x"), b"\xc0\x06\xdb\xdcx\xc0"),
        (kiss.return_from_kiss(), b"\xc0\xff\xc0"),
    ],
)
def test_parameter_frames(frame: KissFrame, wire: bytes) -> None:
    assert kiss.encode(frame) == wire
    feed_all_ways(wire, [frame])


@pytest.mark.parametrize("ms", [-10, 2560, 5, 301])
def test_ten_ms_parameters_range_checked(ms: int) -> None:
    for helper in (kiss.txdelay, kiss.slot_time, kiss.tx_tail):
        with pytest.raises(ValueError):
            helper(0, ms)


def test_ten_ms_parameters_reject_non_int() -> None:
    with pytest.raises(TypeError):
        kiss.txdelay(0, 300.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        kiss.txdelay(0, True)


@pytest.mark.parametrize("p", [0.0, 1 / 512, 1.01, -0.5])
def test_persistence_range_checked(p: float) -> None:
    with pytest.raises(ValueError):
        kiss.persistence(0, p)


@pytest.mark.parametrize(
    ("port", "command"),
    [(16, 0), (-1, 0), (0, 16), (0, -1), (3, Command.RETURN), (15, 15)],
)
def test_frame_fields_validated(port: int, command: int) -> None:
    with pytest.raises(ValueError):
        KissFrame(port, command, b"")


def test_payload_must_be_bytes() -> None:
    with pytest.raises(TypeError):
        KissFrame(0, 0, bytearray(b"x"))  # type: ignore[arg-type]


def test_frames_are_immutable() -> None:
    frame = kiss.data_frame(b"x", port=2)
    with pytest.raises(AttributeError):
        frame.port = 3  # type: ignore[misc]


# --- decoding ---------------------------------------------------------------------


def test_decode_several_frames_and_ports() -> None:
    frames = [KissFrame(p, Command.DATA, bytes([p]) * p) for p in range(16)]
    wire = b"".join(kiss.encode(f) for f in frames)
    feed_all_ways(wire, frames)


def test_decoded_known_commands_are_enum_members() -> None:
    (frame,) = KissDecoder().feed(b"\xc0\x01\x1e\xc0")
    assert frame.command is Command.TXDELAY


def test_vendor_commands_pass_through_as_ints() -> None:
    (frame,) = KissDecoder().feed(b"\xc0\x0c\x01\x02\xc0")
    assert frame == KissFrame(0, 12, b"\x01\x02")
    assert not isinstance(frame.command, Command)


def test_empty_frames_are_ignored_and_counted() -> None:
    decoder = KissDecoder()
    assert decoder.feed(FEND * 5) == []
    assert decoder.stats.empty == 5  # the first FEND ends nothing either
    assert decoder.feed(b"\x00a" + FEND * 3 + b"\x00b\xc0") == [
        KissFrame(0, 0, b"a"),
        KissFrame(0, 0, b"b"),
    ]


def test_frame_without_leading_fend() -> None:
    # Some TNCs send FEND only at the end; the first frame must still decode.
    feed_all_ways(b"\x00abc\xc0", [KissFrame(0, 0, b"abc")])


def test_type_byte_only_frame() -> None:
    feed_all_ways(b"\xc0\x00\xc0", [KissFrame(0, 0, b"")])


@pytest.mark.parametrize(
    "bad",
    [
        b"\xc0\x00ab\xdbx\xc0",  # FESC followed by an ordinary byte
        b"\xc0\x00ab\xdb\xc0",  # FESC right before FEND
        b"\xc0\x00\xdb\xdb\xdc\xc0",  # FESC FESC
        b"\xc0\xdb\xc0",  # a lone FESC as the whole frame
    ],
)
def test_bad_escape_drops_frame_and_counts(bad: bytes) -> None:
    good = kiss.encode(KissFrame(0, 0, b"ok"))
    decoder = KissDecoder()
    assert decoder.feed(good + bad + good) == [KissFrame(0, 0, b"ok")] * 2
    assert decoder.stats.bad_escape == 1
    assert decoder.stats.frames == 2
    # Byte by byte, the same.
    decoder = KissDecoder()
    got = [f for b in good + bad + good for f in decoder.feed(bytes([b]))]
    assert got == [KissFrame(0, 0, b"ok")] * 2
    assert decoder.stats.bad_escape == 1


def test_oversized_frame_dropped_and_counted() -> None:
    decoder = KissDecoder(max_frame=8)
    ok = KissFrame(0, 0, b"12345678")
    too_big = KissFrame(0, 0, b"123456789")
    wire = kiss.encode(ok) + kiss.encode(too_big) + kiss.encode(ok)
    assert decoder.feed(wire) == [ok, ok]
    assert decoder.stats.oversized == 1


def test_oversized_counts_unescaped_length() -> None:
    # Eight FENDs escape to sixteen bytes but are an 8-byte payload: accepted.
    frame = KissFrame(0, 0, FEND * 8)
    feed_all_ways(kiss.encode(frame), [frame], max_frame=8)
    # Nine are too many even though the escaped form fits the raw limit.
    decoder = KissDecoder(max_frame=8)
    assert decoder.feed(kiss.encode(KissFrame(0, 0, FEND * 9))) == []
    assert decoder.stats.oversized == 1


def test_endless_frame_stays_bounded() -> None:
    decoder = KissDecoder(max_frame=100)
    for _ in range(1000):
        assert decoder.feed(b"\x00" + b"x" * 97) == []
        assert decoder.buffered <= 2 * (100 + 1)
    # The stream recovers at the next FEND: the giant is counted once, then frames flow.
    assert decoder.feed(b"\xc0\x00ok\xc0") == [KissFrame(0, 0, b"ok")]
    assert decoder.stats.oversized == 1


def test_max_frame_must_be_positive() -> None:
    with pytest.raises(ValueError):
        KissDecoder(max_frame=0)


# --- properties -------------------------------------------------------------------

frames_strategy = st.one_of(
    st.tuples(st.integers(0, 15), st.integers(0, 15), st.binary(max_size=300))
    .filter(lambda t: (t[0], t[1]) != (15, 15))  # 0xFF is RETURN
    .map(lambda t: KissFrame(*t)),
    st.just(kiss.return_from_kiss()),
)


@given(st.lists(frames_strategy, max_size=8), st.integers(1, 7))
def test_round_trip_any_chunking(frames: list[KissFrame], chunk: int) -> None:
    wire = b"".join(kiss.encode(f) for f in frames)
    decoder = KissDecoder()
    got: list[KissFrame] = []
    for i in range(0, len(wire), chunk):
        got += decoder.feed(wire[i : i + chunk])
    assert got == frames
    assert decoder.buffered == 0


@given(frames_strategy)
def test_encoded_frame_has_fend_only_at_ends(frame: KissFrame) -> None:
    wire = kiss.encode(frame)
    assert wire[0] == wire[-1] == Special.FEND
    assert Special.FEND not in wire[1:-1]


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=64), max_size=20), st.integers(1, 64))
def test_random_bytes_never_raise_and_stay_bounded(chunks: list[bytes], limit: int) -> None:
    decoder = KissDecoder(max_frame=limit)
    total = 0
    for chunk in chunks:
        for frame in decoder.feed(chunk):
            assert len(frame.payload) <= limit
            total += 1
        assert decoder.buffered <= 2 * (limit + 1)
    assert decoder.stats.frames == total


@given(st.binary(max_size=200), frames_strategy)
def test_garbage_then_valid_frame_resynchronises(garbage: bytes, frame: KissFrame) -> None:
    decoder = KissDecoder()
    decoder.feed(garbage)
    # Whatever state the garbage left, a FEND-delimited frame comes through intact.
    assert decoder.feed(kiss.encode(frame))[-1:] == [frame]


def test_setup_frames_are_the_five_parameter_commands() -> None:
    frames = kiss.setup_frames(
        3, tx_delay=0.3, persistence_p=0.25, slot=0.1, tail=0.004, duplex=False
    )
    # Port 3 in the high nibble; TXDELAY 30, P 63, SLOTTIME 10, TXTAIL 0 (rounded), half.
    assert b"".join(kiss.encode(f) for f in frames) == bytes.fromhex(
        "c0 31 1e c0 c0 32 3f c0 c0 33 0a c0 c0 34 00 c0 c0 35 00 c0"
    )
