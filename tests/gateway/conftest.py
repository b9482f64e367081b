"""Fixtures for integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.gateway.support import GatewayProcess


@pytest.fixture
async def spawn_gateway() -> AsyncIterator[Callable[[Path], GatewayProcess]]:
    procs: list[GatewayProcess] = []

    def make(config: Path) -> GatewayProcess:
        proc = GatewayProcess(config)
        procs.append(proc)
        return proc

    try:
        yield make
    finally:
        for proc in procs:
            proc.kill()
            if proc.proc is not None:
                await proc.proc.wait()
