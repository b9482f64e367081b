"""The extension interface: attached in-process clients and added operator commands."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from ircd import AttachError
from ircd.config import IrcConfig, Limits, Listener
from ircd.hooks import Control, OperAction
from ircd.inprocess import InProcessConnection
from ircd.net import IrcServer

RADIO = {"nick": "K1ABC", "user": "k1abc", "host": "radio.gateway", "account": "K1ABC"}


async def test_attach_registers_with_the_trusted_identity(harness) -> None:
    conn = InProcessConnection.attach(harness.server, **RADIO)
    burst = conn.pending()
    assert burst[0].command == "001"
    assert burst[0].params[-1].endswith("K1ABC!k1abc@radio.gateway")
    peer = harness.user("alice")
    peer.send("WHOIS K1ABC")
    replies = peer.take()
    assert replies[0].params[1:5] == ("K1ABC", "k1abc", "radio.gateway", "*")
    assert ("alice", "K1ABC", "K1ABC", "is logged in as") in [m.params for m in replies]


async def test_attach_refusals(make_harness) -> None:
    h = make_harness(max_clients=2)
    h.user("taken")
    with pytest.raises(AttachError, match="in use"):
        InProcessConnection.attach(h.server, nick="TAKEN", user="u", host="h")
    with pytest.raises(AttachError, match="invalid nick"):
        InProcessConnection.attach(h.server, nick="1bad", user="u", host="h")
    with pytest.raises(AttachError, match="without spaces"):
        InProcessConnection.attach(h.server, nick="ok", user="u", host="a b")
    InProcessConnection.attach(h.server, nick="ok", user="u", host="h")
    with pytest.raises(AttachError, match="full"):
        InProcessConnection.attach(h.server, nick="ok2", user="u", host="h")


async def test_attached_client_chats_and_can_be_killed(harness) -> None:
    conn = InProcessConnection.attach(harness.server, **RADIO)
    conn.pending()
    alice = harness.user("alice")
    alice.send("JOIN #ham")
    conn.send("JOIN #ham")
    conn.send("PRIVMSG #ham :73 de K1ABC")
    assert alice.take()[-1].params == ("#ham", "73 de K1ABC")
    alice.send("PRIVMSG K1ABC :hello radio")
    msgs = conn.pending()
    assert msgs[-1].command == "PRIVMSG" and msgs[-1].params == ("K1ABC", "hello radio")
    harness.server.set_oper(alice.client, "root")
    alice.send("KILL K1ABC :test")
    got = []
    while (msg := await conn.read()) is not None:
        got.append(msg.command)
    assert got[-2:] == ["KILL", "ERROR"]
    conn.send("PRIVMSG #ham :after the end")  # ignored, not an error


async def test_a_service_is_not_killed(harness) -> None:
    """Issue 22: `KILL Gateway` is refused, as InspIRCd refuses to kill a service; the
    refusal is audited like any KILL."""
    audits: list[OperAction] = []
    harness.server.control = Control(audit=audits.append)
    conn = InProcessConnection.attach(
        harness.server, nick="Gateway", user="gateway", host="gateway.radio", service=True
    )
    conn.pending()
    alice = harness.user("alice")
    harness.server.set_oper(alice.client, "root")
    alice.send("KILL Gateway :go away")
    [reply] = alice.take()
    assert (reply.command, reply.params[-1]) == ("481", "Permission Denied - Gateway is a service")
    assert harness.server.find_nick("Gateway") is conn.client
    assert [(a.nick, a.action, a.result) for a in audits] == [
        ("alice", "KILL Gateway: go away", "refused: a service")
    ]


async def test_attached_client_sendq(make_harness) -> None:
    h = make_harness()
    conn = InProcessConnection.attach(h.server, sendq=2000, **RADIO)
    alice = h.user("alice")
    for i in range(100):
        alice.send(f"PRIVMSG K1ABC :line {i} " + "x" * 50)
    await asyncio.sleep(0)
    assert conn.closed
    assert h.server.find_nick("K1ABC") is None


async def test_quit_from_the_embedder(harness) -> None:
    conn = InProcessConnection.attach(harness.server, **RADIO)
    alice = harness.user("alice")
    alice.send("JOIN #ham")
    conn.send("JOIN #ham")
    alice.take()
    conn.quit("73")
    assert alice.take()[-1].command == "QUIT"
    assert alice.take() == []
    assert [m.command for m in conn.pending()][-1] == "ERROR"
    assert await conn.read() is None


def test_add_operator_command(harness) -> None:
    calls = []

    def lockout(server, client, msg, rb) -> None:
        """LOCKOUT <callsign>

        Shows the lockout state of a callsign (gateway operators).
        """
        calls.append(msg.params[0])
        rb.numeric("NOTICE", f"{msg.params[0]} is not locked out")

    harness.server.add_command("lockout", lockout, min_params=1)
    user = harness.user("user")
    user.send("LOCKOUT K1ABC")
    assert user.commands() == ["481"]
    harness.server.set_oper(user.client, "root")
    user.send("LOCKOUT", "LOCKOUT K1ABC", "HELP LOCKOUT", "HELP")
    replies = user.take()
    assert [m.command for m in replies][:2] == ["461", "NOTICE"]
    assert calls == ["K1ABC"]
    assert replies[2].params[1:] == ("LOCKOUT", "LOCKOUT <callsign>")
    assert any("LOCKOUT" in m.params[-1] for m in replies if m.command == "705")
    with pytest.raises(ValueError, match="exists"):
        harness.server.add_command("KILL", lockout)
    with pytest.raises(ValueError, match="letters"):
        harness.server.add_command("bad name", lockout)


async def test_attached_client_and_socket_client_together(live_client) -> None:
    config = dataclasses.replace(
        IrcConfig(), listen=(Listener("127.0.0.1", 0),), server_name="irc.test", limits=Limits()
    )
    irc = IrcServer(config)
    await irc.start()
    try:
        [(_, port)] = irc.addresses
        conn = InProcessConnection.attach(irc.server, **RADIO)
        conn.send("JOIN #ham")
        alice = await (await live_client(port)).register("alice")
        await alice.send("JOIN #ham", "PRIVMSG #ham :anyone on the air?")
        while (msg := await conn.read()) is not None:
            if msg.command == "PRIVMSG":
                break
        assert msg is not None and msg.params == ("#ham", "anyone on the air?")
        conn.send("PRIVMSG #ham :K1ABC here")
        got = await alice.expect("PRIVMSG")
        assert got.source == "K1ABC!k1abc@radio.gateway" and got.params[1] == "K1ABC here"
        await alice.close()
    finally:
        await irc.stop(timeout=2)
    assert conn.closed


async def test_attached_clients_are_never_g_lined(make_harness) -> None:
    """Every attached client shares the embedder's address: a G-line would ban them all."""
    from ircd.spamfilter import FilterSpec

    gline = FilterSpec.build("buy.*now", ["channel"], "gline", "spam", duration=600)
    h = make_harness(spamfilter=(gline,))
    op = h.connect("127.0.0.1").register("op")
    h.server.set_oper(op.client, "root")
    spammer = InProcessConnection.attach(h.server, **RADIO)
    other = InProcessConnection.attach(
        h.server, nick="K2DEF", user="k2def", host="radio.gateway", account="K2DEF"
    )
    local = h.connect("127.0.0.1").register("local")
    spammer.send("JOIN #c")
    spammer.send("PRIVMSG #c :buy now")
    await asyncio.sleep(0)
    assert spammer.closed and h.server.find_nick("K1ABC") is None  # killed, as for a kill
    assert h.server.admission.xlines.lines("G") == []  # and no address banned
    assert not other.closed and not local.sink.closed
    # A G-line on the address attached clients share needs -force (ban safety), and
    # even then it does not reach them.
    op.take()
    op.send("GLINE *@127.0.0.1 1h :loopback")
    [refused] = [m.params[1] for m in op.take()]
    assert refused.startswith("G-line on *@127.0.0.1 refused: it covers the address of the 1 ")
    assert not local.sink.closed
    op.send("GLINE -force *@127.0.0.1 1h :loopback")
    await asyncio.sleep(0)
    assert local.sink.closed and not other.closed
