"""Connections still logging in, bounded apart from logged-in sessions (OpenSSH's MaxStartups).

Telnet listeners and AX.25 ports both keep one `Startups` per listener or port. When it
is full, one connection still logging in is dropped to make room for the newcomer; the
newcomer is never refused for it, so nobody can hold the slots against newcomers. Which
one goes is chosen so that a flood does not knock out a user typing (issues 12, 19):

1. one whose claimant holds more than its share of the slots. The claimants of a
   connection are its address (the /64 for IPv6) on a direct listener, its digipeater
   path on air, and the callsign it claimed; the share of each kind is `limit` divided
   by how many claimants of that kind are present (at least one slot each). So one
   address, path or callsign cannot push out the others by opening many;
2. then silent ones (not a byte received and no callsign: a user typing the callsign
   is not silent, even before the line ends);
3. then those heard from, or asked for their code, more than `PROTECTED_FOR` ago;
4. then those heard from within `PROTECTED_FOR` (a stranger);
5. last, those within `PROTECTED_FOR` whose claim comes through a source the store
   knows as that callsign's own (`familiar`; at most one per callsign, the latest):
   strangers push out strangers first, so a flood of invented callsigns cannot push
   out an owner at home, however fast it comes.

In each, the one whose claimant holds the most slots goes first, then the one that
started longest ago. Refusing the newcomer when every slot is protected would hand the
slots to whoever reaches the code prompt first: on air every link is there from its
first frame (the source address is its callsign), so N links renewed every
`PROTECTED_FOR` would shut everyone out. Dropping the oldest instead keeps the
MaxStartups guarantee, and a stranger at the code prompt goes only after N - 1 newer
connections have come too. There is no cap on evictions per second: once spent, it
would refuse newcomers (the user among them) while the attacker keeps it spent, which
is worse than either order above.

The caller says when a connection is heard from (`heard`), reaches the code prompt
(`at_code_prompt`) and claims through a familiar source (`familiar`); the clock is
injected. The transports and the session do the I/O.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

log = logging.getLogger("gateway.links.startups")

#: At most one warning line per this many seconds about dropped logins in progress.
WARN_INTERVAL = 60.0
#: How long a connection heard from (its first byte, or its first code prompt) goes
#: only after the silent ones and those heard from longer ago.
#: At 1200 baud the prompt takes a second or more to arrive (more through a digipeater
#: or after a collision, T1 = 3 s); the user may wait for a fresh code (up to one 30 s
#: TOTP step), types it, and it takes as long to come back; a typo costs the 2 s pause
#: and a second round. 90 s covers that with room, and is half the default
#: `login_timeout` (180 s): it is counted once from the first byte, not renewed by a
#: wrong code, so a connection is protected for at most 90 s and held for at most
#: `login_timeout` in all.
PROTECTED_FOR = 90.0

T = TypeVar("T")

#: Ranks, lowest dropped first (after claimants over their share).
SILENT, EXPIRED, STRANGER, FAMILIAR = range(4)


def address_claimant(ip: str) -> str:
    """The claimant an address counts as: itself, or its /64 for IPv6 (one host has a
    whole /64; the node budget counts the same way)."""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return f"ip:{ip}"
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return f"ip:{addr.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network((addr, 64), strict=False)}"
    return f"ip:{addr}"


@dataclass(slots=True)
class _Entry:
    #: When the connection arrived.
    arrived: float
    #: Its claimants so far ("kind:value": "ip:...", "path:...", "call:...").
    claimants: tuple[str, ...] = ()
    #: When it was first heard from or asked for a code (None: silent so far).
    engaged: float | None = None
    #: The base callsign claimed, and whether it holds that callsign's familiar place.
    callsign: str | None = None
    familiar: bool = False


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

    def add(self, item: T, claimants: tuple[str, ...] = ()) -> None:
        """Count a newcomer; `claimants`: what it comes from (an address, a path)."""
        self._pending.setdefault(item, _Entry(self._clock(), claimants))

    def heard(self, item: T) -> None:
        """`item` sent something (even part of a line): no longer silent. Only the first
        call counts."""
        entry = self._pending.get(item)
        if entry is not None and entry.engaged is None:
            entry.engaged = self._clock()

    def at_code_prompt(self, item: T, callsign: str) -> None:
        """`item` claimed `callsign` (its base) and is asked for its code: protected for a
        while, counted from when it was first heard. Only the first call counts: asking
        again after a wrong code does not renew it."""
        entry = self._pending.get(item)
        if entry is None or entry.callsign is not None:
            return
        self.heard(item)
        entry.callsign = callsign
        entry.claimants += (f"call:{callsign}",)

    def familiar(self, item: T) -> None:
        """`item`'s claim comes through a source the store knows as its callsign's own:
        dropped after every stranger while protected. One place per callsign: the
        latest claim takes it from an earlier one (which becomes a stranger)."""
        entry = self._pending.get(item)
        if entry is None or entry.callsign is None:
            return
        for other in self._pending.values():
            if other.callsign == entry.callsign:
                other.familiar = False
        entry.familiar = True

    def protected(self, item: T) -> bool:
        """Whether `item` was heard from within `PROTECTED_FOR`."""
        entry = self._pending.get(item)
        return entry is not None and self._rank(entry, self._clock()) >= STRANGER

    def discard(self, item: T) -> None:
        """`item` logged in or went away: it no longer counts."""
        self._pending.pop(item, None)

    def evict(self) -> T | None:
        """Take the connection to drop for a newcomer out of the count (the order is in
        the module's docstring); None if there is none. Warns once per burst."""
        if not self._pending:
            return None
        now = self._clock()
        held = Counter(c for entry in self._pending.values() for c in entry.claimants)
        kinds = Counter(c.split(":", 1)[0] for c in held)
        share = {kind: max(1, self.limit // count) for kind, count in kinds.items()}

        def order(item: T) -> tuple[bool, int, int, float]:
            entry = self._pending[item]
            most = max((held[c] for c in entry.claimants), default=1)
            over = any(held[c] > share[c.split(":", 1)[0]] for c in entry.claimants)
            start = entry.arrived if entry.engaged is None else entry.engaged
            return (not over, self._rank(entry, now), -most, start)

        victim = min(self._pending, key=order)
        entry = self._pending.pop(victim)
        self._dropped += 1
        if entry.callsign is not None:
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
    def _rank(entry: _Entry, now: float) -> int:
        if entry.engaged is None:
            return SILENT
        if now - entry.engaged >= PROTECTED_FOR:
            return EXPIRED
        return FAMILIAR if entry.familiar else STRANGER
