"""A duty-cycle limit, sans-IO: at most `limit` of any `window` seconds on air.

Each transmission is recorded with its estimated airtime; `delay` says how long a new
one must wait so that the airtime in the trailing window stays under the limit. The
record is bounded: entries older than the window are dropped as time passes.
"""

from __future__ import annotations

from collections import deque


class DutyCycle:
    def __init__(self, limit: float, window: float = 600.0) -> None:
        if not 0 < limit <= 1:
            raise ValueError("the duty-cycle limit must be in (0, 1]")
        if window <= 0:
            raise ValueError("the window must be positive")
        self.limit = limit
        self.window = window
        self._sent: deque[tuple[float, float]] = deque()  # (start, airtime)
        self._total = 0.0

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0][0] + self._sent[0][1] <= now - self.window:
            self._total -= self._sent.popleft()[1]

    def used(self, now: float) -> float:
        """Seconds on air in the window ending at `now` (whole transmissions counted)."""
        self._expire(now)
        return max(self._total, 0.0)

    def delay(self, now: float, airtime: float) -> float:
        """Seconds to wait before a transmission of `airtime` fits the limit (0: now)."""
        budget = self.limit * self.window
        self._expire(now)
        if airtime >= budget:
            # Longer than the whole budget: it may go once the window is empty.
            if not self._sent:
                return 0.0
            start, length = self._sent[-1]
            return max(0.0, start + length + self.window - now)
        excess = self._total + airtime - budget
        if excess <= 0:
            return 0.0
        for start, length in self._sent:
            excess -= length
            if excess <= 0:
                return max(0.0, start + length + self.window - now)
        return self.window  # unreachable: the window's total covers any excess

    def record(self, now: float, airtime: float) -> None:
        self._expire(now)
        self._sent.append((now, airtime))
        self._total += airtime
