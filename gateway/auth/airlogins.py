"""Which callsigns are logging in on the air now, or were within a code's lifetime.

Everything on the air is heard, and one lost frame (a collision, fading, a jammer)
keeps the owner's code from the gateway while a listener has it. Off the air (IRC, a
direct telnet listener) a code for a callsign is therefore refused while that callsign
sits at a radio Code: prompt, and for `WINDOW` seconds after (`Authenticator.attempt`,
`radio_busy`). On the air, nothing changes: a thief in radio range could as well have
sent the code first, and a radio prompt held open by an attacker must not keep the
owner out.

In memory: a restart forgets prompts, which end with their connections anyway. Only
enrolled callsigns are tracked (the caller checks), so the table is bounded by them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.auth import totp

#: A code is accepted up to `totp.WINDOW` steps either side of its own: one heard now
#: stays good for 3 steps at most, or later if the owner's phone runs fast (a code
#: refused on air for being early becomes good later): 6 steps cover a phone up to
#: 3 steps (90 s) fast.
WINDOW = 2 * (2 * totp.WINDOW + 1) * totp.STEP_SECONDS


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

    def closed(self, callsign: str) -> None:
        """That session logged in or ended (a callsign never opened is ignored: only
        what `opened` took in, enrolled callsigns, is kept)."""
        left = self._open.get(callsign, 0) - 1
        if left < 0:
            return
        if left > 0:
            self._open[callsign] = left
        else:
            del self._open[callsign]
        self._touch(callsign)

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
