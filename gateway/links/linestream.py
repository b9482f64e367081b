"""Bytes to lines: the sans-IO reader under every session.

Accepts CR, LF, CRLF and CR NUL as line ends (terminals and BPQ nodes send all of
them), strips telnet IAC negotiation, applies backspace/DEL editing, and bounds the
line: a too-long line is reported once and discarded, and the reader never holds more
than `max_line` bytes however much arrives.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

IAC, SB, SE = 255, 250, 240
WILL, WONT, DO, DONT = 251, 252, 253, 254
CR, LF, NUL, BS, DEL = 13, 10, 0, 8, 127


@dataclass(frozen=True, slots=True)
class Line:
    """A complete line, decoded (UTF-8, errors replaced), without its line end."""

    text: str


@dataclass(frozen=True, slots=True)
class LineTooLong:
    """A line longer than the bound arrived; its bytes were discarded."""

    limit: int


class _Telnet(enum.Enum):
    DATA = 0
    IAC = 1
    OPTION = 2  # after WILL/WONT/DO/DONT: one option byte follows
    SUB = 3  # inside IAC SB ... IAC SE: discarded
    SUB_IAC = 4


class LineReader:
    """Incremental line splitter; `feed()` returns the lines completed by the data."""

    def __init__(self, max_line: int = 256, *, telnet: bool = True) -> None:
        if max_line < 1:
            raise ValueError("max_line must be positive")
        self.max_line = max_line
        self._telnet = telnet
        self._tstate = _Telnet.DATA
        self._buf = bytearray()
        self._overflow = False
        self._after_cr = False

    def feed(self, data: bytes) -> list[Line | LineTooLong]:
        if self._telnet and (self._tstate is not _Telnet.DATA or IAC in data):
            return self._feed_bytes(data)
        return self._feed_scan(data)

    def _feed_scan(self, data: bytes) -> list[Line | LineTooLong]:
        """The common case, no telnet command in sight: whole runs found with bytes.find,
        so a flood costs C speed, not a Python step per byte (the IRC server's buffer
        does the same)."""
        out: list[Line | LineTooLong] = []
        pos, size = 0, len(data)
        if self._after_cr and size:
            self._after_cr = False
            if data[0] in (LF, NUL):
                pos = 1
        next_cr = data.find(b"\r", pos)
        next_lf = data.find(b"\n", pos)
        while pos < size:
            if next_cr != -1 and next_cr < pos:
                next_cr = data.find(b"\r", pos)
            if next_lf != -1 and next_lf < pos:
                next_lf = data.find(b"\n", pos)
            ends = [i for i in (next_cr, next_lf) if i != -1]
            if not ends:
                self._append(data[pos:])
                break
            end = min(ends)
            self._append(data[pos:end])
            out.append(self._end_line())
            pos = end + 1
            if end == next_cr:
                if pos == size:
                    self._after_cr = True
                elif data[pos] in (LF, NUL):
                    pos += 1
        return out

    def _append(self, chunk: bytes) -> None:
        if NUL in chunk:
            chunk = chunk.replace(b"\0", b"")
        room = self.max_line - len(self._buf)
        if len(chunk) > room:
            self._buf += chunk[: max(room, 0)]
            self._overflow = True
        else:
            self._buf += chunk

    def _feed_bytes(self, data: bytes) -> list[Line | LineTooLong]:
        """Byte by byte, for input with telnet commands (IAC) in it."""
        out: list[Line | LineTooLong] = []
        for byte in data:
            if self._telnet and not self._telnet_byte(byte):
                continue
            if self._after_cr:
                self._after_cr = False
                if byte in (LF, NUL):
                    continue
            if byte == CR:
                self._after_cr = True
                out.append(self._end_line())
            elif byte == LF:
                out.append(self._end_line())
            elif byte == NUL:
                continue
            elif len(self._buf) < self.max_line:
                self._buf.append(byte)
            else:
                self._overflow = True
        return out

    def _telnet_byte(self, byte: int) -> bool:
        """Advance the IAC state machine; True if `byte` is user data."""
        state = self._tstate
        if state is _Telnet.DATA:
            if byte == IAC:
                self._tstate = _Telnet.IAC
                return False
            return True
        if state is _Telnet.IAC:
            if byte == IAC:  # escaped 0xFF: data, later replaced as non-ASCII
                self._tstate = _Telnet.DATA
                return True
            if byte in (WILL, WONT, DO, DONT):
                self._tstate = _Telnet.OPTION
            elif byte == SB:
                self._tstate = _Telnet.SUB
            else:
                self._tstate = _Telnet.DATA
            return False
        if state is _Telnet.OPTION:
            self._tstate = _Telnet.DATA
        elif state is _Telnet.SUB:
            if byte == IAC:
                self._tstate = _Telnet.SUB_IAC
        else:  # SUB_IAC
            self._tstate = _Telnet.DATA if byte == SE else _Telnet.SUB
        return False

    def _end_line(self) -> Line | LineTooLong:
        raw, overflow = bytes(self._buf), self._overflow
        self._buf.clear()
        self._overflow = False
        if overflow:
            return LineTooLong(self.max_line)
        return Line(_edit(raw.decode("utf-8", errors="replace")))


def _edit(text: str) -> str:
    """Apply backspace/DEL as a terminal would, and drop other control characters."""
    if text.isprintable():  # C speed; False for every control character (and a few more)
        return text
    out: list[str] = []
    for ch in text:
        code = ord(ch)
        if code in (BS, DEL):
            if out:
                out.pop()
        elif ch == "\t":
            out.append(" ")
        elif code >= 32:
            out.append(ch)
    return "".join(out)
