"""Connections still registering: slots of their own, and who makes room when they are full.

A flood of sockets that never register must not keep anyone out (issue 19: 65 addresses
x 16 sockets filled all 1,024 places and every SASL login got "Server is full").
Registering connections have `limits.max_unregistered` slots apart from the
`limits.max_clients` of registered ones, and `limits.registration_timeout` ends each.

When the slots are full a newcomer still gets in: a connection already waiting makes
room for it. The one dropped is, in this order of preference:

1. from the network (IPv4 /24, IPv6 /48) that holds the most of these slots;
2. then, in it, from the source (IPv4 address, IPv6 /64) that holds the most;
3. then one that is not in a SASL exchange or check (or whose SASL failed);
4. then the oldest.

A connection already logged in by SASL (waiting for CAP END) is never dropped for a
newcomer; if every one is, the newcomer is refused. So a client that logs in (SASL
PLAIN, or EXTERNAL with a bound certificate) keeps its slot while any network holds
more slots than its own: against a flood from fewer networks than there are slots,
always. Only a flood from more networks than slots, one socket each, can drop it, and
then once it is in its SASL exchange only after the silent ones. Fairness comes before
the SASL preference: starting an exchange costs an attacker nothing, holding slots from
few places is what marks one.

The choice costs the same whatever the number of slots: counts are kept in buckets (the
keys of each count in the order they reached it). 1. is exact; among the networks that
tie, 2. to 4. weigh the first `SCAN` connections only (the first to reach the count).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

from ircd.sources import block_of

if TYPE_CHECKING:
    from ircd.client import Client

#: Connections looked at, at most, to choose among equals (see the module's docstring).
SCAN: Final = 32


def network_of(ip: str) -> str:
    """The key of `ip`'s network: its IPv4 /24 or its IPv6 /48 (one site)."""
    return block_of(ip, 24, 48)


def in_sasl(client: Client) -> bool:
    """In a SASL exchange or waiting for its check, without a failure so far."""
    return client.sasl_failures == 0 and (client.sasl is not None or client.pending is not None)


class Counted:
    """Keys with a count each, and the keys of each count in the order they reached it
    (so that the keys with the highest count are found at once)."""

    __slots__ = ("_buckets", "_counts", "top")

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._buckets: dict[int, dict[str, None]] = {}
        #: The highest count (0: empty).
        self.top = 0

    def count(self, key: str) -> int:
        return self._counts.get(key, 0)

    def add(self, key: str) -> None:
        count = self._counts.get(key, 0)
        if count:
            self._leave(key, count)
        self._enter(key, count + 1)

    def remove(self, key: str) -> None:
        count = self._counts.get(key, 0)
        if not count:
            return
        self._leave(key, count)
        if count > 1:
            self._enter(key, count - 1)
        else:
            del self._counts[key]
        if self.top not in self._buckets:
            self.top -= 1  # counts move by one: the bucket below holds this key, or all went

    def leaders(self) -> Iterator[str]:
        """The keys with the highest count, the first to reach it first."""
        return iter(self._buckets.get(self.top, ()))

    def __len__(self) -> int:
        return len(self._counts)

    def _enter(self, key: str, count: int) -> None:
        self._counts[key] = count
        self._buckets.setdefault(count, {})[key] = None
        self.top = max(self.top, count)

    def _leave(self, key: str, count: int) -> None:
        bucket = self._buckets[count]
        del bucket[key]
        if not bucket:
            del self._buckets[count]


class Unregistered:
    """The connections still registering, counted per network and per source."""

    __slots__ = ("_clients", "_keys", "_networks", "_sources")

    def __init__(self) -> None:
        self._networks = Counted()
        # Network -> its sources' counts; source -> its connections, oldest first.
        self._sources: dict[str, Counted] = {}
        self._clients: dict[str, dict[Client, None]] = {}
        self._keys: dict[Client, tuple[str, str]] = {}

    def add(self, client: Client, source: str) -> None:
        network = network_of(client.ip)
        self._keys[client] = (network, source)
        self._networks.add(network)
        self._sources.setdefault(network, Counted()).add(source)
        self._clients.setdefault(source, {})[client] = None

    def remove(self, client: Client) -> None:
        """Forget `client` (registered or gone); nothing if it was not here."""
        keys = self._keys.pop(client, None)
        if keys is None:
            return
        network, source = keys
        self._networks.remove(network)
        sources = self._sources[network]
        sources.remove(source)
        if not sources:
            del self._sources[network]
        held = self._clients[source]
        del held[client]
        if not held:
            del self._clients[source]

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, client: object) -> bool:
        return client in self._keys

    def victim(self) -> Client | None:
        """The connection to drop for a newcomer (see the module's docstring), or None
        when every one is logged in."""
        best: Client | None = None
        best_key = (0, False, 0)
        seen = 0
        for network in self._networks.leaders():
            sources = self._sources[network]
            for source in sources.leaders():
                for client in self._clients[source]:
                    if client.account is None:
                        # Ids grow with each connection: the smaller, the older.
                        key = (sources.top, not in_sasl(client), -client.id)
                        if best is None or key > best_key:
                            best, best_key = client, key
                    seen += 1
                    if seen >= SCAN and best is not None:
                        return best
        if best is None:  # all the leaders logged in (rare): look at everyone
            return self._any_not_logged_in()
        return best

    def _any_not_logged_in(self) -> Client | None:
        waiting = [c for c in self._keys if c.account is None]
        if not waiting:
            return None
        return max(
            waiting,
            key=lambda c: (
                self._networks.count(self._keys[c][0]),
                self._sources[self._keys[c][0]].count(self._keys[c][1]),
                not in_sasl(c),
                -c.id,
            ),
        )
