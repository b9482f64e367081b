"""The session driver over an in-memory line stream: scripted and random input."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.callsign import Callsign
from gateway.session.commands import SessionInfo
from gateway.session.driver import run_session
from gateway.session.linestream import Line, LineReader
from gateway.session.render import encode_text


class MemoryStream:
    """A LineStream whose input is fixed bytes, read through the real LineReader."""

    via = "memory"

    def __init__(self, data: bytes) -> None:
        items = LineReader(64).feed(data)
        self.lines = [i.text for i in items if isinstance(i, Line)]
        self.output: list[str] = []
        self.closed: str | None = None

    async def read_line(self) -> str | None:
        await asyncio.sleep(0)
        return self.lines.pop(0) if self.lines and self.closed is None else None

    def write(self, text: str) -> None:
        self.output.append(text)

    def discard_input(self) -> None:
        pass

    def source_key(self, callsign: Callsign) -> str:
        return f"memory:{callsign.base}"

    async def close(self, farewell: str | None = None) -> None:
        self.closed = farewell or ""


class Hooks:
    def __init__(self) -> None:
        self.events: list[str] = []

    def logged_in(self, info: SessionInfo, stream: object) -> None:
        self.events.append(f"in {info.callsign}")

    def logged_out(self, info: SessionInfo, stream: object) -> None:
        self.events.append(f"out {info.callsign}")


async def session(data: bytes, good: str = "123456") -> tuple[MemoryStream, Hooks, list[str]]:
    stream, hooks, checked = MemoryStream(data), Hooks(), []

    async def check(callsign: Callsign, code: str, source: str) -> bool:
        checked.append(f"{source} {code}")
        return code == good

    await run_session(
        stream, callsign_first=True, check_code=check, hooks=hooks, attempts=3,
        failure_pause=0, login_timeout=10, idle_timeout=10, clock=lambda: 0.0,
    )  # fmt: skip
    return stream, hooks, checked


async def test_login_commands_and_bye() -> None:
    stream, hooks, checked = await session(b"KN4XYZ-5\r\n999999\r123456\r\rI\rX\rB\r")
    text = "".join(stream.output)
    assert checked == ["memory:KN4XYZ 999999", "memory:KN4XYZ 123456"]
    assert "Login failed." in text and "Welcome KN4XYZ-5" in text
    assert "You are KN4XYZ-5, via memory" in text and "Unknown command" in text
    assert stream.closed == "73!"
    assert hooks.events == ["in KN4XYZ-5", "out KN4XYZ-5"]


async def test_three_failures_close() -> None:
    stream, hooks, checked = await session(b"KN4XYZ\r1\r2\r3\r123456\r")
    assert len(checked) == 3 and hooks.events == []
    assert stream.closed == ""


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_session(data: bytes) -> None:
    stream, hooks, _ = asyncio.run(session(data))
    assert len(hooks.events) in (0, 2)
    assert all(0xFF not in encode_text(text) for text in stream.output)


PARTS = [b"N0TEST-1", b"123456", b"000000", b"H", b"I", b"", b"\xff\xfd", b"x" * 70]


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PARTS), max_size=12))
def test_plausible_sequences_never_crash(parts: list[bytes]) -> None:
    _, hooks, _ = asyncio.run(session(b"\r".join(parts) + b"\r"))
    assert hooks.events in ([], ["in N0TEST-1", "out N0TEST-1"])
