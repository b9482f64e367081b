"""Log bytes a flood of abusive connections costs `gateway run` (hostile review, finding 6).

Starts the real gateway (INFO log, `throttle.start_delay: 0`) and makes N connections,
20 at a time, each waiting for the server to close it (or 2 s), in three rounds:
from one address, `CAP REQ :sasl` and three bad `AUTHENTICATE` (three SASL failures);
the same from N addresses in 127/8; and NICK/USER/QUIT from N addresses (throttled
registrations); and, on a BPQ telnet listener, N connections that claim a callsign and
hang up at the Code: prompt. Prints the log lines and bytes each round added, per 1000
connections.
The "repeated N times" lines come at the end of each 30 s window, after the count.

    .venv/bin/python bench/log_flood.py [--connections 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway_process import GatewayProcess, enroll, free_port

SASL = b"CAP REQ :sasl\r\nAUTHENTICATE X\r\nAUTHENTICATE Y\r\nAUTHENTICATE Z\r\n"
REGISTER = b"NICK fx\r\nUSER a 0 * :a\r\nQUIT\r\n"


#: What a flood connection to a BPQ listener says (a callsign), and waits for before
#: hanging up.
BPQ_CLAIM, CODE_PROMPT = b"N0FLD\r\n", b"Code: "


async def one(port: int, source: str, lines: bytes, until: bytes | None = None) -> bool:
    """One connection; False if it was refused or reset. With `until`, it hangs up once
    that arrives; else when the server closes it (or after 2 s)."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        writer.write(lines)
        await writer.drain()
        got = b""
        async with asyncio.timeout(2):
            while chunk := await reader.read(4096):
                got += chunk
                if until is not None and until in got:
                    break
        writer.close()
    except (OSError, TimeoutError):
        return False
    return True


async def flood(
    port: int, n: int, source: Callable[[int], str], lines: bytes, until: bytes | None
) -> int:
    refused = 0
    for start in range(0, n, 20):
        done = await asyncio.gather(
            *(one(port, source(i), lines, until) for i in range(start, min(n, start + 20)))
        )
        refused += done.count(False)
    return refused


async def main(n: int) -> None:
    d = Path(tempfile.mkdtemp(prefix="log-flood-"))
    port, bpq = free_port(), free_port()
    config = d / "gateway.yaml"
    config.write_text(
        f"data_dir: {d / 'data'}\nirc:\n  server_name: irc.gw.example\n"
        f"  throttle: {{start_delay: 0}}\n  listen:\n    - {{host: 127.0.0.1, port: {port}}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq},"
        " bytes_per_second: 1000000}]}\n",
        encoding="utf-8",
    )
    enroll(config, "N0TEST")  # SASL is offered once there are accounts
    gateway = GatewayProcess(config)
    await gateway.start()
    rounds = [
        ("one address, SASL failures", port, lambda i: "127.200.0.1", SASL, None),
        ("many addresses, SASL failures", port,
         lambda i: f"127.110.{i // 250}.{i % 250 + 1}", SASL, None),
        ("many addresses, NICK/USER/QUIT", port,
         lambda i: f"127.111.{i // 250}.{i % 250 + 1}", REGISTER, None),
        ("BPQ node, a callsign then gone at Code:", bpq,
         lambda i: "127.0.0.1", BPQ_CLAIM, CODE_PROMPT),
    ]  # fmt: skip
    try:
        for label, to, source, lines, until in rounds:
            before, size = len(gateway.log), sum(len(x) + 1 for x in gateway.log)
            refused = await flood(to, n, source, lines, until)
            await asyncio.sleep(1)  # the last lines reach the log
            added = sum(len(x) + 1 for x in gateway.log) - size
            print(
                f"{label}: {n} connections ({refused} refused or reset): "
                f"+{len(gateway.log) - before} log lines, +{added} bytes, "
                f"{added * 1000 // n} bytes per 1000 connections"
            )
    finally:
        await gateway.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000)
    asyncio.run(main(parser.parse_args().connections))
