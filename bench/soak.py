"""Soak: the real `gateway run` for a chosen time under mixed load, killed -9 now and then.

Load, all at once:

- `--users` (50) BPQ-style users, each logging in with a real TOTP code (a fresh one
  every 30 s step, as a code is good once), chatting a line and logging out with /b;
- wrong codes from rotating sources: a direct telnet listener reached from 127.0.0.2
  to 127.0.0.254, each connection claiming a decoy callsign (enrolled, never used by
  the users) or an unknown one and sending 3 wrong codes;
- every accepted code tried again at once and after each restart (must be refused);
- garbage on both telnet listeners and the IRC port (random bytes, IAC, NULs, lines
  far too long), and slowloris connections there (one byte every few seconds);
- kill -9 of the gateway at random moments (`--kill-every` seconds apart on average),
  then a restart.

At the end: `PRAGMA integrity_check`, no replayed code accepted, every source penalty
seen before a kill still there after the restart, every accepted login's step durable,
and samples of the gateway's memory (RSS) and open files (/proc/PID/fd) per instance.
Exit status 1 if a check fails.

    .venv/bin/python bench/soak.py --minutes 30 [--users 50] [--kill-every 240] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyotp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.gateway_process import free_port
from gateway.config import load_config
from gateway.store import Store

STEP = 30
DECOYS = ("K9DCY", "K9DCZ", "W9DCY", "W9DCZ", "N9DCY")
SAMPLE_EVERY = 10.0
IO_TIMEOUT = 15.0


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    #: (callsign, code, step) of every accepted login.
    used: list[tuple[str, str, int]] = field(default_factory=list)
    #: Per gateway instance: [(t, rss_kib, fds, threads)].
    samples: dict[int, list[tuple[float, int, int, int]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


class Gateway:
    """`python -m gateway run` as a child process with its log in a file."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config, self.log_path = config, log
        self.proc: asyncio.subprocess.Process | None = None
        self.up = asyncio.Event()
        self.generation = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gateway", "--config", str(self.config), "run",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self.generation += 1
        running = asyncio.Event()
        self._reader = asyncio.create_task(self._read(self.proc, running))
        async with asyncio.timeout(60):
            await running.wait()
        if self.proc.returncode is not None:
            raise RuntimeError(f"gateway exited at start; see {self.log_path}")
        self.up.set()

    async def _read(self, proc: asyncio.subprocess.Process, running: asyncio.Event) -> None:
        assert proc.stderr is not None
        with open(self.log_path, "ab") as log:
            while line := await proc.stderr.readline():
                log.write(line)
                if b"gateway running" in line:
                    running.set()
        running.set()

    async def kill9(self) -> None:
        self.up.clear()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        if self._reader is not None:
            await self._reader

    async def stop(self) -> int:
        self.up.clear()
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                code = await self.proc.wait()
        except TimeoutError:
            self.proc.kill()
            code = await self.proc.wait()
        if self._reader is not None:
            await self._reader
        return code


