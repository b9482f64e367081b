"""`irc.external.host` as a list: the gateway as run fails over between two real ngircd,
the first down at the start, then the second down while the first is back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bench import irc_peers as peers
from tests.external.test_external import Spawn, back_in_test, external_config, irc_user, started
from tests.gateway.support import enroll, free_port, run_cli
from tests.gateway.test_bridge_e2e import radio_login

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture


async def test_clients_go_to_the_next_server_and_say_which(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    first, second = peers.ngircd(tmp_path / "first"), peers.ngircd(tmp_path / "second")
    started += [first, second]
    await second.start()  # the first is down: its port refuses
    bpq = free_port()
    config = external_config(tmp_path / "gw", second, bpq)
    text = config.read_text()
    single = f"host: 127.0.0.1, port: {second.port}"
    assert single in text
    both = f'host: ["127.0.0.1:{first.port}", "127.0.0.1:{second.port}"]'
    config.write_text(text.replace(single, both))
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log(f"IRC: external network 127.0.0.1:{first.port}, 127.0.0.1:{second.port}")
    await gw.wait_log(f"cannot be reached; using 127.0.0.1:{second.port}")
    await gw.wait_log("the service nick .* is on IRC")

    ham = await radio_login(bpq, "N0TEST-5", totp.at(int(time.time() // 30) * 30))
    ham.send(b"/j #test\r")
    assert (await ham.expect("\r\n")).startswith(b"Joined #test")
    await gw.wait_log(f"N0TEST-5: on IRC server 127.0.0.1:{second.port}")
    alice = await irc_user(second, "alice", "#test")
    ham.send(b"on the second\r")
    assert (await alice.expect("PRIVMSG")).params == ("#test", "on the second")
    await alice.close()
    # `gateway status` names every server of the list, and the one reached last.
    shown = f"IRC external 127.0.0.1:{first.port}, 127.0.0.1:{second.port} (last reached)"
    assert shown in await status_showing(config, "(last reached)")

    # The first comes back and the second goes: the session moves over.
    await first.start()
    mark = len(gw.log)
    await second.stop()
    assert await ham.expect("\r\n") == b"IRC network lost (connection lost); reconnecting.\r\n"
    await back_in_test(ham)
    await gw.wait_log(f"N0TEST-5: on IRC server 127.0.0.1:{first.port}", mark)
    bob = await irc_user(first, "bob", "#test")
    ham.send(b"on the first\r")
    assert (await bob.expect("PRIVMSG")).params == ("#test", "on the first")
    ham.send(b"/b\r")
    await ham.expect_close()
    await bob.close()
    assert await gw.stop() == 0


async def status_showing(config: Path, text: str) -> str:
    """`gateway status` once its output shows `text` (the snapshot is written every
    couple of seconds when something changed)."""
    async with asyncio.timeout(20):
        while True:
            out = (await asyncio.to_thread(run_cli, config, "status")).stdout
            if text in out:
                return out
            await asyncio.sleep(0.5)
