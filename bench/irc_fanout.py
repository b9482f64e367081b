"""Channel fan-out benchmark for any IRC server: point it at (host, port) and the server's PID.

Prints figures, asserts nothing (it is never run as a test). Two phases, in this order:

1. Registration and idle memory. VmRSS of the server is read, then `--idle` clients connect
   and register concurrently (at most `--reg-concurrency` handshakes in flight) and the
   time until every one of them got 001 gives registrations per second. VmRSS is read
   again while they are all held: the difference divided by their number is the resident
   memory per idle registered client. Then they quit.
2. Fan-out. `--clients` N clients join one channel; `--senders` S of them send
   `--messages` M PRIVMSGs each. utime+stime of the server (from /proc/PID/stat) is read
   before the first and after the last delivery; divided by M*S*(N-1) deliveries it is the
   server CPU time per delivered channel message. Every message carries its send time,
   so each delivery also gives a latency sample (p50/p99).

The generator paces the senders with a window of messages in flight (sent but not yet
delivered to everyone), so send queues stay far below any server's sendq limit and a
slow reader never turns into a disconnect. It measures its own CPU use as well: if it is
near 100 % of one core, the generator, not the server, was the limit of that phase.
Run it on another core than the server (the driver `run_irc_bench.py` pins them).

    python bench/irc_fanout.py --port 6667 --pid "$(pidof ngircd)" \
        [--clients 200 --senders 10 --messages 1000 --idle 10000]

The last line printed is `RESULT {json}` for drivers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import socket
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import cast

try:  # the generator's own overhead is lower on uvloop; plain asyncio works too
    import uvloop
except ImportError:
    uvloop = None

CHANNEL = "#bench"
_TICKS = os.sysconf("SC_CLK_TCK")
_STAMP = re.compile(rb"PRIVMSG #bench :t=(\d+) ")
_COUNT = b"PRIVMSG #bench :t="
#: One receiver in this many records latencies.
PROBE_EVERY = 10
# Linux socket option (not exported by Python 3.11's socket module): bind the source
# address now but choose the port at connect(), so ports are only unique per 4-tuple.
_IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
# Text padding so a delivered line is a typical chat line (~110 bytes with the prefix).
_PAD = "x" * 48


# -- /proc readers -----------------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(utime, stime) of `pid` in seconds, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        stat = f.read()
    # Field 2 (comm) may contain spaces: count fields after its closing parenthesis.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def rss_kib(pid: int) -> int:
    """VmRSS of `pid` in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def listen_overflows() -> int:
    """TcpExt ListenOverflows: connections the kernel dropped because an accept queue was full."""
    with open("/proc/net/netstat", encoding="ascii") as f:
        lines = f.read().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=True))
            return int(table.get("ListenOverflows", 0))
    return 0


async def wait_server_idle(pid: int, timeout: float = 30.0) -> None:
    """Wait until the server burns no CPU for 0.2 s (it finished handling the last phase)."""
    deadline = time.monotonic() + timeout
    last = sum(cpu_seconds(pid))
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = sum(cpu_seconds(pid))
        if now == last:
            return
        last = now


class Usage:
    """Wall time and this process's CPU time over one phase."""

    def __init__(self) -> None:
        self.wall0 = time.perf_counter()
        self.cpu0 = time.process_time()

    def stop(self) -> tuple[float, float]:
        """(wall seconds, generator CPU seconds / wall seconds)."""
        wall = time.perf_counter() - self.wall0
        return wall, (time.process_time() - self.cpu0) / wall if wall else 0.0


# -- one client connection -------------------------------------------------------------


