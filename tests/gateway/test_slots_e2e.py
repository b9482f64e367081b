"""Connections still logging in cannot hold a listener's slots (`gateway run`, real sockets)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

from gateway.logpace import LogPace
from tests.gateway.support import Client, GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login

Spawn = Callable[[Path], GatewayProcess]


def node_config(tmp_path: Path, bpq: int, extra: str = "") -> Path:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"irc: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
        f"telnet: {{listen: [{{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        f" {extra}bytes_per_second: 1000000}}]}}\n"
    )
    return config


async def dropped(conns: list[Client], expected: int) -> list[bool]:
    """Which of `conns` the gateway dropped (told so, then closed), once `expected` of
    them are. By the close, not by the order of lines: a silent connection is asked for
    its callsign after a second and may still be dropped after it on a busy machine."""

    async def until_closed(conn: Client) -> None:
        while chunk := await conn.reader.read(4096):
            conn.received += chunk

    tasks = [asyncio.create_task(until_closed(c)) for c in conns]
    try:
        async with asyncio.timeout(10):
            while sum(t.done() for t in tasks) < expected:
                await asyncio.wait(
                    [t for t in tasks if not t.done()], return_when=asyncio.FIRST_COMPLETED
                )
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [
        t.done() and not t.cancelled() and b"Too many logins" in c.received
        for t, c in zip(tasks, conns, strict=True)
    ]


async def test_silent_connections_are_dropped_for_newcomers(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq = free_port()
    config = node_config(tmp_path, bpq, "max_connections: 6, max_unauthenticated: 3, ")
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    # A logged-in user does not count among the logins in progress.
    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    # An attacker opens 12 connections and says nothing: never more than 3 stay.
    silent = [await Client.connect(bpq) for _ in range(12)]
    # The 9 dropped (the oldest) are told so at once; the 3 left get the NOCALL prompt
    # after a second.
    results = await dropped(silent, 9)
    assert results == [True] * 9 + [False] * 3, [c.received for c in silent]
    for conn in silent[9:]:
        await conn.expect("Callsign: ")
    await gw.wait_log(r"node1: \d+ connection\(s\) still logging in dropped for newcomers")
    # A newcomer still gets in (it evicts the oldest silent one), and the user is unharmed.
    late = await Client.connect(bpq, b"N0TEST-7\r\n")
    await late.expect("Code: ")
    ham.send(b"/i\r")
    assert b"You are N0TEST-5" in await ham.expect("\r\n")
    for conn in (*silent, late, ham):
        conn.close()
    assert await gw.stop() == 0


async def test_a_user_typing_a_code_outlasts_a_flood_of_newcomers(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    """Issue 12: a random pick among the logins in progress dropped a user at the Code:
    prompt with probability 1/3 per newcomer here; now the silent ones go first."""
    bpq = free_port()
    config = node_config(tmp_path, bpq, "max_unauthenticated: 3, ")
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    user = await Client.connect(bpq, b"N0TEST-5\r\n")
    await user.expect("Code: ")
    # While the user reads the app, an attacker opens 20 connections that say nothing:
    # each gets in by pushing out the oldest silent one; two are left, and the user.
    flood = [await Client.connect(bpq) for _ in range(20)]
    results = await dropped(flood, 18)
    assert results == [True] * 18 + [False] * 2, [c.received for c in flood]
    await gw.wait_log(
        r"node1: 1 connection\(s\) still logging in dropped for newcomers, "
        r"0 of them at the code prompt \(max_unauthenticated 3\)"
    )
    user.send(totp.now().encode() + b"\r")
    await user.expect("/? for help.\r\n")
    user.send(b"/i\r")
    assert b"You are N0TEST-5" in await user.expect("\r\n")
    for conn in (*flood, user):
        conn.close()
    assert await gw.stop() == 0


async def test_lines_typed_during_the_code_check_never_hang_the_session(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq = free_port()
    config = node_config(tmp_path, bpq)
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    user = await Client.connect(bpq, b"N0TEST\r\n")
    await user.expect("Code: ")
    # The code and 20 more lines in one packet: those typed during the check are dropped
    # (a queued guess would skip the pause), and reading goes on.
    user.send(totp.now().encode() + b"\r" + b"typed ahead\r" * 20)
    await user.expect("/? for help.\r\n")
    user.send(b"/i\r")
    assert b"You are N0TEST" in await user.expect("\r\n")
    # A client that sends one packet and hangs up is gone at once, not at login_timeout.
    quick = await Client.connect(bpq, b"N0TEST\r\n" + b"x\r" * 30)
    quick.writer.write_eof()
    await quick.expect_close()
    await gw.wait_log(r"N0TEST on BPQ node1: session ends \(link closed\)")  # as claimed
    user.close()
    assert await gw.stop() == 0


async def test_a_connection_flood_is_paced_in_the_log(tmp_path: Path, spawn_gateway: Spawn) -> None:
    """Radio-side review, finding 4: 1000 silent BPQ connections made 2991 INFO lines
    (connection, session ends, closed). Now at most 20 a minute of each kind of line
    about connections that never logged in; a login is always logged."""
    bpq = free_port()
    config = node_config(tmp_path, bpq, "max_connections: 6, max_unauthenticated: 3, ")
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    started = time.monotonic()
    for _ in range(90):  # each claims a callsign, is asked for its code, and hangs up
        flood = await Client.connect(bpq, b"N0FLD\r\n")
        await flood.expect("Code: ")
        flood.close()
    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    await gw.wait_log(r"N0TEST-5 logged in via BPQ node1")
    ham.close()
    assert await gw.stop() == 0
    # Each pace's first window opens with the flood's first line: no more windows than this.
    windows = 1 + int((time.monotonic() - started) // LogPace().window)
    for kind in (r"connection from \S+ on node1$", r"on node1 closed", r"N0FLD .*session ends"):
        lines = [line for line in gw.log if re.search(kind, line)]
        assert 0 < len(lines) <= LogPace().burst * windows, (kind, len(lines), windows)
