"""The asyncio adapter: IrcServer embedded in-process, the per-connection error boundary, SendQ."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import pytest

from ircd.client import Client
from ircd.config import IrcConfig, Limits, Listener
from ircd.net import IrcServer, _render


def config(**limits: Any) -> IrcConfig:
    # Port 0 is not valid in a config file, but an embedder may ask the OS for a free port.
    return dataclasses.replace(
        IrcConfig(),
        listen=(Listener("127.0.0.1", 0),),
        server_name="irc.test",
        limits=Limits(**limits),
    )


class ExplodingHooks:
    def nick_reserved(self, client: Client, nick: str) -> str | None:
        if nick == "boom":
            raise RuntimeError("bug in a hook")
        return None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return False


async def test_embedded_server_and_error_boundary(
    live_client, caplog: pytest.LogCaptureFixture
) -> None:
    irc = IrcServer(config(), hooks=ExplodingHooks())
    await irc.start()
    try:
        [(host, port)] = irc.addresses
        assert host == "127.0.0.1" and port > 0
        alice = await (await live_client(port)).register("alice")
        victim = await live_client(port)
        with caplog.at_level(logging.ERROR, logger="ircd"):
            await victim.send("NICK boom", "USER boom 0 * :b")  # checked at registration
            failed = await victim.expect("400")
        # One error reply naming the command; the connection stays and works.
        assert failed.params[1:] == ("USER", "Internal error")
        assert "bug in a hook" in caplog.text  # the traceback is logged, not swallowed
        await victim.send("PING :still")
        assert (await victim.expect("PONG")).params[-1] == "still"
        await alice.send("PING :fine")
        assert (await alice.expect("PONG")).params[-1] == "fine"
        await victim.close()
    finally:
        await irc.stop(timeout=2)
    assert (await alice.expect("ERROR")).params[0].endswith("(Server shutting down)")
    await alice.close()
    assert irc.server.clients == {}


class FakeTransport(asyncio.Transport):
    """Just enough of a transport to drive IrcConnection without a socket."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self.protocol = protocol
        self.data = bytearray()
        self.high = 65536
        self.paused_writing = False
        self.reading = True
        self.closed = False
        self.aborted = False

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high = high or self.high

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("192.0.2.9", 4000) if name == "peername" else default

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.data += data
        if len(self.data) > self.high and not self.paused_writing:
            self.paused_writing = True
            self.protocol.pause_writing()

    def get_write_buffer_size(self) -> int:
        return len(self.data)  # a peer that never reads: everything written stays queued

    def is_reading(self) -> bool:
        return self.reading

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = self.closed = True


async def until(predicate: Any, timeout: float = 5.0) -> None:
    """Wait, a loop pass at a time, until `predicate()` holds (never a fixed sleep)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0)


def attach(irc: IrcServer) -> tuple[Any, FakeTransport]:
    protocol = irc.protocol()
    transport = FakeTransport(protocol)
    protocol.connection_made(transport)
    return protocol, transport


async def test_sendq_exceeded_drops_only_the_slow_reader() -> None:
    irc = IrcServer(config(sendq=2048, flood_rate=0))
    slow, slow_t = attach(irc)
    fast, fast_t = attach(irc)
    slow.data_received(b"NICK slow\r\nUSER s 0 * :s\r\n")
    fast.data_received(b"NICK fast\r\nUSER f 0 * :f\r\n")
    fast.data_received(b"PRIVMSG slow :" + b"x" * 300 + b"\r\n")
    # Output reaches the transport a loop pass or two later: wait for it.
    await until(lambda: b"x" * 300 in slow_t.data)
    assert not slow_t.aborted
    # What is queued in the transport and what waits for the next pass both count.
    fast.data_received(b"".join(b"PRIVMSG slow :" + b"x" * 300 + b"\r\n" for _ in range(10)))
    assert not slow_t.aborted  # the disconnect is scheduled, never done inside write()
    await until(lambda: slow_t.aborted)
    assert irc.server.find_nick("slow") is None
    assert not fast_t.closed
    slow.connection_lost(None)
    fast.data_received(b"QUIT\r\n")
    assert fast_t.closed and fast_t.data.endswith(b"(Quit)\r\n")
    fast.connection_lost(None)
    assert irc.server.clients == {}


async def test_reading_paused_while_oper_check_runs() -> None:
    irc = IrcServer(config())
    conn, transport = attach(irc)
    conn.data_received(b"NICK a\r\nUSER a 0 * :a\r\nOPER nobody pw\r\nPING :after\r\n")
    assert not transport.reading
    # Wait for the bytes themselves: output reaches the transport one loop pass after
    # reading resumes, so waiting for `reading` alone raced with that flush.
    async with asyncio.timeout(10):
        while not transport.data.endswith(b"after\r\n"):
            await asyncio.sleep(0.001)
    assert transport.reading
    assert transport.data.endswith(b":Password incorrect\r\n:irc.test PONG irc.test after\r\n")
    conn.connection_lost(None)


def queued(connection: Any) -> int:
    """Bytes a connection's output holds for the next flush, batches as it gets them."""
    return len(_render(connection._out, connection))


