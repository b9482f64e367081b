"""Message history for draft/chathistory: an in-memory ring per target.

A target is a channel (its folded name) or a private conversation (the two folded nicks).
Each ring keeps the last `size` messages (`irc.history_size`, at most `MAX_SIZE`) and
at most `size` x `ENTRY_BYTES` bytes of them; at most `max_targets` rings
(`irc.limits.history_targets`) holding at most `max_messages` messages in all
(`irc.limits.history_messages`) and `max_messages` x `ENTRY_BYTES` bytes in all exist:
the ring used least recently is dropped first. Nothing is written to disk.

A message is counted by what it holds in memory (`cost`: `ENTRY_OVERHEAD` for its Python
objects plus the UTF-8 bytes of its strings, never less than the memory they take), so
the bytes bound is the memory bound: 20,000 x 1.5 KiB = 30 MiB by default. Of the
sender's client-only tags only those a replay needs (`KEPT_CLIENT_TAGS`, at most
`MAX_KEPT_TAG_BYTES` of them, else none) are kept: a 4 KB `+tag` is relayed live but
never stored, so a replay of `MAX_LIMIT` messages stays far below a client's SendQ.
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
MAX_MESSAGES: Final = 20_000
#: Bytes of memory one message may take on average: a ring holds at most `size` times
#: this, all rings together `max_messages` times this. The longest entry (512-byte text,
#: `MAX_KEPT_TAG_BYTES` of client tags, an account) costs about 1.8 KiB.
ENTRY_BYTES: Final = 1536
#: Memory of an entry's Python objects (tuple, message, tag dict, parameter tuple, the
#: headers of its strings, its slot in the ring), measured with tracemalloc on CPython
#: 3.11: about 610 bytes.
ENTRY_OVERHEAD: Final = 640
#: Client-only tags kept with a message for replay (what a client needs to show it:
#: the message it answers, the channel a private message belongs to). Others, such as
#: +typing (TAGMSG, never stored) or an unknown `+x`, are relayed live only.
KEPT_CLIENT_TAGS: Final = frozenset(
    {"+draft/reply", "+reply", "+draft/channel-context", "+channel-context"}
)
#: Most bytes (keys and values) of kept client tags per message; past it none are kept.
MAX_KEPT_TAG_BYTES: Final = 512
#: Most messages one CHATHISTORY request returns (ISUPPORT CHATHISTORY).
MAX_LIMIT: Final = 100


class Entry(NamedTuple):
    """A relayed message as its recipients got it (with time and msgid tags).

    A named tuple rather than a frozen dataclass: one is made for every relayed
    message, and a frozen dataclass's constructor costs twice as much. `cost` is set by
    `History.add` (see `cost`).
    """

    at: float
    msgid: str
    message: Message
    cost: int = 0


def _utf8(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode())


def cost(message: Message) -> int:
    """Bytes `message` is counted for: its objects, and its strings' UTF-8 length (which
    is never less than a string's own memory: 1, 2 or 4 bytes a character, as UTF-8 needs
    at least as many)."""
    tags = message.tags
    # One join: cheaper than a loop over the parts, on every relayed message.
    text = "".join((message.source or "", *message.params, *tags, *tags.values()))
    return ENTRY_OVERHEAD + len(message.command) + _utf8(text)


def for_replay(message: Message) -> Message:
    """`message` with only the client-only tags worth keeping (`KEPT_CLIENT_TAGS`, at
    most `MAX_KEPT_TAG_BYTES` of them: past that, none)."""
    tags = message.tags
    for key in tags:
        if key[0] == "+":
            break
    else:
        return message  # the common case: no client-only tag
    kept = {k: v for k, v in tags.items() if k in KEPT_CLIENT_TAGS}
    if sum(len(k) + 1 + _utf8(v) for k, v in kept.items()) > MAX_KEPT_TAG_BYTES:
        kept = {}
    return message.with_tags({**{k: v for k, v in tags.items() if k[0] != "+"}, **kept})


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


class _Ring:
    """One target's messages, oldest first, and the bytes they are counted for."""

    __slots__ = ("bytes", "entries")

    def __init__(self) -> None:
        self.entries: deque[Entry] = deque()
        self.bytes = 0


