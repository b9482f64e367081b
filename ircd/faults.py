"""Command failures: logged with their traceback, but not at the rate a client can cause.

A bug that one line triggers can be triggered by every line. Unbounded, that writes a
traceback per line (1.6 KB each; megabytes a second from one client). `FaultLog` keeps
a token bucket on the injected clock: `BURST` tracebacks, then one per `PERIOD / BURST`
seconds; the rest are counted, and the next traceback logged says how many were not.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

log = logging.getLogger("ircd")

#: Tracebacks logged in a row before the rate limit applies.
BURST: Final = 5
#: Seconds in which `BURST` more tracebacks are allowed.
PERIOD: Final = 60.0


class FaultLog:
    """The log of one server's command failures."""

    __slots__ = ("_clock", "_stamp", "_tokens", "suppressed")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._tokens = float(BURST)
        self._stamp = clock()
        #: Failures not logged since the last traceback.
        self.suppressed = 0

    def record(self, what: str, exc: BaseException) -> bool:
        """Log `exc` with its traceback if the budget allows; return whether it did."""
        now = self._clock()
        self._tokens = min(BURST, self._tokens + (now - self._stamp) * BURST / PERIOD)
        self._stamp = now
        if self._tokens < 1:
            self.suppressed += 1
            return False
        self._tokens -= 1
        more = f" ({self.suppressed} more failures not logged)" if self.suppressed else ""
        self.suppressed = 0
        log.error("%s%s", what, more, exc_info=exc)
        return True
