"""Read markers (IRCv3 draft/read-marker): what a user has read, per target.

A marker belongs to an account, so that every client logged in to it (and the radio
user's session, through `mark_read`) shares it; a client without an account has its
own, dropped when it disconnects. Timestamps only move forward and never past now.
Bounds: `MAX_OWNERS` owners (the one used least recently is forgotten first) and
`MAX_PER_OWNER` targets each (the oldest set is forgotten first).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Final

from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.server import Server

CAP: Final = "draft/read-marker"
MAX_OWNERS: Final = 10_000
MAX_PER_OWNER: Final = 500


def owner_of(server: Server, client: Client) -> str:
    """Whose markers `client` reads and writes."""
    if client.account is not None:
        return "a:" + server.fold(client.account)
    return f"c:{client.id}"


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


def marker_message(server: Server, target: str, at: float | None) -> Message:
    value = "*" if at is None else "timestamp=" + server.format_time(at)
    return Message(source=server.name, command="MARKREAD", params=(target, value))


def announce(server: Server, owner: str, target: str, at: float) -> None:
    """Tell every client of `owner` that negotiated the capability (IRCv3: SHOULD)."""
    msg = marker_message(server, target, at)
    for client in list(server.clients.values()):
        if CAP in client.caps and client.registered and owner_of(server, client) == owner:
            server.send(client, msg)


def mark_read(server: Server, account: str, target: str, at: float) -> None:
    """For the embedder: `account` has read `target` up to `at` (e.g. a radio user read
    their messages over the air); its IRC clients hear of it."""
    owner = "a:" + server.fold(account)
    at = min(at, server.wallclock())
    now, moved = server.read_markers.advance(owner, server.fold(target), at)
    if moved:
        announce(server, owner, target, now)
