"""The event loop's accept() failures, paced (`ircd.faults.LoopFaults`)."""

from __future__ import annotations

import asyncio
import errno
import logging
from typing import Any

import pytest

from ircd.faults import ACCEPT_FAILED, PERIOD, LoopFaults


class Loop:
    """What LoopFaults asks of a loop: its default handler, recorded."""

    def __init__(self) -> None:
        self.defaulted: list[dict[str, Any]] = []

    def default_exception_handler(self, context: dict[str, Any]) -> None:
        self.defaulted.append(context)


def accept_failed() -> dict[str, Any]:
    return {"message": ACCEPT_FAILED, "exception": OSError(errno.EMFILE, "Too many open files")}


def test_accept_failures_are_one_line_a_period_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    faults, loop = LoopFaults(lambda: now[0]), Loop()
    with caplog.at_level(logging.ERROR, logger="ircd"):
        for _ in range(4096):
            faults(loop, accept_failed())  # type: ignore[arg-type]
        now[0] += PERIOD
        faults(loop, accept_failed())  # type: ignore[arg-type]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and not any(r.exc_info for r in caplog.records)
    assert lines[0].startswith("cannot accept connections: Too many open files;")
    assert "(4095 more times since the last)" in lines[1]
    assert loop.defaulted == []


def test_other_loop_errors_go_to_asyncios_handler() -> None:
    faults, loop = LoopFaults(lambda: 0.0), Loop()
    context = {"message": "Task exception was never retrieved"}
    faults(loop, context)  # type: ignore[arg-type]
    assert loop.defaulted == [context]


async def test_installed_once_and_never_over_a_handler_of_its_own() -> None:
    from ircd.faults import pace_loop_faults

    loop = asyncio.get_running_loop()
    pace_loop_faults(loop)
    mine = loop.get_exception_handler()
    assert isinstance(mine, LoopFaults)
    pace_loop_faults(loop)
    assert loop.get_exception_handler() is mine
    loop.set_exception_handler(None)
