"""Mail passed between the gateways of one network survives a gateway that is down
(issue 20), with the real gateways as subprocesses on two linked InspIRCd and on
ngircd, configured by README's block: mail sent to gateway A's service nick for a ham
enrolled on gateway B while B is stopped is kept by A (across A's own restart), goes
to B once B's service nick is back and verified, and B's ham reads it at the next
login; an impostor holding B's service nick meanwhile receives none of it. Mail sent
after a quiet spell (no line between the service nicks for longer than a check stays
good) goes at the answer to the check it brings."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import yaml

from bench import irc_peers as peers
from gateway.bridge.forward import FRESH
from tests.external.test_external import Spawn, started
from tests.external.test_trust import (
    IDENTIFIED_ONLY,
    networks,
    readme_config,
    readme_gateway,
    reads_the_mail,
)
from tests.gateway.support import enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.ircd.conftest import LiveClient

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture


@pytest.mark.parametrize("kind", ["inspircd", "ngircd"])
async def test_mail_for_a_ham_of_a_stopped_gateway_waits_for_it(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer], kind: str
) -> None:
    one, two, watcher = await networks(kind, tmp_path, started)
    # B's service nick is held by an impostor while B is down.
    impostor = await LiveClient.connect(two.port)
    await impostor.register("W2GWmail")
    gw_a, bpq_a, totp_a = await readme_gateway(
        spawn_gateway, tmp_path / "a", one, "N0AAA", "N0GW-10", "N0GWmail"
    )
    bpq_b = free_port()
    config_b = readme_config(tmp_path / "b", two, bpq_b, "W2GW-10", "W2GWmail")
    totp_b = enroll(config_b, "N0BBB")

    step = int(time.time() // 30)
    ham_a = await radio_login(bpq_a, "N0AAA", totp_a.at(step * 30))
    before = len(gw_a.log)
    ham_a.send(b"/msg N0GWmail N0BBB see you at 8 on 145.500\r")
    held = await ham_a.expect("days).\r\n")
    assert b" ".join(held.split()).endswith(
        b"-N0GWmail- Message held if N0BBB uses a gateway of this network (kept 30 days)."
    ), held
    await gw_a.wait_log("message [0-9a-f]+ from N0AAA for N0BBB kept, passed on to W2GWmail")
    # A looked at who holds W2GWmail, found no gateway there, and sent it nothing.
    await gw_a.wait_log(r"W2GWmail is W2GWmail!\S+, not at a gateway's address", before)
    alice = await LiveClient.connect(two.port)
    await alice.register("alice")
    await alice.send("PRIVMSG W2GWmail :after the check")
    assert (await impostor.expect("PRIVMSG", timeout=20)).params[-1] == "after the check"
    await impostor.send("QUIT :bye")
    await impostor.until_closed()
    assert not [msg for msg in impostor.seen if "GWMAIL" in " ".join(msg.params)]
    ham_a.send(b"/b\r")
    await ham_a.expect_close()

    # A restarts meanwhile: the message is in its store, not its memory.
    assert await gw_a.stop() == 0
    gw_a = spawn_gateway(tmp_path / "a" / "gateway.yaml")
    await gw_a.start()
    await gw_a.wait_log("the service nick N0GWmail is on IRC")

    # B comes back: its service nick says HELLO, A passes the message on, B holds it.
    gw_b = spawn_gateway(config_b)
    await gw_b.start()
    await gw_b.wait_log("the service nick W2GWmail is on IRC")
    await gw_b.wait_log("message 1 held for N0BBB from N0AAA")
    await gw_a.wait_log("message [0-9a-f]+ passed on: held")
    ham_b = await reads_the_mail(bpq_b, totp_b.at((step + 1) * 30))
    ham_b.send(b"/b\r")
    await ham_b.expect_close()

    await alice.close()
    if watcher is not None:
        await watcher.close()
    assert await gw_a.stop() == 0
    assert await gw_b.stop() == 0
    assert len([line for line in gw_b.log if "held for N0BBB" in line]) == 1


def loose_config(directory: Path, peer: peers.IrcPeer, station: str, service: str) -> Path:
    """README's gateway with `third_party: all` (alice, not identified, may leave mail)."""
    config = readme_config(directory, peer, free_port(), station, service)
    loose = yaml.safe_load(config.read_text(encoding="utf-8"))
    loose["bridge"]["third_party"] = "all"
    config.write_text(yaml.safe_dump(loose), encoding="utf-8")
    return config


