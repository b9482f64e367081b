"""The bounded shutdown steps (gateway/shutdown.py) against work that will not end."""

from __future__ import annotations

import asyncio
import logging

from gateway.shutdown import Shutdown, settle


class Stubborn:
    """Work that swallows cancellation (as Python 3.11's wait_for can) until released.

    It gives in at the second cancellation, so that a failing test cannot leave it
    holding the event loop's teardown.
    """

    def __init__(self) -> None:
        self.released = asyncio.Event()
        self.cancels = 0

    async def run(self) -> None:
        while not self.released.is_set():
            try:
                await self.released.wait()
            except asyncio.CancelledError:
                self.cancels += 1  # swallowed
                if self.cancels > 1:
                    raise


async def test_settle_abandons_work_that_swallows_its_cancellation(caplog) -> None:
    stubborn = Stubborn()
    task = asyncio.ensure_future(stubborn.run())
    caplog.set_level(logging.WARNING, "gateway.shutdown")
    assert await settle("the stubborn link", (task,), 0.01) is False
    await asyncio.sleep(0)  # the task sees its cancellation
    assert stubborn.cancels == 1 and not task.done()  # asked once, then left behind
    assert "the stubborn link did not end within 0.0 s; abandoned" in caplog.text
    stubborn.released.set()
    await task


async def test_settle_waits_for_work_that_ends_and_logs_its_errors(caplog) -> None:
    async def fails() -> None:
        raise OSError("the TNC went away")

    ended = asyncio.Event()

    async def ends() -> None:
        await asyncio.sleep(0)
        ended.set()

    assert await settle("two steps", (fails(), ends()), 5.0) is True
    assert ended.is_set()
    assert "two steps failed: the TNC went away" in caplog.text
    assert await settle("nothing", (), 0.0) is True


async def test_a_step_gets_its_share_of_the_budget(caplog) -> None:
    shutdown = Shutdown(0.2, clock=lambda: 100.0)  # a stall here must not eat the budget
    stubborn = Stubborn()
    task = asyncio.ensure_future(stubborn.run())
    assert await shutdown.step("the stubborn link", task, 0.25) is False
    assert "the stubborn link did not end within 0.1 s; abandoned" in caplog.text  # 0.05
    assert shutdown.abandoned == ["the stubborn link"]
    stubborn.released.set()
    await task


async def test_no_step_runs_past_the_deadline() -> None:
    now = [100.0]
    shutdown = Shutdown(20.0, clock=lambda: now[0])
    assert shutdown.remaining() == 20.0
    now[0] += 19.5  # the first steps took nearly everything
    assert shutdown.remaining() == 0.5
    now[0] += 1.0
    stubborn = Stubborn()
    task = asyncio.ensure_future(stubborn.run())
    # Its share would be 10 s; nothing is left, so it is abandoned at once.
    assert await shutdown.step("the store", task, 0.5) is False
    assert shutdown.abandoned == ["the store"]
    stubborn.released.set()
    await task