class BenchClient(asyncio.Protocol):
    """A raw IRC client: registers, joins, answers PING, counts and times channel messages.

    It does not parse every line: the fan-out phase only counts PRIVMSGs and extracts
    their time stamps from whole chunks with C-level searches, to keep the generator cheap.
    """

    def __init__(self, nick: str, stats: FanoutStats | None, probe: bool = False) -> None:
        self.nick = nick
        self.stats = stats
        self.probe = probe
        self.transport: asyncio.Transport | None = None
        loop = asyncio.get_running_loop()
        self.welcomed: asyncio.Future[None] = loop.create_future()
        self.joined: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self._tail = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, hence a cast, not a check.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(f"NICK {self.nick}\r\nUSER {self.nick} 0 * :bench\r\n".encode())

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter_ns()
        end = data.rfind(b"\n")
        if end == -1:
            self._tail += data
            return
        chunk = self._tail + data[: end + 1]
        self._tail = data[end + 1 :]
        stats = self.stats
        if stats is not None and stats.active:
            if self.probe:
                stamps = _STAMP.findall(chunk)
                if stamps:
                    stats.add(now, stamps)
            else:
                # Counting is all most receivers do: timing every delivery would make the
                # generator, not the server, the bottleneck.
                count = chunk.count(_COUNT)
                if count:
                    stats.count(count)
        if b"PING " in chunk:
            for line in chunk.split(b"\n"):
                if line.startswith(b"PING "):
                    self.send(b"PONG " + line[5:].rstrip(b"\r") + b"\r\n")
        if not self.welcomed.done():
            if b" 001 " in chunk:
                self.welcomed.set_result(None)
            elif b" 433 " in chunk or b"ERROR " in chunk or b" 465 " in chunk:
                self.welcomed.set_exception(RuntimeError(f"{self.nick}: {chunk[-300:]!r}"))
        if not self.joined.done() and b" 366 " in chunk:
            self.joined.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        for future in (self.welcomed, self.joined):
            if not future.done():
                future.set_exception(ConnectionError(f"{self.nick}: connection lost ({exc})"))
                # Idle clients never await `joined`: mark it seen so asyncio does not warn.
                future.exception()
        if not self.closed.done():
            self.closed.set_result(None)

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def connect(
    host: str,
    port: int,
    source: str,
    nick: str,
    stats: FanoutStats | None = None,
    probe: bool = False,
) -> BenchClient:
    """Open a connection from `source` (an address of 127/8 for loopback), start registering."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if family == socket.AF_INET and source:
            sock.setsockopt(socket.IPPROTO_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((source, 0))
        await loop.sock_connect(sock, (host, port))
        client = BenchClient(nick, stats, probe)
        await loop.create_connection(lambda: client, sock=sock)
    except BaseException:
        sock.close()
        raise
    return client


async def register_many(
    host: str,
    port: int,
    sources: list[str],
    prefix: str,
    count: int,
    concurrency: int,
    stats: FanoutStats | None = None,
) -> tuple[list[BenchClient], list[BaseException]]:
    """Register `count` clients, at most `concurrency` handshakes at a time.

    Returns the registered clients and the errors of those that failed (a server may
    reset connections under a burst: that is a figure to report, not a reason to stop).
    """
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> BenchClient:
        async with gate:
            source = sources[i % len(sources)]
            probe = i % PROBE_EVERY == PROBE_EVERY - 1
            client = await connect(host, port, source, f"{prefix}{i}", stats, probe)
            try:
                await client.welcomed
            except BaseException:
                client.close()
                raise
            return client

    outcomes = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    clients = [c for c in outcomes if isinstance(c, BenchClient)]
    errors = [e for e in outcomes if isinstance(e, BaseException)]
    return clients, errors


async def quit_all(clients: list[BenchClient]) -> None:
    for client in clients:
        client.send(b"QUIT :bye\r\n")
    # The QUIT lets the server close first, leaving TIME_WAIT on its side, not ours.
    try:
        async with asyncio.timeout(30):
            await asyncio.gather(*(c.closed for c in clients))
    except TimeoutError:
        pass
    for client in clients:
        client.close()


# -- phases ----------------------------------------------------------------------------


@dataclass
class FanoutStats:
    """Deliveries counted by every receiving client, and their latencies in nanoseconds."""

    active: bool = False
    delivered: int = 0
    latencies: list[int] = field(default_factory=list)
    on_progress: Callable[[], None] | None = None

    def add(self, now: int, stamps: list[bytes]) -> None:
        self.latencies.extend(now - int(s) for s in stamps)
        self.count(len(stamps))

    def count(self, delivered: int) -> None:
        self.delivered += delivered
        if self.on_progress is not None:
            self.on_progress()


@dataclass
class Result:
    """Everything one run measured; the driver reads it from the RESULT line."""

    idle_clients: int = 0
    reg_per_s: float = 0.0
    reg_seconds: float = 0.0
    reg_generator_load: float = 0.0
    reg_listen_overflows: int = 0
    reg_failures: int = 0
    rss_before_kib: int = 0
    rss_after_kib: int = 0
    rss_per_idle_client_kib: float = 0.0
    clients: int = 0
    senders: int = 0
    messages: int = 0
    deliveries: int = 0
    send_seconds: float = 0.0
    deliveries_per_s: float = 0.0
    server_utime_s: float = 0.0
    server_stime_s: float = 0.0
    server_cpu_us_per_delivery: float = 0.0
    server_load: float = 0.0
    fanout_generator_load: float = 0.0
    latency_p50_ms: float = 0.0
    latency_p99_ms: float = 0.0
    notes: list[str] = field(default_factory=list)


async def phase_idle(args: argparse.Namespace, sources: list[str], result: Result) -> None:
    await wait_server_idle(args.pid)
    result.idle_clients = args.idle
    result.rss_before_kib = rss_kib(args.pid)
    overflows = listen_overflows()
    usage = Usage()
    clients, errors = await register_many(
        args.host, args.port, sources, "idle", args.idle, args.reg_concurrency
    )
    result.reg_failures = len(errors)
    if errors:
        result.notes.append(f"{len(errors)} registrations failed, e.g. {errors[0]}")
    result.reg_seconds, result.reg_generator_load = usage.stop()
    result.reg_listen_overflows = listen_overflows() - overflows
    result.idle_clients = len(clients)
    result.reg_per_s = len(clients) / result.reg_seconds
    # Let the server finish what it does after 001 (ngircd and InspIRCd send the MOTD
    # later in the same burst) before reading its memory.
    await wait_server_idle(args.pid)
    result.rss_after_kib = rss_kib(args.pid)
    held = max(len(clients), 1)
    result.rss_per_idle_client_kib = (result.rss_after_kib - result.rss_before_kib) / held
    print(
        f"idle: {len(clients)} of {args.idle} clients registered in {result.reg_seconds:.2f} s "
        f"({result.reg_per_s:.0f}/s, generator at {result.reg_generator_load:.0%} of a core, "
        f"{result.reg_listen_overflows} listen overflows); "
        f"RSS {result.rss_before_kib} -> {result.rss_after_kib} KiB = "
        f"{result.rss_per_idle_client_kib:.2f} KiB per client",
        flush=True,
    )
    await quit_all(clients)


async def phase_fanout(args: argparse.Namespace, sources: list[str], result: Result) -> None:
    n, s, m = args.clients, args.senders, args.messages
    stats = FanoutStats()
    clients, errors = await register_many(args.host, args.port, sources, "fan", n, 10, stats)
    if errors:  # the fan-out figures need every member
        raise RuntimeError(f"{len(errors)} of {n} channel members failed to register: {errors[0]}")
    for client in clients:
        client.send(f"JOIN {CHANNEL}\r\n".encode())
    async with asyncio.timeout(60):
        await asyncio.gather(*(c.joined for c in clients))
    senders = clients[:s]
    window = args.window * (n - 1)  # deliveries allowed in flight
    progress = asyncio.Event()
    sent = 0

    def on_progress() -> None:
        if sent * (n - 1) - stats.delivered <= window // 2:
            progress.set()

    stats.on_progress = on_progress

    async def send_all(count: int) -> None:
        # Round-robin over the senders, `batch` lines per sender per write, so the server
        # sees several talkers at once like a busy channel.
        nonlocal sent
        batch = max(1, min(args.window // (2 * s), 20))
        done = 0
        while done < count:
            step = min(batch, count - done)
            for sender in senders:
                stamp = time.perf_counter_ns()
                line = f"PRIVMSG {CHANNEL} :t={stamp} {_PAD}\r\n".encode()
                sender.send(line * step)
            done += step
            sent += step * s
            while sent * (n - 1) - stats.delivered > window:
                progress.clear()
                await progress.wait()
        async with asyncio.timeout(120):
            while stats.delivered < sent * (n - 1):
                progress.clear()
                await progress.wait()

    # Warm-up (not measured): caches, lazily allocated buffers, the channel's structures.
    stats.active = True
    await send_all(min(20, m))
    stats.latencies.clear()
    stats.delivered = sent = 0
    await wait_server_idle(args.pid)

    u0, s0 = cpu_seconds(args.pid)
    usage = Usage()
    await send_all(m)
    result.send_seconds, result.fanout_generator_load = usage.stop()
    u1, s1 = cpu_seconds(args.pid)
    stats.active = False

    result.clients, result.senders, result.messages = n, s, m
    result.deliveries = stats.delivered
    expected = m * s * (n - 1)
    if result.deliveries != expected:
        result.notes.append(f"delivered {result.deliveries}, expected {expected}")
    result.server_utime_s, result.server_stime_s = u1 - u0, s1 - s0
    cpu = result.server_utime_s + result.server_stime_s
    result.server_cpu_us_per_delivery = cpu / expected * 1e6
    result.server_load = cpu / result.send_seconds
    result.deliveries_per_s = expected / result.send_seconds
    lat = sorted(stats.latencies)
    if lat:
        result.latency_p50_ms = statistics.median(lat) / 1e6
        result.latency_p99_ms = lat[min(len(lat) - 1, int(len(lat) * 0.99))] / 1e6
    print(
        f"fan-out: {n} clients, {s} senders x {m} messages = {expected} deliveries in "
        f"{result.send_seconds:.2f} s ({result.deliveries_per_s:,.0f}/s); server CPU "
        f"{cpu:.2f} s (user {result.server_utime_s:.2f}, sys {result.server_stime_s:.2f}, "
        f"{result.server_load:.0%} of a core) = {result.server_cpu_us_per_delivery:.3f} us "
        f"per delivery; generator at {result.fanout_generator_load:.0%} of a core; latency "
        f"p50 {result.latency_p50_ms:.2f} ms, p99 {result.latency_p99_ms:.2f} ms",
        flush=True,
    )
    await quit_all(clients)


def raise_fd_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = hard if hard == resource.RLIM_INFINITY else min(hard, max(needed, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        if target < needed:
            print(f"warning: fd limit {target} < {needed} needed", file=sys.stderr)


async def run(args: argparse.Namespace) -> Result:
    # Several source addresses: each (source, server) pair has its own ~28k ephemeral
    # ports, so repeated runs with 10,000 clients never run out despite TIME_WAIT.
    sources = (
        [f"127.0.0.{i}" for i in range(2, 2 + args.sources)] if args.host[:4] == "127." else [""]
    )
    result = Result()
    if args.idle:
        await phase_idle(args, sources, result)
    if args.messages:
        await phase_fanout(args, sources, result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid", type=int, required=True, help="the server's process id")
    parser.add_argument("--clients", type=int, default=200, help="N: members of the channel")
    parser.add_argument("--senders", type=int, default=10, help="S: members that talk")
    parser.add_argument("--messages", type=int, default=1000, help="M: messages per sender")
    parser.add_argument("--window", type=int, default=200, help="messages in flight, at most")
    parser.add_argument("--idle", type=int, default=10_000, help="idle clients to register")
    parser.add_argument(
        "--reg-concurrency",
        type=int,
        default=10,
        help="registrations in flight at once (ngircd's listen backlog is 10: more overflows it)",
    )
    parser.add_argument("--sources", type=int, default=8, help="source addresses 127.0.0.2+")
    args = parser.parse_args()
    if not 1 <= args.senders <= args.clients or args.clients < 2:
        parser.error("need 2 <= clients and 1 <= senders <= clients")
    raise_fd_limit(args.idle + args.clients + 100)
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(
        f"generator: Python {sys.version.split()[0]}, {'uvloop' if uvloop else 'asyncio'}, "
        f"pid {os.getpid()}; server pid {args.pid} at {args.host}:{args.port}",
        flush=True,
    )
    result = asyncio.run(run(args))
    print("RESULT " + json.dumps(asdict(result)), flush=True)


if __name__ == "__main__":
    main()