@pytest.mark.parametrize("kind", ["inspircd", "ngircd"])
async def test_a_refusal_where_the_ham_is_enrolled_is_told_by_the_passing_gateway(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer], kind: str
) -> None:
    """Gateways with different rules: A (`all`) passes alice's mail on, B (`identified`)
    refuses it; alice hears it from A's service nick, never from B's, so nothing tells
    her which gateway serves N0BBB. Mail no gateway serves is dropped once all said so."""
    one, two, watcher = await networks(kind, tmp_path, started)
    gw_a = spawn_gateway(loose_config(tmp_path / "a", one, "N0GW-10", "N0GWmail"))
    await gw_a.start()
    await gw_a.wait_log("the service nick N0GWmail is on IRC")
    gw_b, _, _ = await readme_gateway(
        spawn_gateway, tmp_path / "b", two, "N0BBB", "W2GW-10", "W2GWmail"
    )
    alice = await LiveClient.connect(one.port)
    await alice.register("alice")
    await alice.send("PRIVMSG N0GWmail :N0BBB hello from alice")
    held = await alice.expect("NOTICE", timeout=20)
    assert held.params[-1].startswith("Message held if N0BBB uses a gateway")
    refused = await alice.expect("NOTICE", timeout=20)
    assert refused.params[-1] == f"Not held for N0BBB: {IDENTIFIED_ONLY} (third-party rule)."
    await gw_a.wait_log("message [0-9a-f]+ passed on: refused")
    await alice.send("PRIVMSG N0GWmail :N0CCC anyone?")
    nobody = await alice.expect("NOTICE", timeout=20)
    assert nobody.params[-1].startswith("Message held if N0CCC uses")
    await gw_a.wait_log("message [0-9a-f]+ passed on: nobody")
    await alice.send("PRIVMSG W2GWmail :hello")  # B's service answers alice when asked
    told = await alice.expect("NOTICE", timeout=20)
    assert told.params[-1] == "To leave a radio user a message: /msg W2GWmail CALL text"
    senders = [(m.source or "").partition("!")[0] for m in alice.seen if m.command == "NOTICE"]
    assert senders.count("W2GWmail") == 1  # the answer just asked for, nothing before it

    await alice.close()
    if watcher is not None:
        await watcher.close()
    assert await gw_a.stop() == 0
    assert await gw_b.stop() == 0
    assert not [line for line in gw_b.log if "held for N0BBB" in line]


async def test_mail_after_a_quiet_spell_is_passed_on(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer]
) -> None:
    """Nothing passes between A's and B's service nicks for longer than FRESH (a real
    wait: the check that B is there has gone stale); then alice writes to A for B's ham.
    A checks again and passes it on at the answer: B holds it."""
    one, two, watcher = await networks("inspircd", tmp_path, started)
    config_a = loose_config(tmp_path / "a", one, "N0GW-10", "N0GWmail")
    gw_a = spawn_gateway(config_a)
    await gw_a.start()
    await gw_a.wait_log("the service nick N0GWmail is on IRC")
    config_b = loose_config(tmp_path / "b", two, "W2GW-10", "W2GWmail")
    enroll(config_b, "N0BBB")
    gw_b = spawn_gateway(config_b)
    await gw_b.start()
    await gw_b.wait_log("the service nick W2GWmail is on IRC")
    await asyncio.sleep(FRESH + 3)  # quiet: the time itself is what is tested
    alice = await LiveClient.connect(one.port)
    await alice.register("alice")
    await alice.send("PRIVMSG N0GWmail :N0BBB hello after a quiet spell")
    await gw_a.wait_log("message [0-9a-f]+ from alice for N0BBB kept")
    await gw_b.wait_log("message 1 held for N0BBB from alice")
    await gw_a.wait_log("message [0-9a-f]+ passed on: held")

    await alice.close()
    if watcher is not None:
        await watcher.close()
    assert await gw_a.stop() == 0
    assert await gw_b.stop() == 0
