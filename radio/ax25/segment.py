"""The AX.25 v2.2 segmenter's receive side (section 6.6 of the 2017 revision), sans-IO.

A v2.2 station with more data than N1 for one I frame may split it into I frames with
PID 0x08 (Dire Wolf 1.6 does, on a v2.2 link). Each carries one octet first: bit 7 set
on the first segment, the low seven bits counting the segments still to come; the first
segment's second octet is the PID of the whole. `Reassembler.feed` returns the whole
once its last segment arrives. Anything out of order drops the partial data, which is
all the spec allows (segments come in I frames, in sequence, so this means a broken
peer); the buffer is bounded by 128 segments of N1.
"""

from __future__ import annotations

__all__ = ["PID_SEGMENT", "Reassembler"]

#: PID of a segment of a larger information field.
PID_SEGMENT = 0x08
_FIRST = 0x80
_REMAINING = 0x7F


class Reassembler:
    __slots__ = ("_buffer", "_expected")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._expected: int | None = None  # segments still to come; None: none begun

    def clear(self) -> None:
        self._buffer.clear()
        self._expected = None

    def feed(self, info: bytes) -> bytes | None:
        """One segment's information field; the reassembled data when it is complete."""
        if not info:
            self.clear()
            return None
        head, remaining = info[0], info[0] & _REMAINING
        if head & _FIRST:
            self.clear()
            if len(info) < 2:
                return None
            self._buffer += info[2:]  # info[1] is the PID of the whole (0xF0: text)
        elif self._expected is not None and remaining == self._expected - 1:
            self._buffer += info[1:]
        else:
            self.clear()  # a segment out of order: what was gathered is unusable
            return None
        self._expected = remaining
        if remaining:
            return None
        data = bytes(self._buffer)
        self.clear()
        return data
