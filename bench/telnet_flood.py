"""IRC PING latency of `gateway run` while telnet connections flood it with junk.

Starts the real gateway, then for 0, 1 and 19 flooding connections (each sending
64 KiB blocks of junk without line ends to the BPQ listener as fast as the socket
takes them) measures the round trip of 200 PINGs from an IRC client. Before the
scanning line reader and the per-connection input budget, one flooder raised the
PING time from 0.9 ms to 70-125 ms, and 19 to 3 s (issue 12).

    .venv/bin/python bench/telnet_flood.py [--pings 200]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway_process import GatewayProcess, free_port

JUNK = bytes(range(32, 127)) * 690  # ~64 KiB, printable, no line end


async def flood(port: int, stop: asyncio.Event) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while not stop.is_set():
            writer.write(JUNK)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def ping_times(irc_port: int, count: int) -> list[float]:
    reader, writer = await asyncio.open_connection("127.0.0.1", irc_port)
    writer.write(b"NICK bench\r\nUSER bench 0 * :bench\r\n")
    while b" 001 " not in await reader.readline():
        pass
    times = []
    for i in range(count):
        start = time.perf_counter()
        writer.write(f"PING :t{i}\r\n".encode())
        while f"t{i}".encode() not in await reader.readline():
            pass
        times.append((time.perf_counter() - start) * 1000)
    writer.close()
    return times


async def main(pings: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        bpq, irc_port = free_port(), free_port()
        config = Path(tmp) / "gateway.yaml"
        config.write_text(
            f"data_dir: {tmp}/data\n"
            f"irc: {{listen: [{{host: 127.0.0.1, port: {irc_port}}}],"
            " limits: {flood_rate: 0}}\n"
            f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq},"
            " max_connections: 40, max_unauthenticated: 40}]}\n"
        )
        gw = GatewayProcess(config)
        await gw.start()
        try:
            print("IRC PING round trip (ms) while telnet connections flood junk:")
            print(f"{'flooders':>9} {'median':>8} {'p95':>8} {'max':>8}")
            for flooders in (0, 1, 19):
                stop = asyncio.Event()
                tasks = [asyncio.create_task(flood(bpq, stop)) for _ in range(flooders)]
                await asyncio.sleep(1.0 if flooders else 0)  # let the flood build up
                times = sorted(await ping_times(irc_port, pings))
                stop.set()
                for task in tasks:
                    task.cancel()
                with contextlib.suppress(Exception):
                    await asyncio.gather(*tasks, return_exceptions=True)
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"{flooders:>9} {statistics.median(times):>8.2f} {p95:>8.2f} "
                      f"{times[-1]:>8.2f}")  # fmt: skip
        finally:
            await gw.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=200)
    asyncio.run(main(parser.parse_args().pings))
