"""IRC over WebSocket: the sans-IO core against wsproto's client, and the listener against
a real WebSocket client library (`websockets`) over real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import logging
import struct
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    RejectConnection,
    Request,
    TextMessage,
)
from wsproto.frame_protocol import FrameProtocol

from ircd.config import (
    ConfigError,
    ExemptConfig,
    IrcConfig,
    Limits,
    Listener,
    load_irc_config,
)
from ircd.masks import parse_mask_item
from ircd.net import IrcServer
from ircd.protocol import Message, parse_line
from ircd.websocket import (
    BINARY,
    MAX_FRAMES_WITHOUT_LINE,
    TEXT,
    WebSocketLines,
    WebSocketTransport,
    origin_allowed,
)
from ircd.xlines import XLine

from .conftest import LiveServer
from .test_net import FakeTransport, until

# -- the sans-IO core ---------------------------------------------------------------------


def client_for(
    ws: WebSocketLines,
    subprotocols: list[str] | None = None,
    origin: str | None = None,
    *,
    bytewise: bool = False,
) -> tuple[WSConnection, bytes]:
    """A wsproto client that has done its handshake with `ws`; returns it and the IRC input."""
    client = WSConnection(ConnectionType.CLIENT)
    headers = [(b"Origin", origin.encode())] if origin else []
    request = client.send(
        Request(host="irc.test", target="/", subprotocols=subprotocols or [], extra_headers=headers)
    )
    irc, out = feed(ws, request, bytewise)
    client.receive_data(out)
    return client, irc


def feed(ws: WebSocketLines, data: bytes, bytewise: bool = False) -> tuple[bytes, bytes]:
    """Feed `data` whole or one byte at a time (h11's `tr()`); the joined results."""
    if not bytewise:
        return ws.receive(data)
    irc, out = b"", b""
    for i in range(len(data)):
        more_irc, more_out = ws.receive(data[i : i + 1])
        irc, out = irc + more_irc, out + more_out
    return irc, out


@pytest.mark.parametrize(
    ("offered", "agreed"),
    [
        ([TEXT, BINARY], TEXT),
        ([BINARY, TEXT], BINARY),
        (["chat", BINARY], BINARY),
        (["chat"], None),
        ([], None),
    ],
)
def test_subprotocol_follows_the_clients_preference(offered: list[str], agreed: str | None) -> None:
    ws = WebSocketLines()
    client, _ = client_for(ws, offered)
    [accept] = list(client.events())
    assert isinstance(accept, AcceptConnection)
    assert accept.subprotocol == agreed == ws.subprotocol
    assert ws.is_open


@pytest.mark.parametrize("bytewise", [False, True])
def test_one_line_per_message_in_and_out(bytewise: bool) -> None:
    ws = WebSocketLines()
    client, _ = client_for(ws, [TEXT], bytewise=bytewise)
    list(client.events())
    # Two messages, the second in two fragments: each becomes one line.
    data = client.send(TextMessage(data="NICK alice"))
    data += client.send(TextMessage(data="USER a 0 * ", message_finished=False))
    data += client.send(TextMessage(data=":Alice é", message_finished=True))
    irc, out = feed(ws, data, bytewise)
    assert irc == "NICK alice\nUSER a 0 * :Alice é\n".encode()
    assert out == b""
    # Out: one message per line, without CR LF.
    client.receive_data(ws.send_lines(b":irc.test 001 alice :Welcome\r\nPING :x\r\n"))
    assert [e.data for e in client.events()] == [":irc.test 001 alice :Welcome", "PING :x"]


@pytest.mark.parametrize("bytewise", [False, True])
def test_frames_sent_with_the_handshake_are_read_once(bytewise: bool) -> None:
    """A client that does not wait for the 101 (hostile review, 12): wsproto's server
    drops the bytes after the request head; they are read, and read once."""
    ws = WebSocketLines()
    client = WSConnection(ConnectionType.CLIENT)
    request = client.send(Request(host="irc.test", target="/", subprotocols=[TEXT]))
    frames = FrameProtocol(client=True, extensions=[])
    data = request + frames.send_data("NICK alice", fin=True) + frames.send_data("USER a", fin=True)
    irc, out = feed(ws, data, bytewise)
    assert ws.is_open and out.startswith(b"HTTP/1.1 101 ")
    assert irc == b"NICK alice\nUSER a\n"
    assert ws.receive(frames.send_data("PING :x", fin=True)) == (b"PING :x\n", b"")


def test_text_subprotocol_never_sends_invalid_utf8_and_binary_sends_bytes() -> None:
    text = WebSocketLines()
    client, _ = client_for(text, [TEXT])
    list(client.events())
    client.receive_data(text.send_lines(b"PRIVMSG a :caf\xe9\r\n"))
    [event] = list(client.events())
    assert isinstance(event, TextMessage) and event.data == "PRIVMSG a :caf\ufffd"

    binary = WebSocketLines()
    client, _ = client_for(binary, [BINARY])
    list(client.events())
    client.receive_data(binary.send_lines(b"PRIVMSG a :caf\xe9\r\n"))
    [event] = list(client.events())
    assert isinstance(event, BytesMessage) and event.data == b"PRIVMSG a :caf\xe9"
    # Bytes that are not UTF-8 reach the IRC core as they are: it answers them.
    irc, _ = binary.receive(client.send(BytesMessage(data=b"PRIVMSG b :\xff\xfe")))
    assert irc == b"PRIVMSG b :\xff\xfe\n"


def test_ping_gets_pong_and_close_is_answered() -> None:
    ws = WebSocketLines()
    client, _ = client_for(ws)
    list(client.events())
    irc, out = ws.receive(client.send(Ping(payload=b"hi")))
    assert irc == b""
    client.receive_data(out)
    assert [type(e) for e in client.events()] == [Pong]
    irc, out = ws.receive(client.send(CloseConnection(code=1001, reason="bye")))
    assert ws.close_code == 1001 and not ws.is_open
    client.receive_data(ws.close(ws.close_code))
    [close] = list(client.events())
    assert isinstance(close, CloseConnection) and close.code == 1001
    assert ws.finished
    assert ws.receive(b"more") == (b"", b"")  # nothing after the close


def ping(client: WSConnection) -> bytes:
    return client.send(Ping(payload=b"x" * 125))


def pong(client: WSConnection) -> bytes:
    return client.send(Pong(payload=b"x" * 125))


def empty_fragment(client: WSConnection) -> bytes:
    return client.send(TextMessage(data="", message_finished=False))


@pytest.mark.parametrize("frame", [ping, pong, empty_fragment])
def test_frames_without_a_line_have_a_budget(frame: Any) -> None:
    # Flood control and the recvq count lines; these frames carry none, so a client
    # could send them forever (each ping costing a pong) without them.
    ws = WebSocketLines()
    client, _ = client_for(ws, [TEXT])
    list(client.events())
    for _ in range(MAX_FRAMES_WITHOUT_LINE):
        irc, out = ws.receive(frame(client))
        assert irc == b"" and ws.close_code is None
        client.receive_data(out)
    answers = list(client.events())
    assert all(isinstance(e, Pong) for e in answers)
    assert len(answers) == (MAX_FRAMES_WITHOUT_LINE if frame is ping else 0)
    # One more, even in the same read as a line: that line is taken, then the close.
    irc, out = ws.receive(frame(client) + client.send(TextMessage(data="PING :late")))
    assert irc == b"" and out == b""  # no pong, and nothing after it is read
    assert ws.close_code == 1008 and ws.violation
    client.receive_data(ws.close(ws.close_code))
    [close] = list(client.events())
    assert isinstance(close, CloseConnection) and close.code == 1008


def test_a_line_resets_the_budget() -> None:
    ws = WebSocketLines()
    client, _ = client_for(ws, [BINARY])
    list(client.events())
    for i in range(50):
        data = b"".join(ping(client) for _ in range(MAX_FRAMES_WITHOUT_LINE - 1))
        # An empty fragment starts the message the PONG ends: the budget, then a line.
        data += client.send(BytesMessage(data=b"", message_finished=False))
        data += client.send(BytesMessage(data=b"PONG :%d" % i))
        irc, out = ws.receive(data)
        assert irc == b"PONG :%d\n" % i and ws.close_code is None
        client.receive_data(out)
        assert len(list(client.events())) == MAX_FRAMES_WITHOUT_LINE - 1
    # An empty message is a line too (flood control counts it): it resets the count.
    for _ in range(3):
        data = b"".join(pong(client) for _ in range(MAX_FRAMES_WITHOUT_LINE))
        irc, _ = ws.receive(data + client.send(BytesMessage(data=b"")))
        assert irc == b"\n" and ws.close_code is None


def test_no_buffer_waits_for_a_whole_frame_or_request() -> None:
    # wsproto hands a data frame's payload on as it arrives (the line buffer then bounds
    # it), holds at most a header or a control frame (125 bytes), and h11 bounds the
    # request head: nothing a client sends without IRC lines can grow a buffer.
    ws = WebSocketLines()
    client, _ = client_for(ws, [BINARY])
    list(client.events())
    frame = client.send(BytesMessage(data=b"y" * 1_000_000))
    chunk = 65536
    irc, _ = ws.receive(frame[:chunk])
    assert irc == b"y" * (chunk - 14)  # all but the header (2 + 8 length + 4 mask)
    for i in range(chunk, len(frame), chunk):
        irc, _ = ws.receive(frame[i : i + chunk])
        assert irc.startswith(b"y" * min(chunk, len(frame) - i))
    assert irc.endswith(b"y\n")
    huge = WebSocketLines()
    irc, out = huge.receive(b"GET / HTTP/1.1\r\nX-Pad: " + b"p" * 100_000)
    assert irc == b"" and huge.finished and out.startswith(b"HTTP/1.1 4")  # no end needed


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\x81\x05hello", 1002),  # unmasked: clients must mask
        (b"\x83\x80\x00\x00\x00\x00", 1002),  # reserved opcode
        (b"\xc1\x80\x00\x00\x00\x00", 1002),  # RSV1 without an extension
        (b"\x81\x82\x00\x00\x00\x00\xc3\x28", 1007),  # a text message that is not UTF-8
        (b"\x89\xfe" + struct.pack("!H", 200) + b"\0" * 4 + b"x" * 200, 1002),  # long ping
    ],
)
def test_garbage_frames_close_with_the_rfc_code(frame: bytes, code: int) -> None:
    ws = WebSocketLines()
    client, _ = client_for(ws)
    list(client.events())
    irc, out = ws.receive(frame)
    assert irc == b"" and out == b""
    assert ws.close_code == code
    client.receive_data(ws.close(code))
    [close] = list(client.events())
    assert isinstance(close, CloseConnection) and close.code == code


