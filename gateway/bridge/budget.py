"""Token buckets for the service nick on a network, sans IO (the clock is passed in).

The service's client is not flood-exempt on a network: past the server's limit it is
disconnected, so everything it sends (notices, mail passed on, acks, USERHOST polls)
draws on one `TokenBucket`. Answers to people come first: the mail relay draws only
above a reserve (forward.py), so a queue of mail to pass on never eats an answer. And
so that one IRC user cannot take the whole bucket, each sender has a small bucket of
its own (`SenderBudget`, keyed by the host the network shows, least recently used
evicted): a request costs the same whatever it asks, whether or not the callsign is
enrolled here, so the answers do not tell.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

#: Senders remembered at once; the least recently seen is forgotten (a fresh budget).
SENDERS_MAX = 1024


class TokenBucket:
    """`burst` tokens, refilled at `rate` a second."""

    def __init__(self, burst: float, rate: float, now: float) -> None:
        self.burst = burst
        self.rate = rate
        self._tokens = burst
        self._at = now

    def level(self, now: float) -> float:
        self._tokens = min(self.burst, self._tokens + max(0.0, now - self._at) * self.rate)
        self._at = now
        return self._tokens

    def take(self, now: float, reserve: float = 0.0) -> bool:
        """One token, if more than `reserve` are left after it."""
        if self.level(now) < 1 + reserve:
            return False
        self._tokens -= 1
        return True

    def wait(self, now: float, reserve: float = 0.0) -> float:
        """Seconds until `take(reserve)` can succeed."""
        return max(0.0, (1 + reserve - self.level(now)) / self.rate)


@dataclass(slots=True)
class _Sender:
    bucket: TokenBucket
    #: Told once that it is over its budget, until the budget comes back.
    told: bool = False


class SenderBudget:
    """Each sender's own bucket: `burst` requests, then one per `every` seconds."""

    def __init__(self, burst: int, every: float, limit: int = SENDERS_MAX) -> None:
        self._burst = burst
        self._rate = 1.0 / every
        self._limit = limit
        self._senders: OrderedDict[str, _Sender] = OrderedDict()

    def charge(self, key: str, now: float) -> str:
        """What to do: "ok" (go on), "tell" (over budget: say so, once) or "quiet"."""
        sender = self._senders.pop(key, None)
        if sender is None:
            sender = _Sender(TokenBucket(self._burst, self._rate, now))
        self._senders[key] = sender  # the most recently seen last
        while len(self._senders) > self._limit:
            self._senders.popitem(last=False)
        if sender.bucket.take(now):
            sender.told = False
            return "ok"
        if sender.told:
            return "quiet"
        sender.told = True
        return "tell"

    def __len__(self) -> int:
        return len(self._senders)
