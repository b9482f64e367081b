"""IRC over WebSocket (IRCv3 `websocket` extension), for browser clients such as gamja or Kiwi IRC.

Each WebSocket message carries one IRC line without its CR LF. Two subprotocols:
``binary.ircv3.net`` (binary messages, any bytes) and ``text.ircv3.net`` (text messages,
UTF-8 only: the server replaces bytes that are not UTF-8 with U+FFFD rather than send
them). A client that asks for neither still connects, and gets text messages.

`WebSocketLines` is the sans-IO core, built on wsproto: bytes from the socket in; IRC
input (lines ended by LF, for the client's line buffer, which applies the same length
bound, flood control and recvq as on TCP) and bytes for the socket out. Frames that
carry no line (pings, pongs, empty fragments) have a budget of their own, since flood
control never sees them: `MAX_FRAMES_WITHOUT_LINE` in a row, then a close with 1008.
`WebSocketTransport` is the asyncio side: the socket's protocol, and to the
`IrcConnection` inside it a transport that frames its output one line per message.
"""

from __future__ import annotations

import asyncio
import logging
from fnmatch import fnmatchcase
from typing import Any, Final, Protocol, cast

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Event,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError, RemoteProtocolError

log = logging.getLogger("ircd.websocket")

TEXT: Final = "text.ircv3.net"
BINARY: Final = "binary.ircv3.net"
#: The subprotocols offered; the client's order of preference decides between them.
SUBPROTOCOLS: Final = frozenset({TEXT, BINARY})
#: Most characters of a refused Origin that the log shows.
_ORIGIN_SHOWN: Final = 100
#: Frames without an IRC line (pings, pongs, empty fragments) allowed in a row. Each
#: costs a parse (a ping also a pong), and none reaches flood control or the recvq.
#: Any message resets the count. These frames are no IRC activity, so an idle client
#: still gets the server's PING after `ping_interval` and its PONG line resets the
#: count: a client pinging every 30 s is never closed while `ping_interval` (120 s by
#: default) stays under 16 x 30 s.
MAX_FRAMES_WITHOUT_LINE: Final = 16


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    """Whether a browser page from `origin` may connect; `allowed` holds glob patterns
    such as ``https://*.example.org`` (empty: none; ``*``: any page at all).

    The check keeps other web sites' scripts out (cross-site WebSocket hijacking): a
    page in a user's browser connects with that browser's client certificate and from
    the user's own address, so a page is refused unless the sysop listed its origin.
    A request without an Origin header is not from a browser page, and a client that
    is not a browser could send any Origin it likes: such requests pass.
    """
    if origin is None:
        return True
    origin = origin.strip().lower()
    return any(fnmatchcase(origin, pattern.lower()) for pattern in allowed)


