"""A netsplit between two linked InspIRCd: the radio user reads one line saying what is
lost, whatever the number of users who quit with it, and chats on with the other side
once the servers link again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bench import irc_peers as peers
from tests.external.test_external import (
    Spawn,
    gateway_on,
    irc_user,
    linked,
    linked_inspircd,
    started,
)
from tests.gateway.test_bridge_e2e import radio_login

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture


async def test_a_netsplit_is_one_line_to_the_radio_user(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    one, two, watcher = await linked_inspircd(tmp_path, started)
    gw, bpq, totp = await gateway_on(spawn_gateway, tmp_path / "gw", one, "N0AAA")
    ham = await radio_login(bpq, "N0AAA", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/j #net\r")
    await ham.expect("Joined #net")
    far = [await irc_user(two, nick, "#net") for nick in ("bob", "carol")]
    ham.send(b"/who\r")
    await ham.expect("carol")

    await two.stop()  # the link between the servers is gone with it
    got = await ham.expect("until they return.\r\n")
    assert b" ".join(got.split()).endswith(
        b"Netsplit (one.inspircd.test two.inspircd.test): lines to or from users on the other"
        b" side are lost until they return."
    ), got
    ham.send(b"/who\r")  # both quits were read: the line above was said once
    listing = await ham.expect("watcher")
    assert b"Netsplit" not in listing and b"carol" not in listing
    for client in far:
        await client.close()

    await two.start()  # the servers link again; the other side is back
    await linked(watcher, two.server_name)
    dave = await irc_user(two, "dave", "#net")
    ham.send(b"after the split\r")
    assert (await dave.expect("PRIVMSG")).params == ("#net", "after the split")
    ham.send(b"/b\r")
    await ham.expect_close()
    await dave.close()
    await watcher.close()
    assert await gw.stop() == 0
