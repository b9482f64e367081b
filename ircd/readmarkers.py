"""Read markers (IRCv3 draft/read-marker): what a user has read, per target.

A marker belongs to an account, so that every client logged in to it (and the radio
user's session, through `ircd.notify.mark_read`) shares it; a client without an account has its
own, dropped when it disconnects. Timestamps only move forward and never past now.
Bounds: `MAX_OWNERS` owners (the one used least recently is forgotten first) and
`MAX_PER_OWNER` targets each (the oldest set is forgotten first). A marker costs about
210 bytes (bench/irc_memory.py), so an owner at most 21 KiB and all of them 42 MiB.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

CAP: Final = "draft/read-marker"
#: Owners: more than `limits.max_clients` (1024), so that the clients without an account
#: connected at once never push out every account's markers.
MAX_OWNERS: Final = 2048
#: Targets per owner: the channels and conversations one user follows.
MAX_PER_OWNER: Final = 100


class ReadMarkers:
    """Owner -> folded target -> timestamp (seconds, wall clock)."""

    def __init__(self) -> None:
        self._owners: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(m) for m in self._owners.values())

    def get(self, owner: str, target: str) -> float | None:
        markers = self._owners.get(owner)
        return None if markers is None else markers.get(target)

    def advance(self, owner: str, target: str, at: float) -> tuple[float, bool]:
        """Move the marker to `at` if that is later; return (the marker now, moved?)."""
        markers = self._owners.pop(owner, None)
        if markers is None:
            markers = OrderedDict()
        self._owners[owner] = markers  # most recently used last
        current = markers.get(target)
        if current is not None and at <= current:
            return current, False
        markers.pop(target, None)
        markers[target] = at
        if len(markers) > MAX_PER_OWNER:
            markers.popitem(last=False)
        if len(self._owners) > MAX_OWNERS:
            self._owners.popitem(last=False)
        return at, True

    def forget(self, owner: str) -> None:
        self._owners.pop(owner, None)