class WebSocketLines:
    """One server-side WebSocket carrying IRC lines: the handshake, frames in and out.

    Remote garbage never raises: a bad handshake gets its HTTP error and `finished`, a
    bad frame sets `close_code` (what to answer with, RFC 6455 section 7.4).
    """

    def __init__(self, origins: tuple[str, ...] = ()) -> None:
        self._ws = WSConnection(ConnectionType.SERVER)
        self._origins = origins
        #: The negotiated subprotocol (None: none was agreed, text messages are sent).
        self.subprotocol: str | None = None
        #: The peer closed, or broke the protocol: answer with `close(close_code)`.
        self.close_code: int | None = None
        #: Why the handshake was refused (the reply is in what `receive` returned).
        self.refused: str | None = None
        #: The Origin of the browser page that connected (None: not a browser).
        self.origin: str | None = None
        #: Why we close an open connection ourselves (`close_code` says how).
        self.violation: str | None = None
        self._start: bytes | None = b""  # the first bytes, until they read "GET "
        #: What came in before the handshake was accepted: wsproto's server drops the
        #: bytes after the request head (frames a client sent without waiting), so they
        #: are handed to it again once it is open. h11 bounds a request head (16 KiB).
        self._head = bytearray()
        self._trailing = b""
        self._without_line = 0  # frames since the last message: MAX_FRAMES_WITHOUT_LINE

    @property
    def is_open(self) -> bool:
        """The handshake is done and messages may be sent."""
        return self._ws.state is ConnectionState.OPEN

    @property
    def finished(self) -> bool:
        """Nothing more will be exchanged: close the socket once the output is sent."""
        return self.refused is not None or self._ws.state is ConnectionState.CLOSED

    def receive(self, data: bytes | None) -> tuple[bytes, bytes]:
        """Take bytes from the socket (None at its end); return (IRC input, bytes to send).

        The IRC input holds the messages received, each ended by LF. A message's own
        CR or LF (which clients must not send) ends a line there, as on TCP.
        """
        if self.finished or self.close_code is not None:
            return b"", b""
        if self._start is not None and data:
            # h11 would wait for a whole request head: refuse what is no GET at once (an
            # IRC client or TLS on the wrong port), so it hears why instead of timing out.
            self._start += data[: 4 - len(self._start)]
            if not b"GET ".startswith(self._start):
                self.refused = "not an HTTP GET request"
                return b"", self._send(RejectConnection(status_code=400))
            if len(self._start) == 4:
                self._start = None
        irc = bytearray()
        out = bytearray()
        if data and self._ws.state is ConnectionState.CONNECTING:
            self._head += data
        try:
            self._ws.receive_data(data)
            self._events(irc, out)
            if self._trailing:  # frames sent along with the handshake
                rest, self._trailing = self._trailing, b""
                self._ws.receive_data(rest)
                self._events(irc, out)
        except RemoteProtocolError as e:
            # A request that is no WebSocket handshake (or no HTTP at all).
            self.refused = str(e)
            out += self._send(e.event_hint or RejectConnection(status_code=400))
        return bytes(irc), bytes(out)

    def _events(self, irc: bytearray, out: bytearray) -> None:
        for event in self._ws.events():
            self._handle(event, irc, out)
            if self.close_code is not None:
                break  # nothing after a close (ours or the peer's) is read

    def _handle(self, event: Event, irc: bytearray, out: bytearray) -> None:
        if isinstance(event, TextMessage | BytesMessage):
            data = event.data
            if data:
                irc += data.encode() if isinstance(data, str) else data
            if event.message_finished:
                irc += b"\n"
                self._without_line = 0  # a line: flood control counts it from here
            elif not data:
                self._frame_without_line()
        elif isinstance(event, Ping):
            if self._frame_without_line():
                out += self._send(event.response())
        elif isinstance(event, Pong):
            self._frame_without_line()  # unsolicited: we never ping
        elif isinstance(event, CloseConnection):
            self.close_code = event.code
        elif isinstance(event, Request):
            out += self._handshake(event)

    def _frame_without_line(self) -> bool:
        """Count a frame that carries no line; False (and a close) past the budget."""
        self._without_line += 1
        if self._without_line <= MAX_FRAMES_WITHOUT_LINE:
            return True
        self.violation = f"more than {MAX_FRAMES_WITHOUT_LINE} frames without an IRC line"
        self.close_code = CloseReason.POLICY_VIOLATION
        return False

    def _handshake(self, request: Request) -> bytes:
        origin = next(
            (value.decode("latin-1") for name, value in request.extra_headers if name == b"origin"),
            None,
        )
        if origin is not None and not origin_allowed(origin, self._origins):
            shown = repr(origin[:_ORIGIN_SHOWN])  # a header may be as long as h11 allows
            if self._origins:
                self.refused = f"origin {shown} is not in the listener's origins"
            else:
                self.refused = (
                    f"a browser page ({shown}): set the listener's origins to let pages in"
                )
            return self._send(RejectConnection(status_code=403))
        self.origin = origin
        # The first subprotocol the client lists that we support (its order of preference).
        self.subprotocol = next((p for p in request.subprotocols if p in SUBPROTOCOLS), None)
        accepted = self._send(AcceptConnection(subprotocol=self.subprotocol))
        _, end, rest = bytes(self._head).partition(b"\r\n\r\n")
        self._trailing, self._head = (rest if end else b""), bytearray()
        return accepted

    def _send(self, event: Event) -> bytes:
        try:
            return self._ws.send(event)
        except LocalProtocolError:
            return b""  # e.g. an HTTP reply h11 can no longer send: the socket just closes

    def send_lines(self, data: bytes) -> bytes:
        """Frames for `data`, whole IRC lines each ended by CR LF, one message per line."""
        if not self.is_open:
            return b""
        send = self._ws.send
        out = bytearray()
        if self.subprotocol == BINARY:
            for line in data.split(b"\r\n")[:-1]:
                out += send(BytesMessage(data=line))
        else:
            for line in data.split(b"\r\n")[:-1]:
                # Text messages must be UTF-8 (a browser drops the connection otherwise).
                out += send(TextMessage(data=line.decode("utf-8", "replace")))
        return bytes(out)

    def close(self, code: int = CloseReason.NORMAL_CLOSURE, reason: str = "") -> bytes:
        """The Close frame to send (nothing if one was sent already or the socket is not open)."""
        if self._ws.state not in (ConnectionState.OPEN, ConnectionState.REMOTE_CLOSING):
            return b""
        return self._send(CloseConnection(code=code, reason=reason or None))


