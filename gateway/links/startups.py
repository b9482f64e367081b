"""Connections still logging in, bounded apart from logged-in sessions (OpenSSH's MaxStartups).

Telnet listeners and AX.25 ports both keep one `Startups` per listener or port. When it
is full, one connection still logging in is dropped to make room for the newcomer; the
newcomer is never refused for it, so nobody can hold the slots against newcomers. Which
one goes is chosen so that a user typing a code is the last to go (issue 12: a uniformly
random choice let a flood of connections knock a user out at the `Code:` prompt, and
a code takes tens of seconds to type and carry over a 1200-baud link):

1. silent ones first (no callsign given yet: connected and said nothing useful),
   the one waiting longest first;
2. then those at the code prompt for longer than `PROTECTED_FOR`, the one asked
   longest ago first;
3. only when every slot is at the code prompt within `PROTECTED_FOR`: the one asked
   longest ago (its protection ends first).

Refusing the newcomer in case 3 would hand the slots to whoever reaches the code prompt
first: on air every link is there from its first frame (the source address is its
callsign), so N links renewed every `PROTECTED_FOR` would shut everyone out. Dropping
the oldest instead keeps the MaxStartups guarantee, and a user at the code prompt goes
only after N - 1 newer connections have reached it too (a random draw has the same mean
but drops some users at the first one). There is no cap on evictions per second: once
spent, it would refuse newcomers (the user among them) while the attacker keeps it
spent, which is worse than either order above.

The caller says when a connection reaches the code prompt (`at_code_prompt`); the
clock is injected. The transports and the session do the I/O.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("gateway.links.startups")

#: At most one warning line per this many seconds about dropped logins in progress.
WARN_INTERVAL = 60.0
#: How long a connection at the code prompt goes only when every slot is there too.
#: At 1200 baud the prompt takes a second or more to arrive (more through a digipeater
#: or after a collision, T1 = 3 s); the user may wait for a fresh code (up to one 30 s
#: TOTP step), types it, and it takes as long to come back; a typo costs the 2 s pause
#: and a second round. 90 s covers that with room, and is half the default
#: `login_timeout` (180 s): it is counted once from the first prompt, not renewed by a
#: wrong code, so a connection is protected for at most 90 s and held for at most
#: `login_timeout` in all.
PROTECTED_FOR = 90.0

T = TypeVar("T")


@dataclass(slots=True)
class _Entry:
    #: When the connection arrived, and when it was first asked for a code (None: not yet).
    arrived: float
    prompted: float | None = None


class Startups(Generic[T]):
    """The connections of one listener or port that have not logged in yet."""

    def __init__(self, label: str, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.limit = limit
        #: In order of arrival.
        self._pending: dict[T, _Entry] = {}
        self._clock = clock
        self._dropped = 0
        self._dropped_prompted = 0
        self._warned_at = -math.inf

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, item: object) -> bool:
        return item in self._pending

    @property
    def full(self) -> bool:
        return len(self._pending) >= self.limit

    def add(self, item: T) -> None:
        self._pending.setdefault(item, _Entry(self._clock()))

    def at_code_prompt(self, item: T) -> None:
        """`item` gave a callsign and is asked for its code: protected for a while.
        Only the first call counts: asking again after a wrong code does not renew it."""
        entry = self._pending.get(item)
        if entry is not None and entry.prompted is None:
            entry.prompted = self._clock()

    def protected(self, item: T) -> bool:
        """Whether `item` is at the code prompt within `PROTECTED_FOR`."""
        entry = self._pending.get(item)
        return entry is not None and self._rank(entry, self._clock())[0] == 2

    def discard(self, item: T) -> None:
        """`item` logged in or went away: it no longer counts."""
        self._pending.pop(item, None)

    def evict(self) -> T | None:
        """Take the connection to drop for a newcomer out of the count (the order is in
        the module's docstring); None if there is none. Warns once per burst."""
        if not self._pending:
            return None
        now = self._clock()
        victim = min(self._pending, key=lambda item: self._rank(self._pending[item], now))
        entry = self._pending.pop(victim)
        self._dropped += 1
        if entry.prompted is not None:
            self._dropped_prompted += 1
        if now - self._warned_at >= WARN_INTERVAL:
            log.warning(
                "%s: %d connection(s) still logging in dropped for newcomers, %d of them "
                "at the code prompt (max_unauthenticated %d)",
                self.label, self._dropped, self._dropped_prompted, self.limit,
            )  # fmt: skip
            self._dropped = self._dropped_prompted = 0
            self._warned_at = now
        return victim

    @staticmethod
    def _rank(entry: _Entry, now: float) -> tuple[int, float]:
        """Lowest goes first: (0 silent | 1 protection over | 2 protected, since when)."""
        if entry.prompted is None:
            return (0, entry.arrived)
        return (1 if now - entry.prompted >= PROTECTED_FOR else 2, entry.prompted)
