"""A stop that always ends: every step of the shutdown bounded, and the whole as well.

Cancellation alone cannot bound a step. A coroutine awaited inside `asyncio.timeout` is
only asked to stop; one that swallows the CancelledError (Python 3.11's `wait_for` does
when its inner future completes in the same loop pass, and aiomqtt awaits through it)
keeps the awaiting task alive for good. So each step runs as a task of its own, and once
its time is up the step is cancelled and left behind, never awaited again, and the log
says what was abandoned. The process-wide last resort (a watchdog thread that ends the
process if even the loop is stuck) lives in the CLI, the one place allowed to exit.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger("gateway.shutdown")


async def settle(what: str, work: Iterable[Awaitable[object]], seconds: float) -> bool:
    """Wait at most `seconds` for `work`; cancel and abandon what is left. True if all ended.

    Errors of the work that ended are logged, not raised: a shutdown goes on past them.
    """
    tasks = [asyncio.ensure_future(w) for w in work]
    if not tasks:
        return True
    try:
        done, pending = await asyncio.wait(tasks, timeout=max(seconds, 0.0))
    except asyncio.CancelledError:  # the caller is stopped: so is its work
        for task in tasks:
            task.cancel()
        raise
    for task in pending:
        task.cancel()
        # Never awaited again: its end, whenever it comes, is read here, not lost.
        task.add_done_callback(_forget)
    for task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("shutdown: %s failed: %s", what, exc, exc_info=exc)
    if pending:
        log.warning("shutdown: %s did not end within %.1f s; abandoned", what, seconds)
    return not pending


def _forget(task: asyncio.Future[object]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.debug("an abandoned shutdown step ended with %r", exc)


class Shutdown:
    """The steps of one shutdown, each with its share of a total budget in seconds.

    The shares add up to at most 1, so the steps together never exceed the budget; a
    step that ends early leaves its time unused rather than lending it to the next,
    which keeps every step's bound known in advance (and stated in the log).
    """

    def __init__(self, budget: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.budget = budget
        self._clock = clock
        self._deadline = clock() + budget
        self.abandoned: list[str] = []

    def remaining(self) -> float:
        return max(self._deadline - self._clock(), 0.0)

    def bound(self, share: float) -> float:
        """The seconds a step with `share` of the budget may take now."""
        return min(share * self.budget, self.remaining())

    async def step(self, what: str, work: Awaitable[object], share: float) -> bool:
        """Run one step for at most `share` of the budget (and never past the deadline)."""
        ended = await settle(what, (work,), self.bound(share))
        if not ended:
            self.abandoned.append(what)
        return ended
