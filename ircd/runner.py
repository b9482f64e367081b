"""Where the core's deferred work runs: the only place it meets asyncio.

A command that must wait (OPER's Argon2id check, a connection password, a SASL account
check) returns a coroutine. The server hands it to a `Runner` with a callback for when
it ends, just as it takes its clock and its `Scheduler`: the core itself has no event
loop in it, and a test may run continuations however it likes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

Pending = Coroutine[Any, Any, None]


class Job(Protocol):
    """A continuation in progress; `cancel()` stops it (its `done` is then never called)."""

    def cancel(self) -> Any: ...


class Runner(Protocol):
    """Runs continuations for the core."""

    def run(self, coro: Pending, done: Callable[[BaseException | None], None]) -> Job:
        """Start `coro`; call `done(None)` when it returns, `done(exc)` when it raises."""
        ...


class AsyncioRunner:
    """Each continuation is a task of the running loop, referenced until it ends."""

    def __init__(self) -> None:
        #: Tasks still running (at most one deferred command per client, plus ban writes).
        self.tasks: set[asyncio.Task[None]] = set()

    def run(self, coro: Pending, done: Callable[[BaseException | None], None]) -> Job:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)

        def finished(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            if not t.cancelled():
                done(t.exception())

        task.add_done_callback(finished)
        return task


def loop_scheduler() -> Any:
    """The running event loop, as a `Scheduler` (for a `Server` given none)."""
    return asyncio.get_running_loop()
