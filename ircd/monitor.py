"""MONITOR: who watches which nick. Each client watches at most `LIMIT` nicks.

The index maps a folded nick to the clients watching it; a client's own list is
`Client.monitoring`. Both shrink when a client disconnects, so the index never holds
more than `LIMIT` entries per connected client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ircd.client import Client

#: Nicks one client may monitor (ISUPPORT MONITOR).
LIMIT: Final = 100
_NOBODY: Final[frozenset[Client]] = frozenset()


class Monitors:
    """The watch index of one server."""

    def __init__(self) -> None:
        self._watchers: dict[str, set[Client]] = {}

    def __len__(self) -> int:
        return sum(len(w) for w in self._watchers.values())

    def watchers(self, folded: str) -> set[Client] | frozenset[Client]:
        return self._watchers.get(folded, _NOBODY)

    def add(self, client: Client, folded: str) -> bool:
        """Watch `folded`; False when the client's list is full."""
        if folded in client.monitoring:
            return True
        if len(client.monitoring) >= LIMIT:
            return False
        client.monitoring[folded] = None
        self._watchers.setdefault(folded, set()).add(client)
        return True

    def remove(self, client: Client, folded: str) -> None:
        if folded not in client.monitoring:
            return
        del client.monitoring[folded]
        watchers = self._watchers[folded]
        watchers.discard(client)
        if not watchers:
            del self._watchers[folded]

    def clear(self, client: Client) -> None:
        for folded in list(client.monitoring):
            self.remove(client, folded)