def registered(irc: IrcServer, *nicks: str, channel: str = "#c") -> dict[str, Any]:
    """Connections on fake transports, registered with `nicks` and in `channel`."""
    out = {}
    for nick in nicks:
        conn, transport = attach(irc)
        conn.data_received(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\nJOIN {channel}\r\n".encode())
        out[nick] = (conn, transport)
    return out


def privmsgs(target: str, count: int, size: int = 300) -> bytes:
    lines = (b"PRIVMSG %s :%d %s\r\n" % (target.encode(), i, b"x" * size) for i in range(count))
    return b"".join(lines)


@pytest.mark.parametrize("order", ["direct", "direct then channel", "channel then direct"])
async def test_sendq_bounds_what_one_pass_queues(order: str) -> None:
    # Output waits in the connection until the flush at the end of the pass: what one
    # pass queues for a connection must stop at the SendQ as the transport's would.
    sendq = 4096
    irc = IrcServer(config(sendq=sendq, flood_rate=0))
    c = registered(irc, "victim", "other", "sender", "talker")
    (victim, victim_t), other_t = c["victim"], c["other"][1]
    (sender, sender_t), (talker, talker_t) = c["sender"], c["talker"]
    await until(lambda: b":talker!" in victim_t.data and b" 366 talker " in talker_t.data)
    for _, t in c.values():
        t.data.clear()
    if order == "direct":
        sender.data_received(privmsgs("victim", 200))  # 60 kB in one read
    elif order == "direct then channel":
        # The talker's lines to the sender come first: the sender's own channel lines
        # then find its output 2.8 kB full, but it gets none of them and stays.
        talker.data_received(privmsgs("sender", 8))
        sender.data_received(privmsgs("victim", 10) + privmsgs("#c", 4))
    else:
        sender.data_received(privmsgs("#c", 4) + privmsgs("victim", 10))
    # Before the flush: nothing holds more than the SendQ, the victim's output is gone.
    assert all(queued(conn) <= sendq for conn, _ in c.values())
    assert victim._out == [] and not victim_t.aborted  # the disconnect is scheduled
    await until(lambda: victim_t.aborted)
    assert irc.server.find_nick("victim") is None
    for nick in ("other", "sender", "talker"):
        assert irc.server.find_nick(nick) is not None
    await until(lambda: b"SendQ exceeded" in other_t.data)
    if order != "direct":
        lines = other_t.data.split(b"\r\n")
        assert [line.split(b" ")[3] for line in lines if b" PRIVMSG #c " in line] == [
            b":%d" % i for i in range(4)
        ]
    if order == "direct then channel":
        assert sender_t.data.count(b" PRIVMSG sender ") == 8
    for conn, _ in c.values():
        conn.connection_lost(None)
    assert irc.server.clients == {}