class InnerConnection(Protocol):
    """What `WebSocketTransport` needs of the connection inside it (`IrcConnection`)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None: ...
    def data_received(self, data: bytes) -> None: ...
    def connection_lost(self, exc: Exception | None) -> None: ...
    def pause_writing(self) -> None: ...
    def resume_writing(self) -> None: ...

    def browser_page(self, origin: str) -> None:
        """The handshake came from a browser page of `origin` (the listener allowed it)."""


class WebSocketTransport(asyncio.Protocol):
    """A WebSocket socket's protocol and, for `inner` (an `IrcConnection`), its transport.

    The IRC client is created as the socket is accepted, so the connection limits,
    bans and the registration timeout apply from the first byte, handshake included.
    Output written before the handshake completes waits for it (and counts against
    the sendq like any other).
    """

    def __init__(self, inner: InnerConnection, origins: tuple[str, ...] = ()) -> None:
        self._inner = inner
        self._ws = WebSocketLines(origins)
        self._transport: asyncio.Transport | None = None
        self._held: list[bytes] = []
        self._held_size = 0
        self._high: int | None = None  # the inner connection's SendQ
        self._closing = False

    # -- asyncio.Protocol: the socket --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        # This object is the inner connection's transport (it has what IrcConnection uses).
        self._inner.connection_made(cast(asyncio.BaseTransport, self))

    def data_received(self, data: bytes) -> None:
        ws = self._ws
        was_open = ws.is_open
        irc, out = ws.receive(data)
        transport = self._transport
        if out and transport is not None:
            transport.write(out)
        if ws.refused is not None:
            log.info("WebSocket handshake refused from %s: %s", self._peer(), ws.refused)
        if ws.is_open and not was_open:
            if ws.origin is not None:
                # Before any IRC byte: what such a connection may not do is decided.
                self._inner.browser_page(ws.origin)
            if self._held:
                held, self._held, self._held_size = self._held, [], 0
                self.write(b"".join(held))
        if irc:
            # Only IRC bytes count as activity: a client that just pings the socket still
            # gets the server's PING, and its PONG resets `MAX_FRAMES_WITHOUT_LINE`.
            self._inner.data_received(irc)
        if ws.close_code is not None:
            if ws.violation is not None and not self._closing:
                log.info("WebSocket from %s closed: %s", self._peer(), ws.violation)
            self._close(ws.close_code)
        elif ws.finished:
            self._close()

    def connection_lost(self, exc: Exception | None) -> None:
        # (At EOF the transport closes itself: eof_received's default.)
        self._closing = True
        self._held.clear()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def _peer(self) -> str:
        peer = self.get_extra_info("peername")
        return str(peer[0]) if isinstance(peer, tuple) else "?"

    # -- the transport the IRC connection writes to ------------------------------------

    def write(self, data: bytes) -> None:
        if self._closing or self._transport is None:
            return
        if not self._ws.is_open:
            self._held.append(data)
            self._held_size += len(data)
            if self._high is not None and self._held_size > self._high:
                self._inner.pause_writing()  # "SendQ exceeded", as the socket would say
            return
        framed = self._ws.send_lines(data)
        if framed:
            self._transport.write(framed)

    def close(self) -> None:
        self._close()

    def _close(self, code: int = CloseReason.NORMAL_CLOSURE) -> None:
        if self._closing or self._transport is None:
            return
        self._closing = True
        if code in (CloseReason.NO_STATUS_RCVD, CloseReason.ABNORMAL_CLOSURE):
            code = CloseReason.NORMAL_CLOSURE  # local-only codes: never on the wire
        frame = self._ws.close(code)
        if frame:
            self._transport.write(frame)
        self._transport.close()  # after what is queued

    def abort(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.abort()

    def is_closing(self) -> bool:
        return self._closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if self._transport is None:
            return default
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        size = self._held_size
        if self._transport is not None:
            size += self._transport.get_write_buffer_size()
        return size

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._high = high
        if self._transport is not None:
            self._transport.set_write_buffer_limits(high=high, low=low)

    def is_reading(self) -> bool:
        return self._transport is not None and self._transport.is_reading()

    def pause_reading(self) -> None:
        if self._transport is not None:
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._transport is not None:
            self._transport.resume_reading()
