"""IRC message parsing and serialization, without I/O.

`parse_line()` turns one line (without its terminator) into a `Message`; `Message.to_bytes()`
turns it back into a CRLF-terminated line. `LineBuffer` splits an incoming byte stream into
lines with a hard size bound. Nothing here reads a socket or a clock.

Grammar (Modern IRC client protocol, IRCv3 message-tags)::

    message  = ["@" tags SPACE] [":" source SPACE] command [params] crlf
    tags     = tag *[";" tag]
    tag      = key ["=" escaped-value]
    key      = ["+"] [vendor "/"] 1*(ALPHA / DIGIT / "-")
    params   = *(SPACE middle) [SPACE ":" trailing]
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final

#: The message body, CRLF included, may not exceed 512 bytes (RFC 1459 section 2.3).
MAX_BODY: Final = 512
#: The tag section, "@" and the trailing space included (IRCv3 message-tags).
MAX_TAGS: Final = 8191
#: Bytes of tag data a client may send, "@" and the space after excluded (IRCv3 message-tags).
MAX_CLIENT_TAG_DATA: Final = 4094
#: The longest line `LineBuffer` accepts, terminator excluded.
MAX_LINE: Final = MAX_TAGS + MAX_BODY - 2
#: RFC 1459 allows at most 15 parameters.
MAX_PARAMS: Final = 15

_TAG_KEY: Final = re.compile(r"\+?(?:[A-Za-z0-9][A-Za-z0-9.\-]*/)?[A-Za-z0-9\-]+\Z")
_COMMAND: Final = re.compile(r"(?:[A-Za-z]+|[0-9]{3})\Z")
_FORBIDDEN: Final = re.compile(r"[\0\r\n]")

_ESCAPES: Final = MappingProxyType(
    str.maketrans({";": "\\:", " ": "\\s", "\\": "\\\\", "\r": "\\r", "\n": "\\n"})
)
_UNESCAPES: Final = MappingProxyType({":": ";", "s": " ", "\\": "\\", "r": "\r", "n": "\n"})
_UNESCAPE_RE: Final = re.compile(r"\\(.?)", re.DOTALL)


class IrcParseError(ValueError):
    """A line from the peer is not a valid IRC message; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def escape_tag_value(value: str) -> str:
    """Escape a tag value for the wire (IRCv3 message-tags, "Escaping values")."""
    return value.translate(_ESCAPES)


