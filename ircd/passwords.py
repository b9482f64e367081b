"""Argon2id password hashes for operators and connection passwords.

Only Argon2id hashes are accepted; plaintext never appears in config. Verification is
CPU-heavy on purpose, so `PasswordChecker` runs it in a worker thread and bounds how
many run at once: a burst of OPER attempts cannot starve the event loop or the pool.

Its queue serves sources (an IPv4 address, an IPv6 /64: `ircd.sources`) fairly, so that
many sources sending wrong passwords do not keep out the owner of the right one (hostile
review, finding 8): when a slot frees, the next check is the oldest one of the waiting
source that (1) owes the least penalty for recent failures (`FailurePenalties.owed`),
then (2) has waited longest for its turn (a source's turn comes again only after every
other waiting source's: round robin). A source with no recent failure therefore waits
only for the checks running and for the first checks of other sources without a
failure; each source has that once per penalty, however many connections it opens.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import secrets
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

if TYPE_CHECKING:
    from ircd.sources import FailurePenalties

T = TypeVar("T")

#: What `python -m ircd hash-password` prints starts with this.
ARGON2ID_PREFIX = "$argon2id$"


def hash_password(password: str) -> str:
    """Return an Argon2id hash of `password` with argon2-cffi's default (RFC 9106) parameters."""
    return argon2.PasswordHasher(type=argon2.Type.ID).hash(password)


def check_hash_format(encoded: str) -> str | None:
    """Return None if `encoded` is a well-formed Argon2id hash, else what is wrong with it."""
    if not encoded.startswith(ARGON2ID_PREFIX):
        return "is not an Argon2id hash (it must start with $argon2id$)"
    try:
        argon2.extract_parameters(encoded)
    except InvalidHashError:
        return "is not a well-formed Argon2id hash"
    return None


def verify_password(encoded: str, password: str) -> bool:
    """Check `password` against an Argon2id hash in constant time (argon2 compares digests)."""
    try:
        return argon2.PasswordHasher(type=argon2.Type.ID).verify(encoded, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class PasswordChecker:
    """Runs `verify_password` off the event loop, at most `max_concurrent` at a time,
    serving the waiting sources fairly (see the module's docstring).

    `penalties` (read, never written: the callers record failures) ranks the sources;
    without it every source ranks alike and the queue is a round robin. The queue holds
    one entry per waiting check, and each caller (a client's command) waits for one
    check at a time, so it is bounded by the number of connections.
    """

    def __init__(
        self,
        max_concurrent: int = 2,
        penalties: FailurePenalties | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._free = max_concurrent
        self._penalties = penalties
        self._clock = clock
        #: Waiting checks per source, oldest first; a source is here while it has one.
        self._queues: dict[str, deque[asyncio.Future[None]]] = {}
        #: Each waiting source's place in the round robin (lower: served sooner).
        self._turns: dict[str, int] = {}
        self._counter = itertools.count()
        #: Checks started, since start (tests count them rather than seconds).
        self.started = 0
        # Checked when the oper name is unknown, so the reply takes as long as for a known
        # name and timing does not reveal which names exist. Made on first use.
        self._dummy_hash: str | None = None

    def waiting(self) -> int:
        """Checks waiting for a slot."""
        return sum(len(q) for q in self._queues.values())

    async def bounded(self, check: Awaitable[T], source: str = "") -> T:
        """Await another check (e.g. the embedder's SASL account check) under the same bound."""
        try:
            async with self._slot(source):
                return await check
        except asyncio.CancelledError:
            if inspect.iscoroutine(check):
                check.close()  # cancelled before its turn: never to be awaited
            raise

    async def verify(self, encoded: str | None, password: str, source: str = "") -> bool:
        """Return whether `password` matches; `encoded=None` burns the same time and fails."""
        async with self._slot(source):
            if encoded is None:
                if self._dummy_hash is None:
                    self._dummy_hash = await asyncio.to_thread(hash_password, secrets.token_hex(16))
                await asyncio.to_thread(verify_password, self._dummy_hash, password)
                return False
            return await asyncio.to_thread(verify_password, encoded, password)

    @asynccontextmanager
    async def _slot(self, source: str) -> AsyncIterator[None]:
        if self._free > 0 and not self._queues:
            self._free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if source not in self._queues:
                self._queues[source] = deque()
                self._turns[source] = next(self._counter)
            self._queues[source].append(granted)
            try:
                await granted
            except asyncio.CancelledError:
                if granted.done() and not granted.cancelled():
                    self._release()  # handed a slot, then cancelled before using it
                else:
                    self._forget(source, granted)
                raise
        self.started += 1
        try:
            yield
        finally:
            self._release()

    def _release(self) -> None:
        """Hand the freed slot to the next waiting check, or keep it free."""
        while self._queues:
            source = min(self._turns, key=self._rank)
            queue = self._queues[source]
            granted = queue.popleft()
            if queue:
                self._turns[source] = next(self._counter)  # to the end of the round
            else:
                del self._queues[source], self._turns[source]
            if not granted.done():  # a cancelled one is skipped
                granted.set_result(None)
                return
        self._free += 1

    def _rank(self, source: str) -> tuple[float, int]:
        owed = 0.0
        if self._penalties is not None and self._clock is not None:
            owed = self._penalties.owed(source, self._clock())
        return owed, self._turns[source]

    def _forget(self, source: str, granted: asyncio.Future[None]) -> None:
        queue = self._queues.get(source)
        if queue is not None and granted in queue:
            queue.remove(granted)
            if not queue:
                del self._queues[source], self._turns[source]
