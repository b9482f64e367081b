"""WHOWAS: a bounded memory of recently used nicks."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ircd.client import Client

#: Entries kept per nick; older ones are forgotten first.
PER_NICK: Final = 5


@dataclass(frozen=True, slots=True)
class WasEntry:
    nick: str
    user: str
    host: str
    realname: str
    account: str | None
    #: Wall-clock time the nick was given up.
    left: float


class WhoWas:
    """At most `max_entries` entries in all; the nick used least recently goes first."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._by_nick: OrderedDict[str, list[WasEntry]] = OrderedDict()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, folded: str, entry: WasEntry) -> None:
        entries = self._by_nick.pop(folded, [])
        entries.insert(0, entry)
        self._count += 1
        if len(entries) > PER_NICK:
            entries.pop()
            self._count -= 1
        self._by_nick[folded] = entries
        while self._count > self.max_entries:
            _, oldest = self._by_nick.popitem(last=False)
            self._count -= len(oldest)

    def record(self, folded: str, client: Client, now: float) -> None:
        """Remember `client` under its folded nick, as it is now."""
        if self.max_entries and client.nick is not None:
            entry = WasEntry(
                nick=client.nick,
                user=client.user or "*",
                host=client.host,
                realname=client.realname,
                account=client.account,
                left=now,
            )
            self.add(folded, entry)

    def get(self, folded: str) -> list[WasEntry]:
        """Newest first."""
        return list(self._by_nick.get(folded, ()))