def unescape_tag_value(raw: str) -> str:
    r"""Undo `escape_tag_value`; an unknown escape `\x` means `x`, a trailing `\` is dropped."""
    if "\\" not in raw:
        return raw
    return _UNESCAPE_RE.sub(lambda m: _UNESCAPES.get(m.group(1), m.group(1)), raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """One IRC message. Valid by construction: the constructor rejects what cannot be sent.

    `tags` maps keys to unescaped values ("" for a tag without value); treat it as read-only.
    """

    command: str
    params: tuple[str, ...] = ()
    source: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _COMMAND.match(self.command):
            raise ValueError(f"invalid command {self.command!r}")
        if len(self.params) > MAX_PARAMS:
            raise ValueError("too many parameters")
        last = len(self.params) - 1
        for i, param in enumerate(self.params):
            if _FORBIDDEN.search(param):
                raise ValueError(f"parameter {i} contains NUL, CR or LF")
            if i < last and (not param or " " in param or param[0] == ":"):
                raise ValueError(
                    f"parameter {i} is not last: it cannot be empty, hold spaces or start with ':'"
                )
        if self.source is not None and (
            not self.source or " " in self.source or _FORBIDDEN.search(self.source)
        ):
            raise ValueError(f"invalid source {self.source!r}")
        for key in self.tags:
            if not _TAG_KEY.match(key):
                raise ValueError(f"invalid tag key {key!r}")

    def to_bytes(self) -> bytes:
        """Serialize to one CRLF-terminated line (no length check: callers budget the text)."""
        return serialize(self.tags, self.source, self.command, self.params)

    def with_tags(self, tags: dict[str, str]) -> Message:
        """Return a copy carrying `tags` instead of the current ones."""
        return _make(tags, self.source, self.command, self.params)


def unchecked(
    *, command: str, params: tuple[str, ...], source: str | None, tags: dict[str, str]
) -> Message:
    """A `Message` from parts the caller vouches for, without the constructor's checks.

    For the relay of every PRIVMSG and NOTICE: its text, target and tags come from a line
    the parser accepted, so the checks would only repeat its work.
    """
    return _make(tags, source, command, params)


# Slot setters of the frozen class, for `_make` (cheaper than object.__setattr__).
_new = object.__new__
_set_tags = Message.__dict__["tags"].__set__
_set_source = Message.__dict__["source"].__set__
_set_command = Message.__dict__["command"].__set__
_set_params = Message.__dict__["params"].__set__


def _make(
    tags: dict[str, str], source: str | None, command: str, params: tuple[str, ...]
) -> Message:
    # The parser has already checked everything the constructor would check; skip the re-check.
    msg = _new(Message)
    _set_tags(msg, tags)
    _set_source(msg, source)
    _set_command(msg, command)
    _set_params(msg, params)
    return msg


def serialize(
    tags: dict[str, str], source: str | None, command: str, params: tuple[str, ...]
) -> bytes:
    """The line of a `Message` with these parts (what `to_bytes` gives), CRLF-terminated.

    For callers that would otherwise build a `Message` only to serialize it (fan-out
    with a tag mode's own tags).
    """
    line = command
    if params:
        last = params[-1]
        if not last or " " in last or last[0] == ":":
            last = ":" + last
        line = " ".join((command, *params[:-1], last)) if len(params) > 1 else f"{command} {last}"
    if source is not None:
        line = f":{source} {line}"
    if tags:
        tagged = ";".join(k if not v else f"{k}={v.translate(_ESCAPES)}" for k, v in tags.items())
        line = f"@{tagged} {line}"
    return (line + "\r\n").encode("utf-8")


def _parse_tags(raw: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in raw.split(";"):
        if not item:
            continue  # "a;;b" and a trailing ";" are harmless: skip rather than reject
        key, _, value = item.partition("=")
        if not _TAG_KEY.match(key):
            raise IrcParseError("invalid tag key")
        tags[key] = unescape_tag_value(value)  # a repeated key: the last one wins (spec)
    return tags


def parse_line(line: bytes, *, replace_invalid: bool = False) -> Message:
    """Parse one line, terminator already removed. Raise `IrcParseError` on anything invalid.

    A command word that is neither letters nor three digits (`NONEXISTENT_COMMAND`) still
    parses, so that the server can answer 421 with the client's label; such a `Message`
    is only ever read, never sent. `replace_invalid` decodes bad UTF-8 as U+FFFD instead
    of raising (the server does so to answer FAIL with the command and label).
    """
    errors = "replace" if replace_invalid else "strict"
    if b"\0" in line or b"\r" in line or b"\n" in line:
        raise IrcParseError("NUL, CR or LF inside a line")
    tags: dict[str, str] = {}
    body = line
    if line[:1] == b"@":  # the uncommon parts are functions of their own, off the common path
        tags, body = _split_tags(line, errors)
    if len(body) > MAX_BODY - 2:
        raise IrcParseError("line too long")
    try:
        text = body.decode("utf-8", errors)
    except UnicodeDecodeError:
        raise IrcParseError("invalid UTF-8") from None

    source = None
    if text[:1] == ":":
        source, text = _split_source(text)

    trailing = None
    colon = text.find(" :")
    if colon != -1:
        trailing = text[colon + 2 :]
        text = text[:colon]
    # Split on spaces only: other whitespace (tabs, NBSP) is ordinary parameter text.
    words = text.split(" ")
    if "" in words:
        words = [w for w in words if w]
    if not words:
        raise IrcParseError("missing command")
    command = words[0]
    if command[0] in "@:":  # a second tag or source section: not a command at all
        raise IrcParseError("invalid command")
    params = words[1:]
    if trailing is not None:
        params.append(trailing)
    if len(params) > MAX_PARAMS:
        raise IrcParseError("too many parameters")
    return _make(tags, source, command.upper(), tuple(params))


def _split_tags(line: bytes, errors: str) -> tuple[dict[str, str], bytes]:
    """The tags of a line starting with "@", and the rest of it."""
    end = line.find(b" ")
    if end == -1:
        raise IrcParseError("tags without a command")
    if end + 1 > MAX_TAGS:
        raise IrcParseError("tags too long")
    try:
        tags = _parse_tags(line[1:end].decode("utf-8", errors))
    except UnicodeDecodeError:
        raise IrcParseError("invalid UTF-8") from None
    return tags, line[end + 1 :].lstrip(b" ")


def _split_source(text: str) -> tuple[str, str]:
    """The source of a line starting with ":", and the rest of it."""
    end = text.find(" ")
    if end == -1:
        raise IrcParseError("source without a command")
    source = text[1:end]
    if not source:
        raise IrcParseError("empty source")
    return source, text[end + 1 :].lstrip(" ")


def truncate_utf8(text: str, max_bytes: int) -> str:
    """Cut `text` to at most `max_bytes` of UTF-8 without splitting a character."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[: max(max_bytes, 0)].decode("utf-8", "ignore")


class BufferEvent(Enum):
    """What `LineBuffer.next_line()` returns when it has no line to give."""

    #: No complete line yet: feed more data.
    NEED_DATA = "need data"
    #: A line passed the bound and was dropped (once per overlong line).
    LINE_TOO_LONG = "line too long"


# The members as plain names for the per-line paths: reading an Enum member off its class
# costs about 70 ns in Python 3.11, a global about 10.
NEED_DATA: Final = BufferEvent.NEED_DATA
LINE_TOO_LONG: Final = BufferEvent.LINE_TOO_LONG


class LineBuffer:
    """Split a byte stream into lines ended by CR, LF or CRLF, never holding more than needed.

    Empty lines (including the LF of a CRLF) are skipped. A line longer than `max_line`
    is discarded up to its terminator and reported once as `BufferEvent.LINE_TOO_LONG`;
    the buffer never grows past `max_line` plus one `feed()` worth of data.
    """

    __slots__ = ("_buf", "_discarding", "_max", "_scanned")

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._buf = bytearray()
        self._max = max_line
        # Bytes at the front already searched for a terminator: rescanning them on every
        # feed would make byte-at-a-time input quadratic.
        self._scanned = 0
        self._discarding = False

    def __len__(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes | memoryview) -> None:
        """Append received bytes (copied: a view may change once this returns)."""
        self._buf += data

    def next_line(self) -> bytes | BufferEvent:
        """Return the next complete line, or a `BufferEvent`."""
        buf = self._buf
        while True:
            # The first CR or LF: two finds (memchr) cost less than a regex search.
            scanned = self._scanned
            end = buf.find(b"\n", scanned)
            cr = buf.find(b"\r", scanned, end) if end >= 0 else buf.find(b"\r", scanned)
            if end < 0 and cr < 0:
                if len(buf) > self._max:
                    buf.clear()
                    self._scanned = 0
                    if not self._discarding:
                        self._discarding = True
                        return LINE_TOO_LONG
                else:
                    self._scanned = len(buf)
                return NEED_DATA
            if cr >= 0:
                end, after = cr, cr + 1
                if after < len(buf) and buf[after] == 10:
                    after += 1  # the LF of a CRLF: the empty line it would end is skipped
            else:
                after = end + 1
            line = bytes(buf[:end])
            del buf[:after]  # deleting from a bytearray's front is O(1) amortised in CPython
            self._scanned = 0
            if self._discarding:
                self._discarding = False  # this was the tail of an overlong line
                continue
            if end > self._max:
                return LINE_TOO_LONG
            if end:
                return line
