"""Runs one session over any line stream: the login dialogue, then the command loop.

Nothing here knows whether the bytes travel over telnet or AX.25; the transport
provides a `LineStream`, the application provides the code check and the hooks that
track who is logged in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from gateway.callsign import Callsign
from gateway.session import commands, login
from gateway.session.commands import SessionInfo

log = logging.getLogger("gateway.session")


class LineStream(Protocol):
    """What a transport offers a session."""

    #: Human description of the path, e.g. "telnet 127.0.0.1:8023 (BPQ)".
    via: str

    async def read_line(self) -> str | None:
        """The next line, or None once the peer has gone."""

    def write(self, text: str) -> None:
        """Queue text for the user ('\\n' line ends; the transport paces and encodes)."""

    def discard_input(self) -> None:
        """Forget lines typed ahead (during a code check or a pause)."""

    def source_key(self, callsign: Callsign) -> str:
        """The penalty key of this connection once the claimed callsign is known."""

    async def close(self, farewell: str | None = None) -> None:
        """Send `farewell`, let the output drain, and end the connection."""


CheckCode = Callable[[Callsign, str, str], Awaitable[bool]]


class Hooks(Protocol):
    def logged_in(self, info: SessionInfo, stream: LineStream) -> None: ...

    def logged_out(self, info: SessionInfo, stream: LineStream) -> None: ...


async def run_session(
    stream: LineStream,
    *,
    callsign_first: bool,
    check_code: CheckCode,
    hooks: Hooks,
    attempts: int,
    failure_pause: float,
    login_timeout: float,
    idle_timeout: float,
    clock: Callable[[], float] = time.time,
    known_callsign: Callsign | None = None,
) -> None:
    """Drive one connection from its first byte to its close.

    `known_callsign`: the transport already knows who is calling (AX.25): no prompt.
    """
    machine = login.Login(
        callsign_first=callsign_first,
        attempts=attempts,
        pause=failure_pause,
        callsign=known_callsign,
    )
    try:
        async with asyncio.timeout(login_timeout):
            callsign = await _login(stream, machine, check_code)
    except TimeoutError:
        await stream.close("Login timed out.")
        return
    if callsign is None:
        await stream.close()
        return
    info = SessionInfo(callsign=callsign, via=stream.via, since=clock())
    hooks.logged_in(info, stream)
    try:
        await _command_loop(stream, info, idle_timeout)
    finally:
        hooks.logged_out(info, stream)


async def _login(
    stream: LineStream, machine: login.Login, check_code: CheckCode
) -> Callsign | None:
    actions = machine.start()
    while True:
        for action in actions:
            if isinstance(action, login.Send):
                stream.write(action.text)
        last = actions[-1] if actions else None
        if isinstance(last, login.Accept):
            return last.callsign
        if isinstance(last, login.Close):
            log.info("login ended: %s (%s)", last.reason, stream.via)
            return None
        if isinstance(last, login.CheckCode):
            source = stream.source_key(last.callsign)
            ok = await check_code(last.callsign, last.code, source)
            stream.discard_input()
            actions = machine.checked(ok)
        elif isinstance(last, login.Pause):
            await asyncio.sleep(last.seconds)
            stream.discard_input()
            actions = machine.resume()
        else:
            text = await stream.read_line()
            if text is None:
                return None
            actions = machine.line(text)


async def _command_loop(stream: LineStream, info: SessionInfo, idle_timeout: float) -> None:
    stream.write(f"Welcome {info.callsign}. H for help.\n{commands.PROMPT}")
    while True:
        try:
            async with asyncio.timeout(idle_timeout):
                text = await stream.read_line()
        except TimeoutError:
            await stream.close("Idle timeout. 73!")
            return
        if text is None:
            return
        reply = commands.handle(info, text)
        if reply is None:
            stream.write(commands.PROMPT)
            continue
        if reply.close:
            await stream.close(reply.text)
            return
        stream.write(f"{reply.text}\n{commands.PROMPT}")
