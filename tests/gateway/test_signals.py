"""Signals that come while the gateway starts wait for the start (the default action of
SIGHUP kills: a `systemctl reload` right after the start did)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.app import Gateway
from gateway.config import Config


async def signals(loop: asyncio.AbstractEventLoop, *sigs: signal.Signals) -> None:
    """Send `sigs` to this process (the handlers are the gateway's), and return once the
    loop has handled them: signals are handled in the order they came, and SIGUSR2,
    sent last, is ours."""
    handled = asyncio.Event()
    loop.add_signal_handler(signal.SIGUSR2, handled.set)
    try:
        for sig in (*sigs, signal.SIGUSR2):
            os.kill(os.getpid(), sig)
        await handled.wait()
    finally:
        loop.remove_signal_handler(signal.SIGUSR2)


async def until(done: Callable[[], bool]) -> None:
    while not done():
        await asyncio.sleep(0)


class Staged:
    """A Gateway whose start and stop wait for the test (`go`, `end`), and whose reload
    and transmitter switch only record that they ran (`done`)."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.gateway = Gateway(Config(data_dir=tmp_path / "data"))
        self.starting, self.go, self.stopping, self.end = (asyncio.Event() for _ in range(4))
        self.done: list[str] = []
        for name in ("start", "reload", "apply_transmit", "stop"):
            monkeypatch.setattr(self.gateway, name, getattr(self, f"_{name}"))

    async def _start(self) -> None:
        self.starting.set()
        await self.go.wait()
        self.done.append("started")

    async def _reload(self) -> str:
        self.done.append("reload")
        return "reloaded"

    async def _apply_transmit(self) -> None:
        self.done.append("transmit")

    async def _stop(self) -> None:
        self.stopping.set()
        await self.end.wait()
        self.done.append("stopped")


async def test_a_reload_asked_for_while_starting_runs_once_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = Staged(tmp_path, monkeypatch)
    staged.end.set()  # the stop ends at once
    done = staged.done
    loop = asyncio.get_running_loop()
    run = asyncio.create_task(staged.gateway.run())
    try:
        async with asyncio.timeout(10):
            await staged.starting.wait()
            await signals(loop, signal.SIGHUP, signal.SIGHUP, signal.SIGUSR1)
            assert done == []
            staged.go.set()
            await until(lambda: len(done) == 3)
            assert done == ["started", "reload", "transmit"]  # each once, after the start
            await signals(loop, signal.SIGHUP)  # once started: at once
            await until(lambda: len(done) == 4)
            assert done[3] == "reload"
            staged.gateway.request_stop()
            await run
    finally:
        run.cancel()
    assert done[-1] == "stopped"


async def test_while_stopping_a_reload_is_ignored_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stop and a reload both asked for while starting: the reload is not run into
    # the stop. A SIGHUP or SIGUSR1 during the stop is ignored, where its default
    # action ended the process half-way (review of the session's change, L1 and L2).
    staged = Staged(tmp_path, monkeypatch)
    loop = asyncio.get_running_loop()
    run = asyncio.create_task(staged.gateway.run())
    try:
        async with asyncio.timeout(10):
            await staged.starting.wait()
            await signals(loop, signal.SIGHUP, signal.SIGTERM)
            staged.go.set()
            await staged.stopping.wait()
            await signals(loop, signal.SIGHUP, signal.SIGUSR1)  # this process lives on
            staged.end.set()
            await run
    finally:
        run.cancel()
    assert staged.done == ["started", "stopped"]  # no reload, no transmitter switch
    assert loop.remove_signal_handler(signal.SIGHUP) is False  # all given back after
