"""The service nick's notices on a network, waiting for its flood limit, sans IO.

On an external network the service's client is not flood-exempt: past the network's
limit it is disconnected, so each notice takes a token of the service's bucket
(budget.py). A notice over the limit waits here, first in first out, until a token is
due; it is dropped only when the queue is full. Answers go before word nobody is
waiting for (the expiry of mail), each kind in the order it came, so that a prune's
burst of expiries does not hold up the answer to someone asking now. The caller
(service.py) sends what `due` returns and wakes again at the time it gives.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from gateway.bridge.budget import TokenBucket

#: Notices waiting at most, in all: at the bucket's rate about twenty minutes of them,
#: room for a prune's word of expired mail (mail kept for passing on is itself bounded
#: at 1000: relaystore.OUT_MAX); past it, dropped.
QUEUE_MAX = 1000
#: Notices waiting at most for one nick, so that one nick cannot fill the queue for
#: everyone else: a request gets one answer and each host's requests are budgeted
#: (service.py), but word of expiry (one per message, from here or from another
#: gateway) for a nick that left much mail is not. Past it, that nick's are dropped.
TARGET_MAX = 20

Notice = tuple[str, str]


class NoticeQueue:
    """Notices (target, text) waiting for tokens of `bucket`."""

    def __init__(
        self,
        bucket: TokenBucket,
        fold: Callable[[str], str],
        *,
        limit: int = QUEUE_MAX,
        per_target: int = TARGET_MAX,
    ) -> None:
        self._bucket = bucket
        self._fold = fold
        self._limit = limit
        self._per_target = per_target
        self._answers: deque[Notice] = deque()
        #: Word nobody is waiting for: sent once no answer waits.
        self._later: deque[Notice] = deque()
        #: Folded target -> its notices waiting (none kept at 0: bounded by `limit`).
        self._waiting: dict[str, int] = {}
        #: Notices dropped for a full queue, since the start.
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._answers) + len(self._later)

    def push(self, target: str, text: str, *, later: bool = False, once: bool = False) -> bool:
        """Queue a notice (`later`: after the answers; `once`: not again while the same
        one waits); False if it is dropped (the queue, or the target's share of it, is
        full). No token is taken here: `due`."""
        lane = self._later if later else self._answers
        if once and (target, text) in lane:
            return True  # bounded: the lane is at most `limit` long
        key = self._fold(target)
        if len(self) >= self._limit or self._waiting.get(key, 0) >= self._per_target:
            self.dropped += 1
            return False
        self._waiting[key] = self._waiting.get(key, 0) + 1
        lane.append((target, text))
        return True

    def due(self, now: float) -> tuple[list[Notice], float | None]:
        """The notices to send at `now` (a token taken for each), and when the next is
        due (None: nothing waits)."""
        sent: list[Notice] = []
        while (lane := self._answers or self._later) and self._bucket.take(now):
            target, text = lane.popleft()
            key = self._fold(target)
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
            sent.append((target, text))
        return sent, (now + self._bucket.wait(now) if self else None)
