"""LIST of 1000 channels with 390-byte topics (~426 kB) from `python -m ircd` with the
default SendQ (256 KiB): time from LIST to 323 for a loopback reader and for a far one
(536-byte MSS, 4 KiB window: `test_safelist_live.far_socket`), or how much it got
before it was dropped. Run it, it prints. From another folder, the server it starts
(`python -m ircd`) is the first `ircd` on PYTHONPATH, e.g. a snapshot of another commit:

    REPO=$PWD; mkdir /tmp/before && git archive REV ircd | tar -x -C /tmp/before
    cd /tmp && PYTHONPATH=/tmp/before:$REPO $REPO/.venv/bin/python \
        $REPO/tests/ircd/bench_list.py before [runs]

Not a test: timings vary from machine to machine, so nothing is asserted.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from tests.ircd.conftest import LiveClient, LiveServer
from tests.ircd.test_safelist_live import far_socket

CHANNELS = 1000


async def fill(port: int) -> LiveClient:
    owner = await (await LiveClient.connect(port)).register("owner")
    for i in range(CHANNELS):
        await owner.send(f"JOIN #c{i:04d}", f"TOPIC #c{i:04d} :" + "t" * 390)
    for _ in range(CHANNELS):
        await owner.expect("TOPIC", timeout=60)
    return owner


async def one_list(port: int, far: bool, nick: str) -> tuple[int, float, bool]:
    """(bytes received, seconds to 323 or to the drop, dropped)."""
    if far:
        client = LiveClient(*await asyncio.open_connection(sock=await far_socket(port)))
    else:
        client = await LiveClient.connect(port)
    await client.register(nick)
    start = time.perf_counter()
    await client.send("LIST")
    size = 0
    while True:
        async with asyncio.timeout(60):
            raw = await client.reader.readline()
        if not raw:
            break
        size += len(raw)
        if b" 323 " in raw:
            break
    elapsed = time.perf_counter() - start
    await client.close()
    return size, elapsed, not raw


async def main(label: str, runs: int) -> None:
    limits = f"max_channels: {CHANNELS}, max_channels_per_client: {CHANNELS}"
    extra = f"limits: {{max_per_address: 0, flood_rate: 0, {limits}, "
    extra += f"max_channels_per_address: {CHANNELS}}}\n"
    server = LiveServer(Path(tempfile.mkdtemp()), extra)
    try:
        owner = await fill(server.port)
        for far in (False, True):
            for run in range(runs):
                size, elapsed, dropped = await one_list(server.port, far, f"a{int(far)}{run}")
                what = "dropped after" if dropped else "complete,"
                where = "far" if far else "loopback"
                print(f"{label} {where} run {run}: {what} {size} bytes, {elapsed * 1000:.1f} ms")
        await owner.close()
    finally:
        server.kill()


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(args[0] if args else "", int(args[1]) if len(args) > 1 else 3))
