"""Command failures: logged with their traceback, but not at the rate a client can cause.

A bug that one line triggers can be triggered by every line. Unbounded, that writes a
traceback per line (1.6 KB each; megabytes a second from one client). `FaultLog` keeps
a token bucket on the injected clock: `BURST` tracebacks, then one per `PERIOD / BURST`
seconds; the rest are counted, and the next traceback logged says how many were not.
`LoopFaults` does the same for the event loop's own complaint that accept() ran out
of file descriptors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import asyncio

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


#: asyncio's words when accept() fails for want of file descriptors (EMFILE, ENFILE,
#: ENOBUFS, ENOMEM). CPython logs them with a traceback once per slot of the listen
#: queue (up to SOMAXCONN) and tries again a second later: at the open files limit,
#: thousands of tracebacks a second, and a loop too busy logging to serve anyone.
ACCEPT_FAILED: Final = "socket.accept() out of system resource"


class LoopFaults:
    """An event loop's exception handler: accept() out of resources is one line a
    `PERIOD` with the count of the others; anything else goes to asyncio's own."""

    __slots__ = ("_clock", "_next", "unlogged")

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._next: float | None = None
        #: Accept failures not logged since the last line.
        self.unlogged = 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_FAILED:
            loop.default_exception_handler(context)
            return
        now = self._clock()
        if self._next is not None and now < self._next:
            self.unlogged += 1
            return
        self._next = now + PERIOD
        exc = context.get("exception")
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        more = f" ({self.unlogged} more times since the last)" if self.unlogged else ""
        self.unlogged = 0
        log.error(
            "cannot accept connections: %s%s; newcomers wait until some close (raise "
            "LimitNOFILE, or lower max_clients and max_unregistered)",
            why,
            more,
        )


def pace_loop_faults(loop: asyncio.AbstractEventLoop) -> None:
    """Install `LoopFaults` on `loop` unless it has a handler of its own already."""
    if loop.get_exception_handler() is None:
        loop.set_exception_handler(LoopFaults(loop.time))
