"""Log lines a flood could multiply, paced: a few at once, then a count.

A flood of forged SABMs or of telnet connections made a line or three each (10,000
lines for 5,000 frames). Each kind of line that outside input can repeat goes through
one `LogPace`: at most `burst` lines per `window` seconds, and the first line let
through after some were left out says how many (a flood that ends leaves its count to
the next such line). Logins, failed logins and security events are never paced.
Sans-IO: the clock is injected.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class LogPace:
    def __init__(
        self, burst: int = 20, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.burst = burst
        self.window = window
        self._clock = clock
        self._start = -window  # the current window's start (none yet)
        self._used = 0  # lines let through in it
        self._left_out = 0  # lines left out since the last one let through

    def admit(self) -> str | None:
        """None: leave this line out. Else a suffix for it: "", or how many were left out."""
        now = self._clock()
        if now - self._start >= self.window:
            self._start, self._used = now, 0
        if self._used >= self.burst:
            self._left_out += 1
            return None
        self._used += 1
        left, self._left_out = self._left_out, 0
        return f" ({left} more since the last such line)" if left else ""
