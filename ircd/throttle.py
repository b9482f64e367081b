"""Connection throttling of new, unknown clients, in the style of UnrealIRCd's connthrottle.

Known clients pass freely: those logged in to an account (SASL), those matching the
throttle exemption mask, and those whose IP address recently held a connection for at
least `known_after` seconds (a small, bounded stand-in for UnrealIRCd's reputation
database). Unknown clients share a token bucket of `new_users` per `period` seconds.
For `start_delay` seconds after start-up nothing is throttled, because after a restart
every client reconnects at once and no address is known yet.

Apart from that, each source (an IPv4 address, an IPv6 /64) has a bucket of its own for
connection attempts, `per_address` per `per_address_period` seconds, taken when the
socket is accepted, from the start (hostile review, finding 6: one address opened 3000
connections in 1.3 s, each writing log lines before registering). The default, 20 at
once then one a second, is above `limits.max_per_address` (16 at once), so a club behind
one NAT reconnects at once after a restart. Known addresses and the throttle exemption
pass; the embedder's in-process clients never connect through a socket.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Final

#: Addresses remembered as known; the least recently seen is forgotten first.
MAX_KNOWN_IPS: Final = 65_536
#: Sources whose connection bucket is remembered; the least recently used is forgotten
#: first (its bucket is the one most likely full again).
MAX_RATED_SOURCES: Final = 65_536


@dataclass(frozen=True, slots=True)
class ThrottleConfig:
    """`new_users` unknown clients per `period` seconds may register."""

    new_users: int = 20
    period: float = 60.0
    known_after: float = 300.0
    start_delay: float = 180.0
    #: Connection attempts one source may make per `per_address_period` seconds (burst).
    per_address: int = 20
    per_address_period: float = 20.0


class ConnThrottle:
    """The token bucket and the table of known addresses; time is passed in."""

    def __init__(self, config: ThrottleConfig, started: float) -> None:
        self.config = config
        self._started = started
        self._tokens = float(config.new_users)
        self._updated = started
        self._known: OrderedDict[str, None] = OrderedDict()
        self.refused = 0
        #: Connection attempts per source (`per_address` per `per_address_period`).
        self.rate = ConnectionRate(config.per_address, config.per_address_period)

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


class ConnectionRate:
    """A token bucket of connection attempts per source, in a bounded table."""

    def __init__(self, burst: int, period: float, max_sources: int = MAX_RATED_SOURCES) -> None:
        self.burst = burst
        self.period = period
        self.max_sources = max_sources
        #: Source -> (tokens, when counted); only sources that took a token lately.
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.refused = 0

    def admit(self, source: str, now: float) -> bool:
        """Take a token for a connection from `source`; False means refuse it."""
        tokens, then = self._buckets.pop(source, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - then) * self.burst / self.period)
        admitted = tokens >= 1.0
        if admitted:
            tokens -= 1.0
        else:
            self.refused += 1
        self._buckets[source] = (tokens, now)
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        return admitted

    def __len__(self) -> int:
        return len(self._buckets)
