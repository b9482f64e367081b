"""Connections still logging in, bounded apart from logged-in sessions (OpenSSH's MaxStartups).

Telnet listeners and AX.25 ports both keep one `Startups` per listener or port. When it
is full, a random connection still logging in is dropped to make room for the
newcomer rather than the newcomer refused: an attacker who opens silent connections
then holds each slot only until the next newcomer, however patient, and a legitimate
user gets in after a few tries. Logged-in sessions are never dropped for this.
"""

from __future__ import annotations

import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("gateway.startups")

#: At most one warning line per this many seconds about dropped logins in progress.
WARN_INTERVAL = 60.0

T = TypeVar("T")


class Startups(Generic[T]):
    """The connections of one listener or port that have not logged in yet."""

    def __init__(self, label: str, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.limit = limit
        #: In order of arrival.
        self.pending: list[T] = []
        self._clock = clock
        self._dropped = 0
        self._warned_at = -math.inf

    def __len__(self) -> int:
        return len(self.pending)

    def __contains__(self, item: object) -> bool:
        return item in self.pending

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.limit

    def add(self, item: T) -> None:
        self.pending.append(item)

    def discard(self, item: T) -> None:
        """`item` logged in or went away: it no longer counts."""
        if item in self.pending:
            self.pending.remove(item)

    def evict(self) -> T | None:
        """Take a random connection still logging in out of the count, for the caller to
        drop; None if there is none. Warns once per burst, not once per drop."""
        if not self.pending:
            return None
        victim = secrets.choice(self.pending)
        self.pending.remove(victim)
        self._dropped += 1
        now = self._clock()
        if now - self._warned_at >= WARN_INTERVAL:
            log.warning(
                "%s: %d connection(s) still logging in dropped for newcomers "
                "(max_unauthenticated %d)", self.label, self._dropped, self.limit,
            )  # fmt: skip
            self._dropped = 0
            self._warned_at = now
        return victim
