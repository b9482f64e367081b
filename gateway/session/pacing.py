"""Output pacing: never hand the link more than it can carry, but a page at once.

A BPQ node buffers whatever it is given without limit, so a long stream written at
once would queue minutes of airtime nobody can stop. The pacer is a token bucket: after
a pause it lets `burst_bytes` go at once (a page: the node paces the radio, and
answers are bounded by the pager), then releases at the configured byte rate, one
packet at a time, so sustained live chat past the link's speed stays in the session,
where it is bounded and summarised. What is still queued can be dropped when the user
interrupts.
"""

from __future__ import annotations

import math


class Pacer:
    """Sans-IO: `push` bytes, ask `next_packet(now)` what to send and when to ask again."""

    def __init__(self, bytes_per_second: float, packet_bytes: int, burst_bytes: int = 0) -> None:
        if bytes_per_second <= 0 or packet_bytes <= 0 or burst_bytes < 0:
            raise ValueError("rate and packet size must be positive")
        self.bytes_per_second = bytes_per_second
        self.packet_bytes = packet_bytes
        #: What may leave at once after a pause; at least one packet.
        self.burst_bytes = max(burst_bytes, packet_bytes)
        self._queue = bytearray()
        #: When the link will have carried everything released so far.
        self._free_at = -math.inf

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
        wait = self.busy_for(now)
        if wait > 0:
            return b"", wait
        packet = bytes(self._queue[: self.packet_bytes])
        del self._queue[: self.packet_bytes]
        # The link needs len/rate seconds to carry this packet.
        self._free_at = max(now, self._free_at) + len(packet) / self.bytes_per_second
        return packet, self.busy_for(now) if self._queue else math.inf

    def busy_for(self, now: float) -> float:
        """Seconds until a whole packet may leave: the bucket has room for one more."""
        slack = (self.burst_bytes - self.packet_bytes) / self.bytes_per_second
        return max(0.0, self._free_at - now - slack)

    def cancel(self) -> int:
        """Drop everything queued; return how many bytes were dropped."""
        dropped = len(self._queue)
        self._queue.clear()
        return dropped