class Soak:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = work
        self.bpq, self.lan, self.irc = free_port(), free_port(), free_port()
        self.config = work / "gateway.yaml"
        self.db = work / "data" / "gateway.db"
        self.stats = Stats()
        self.secrets: dict[str, str] = {}
        self.stop = asyncio.Event()
        self.gw = Gateway(self.config, work / "gateway.log")
        self.replay_queue: asyncio.Queue[tuple[str, str, int]] = asyncio.Queue()

    # -- setup -------------------------------------------------------------------

    def write_config(self) -> None:
        fast = "bytes_per_second: 1000000, packet_bytes: 4096"
        self.config.write_text(
            f"data_dir: {self.work / 'data'}\n"
            "auth: {failure_pause: 0.5}\n"
            f"irc:\n  listen: [{{host: 127.0.0.1, port: {self.irc}}}]\n"
            "telnet:\n  listen:\n"
            f"    - {{name: bpq, host: 127.0.0.1, port: {self.bpq}, bpq: true,"
            f" max_connections: 200, max_unauthenticated: 60, login_timeout: 30, {fast}}}\n"
            f"    - {{name: lan, host: 127.0.0.1, port: {self.lan}, bpq: false,"
            f" max_connections: 60, max_unauthenticated: 20, login_timeout: 20, {fast}}}\n"
        )

    def enroll(self) -> None:
        """Enroll users and decoys straight into the store (the CLI takes ~0.5 s each)."""
        store = Store.open(load_config(self.config))
        try:
            step = int(time.time() // STEP)
            with store.transaction():
                for call in [*self.users(), *DECOYS]:
                    secret = pyotp.random_base32()
                    self.secrets[call] = secret
                    store.put_user(call, secret, step - 2, time.time())
        finally:
            store.close()

    def users(self) -> list[str]:
        return [f"K{i // 26}{chr(65 + i % 26)}SK" for i in range(self.args.users)]

    # -- helpers -----------------------------------------------------------------

    async def connect(
        self, port: int, source: str = "127.0.0.1"
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        if not self.gw.up.is_set():
            return None
        try:
            return await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 5
            )
        except (OSError, TimeoutError):
            self.stats.counts["connect failed"] += 1
            return None

    @staticmethod
    async def read_until(reader: asyncio.StreamReader, *needles: bytes) -> tuple[bytes, bytes]:
        """Read until one of `needles` (returned first) or EOF (b"")."""
        got = b""
        async with asyncio.timeout(IO_TIMEOUT):
            while True:
                for needle in needles:
                    if needle in got:
                        return needle, got
                chunk = await reader.read(4096)
                if not chunk:
                    return b"", got
                got += chunk

    async def pause(self, lo: float, hi: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.rng.uniform(lo, hi)):
                await self.stop.wait()

    async def login(self, call: str, code: str, port: int) -> str:
        """'ok', 'refused', 'evicted' or 'down'; on 'ok' the writer stays open (returned)."""
        conn = await self.connect(port)
        if conn is None:
            return "down"
        reader, writer = conn
        try:
            writer.write(call.encode() + b"-7\r")
            what, _ = await self.read_until(reader, b"Code: ", b"Too many")
            if what != b"Code: ":
                return "evicted" if what else "down"
            writer.write(code.encode() + b"\r")
            what, _ = await self.read_until(reader, b"/? for help.", b"Login failed", b"Code: ")
            if what == b"/? for help.":
                writer.write(b"/j #soak\rsoak line from " + call.encode() + b"\r/b\r")
                await self.read_until(reader, b"73!")
                return "ok"
            return "refused" if what else "down"
        except (OSError, TimeoutError):
            return "down"
        finally:
            writer.close()

    # -- load --------------------------------------------------------------------

    async def user(self, call: str) -> None:
        totp = pyotp.TOTP(self.secrets[call])
        last = 0
        await self.pause(0, STEP)
        while not self.stop.is_set():
            step = int(time.time() // STEP)
            if step <= last:
                wait = (step + 1) * STEP - time.time()
                await self.pause(wait, wait + 20)  # spread over the next step
                continue
            code = totp.at(step * STEP)
            result = await self.login(call, code, self.bpq)
            self.stats.counts[f"login {result}"] += 1
            if result == "ok":
                last = step
                self.stats.used.append((call, code, step))
                self.replay_queue.put_nowait((call, code, step))
            else:
                await self.pause(1, 5)

    async def replayer(self) -> None:
        """Try every accepted code again (it is still inside its window): never accepted."""
        while not self.stop.is_set():
            try:
                async with asyncio.timeout(1):
                    call, code, step = await self.replay_queue.get()
            except TimeoutError:
                continue
            if step < int(time.time() // STEP) - 1:
                continue  # out of its window: refused for that alone, proves nothing
            result = await self.login(call, code, self.bpq)
            self.stats.counts[f"replay {result}"] += 1
            if result == "ok":
                self.stats.problems.append(f"replayed code accepted: {call} step {step}")

    async def wrong_codes(self) -> None:
        """Wrong codes from rotating source addresses on the direct listener."""
        n = 0
        while not self.stop.is_set():
            n += 1
            source = f"127.0.0.{2 + n % 253}"
            call = self.rng.choice([*DECOYS, f"N{n % 10}XYZ"])
            conn = await self.connect(self.lan, source)
            if conn is None:
                await self.pause(0.5, 1)
                continue
            reader, writer = conn
            try:
                await self.read_until(reader, b"Callsign: ")
                writer.write(call.encode() + b"\r\n")
                for _ in range(3):
                    what, _ = await self.read_until(reader, b"Code: ")
                    if not what:
                        break
                    writer.write(b"%06d\r\n" % self.rng.randrange(10**6))
                    self.stats.counts["wrong code sent"] += 1
                await self.read_until(reader, b"\x00never")  # until the gateway closes
            except (OSError, TimeoutError):
                pass
            finally:
                writer.close()
            await self.pause(0.1, 0.6)

    def junk(self) -> bytes:
        kind = self.rng.randrange(4)
        if kind == 0:
            return self.rng.randbytes(self.rng.randrange(1, 4096))
        if kind == 1:
            return b"\xff\xfb\x01\xff\xfd\x03" * 50 + b"\x00\r\n" * 20
        if kind == 2:
            return b"A" * self.rng.randrange(600, 20000) + b"\r\n"
        return b"NICK x\r\nUSER a b c :d\r\nPRIVMSG #x :" + b"\x01" * 700 + b"\r\n:\r\n \r\n"

    async def garbage(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            port = self.rng.choice([self.bpq, self.lan, self.irc])
            conn = await self.connect(port, f"127.0.1.{1 + n % 250}")
            if conn is not None:
                reader, writer = conn
                try:
                    writer.write(self.junk())
                    await asyncio.wait_for(writer.drain(), 5)
                    await asyncio.wait_for(reader.read(65536), 2)
                except (OSError, TimeoutError):
                    pass
                finally:
                    writer.close()
                self.stats.counts["garbage sent"] += 1
            await self.pause(0.1, 0.5)

    async def slowloris(self, port: int, index: int) -> None:
        while not self.stop.is_set():
            conn = await self.connect(port, f"127.0.2.{1 + index}")
            if conn is None:
                await self.pause(1, 2)
                continue
            self.stats.counts["slowloris opened"] += 1
            _, writer = conn
            try:
                while not self.stop.is_set() and not writer.is_closing():
                    writer.write(bytes([self.rng.randrange(65, 91)]))
                    await writer.drain()
                    await self.pause(3, 8)
            except OSError:
                pass
            finally:
                writer.close()

    # -- kills, penalties, samples ------------------------------------------------

    def penalties(self) -> dict[str, float]:
        with contextlib.closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA busy_timeout = 5000")
            rows = db.execute("SELECT source, until FROM source_penalties").fetchall()
        return dict(rows)

    async def killer(self) -> None:
        mean = self.args.kill_every
        while not self.stop.is_set():
            await self.pause(mean * 0.5, mean * 1.5)
            if self.stop.is_set():
                return
            before = await asyncio.to_thread(self.penalties)
            await self.gw.kill9()
            self.stats.counts["kill -9"] += 1
            await self.gw.start()
            after = await asyncio.to_thread(self.penalties)
            now = time.time()
            lost = [s for s, until in before.items() if until > now + 1 and after.get(s, 0) < until]
            self.stats.counts["penalties carried over a kill"] += len(before)
            if lost:
                self.stats.problems.append(f"penalties lost over a kill: {lost[:5]}")
            step = int(time.time() // STEP)
            for call, code, used in self.stats.used[-50:]:  # the last accepted codes again
                if used >= step - 1:
                    self.replay_queue.put_nowait((call, code, used))

    async def sampler(self, started: float) -> None:
        while not self.stop.is_set():
            await self.pause(SAMPLE_EVERY, SAMPLE_EVERY)
            proc = self.gw.proc
            if proc is None or proc.returncode is not None or not self.gw.up.is_set():
                continue
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            rss = int(fields["VmRSS"].split()[0])
            threads = int(fields["Threads"])
            sample = (time.time() - started, rss, fds, threads)
            self.stats.samples.setdefault(self.gw.generation, []).append(sample)
            print(
                f"  t={sample[0]:6.0f}s gw#{self.gw.generation} pid {proc.pid}: "
                f"RSS {rss / 1024:6.1f} MiB, {fds:4d} fds, {threads} threads | "
                + ", ".join(f"{k} {v}" for k, v in sorted(self.stats.counts.items())),
                flush=True,
            )

    # -- the run -----------------------------------------------------------------

    async def run(self) -> int:
        self.write_config()
        self.enroll()
        await self.gw.start()
        started = time.time()
        print(
            f"soak: {self.args.minutes} min, {self.args.users} users, kill -9 every"
            f" ~{self.args.kill_every:.0f} s; work dir {self.work}", flush=True,
        )  # fmt: skip
        tasks = [asyncio.create_task(self.user(call)) for call in self.users()]
        tasks += [asyncio.create_task(self.replayer()), asyncio.create_task(self.wrong_codes())]
        tasks += [asyncio.create_task(self.garbage()) for _ in range(2)]
        tasks += [
            asyncio.create_task(self.slowloris(port, i))
            for i, port in enumerate([self.bpq, self.lan, self.irc] * 5)
        ]
        tasks += [asyncio.create_task(self.killer()), asyncio.create_task(self.sampler(started))]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.args.minutes * 60):
                await self.stop.wait()
        self.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        code = await self.gw.stop()
        return self.report(code, time.time() - started)

    def report(self, exit_code: int, elapsed: float) -> int:
        s = self.stats
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
            steps = dict(db.execute("SELECT callsign, last_step FROM users").fetchall())
        if integrity != "ok":
            s.problems.append(f"integrity_check: {integrity}")
        for call, _, step in s.used:
            if steps.get(call, 0) < step:
                s.problems.append(f"accepted login not durable: {call} step {step}")
        if exit_code != 0:
            s.problems.append(f"gateway exit status {exit_code} at SIGTERM")
        log = self.gw.log_path.read_text(errors="replace")
        print(f"\nsoak over after {elapsed / 60:.1f} min; gateway exit status {exit_code}")
        for key, value in sorted(s.counts.items()):
            print(f"  {key}: {value}")
        print(f"  tracebacks in the gateway log: {log.count('Traceback')}")
        print(f"  PRAGMA integrity_check: {integrity}")
        print("memory and open files per gateway instance (after 60 s of warm-up):")
        for gen, samples in sorted(s.samples.items()):
            warm = [x for x in samples if x[0] - samples[0][0] >= 60] or samples
            rss = [x[1] / 1024 for x in warm]
            fds = [x[2] for x in warm]
            print(
                f"  gw#{gen}: {len(samples)} samples over {samples[-1][0] - samples[0][0]:.0f} s;"
                f" RSS first {rss[0]:.1f}, median {statistics.median(rss):.1f},"
                f" max {max(rss):.1f}, last {rss[-1]:.1f} MiB;"
                f" fds first {fds[0]}, median {statistics.median(fds):.0f},"
                f" max {max(fds)}, last {fds[-1]}"
            )
            if len(warm) >= 6 and rss[-1] > 1.25 * statistics.median(rss[: len(rss) // 2]):
                s.problems.append(f"gw#{gen}: RSS grew from {rss[0]:.1f} to {rss[-1]:.1f} MiB")
        if s.problems:
            print("PROBLEMS:")
            for problem in s.problems:
                print(f"  {problem}")
            return 1
        print("all checks passed")
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--kill-every", type=float, default=240.0, help="mean seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="soak-"))
    try:
        return asyncio.run(Soak(args, work).run())
    finally:
        if not args.keep:
            import shutil

            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
