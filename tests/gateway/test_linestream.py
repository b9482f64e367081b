from hypothesis import given
from hypothesis import strategies as st

from gateway.links.linestream import Line, LineReader, LineTooLong


def feed_all_ways(data: bytes, max_line: int = 64) -> list[Line | LineTooLong]:
    """Feed whole, byte by byte and in odd chunks; all three must agree (h11's tr())."""
    whole = LineReader(max_line).feed(data)
    one = LineReader(max_line)
    bytewise = [item for i in range(len(data)) for item in one.feed(data[i : i + 1])]
    three = LineReader(max_line)
    chunked = [item for i in range(0, len(data), 3) for item in three.feed(data[i : i + 3])]
    assert whole == bytewise == chunked
    return whole


def texts(items: list[Line | LineTooLong]) -> list[str]:
    return [i.text for i in items if isinstance(i, Line)]


def test_every_line_end() -> None:
    data = b"cr\rlf\ncrlf\r\ncrnul\r\x00last"
    assert texts(feed_all_ways(data)) == ["cr", "lf", "crlf", "crnul"]


def test_bpq_first_line_then_cr() -> None:
    assert texts(feed_all_ways(b"N0TEST-5\r\n123456\r")) == ["N0TEST-5", "123456"]


def test_empty_lines_are_lines() -> None:
    assert texts(feed_all_ways(b"\r\r\n\n")) == ["", "", ""]


def test_telnet_negotiation_stripped() -> None:
    data = (
        b"\xff\xfb\x01he\xff\xfd\x03llo\xff\xfa\x18\x00xterm\xff\xf0\r\n"  # WILL, DO, SB..SE
        b"a\xff\xf1b\r\n"  # NOP
        b"x\xff\xffy\r\n"  # escaped 0xFF is data (then replaced)
    )
    assert texts(feed_all_ways(data)) == ["hello", "ab", "x\ufffdy"]


def test_too_long_line_reported_once_and_reader_recovers() -> None:
    items = feed_all_ways(b"x" * 100 + b"\rshort\r", max_line=10)
    assert items == [LineTooLong(10), Line("short")]


def test_backspace_editing_and_controls() -> None:
    assert texts(feed_all_ways(b"abc\x08d\x7f\x07e\tf\r")) == ["abe f"]


def test_utf8_passes_invalid_replaced() -> None:
    assert texts(feed_all_ways("héllo\r".encode() + b"\xc3(\r")) == ["héllo", "\ufffd("]


@given(st.binary(max_size=2000), st.integers(1, 300))
def test_random_bytes_bounded_and_consistent(data: bytes, max_line: int) -> None:
    reader = LineReader(max_line)
    for i in range(0, len(data), 7):
        for item in reader.feed(data[i : i + 7]):
            if isinstance(item, Line):
                assert len(item.text.encode("utf-8", "surrogatepass")) <= 3 * max_line
        assert len(reader._buf) <= max_line
    feed_all_ways(data, max_line)


@given(
    st.lists(st.binary(max_size=300).map(lambda b: b.replace(b"\xff", b"")), max_size=8),
    st.integers(min_value=1, max_value=64),
)
def test_the_scanning_reader_agrees_with_the_byte_reader(
    chunks: list[bytes], max_line: int
) -> None:
    """The fast path (bytes.find) and the byte-by-byte path give the same lines, however
    the input is cut."""
    fast, slow = LineReader(max_line, telnet=False), LineReader(max_line, telnet=False)
    got_fast = [item for chunk in chunks for item in fast.feed(chunk)]
    got_slow = [item for chunk in chunks for item in slow._feed_bytes(chunk)]
    assert got_fast == got_slow
