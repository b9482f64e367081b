"""The asyncio adapter: IrcServer embedded in-process, the per-connection error boundary, SendQ."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
from typing import Any

import pytest

from ircd.client import Client
from ircd.config import IrcConfig, Limits, Listener
from ircd.connection import _Batch, _render, _State
from ircd.net import IrcServer


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


def read(connection: Any, data: bytes) -> None:
    """What the transport does for a buffered protocol: read into its buffer, report."""
    buffer = connection.get_buffer(-1)
    buffer[: len(data)] = data
    connection.buffer_updated(len(data))


async def test_connections_read_through_one_buffer() -> None:
    # Every connection's socket is read into the same buffer: a line split across reads
    # is whole once its end comes, whatever other connections read meanwhile.
    irc = IrcServer(config(flood_rate=0))
    alice, alice_t = attach(irc)
    bob, bob_t = attach(irc)
    assert alice.get_buffer(-1) is bob.get_buffer(-1)
    read(alice, b"NICK alice\r\nUSER a 0 * :a\r\nPING :first-ha")
    read(bob, b"NICK bob\r\nUSER b 0 * :b\r\nPING :bob's\r\n")
    read(alice, b"lf\r\n")
    await until(lambda: alice_t.data.endswith(b"\r\n") and bob_t.data.endswith(b"\r\n"))
    assert alice_t.data.endswith(b" PONG irc.test first-half\r\n")
    assert bob_t.data.endswith(b" PONG irc.test bob's\r\n")
    alice.connection_lost(None)
    bob.connection_lost(None)


async def test_output_the_socket_did_not_take_keeps_its_place() -> None:
    # The flush writes to a plain socket itself while its transport holds nothing; once
    # a write is only partly taken, the rest waits in the transport, and every later
    # pass's output must go behind it, through the transport, until it has drained.
    irc = IrcServer(config(sendq=1 << 24, flood_rate=0))
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    theirs.setblocking(False)
    transport, connection = await asyncio.get_running_loop().connect_accepted_socket(
        irc.protocol, ours
    )
    assert connection._fd >= 0  # a plain socket: the flush writes to it directly
    chunks = [bytes([65 + i]) * 100_000 for i in range(3)]
    received = bytearray()

    def drained() -> bool:
        with contextlib.suppress(BlockingIOError):
            while chunk := theirs.recv(1 << 16):
                received.extend(chunk)
        return len(received) >= 300_000

    try:
        connection.write(chunks[0])
        irc._state.flush()  # the end of a loop pass
        assert transport.get_write_buffer_size() > 0  # the socket took only part of it
        # The peer reads what the socket took: the socket has room again before the
        # transport's own writer has run (on a later pass), and the transport still
        # holds the rest of the first chunk.
        drained()
        assert received and transport.get_write_buffer_size() > 0
        for chunk in chunks[1:]:
            connection.write(chunk)
            irc._state.flush()
        await until(drained)
        assert bytes(received) == b"".join(chunks)
    finally:
        transport.abort()
        theirs.close()
        await until(lambda: not irc._state.connections)


async def test_reading_paused_while_oper_check_runs() -> None:
    irc = IrcServer(config())
    conn, transport = attach(irc)
    conn.data_received(b"NICK a\r\nUSER a 0 * :a\r\nOPER nobody pw\r\nPING :after\r\n")
    assert not transport.reading
    # Await the check itself (a task of the runner), then the bytes: output reaches the
    # transport a loop pass after reading resumes, so waiting for `reading` alone raced.
    async with asyncio.timeout(10):
        await asyncio.gather(*irc.server.runner.tasks)  # type: ignore[attr-defined]
    await until(lambda: transport.data.endswith(b"after\r\n"))
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
    # Output waits in the connection until the end of the pass, or until it passes
    # `write_at` (a quarter of the SendQ here): then it goes to the transport at once,
    # and one that takes nothing (a peer that never reads) passes its SendQ in the pass.
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
    # Before the end of the pass: nothing holds more than the SendQ, the victim's output is gone.
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


# -- channel batches over real sockets ---------------------------------------------------


async def member(live_client: Any, port: int, nick: str, channels: str, *caps: str) -> Any:
    """A registered client in `channels` (comma-separated), with `caps` if any."""
    client = await live_client(port)
    if caps:
        await client.send("CAP REQ :" + " ".join(caps))
    await client.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}", "CAP END", f"JOIN {channels}")
    for _ in channels.split(","):
        await client.expect("366")
    return client


async def messages(client: Any, count: int) -> list[tuple[str, str, str]]:
    """The next `count` PRIVMSGs and NOTICEs as (sender, target, text); others skipped."""
    out = []
    while len(out) < count:
        msg = await client.expect("PRIVMSG", "NOTICE")
        out.append((msg.source.split("!")[0], msg.params[0], msg.params[-1]))
    return out


def burst(sender: str, private: str, notice: str) -> tuple[bytes, list[tuple[str, str]]]:
    """One write of channel lines to #c, some to #d, private lines and notices between
    them; and its (target, text) pairs in order."""
    sent = []
    for i in range(40):
        sent.append(("#c", f"{sender}{i}"))
        if i % 3 == 0:
            sent.append((private, f"{sender}{i} private"))
        if i % 5 == 0:
            sent.append(("#d", f"{sender}{i} in #d"))
        if i % 7 == 0:
            sent.append((notice, f"{sender}{i} notice"))
    data = b"".join(
        f"{'NOTICE' if text.endswith('notice') else 'PRIVMSG'} {target} :{text}\r\n".encode()
        for target, text in sent
    )
    return data, sent


def test_batch_renders_what_each_member_gets() -> None:
    # A member gets the batch's items up to where it was detached (if it was), less the
    # ones it skips; cut from the joined string, it must equal joining those items.
    batch = _Batch([])
    items = [f"line {i}\r\n".encode() * (i % 3 + 1) for i in range(9)]
    for data in items:
        batch.add(data, -1, -1)
    cases = [
        (None, None),
        ({0}, None),
        ({8}, None),
        ({0, 1, 2, 3, 4, 5, 6, 7, 8}, None),
        ({1, 2, 5}, None),
        (None, 0),
        (None, 4),
        ({3, 4, 7}, 5),
        ({0, 8}, 9),
        ({6}, 6),
    ]
    for n, (skipped, end) in enumerate(cases):
        member = object()
        if skipped is not None:
            batch.skips[member] = skipped  # type: ignore[index]
        if end is not None:
            batch.detached[member] = end  # type: ignore[index]
        gets = [d for i, d in enumerate(items[:end]) if i not in (skipped or ())]
        assert batch.render(member) == b"".join(gets), n  # type: ignore[arg-type]
    assert batch.render(object()) == b"".join(items)  # type: ignore[arg-type]
    # An item added after a render (of a connection that closed in the pass) is not lost.
    batch = _Batch([])
    batch.add(b"early\r\n", -1, -1)
    assert batch.render(object()) == b"early\r\n"  # type: ignore[arg-type]
    batch.add(b"late\r\n", -1, -1)
    assert batch.render(object()) == b"early\r\nlate\r\n"  # type: ignore[arg-type]


async def test_channel_batches_keep_every_connections_order(
    live_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Channel lines of a pass are queued once in a batch that every member's output
    # holds; a member written to otherwise in between (its own echo, a private line,
    # the other channel's batch) is detached from it. Every member must still see every
    # line, each sender's in the order sent, and the channel's in one order for all.
    opened = added = 0
    detached: list[Any] = []
    open_batch, add, detach = _State._open_batch, _Batch.add, _Batch.detach

    def count_open(self: _State, sinks: list[Any]) -> _Batch:
        nonlocal opened
        opened += 1
        return open_batch(self, sinks)

    def count_add(self: _Batch, data: bytes, skip: int, mine: int) -> None:
        nonlocal added
        added += 1
        add(self, data, skip, mine)

    def record_detach(self: _Batch, connection: Any) -> None:
        detached.append(connection)
        detach(self, connection)

    monkeypatch.setattr(_State, "_open_batch", count_open)
    monkeypatch.setattr(_Batch, "add", count_add)
    monkeypatch.setattr(_Batch, "detach", record_detach)
    irc = IrcServer(config(flood_rate=0, max_per_address=0))
    await irc.start()
    try:
        [(_, port)] = irc.addresses
        alice = await member(live_client, port, "alice", "#c,#d", "echo-message")
        bob = await member(live_client, port, "bob", "#c,#d")
        # Another tag mode: another group of members, another batch.
        carol = await member(live_client, port, "carol", "#c", "server-time", "message-tags")
        dave = await member(live_client, port, "dave", "#c,#d")
        from_alice, alice_sent = burst("alice", "bob", "carol")
        from_dave, dave_sent = burst("dave", "alice", "bob")
        # Both bursts at once: the server most likely reads them in one pass.
        alice.writer.write(from_alice)
        dave.writer.write(from_dave)
        await alice.writer.drain()
        await dave.writer.drain()

        def expected(nick: str, channels: set[str], echo: bool = False) -> dict[str, list[str]]:
            """Per sender, the texts `nick` must get, in order (with echo-message, every
            line it sent comes back to it)."""
            return {
                sender: [
                    text
                    for target, text in sent
                    if (echo and sender == nick)
                    or (sender != nick and (target in channels or target == nick))
                ]
                for sender, sent in (("alice", alice_sent), ("dave", dave_sent))
            }

        wanted = {
            "alice": (alice, expected("alice", {"#c", "#d"}, echo=True)),
            "bob": (bob, expected("bob", {"#c", "#d"})),
            "carol": (carol, expected("carol", {"#c"})),
            "dave": (dave, expected("dave", {"#c", "#d"})),
        }
        channel_orders = []
        for nick, (client, want) in wanted.items():
            got = await messages(client, sum(len(texts) for texts in want.values()))
            for sender, texts in want.items():
                assert [text for source, _, text in got if source == sender] == texts, nick
            channel_orders.append([text for _, target, text in got if target == "#c"])
        # One order for all: alice's (her echoes included) holds every #c line.
        everything = channel_orders[0]
        assert len(everything) == 80
        for order in channel_orders:
            assert order == [text for text in everything if text in set(order)]
        assert detached and added > opened  # the batches were held and members detached
        for client in (alice, bob, carol, dave):
            await client.close()
    finally:
        await irc.stop(timeout=2)