def test_requests_that_are_no_websocket_handshake_are_refused() -> None:
    for data in (
        b"GET / HTTP/1.1\r\nHost: irc.test\r\n\r\n",  # a plain page request
        b"NICK alice\r\nUSER a 0 * :a\r\n",  # an IRC client on the wrong port
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  # TLS on a plain listener
    ):
        ws = WebSocketLines()
        irc, out = ws.receive(data)
        assert irc == b"" and ws.finished and ws.refused
        assert out.startswith(b"HTTP/1.1 4"), out


def test_origins() -> None:
    allowed = ("https://chat.example.org", "https://*.example.net")
    assert origin_allowed("https://chat.example.org", allowed)
    assert origin_allowed("HTTPS://Web.Example.NET", allowed)
    assert not origin_allowed("https://evil.example.com", allowed)
    assert not origin_allowed("http://chat.example.org", allowed)
    assert origin_allowed(None, allowed)  # not a browser page: Origin proves nothing
    # No origins (the default): no browser page at all; "*" lets any page in, on purpose.
    assert not origin_allowed("https://anything", ())
    assert origin_allowed(None, ())
    assert origin_allowed("https://anything", ("*",)) and origin_allowed("null", ("*",))

    ws = WebSocketLines(allowed)
    client, irc = client_for(ws, [TEXT], origin="https://evil.example.com")
    reject, *_ = list(client.events())
    assert isinstance(reject, RejectConnection) and reject.status_code == 403
    assert ws.finished and irc == b"" and ws.origin is None
    ws = WebSocketLines()
    client, irc = client_for(ws, [TEXT], origin="https://evil.example.com")
    reject, *_ = list(client.events())
    assert isinstance(reject, RejectConnection) and reject.status_code == 403
    assert ws.refused is not None and "set the listener's origins" in ws.refused
    ws = WebSocketLines(allowed)
    client_for(ws, [TEXT], origin="https://Chat.example.org")
    assert ws.is_open and ws.origin == "https://Chat.example.org"
    ws = WebSocketLines()
    client_for(ws, [TEXT])
    assert ws.is_open and ws.origin is None


