"""How long a client of the gateway waits before it connects to IRC again. Sans-IO.

Radio users' sessions, the service nick and the bulletin posters share one rule, so that
all come back within a few seconds of a network's return, yet never hammer a server that
is up and says no:

- **Unreachable** (no TCP connection, or no answer to registration: the server is down,
  restarting or hung): try again within a few seconds, jittered so that many clients
  that lost the network together do not all knock at the same instant. Knocking at a
  closed port costs the network nothing, so this does not grow.
- **Refused** (the server answered and said no: a throttle, a nick taken, an ERROR), or
  **dropped at once** after it took us (a kill, a K-line, a collision in disguise): the
  server is up and does not want us now, so the wait doubles up to `refused_max`.
- A client that **stayed** on IRC a while and then lost it, or whose link ended in a
  ping timeout (the server hung), starts over: the next wait is an unreachable one.
"""

from __future__ import annotations

import random
from collections.abc import Callable

#: A network out of reach is tried again after this many seconds (x1-2: 2 to 4 s).
RETRY_UNREACHABLE = 2.0
#: A refused client waits this long at first, doubling on each refusal.
REFUSED_FIRST = 5.0
#: A client that stayed this long on IRC starts its backoff again.
STAYED = 60.0


class Backoff:
    """The waits of one client; `uniform` is injected for the jitter."""

    def __init__(
        self, refused_max: float, uniform: Callable[[float, float], float] = random.uniform
    ) -> None:
        self.refused_max = refused_max
        self._uniform = uniform
        self._refused = REFUSED_FIRST

    def unreachable(self) -> float:
        return RETRY_UNREACHABLE * self._uniform(1.0, 2.0)

    def refused(self) -> float:
        wait = self._refused * self._uniform(1.0, 1.25)
        self._refused = min(self._refused * 2, self.refused_max)
        return min(wait, self.refused_max)

    def left(self, stayed: float, *, silent: bool = False) -> float:
        """The wait after the client lost IRC having stayed `stayed` seconds: one that
        is dropped at once is a refusal in disguise, unless the link ended in silence
        (`silent`: a ping timeout, the server hung or the path to it is down)."""
        if stayed >= STAYED or silent:
            self._refused = REFUSED_FIRST
            return self.unreachable()
        return self.refused()
