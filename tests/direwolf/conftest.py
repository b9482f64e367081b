"""Fixtures for tests against two real Dire Wolf instances."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.direwolf.rig import DireWolfRig, available


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[DireWolfRig]:
    reason = available()
    if reason is not None:
        pytest.skip(reason)
    rig = DireWolfRig(tmp_path)
    await rig.start()
    try:
        yield rig
    finally:
        await rig.stop()
