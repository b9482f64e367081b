"""What operators hear of radio logins, and see in WHOIS, against `gateway run` (issue 22).

A real gateway process, a BPQ node's telnet link, and IRC clients over real sockets: a
radio login and a failed one each give one RADIOLOGIN notice naming the callsign and
where it came from; an operator's WHOIS of the radio user shows the node and the login
time, a plain user's does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ircd.protocol import Message
from tests.gateway.support import Client, GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_operators_e2e import notices_until, oper_config, operator
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]


def logins(notices: list[str]) -> list[str]:
    return [n for n in notices if n.startswith("*** RADIOLOGIN: ")]


async def whois(client: LiveClient, nick: str) -> list[Message]:
    """The replies to WHOIS `nick`, up to its 318."""
    await client.send(f"WHOIS {nick}")
    out = []
    while not out or out[-1].command != "318":
        msg = await client.read()
        assert msg is not None, "closed during WHOIS"
        if msg.command in _WHOIS or msg.command == "318":
            out.append(msg)
    return out


#: The replies WHOIS may send before its 318 (everything else read meanwhile is skipped).
_WHOIS = {"276", "301", "311", "312", "313", "317", "319", "320", "330", "335", "378", "671"}


async def test_radio_logins_are_told_and_whois_shows_the_node_to_operators_only(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = oper_config(tmp_path, bpq, irc_port)
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    op = await operator(irc_port)
    plain = await LiveClient.connect(irc_port)
    await plain.register("plain")

    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    said = logins(await notices_until(op, "logged in through"))
    assert said == ["*** RADIOLOGIN: N0TEST-5 logged in through BPQ node node1"]

    failed = await Client.connect(bpq, b"N0TEST-7\r\n")
    await failed.expect("Code: ")
    wrong = f"{(int(totp.now()) + 500_000) % 1_000_000:06d}"
    failed.send(wrong.encode() + b"\r")
    await failed.expect("Login failed.")
    failed.close()
    said = logins(await notices_until(op, "Failed radio login"))
    assert said == [
        "*** RADIOLOGIN: Failed radio login as N0TEST-7 through BPQ node node1: wrong code"
    ]
    assert wrong not in said[0]

    special = [m.params[-1] for m in await whois(op, "N0TEST-5") if m.command == "320"]
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert len(special) == 1, special
    assert special[0].startswith("is on the air as N0TEST-5 through BPQ node node1, logged in ")
    assert today in special[0]
    replies = await whois(plain, "N0TEST-5")
    assert replies[0].command == "311" and "320" not in [m.command for m in replies]
    # The host and realname say the kind of link, never the node (nor a path).
    assert replies[0].params[3] == "bpq.radio" and replies[0].params[-1] == "N0TEST-5 (BPQ)"
    assert not any("node1" in " ".join(m.params) for m in replies)
    # Nothing more about logins came meanwhile: one notice for each attempt.
    await op.send("PING :end")
    rest = []
    while (msg := await op.expect("NOTICE", "PONG")).command == "NOTICE":
        rest.append(msg.params[-1])
    assert logins(rest) == []
    ham.send(b"/q\r")
    await ham.expect_close()
