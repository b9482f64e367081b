"""SendQ over real sockets against `python -m ircd`: it measures what a client left unread.

One loop pass of the server may run several clients' bursts, and a reply may be long:
a client that keeps reading must get all of it, however much one pass made; one that
does not read is still dropped once its backlog passes the SendQ.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import Callable
from typing import Any

from ircd.config import IrcConfig, Limits, Listener
from ircd.inprocess import InProcessConnection
from ircd.net import IrcServer
from ircd.protocol import Message
from tests.ircd.conftest import LiveClient

#: Small, so that one sender's burst (or one LIST) is past it: the server must write as
#: it goes, and count only what the socket did not take.
SENDQ = 4096


class Reader:
    """A client that reads everything the server sends, as it comes, into `got`."""

    def __init__(self, client: LiveClient) -> None:
        self.client = client
        self.got: list[Message] = []
        self.changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while (msg := await self.client.read(timeout=30)) is not None:
            self.got.append(msg)
            self.changed.set()
        self.changed.set()

    async def until(self, predicate: Callable[[list[Message]], bool], timeout: float = 20) -> None:
        async with asyncio.timeout(timeout):
            while not predicate(self.got):
                assert not self.task.done(), [m.params for m in self.got[-3:]]
                self.changed.clear()
                await self.changed.wait()

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await self.task
        await self.client.close()


async def joined(live_client: Any, port: int, nick: str, channel: str) -> LiveClient:
    client = await (await live_client(port)).register(nick)
    await client.send(f"JOIN {channel}")
    await client.expect("366")
    return client


def errors(got: list[Message]) -> list[tuple[str, ...]]:
    return [m.params for m in got if m.command == "ERROR"]


async def test_a_reader_gets_every_flood_legal_burst_of_several_senders(
    start_live_server: Any, live_client: Any
) -> None:
    # Finding 1's shape, default flood limits: six senders each write 10 lines of 400
    # bytes at once (within the burst of 16) to a channel. Each burst alone is past the
    # SendQ; the reader keeps reading, so it must stay and get all 60 lines.
    server = start_live_server(f"limits: {{sendq: {SENDQ}, max_per_address: 0}}\n")
    reader = Reader(await joined(live_client, server.port, "reader", "#chat"))
    senders = [await joined(live_client, server.port, f"s{i}", "#chat") for i in range(6)]
    await reader.until(lambda got: sum(m.command == "JOIN" for m in got) == 6)
    texts = {s: [f"{s}-{j} " + "x" * 400 for j in range(10)] for s in range(6)}
    for s, sender in enumerate(senders):  # every burst at once: one server pass, likely
        sender.writer.write(b"".join(f"PRIVMSG #chat :{t}\r\n".encode() for t in texts[s]))
    await asyncio.gather(*(sender.writer.drain() for sender in senders))

    def privmsgs(got: list[Message]) -> list[Message]:
        return [m for m in got if m.command == "PRIVMSG"]

    await reader.until(lambda got: len(privmsgs(got)) == 60 or bool(errors(got)))
    assert errors(reader.got) == []
    for s in range(6):  # each sender's lines, all, in the order sent
        got = [m.params[1] for m in privmsgs(reader.got) if m.source.startswith(f"s{s}!")]
        assert got == texts[s]
    await reader.client.send("PING :still-here")
    await reader.until(lambda got: got[-1].command == "PONG")
    assert "SendQ exceeded" not in "\n".join(server.log)
    for sender in senders:
        await sender.close()
    await reader.close()


async def test_a_client_that_does_not_read_is_still_dropped(
    start_live_server: Any, live_client: Any
) -> None:
    # Its socket takes what the kernel will hold; past that, what waits in the server
    # passes the SendQ and the client is dropped, while a reader in its channel stays.
    server = start_live_server(f"limits: {{sendq: {SENDQ}, max_per_address: 0, flood_rate: 0}}\n")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the kernel holds little
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
    stalled = LiveClient(*await asyncio.open_connection(sock=sock))
    await stalled.register("stalled")
    await stalled.send("JOIN #chat")
    await stalled.expect("366")  # from here on it reads nothing
    watcher = Reader(await joined(live_client, server.port, "watcher", "#chat"))
    sender = await (await live_client(server.port)).register("sender")
    line = b"PRIVMSG stalled :" + b"y" * 400 + b"\r\n"

    def dropped(got: list[Message]) -> bool:
        return any(m.command == "QUIT" and m.source.startswith("stalled!") for m in got)

    sent = 0
    while not dropped(watcher.got):
        assert sent < 64 << 20, "64 MiB to a client that reads nothing, and it is still there"
        await sender.send(line * 100)
        sent += len(line) * 100
        await sender.send("PING :round")  # one round at a time: the server has read it
        await sender.expect("PONG")
    quit_ = next(m for m in watcher.got if m.command == "QUIT")
    assert quit_.params[-1] == "SendQ exceeded"
    await watcher.client.send("PING :watcher")
    await watcher.until(lambda got: got[-1].command == "PONG")
    for client in (sender, stalled):
        await client.close()
    await watcher.close()


async def test_list_longer_than_the_sendq_reaches_a_reading_client(
    start_live_server: Any, live_client: Any
) -> None:
    # Finding 4: 20 channels with 390-character topics make a LIST reply of ~9 kB, more
    # than twice the SendQ, made in one pass. The asker reads it: it gets all of it.
    server = start_live_server(f"limits: {{sendq: {SENDQ}, max_per_address: 0, flood_rate: 0}}\n")
    owner = await (await live_client(server.port)).register("owner")
    names = [f"#topic{i:02d}" for i in range(20)]
    for name in names:
        await owner.send(f"JOIN {name}", f"TOPIC {name} :" + "t" * 390)
    for _ in names:
        await owner.expect("TOPIC")
    asker = Reader(await (await live_client(server.port)).register("asker"))
    await asker.client.send("LIST")
    await asker.until(lambda got: any(m.command in ("323", "ERROR") for m in got))
    assert errors(asker.got) == []
    listed = [m.params[1] for m in asker.got if m.command == "322"]
    assert sorted(listed) == names
    assert all(m.params[-1].endswith("t" * 390) for m in asker.got if m.command == "322")
    await owner.close()
    await asker.close()


async def test_an_attached_reader_gets_every_burst_of_one_pass(live_client: Any) -> None:
    # An in-process client (a radio user of the gateway) is read by a task that runs
    # between loop passes: six senders' bursts in one pass, each past its SendQ, must
    # all reach it. The server is embedded, so the bursts written before the loop polls
    # are read in one pass.
    irc = IrcServer(
        dataclasses.replace(
            IrcConfig(),
            listen=(Listener("127.0.0.1", 0),),
            server_name="irc.test",
            limits=Limits(sendq=SENDQ, max_per_address=0),
        )
    )
    await irc.start()
    try:
        [(_, port)] = irc.addresses
        radio = InProcessConnection.attach(
            irc.server, nick="K1ABC", user="k1abc", host="radio.gateway", account="K1ABC"
        )
        radio.send("JOIN #chat")
        senders = [await joined(live_client, port, f"s{i}", "#chat") for i in range(6)]
        got: list[Message] = []

        async def read_all() -> None:
            while (msg := await radio.read()) is not None:
                got.append(msg)

        reader = asyncio.create_task(read_all())
        texts = {s: [f"{s}-{j} " + "x" * 400 for j in range(10)] for s in range(6)}
        for s, sender in enumerate(senders):
            sender.writer.write(b"".join(f"PRIVMSG #chat :{t}\r\n".encode() for t in texts[s]))
        for sender in senders:
            await sender.writer.drain()
        await senders[0].send("PING :after")  # its answer comes after its lines were run
        await senders[0].expect("PONG", timeout=10)
        async with asyncio.timeout(10):
            while sum(m.command == "PRIVMSG" for m in got) < 60 and not reader.done():
                await asyncio.sleep(0)
        assert not radio.closed and [m for m in got if m.command == "ERROR"] == []
        for s in range(6):
            mine = [
                m.params[1] for m in got if m.command == "PRIVMSG" and m.source.startswith(f"s{s}!")
            ]
            assert mine == texts[s]
        radio.quit()
        await reader
        for sender in senders:
            await sender.close()
    finally:
        await irc.stop(timeout=2)
