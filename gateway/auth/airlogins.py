"""Which callsigns are logging in on the air now, or were within a code's lifetime.

Everything on the air is heard, and one lost frame (a collision, fading, a jammer)
keeps the owner's code from the gateway while a listener has it. Off the air (IRC, a
direct telnet listener) a code for a callsign is therefore refused while that callsign
sits at a radio Code: prompt, and for `WINDOW` seconds after (`Authenticator.attempt`,
`radio_busy`). On the air, nothing changes: a thief in radio range could as well have
sent the code first, and a radio prompt held open by an attacker must not keep the
owner out.

Kept in memory, and in the store (`air_prompts`, written after each change), so that a
restart within the window (a crash, an upgrade) does not forget a code heard moments
before: at start `restore` takes back what is recent, and a prompt that was open when
the gateway died counts from the restart. Only enrolled callsigns are tracked (the
caller checks), so both tables are bounded by them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from gateway.auth import totp
from gateway.db import Db, Schema

#: A code is accepted up to `totp.WINDOW` steps either side of its own: one heard now
#: stays good for 3 steps at most, or later if the owner's phone runs fast (a code
#: refused on air for being early becomes good later): 6 steps cover a phone up to
#: 3 steps (90 s) fast.
WINDOW = 2 * (2 * totp.WINDOW + 1) * totp.STEP_SECONDS

SCHEMA = Schema(
    __name__,
    """
-- Radio Code: prompts lately, kept across a restart (gateway/auth/airlogins.py).
CREATE TABLE IF NOT EXISTS air_prompts (
    callsign TEXT PRIMARY KEY,
    at       REAL NOT NULL,            -- wall time of the last change
    open     INTEGER NOT NULL          -- prompts open then
);
""",
)


class AirLogins:
    def __init__(self, clock: Callable[[], float] = time.monotonic, window: float = WINDOW):
        self._clock = clock
        self._window = window
        #: Open Code: prompts per callsign.
        self._open: dict[str, int] = {}
        #: When each callsign last opened, used or closed a prompt on the air.
        self._last: dict[str, float] = {}

    def opened(self, callsign: str) -> None:
        """A radio session of `callsign` is at its Code: prompt."""
        self._open[callsign] = self._open.get(callsign, 0) + 1
        self._touch(callsign)

    def closed(self, callsign: str) -> bool:
        """That session logged in or ended (a callsign never opened is ignored: only
        what `opened` took in, enrolled callsigns, is kept). Whether it was kept."""
        left = self._open.get(callsign, 0) - 1
        if left < 0:
            return False
        if left > 0:
            self._open[callsign] = left
        else:
            del self._open[callsign]
        self._touch(callsign)
        return True

    def open_count(self, callsign: str) -> int:
        return self._open.get(callsign, 0)

    def restore(self, rows: list[tuple[str, float, int]], wall_now: float) -> None:
        """Take back what the store kept (`recent`): each callsign busy for what is left
        of its window, and a prompt open when the gateway stopped (or a change dated
        after `wall_now`: the wall clock stepped back) from now."""
        now = self._clock()
        for callsign, at, open_prompts in rows:
            age = 0.0 if open_prompts or at > wall_now else wall_now - at
            if age < self._window:
                self._last[callsign] = max(self._last.get(callsign, -math.inf), now - age)

    def busy(self, callsign: str) -> bool:
        """True while a code for `callsign` may have been heard on the air and be good."""
        if callsign in self._open:
            return True
        last = self._last.get(callsign)
        return last is not None and self._clock() - last < self._window

    def _touch(self, callsign: str) -> None:
        now = self._clock()
        self._last[callsign] = now
        # Forget what ran out: the table holds only callsigns busy within the window.
        for call in [c for c, t in self._last.items() if now - t >= self._window]:
            if call not in self._open:
                del self._last[call]


def remember(store: Db, callsign: str, at: float, open_prompts: int) -> None:
    """Keep the last change of `callsign`'s prompts (a row per enrolled callsign: the
    table is bounded by them, and a revoked one's row goes with it)."""
    store.db.execute(
        "INSERT OR REPLACE INTO air_prompts (callsign, at, open) VALUES (?, ?, ?)",
        (callsign, at, open_prompts),
    )


def recent(store: Db, wall_now: float, window: float = WINDOW) -> list[tuple[str, float, int]]:
    """What `AirLogins.restore` takes back: prompts open, or changed within `window`
    (or dated after `wall_now`: the wall clock stepped back)."""
    rows = store.db.execute(
        "SELECT callsign, at, open FROM air_prompts WHERE open > 0 OR at > ?",
        (wall_now - window,),
    )
    return [(str(c), float(at), int(n)) for c, at, n in rows]


def forget(store: Db, callsign: str) -> None:
    """A revoked callsign."""
    store.db.execute("DELETE FROM air_prompts WHERE callsign = ?", (callsign,))
