"""The store watcher survives store errors (a revocation must still be noticed)."""

from __future__ import annotations

import asyncio
import sqlite3

from gateway import app as app_module
from gateway.app import Gateway
from gateway.config import Config


class FlakyStore:
    """Fails the first `failing` calls, then answers every data_version query."""

    def __init__(self, failing: int) -> None:
        self.failing = failing
        self.calls = 0
        self.answered = asyncio.Event()

    async def call(self, fn, *args):
        self.calls += 1
        if self.calls <= self.failing:
            raise sqlite3.OperationalError("database is locked")
        if getattr(fn, "__name__", "") == "data_version":
            self.answered.set()
            return 1
        return None


async def test_the_watch_goes_on_after_store_errors(monkeypatch, caplog, tmp_path) -> None:
    monkeypatch.setattr(app_module, "WATCH_INTERVAL", 0.01)
    # A store failing for long (a disk full) is told at once, then now and then.
    monkeypatch.setattr(app_module, "WATCH_FAILURES_LOGGED", 4)
    gateway = Gateway(Config(data_dir=tmp_path / "data"))
    store = FlakyStore(9)
    gateway.store = store  # type: ignore[assignment]
    task = asyncio.create_task(gateway._watch_store())
    try:
        async with asyncio.timeout(5):
            await store.answered.wait()
    finally:
        task.cancel()
    failed = [r.getMessage() for r in caplog.records if "store watch failed" in r.getMessage()]
    assert len(failed) == 3  # the 1st, 4th and 8th of 9
    assert "failed (trying" in failed[0] and "failed 8 times in a row" in failed[2]
    assert "store watch works again, after 9 failures" in caplog.text
