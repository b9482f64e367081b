"""Message history for draft/chathistory: an in-memory ring per target.

A target is a channel (its folded name) or a private conversation (the two folded nicks).
Each ring keeps the last `size` messages (`irc.history_size`, at most `MAX_SIZE`); at
most `max_targets` rings (`irc.limits.history_targets`) holding at most `max_messages`
messages in all (`irc.limits.history_messages`) exist: the ring used least recently is
dropped first. Nothing is written to disk.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final, NamedTuple

if TYPE_CHECKING:
    from ircd.protocol import Message

#: Most messages one ring may keep (the upper end of `irc.history_size`).
MAX_SIZE: Final = 1000
#: Default for `irc.limits.history_targets`: rings kept (channels and conversations).
MAX_TARGETS: Final = 1000
#: Default for `irc.limits.history_messages`: messages kept in all rings together.
MAX_MESSAGES: Final = 100_000
#: Most messages one CHATHISTORY request returns (ISUPPORT CHATHISTORY).
MAX_LIMIT: Final = 100


class Entry(NamedTuple):
    """A relayed message as its recipients got it (with time and msgid tags).

    A named tuple rather than a frozen dataclass: one is made for every relayed
    message, and a frozen dataclass's constructor costs twice as much.
    """

    at: float
    msgid: str
    message: Message


def dm_key(a: str, b: str) -> str:
    """The ring key of a conversation between two folded nicks (order does not matter)."""
    return "\x00".join(sorted((a, b)))


def parse_timestamp(text: str) -> float | None:
    """An IRCv3 server-time like 2019-01-04T14:33:26.123Z, as seconds; None if malformed."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class History:
    """The rings of one server, least recently used first."""

    def __init__(
        self, size: int, max_targets: int = MAX_TARGETS, max_messages: int = MAX_MESSAGES
    ) -> None:
        self.size = size
        self.max_targets = max_targets
        self.max_messages = max_messages
        self._rings: OrderedDict[str, deque[Entry]] = OrderedDict()
        # Messages in all rings, kept up to date so the total bound costs nothing to check.
        self._total = 0

    def __len__(self) -> int:
        """Messages held in all rings."""
        return self._total

    @property
    def targets(self) -> int:
        """Rings held."""
        return len(self._rings)

    def configure(self, size: int, max_targets: int, max_messages: int) -> None:
        """New bounds (on reload): applied now, so memory shrinks at once."""
        self.size, self.max_targets, self.max_messages = size, max_targets, max_messages
        if size <= 0:
            self._rings.clear()
            self._total = 0
            return
        for key, ring in list(self._rings.items()):
            if ring.maxlen != size:
                self._rings[key] = deque(ring, maxlen=size)
        self._total = sum(len(ring) for ring in self._rings.values())
        self._evict()

    def add(self, key: str, entry: Entry) -> None:
        if self.size <= 0:
            return
        rings = self._rings
        ring = rings.get(key)
        if ring is None:
            ring = rings[key] = deque(maxlen=self.size)
        else:
            rings.move_to_end(key)  # the most recently used ring goes last
            if len(ring) == ring.maxlen:
                self._total -= 1  # the append below pushes the oldest out
        ring.append(entry)
        self._total += 1
        if len(rings) > self.max_targets or self._total > self.max_messages:
            self._evict()

    def _evict(self) -> None:
        # The newest ring always stays (size <= MAX_SIZE <= the smallest max_messages).
        while len(self._rings) > 1 and (
            len(self._rings) > self.max_targets or self._total > self.max_messages
        ):
            _, dropped = self._rings.popitem(last=False)
            self._total -= len(dropped)

    def entries(self, key: str) -> list[Entry]:
        return list(self._rings.get(key, ()))

    def rename(self, old: str, new: str) -> None:
        """Ring `old` is called `new` from now on (a renamed channel keeps its history)."""
        ring = self._rings.pop(old, None)
        if ring is not None:
            self._rings[new] = ring

    def find(self, key: str, msgid: str) -> Entry | None:
        """The entry of ring `key` with `msgid`, or None (never seen, or dropped)."""
        return next((e for e in self._rings.get(key, ()) if e.msgid == msgid), None)

    def remove(self, key: str, msgid: str) -> bool:
        """Drop the entry with `msgid` from ring `key` (a redacted message); True if found."""
        ring = self._rings.get(key)
        entry = self.find(key, msgid)
        if ring is None or entry is None:
            return False
        ring.remove(entry)
        self._total -= 1
        return True

    def keys_between(self, start: float, end: float) -> list[tuple[str, float]]:
        """(key, time of latest message) for rings active between two times."""
        low, high = min(start, end), max(start, end)
        out = []
        for key, ring in self._rings.items():
            if ring and low <= ring[-1].at <= high:
                out.append((key, ring[-1].at))
        return sorted(out, key=lambda item: item[1])

    @staticmethod
    def split(entries: list[Entry], ref: tuple[str, str]) -> tuple[list[Entry], list[Entry]] | None:
        """Entries strictly before and strictly after a reference, or None if it is unknown.

        `ref` is ("msgid", id) or ("timestamp", text). A msgid is exact even when several
        messages share a timestamp.
        """
        kind, value = ref
        if kind == "msgid":
            i = next((i for i, e in enumerate(entries) if e.msgid == value), None)
            return None if i is None else (entries[:i], entries[i + 1 :])
        at = parse_timestamp(value)
        if at is None:
            return None
        return [e for e in entries if e.at < at], [e for e in entries if e.at > at]

    @classmethod
    def select(
        cls,
        entries: list[Entry],
        mode: str,
        ref: tuple[str, str] | None,
        end: tuple[str, str] | None,
        limit: int,
    ) -> list[Entry] | None:
        """The entries a CHATHISTORY subcommand asks for, oldest first; None: bad reference."""
        if mode == "LATEST" and ref is None:
            return entries[-limit:]
        around = cls.split(entries, ref) if ref is not None else None
        if around is None:
            return None
        before, after = around
        if mode == "LATEST":
            return after[-limit:]
        if mode == "BEFORE":
            return before[-limit:]
        if mode == "AFTER":
            return after[:limit]
        if mode == "AROUND":
            head = before[-(limit // 2) :] if limit > 1 else []
            middle = entries[len(before) : len(entries) - len(after)]
            return (head + middle + after)[:limit]
        if mode == "BETWEEN" and end is not None:
            other = cls.split(entries, end)
            if other is None:
                return None
            earlier = {id(e) for e in other[0]}
            later = {id(e) for e in other[1]}
            forward = [e for e in after if id(e) in earlier]
            backward = [e for e in before if id(e) in later]
            return forward[:limit] if forward else backward[-limit:]
        return None
