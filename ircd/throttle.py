"""Connection throttling of new, unknown clients, in the style of UnrealIRCd's connthrottle.

Known clients pass freely: those logged in to an account (SASL), those matching the
throttle exemption mask, and those whose IP address recently held a connection for at
least `known_after` seconds (a small, bounded stand-in for UnrealIRCd's reputation
database). Unknown clients share a token bucket of `new_users` per `period` seconds.
For `start_delay` seconds after start-up nothing is throttled, because after a restart
every client reconnects at once and no address is known yet.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

#: Addresses remembered as known; the least recently seen is forgotten first.
MAX_KNOWN_IPS: Final = 65_536


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """`new_users` unknown clients per `period` seconds may register."""

    new_users: int = 20
    period: float = 60.0
    known_after: float = 300.0
    start_delay: float = 180.0


class ConnThrottle:
    """The token bucket and the table of known addresses; time is passed in."""

    def __init__(self, config: ThrottleConfig, started: float) -> None:
        self.config = config
        self._started = started
        self._tokens = float(config.new_users)
        self._updated = started
        self._known: OrderedDict[str, None] = OrderedDict()
        self.refused = 0

    def is_known(self, ip: str) -> bool:
        if ip in self._known:
            self._known.move_to_end(ip)
            return True
        return False

    def remember(self, ip: str, connected_for: float) -> None:
        """Called when a connection ends: a long one makes its address known."""
        if connected_for < self.config.known_after:
            return
        self._known[ip] = None
        self._known.move_to_end(ip)
        while len(self._known) > MAX_KNOWN_IPS:
            self._known.popitem(last=False)

    def admit_unknown(self, now: float) -> bool:
        """Take a token for an unknown client; False means throttle it."""
        cfg = self.config
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(
            float(cfg.new_users), self._tokens + elapsed * cfg.new_users / cfg.period
        )
        if now - self._started < cfg.start_delay:
            return True
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        self.refused += 1
        return False
