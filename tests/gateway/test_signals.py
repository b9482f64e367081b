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


async def test_a_reload_asked_for_while_starting_runs_once_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = Gateway(Config(data_dir=tmp_path / "data"))
    starting, go = asyncio.Event(), asyncio.Event()
    done: list[str] = []

    async def start() -> None:
        starting.set()
        await go.wait()
        done.append("started")

    async def reload() -> str:
        done.append("reload")
        return "reloaded"

    async def apply_transmit() -> None:
        done.append("transmit")

    async def stop() -> None:
        done.append("stopped")

    monkeypatch.setattr(gateway, "start", start)
    monkeypatch.setattr(gateway, "reload", reload)
    monkeypatch.setattr(gateway, "apply_transmit", apply_transmit)
    monkeypatch.setattr(gateway, "stop", stop)
    loop = asyncio.get_running_loop()
    run = asyncio.create_task(gateway.run())
    try:
        async with asyncio.timeout(10):
            await starting.wait()
            await signals(loop, signal.SIGHUP, signal.SIGHUP, signal.SIGUSR1)
            assert done == []
            go.set()
            await until(lambda: len(done) == 3)
            assert done == ["started", "reload", "transmit"]  # each once, after the start
            await signals(loop, signal.SIGHUP)  # once started: at once
            await until(lambda: len(done) == 4)
            assert done[3] == "reload"
            gateway.request_stop()
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
    gateway = Gateway(Config(data_dir=tmp_path / "data"))
    starting, go, stopping, end = (asyncio.Event() for _ in range(4))
    done: list[str] = []

    async def start() -> None:
        starting.set()
        await go.wait()

    async def reload() -> str:
        done.append("reload")
        return "reloaded"

    async def stop() -> None:
        stopping.set()
        await end.wait()
        done.append("stopped")

    monkeypatch.setattr(gateway, "start", start)
    monkeypatch.setattr(gateway, "reload", reload)
    monkeypatch.setattr(gateway, "stop", stop)
    loop = asyncio.get_running_loop()
    run = asyncio.create_task(gateway.run())
    try:
        async with asyncio.timeout(10):
            await starting.wait()
            await signals(loop, signal.SIGHUP, signal.SIGTERM)
            go.set()
            await stopping.wait()
            await signals(loop, signal.SIGHUP, signal.SIGUSR1)  # this process lives on
            end.set()
            await run
    finally:
        run.cancel()
    assert done == ["stopped"]
    assert loop.remove_signal_handler(signal.SIGHUP) is False  # all given back after