class History:
    """The rings of one server, least recently used first."""

    def __init__(
        self, size: int, max_targets: int = MAX_TARGETS, max_messages: int = MAX_MESSAGES
    ) -> None:
        self.size = size
        self.max_targets = max_targets
        self.max_messages = max_messages
        self._rings: OrderedDict[str, _Ring] = OrderedDict()
        # Messages and bytes in all rings, kept up to date so the bounds cost nothing to check.
        self._total = 0
        self._bytes = 0
        self._ring_bytes = size * ENTRY_BYTES
        self.max_bytes = max_messages * ENTRY_BYTES

    def __len__(self) -> int:
        """Messages held in all rings."""
        return self._total

    @property
    def targets(self) -> int:
        """Rings held."""
        return len(self._rings)

    @property
    def bytes(self) -> int:
        """Bytes the messages of all rings are counted for (see `cost`)."""
        return self._bytes

    def configure(self, size: int, max_targets: int, max_messages: int) -> None:
        """New bounds (on reload): applied now, so memory shrinks at once."""
        self.size, self.max_targets, self.max_messages = size, max_targets, max_messages
        self._ring_bytes = size * ENTRY_BYTES
        self.max_bytes = max_messages * ENTRY_BYTES
        if size <= 0:
            self._rings.clear()
            self._total = self._bytes = 0
            return
        for ring in self._rings.values():
            self._trim(ring)
        self._evict()

    def add(self, key: str, entry: Entry) -> None:
        """Keep `entry` (its message without the client tags a replay does not need)."""
        if self.size <= 0:
            return
        message = for_replay(entry.message)
        entry = Entry(entry.at, entry.msgid, message, cost(message))
        rings = self._rings
        ring = rings.get(key)
        if ring is None:
            ring = rings[key] = _Ring()
        else:
            rings.move_to_end(key)  # the most recently used ring goes last
        entries = ring.entries
        entries.append(entry)
        ring.bytes += entry.cost
        self._bytes += entry.cost
        if len(entries) > self.size:  # a full ring: its oldest goes (no _trim, the hot path)
            ring.bytes -= entries[0].cost
            self._bytes -= entries.popleft().cost
        else:
            self._total += 1
        if ring.bytes > self._ring_bytes:
            self._trim(ring)
        if (
            len(rings) > self.max_targets
            or self._total > self.max_messages
            or self._bytes > self.max_bytes
        ):
            self._evict()

    def _trim(self, ring: _Ring) -> None:
        # The newest entry always stays, even alone over the bytes (history_size 1, a long line).
        entries = ring.entries
        while len(entries) > 1 and (len(entries) > self.size or ring.bytes > self._ring_bytes):
            dropped = entries.popleft()
            ring.bytes -= dropped.cost
            self._total -= 1
            self._bytes -= dropped.cost

    def _evict(self) -> None:
        # The newest ring always stays (size <= MAX_SIZE <= the smallest max_messages).
        while len(self._rings) > 1 and (
            len(self._rings) > self.max_targets
            or self._total > self.max_messages
            or self._bytes > self.max_bytes
        ):
            _, dropped = self._rings.popitem(last=False)
            self._total -= len(dropped.entries)
            self._bytes -= dropped.bytes

    def entries(self, key: str) -> list[Entry]:
        ring = self._rings.get(key)
        return [] if ring is None else list(ring.entries)

    def rename(self, old: str, new: str) -> None:
        """Ring `old` is called `new` from now on (a renamed channel keeps its history)."""
        ring = self._rings.pop(old, None)
        if ring is not None:
            self._rings[new] = ring

    def find(self, key: str, msgid: str) -> Entry | None:
        """The entry of ring `key` with `msgid`, or None (never seen, or dropped)."""
        ring = self._rings.get(key)
        return None if ring is None else next((e for e in ring.entries if e.msgid == msgid), None)

    def remove(self, key: str, msgid: str) -> bool:
        """Drop the entry with `msgid` from ring `key` (a redacted message); True if found."""
        ring = self._rings.get(key)
        entry = self.find(key, msgid)
        if ring is None or entry is None:
            return False
        ring.entries.remove(entry)
        ring.bytes -= entry.cost
        self._total -= 1
        self._bytes -= entry.cost
        return True

    def keys_between(self, start: float, end: float) -> list[tuple[str, float]]:
        """(key, time of latest message) for rings active between two times."""
        low, high = min(start, end), max(start, end)
        out = []
        for key, ring in self._rings.items():
            if ring.entries and low <= ring.entries[-1].at <= high:
                out.append((key, ring.entries[-1].at))
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
