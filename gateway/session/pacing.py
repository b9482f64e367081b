"""Output pacing: never hand the link more than it can carry.

A BPQ node buffers whatever it is given without limit, so a long listing written at
once would queue minutes of airtime nobody can stop. The pacer releases at most one
packet at a time and spaces packets at the configured byte rate; what is still queued
can be dropped when the user interrupts.
"""

from __future__ import annotations

import math


class Pacer:
    """Sans-IO: `push` bytes, ask `next_packet(now)` what to send and when to ask again."""

    def __init__(self, bytes_per_second: float, packet_bytes: int) -> None:
        if bytes_per_second <= 0 or packet_bytes <= 0:
            raise ValueError("rate and packet size must be positive")
        self.bytes_per_second = bytes_per_second
        self.packet_bytes = packet_bytes
        self._queue = bytearray()
        self._ready_at = -math.inf

    @property
    def pending(self) -> int:
        return len(self._queue)

    def push(self, data: bytes) -> None:
        self._queue += data

    def next_packet(self, now: float) -> tuple[bytes, float]:
        """Return (bytes to send now, seconds until the next call is useful).

        The bytes are empty when nothing may go yet; the delay is infinite when the
        queue is empty.
        """
        if not self._queue:
            return b"", math.inf
        if now < self._ready_at:
            return b"", self._ready_at - now
        packet = bytes(self._queue[: self.packet_bytes])
        del self._queue[: self.packet_bytes]
        # The link needs len/rate seconds to carry this packet; the next waits for it.
        self._ready_at = max(now, self._ready_at) + len(packet) / self.bytes_per_second
        return packet, (self._ready_at - now) if self._queue else math.inf

    def busy_for(self, now: float) -> float:
        """Seconds until the link has carried everything released so far."""
        return max(0.0, self._ready_at - now)

    def cancel(self) -> int:
        """Drop everything queued; return how many bytes were dropped."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped
