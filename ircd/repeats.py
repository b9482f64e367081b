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

    def __init__(self, window: float = REPEAT_WINDOW, max_keys: int = MAX_REPEAT_KEYS) -> None:
        self.window = window
        self.max_keys = max_keys
        # Oldest window first: windows open in time order, and one that opens again
        # moves to the end, so the ended ones are always at the front.
        self._open: OrderedDict[Key, _Window] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    def offer(self, key: Key, title: str, text: str, now: float) -> bool:
        """True: send `text` now (a window opens for its key); False: held and counted."""
        if key not in self._open and len(self._open) >= self.max_keys:
            key = (key[0], "*", "*")  # the letter's overflow entry
        window = self._open.get(key)
        if window is not None and now - window.opened < self.window:
            window.held += 1
            window.latest = text
            return False
        self._open.pop(key, None)
        self._open[key] = _Window(now, title)
        return True

    def ended(self, now: float) -> list[tuple[str, str, int, str]]:
        """(letter, title, count, latest text) for each window that ended holding notices; such a
        window opens again (a steady flood costs one line a window), an empty one closes."""
        owed = []
        while self._open:
            key, window = next(iter(self._open.items()))
            if now - window.opened < self.window:
                break
            del self._open[key]
            if window.held:
                owed.append((key[0], window.title, window.held, window.latest))
                self._open[key] = _Window(now, window.title)
        return owed
