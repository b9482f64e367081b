"""Fixtures shared by the irssi tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.irssi.test_irssi import Irssi


@pytest.fixture
async def irssi(tmp_path: Path) -> AsyncIterator[Irssi]:
    """irssi in its own tmux server and home under `tmp_path`; both killed by PID after."""
    home = tmp_path / "irssi"
    home.mkdir()
    client = Irssi(home)
    try:
        yield client
    finally:
        client.kill()
