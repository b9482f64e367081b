"""Channels founded per source: one address must not hold the whole channel table.

Hostile review, finding 5: 50 connections from 4 addresses held all 1000 channels
(`limits.max_channels`), and anyone's JOIN of a new channel got 405. A channel is
counted against the source (an IPv4 address, an IPv6 /64: `ircd.sources`) of the client
that created it, for as long as it exists (it ends when its last member leaves), and a
source may found at most `limits.max_channels_per_address`. The embedder's in-process
clients (the gateway's radio users, who all share its address) are not counted, as they
are not for `limits.max_per_address`; nor are channels an operator's SAJOIN creates.
The table has one entry per channel, so `max_channels` bounds it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircd.sources import ConnectionCounts, source_of

if TYPE_CHECKING:
    from ircd.client import Client


class Founders:
    """Which source founded each counted channel (by folded name), and counts per source."""

    __slots__ = ("_by_channel", "_counts")

    def __init__(self) -> None:
        self._by_channel: dict[str, str] = {}
        self._counts = ConnectionCounts()

    @staticmethod
    def source(client: Client) -> str | None:
        """The source a channel `client` founds counts against (None: not counted)."""
        return None if client.in_process else source_of(client.ip)

    def may_found(self, client: Client, limit: int) -> bool:
        source = self.source(client)
        return source is None or self._counts.count(source) < limit

    def founded(self, folded: str, client: Client) -> None:
        source = self.source(client)
        if source is not None and folded not in self._by_channel:
            self._by_channel[folded] = source
            self._counts.add(source)

    def gone(self, folded: str) -> None:
        source = self._by_channel.pop(folded, None)
        if source is not None:
            self._counts.remove(source)

    def renamed(self, old: str, new: str) -> None:
        source = self._by_channel.pop(old, None)
        if source is not None:
            self._by_channel[new] = source

    def count(self, source: str) -> int:
        return self._counts.count(source)

    def __len__(self) -> int:
        return len(self._by_channel)
