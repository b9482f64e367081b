"""Waiting for a line that a real IRC client (irssi, WeeChat) writes to one of its log files.

The clients offer no event to await from the test, so the file is polled with short sleeps
inside a timeout; on a timeout the caller adds what it knows (screen, raw protocol, ...).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path


async def wait_for_line(
    file: Path,
    pattern: str,
    *,
    timeout: float,
    since: int = 0,
    explain: Callable[[str], str] = lambda text: f"log:\n{text[-3000:]}",
) -> str:
    """Wait until `file` holds a line matching `pattern` after byte `since`; return what it
    holds from there up to the end of that line. On a timeout, the AssertionError says
    `explain(what the file held)`."""
    deadline = time.monotonic() + timeout
    while True:
        text = file.read_bytes()[since:].decode(errors="replace") if file.exists() else ""
        if found := re.search(pattern, text):
            end = text.find("\n", found.end())
            return text if end < 0 else text[: end + 1]
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no line matching {pattern!r} in {file} in {timeout} s.\n{explain(text)}"
            )
        await asyncio.sleep(0.05)


def size(file: Path) -> int:
    """How much `file` holds now: `wait_for_line(..., since=size(file))` reads what follows."""
    return file.stat().st_size if file.exists() else 0
