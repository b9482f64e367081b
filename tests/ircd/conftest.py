"""Shared helpers: a core harness (fake clock, scheduler and sinks) and a live-server fixture."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from ircd.client import Client
from ircd.config import IrcConfig, Limits
from ircd.hooks import ServerHooks
from ircd.protocol import Message, parse_line
from ircd.server import Server


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

    def __init__(self, config: IrcConfig | None = None, hooks: ServerHooks | None = None) -> None:
        self.clock = FakeClock()
        self.scheduler = FakeScheduler(self.clock)
        self.wall = FakeClock()
        self.wall.now = 1_700_000_000.0
        self.server = Server(
            config or make_config(),
            hooks=hooks,
            clock=self.clock,
            wallclock=self.wall,
            scheduler=self.scheduler,
        )

    def connect(self, ip: str = "192.0.2.1") -> CoreClient:
        return CoreClient(self.server, ip)

    def connect_raw(self, ip: str = "192.0.2.1") -> tuple[ListSink, Client | None]:
        sink = ListSink()
        return sink, self.server.connect(sink, ip=ip)

    def user(self, nick: str, *caps: str) -> CoreClient:
        return self.connect().register(nick, *caps)


def make_config(**limits: Any) -> IrcConfig:
    """A test config: flood control off unless asked for, a short MOTD."""
    limits.setdefault("flood_rate", 0)
    return dataclasses.replace(
        IrcConfig(),
        server_name="irc.test",
        network="TestNet",
        motd="hello",
        limits=Limits(**limits),
    )


@pytest.fixture
def harness() -> Harness:
    return Harness()


@pytest.fixture
def make_harness() -> Callable[..., Harness]:
    """Factory: make_harness(hooks=..., opers=..., motd=..., nicklen=5, ...) -> Harness."""

    def make(*, hooks: ServerHooks | None = None, **kwargs: Any) -> Harness:
        top = {k: kwargs.pop(k) for k in list(kwargs) if k in _TOP_FIELDS}
        config = dataclasses.replace(make_config(**kwargs), **top)
        return Harness(config, hooks)

    return make


_TOP_FIELDS = {f.name for f in dataclasses.fields(IrcConfig)}
