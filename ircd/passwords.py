"""Argon2id password hashes for operators and connection passwords.

Only Argon2id hashes are accepted; plaintext never appears in config. Verification is
CPU-heavy on purpose, so `PasswordChecker` runs it in a worker thread and bounds how
many run at once: a burst of OPER attempts cannot starve the event loop or the pool.

Its queue serves sources (an IPv4 address, an IPv6 /64: `ircd.sources`) fairly, so that
many sources sending wrong passwords do not keep out the owner of the right one (hostile
review, finding 8): when a slot frees, the next check is the oldest one of the waiting
source that (1) owes the least penalty for recent failures (`FailurePenalties.owed`),
(2) whose network (IPv4 /24, IPv6 /48) owes the least, then (3) has waited longest for
its turn (a source's turn comes again only after every other waiting source's: round
robin). A failure costs its source and its network (`PasswordChecker.failed`); only
the source's penalty refuses checks, the network's only ranks. A source with no recent
failure in a network without one therefore waits only for the checks running and for
the first checks of other networks without a failure: at most one per slot per network
(they may run side by side before one fails), once per penalty, however many addresses
and connections the network has.
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
        #: Each waiting source's network.
        self._networks: dict[str, str] = {}
        self._counter = itertools.count()
        #: Checks started, since start (tests count them rather than seconds).
        self.started = 0
        # Checked when the oper name is unknown, so the reply takes as long as for a known
        # name and timing does not reveal which names exist. Made on first use.
        self._dummy_hash: str | None = None

    def failed(self, source: str, network: str = "") -> None:
        """Record a failed check: it costs `source` (whose checks the callers refuse
        past the grace) and ranks the rest of `network` behind networks without one."""
        if self._penalties is not None and self._clock is not None:
            now = self._clock()
            self._penalties.failed(source, now)
            if network:
                self._penalties.failed(_network_key(network), now)

    def waiting(self) -> int:
        """Checks waiting for a slot."""
        return sum(len(q) for q in self._queues.values())

    async def bounded(self, check: Awaitable[T], source: str = "", network: str = "") -> T:
        """Await another check (e.g. the embedder's SASL account check) under the same bound."""
        try:
            async with self._slot(source, network):
                return await check
        except asyncio.CancelledError:
            if inspect.iscoroutine(check):
                check.close()  # cancelled before its turn: never to be awaited
            raise

    async def verify(
        self, encoded: str | None, password: str, source: str = "", network: str = ""
    ) -> bool:
        """Return whether `password` matches; `encoded=None` burns the same time and fails.

        A mismatch with a `source` is recorded (`failed`) before the slot is handed on,
        so the next check chosen already ranks the source and its network behind."""
        async with self._slot(source, network):
            if encoded is None:
                if self._dummy_hash is None:
                    self._dummy_hash = await asyncio.to_thread(hash_password, secrets.token_hex(16))
                await asyncio.to_thread(verify_password, self._dummy_hash, password)
                ok = False
            else:
                ok = await asyncio.to_thread(verify_password, encoded, password)
            if not ok and source:
                self.failed(source, network)
            return ok

    @asynccontextmanager
    async def _slot(self, source: str, network: str) -> AsyncIterator[None]:
        if self._free > 0 and not self._queues:
            self._free -= 1
        else:
            granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if source not in self._queues:
                self._queues[source] = deque()
                self._turns[source] = next(self._counter)
                self._networks[source] = network
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
                del self._queues[source], self._turns[source], self._networks[source]
            if not granted.done():  # a cancelled one is skipped
                granted.set_result(None)
                return
        self._free += 1

    def _rank(self, source: str) -> tuple[float, float, int]:
        owed = network_owed = 0.0
        if self._penalties is not None and self._clock is not None:
            now, network = self._clock(), self._networks[source]
            owed = self._penalties.owed(source, now)
            network_owed = self._penalties.owed(_network_key(network), now) if network else 0.0
        return owed, network_owed, self._turns[source]

    def _forget(self, source: str, granted: asyncio.Future[None]) -> None:
        queue = self._queues.get(source)
        if queue is not None and granted in queue:
            queue.remove(granted)
            if not queue:
                del self._queues[source], self._turns[source], self._networks[source]


def _network_key(network: str) -> str:
    """A network's key in the penalty table, apart from its sources'."""
    return f"network:{network}"
