"""SAFELIST in the core: LIST goes out in chunks, each when the client's sink drained.

The sink here holds what it was given until the test says the peer read it (`drain`),
as a socket adapter does with what the kernel did not take.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from ircd.inprocess import InProcessConnection
from ircd.listing import chunk_bytes
from ircd.net import IrcServer
from ircd.protocol import Message, parse_line
from tests.ircd.conftest import CoreClient, Harness, ListSink
from tests.ircd.test_net import FakeTransport, until
from tests.ircd.test_net import config as adapter_config

TOPIC = "t" * 390
#: Small, so that a few dozen channels take several chunks (a quarter of it each).
SENDQ = 8192


class DrainSink(ListSink):
    """A `PacedSink` whose peer reads only when the test says so."""

    def __init__(self) -> None:
        super().__init__()
        self.callback: Callable[[], None] | None = None
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        super().write(data)
        self.writes.append(data)

    def when_drained(self, callback: Callable[[], None]) -> None:
        self.callback = callback

    def drain(self) -> bool:
        """The peer read everything: call whoever waits (False: nobody did)."""
        callback, self.callback = self.callback, None
        if callback is None:
            return False
        callback()
        return True


def paced(harness: Harness, nick: str, *caps: str) -> tuple[CoreClient, DrainSink]:
    user = harness.connect()
    sink = DrainSink()
    user.sink = user.client.sink = sink
    user.register(nick, *caps)
    sink.writes.clear()
    return user, sink


def lines(data: bytes) -> list[Message]:
    return [parse_line(line) for line in data.split(b"\r\n") if line]


def with_channels(make_harness: Any, count: int, **limits: Any) -> tuple[Harness, CoreClient]:
    """A server with `count` channels held by one owner, each with a long topic."""
    limits.setdefault("sendq", SENDQ)
    harness: Harness = make_harness(
        max_channels_per_client=1000, max_channels_per_address=1000, **limits
    )
    owner = harness.user("owner")
    for i in range(count):
        owner.send(f"JOIN #ch{i:03d}", f"TOPIC #ch{i:03d} :{TOPIC}")
    owner.take()
    return harness, owner


def drain_all(sink: DrainSink) -> list[list[Message]]:
    """Each chunk written, as drain is signalled, until nobody waits."""
    chunks = [lines(b"".join(sink.writes))]  # the command's replies, and any after them
    sink.writes.clear()
    while sink.drain():
        assert len(sink.writes) == 1, "one write per drain"
        chunks.append(lines(sink.writes.pop(0)))
    return chunks


def test_list_comes_in_chunks_as_the_sink_drains(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker")
    names = [channel.name for channel in harness.server.channels.values()]
    user.send("LIST")
    [first] = sink.writes
    got = lines(first)
    assert got[0].command == "321" and got[-1].command == "322"  # no 323 yet
    assert user.client.listing is not None
    chunks = [got, *drain_all(sink)[1:]]
    assert len(chunks) > 5
    budget = chunk_bytes(harness.server)
    for chunk in chunks:  # each bounded: at most one line past a quarter of the SendQ
        rows = [m for m in chunk if m.command == "322"]
        assert sum(len(m.to_bytes()) for m in rows[:-1]) < budget
    everything = [m for chunk in chunks for m in chunk]
    assert [m.command for m in everything if m.command != "322"] == ["321", "323"]
    assert everything[-1].command == "323"
    assert [m.params[1] for m in everything if m.command == "322"] == names  # complete, in order
    assert all(m.params[-1] == f"[+nt] {TOPIC}" for m in everything if m.command == "322")
    assert user.client.listing is None and sink.callback is None


def test_a_short_list_goes_out_at_once(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 3)
    user, sink = paced(harness, "asker")
    user.send("LIST")
    assert [m.command for m in lines(b"".join(sink.writes))] == ["321", "322", "322", "322", "323"]
    assert user.client.listing is None and sink.callback is None


def test_filters_hold_across_chunks(make_harness: Any) -> None:
    harness, owner = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker")
    owner.send("PART #ch007", "PART #ch051")  # gone: not listed by the !mask either
    user.send("LIST *5*,!#ch05*")
    got = [m.params[1] for chunk in drain_all(sink) for m in chunk if m.command == "322"]
    assert got == ["#ch005", "#ch015", "#ch025", "#ch035", "#ch045"]


def test_channels_gone_are_skipped_and_new_ones_not_listed(make_harness: Any) -> None:
    harness, owner = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker")
    user.send("LIST")
    first = [m.params[1] for m in lines(sink.writes.pop(0)) if m.command == "322"]
    assert "#ch050" not in first
    owner.send("PART #ch050", "JOIN #new", f"TOPIC #new :{TOPIC}")
    secret = harness.user("secret")
    secret.send("JOIN #ch055")  # a member now: still listed
    owner.send("MODE #ch056 +s")  # secret now, and the asker is not in it
    rest = [m.params[1] for chunk in drain_all(sink) for m in chunk if m.command == "322"]
    listed = first + rest
    expected = [f"#ch{i:03d}" for i in range(60) if i not in (50, 56)]
    assert listed == expected


def test_a_second_list_ends_the_first(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker")
    user.send("LIST")
    sink.writes.clear()
    stale = sink.callback
    assert stale is not None
    user.send("LIST #ch001,#ch002")
    # The first ends with its 323 at once; the second follows, whole (it is short).
    got = [m.command for m in lines(b"".join(sink.writes))]
    assert got == ["323", "321", "322", "322", "323"]
    sink.writes.clear()
    stale()  # the first's wait, ended: nothing more of it
    assert sink.writes == [] and user.client.listing is None


def test_a_second_long_list_replaces_the_first(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker")
    user.send("LIST")
    sink.writes.clear()
    user.send("LIST >0")
    first_chunk = lines(b"".join(sink.writes))
    assert [m.command for m in first_chunk[:2]] == ["323", "321"]
    rest = [m for chunk in drain_all(sink)[1:] for m in chunk]
    listed = [m.params[1] for m in first_chunk + rest if m.command == "322"]
    assert listed == [f"#ch{i:03d}" for i in range(60)]  # the second LIST, once
    assert [m.command for m in rest][-1] == "323"


def test_quitting_mid_list_leaves_no_cursor(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker")
    user.send("LIST")
    callback = sink.callback
    assert callback is not None and user.client.listing is not None
    user.send("QUIT :bye")
    assert sink.closed and user.client.listing is None
    callback()  # a sink that closed never calls; if one did, nothing is written
    assert harness.server.clients.get(user.client.id) is None


def test_a_disconnect_mid_list_leaves_no_cursor(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, _ = paced(harness, "asker")
    user.send("LIST")
    harness.server.disconnect(user.client, "Connection closed")
    assert user.client.listing is None


def test_a_labelled_list_is_one_batch_to_its_323(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker", "labeled-response", "batch", "message-tags")
    user.send("@label=L1 LIST")
    user.send("PING :between")  # answered at once, outside the batch
    chunks = drain_all(sink)
    everything = [m for chunk in chunks for m in chunk]
    opening = everything[0]
    assert opening.command == "BATCH" and opening.tags == {"label": "L1"}
    ref = opening.params[0][1:]
    assert opening.params == (f"+{ref}", "labeled-response")
    pong = next(m for m in everything if m.command == "PONG")
    assert "batch" not in pong.tags and "label" not in pong.tags
    inside = [m for m in everything[1:-1] if m.command != "PONG"]
    assert all(m.tags.get("batch") == ref for m in inside)
    assert [m.command for m in inside if m.command != "322"] == ["321", "323"]
    assert everything[-1].command == "BATCH" and everything[-1].params == (f"-{ref}",)
    assert sum(m.command == "322" for m in inside) == 60


def test_a_labelled_list_replaced_ends_its_batch(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker", "labeled-response", "batch")
    user.send("@label=L1 LIST")
    ref = lines(sink.writes[0])[0].params[0][1:]
    sink.writes.clear()
    user.send("@label=L2 LIST #ch001")
    got = lines(b"".join(sink.writes))
    assert [(m.command, m.params[0]) for m in got[:2]] == [("323", "asker"), ("BATCH", f"-{ref}")]
    assert got[2].command == "BATCH" and got[2].tags["label"] == "L2"


def test_a_labelled_list_without_batch_labels_its_first_line(make_harness: Any) -> None:
    harness, _ = with_channels(make_harness, 60)
    user, sink = paced(harness, "asker", "labeled-response")
    user.send("@label=L1 LIST")
    everything = [m for chunk in drain_all(sink) for m in chunk]
    assert everything[0].command == "321" and everything[0].tags == {"label": "L1"}
    assert all(not m.tags for m in everything[1:])
    assert everything[-1].command == "323"


def test_safelist_is_advertised(harness: Harness) -> None:
    assert "SAFELIST" in harness.server.isupport


async def test_an_attached_client_gets_a_long_list_whole(make_harness: Any) -> None:
    # An in-process client (the gateway's radio users) cannot tell when it drained: it
    # gets LIST at once, before the answer to a PING sent after it (the gateway brackets
    # what it asks between PINGs), and is judged against its SendQ after its reader's turn.
    harness, _ = with_channels(make_harness, 60)
    radio = InProcessConnection.attach(
        harness.server, nick="K1ABC", user="k1abc", host="radio.gateway", account="K1ABC"
    )
    radio.pending()
    radio.send("LIST")
    radio.send("PING :after")
    got = radio.pending()
    assert [m.command for m in got if m.command != "322"] == ["321", "323", "PONG"]
    assert sum(m.command == "322" for m in got) == 60
    await asyncio.sleep(0)  # the SendQ's judgement, after the reader's turn: it read all
    assert not radio.closed
    radio.quit()


# -- the socket adapter's side: when the transport's buffer drained ------------------------


class PeerTransport(FakeTransport):
    """A transport whose peer reads only when told (`take`), with asyncio's flow control:
    pause past the high-water mark, resume at or below the low one."""

    def __init__(self, protocol: asyncio.Protocol) -> None:
        super().__init__(protocol)
        self.low = self.high // 4

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.high = high if high is not None else 65536
        self.low = low if low is not None else self.high // 4
        if len(self.data) > self.high and not self.paused_writing:
            self.paused_writing = True
            self.protocol.pause_writing()

    def take(self) -> bytes:
        """The peer reads everything."""
        data, self.data = bytes(self.data), bytearray()
        if self.paused_writing and len(self.data) <= self.low:
            self.paused_writing = False
            self.protocol.resume_writing()
        return data


async def adapter_owner(irc: IrcServer, count: int) -> Any:
    """A client of `irc` holding `count` channels with long topics, its output read."""
    owner = irc.protocol()
    transport = PeerTransport(owner)
    owner.connection_made(transport)
    owner.data_received(b"NICK owner\r\nUSER o 0 * :o\r\n")
    for i in range(count):
        owner.data_received(f"JOIN #ch{i:02d}\r\nTOPIC #ch{i:02d} :{TOPIC}\r\n".encode())
        await until(lambda: b" TOPIC " in transport.data)
        transport.take()
    assert len(irc.server.channels) == count
    return owner


async def adapter_asker() -> tuple[Any, Any, PeerTransport]:
    """A server with 40 channels (their owner) and a registered asker, its peer read."""
    irc = IrcServer(adapter_config(sendq=SENDQ, flood_rate=0, max_channels_per_client=100))
    owner = await adapter_owner(irc, 40)
    asker = irc.protocol()
    transport = PeerTransport(asker)
    asker.connection_made(transport)
    asker.data_received(b"NICK asker\r\nUSER a 0 * :a\r\n")
    await until(lambda: b" 376 " in transport.data or b" 422 " in transport.data)
    transport.take()
    return owner, asker, transport


async def test_the_adapter_resumes_a_list_once_its_transport_drained() -> None:
    owner, asker, transport = await adapter_asker()
    asker.data_received(b"LIST\r\nPING :mid\r\n")
    got: list[Message] = []
    # Each chunk, then the wait: the high-water mark lowered to a quarter of the SendQ,
    # the transport paused at it, which is not "SendQ exceeded"; the peer reads, the
    # transport resumes, and the next chunk comes a pass later.
    rounds = 0
    while True:
        await until(lambda: transport.paused_writing or b" 323 " in transport.data)
        if not transport.paused_writing:
            break
        assert transport.high == SENDQ // 4 and not transport.aborted
        got += lines(transport.take())
        rounds += 1
    got += lines(transport.take())
    assert rounds > 3 and transport.high == SENDQ and not transport.aborted
    assert [m.params[1] for m in got if m.command == "322"] == [f"#ch{i:02d}" for i in range(40)]
    assert [m.command for m in got if m.command != "322"] == ["321", "PONG", "323"]
    asker.connection_lost(None)
    owner.connection_lost(None)


async def test_past_the_sendq_while_waiting_for_the_drain_is_still_dropped() -> None:
    owner, asker, transport = await adapter_asker()
    asker.data_received(b"LIST\r\n")
    await until(lambda: transport.paused_writing)
    assert not transport.aborted
    # A reader that never reads, sent more than its SendQ meanwhile: dropped as ever.
    line = b"PRIVMSG asker :" + b"y" * 400 + b"\r\n"
    for _ in range(SENDQ // len(line) + 1):
        owner.data_received(line)
    await until(lambda: transport.aborted)
    assert asker._state.server.find_nick("asker") is None
    owner.connection_lost(None)
