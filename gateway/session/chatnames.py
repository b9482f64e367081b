"""Whose names may go on air: the nicks a session saw on text the third-party rule allows.

Under `bridge.third_party` other than `all`, a nick chosen by an IRC user who may not be
on air must not reach the air either (`* uspam is now MK08nick` would carry its text):
joins, parts, quits, nick changes, kicks and /WHO name a user only when the session
has seen that nick on a message the rule lets on air, else say `someone` (issue 19,
finding 8).

Only JOIN and PRIVMSG/NOTICE carry the sender's account on every server (account-tag);
PART, QUIT, NICK and KICK carry it only on some. So a message with the tag can vouch for
its nick, and a JOIN or a message without it takes the vouch back; a NICK moves it to
the new nick, a QUIT drops it, and the names listed when the user joins a channel are
forgotten (someone else may hold a nick the session last saw elsewhere). The table is
bounded; the oldest vouch goes first, which only hides a name.
"""

from __future__ import annotations

from typing import Final

#: How a user the rule keeps off the air is named.
SOMEONE: Final = "someone"
#: Nicks vouched for at once, per session.
MAX_VOUCHED: Final = 512


class VouchedNicks:
    """Folded nicks last seen on text the third-party rule allows."""

    def __init__(self, limit: int = MAX_VOUCHED) -> None:
        self._limit = limit
        self._keys: dict[str, None] = {}  # insertion order: the oldest first

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def saw(self, key: str, allowed: bool) -> None:
        """A message from `key` whose account the server always tags (JOIN, PRIVMSG)."""
        self._keys.pop(key, None)
        if allowed:
            self._keys[key] = None
            if len(self._keys) > self._limit:
                del self._keys[next(iter(self._keys))]

    def renamed(self, old: str, new: str, allowed: bool) -> None:
        """`old` is now `new`: it keeps its vouch (or gains one from a tagged NICK)."""
        vouched = old in self._keys or allowed
        self._keys.pop(old, None)
        self.saw(new, vouched)

    def forget(self, key: str) -> None:
        self._keys.pop(key, None)

    def clear(self) -> None:
        self._keys.clear()
