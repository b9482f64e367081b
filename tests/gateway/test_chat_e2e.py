"""A radio user's chat over a real socket, against the embedded server (issue 18)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from tests.gateway.support import Client, GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import bridge_config, radio_login
from tests.ircd.conftest import LiveClient

Spawn = Callable[[Path], GatewayProcess]


async def test_a_topic_set_before_joining_shows_with_its_setter_under_identified(
    tmp_path: Path, spawn_gateway: Spawn
) -> None:
    bpq, irc_port = free_port(), free_port()
    config = bridge_config(tmp_path, bpq, irc_port)
    config.write_text(config.read_text().replace("third_party: all", "third_party: identified"))
    setter, reader = enroll(config, "K1ABC"), enroll(config, "N0TEST")
    step = int(time.time() // 30)
    gw = spawn_gateway(config)
    await gw.start()

    ham = await radio_login(bpq, "K1ABC", setter.at(step * 30))
    ham.send(b"/j #net\r")
    await ham.expect("Joined #net")
    alice = await LiveClient.connect(irc_port)  # logged in to no account; keeps #net open
    await alice.register("alice")
    await alice.send("JOIN #net")
    await alice.expect("366")
    ham.send(b"/t net at 19:00 on 145.500\r")  # K1ABC made #net: an operator there
    assert await ham.expect("Topic set.\r\n")
    ham.send(b"/b\r")
    await ham.expect_close()

    # The server's 333 names K1ABC's nick, which only K1ABC logged in can hold.
    ham = await radio_login(bpq, "N0TEST-5", reader.at(step * 30))
    ham.send(b"/j #net\r")
    assert await ham.expect("\r\n") == b"Joined #net, 2 users. Topic: net at 19:00 on 145.500\r\n"
    ham.send(b"/t\r")
    assert await ham.expect("\r\n") == b"Topic of #net, set by K1ABC: net at 19:00 on 145.500\r\n"
    # One set by a user logged in to no account is not, before or after joining.
    await alice.send("JOIN #other")
    await alice.expect("366")
    await alice.send("TOPIC #other :alice's own topic")
    await alice.expect("TOPIC")
    ham.send(b"/j #other\r")
    assert await ham.expect("\r\n") == b"Joined #other, 2 users.\r\n"
    ham.send(b"/t\r")
    assert await ham.expect("\r\n") == (
        b"This topic is not relayed on air here (third-party rule).\r\n"
    )
    ham.send(b"/b\r")
    await ham.expect_close()
    await alice.close()
    assert await gw.stop() == 0


async def test_shownames_is_kept_for_the_next_login(tmp_path: Path, spawn_gateway: Spawn) -> None:
    bpq, irc_port = free_port(), free_port()
    config = bridge_config(tmp_path, bpq, irc_port)
    totp = enroll(config, "N0TEST")
    step = int(time.time() // 30)
    gw = spawn_gateway(config)
    await gw.start()
    alice = await LiveClient.connect(irc_port)
    await alice.register("alice")
    await alice.send("JOIN #net")
    await alice.expect("366")

    async def two_lines(ham: Client, first: str, second: str) -> bytes:
        await alice.send(f"PRIVMSG #net :{first}")
        await alice.send(f"PRIVMSG #net :{second}")
        return await ham.expect(f"{first}\r\n") + await ham.expect(f"{second}\r\n")

    ham = await radio_login(bpq, "N0TEST-5", totp.at(step * 30))
    ham.send(b"/j #net\r")
    await ham.expect("users.\r\n")
    assert await two_lines(ham, "one", "two") == b"alice: one\r\n: two\r\n"  # the default
    ham.send(b"/sh on\r")
    await ham.expect("ShowNames on.\r\n")
    ham.send(b"/b\r")  # at once: the setting is kept all the same
    await ham.expect_close()

    ham = await radio_login(bpq, "N0TEST-7", totp.at(step * 30 + 30))
    ham.send(b"/j #net\r")
    assert (await ham.expect("two\r\n")).endswith(b" alice: one\r\nalice: two\r\n")  # history
    assert await two_lines(ham, "three", "four") == b"alice: three\r\nalice: four\r\n"
    ham.send(b"/b\r")
    await ham.expect_close()
    await alice.close()
    assert await gw.stop() == 0
