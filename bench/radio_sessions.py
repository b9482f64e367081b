"""Login-to-first-line latency and memory per radio session, embedded and external IRC.

Starts the real `gateway run` with one BPQ listener, enrolls N callsigns straight in its
store, then logs all N in at once as BPQ-style telnet users (callsign line, `Code:`,
a fresh code) and measures, for each, the time from sending the code to the first line
of the chat (`Welcome ...`). Memory: the gateway's RSS with every session logged in,
minus its RSS before the first connection, divided by N. In external mode the same
gateway joins a real InspIRCd (and ngircd) on loopback through WEBIRC.

    apt-get install -y inspircd ngircd
    .venv/bin/python bench/radio_sessions.py [--sessions 200] [--modes embedded,inspircd,ngircd]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import irc_peers as peers
from bench.gateway_process import GatewayProcess, free_port
from gateway.auth import totp
from gateway.config import load_config
from gateway.store import Store


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def write_config(tmp: Path, bpq: int, irc: str, sessions: int) -> Path:
    path = tmp / "gateway.yaml"
    path.write_text(
        f"data_dir: {tmp / 'data'}\n{irc}"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        f" max_connections: {sessions + 10}, max_unauthenticated: {sessions + 10},"
        " bytes_per_second: 1000000, packet_bytes: 4096}\n"
        "bridge: {third_party: all}\n"
    )
    return path


def enroll_all(config: Path, calls: list[str]) -> dict[str, str]:
    """Enroll each callsign as `gateway enroll` would (its last step counted as used)."""
    store = Store.open(load_config(config))
    secrets = {}
    try:
        now = time.time()
        for call in calls:
            secrets[call] = totp.new_secret()
            with store.transaction():
                store.put_user(call, secrets[call], totp.time_step(now) - 2, now)
    finally:
        store.close()
    return secrets


async def login(port: int, call: str, secret: str, start: asyncio.Event) -> float:
    """Seconds from the code sent to the first chat line."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    await start.wait()
    writer.write(call.encode() + b"\r\n")
    buffer = b""
    while b"Code: " not in buffer:
        buffer += await reader.read(4096)
    sent = time.perf_counter()
    writer.write(totp.code_at(secret, totp.time_step(time.time())).encode() + b"\r")
    buffer = b""
    while b"\n" not in buffer:
        chunk = await reader.read(4096)
        if not chunk:
            raise RuntimeError(f"{call}: closed before the first line")
        buffer += chunk
    took = time.perf_counter() - sent
    if not buffer.startswith(b"Welcome"):
        raise RuntimeError(f"{call}: {buffer[:80]!r}")
    writer.transport.pause_reading()  # keep the session; read nothing more
    return took


async def run_mode(mode: str, sessions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        peer = None
        if mode == "embedded":
            irc = f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        else:
            peer = (peers.inspircd if mode == "inspircd" else peers.ngircd)(tmp / mode)
            await peer.start()
            irc = (
                "irc:\n  mode: external\n  external: {host: 127.0.0.1,"
                f" port: {peer.port}, webirc_password: {peers.WEBIRC_PASSWORD}}}\n"
            )
        bpq = free_port()
        config = write_config(tmp, bpq, irc, sessions)
        calls = [f"N{i // 26 % 10}{chr(65 + i // 260)}{chr(65 + i % 26)}X" for i in range(sessions)]
        secrets = enroll_all(config, calls)
        gw = GatewayProcess(config)
        try:
            await gw.start()
            assert gw.proc is not None
            await gw.wait_log("the service nick .* is on IRC")  # settled: the baseline
            before = rss_kib(gw.proc.pid)
            start = asyncio.Event()
            tasks = [asyncio.ensure_future(login(bpq, c, secrets[c], start)) for c in calls]
            await asyncio.sleep(0.2)
            wall = time.perf_counter()
            start.set()
            times = await asyncio.gather(*tasks)
            wall = time.perf_counter() - wall
            after = rss_kib(gw.proc.pid)
        finally:
            gw.kill()
            if gw.proc is not None:
                await gw.proc.wait()
            if peer is not None:
                await peer.stop()
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[int(len(times) * 0.95) - 1] * 1000,
        "max_ms": times[-1] * 1000,
        "wall_s": wall,
        "rss_per_session_kib": (after - before) / sessions,
        "rss_mib": after / 1024,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--modes", default="embedded,inspircd,ngircd")
    args = parser.parse_args()
    print(f"{args.sessions} BPQ-style sessions logging in at once")
    print(f"{'mode':<10} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'all in s':>9} "
          f"{'KiB/session':>12} {'RSS MiB':>8}")  # fmt: skip
    for mode in args.modes.split(","):
        r = await run_mode(mode, args.sessions)
        cells = (r["median_ms"], r["p95_ms"], r["max_ms"], r["wall_s"])
        print(f"{mode:<10} {cells[0]:>10.1f} {cells[1]:>8.1f} {cells[2]:>8.1f} {cells[3]:>9.2f} "
              f"{r['rss_per_session_kib']:>12.1f} {r['rss_mib']:>8.1f}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
