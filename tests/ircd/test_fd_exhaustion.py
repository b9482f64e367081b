"""The server at its open files limit (resource-exhaustion audit, F1).

With every descriptor taken, accept() fails. CPython logs that with a traceback once
per slot of the listen queue and tries again a second later: at SOMAXCONN that was
thousands of tracebacks a second (60 MB of log in 10 s), and a loop too busy logging
to answer anyone. `ircd.faults.LoopFaults` makes it one line a minute.

The server runs under `prlimit --nofile=64:64`; connections come from 100 loopback
addresses (so that no per-address limit turns them away first) and stay open.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path

import pytest

from tests.ircd.conftest import LiveClient, LiveServer

pytestmark = pytest.mark.slow  # watches the server through its retries, in real time

FLOOD = 100
#: asyncio tries accept() again after a second: the window sees two retries or more.
WINDOW = 2.5
ACCEPT_FAILED = re.compile(r"out of system resource|Too many open files|cannot accept")


async def test_accept_failures_at_the_open_files_limit_are_one_line_and_pass(
    tmp_path: Path,
) -> None:
    server = LiveServer(
        tmp_path,
        "limits: {max_per_address: 0}\nthrottle: {per_address: 1000000}\n",
        max_files=64,
    )
    flood: list[asyncio.StreamWriter] = []
    try:
        alice = await (await LiveClient.connect(server.port)).register("alice")
        for i in range(FLOOD):
            _, writer = await asyncio.open_connection(
                "127.0.0.1", server.port, local_addr=(f"127.0.1.{i + 1}", 0)
            )
            flood.append(writer)
        await asyncio.to_thread(server.wait_for_log, "cannot accept connections", 15)
        # The loop still answers a client it has while accept() keeps failing.
        rounds = 0
        end = time.monotonic() + WINDOW
        while time.monotonic() < end:
            await alice.send(f"PING :r{rounds}")
            assert (await alice.expect("PONG")).params[-1] == f"r{rounds}"
            rounds += 1
        complaints = [line for line in server.log if ACCEPT_FAILED.search(line)]
        assert len(complaints) == 1, complaints[:5]
        assert "Too many open files" in complaints[0]
        assert not any("Traceback" in line for line in server.log)
        # Room again: a newcomer gets in, without a restart.
        for writer in flood:
            writer.close()
        flood.clear()
        bob = await (await LiveClient.connect(server.port)).register("bob")
        await bob.close()
        await alice.close()
    finally:
        for writer in flood:
            writer.close()
        server.kill()
