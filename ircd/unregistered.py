"""Connections still registering: slots of their own, and who makes room when they are full.

A flood of sockets that never register must not keep anyone out (issue 19: 65 addresses
x 16 sockets filled all 1,024 places and every SASL login got "Server is full").
Registering connections have `limits.max_unregistered` slots apart from the
`limits.max_clients` of registered ones, and `limits.registration_timeout` ends each.

When the slots are full a newcomer still gets in: a connection already waiting makes
room for it. The one dropped is, in this order of preference:

1. from the network (IPv4 /24, IPv6 /48) that holds the most of these slots;
2. then from the source (IPv4 address, IPv6 /64) that holds the most;
3. then one that is not in a SASL exchange or check (or whose SASL failed);
4. then the oldest.

A connection already logged in by SASL (waiting for CAP END) is never dropped for a
newcomer; if every one is, the newcomer is refused. So a client that logs in (SASL
PLAIN, or EXTERNAL with a bound certificate) keeps its slot while any network or source
holds more slots than its own; only a flood from more networks than there are slots,
one socket each, can drop it, and then only once that many newer connections arrived
(`max_unregistered` / the flood's connection rate: 128 slots at 1,000 connections a
second leave 128 ms, a few round trips). Fairness comes before the SASL preference:
starting an exchange costs an attacker nothing, holding slots from few places is what
marks one.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ircd.sources import ConnectionCounts

if TYPE_CHECKING:
    from ircd.client import Client


def network_of(ip: str) -> str:
    """The key of `ip`'s network: its IPv4 /24 or its IPv6 /48 (one site)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        else:
            return str(ipaddress.IPv6Network((addr, 48), strict=False))
    return str(ipaddress.IPv4Network((addr, 24), strict=False))


def in_sasl(client: Client) -> bool:
    """In a SASL exchange or waiting for its check, without a failure so far."""
    return client.sasl_failures == 0 and (client.sasl is not None or client.pending is not None)


class Unregistered:
    """The connections still registering, oldest first, counted per network and source."""

    __slots__ = ("_clients", "_networks", "_sources")

    def __init__(self) -> None:
        # Insertion order is age: the first entry is the oldest.
        self._clients: dict[Client, tuple[str, str]] = {}
        self._networks = ConnectionCounts()
        self._sources = ConnectionCounts()

    def add(self, client: Client, source: str) -> None:
        network = network_of(client.ip)
        self._clients[client] = (network, source)
        self._networks.add(network)
        self._sources.add(source)

    def remove(self, client: Client) -> None:
        """Forget `client` (registered or gone); nothing if it was not here."""
        keys = self._clients.pop(client, None)
        if keys is not None:
            self._networks.remove(keys[0])
            self._sources.remove(keys[1])

    def __len__(self) -> int:
        return len(self._clients)

    def __contains__(self, client: object) -> bool:
        return client in self._clients

    def victim(self) -> Client | None:
        """The connection to drop for a newcomer (see the module's docstring), or None
        when every one is logged in. A scan of the slots, made only when they are full
        (about 60 µs a newcomer at 128 slots, 0.4 ms at 1,024): so `max_unregistered`
        is at most 1,024."""
        networks = self._networks.count
        sources = self._sources.count
        best: Client | None = None
        best_key = (0, 0, False)
        for client, (network, source) in self._clients.items():
            if client.account is not None:
                continue
            key = (networks(network), sources(source), not in_sasl(client))
            if key > best_key:  # strictly: the oldest wins a tie
                best, best_key = client, key
        return best
