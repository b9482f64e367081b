"""The sans-IO registration of one client on an external network, line by line."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest

from gateway.config import ConfigError, ExternalIrc, load_config
from gateway.irc.external import (
    ExternalConnector,
    Registration,
    Unreachable,
    closing_reason,
    radio_ip,
    sasl_plain,
    went_silent,
)
from gateway.irc.link import ConnectError, Identity
from ircd.protocol import parse_line
from tests.gateway.support import free_port

IDENT = Identity(
    nicks=("N0TEST-5", "N0TEST-5_"), user="n0test", host="bpq.node1.radio",
    realname="N0TEST-5 (BPQ node1)", caps=frozenset({"server-time", "draft/chathistory"}),
)  # fmt: skip


def feed(reg: Registration, *lines: str) -> list[str]:
    out: list[str] = []
    for line in lines:
        out += reg.receive(parse_line(line.encode()))
    return out


def test_webirc_first_then_caps_the_network_has_then_nick_fallback() -> None:
    reg = Registration(IDENT, ExternalIrc("irc.test", webirc_password="pw", password="net"))
    start = reg.start()
    assert start[0] == f"WEBIRC pw packet-gateway bpq.node1.radio {radio_ip('n0test')}"
    assert start[1:] == [
        "PASS :net", "CAP LS 302", "NICK N0TEST-5", "USER n0test 0 * :N0TEST-5 (BPQ node1)",
    ]  # fmt: skip
    # A multi-line LS: nothing is requested before its last line.
    assert feed(reg, ":irc.test CAP * LS * :multi-prefix server-time=x") == []
    assert feed(reg, ":irc.test CAP * LS :batch sasl") == ["CAP REQ :server-time"]
    assert feed(reg, ":irc.test CAP * ACK :server-time -batch") == ["CAP END"]
    assert feed(reg, ":irc.test 433 * N0TEST-5 :Nickname is already in use") == ["NICK N0TEST-5_"]
    assert feed(reg, "PING :abc") == ["PONG :abc"]
    feed(reg, ":irc.test 001 N0TEST-5_ :Welcome", ":irc.test 005 N0TEST-5_ CASEMAPPING=ascii :x")
    assert not reg.done
    feed(reg, ":irc.test 376 N0TEST-5_ :End of MOTD")
    assert reg.done and reg.nick == "N0TEST-5_" and reg.caps == {"server-time"}
    assert reg.error is None and not reg.fatal


def test_every_nick_taken_or_a_ban_is_an_error() -> None:
    reg = Registration(IDENT, ExternalIrc("irc.test"))
    reg.start()
    feed(reg, ":s 433 * N0TEST-5 :in use", ":s 433 * N0TEST-5_ :in use")
    assert reg.error is not None and "N0TEST-5" in reg.error
    assert reg.taken  # every nick held by another client (a bulletin poster stands by)
    reg = Registration(IDENT, ExternalIrc("irc.test"))
    reg.start()
    feed(reg, ":s 433 * N0TEST-5 :in use", ":s 432 * N0TEST-5_ :Erroneous nickname")
    assert reg.error is not None and not reg.taken
    reg = Registration(IDENT, ExternalIrc("irc.test"))
    reg.start()
    feed(reg, ":s 465 * :You are banned")
    assert reg.error == "banned: You are banned" and reg.fatal and not reg.taken
    reg = Registration(IDENT, ExternalIrc("irc.test"))
    reg.start()
    assert feed(reg, ":s CAP * LS :") == ["CAP END"]  # nothing wanted is offered
    feed(reg, "ERROR :Closing link (throttled)")
    assert reg.error == "Closing link (throttled)" and not reg.fatal  # worth another try
    reg = Registration(IDENT, ExternalIrc("irc.test"))
    feed(reg, "ERROR :Closing link: (n0test@fd00::1) [G-Lined: spam]")
    assert reg.fatal
    reg = Registration(IDENT, ExternalIrc("irc.test"))
    feed(reg, "ERROR :Closing link: deadline skill urban")  # words, not kills or bans
    assert not reg.fatal


def test_sasl_plain_when_the_network_has_accounts() -> None:
    ident = Identity(("N0TEST",), "n0test", "h.radio", "r", sasl=("N0TEST", "pass word"))
    assert "pass word" not in repr(ident)
    reg = Registration(ident, ExternalIrc("irc.test"))
    reg.start()
    assert feed(reg, ":s CAP * LS :sasl=PLAIN server-time") == ["CAP REQ :sasl"]
    assert feed(reg, ":s CAP N0TEST ACK :sasl") == ["AUTHENTICATE PLAIN"]
    (line,) = feed(reg, "AUTHENTICATE +")
    assert base64.b64decode(line.split()[1]) == b"N0TEST\0N0TEST\0pass word"
    assert feed(reg, ":s 900 N0TEST N0TEST!n0test@h N0TEST :You are now logged in") == []
    assert feed(reg, ":s 903 N0TEST :SASL authentication successful") == ["CAP END"]
    assert reg.account == "N0TEST"
    # A network whose SASL has no PLAIN: not requested, and why is kept for the log.
    reg = Registration(ident, ExternalIrc("irc.test"))
    reg.start()
    assert feed(reg, ":s CAP * LS :sasl=EXTERNAL,SCRAM-SHA-256") == ["CAP END"]
    assert reg.sasl_error is not None and "not PLAIN" in reg.sasl_error
    # A refusal: registration goes on without the account.
    reg = Registration(ident, ExternalIrc("irc.test"))
    reg.start()
    feed(reg, ":s CAP * LS :sasl", ":s CAP * ACK :sasl", "AUTHENTICATE +")
    assert feed(reg, ":s 904 * :SASL authentication failed") == ["CAP END"]
    assert reg.account is None and reg.sasl_error == "SASL authentication failed"


def test_long_sasl_payloads_are_chunked() -> None:
    lines = sasl_plain("N0TEST", "x" * 286)  # 300 bytes: exactly 400 in base64
    assert [len(x) for x in lines] == [len("AUTHENTICATE ") + 400, len("AUTHENTICATE +")]
    assert len(sasl_plain("N0TEST", "x" * 300)) == 2


def test_radio_addresses_are_stable_unique_local_and_per_callsign() -> None:
    assert radio_ip("n0test") == radio_ip("N0TEST")
    assert radio_ip("n0test") != radio_ip("n0tesu")
    assert radio_ip("n0test").startswith("fd")


def test_a_closing_link_error_keeps_the_reason_not_the_users_address() -> None:
    text = (
        "Closing link: (n0test@fd57:1234:5678:9abc:def0:1234:5678:9abc) [Ping timeout: 120 seconds]"
    )
    assert closing_reason(text) == "Closing link: Ping timeout: 120 seconds"
    assert closing_reason("Closing link: (a@b) [Killed (oper (spam))]") == (
        "Closing link: Killed (oper (spam))"
    )
    assert closing_reason("Access denied: Bad password?") == "Access denied: Bad password?"
    assert went_silent("Ping timeout: 60 seconds")  # ours: the server hung
    assert went_silent(closing_reason("Closing link: (a@b) [Ping timeout: 120 seconds]"))
    assert not went_silent("Closing link: Trying to reconnect too fast") and not went_silent(None)


def test_the_ping_timeout_is_read_from_the_config(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("irc: {mode: external, external: {host: irc.test}}\n")
    external = load_config(path).irc_external
    assert external is not None and external.ping_timeout == 60.0
    path.write_text("irc: {mode: external, external: {host: irc.test, ping_timeout: 30}}\n")
    external = load_config(path).irc_external
    assert external is not None and external.ping_timeout == 30.0
    path.write_text("irc: {mode: external, external: {host: irc.test, ping_timeout: 1}}\n")
    with pytest.raises(ConfigError, match="ping_timeout"):
        load_config(path)


async def test_no_answer_is_unreachable_and_an_answer_that_says_no_is_a_refusal() -> None:
    """What the backoff (gateway/irc/backoff.py) is told: a closed port or a server that
    never answers is retried within seconds; a server that answers no is backed off."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, says nothing (a hung server's backlog)
        writer.close()

    async def refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ERROR :Closing link: (x@y) [Trying to reconnect too fast]\r\n")
        await writer.drain()
        writer.close()

    closed = ExternalConnector(ExternalIrc("127.0.0.1", port=free_port(), connect_timeout=1))
    with pytest.raises(Unreachable, match="cannot reach"):
        await closed.connect(IDENT)
    # Silent until the registration times out, or until the link's own ping timeout.
    cases = ((silent, 60.0, Unreachable), (silent, 1.0, Unreachable), (refusing, 60, ConnectError))
    for handler, ping_timeout, expected in cases:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            # A short connect timeout only where it is the one that ends the wait: a
            # refusal read late on a busy machine must not pass for no answer.
            short = handler is silent and ping_timeout > 1
            connector = ExternalConnector(ExternalIrc("127.0.0.1", port=port,
                                                      connect_timeout=1 if short else 5,
                                                      ping_timeout=ping_timeout))  # fmt: skip
            with pytest.raises(ConnectError) as caught:
                await connector.connect(IDENT)
            assert type(caught.value) is expected, caught.value
        finally:
            server.close()


