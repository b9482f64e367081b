"""Tests of ircd.protocol: parsing, serialization, tag escaping and the line buffer."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ircd.protocol import (
    MAX_BODY,
    MAX_LINE,
    MAX_TAGS,
    BufferEvent,
    IrcParseError,
    LineBuffer,
    Message,
    escape_tag_value,
    parse_line,
    unescape_tag_value,
)


def drain(buf: LineBuffer) -> list[bytes | BufferEvent]:
    out: list[bytes | BufferEvent] = []
    while (item := buf.next_line()) is not BufferEvent.NEED_DATA:
        out.append(item)
    return out


def tr(data: bytes, expected: list[bytes | BufferEvent], max_line: int = MAX_LINE) -> None:
    """Feed `data` whole, byte by byte, and followed by an unterminated tail (h11's tr())."""
    buf = LineBuffer(max_line)
    buf.feed(data)
    assert drain(buf) == expected

    buf = LineBuffer(max_line)
    got: list[bytes | BufferEvent] = []
    for i in range(len(data)):
        buf.feed(data[i : i + 1])
        got.extend(drain(buf))
    assert got == expected

    buf = LineBuffer(max_line)
    buf.feed(data + b"GARB")
    assert drain(buf) == expected
    assert len(buf) == len(b"GARB")


class TestLineBuffer:
    def test_terminators(self) -> None:
        tr(b"A\r\nB\nC\rD\r\n", [b"A", b"B", b"C", b"D"])

    def test_empty_lines_skipped(self) -> None:
        tr(b"\r\n\n\rA\r\n\r\n", [b"A"])

    def test_exact_bound_accepted(self) -> None:
        tr(b"x" * 10 + b"\n", [b"x" * 10], max_line=10)

    def test_overlong_line_reported_once_and_dropped(self) -> None:
        tr(b"x" * 30 + b"\r\nOK\r\n", [BufferEvent.LINE_TOO_LONG, b"OK"], max_line=10)

    def test_buffer_does_not_grow_without_terminator(self) -> None:
        buf = LineBuffer(100)
        for _ in range(1000):
            buf.feed(b"y" * 50)
            items = drain(buf)
            assert items in ([], [BufferEvent.LINE_TOO_LONG])
            assert len(buf) <= 100
        buf.feed(b"tail\nNEXT\n")
        assert drain(buf) == [b"NEXT"]

    def test_nul_and_bare_cr_split_as_lines(self) -> None:
        tr(b"A\0B\rC\n", [b"A\0B", b"C"])

    @given(st.lists(st.binary(max_size=40), max_size=20))
    def test_chunking_does_not_matter(self, chunks: list[bytes]) -> None:
        whole = LineBuffer(16)
        whole.feed(b"".join(chunks))
        expected = drain(whole)
        pieces = LineBuffer(16)
        got: list[bytes | BufferEvent] = []
        for chunk in chunks:
            pieces.feed(chunk)
            got.extend(drain(pieces))
        # An overlong unterminated tail may be reported at a different moment, never twice.
        assert [x for x in got if x != BufferEvent.LINE_TOO_LONG] == [
            x for x in expected if x != BufferEvent.LINE_TOO_LONG
        ]
        assert all(len(x) <= 16 for x in got if isinstance(x, bytes))


class TestParse:
    def test_simple(self) -> None:
        msg = parse_line(b"privmsg #chan :hello world")
        assert msg == Message(command="PRIVMSG", params=("#chan", "hello world"))

    def test_source_and_tags(self) -> None:
        msg = parse_line(rb"@id=123AB;+example.com/x=a\sb\:c;flag :nick!u@h PRIVMSG me :hi")
        assert msg.tags == {"id": "123AB", "+example.com/x": "a b;c", "flag": ""}
        assert msg.source == "nick!u@h"
        assert msg.params == ("me", "hi")

    def test_numeric_and_empty_trailing(self) -> None:
        msg = parse_line(b":srv 001 nick :")
        assert msg.command == "001"
        assert msg.params == ("nick", "")

    def test_multiple_spaces_and_colon_inside(self) -> None:
        assert parse_line(b"USER  a  0 *  :Real : Name").params == ("a", "0", "*", "Real : Name")

    def test_trailing_only(self) -> None:
        assert parse_line(b"QUIT :").params == ("",)
        assert parse_line(b"PING :x y").params == ("x y",)

    def test_tabs_are_not_separators(self) -> None:
        assert parse_line(b"NICK a\tb").params == ("a\tb",)

    def test_repeated_tag_last_wins(self) -> None:
        assert parse_line(b"@a=1;a=2 PING x").tags == {"a": "2"}

    @pytest.mark.parametrize(
        ("line", "reason"),
        [
            (b"", "missing command"),
            (b"   ", "missing command"),
            (b"@a=1", "tags without a command"),
            (b":src", "source without a command"),
            (b": PING", "empty source"),
            (b"@a=1 @b=2 PING", "invalid command"),
            (b":src :x PING", "invalid command"),
            (b"@bad_key=1 PING", "invalid tag key"),
            (b"PING a\0b", "NUL, CR or LF inside a line"),
            (b"PING a\rb", "NUL, CR or LF inside a line"),
            (b"PRIVMSG x :\xff\xfe", "invalid UTF-8"),
            (b"@+a=\xff PING x", "invalid UTF-8"),
            (b"CMD " + b"a " * 16, "too many parameters"),
            (b"PRIVMSG x :" + b"a" * MAX_BODY, "line too long"),
            (b"@a=" + b"b" * MAX_TAGS + b" PING", "tags too long"),
        ],
    )
    def test_rejects(self, line: bytes, reason: str) -> None:
        with pytest.raises(IrcParseError) as info:
            parse_line(line)
        assert info.value.reason == reason

    def test_body_bound_is_510_without_crlf(self) -> None:
        prefix = b"PRIVMSG x :"
        assert parse_line(prefix + b"a" * (MAX_BODY - 2 - len(prefix)))
        with pytest.raises(IrcParseError):
            parse_line(prefix + b"a" * (MAX_BODY - 1 - len(prefix)))


class TestSerialize:
    def test_round_trip(self) -> None:
        msg = Message(
            command="PRIVMSG",
            params=("#c", ":-) hi"),
            source="n!u@h",
            tags={"time": "2024-01-01T00:00:00.000Z", "+x": "a;b c\\"},
        )
        assert parse_line(msg.to_bytes()[:-2]) == msg

    def test_trailing_colon_only_when_needed(self) -> None:
        assert Message(command="NICK", params=("bob",)).to_bytes() == b"NICK bob\r\n"
        assert Message(command="TOPIC", params=("#c", "")).to_bytes() == b"TOPIC #c :\r\n"

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"command": "BAD CMD"},
            {"command": "PRIVMSG", "params": ("a b", "x")},
            {"command": "PRIVMSG", "params": ("", "x")},
            {"command": "PRIVMSG", "params": (":a", "x")},
            {"command": "PRIVMSG", "params": ("a", "x\ny")},
            {"command": "PING", "source": ""},
            {"command": "PING", "tags": {"bad key": ""}},
            {"command": "X", "params": ("a",) * 16},
        ],
    )
    def test_invalid_messages_cannot_be_built(self, kwargs: dict) -> None:
        with pytest.raises(ValueError):
            Message(**kwargs)

    def test_tag_escaping(self) -> None:
        raw = "a;b c\\d\re\nf"
        assert escape_tag_value(raw) == "a\\:b\\sc\\\\d\\re\\nf"
        assert unescape_tag_value(escape_tag_value(raw)) == raw
        assert unescape_tag_value("ab\\") == "ab"
        assert unescape_tag_value("\\b\\") == "b"


