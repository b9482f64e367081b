"""The bridge end to end: `gateway run` as a subprocess, a BPQ-style user and an IRC client."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from tests.gateway.support import Client, GatewayProcess, enroll, free_port
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]


def bridge_config(tmp_path: Path, bpq_port: int, irc_port: int, extra: str = "") -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "auth: {failure_pause: 0}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc_port}}}]\n"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq_port}, bpq: true,"
        " bytes_per_second: 1000000, packet_bytes: 4096}\n"
        "bridge:\n  third_party: all\n" + extra
    )
    return path


async def radio_login(port: int, call: str, code: str) -> Client:
    user = await Client.connect(port, call.encode() + b"\r\n")
    await user.expect("Code: ")
    user.send(code.encode() + b"\r")
    await user.expect("/? for help.\r\n")
    return user


async def test_bpq_user_and_irc_client_chat_and_mailbox(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = bridge_config(tmp_path, bpq, irc_port)
    totp = enroll(config, "N0TEST")
    step = int(time.time() // 30)
    gw = spawn_gateway(config)
    await gw.start()

    ham = await radio_login(bpq, "N0TEST-5", totp.at(step * 30))
    ham.send(b"/j #test\r")
    joined = await ham.expect("\r\n")
    assert joined.startswith(b"Joined #test")

    irc = await LiveClient.connect(irc_port)
    await irc.register("alice")
    await irc.send("JOIN #test")
    await irc.expect("366")
    await irc.send("PRIVMSG #test :hello radio \x02world\x02 caf\u00e9")
    assert (await ham.expect("\r\n")) == b"alice: hello radio world cafe\r\n"
    ham.send(b"good evening from the air\r")
    msg = await irc.expect("PRIVMSG")
    assert msg.source is not None and msg.source.startswith("N0TEST-5!n0test@bpq.radio")
    assert msg.params == ("#test", "good evening from the air")
    await irc.send("PRIVMSG N0TEST-5 :a private word", "PRIVMSG #test :\x01ACTION waves\x01")
    assert (await ham.expect("* alice waves\r\n")).endswith(
        b"*alice* a private word\r\n* alice waves\r\n"
    )
    await irc.send("WHOIS N0TEST-5")
    whois = await irc.expect("311")
    assert whois.params[-1] == "N0TEST-5 (BPQ)"  # the node is for operators
    ham.send(b"/b\r")
    assert (await ham.expect_close()).endswith(b"73!\r\n")

    # Off the air: a private message to the callsign is held in the store.
    await irc.send("PRIVMSG N0TEST :are you there?")
    held = await irc.expect("NOTICE")
    assert held.source is not None and held.source.startswith("Gateway!")
    assert "held" in held.params[-1]
    await irc.close()
    assert await gw.stop() == 0

    gw = spawn_gateway(config)
    await gw.start()
    ham = await radio_login(bpq, "N0TEST", totp.at((step + 1) * 30))
    assert await ham.expect("/READ\r\n") == b"1 new message, /READ\r\n"
    ham.send(b"/read\r")
    mail = await ham.expect("are you there?\r\n")
    assert b"1 " in mail and b"alice (not logged in): are you there?" in mail
    ham.send(b"/read\r")  # nothing unread: all kept ones are listed again
    await ham.expect("are you there?\r\n")
    ham.send(b"/kill 1\r")
    await ham.expect("Deleted.\r\n")
    ham.send(b"/read\r")
    await ham.expect("No messages.\r\n")
    ham.send(b"/q\r")
    await ham.expect_close()
    assert await gw.stop() == 0


async def test_archive_takeover_and_digit_callsigns(tmp_path: Path, spawn_gateway: Spawn) -> None:
    bpq, irc_port = free_port(), free_port()
    archive = "  archive: {channels: [news]}\n"
    config = bridge_config(tmp_path, bpq, irc_port, archive)
    totp = enroll(config, "2E0ABC")
    step = int(time.time() // 30)
    gw = spawn_gateway(config)
    await gw.start()

    # The archive records #news while no radio user is there.
    irc = await LiveClient.connect(irc_port)
    await irc.register("alice")
    await irc.send("JOIN #news")
    await irc.expect("366")
    for i in range(3):
        await irc.send(f"PRIVMSG #news :bulletin {i}")
    await irc.send("NAMES #news")
    names = await irc.expect("353")
    assert "Gateway" in names.params[-1]
    # A callsign that starts with a digit is the nick _2E0ABC, reserved for its owner.
    await irc.send("NICK _2E0ABC")
    assert "licensed callsign" in (await irc.expect("433")).params[-1]

    ham = await radio_login(bpq, "2E0ABC", totp.at(step * 30))
    ham.send(b"/new\r")
    assert await ham.expect("\r\n") == b"New: #news 3\r\n"
    ham.send(b"/read #news\r")
    listing = await ham.expect("bulletin 2\r\n")
    assert listing.count(b"alice: bulletin") == 3 and listing.startswith(b"1 ")
    ham.send(b"/new\r")
    assert await ham.expect("\r\n") == b"Nothing new.\r\n"
    ham.send(b"/j #news\r")
    joined = await ham.expect("bulletin 2\r\n")  # the last lines said there, with times
    assert joined.startswith(b"Joined #news, 3 users.\r\n")
    assert re.search(rb"\r\n\d\d:\d\d alice: bulletin 0\r\n", joined)
    await irc.send("WHOIS _2E0ABC")
    assert (await irc.expect("311")).params[-1] == "2E0ABC (BPQ)"
    await irc.send("WHOIS 2E0ABC")  # as typed, the callsign finds its nick
    assert (await irc.expect("311")).params[1] == "_2E0ABC"
    await irc.send("PRIVMSG 2E0ABC :by callsign")
    await ham.expect("*alice* by callsign\r\n")
    await irc.send("PRIVMSG #news :for the air")
    await ham.expect("alice: for the air\r\n")

    # The same callsign logs in again: the new session takes over, the old one is told.
    again = await radio_login(bpq, "2E0ABC", totp.at((step + 1) * 30))
    assert b"Logged in again elsewhere" in await ham.expect_close()
    again.send(b"/who #news\r")  # the old one's IRC client has quit; the new one is in none
    assert await again.expect("\r\n") == b"#news (2): Gateway alice\r\n"
    again.send(b"/q\r")
    await again.expect_close()
    await irc.close()
    assert await gw.stop() == 0
    await gw.wait_log("2E0ABC logged in again via BPQ node1")
