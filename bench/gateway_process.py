"""The real `gateway` as a subprocess, its CLI, enrollment and free ports: shared by the
benchmarks and the integration tests (through tests/gateway/support.py); bench/ imports
nothing from tests/."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyotp

from bench.ports import free_port

__all__ = ["free_port"]  # the place tests and benchmarks have always taken it from

TIMEOUT = 20.0


class GatewayProcess:
    """`python -m gateway --config FILE run`, with its log collected line by line."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.proc: asyncio.subprocess.Process | None = None
        self.log: list[str] = []
        self._new_line = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "--config", str(self.config), "run",
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())
        await self.wait_log(r"gateway running")

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        while line := await self.proc.stderr.readline():
            self.log.append(line.decode(errors="replace").rstrip())
            self._new_line.set()
        self._new_line.set()  # EOF: wake waiters so they can see the exit

    async def wait_log(self, pattern: str, start: int = 0) -> str:
        """Wait for a log line matching `pattern` (searching from line `start`)."""
        regex = re.compile(pattern)
        async with asyncio.timeout(TIMEOUT):
            while True:
                for line in self.log[start:]:
                    if regex.search(line):
                        return line
                if self._reader is not None and self._reader.done():
                    raise AssertionError("gateway exited; log:\n" + "\n".join(self.log))
                self._new_line.clear()
                await self._new_line.wait()

    async def stop(self, within: float = TIMEOUT) -> int:
        """SIGTERM and wait up to `within` seconds; SIGKILL (-9) if it does not stop."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        return await self.exited(within)

    async def exited(self, within: float = TIMEOUT) -> int:
        """Wait up to `within` seconds for the process to end by itself; -9 if killed then."""
        assert self.proc is not None
        try:
            async with asyncio.timeout(within):
                code = await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        if self._reader is not None:
            with contextlib.suppress(Exception):
                await self._reader
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)


def run_cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def enroll(config: Path, callsign: str, step_offset: int = -1, *extra: str) -> pyotp.TOTP:
    """Enroll through the real CLI, answering with the code computed from the printed URI.

    The confirming code is the previous step's (still inside the window), so the
    current and next steps' codes remain unused for the test to log in with.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway", "--config", str(config), "enroll", callsign, *extra],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdin is not None
        uri = ""
        for line in proc.stdout:
            if line.startswith("otpauth://"):
                uri = line.strip()
                break
        totp = pyotp.parse_uri(uri)
        assert isinstance(totp, pyotp.TOTP)
        # A step boundary between this code and the CLI's check would make it two steps
        # old (refused) on a busy machine: with under 2 s of the step left, wait it out.
        # Codes are good a step either side, so the current and next steps' codes stay
        # good for at least 30 s after: the tests need no more margin than that.
        left = 30 - time.time() % 30
        if left < 2:
            time.sleep(left + 0.1)
        out, err = proc.communicate(totp.at(time.time() + 30 * step_offset) + "\n", timeout=30)
        assert proc.returncode == 0, (out, err)
        assert "is enrolled" in out
        return totp
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