_param = st.text(
    st.characters(blacklist_characters="\0\r\n ", blacklist_categories=("Cs",)),
    min_size=1,
    max_size=20,
).filter(lambda s: not s.startswith(":"))
_trailing = st.text(
    st.characters(blacklist_characters="\0\r\n", blacklist_categories=("Cs",)), max_size=40
)
_tag_key = st.from_regex(r"\+?([a-z][a-z0-9.]*/)?[A-Za-z0-9-]{1,8}", fullmatch=True)


@given(
    command=st.sampled_from(["PRIVMSG", "NOTICE", "001", "JOIN"]),
    middle=st.lists(_param, max_size=5),
    trailing=st.none() | _trailing,
    source=st.none() | st.from_regex(r"[a-z]{1,8}(![a-z]{1,8}@[a-z.]{1,12})?", fullmatch=True),
    tags=st.dictionaries(_tag_key, _trailing, max_size=4),
)
def test_round_trip_property(
    command: str, middle: list[str], trailing: str | None, source: str | None, tags: dict[str, str]
) -> None:
    params = tuple(middle) + ((trailing,) if trailing is not None else ())
    msg = Message(command=command, params=params, source=source, tags=tags)
    assert parse_line(msg.to_bytes()[:-2]) == msg


@settings(max_examples=500)
@given(st.binary(max_size=600))
def test_fuzz_only_parse_error_escapes(data: bytes) -> None:
    try:
        msg = parse_line(data)
    except IrcParseError:
        return
    # Whatever parses serializes back to something that parses to the same message.
    assert parse_line(msg.to_bytes()[:-2]) == msg


_ircish = st.lists(
    st.sampled_from(
        [b"@", b":", b" ", b";", b"=", b"\\", b"a", b"PRIVMSG", b"\xff", b"\0", b"+", b"/", b"1"]
    ),
    max_size=40,
).map(b"".join)


@settings(max_examples=500)
@given(_ircish)
def test_fuzz_ircish_only_parse_error_escapes(data: bytes) -> None:
    try:
        msg = parse_line(data)
    except IrcParseError:
        return
    assert parse_line(msg.to_bytes()[:-2]) == msg
