"""Station identification, sans-IO: an ID at least every `interval` while transmitting.

Radio regulations want a station to identify at least every ten minutes during a
communication and at its end, and a station that is silent has nothing to identify.
So: the first transmission after a quiet spell triggers an ID at once; while we keep
transmitting, another ID is due `interval` after the last; once we stop, one last ID
follows (it is the end-of-communication ID), then nothing until we transmit again.
Our own ID frames do not count as transmissions that need identifying.
"""

from __future__ import annotations

DEFAULT_INTERVAL = 600.0


class IdBeacon:
    """Decides when to send an ID; the caller reports transmissions and asks `poll`."""

    def __init__(self, interval: float = DEFAULT_INTERVAL) -> None:
        if not 0 < interval <= DEFAULT_INTERVAL:
            raise ValueError("the ID interval must be positive and at most 600 s")
        self.interval = interval
        self._last_id: float | None = None
        self._unidentified = False  # transmitted since the last ID

    def transmitted(self) -> None:
        """Record that a (non-ID) frame went out."""
        self._unidentified = True

    def poll(self, now: float) -> tuple[bool, float | None]:
        """Return (send an ID now, when to poll again or None if nothing is pending)."""
        if not self._unidentified:
            return False, None
        if self._last_id is None or now - self._last_id >= self.interval:
            self._last_id = now
            self._unidentified = False
            return True, None
        return False, self._last_id + self.interval
