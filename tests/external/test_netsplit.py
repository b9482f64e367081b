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
    start_linked,
    started,
)
from tests.gateway.test_bridge_e2e import radio_login
from tests.ircd.conftest import LiveClient

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture


async def linked_ngircd(
    base: Path, started: list[peers.IrcPeer]
) -> tuple[peers.IrcPeer, peers.IrcPeer, LiveClient]:
    """Two linked ngircd (the first connects, retrying every 5 s), and a client on the
    first watching #net once the second is linked."""
    one, two = peers.ngircd(base / "one"), peers.ngircd(base / "two")
    one.server_name, two.server_name = "one.ngircd.test", "two.ngircd.test"
    for peer, other, connects in ((one, two, True), (two, one, False)):
        conf = peer.directory / "ngircd.conf"
        text = conf.read_text(encoding="utf-8").replace("irc.ngircd.test", peer.server_name)
        text = text.replace("[Limits]\n", "[Limits]\nConnectRetry = 5\n")
        port = f"Port = {other.port}\n" if connects else ""  # without: it only accepts
        conf.write_text(
            text + f"[Server]\nName = {other.server_name}\nHost = 127.0.0.1\n{port}"
            f"MyPassword = {peers.LINK_PASSWORD}\nPeerPassword = {peers.LINK_PASSWORD}\n",
            encoding="utf-8",
        )
    # The passive side first: the other links to it at once, not at its next retry.
    return one, two, await start_linked(one, two, started, [two, one])


@pytest.mark.parametrize("kind", ["inspircd", "ngircd"])
async def test_a_netsplit_is_one_line_to_the_radio_user(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer], kind: str
) -> None:
    make = linked_inspircd if kind == "inspircd" else linked_ngircd
    one, two, watcher = await make(tmp_path, started)
    gw, bpq, totp = await gateway_on(spawn_gateway, tmp_path / "gw", one, "N0AAA")
    ham = await radio_login(bpq, "N0AAA", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/j #net\r")
    await ham.expect("Joined #net")
    far = [await irc_user(two, nick, "#net") for nick in ("bob", "carol")]
    while not ((await watcher.expect("JOIN")).source or "").startswith("carol!"):
        pass  # carol's join has reached the first server
    ham.send(b"/who\r")
    await ham.expect("carol")

    await two.stop()  # the link between the servers is gone with it
    got = await ham.expect("until they return.\r\n")
    assert b" ".join(got.split()).endswith(
        f"Netsplit ({one.server_name} {two.server_name}): lines to or from users on the other"
        " side are lost until they return.".encode()
    ), got
    ham.send(b"/who\r")  # both quits were read: the line above was said once
    listing = await ham.expect("watcher")
    assert b"Netsplit" not in listing and b"carol" not in listing
    for client in far:
        await client.close()

    await two.start()  # the servers link again; the other side is back
    await linked(watcher, two.server_name)
    dave = await irc_user(two, "dave", "#net")
    while not ((await watcher.expect("JOIN")).source or "").startswith("dave!"):
        pass  # dave's join has reached the first server: a line from there reaches him
    ham.send(b"after the split\r")
    assert (await dave.expect("PRIVMSG")).params == ("#net", "after the split")
    ham.send(b"/b\r")
    await ham.expect_close()
    await dave.close()
    await watcher.close()
    assert await gw.stop() == 0