def test_config_reads_websocket_listeners(tmp_path: Path) -> None:
    path = tmp_path / "irc.yaml"
    path.write_text(
        "irc:\n"
        "  listen:\n"
        "    - {host: 127.0.0.1, port: 6667}\n"
        "    - host: 127.0.0.1\n"
        "      port: 8097\n"
        "      websocket: yes\n"
        "      origins: [https://chat.example.org, 'https://*.example.net']\n",
        encoding="utf-8",
    )
    plain, ws = load_irc_config(path).listen
    assert not plain.websocket and plain.origins == ()
    assert ws.websocket and ws.origins == ("https://chat.example.org", "https://*.example.net")

    path.write_text(
        "irc:\n  listen:\n    - {host: 127.0.0.1, port: 8097, websocket: yes, origins: ['*']}\n",
        encoding="utf-8",
    )
    [anything] = load_irc_config(path).listen
    assert anything.origins == ("*",)

    path.write_text(
        "irc:\n"
        "  listen:\n"
        "    - {host: 127.0.0.1, port: 6667, origins: [https://a.example]}\n"
        "    - {host: 127.0.0.1, port: 8097, websocket: 1, origins: [chat.example.org]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as e:
        load_irc_config(path)
    text = str(e.value)
    assert "irc.listen[0].origins: only WebSocket listeners check origins" in text
    assert "irc.listen[1].websocket: expected true or false" in text
    assert "irc.listen[1].origins[0]: expected an origin" in text


# -- the listener, with a real client ------------------------------------------------------


@dataclasses.dataclass
class Ports:
    tcp: int
    ws: int
    irc: IrcServer


@contextlib.asynccontextmanager
async def running(
    origins: tuple[str, ...] = ("https://chat.example.org",), **limits: Any
) -> AsyncIterator[Ports]:
    config = dataclasses.replace(
        IrcConfig(),
        listen=(
            Listener("127.0.0.1", 0),
            Listener("127.0.0.1", 0, websocket=True, origins=origins),
        ),
        server_name="irc.test",
        limits=Limits(**limits),
    )
    irc = IrcServer(config)
    await irc.start()
    try:
        (_, tcp), (_, ws) = irc.addresses
        yield Ports(tcp, ws, irc)
    finally:
        await irc.stop(timeout=2)


class WsClient:
    """An IRC client over a `websockets` connection: every wait has a timeout."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn

    async def send(self, *lines: str | bytes) -> None:
        for line in lines:
            await self.conn.send(line)

    async def read(self, timeout: float = 5) -> Message:
        async with asyncio.timeout(timeout):
            data = await self.conn.recv()
        raw = data.encode() if isinstance(data, str) else data
        assert not raw.endswith((b"\r", b"\n")), raw  # one line per message, no CR LF
        return parse_line(raw, replace_invalid=True)

    async def expect(self, *commands: str, timeout: float = 5) -> Message:
        async with asyncio.timeout(timeout):
            while True:
                msg = await self.read(timeout)
                if msg.command in commands:
                    return msg

    async def register(self, nick: str) -> WsClient:
        await self.send(f"NICK {nick}", f"USER {nick} 0 * :{nick}")
        await self.expect("376", "422")
        return self


@contextlib.asynccontextmanager
async def ws_client(port: int, *subprotocols: str, **kwargs: Any) -> AsyncIterator[WsClient]:
    async with connect(
        f"ws://127.0.0.1:{port}/",
        subprotocols=list(subprotocols) or None,  # type: ignore[arg-type]
        proxy=None,
        compression=None,
        open_timeout=5,
        close_timeout=5,
        **kwargs,
    ) as conn:
        yield WsClient(conn)


async def test_text_client_talks_with_a_tcp_client(live_client) -> None:
    async with running() as ports, ws_client(ports.ws, TEXT, BINARY) as bob:
        assert bob.conn.subprotocol == TEXT
        await bob.register("bob")
        alice = await (await live_client(ports.tcp)).register("alice")
        await bob.send("JOIN #radio")
        await bob.expect("366")
        await alice.send("JOIN #radio", "PRIVMSG #radio :hello from TCP")
        msg = await bob.expect("PRIVMSG")
        assert msg.params == ("#radio", "hello from TCP") and msg.source.startswith("alice!")
        await bob.send("PRIVMSG #radio :hello from the browser ✓")
        assert (await alice.expect("PRIVMSG")).params[-1] == "hello from the browser ✓"
        await alice.send("WHOIS bob")
        await alice.expect("318")
        assert [m for m in alice.seen if m.command == "311"]
        # QUIT: the ERROR line, then a clean close.
        await bob.send("QUIT :bye")
        assert (await bob.expect("ERROR")).params[0].startswith("Closing Link")
        with pytest.raises(websockets.ConnectionClosedOK):
            await bob.read()
        assert bob.conn.close_code == 1000
        assert (await alice.expect("QUIT")).params[-1] == "Quit: bye"
        await alice.close()


async def test_binary_client_and_invalid_utf8() -> None:
    async with running() as ports, ws_client(ports.ws, BINARY) as bob:
        assert bob.conn.subprotocol == BINARY
        await bob.register("bob")
        await bob.send(b"PRIVMSG bob :caf\xe9")
        fail = await bob.expect("FAIL")
        assert fail.params[:2] == ("PRIVMSG", "INVALID_UTF8")
        pong = await bob.conn.ping(b"frame")
        async with asyncio.timeout(5):
            await pong  # a ping frame gets its pong
        await bob.send(b"PING :still here")
        assert (await bob.expect("PONG")).params[-1] == "still here"


async def test_no_subprotocol_gets_text_and_a_client_closing_is_clean(live_client) -> None:
    async with running() as ports:
        alice = await (await live_client(ports.tcp)).register("alice")
        await alice.send("JOIN #radio")
        await alice.expect("366")
        async with ws_client(ports.ws) as bob:
            assert bob.conn.subprotocol is None
            await bob.send("NICK bob", "USER bob 0 * :bob")
            async with asyncio.timeout(5):
                assert isinstance(await bob.conn.recv(), str)
            await bob.expect("376", "422")
            await bob.send("JOIN #radio")
            await bob.expect("366")
        # The client closed (code 1000): the server lets it go as any closed connection.
        assert (await alice.expect("QUIT")).params[-1] == "Connection closed"
        await alice.close()


async def test_oversized_messages_get_417_and_the_connection_stays() -> None:
    async with running() as ports, ws_client(ports.ws, TEXT) as bob:
        await bob.register("bob")
        await bob.send("PRIVMSG bob :" + "x" * 20_000)
        assert (await bob.expect("417")).params[-1] == "Input line was too long"
        # A huge binary message too (fragmented on the wire by nobody: one frame).
        await bob.send(b"PRIVMSG bob :" + b"y" * 300_000)
        await bob.expect("417")
        await bob.send("PING :alive")
        assert (await bob.expect("PONG")).params[-1] == "alive"


async def test_flood_limits_apply_as_on_tcp() -> None:
    async with running(recvq=4096) as ports, ws_client(ports.ws, TEXT) as bob:
        await bob.register("bob")
        # Far past the burst, faster than the rate: held input passes recvq.
        await bob.send(*(f"PRIVMSG bob :{i} " + "z" * 400 for i in range(40)))
        error = await bob.expect("ERROR")
        assert "Excess Flood" in error.params[0]


async def test_origin_refused_and_garbage_frames_close() -> None:
    async with running() as ports:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with ws_client(ports.ws, TEXT, origin="https://evil.example.com"):
                pass
        assert refused.value.response.status_code == 403
        async with ws_client(ports.ws, TEXT, origin="https://chat.example.org") as ok:
            await ok.register("ok")
            page = ports.irc.server.find_nick("ok")
            assert page is not None and page.web_origin == "https://chat.example.org"
        # A raw socket: a handshake, then an unmasked frame (clients must mask).
        reader, writer = await asyncio.open_connection("127.0.0.1", ports.ws)
        key = "dGhlIHNhbXBsZSBub25jZQ=="
        writer.write(
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: " + key.encode() + b"\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 101")
            writer.write(b"\x81\x04NICK")
            rest = await reader.read()  # until the server closes
        assert rest[:2] == b"\x88\x02" and struct.unpack("!H", rest[2:4])[0] == 1002
        writer.close()
        # Plain IRC on the WebSocket port: an HTTP error, then the close.
        reader, writer = await asyncio.open_connection("127.0.0.1", ports.ws)
        writer.write(b"NICK x\r\nUSER x 0 * :x\r\n")
        async with asyncio.timeout(5):
            assert (await reader.read()).startswith(b"HTTP/1.1 400")
        writer.close()
        # The server is unharmed.
        async with ws_client(ports.ws, TEXT) as later:
            await later.register("later")
            not_a_page = ports.irc.server.find_nick("later")
            assert not_a_page is not None and not_a_page.web_origin is None


async def test_browser_pages_are_refused_until_origins_are_set(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A page in a user's browser connects with the browser's client certificate and
    # from the user's address: another site's page must not (cross-site hijacking).
    with caplog.at_level(logging.INFO, logger="ircd"):
        async with running(origins=()) as ports:
            assert ports.irc.endpoints == [
                f"127.0.0.1:{ports.tcp}",
                f"127.0.0.1:{ports.ws} (WebSocket)",
            ]
            assert "WebSocket listener 127.0.0.1:0: browser pages are refused" in caplog.text
            with pytest.raises(websockets.InvalidStatus) as refused:
                async with ws_client(ports.ws, TEXT, origin="https://chat.example.org"):
                    pass
            assert refused.value.response.status_code == 403
            assert "set the listener's origins" in caplog.text
            async with ws_client(ports.ws, TEXT) as bot:  # no Origin: no browser
                await bot.register("bot")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="ircd"):
        async with (
            running(origins=("*",)) as ports,
            ws_client(ports.ws, TEXT, origin="https://any.example") as page,
        ):
            await page.register("page")
            client = ports.irc.server.find_nick("page")
            assert client is not None and client.web_origin == "https://any.example"
    assert "browser pages are refused" not in caplog.text


async def test_a_browser_page_gets_no_certificate_login() -> None:
    fingerprint = "ab" * 32
    exempt = ExemptConfig(flood=parse_mask_item({"certfp": fingerprint}))
    irc = IrcServer(dataclasses.replace(IrcConfig(), server_name="irc.test", exempt=exempt))
    origins = ("https://chat.example.org",)
    page = Browser(irc, origins, origin="https://chat.example.org", certfp=fingerprint)
    assert page.client.certfp is None and not page.client.flood_exempt
    assert page.client.web_origin == "https://chat.example.org"
    app = Browser(irc, origins, certfp=fingerprint)  # no Origin: not a browser page
    assert app.client.certfp == fingerprint and app.client.web_origin is None
    assert app.client.flood_exempt
    for browser in (page, app):
        browser.protocol.connection_lost(None)


# -- `python -m ircd` with a WebSocket listener --------------------------------------------


@pytest.fixture
def ws_live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path, websocket=True)
    try:
        yield server
    finally:
        server.kill()


async def test_standalone_server_with_a_websocket_listener(ws_live_server: LiveServer) -> None:
    assert ws_live_server.ws_port is not None
    ws_live_server.wait_for_log(f"listening on 127.0.0.1:{ws_live_server.ws_port} (WebSocket)")
    assert any("browser pages are refused until" in line for line in ws_live_server.log)
    async with ws_client(ws_live_server.ws_port, BINARY) as bob:
        await bob.register("bob")
        await bob.send("LUSERS")
        await bob.expect("251")


class Recorder(asyncio.Protocol):
    """An inner connection that records what its transport tells it."""

    def __init__(self) -> None:
        self.paused = 0

    def pause_writing(self) -> None:
        self.paused += 1


class NullTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.data += data

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


def test_output_held_before_the_handshake_counts_against_the_sendq() -> None:
    inner = Recorder()
    ws = WebSocketTransport(inner)
    ws.connection_made(NullTransport())
    ws.set_write_buffer_limits(high=100)
    ws.write(b"NOTICE * :x\r\n" * 5)
    assert inner.paused == 0 and ws.get_write_buffer_size() == 65
    ws.write(b"NOTICE * :x\r\n" * 5)
    assert inner.paused == 1


class Browser:
    """A wsproto client on a `WebSocketTransport` over a fake socket (no network)."""

    def __init__(
        self,
        irc: IrcServer,
        origins: tuple[str, ...] = (),
        origin: str | None = None,
        certfp: str | None = None,
    ) -> None:
        self.protocol = irc.websocket_protocol(certfp is not None, origins)
        self.socket = FakeTransport(self.protocol)
        self.protocol.connection_made(self.socket)
        self.client = max(irc.server.clients.values(), key=lambda c: c.id)
        if certfp is not None:  # as a TLS listener with client_ca would have found it
            self.client.certfp = certfp
            self.client.flood_exempt = irc.server.admission.flood_exempt(self.client)
        self.ws = WSConnection(ConnectionType.CLIENT)
        headers = [(b"Origin", origin.encode())] if origin else []
        self.events: list[Any] = []
        self.send_bytes(self.ws.send(Request(host="x", target="/", extra_headers=headers)))
        self.received()  # the server's answer: AcceptConnection or RejectConnection

    def send_bytes(self, data: bytes) -> None:
        self.protocol.data_received(data)

    def send(self, *lines: str) -> None:
        self.send_bytes(b"".join(self.ws.send(TextMessage(data=line)) for line in lines))

    def received(self) -> list[Any]:
        """Events from what the server wrote since the last call (kept in `events`)."""
        self.ws.receive_data(bytes(self.socket.data))
        self.socket.data.clear()
        new = list(self.ws.events())
        self.events += new
        return new

    async def expect(self, text: str) -> None:
        """Wait for a message holding `text`."""
        seen: list[Any] = []

        def arrived() -> bool:
            seen.extend(self.received())
            return any(isinstance(e, TextMessage) and text in e.data for e in seen)

        await until(arrived)


async def test_pings_are_no_irc_activity_and_past_the_budget_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    irc = IrcServer(dataclasses.replace(IrcConfig(), server_name="irc.test"))
    bob = Browser(irc)
    bob.send("NICK bob", "USER bob 0 * :bob")
    await bob.expect(" 422 bob ")  # no MOTD: registration is done
    client = bob.client
    # A browser pinging its socket while idle: the pings do not hold back the server's
    # PING, and the PONG line to it makes room for the next pings.
    for _ in range(5):
        client.last_recv -= 121  # ping_interval passed
        for _ in range(MAX_FRAMES_WITHOUT_LINE // 2):
            bob.send_bytes(bob.ws.send(Ping(payload=b"keepalive")))
        irc.server.check_timeouts()
        await bob.expect("PING irc.test")
        bob.send("PONG irc.test")
    assert not bob.socket.closed and not client.closed
    assert sum(isinstance(e, Pong) for e in bob.events) == 5 * (MAX_FRAMES_WITHOUT_LINE // 2)
    # A flood of pings gets its pongs up to the budget, then a close with 1008.
    with caplog.at_level(logging.INFO, logger="ircd.websocket"):
        for _ in range(MAX_FRAMES_WITHOUT_LINE * 3):
            bob.send_bytes(bob.ws.send(Ping(payload=b"x" * 125)))
    events = bob.received()
    assert [type(e) for e in events] == [Pong] * MAX_FRAMES_WITHOUT_LINE + [CloseConnection]
    assert events[-1].code == 1008 and bob.socket.closed
    assert caplog.messages == [
        f"WebSocket from 192.0.2.9 closed: more than {MAX_FRAMES_WITHOUT_LINE} frames "
        "without an IRC line"
    ]
    bob.protocol.connection_lost(None)
    assert irc.server.clients == {}


class _PeerCert:
    def __init__(self, der: bytes) -> None:
        self.der = der

    def getpeercert(self, binary_form: bool = False) -> bytes:
        return self.der


class CertTransport(FakeTransport):
    """A TLS socket whose client sent a certificate (`der`)."""

    def __init__(self, protocol: asyncio.Protocol, der: bytes) -> None:
        super().__init__(protocol)
        self.ssl = _PeerCert(der)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.ssl if name == "ssl_object" else super().get_extra_info(name, default)


async def test_a_browser_page_loses_a_z_line_exemption_its_certificate_gave() -> None:
    """Exempt from a Z-line by a client certificate at the TCP accept: a browser page on
    that certificate is no longer exempt once its Origin is known, and is dropped."""
    der = b"a certificate"
    fingerprint = hashlib.sha256(der).hexdigest()
    exempt = ExemptConfig(bans=parse_mask_item({"certfp": fingerprint}))
    irc = IrcServer(dataclasses.replace(IrcConfig(), server_name="irc.test", exempt=exempt))
    line = XLine(kind="Z", mask="192.0.2.0/24", reason="abuse", set_by="oper", set_at=0.0)
    irc.server.admission.xlines.add(line)
    origins = ("https://chat.example.org",)
    for origin, kept in ((None, True), ("https://chat.example.org", False)):
        protocol = irc.websocket_protocol(True, origins)
        socket = CertTransport(protocol, der)
        protocol.connection_made(socket)
        client = max(irc.server.clients.values(), key=lambda c: c.id)
        assert client.certfp == fingerprint and not client.closed  # exempt at the accept
        ws = WSConnection(ConnectionType.CLIENT)
        headers = [(b"Origin", origin.encode())] if origin else []
        protocol.data_received(ws.send(Request(host="x", target="/", extra_headers=headers)))
        assert client.closed is not kept, origin
        protocol.connection_lost(None)


def test_a_refused_origin_is_logged_cut_short() -> None:
    """An Origin header can be as long as the request head allows: the log line says
    why the page was refused without copying all of it."""
    ws = WebSocketLines(("https://chat.example.org",))
    client = WSConnection(ConnectionType.CLIENT)
    origin = "https://" + "x" * 16000 + ".example"
    ws.receive(
        client.send(Request(host="x", target="/", extra_headers=[(b"Origin", origin.encode())]))
    )
    assert ws.refused is not None and "is not in the listener's origins" in ws.refused
    assert len(ws.refused) < 200
