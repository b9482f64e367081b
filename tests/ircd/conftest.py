"""Shared helpers: a core harness (fake clock, scheduler and sinks) and a live-server fixture."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import os
import queue
import signal
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.ports import free_port
from ircd.client import Client
from ircd.config import IrcConfig, Limits
from ircd.hooks import ServerHooks
from ircd.protocol import Message, parse_line
from ircd.runner import Pending
from ircd.server import Server
from ircd.throttle import ThrottleConfig

#: A per-address rate of connections no test reaches (`make_config`).
UNRATED = 1_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeTimer:
    def __init__(self, when: float, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeScheduler:
    """Records call_later requests; `advance()` moves the clock and runs what is due."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.timers: list[FakeTimer] = []

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> FakeTimer:
        timer = FakeTimer(self.clock.now + delay, callback, args)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        target = self.clock.now + seconds
        while True:
            due = [t for t in self.timers if not t.cancelled and t.when <= target]
            if not due:
                break
            timer = min(due, key=lambda t: t.when)
            self.timers.remove(timer)
            self.clock.now = max(self.clock.now, timer.when)
            timer.callback(*timer.args)
        self.clock.now = target


class ListSink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.closed = False
        self.paused = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "write after close"
        self.data += data

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False


class OrderedSink(ListSink):
    """A sink that also notes, in a list shared by several, who got which of `codes`
    in what order (password checks: who was answered first)."""

    def __init__(self, name: str, events: list[tuple[str, str]], codes: tuple[str, ...]) -> None:
        super().__init__()
        self.name = name
        self.events = events
        self.codes = codes
        #: Called when one of `codes` arrives; its value is kept in `noted`.
        self.probe: Callable[[], int] = lambda: 0
        self.noted = 0

    def write(self, data: bytes) -> None:
        super().write(data)
        got = [(self.name, c) for c in self.codes if f" {c} ".encode() in data]
        if got:
            self.noted = self.probe()
        self.events.extend(got)


class InlineExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs what the core sends "to a thread" (Argon2id) at once, in the caller: no thread
    to wait for, so a settled loop is one with nothing left to run. (A ThreadPoolExecutor
    only because asyncio takes no other as the default; it never starts a thread.)"""

    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as a thread would
            future.set_exception(exc)
        return future


class DeferredRunner:
    """The core's `Runner` for synchronous tests, on a private loop that never waits on the
    clock: deferred commands (password checks) run when `settle()` is called, or at once,
    inside `run()`, with `at_once=True`."""

    #: Loop passes in a row with no continuation ending before `settle()` gives up on the
    #: ones left (blocked, e.g. on a password slot a test holds). A continuation that
    #: can run needs a handful.
    IDLE_PASSES = 100

    def __init__(self, *, at_once: bool = False) -> None:
        self.at_once = at_once
        self.tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None

    def run(
        self, coro: Pending, done: Callable[[BaseException | None], None]
    ) -> asyncio.Task[None]:
        task = self.start(coro)

        def finished(t: asyncio.Task[None]) -> None:
            if not t.cancelled():
                done(t.exception())

        task.add_done_callback(finished)
        if self.at_once:
            self.settle()
            if not self.tasks:  # nothing blocked: no loop left open between commands
                self.close()
        return task

    def start(self, coro: Any) -> asyncio.Task[Any]:
        """A task on this runner's loop (also for a test's own, e.g. one holding a slot)."""
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._loop.set_default_executor(InlineExecutor())
        task = self._loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def settle(self) -> None:
        """Run every continuation as far as it can go."""
        if self._loop is not None:
            self._loop.run_until_complete(self._settle())

    async def _settle(self) -> None:
        idle = 0
        while self.tasks and idle < self.IDLE_PASSES:
            left = len(self.tasks)
            await asyncio.sleep(0)
            idle = idle + 1 if len(self.tasks) == left else 0

    def close(self) -> None:
        """Cancel what is left (a blocked continuation) and close the loop."""
        if self._loop is None:
            return
        for task in self.tasks:
            task.cancel()
        self._loop.run_until_complete(self._ended(list(self.tasks)))
        self._loop.close()
        self._loop = None

    @staticmethod
    async def _ended(tasks: list[asyncio.Task[Any]]) -> None:
        await asyncio.gather(*tasks, return_exceptions=True)


class CoreClient:
    """One client driven directly against the core: send lines, read parsed replies."""

    def __init__(self, server: Server, ip: str = "192.0.2.1") -> None:
        self.server = server
        self.sink = ListSink()
        client = server.connect(self.sink, ip=ip)
        assert client is not None
        self.client = client

    def send(self, *lines: str) -> None:
        for line in lines:
            self.server.receive(self.client, line.encode() + b"\r\n")

    def send_raw(self, data: bytes) -> None:
        self.server.receive(self.client, data)

    def take(self) -> list[Message]:
        """Every message received since the last call."""
        raw = bytes(self.sink.data)
        self.sink.data.clear()
        return [parse_line(line) for line in raw.split(b"\r\n") if line]

    def commands(self) -> list[str]:
        """Commands (or numerics) of every message received since the last take."""
        return [m.command for m in self.take()]

    def register(self, nick: str, *caps: str) -> CoreClient:
        if caps:
            self.send("CAP LS 302", "CAP REQ :" + " ".join(caps))
        self.send(f"NICK {nick}", f"USER {nick} 0 * :Real {nick}")
        if caps:
            self.send("CAP END")
        replies = self.take()
        assert any(m.command == "001" for m in replies), replies
        return self


class Harness:
    """A core `Server` with a fake clock and scheduler, and a way to make clients."""

    def __init__(
        self, config: IrcConfig | None = None, hooks: ServerHooks | None = None, **server_args: Any
    ) -> None:
        self.clock = FakeClock()
        self.scheduler = FakeScheduler(self.clock)
        self.wall = FakeClock()
        self.wall.now = 1_700_000_000.0
        runner = server_args.get("runner")
        self.deferred = runner if isinstance(runner, DeferredRunner) else None
        # Spamfilter evaluations cost nothing unless a test says otherwise: on a busy
        # machine the real timer disabled a filter mid-test (one slow pass of 14 ms).
        server_args.setdefault("perf_timer", lambda: 0)
        self.server = Server(
            config or make_config(),
            hooks=hooks,
            clock=self.clock,
            wallclock=self.wall,
            scheduler=self.scheduler,
            **server_args,
        )

    def connect(self, ip: str = "192.0.2.1") -> CoreClient:
        return CoreClient(self.server, ip)

    def connect_raw(self, ip: str = "192.0.2.1") -> tuple[ListSink, Client | None]:
        sink = ListSink()
        return sink, self.server.connect(sink, ip=ip)

    def user(self, nick: str, *caps: str) -> CoreClient:
        return self.connect().register(nick, *caps)

    def settle(self) -> None:
        """Run the deferred commands started so far to their end (needs `sync=True`)."""
        assert self.deferred is not None, "make_harness(sync=True) runs deferred commands"
        self.deferred.settle()


def make_config(**limits: Any) -> IrcConfig:
    """A test config: flood control, the per-address limit and the per-address rate of
    connections off unless asked for (test clients share one address), a short MOTD."""
    limits.setdefault("flood_rate", 0)
    limits.setdefault("max_per_address", 0)
    return dataclasses.replace(
        IrcConfig(),
        throttle=ThrottleConfig(per_address=UNRATED),
        server_name="irc.test",
        network="TestNet",
        motd="hello",
        limits=Limits(**limits),
    )


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def make_harness() -> Iterator[Callable[..., Harness]]:
    """Factory: make_harness(hooks=..., opers=..., motd=..., nicklen=5, perf_timer=...);
    with `sync=True`, deferred commands wait for `harness.settle()` (no event loop needed)."""
    runners: list[DeferredRunner] = []

    def make(*, hooks: ServerHooks | None = None, sync: bool = False, **kwargs: Any) -> Harness:
        top = {k: kwargs.pop(k) for k in list(kwargs) if k in _TOP_FIELDS}
        server_args = {k: kwargs.pop(k) for k in list(kwargs) if k in _SERVER_ARGS}
        if sync:
            runners.append(DeferredRunner())
            server_args["runner"] = runners[-1]
        config = dataclasses.replace(make_config(**kwargs), **top)
        return Harness(config, hooks, **server_args)

    yield make
    for runner in runners:
        runner.close()


_TOP_FIELDS = {f.name for f in dataclasses.fields(IrcConfig)}
#: Keyword arguments of `Server` a test may pass through make_harness.
_SERVER_ARGS = {"perf_timer", "accounts", "control", "ban_store", "runner"}


# -- live server over real sockets ------------------------------------------------------


class LiveServer:
    """`python -m ircd --config FILE` as a subprocess; stderr is collected by a thread."""

    def __init__(
        self,
        tmp_path: Path,
        extra_yaml: str = "",
        tls: tuple[Path, Path] | None = None,
        *,
        websocket: bool = False,
        max_files: int | None = None,
    ) -> None:
        """`max_files`: the process's open files limit, soft and hard (prlimit)."""
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.ws_port = free_port() if websocket else None
        listen = f"{{host: 127.0.0.1, port: {self.port}}}"
        if tls:
            files = f"{{cert: {tls[0]}, key: {tls[1]}}}"
            listen += f", {{host: 127.0.0.1, port: {self.tls_port}, tls: {files}}}"
        if websocket:
            listen += f", {{host: 127.0.0.1, port: {self.ws_port}, websocket: yes}}"
        self.config_path = tmp_path / "irc.yaml"
        self.config_path.write_text(
            "irc:\n"
            f"  listen: [{listen}]\n"
            "  server_name: irc.test\n"
            "  motd: hello\n" + textwrap.indent(textwrap.dedent(extra_yaml), "  "),
            encoding="utf-8",
        )
        limit = ["prlimit", f"--nofile={max_files}:{max_files}", "--"] if max_files else []
        self.proc = subprocess.Popen(
            [*limit, sys.executable, "-m", "ircd", "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.log: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self.wait_for_log("listening on", timeout=15)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.log.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_log(self, text: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"no log line with {text!r}; log so far: {self.log}") from None
            if line is None:
                raise AssertionError(f"ircd exited ({self.proc.poll()}); log: {self.log}")
            if text in line:
                return line

    def kill(self) -> None:
        """Kill the process by its PID, whatever state it is in."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reader.join(timeout=10)


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path)
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def module_live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """One live server for a whole module, flood control, the per-address limit and rate
    off (for property-based tests, which open many connections from 127.0.0.1)."""
    limits = (
        f"limits: {{flood_rate: 0, max_per_address: 0}}\nthrottle: {{per_address: {UNRATED}}}\n"
    )
    server = LiveServer(tmp_path_factory.mktemp("ircd"), limits)
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def start_live_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Factory: start(extra_yaml="", tls=(cert, key)); every server is killed at the end."""
    started: list[LiveServer] = []

    def start(extra_yaml: str = "", tls: tuple[Path, Path] | None = None) -> LiveServer:
        started.append(LiveServer(tmp_path, extra_yaml, tls))
        return started[-1]

    try:
        yield start
    finally:
        for server in started:
            server.kill()


class LiveClient:
    """A small asyncio IRC client for tests: every wait has a timeout, none is a fixed sleep."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.seen: list[Message] = []

    @classmethod
    async def connect(cls, port: int, *, ssl_context: ssl.SSLContext | None = None) -> LiveClient:
        async with asyncio.timeout(5):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ssl_context)
        return cls(reader, writer)

    async def send(self, *lines: str | bytes) -> None:
        for line in lines:
            self.writer.write(line if isinstance(line, bytes) else line.encode() + b"\r\n")
        await self.writer.drain()

    async def read(self, timeout: float = 5) -> Message | None:
        """The next message, or None at end of stream."""
        async with asyncio.timeout(timeout):
            raw = await self.reader.readline()
        if not raw:
            return None
        msg = parse_line(raw.rstrip(b"\r\n"))
        self.seen.append(msg)
        return msg

    async def expect(self, *commands: str, timeout: float = 5) -> Message:
        """Read until a message with one of `commands` arrives (answering server PINGs)."""
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.read(timeout)
                if msg is None:
                    raise AssertionError(f"connection closed while waiting for {commands}")
                if msg.command in commands:
                    return msg
                if msg.command == "PING":
                    await self.send(f"PONG :{msg.params[-1]}")

    async def register(self, nick: str) -> LiveClient:
        await self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")
        await self.expect("001")
        await self.expect("376", "422")  # end of MOTD, or no MOTD
        return self

    async def until_closed(self, timeout: float = 5) -> list[Message]:
        """Read everything up to end of stream."""
        out = []
        while (msg := await self.read(timeout)) is not None:
            out.append(msg)
        return out

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self.writer.wait_closed()


@pytest.fixture(scope="session")
def live_client() -> Callable[..., Any]:
    """`await live_client(port)` -> a connected LiveClient (stateless, so session-wide)."""
    return LiveClient.connect
