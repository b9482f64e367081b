"""Per-source bookkeeping: connections per address, and OPER failures per address.

A source is an IPv4 address or an IPv6 /64 (one customer's network: counting single
IPv6 addresses would let one host take a whole slot table). Both tables are bounded:
connection counts by the number of clients, penalties by `MAX_PENALIZED` (the entry
nearest its end is forgotten first, it is the one that would soon be gone anyway).
"""

from __future__ import annotations

import ipaddress
from typing import Final

#: Sources with an OPER penalty remembered at once.
MAX_PENALIZED: Final = 4096
#: Failures allowed in a row before a source waits (the grace is this many penalties).
FREE_FAILURES: Final = 3


def source_of(ip: str) -> str:
    """The key of `ip`'s source: the address itself (IPv4) or its /64 (IPv6)."""
    return block_of(ip, 32, 64)


def block_of(ip: str, v4: int, v6: int) -> str:
    """The key of the block of `ip`: its IPv4 /`v4` (the bare address for 32) or its
    IPv6 /`v6`; an IPv4-mapped IPv6 address counts as IPv4; anything else as itself."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is None:
            return str(ipaddress.IPv6Network((addr, v6), strict=False))
        addr = addr.ipv4_mapped
    return str(addr) if v4 == 32 else str(ipaddress.IPv4Network((addr, v4), strict=False))


class ConnectionCounts:
    """Connections open per source; one `add` per admitted socket, one `remove` at close."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def count(self, source: str) -> int:
        return self._counts.get(source, 0)

    def add(self, source: str) -> None:
        self._counts[source] = self._counts.get(source, 0) + 1

    def remove(self, source: str) -> None:
        left = self._counts.get(source, 0) - 1
        if left > 0:
            self._counts[source] = left
        else:
            self._counts.pop(source, None)

    def __len__(self) -> int:
        return len(self._counts)


class FailurePenalties:
    """OpenSSH-style penalties, as the gateway's logins have: each failure adds `per_failure`
    seconds to a deadline that runs down in real time; the source is refused while more
    than `FREE_FAILURES` failures' worth remains, and never waits more than `most`."""

    __slots__ = ("_until", "most", "per_failure")

    def __init__(self, per_failure: float, most: float) -> None:
        self.per_failure = per_failure
        self.most = most
        self._until: dict[str, float] = {}

    def wait(self, source: str, now: float) -> float:
        """Seconds `source` must wait before its next check (0: go ahead)."""
        left = self._until.get(source, now) - now
        grace = FREE_FAILURES * self.per_failure
        return left - grace if left > grace else 0.0

    def owed(self, source: str, now: float) -> float:
        """Seconds of penalty `source` still owes (0: no recent failure); ranks it in
        the password checks' queue (`ircd.passwords`)."""
        return max(0.0, self._until.get(source, now) - now)

    def failed(self, source: str, now: float) -> None:
        until = self._until.pop(source, now)
        self._until[source] = min(max(until, now) + self.per_failure, now + self.most)
        if len(self._until) > MAX_PENALIZED:
            self._forget(now)

    def _forget(self, now: float) -> None:
        for key in [k for k, until in self._until.items() if until <= now]:
            del self._until[key]
        while len(self._until) > MAX_PENALIZED:
            del self._until[min(self._until, key=self._until.__getitem__)]

    def __len__(self) -> int:
        return len(self._until)
