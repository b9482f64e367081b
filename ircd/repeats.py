"""Repeated server notices collapsed, as InspIRCd and syslog do ("last message repeated N
times"): a leaf, so that the server's `Context` can name the table (`ircd.snomask` uses it).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

#: Seconds a notice holds back the repeats of its kind from its source.
REPEAT_WINDOW: Final = 30.0
#: Kinds and sources watched for repeats at once; past it, new ones share one entry per
#: letter (so a spread-out flood is still collapsed, and the table stays bounded).
MAX_REPEAT_KEYS: Final = 256
#: Of those, the most one letter may hold: a flood of one kind (connections, quits) never
#: takes the places of another letter's sources (a guessing alert keeps its own line).
MAX_KEYS_PER_LETTER: Final = 32

Key = tuple[str, str, str]


@dataclass(slots=True)
class _Window:
    opened: float
    title: str
    held: int = 0
    latest: str = ""


class Repeats:
    """Sans-IO: which notices to send now, and the "repeated" lines owed when windows
    end. A key is (letter, kind, source); the caller passes the time."""

    def __init__(
        self,
        window: float = REPEAT_WINDOW,
        max_keys: int = MAX_REPEAT_KEYS,
        per_letter: int = MAX_KEYS_PER_LETTER,
    ) -> None:
        self.window = window
        self.max_keys = max_keys
        self.per_letter = per_letter
        self._letters: dict[str, int] = {}  # open windows per letter
        # Oldest window first: windows open in time order, and one that opens again
        # moves to the end, so the ended ones are always at the front.
        self._open: OrderedDict[Key, _Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def offer(self, key: Key, title: str, text: str, now: float) -> bool:
        """True: send `text` now (a window opens for its key); False: held and counted."""
        letter = key[0]
        full = len(self._open) >= self.max_keys or self._letters.get(letter, 0) >= self.per_letter
        if key not in self._open and full:
            key = (letter, "*", "*")  # the letter's overflow entry
        window = self._open.get(key)
        if window is not None and now - window.opened < self.window:
            window.held += 1
            window.latest = text
            return False
        self._close(key)
        self._open[key] = _Window(now, title)
        self._letters[letter] = self._letters.get(letter, 0) + 1
        return True

    def _close(self, key: Key) -> None:
        if self._open.pop(key, None) is not None:
            left = self._letters[key[0]] - 1
            if left:
                self._letters[key[0]] = left
            else:
                del self._letters[key[0]]

    def ended(self, now: float) -> list[tuple[str, str, int, str]]:
        """(letter, title, count, latest text) for each window that ended holding notices; such a
        window opens again (a steady flood costs one line a window), an empty one closes."""
        owed = []
        while self._open:
            key, window = next(iter(self._open.items()))
            if now - window.opened < self.window:
                break
            self._close(key)
            if window.held:
                owed.append((key[0], window.title, window.held, window.latest))
                self._open[key] = _Window(now, window.title)
                self._letters[key[0]] = self._letters.get(key[0], 0) + 1
        return owed
