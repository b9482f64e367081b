"""One IRC connection over asyncio: socket reads into the core, output batched per loop pass.

The per-connection half of the asyncio adapter (`ircd.net` holds the listeners and
`IrcServer`). Sockets read into one buffer shared by the connections of a server
(`asyncio.BufferedProtocol`); a channel message is held once per loop pass for all the
members that get it (`_Batch`), and each connection's output is written in one go at the
end of the pass (`_State.flush`), or earlier once it passes `WRITE_AT` bytes. The SendQ
bounds what the socket did not take (the transport's buffer), never what one pass made.
A connection also tells the core when what waits for its socket has drained
(`IrcConnection.when_drained`), which is what paces a long LIST (`ircd.listing`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
from collections.abc import Callable
from typing import Any, cast

from ircd.client import Client
from ircd.server import Server

log = logging.getLogger("ircd.net")

#: Bytes read from a socket at most at once (asyncio's own read size).
READ_SIZE = 256 * 1024

#: Output held for a connection within one loop pass, in bytes, past which it is written
#: at once instead of at the end of the pass (a quarter of the SendQ if that is less).
#: One pass may run many sockets' bursts: held to the end, a reader that keeps up would
#: be measured against its SendQ by what the pass made, not by what it left unread.
WRITE_AT = 64 * 1024


class _Batch:
    """Channel messages of one loop pass to the same members, held once for all of them.

    Each member's output holds the batch itself, once; a message to the same members
    is then one append here instead of one per member. A member that gets anything
    else after it (its own echo, a reply, another channel's batch) is detached: it gets
    the items up to then from the batch and every later one through its own `write`,
    so each member's order is kept (`IrcConnection._write_after_batch`).

    Writing as it grows: a member holding the batch has `_queued` + `size` bytes held
    (what it skips is taken off its `_queued`). `room` is the least of `WRITE_AT` less
    `_queued` among those members, so a message costs one add and one compare; past it,
    `_State.multicast` writes out every connection's output (`_State.write_out`).
    """

    __slots__ = ("detached", "foreign", "items", "joined", "room", "sinks", "size", "skips")

    def __init__(self, sinks: list[Any]) -> None:
        self.sinks = sinks  # the channel plan's list: the same object, the same members
        # Positions of members that are not our connections (in-process clients): they
        # get each message at once, through their own `write`.
        self.foreign: list[int] = []
        self.items: list[bytes] = []
        # Members that must not get some items (the sender, or one answered in its
        # replies), with those items' positions.
        self.skips: dict[IrcConnection, set[int]] = {}
        # Detached members, with how many items they get from the batch.
        self.detached: dict[IrcConnection, int] = {}
        self.joined: bytes | None = None
        self.size = 0  # bytes of `items`
        self.room = 0  # set by `_State._open_batch`

    def add(self, data: bytes, skip: int, mine: int) -> None:
        position = len(self.items)
        self.items.append(data)
        size = len(data)
        self.size += size
        self.joined = None  # rendered before this item (for a connection that closed)
        for i in (skip, mine):
            if i >= 0 and i not in self.foreign:
                connection = self.sinks[i]
                self.skips.setdefault(connection, set()).add(position)
                if connection not in self.detached:
                    connection._queued -= size  # it holds the batch, without this item
        for i in self.foreign:
            if i != skip and i != mine:
                self.sinks[i].write(data)
        if self.detached:
            left_out = {self.sinks[i] for i in (skip, mine) if i >= 0}
            for connection in self.detached:
                if connection not in left_out:
                    connection.write(data)

    def detach(self, connection: IrcConnection) -> None:
        """`connection` got something else after this batch: later items go to it directly."""
        self.detached[connection] = len(self.items)
        connection._queued += self.size  # what it gets of the batch (skipped items are off)

    def render(self, connection: IrcConnection) -> bytes:
        """What `connection` gets of it."""
        skipped = self.skips.get(connection)
        end = self.detached.get(connection)
        if skipped is None and end is None:
            if self.joined is None:
                self.joined = b"".join(self.items)  # once for every member
            return self.joined
        items = self.items if end is None else self.items[:end]
        if skipped is not None:
            items = [d for i, d in enumerate(items) if i not in skipped]
        return b"".join(items)


def _render(out: list[bytes | _Batch], connection: IrcConnection) -> bytes:
    """A connection's queued output as one string (batches as it gets them)."""
    if len(out) == 1:
        data = out[0]
        return data.render(connection) if isinstance(data, _Batch) else data
    try:
        return b"".join(out)  # type: ignore[arg-type]
    except TypeError:  # a batch among them
        return b"".join([d.render(connection) if isinstance(d, _Batch) else d for d in out])


class _State:
    """Connections of one `IrcServer`, and an event set whenever there are none.

    Output is batched: a connection written to joins `dirty`, and one callback, after the
    loop's next poll, hands each dirty connection's bytes to its transport in one write.
    A fan-out of many messages then costs one send() per recipient per pass instead of
    one per message (the system call dominated the cost of a delivery). Channel
    messages of a pass to the same members share a `_Batch` (`multicast`). Output past
    `write_at` is written before the end of the pass (`write_out`,
    `IrcConnection._write_now`), so what a connection holds is never its SendQ's worth.
    """

    def __init__(self) -> None:
        self.server: Server  # set by IrcServer once the core exists
        self.connections: set[IrcConnection] = set()
        self.idle = asyncio.Event()
        self.idle.set()
        self.dirty: list[IrcConnection] = []
        self.flush_scheduled = False
        # Connections waiting to hear that their output drained (`when_drained`): each
        # is looked at once this pass's output has gone to its socket.
        self.drain_waiters: list[IrcConnection] = []
        # Open batches of this pass, by id() of the plan's list of sinks.
        self.batches: dict[int, _Batch] = {}
        # The least `WRITE_AT` of any connection made (each keeps the one it started with).
        self.write_at = WRITE_AT
        # Where every plain connection's socket is read into (`IrcConnection.get_buffer`):
        # one buffer for all, since each read is copied into the client's line buffer at
        # once. asyncio's own path allocates a bytes object of its 256 KiB read size per
        # read, which glibc serves by mmap, then shrinks by mremap and frees by munmap:
        # three system calls and a page fault per read, about a tenth of the server's CPU
        # under channel traffic (docs/PERFORMANCE.md).
        self.read_buffer = bytearray(READ_SIZE)
        self.read_view = memoryview(self.read_buffer)

    def schedule_flush(self) -> None:
        self.flush_scheduled = True
        # Two hops: the flush runs after the loop's next poll for input, so lines read
        # meanwhile go out in the same send() (fewer system calls per delivery under
        # steady load, measured in docs/PERFORMANCE.md).
        loop = asyncio.get_running_loop()
        loop.call_soon(loop.call_soon, self.flush)

    def multicast(self, sinks: list[Any], data: bytes, skip: int, mine: int) -> None:
        """The core's `Multicast`: a message to a channel's members joins their batch."""
        batch = self.batches.get(id(sinks))
        if batch is None or batch.sinks is not sinks:
            batch = self._open_batch(sinks)
        batch.add(data, skip, mine)
        if batch.size > batch.room:
            # A member holds `write_at` bytes: write everything out now, so that the
            # SendQ sees only what the sockets did not take (not inside `add`, which
            # loops over connections).
            self.write_out()

    def _open_batch(self, sinks: list[Any]) -> _Batch:
        batch = self.batches[id(sinks)] = _Batch(sinks)
        # A member's first output of the pass may grow to `write_at` before it is written.
        room = self.write_at
        for i, connection in enumerate(sinks):
            if type(connection) is not IrcConnection:
                batch.foreign.append(i)
                continue
            if connection._closing or connection._transport is None:
                continue  # as `write` would drop it
            previous = connection._batch
            if previous is not None:
                previous.detach(connection)  # the new one comes after it
            connection._batch = batch
            if connection.write is connection._first:  # its first write of the pass
                self.dirty.append(connection)
            else:
                left = self.write_at - connection._queued
                if left < room:
                    room = left
            connection._out.append(batch)
            connection.write = connection._after_batch
        batch.room = room
        if not self.flush_scheduled:
            self.schedule_flush()
        return batch

    def flush(self) -> None:
        """The end of a loop pass."""
        self.flush_scheduled = False
        self.write_out()
        if self.drain_waiters:
            waiters, self.drain_waiters = self.drain_waiters, []
            for connection in waiters:
                connection._check_drained()

    def write_out(self) -> None:
        """Hand every connection's output to its socket or transport."""
        self.batches.clear()
        dirty, self.dirty = self.dirty, []
        batch_type = _Batch  # a local: used once per member
        # `IrcConnection.flush` inlined: this runs once per recipient per pass.
        for connection in dirty:
            connection.write = connection._first  # the next write is a pass's first
            connection._batch = None
            connection._queued = 0
            out = connection._out
            if not out:
                continue
            # Bytes from here on: a batch (the common case: a channel's lines only) is
            # rendered just below; `type() is` is the cheap test on this path and mypy
            # cannot narrow by it, hence the declared type and the two ignores.
            data: bytes = out[0]  # type: ignore[assignment]
            if len(out) > 1:
                data = _render(out, connection)
            elif type(data) is batch_type:  # type: ignore[comparison-overlap]  # a channel's lines only
                data = data.render(connection)
            out.clear()
            transport = connection._transport
            if connection._closing or transport is None:
                continue
            _send(connection, transport, data)


def _send(connection: IrcConnection, transport: asyncio.Transport, data: bytes) -> None:
    """`data` to the socket if nothing waits before it, the rest to the transport.

    What transport.write() would do first, without its Python: try the socket at once
    (a plain socket only, and only when nothing is queued before it). The transport can
    hold bytes only once we gave it some (`_handed`), so most connections skip asking
    it. A transport closing on its own (a socket error) has a connection_lost on its
    way: a write to its socket fails, or goes to a peer that is being dropped, and what
    is left goes to transport.write, which drops it. Past `sendq` bytes waiting in the
    transport, it calls pause_writing(): "SendQ exceeded".
    """
    fd = connection._fd
    if fd >= 0 and (not connection._handed or not transport.get_write_buffer_size()):
        try:
            sent = os.write(fd, data)
        except OSError:
            sent = 0  # would block, or an error the transport meets again and handles
        if sent == len(data):
            connection._handed = False
            return
        data = data[sent:]
    connection._handed = True
    transport.write(data)
    if connection._lowered and transport.get_write_buffer_size() > connection._sendq:
        connection.pause_writing()  # the transport, paused at the drain mark, will not


class IrcConnection(asyncio.BufferedProtocol):
    """One socket: feeds received bytes to the core and is the client's `Sink`.

    A buffered protocol: the transport reads into `_State.read_buffer` (`get_buffer`,
    `buffer_updated`). `data_received` takes bytes from a wrapping protocol instead
    (`WebSocketTransport`).

    Slots: the flush touches every member's connection once per pass, and slots make
    that a fixed offset into a smaller object instead of a lookup in its `__dict__`.
    """

    __slots__ = (
        "_after_batch",
        "_batch",
        "_client",
        "_closing",
        "_fd",
        "_first",
        "_handed",
        "_lowered",
        "_more",
        "_on_drained",
        "_out",
        "_queued",
        "_sendq",
        "_state",
        "_tls",
        "_transport",
        "_websocket",
        "write",
    )

    def __init__(self, state: _State, tls: bool, websocket: bool = False) -> None:
        self._state = state
        self._tls = tls
        self._websocket = websocket
        self._transport: asyncio.Transport | None = None
        self._client: Client | None = None
        self._closing = False
        self._out: list[bytes | _Batch] = []
        # The open `_Batch` last queued in `_out` in this pass, if any.
        self._batch: _Batch | None = None
        # The Sink's `write`: which method takes a write depends on what is queued in
        # this pass (see `_write_first`). Each is bound once, not once per pass.
        self._first = self._write_first
        self._more = self._write_more
        self._after_batch = self._write_after_batch
        self.write: Callable[[bytes], None] = self._first
        # Bytes `_out` holds, but for an open batch it is still attached to (`_Batch`).
        # Past `write_at` they are written at once (`_write_now`).
        self._queued = 0
        self._sendq = state.server.config.limits.sendq
        # The socket's descriptor, for a flush that writes to it directly (-1: always
        # through the transport, as for TLS and WebSocket, which frame or encrypt).
        self._fd = -1
        # Output was handed to the transport since its buffer was last seen empty.
        self._handed = False
        # Who waits for the output to drain (`when_drained`), and whether the transport's
        # high-water mark is lowered to the drain mark to tell when it did.
        self._on_drained: Callable[[], None] | None = None
        self._lowered = False

    # -- asyncio.Protocol ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: uvloop's transports are not asyncio.Transport subclasses.
        self._transport = cast(asyncio.Transport, transport)
        self._state.connections.add(self)
        self._state.idle.clear()
        server = self._state.server
        # Past `sendq` bytes queued, asyncio calls pause_writing(): that is "SendQ exceeded".
        self._sendq = server.config.limits.sendq
        self._transport.set_write_buffer_limits(high=self._sendq)
        write_at = min(WRITE_AT, self._sendq // 4)
        if write_at < self._state.write_at:
            self._state.write_at = write_at  # batches use the least (a reload may lower it)
        sock = None if self._tls or self._websocket else transport.get_extra_info("socket")
        if sock is not None and sock.type == socket.SOCK_STREAM:
            self._fd = sock.fileno()
        peer = transport.get_extra_info("peername")
        ip = peer[0] if isinstance(peer, tuple) else "127.0.0.1"
        certfp = certificate_fingerprint(self._transport) if self._tls else None
        local = transport.get_extra_info("sockname")
        port = local[1] if isinstance(local, tuple) and len(local) > 1 else None
        self._client = server.connect(
            self, ip=ip, tls=self._tls, certfp=certfp, websocket=self._websocket, port=port
        )

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._state.read_view

    def buffer_updated(self, nbytes: int) -> None:
        # A view of the shared buffer: the core copies it into the client's line buffer
        # before this returns, and keeps no reference to it.
        self.data_received(self._state.read_view[:nbytes])

    def data_received(self, data: bytes | memoryview) -> None:
        if self._client is None or self._closing:
            return
        try:
            self._state.server.receive(self._client, data)
        except Exception:
            # The one catch-all: a bug in a command handler costs this connection only.
            log.exception("internal error handling input from %r; closing it", self._client)
            self._state.server.disconnect(self._client, "Internal error")  # sends ERROR
            self.close()

    def eof_received(self) -> bool:
        return False  # let the transport close; connection_lost does the cleanup

    def browser_page(self, origin: str) -> None:
        """The WebSocket handshake came from a page of `origin` that the listener allows.

        Another site's script may be what acts in the user's browser, so no login by the
        browser's client certificate (and no exemption earned by it); SASL reads
        `web_origin` for the rest. Called before any IRC byte arrives.
        """
        client = self._client
        if client is None:
            return
        client.web_origin = origin
        if client.certfp is not None:
            server = self._state.server
            client.certfp = None
            client.flood_exempt = server.admission.flood_exempt(client)
            refusal = server.admission.zlined(client)  # exempt by the certificate, maybe
            if refusal is not None:
                log.info("refused %s: %s", client.ip, refusal.reason)
                server.disconnect(client, refusal.reason)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._drop_output()
        if self._client is not None:
            reason = "Connection closed" if exc is None else f"Read error: {type(exc).__name__}"
            self._state.server.disconnect(self._client, reason)
        self._state.connections.discard(self)
        if not self._state.connections:
            self._state.idle.set()

    def pause_writing(self) -> None:
        # Called from inside transport.write(), possibly in a fan-out loop: never call into
        # the server from here, schedule it.
        transport = self._transport
        if (
            self._lowered
            and transport is not None
            and transport.get_write_buffer_size() <= self._sendq
        ):
            return  # past the drain mark (`_check_drained`), not past the SendQ
        if not self._closing:
            self._closing = True
            self._drop_output()  # nothing more is queued for a connection that is going
            asyncio.get_running_loop().call_soon(self._abort, "SendQ exceeded")

    def resume_writing(self) -> None:
        # Only ever paused at the drain mark (past the SendQ it is dropped): it is reached.
        if not self._lowered:
            return
        self._lowered = False
        callback, self._on_drained = self._on_drained, None
        if self._transport is not None:
            self._transport.set_write_buffer_limits(high=self._sendq)
        if callback is not None and not self._closing:
            # Maybe from inside transport.write() (TLS): into the server later.
            asyncio.get_running_loop().call_soon(self._drained, callback)

    def when_drained(self, callback: Callable[[], None]) -> None:
        """`PacedSink`: `callback` once what waits for the socket (the transport's
        buffer) is at most a quarter of the SendQ, looked at after this pass's output went
        to the socket (`_State.flush`)."""
        if self._closing or self._transport is None:
            return
        self._on_drained = callback
        state = self._state
        state.drain_waiters.append(self)
        if not state.flush_scheduled:
            state.schedule_flush()

    def _check_drained(self) -> None:
        transport = self._transport
        if self._on_drained is None or self._lowered or self._closing or transport is None:
            return
        mark = self._sendq // 4
        if not self._handed or transport.get_write_buffer_size() <= mark:
            callback, self._on_drained = self._on_drained, None
            asyncio.get_running_loop().call_soon(self._drained, callback)
            return
        # asyncio tells only of a pause and the resume after it: with the high-water mark
        # at the drain mark, the transport pauses now and resumes once below it. Past the
        # SendQ meanwhile, `_send` tells (`pause_writing` tells the two apart).
        self._lowered = True
        transport.set_write_buffer_limits(high=mark, low=mark)

    def _drained(self, callback: Callable[[], None]) -> None:
        # A loop callback of its own: a bug in the core costs this LIST, logged by asyncio,
        # and no other connection's turn in the flush that found it drained.
        if not self._closing:
            callback()

    def _abort(self, reason: str) -> None:
        self._closing = True
        self._drop_output()
        if self._client is not None:
            self._state.server.disconnect(self._client, reason)
        if self._transport is not None:
            self._transport.abort()

    # -- Sink ------------------------------------------------------------------------

    def _write_first(self, data: bytes) -> None:
        """`write`: queue `data` for the flush at the end of this loop pass.

        This method takes the first write of a pass only: it joins the dirty list, and
        then `write` is `_write_more` until the flush (`_State.flush` sets it back).
        Channel messages do not come here but through `_State.multicast`, so a write
        per member is rare on the hot path.
        """
        if self._closing or self._transport is None:
            return
        state = self._state
        state.dirty.append(self)
        if not state.flush_scheduled:
            state.schedule_flush()
        self.write = self._more
        self._write_more(data)

    def _write_more(self, data: bytes) -> None:
        """`write` after the first of a pass: queue it, and write out past `write_at`."""
        self._out.append(data)
        self._queued += len(data)
        if self._queued > self._state.write_at:
            self._write_now()

    def _write_now(self) -> None:
        """Write this connection's output before the end of the pass (no batch is open
        for it here: `write` detached it). It stays on the dirty list, `write` as it is."""
        data = _render(self._out, self)
        self._out.clear()
        self._queued = 0
        if not self._closing and self._transport is not None:
            _send(self, self._transport, data)

    def _write_after_batch(self, data: bytes) -> None:
        """`write` while a batch is the last thing queued: `data` goes after it, and so
        do the batch's later items (this connection is detached from it)."""
        batch = self._batch
        if batch is not None:
            batch.detach(self)
            self._batch = None
        self.write = self._more
        self._write_more(data)

    def _drop_output(self) -> None:
        self._on_drained = None
        self.write = self._first
        self._batch = None
        self._out.clear()
        self._queued = 0

    def flush(self) -> None:
        """Hand what was written since the last pass to the transport, in one write."""
        self.write = self._first
        self._batch = None
        self._queued = 0
        if not self._out:
            return
        data = _render(self._out, self)
        self._out.clear()
        if not self._closing and self._transport is not None:
            _send(self, self._transport, data)

    def close(self) -> None:
        if not self._closing and self._transport is not None:
            self.flush()
            self._closing = True
            self._transport.close()  # flushes what is queued first

    def pause_reading(self) -> None:
        if self._transport is not None and self._transport.is_reading():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None and not self._closing and not self._transport.is_reading():
            self._transport.resume_reading()

    def abort(self) -> None:
        """Drop the connection without flushing (shutdown deadline passed)."""
        if self._transport is not None:
            self._transport.abort()


def certificate_fingerprint(transport: asyncio.BaseTransport) -> str | None:
    """SHA-256 (lowercase hex) of the verified client certificate, if one was sent."""
    ssl_object = transport.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return hashlib.sha256(der).hexdigest() if der else None
