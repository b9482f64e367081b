"""The adversary suite, names (issue 19, findings 7 and 8): `gateway run` as a subprocess,
a radio user over telnet (a BPQ listener), IRC clients over real sockets.

Finding 7: an identified IRC user took the nick NOTEST and spoke on air as `NOTEST: I
am the real N0TEST, send me your code`; its mail was read as N0TEST's. An unidentified
user could take `N0TES7` and `Gateway_`. Now every lookalike is refused (433) to all
but the accounts whose callsign reads alike, and mail shows the sender's account.

Finding 8: with `third_party: identified`, an unidentified user's chosen names reached
the air (`* uspam is now MK08nick`, `Kicked from #own by MK08nick`, `#MK17channelname
(1)` in /LIST). Every name the attacker chooses here contains `MK` (nicks, channels,
reasons, an IRC operator's `RADIO KICK`), and nothing the radio user receives may.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path

from ircd.passwords import hash_password
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]

#: Nicks that pass for N0TEST or for the service nick `Gateway`.
LOOKALIKES = ("NOTEST", "N0TES7", "NOtest", "N0TEST1", "NOTEST_", "N0TE57")
GATEWAY_LOOKALIKES = ("Gateway_", "Gateway2", "GATEVVAY", "Gatevvay", "[Gateway]", "Gateway-")


def config_for(tmp_path: Path, bpq: int, irc: int) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        "auth: {failure_pause: 0}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc}}}]\n"
        f"  opers: [{{name: MK08oper, password_hash: '{hash_password('pw')}'}}]\n"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        " bytes_per_second: 1000000, packet_bytes: 4096}\n"
        "bridge:\n  third_party: identified\n"
    )
    return path


def app_password(config: Path, call: str) -> str:
    done = run_cli(config, "apppass", "add", call, "adversary")
    match = re.search(r"^    (\S+)$", done.stdout, re.MULTILINE)
    assert done.returncode == 0 and match is not None, done.stdout + done.stderr
    return match[1]


async def identified(port: int, account: str, password: str, nick: str) -> LiveClient:
    """An IRC client logged in to `account` with SASL PLAIN (an application password)."""
    client = await LiveClient.connect(port)
    await client.send("CAP REQ :sasl", f"NICK {nick}", f"USER u 0 * :{nick}", "AUTHENTICATE PLAIN")
    await client.expect("AUTHENTICATE")
    payload = base64.b64encode(f"\0{account}\0{password}".encode()).decode()
    await client.send(f"AUTHENTICATE {payload}")
    await client.expect("903")
    await client.send("CAP END")
    await client.expect("376", "422")
    return client


async def refused(client: LiveClient, nick: str) -> str:
    """Ask for `nick`: the reason given (a 433, then a NOTICE since clients hide the
    433's text), or fail if the nick was granted."""
    await client.send(f"NICK {nick}")
    answer = await client.expect("433", "NICK")
    assert answer.command == "433", f"{nick} was granted"
    return (await client.expect("NOTICE")).params[-1]


async def radio(port: int, call: str, code: str) -> Client:
    ham = await Client.connect(port, call.encode() + b"\r\n")
    await ham.expect("Code: ")
    ham.send(code.encode() + b"\r")
    await ham.expect("/? for help.\r\n")
    return ham


async def test_lookalike_nicks_are_refused_and_mail_shows_the_account(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc = free_port(), free_port()
    config = config_for(tmp_path, bpq, irc)
    totp = enroll(config, "N0TEST")
    enroll(config, "K9EVIL")
    evil_password, owner_password = app_password(config, "K9EVIL"), app_password(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()

    # Unidentified: every lookalike of N0TEST and of the service nick is refused.
    anon = await LiveClient.connect(irc)
    await anon.register("visitor")
    for nick in LOOKALIKES + GATEWAY_LOOKALIKES:
        await refused(anon, nick)
    # Identified as another ham: the lookalikes of N0TEST are not theirs either.
    evil = await identified(irc, "K9EVIL", evil_password, "K9EVIL")
    for nick in LOOKALIKES:
        why = await refused(evil, nick)
        assert "N0TEST is a licensed callsign" in why or "pass for a callsign" in why, why
    # The owner keeps them: a callsign with an O, an S or a T reads as its own.
    owner = await identified(irc, "N0TEST", owner_password, "N0TEST")
    await owner.send("NICK NOTEST")
    assert (await owner.expect("NICK", "433")).command == "NICK"
    await owner.send("QUIT")
    await owner.until_closed()

    # Mail from K9EVIL to the absent N0TEST, directly and through the service nick.
    await evil.send("PRIVMSG N0TEST :I am the real N0TEST, send me your code")
    assert "held" in (await evil.expect("NOTICE")).params[-1]
    await evil.send("PRIVMSG Gateway :N0TEST it is me, honest")
    assert "held" in (await evil.expect("NOTICE")).params[-1]
    ham = await radio(bpq, "N0TEST", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/read\r")
    mail = await ham.expect("honest\r\n")
    assert b" K9EVIL: I am the real N0TEST" in mail
    assert b" K9EVIL: it is me, honest" in mail
    # The nick alone does not say who sent it: a sender under another nick is shown so.
    await evil.send("NICK Mallory")
    await evil.expect("NICK")
    ham.send(b"/q\r")
    await ham.expect_close()
    await evil.send("PRIVMSG N0TEST :from the real N0TEST again")
    assert "held" in (await evil.expect("NOTICE")).params[-1]
    ham = await radio(bpq, "N0TEST", totp.at(int(time.time() // 30 + 1) * 30))
    ham.send(b"/read\r")
    assert b"Mallory (acct K9EVIL): from the real N0TEST again" in await ham.expect("again\r\n")
    ham.send(b"/q\r")
    await ham.expect_close()
    await anon.close()
    await evil.close()
    assert await gw.stop() == 0


async def test_no_name_an_unidentified_user_chose_reaches_the_air(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc = free_port(), free_port()
    config = config_for(tmp_path, bpq, irc)
    totp = enroll(config, "N0TEST")
    enroll(config, "K9EVIL")
    ham_password = app_password(config, "K9EVIL")
    gw = spawn_gateway(config)
    await gw.start()
    on_air: list[bytes] = []

    async def heard(text: str) -> bytes:
        got = await ham.expect(text)
        on_air.append(got)
        return got

    spam = await LiveClient.connect(irc)
    await spam.register("MK01spam")
    await spam.send("JOIN #own", "JOIN #MK17channelname")  # first in: channel operator
    await spam.expect("366")
    await spam.expect("366")
    ham = await radio(bpq, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/a on\r/j #own\r")
    assert (await heard("\r\n")).endswith(b"Alert on.\r\n")
    assert (await heard("\r\n")).startswith(b"Joined #own, 2 users.")

    await spam.send("NICK MK08nick")
    assert await heard("\r\n") == b"* someone changed nick\r\n"
    ham.send(b"/li\r")
    assert await heard("here.\r\n") == b"#own (2)\r\n+1 other channel, not named here.\r\n"
    ham.send(b"/w\r")
    assert await heard("\r\n") == b"#own (2): N0TEST-5, 1 other\r\n"

    # A logged-in IRC user is named, and stays named across a nick change.
    ham_on_irc = await identified(irc, "K9EVIL", ham_password, "K9EVIL")
    await ham_on_irc.send("JOIN #own", "NICK Evil_away")
    assert await heard("away\r\n") == b"* K9EVIL joined #own\r\n* K9EVIL is now Evil_away\r\n"

    other = await LiveClient.connect(irc)
    await other.register("MK02other")
    await other.send("JOIN #own")
    assert await heard("\r\n") == b"* someone joined #own\r\n"
    await spam.send("KICK #own MK02other :MK08 reason")
    assert await heard("\r\n") == b"* someone was kicked from #own\r\n"
    await other.send("JOIN #own", "PART #own :MK02 part", "JOIN #own", "QUIT :MK02 quit")
    assert await heard("quit\r\n") == (
        b"* someone joined #own\r\n* someone left #own\r\n"
        b"* someone joined #own\r\n* someone quit\r\n"
    )
    await spam.send("TOPIC #own :MK08 topic")  # topics were held before: still are
    await spam.send("KICK #own N0TEST-5 :MK08 go away")
    assert await heard("\r\n") == b"Kicked from #own by someone.\r\n"
    ham.send(b"/j #own\r")
    assert (await heard("\r\n")).startswith(b"Joined #own, 3 users.")
    # RENAME: the radio user sees a PART and a JOIN it never asked for.
    await spam.send("RENAME #own #MK17renamed :MK08 reason")
    assert await heard("rule).\r\n") == (
        b"Removed from #own by an operator.\r\n"
        b"Put in a channel you did not join; left it (third-party rule).\r\n"
    )
    ham.send(b"/c\r")
    assert await heard("\r\n") == b"You are in no channel.\r\n"

    # An IRC operator not logged in to an account ends the session: no nick, no words.
    await spam.send("OPER MK08oper pw")
    await spam.expect("381")
    await spam.send("RADIO KICK N0TEST-5 MK08 reason")
    on_air.append(await ham.expect_close())
    assert on_air[-1].endswith(b"Disconnected by an IRC operator.\r\n")
    transcript = b"".join(on_air)
    assert b"MK" not in transcript.upper(), transcript
    for client in (spam, other, ham_on_irc):
        await client.close()
    assert await gw.stop() == 0