def test_a_list_of_servers_to_fail_over_to(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "irc: {mode: external, external: {port: 6668, host: [irc1.test, 'irc2.test:7000',"
        " '[2001:db8::1]:6697', '2001:db8::2']}}\n"
    )
    external = load_config(path).irc_external
    assert external is not None and (external.host, external.port) == ("irc1.test", 6668)
    assert external.servers == (
        ("irc1.test", 6668), ("irc2.test", 7000), ("2001:db8::1", 6697), ("2001:db8::2", 6668)
    )  # fmt: skip
    assert ExternalConnector(external).address == (
        "irc1.test:6668, irc2.test:7000, [2001:db8::1]:6697, [2001:db8::2]:6668"
    )
    path.write_text("irc: {mode: external, external: {host: ['a.test:6697', b.test]}}\n")
    external = load_config(path).irc_external
    assert external is not None and external.servers == (("a.test", 6697), ("b.test", 6667))
    for bad, problem in (
        ("[]", "at least one server"),
        ("[a.test, a.test]", "listed twice"),
        ("['a.test:99999']", 'expected "host" or "host:port"'),
        ("['a.test:x']", 'expected "host" or "host:port"'),
        ("[':a.test']", 'expected "host" or "host:port"'),
        ("['[::1']", 'expected "host" or "host:port"'),
        ("[7]", "expected a string"),
    ):
        path.write_text(f"irc: {{mode: external, external: {{host: {bad}}}}}\n")
        with pytest.raises(ConfigError, match=problem):
            load_config(path)
    path.write_text("irc: {mode: external, external: {host: irc.test}}\n")
    external = load_config(path).irc_external
    assert external is not None and external.servers == (("irc.test", 6667),)  # one, as before


async def test_a_refusal_is_the_networks_answer_and_not_taken_to_the_next_server() -> None:
    reached: list[int] = []

    async def refusing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(1)
        writer.write(b"ERROR :Closing link: (x@y) [You are banned]\r\n")
        await writer.drain()
        writer.close()

    async def counting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reached.append(2)
        writer.close()

    first = await asyncio.start_server(refusing, "127.0.0.1", 0)
    second = await asyncio.start_server(counting, "127.0.0.1", 0)
    ports = [server.sockets[0].getsockname()[1] for server in (first, second)]
    try:
        settings = ExternalIrc("127.0.0.1", port=ports[0], failover=(("127.0.0.1", ports[1]),))
        with pytest.raises(ConnectError, match="banned") as caught:
            await ExternalConnector(settings).connect(IDENT)
        assert not isinstance(caught.value, Unreachable) and reached == [1]
    finally:
        first.close()
        second.close()
