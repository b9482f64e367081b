"""Trust across the gateways of one network (issue 20), with the real gateways as
subprocesses on two linked InspIRCd and on ngircd, configured by README's block as
written (`third_party: identified`, `radio_key`, `service_nicks`): radio users of both
gateways hear each other, an IRC user without an account is told why not, mail sent to
the wrong gateway's service nick reaches the ham at the next login on the right one,
and a squatter of a callsign nick never goes on air as that callsign."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pyotp
import pytest
import yaml

from bench import irc_peers as peers
from tests.external.test_external import (
    Spawn,
    gateway_on,
    irc_user,
    linked_inspircd,
    running,
    started,
)
from tests.external.test_readme_recipe import snippet
from tests.gateway.support import Client, GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.ircd.conftest import LiveClient

pytestmark = pytest.mark.slow
__all__ = ["started"]  # the fixture

KEY = "a-club-secret-for-tests"
IDENTIFIED_ONLY = "only users logged in to an account (SASL: callsign and code) go on air"


def readme_config(
    directory: Path,
    peer: peers.IrcPeer,
    bpq: int,
    callsign: str,
    service: str,
    mqtt: dict[str, object] | None = None,
    more: dict[str, object] | None = None,
) -> Path:
    """README's gateway block as written, with the test's network, ports and secrets,
    `more` irc.external keys, and its MQTT section with `mqtt` (or none: no broker)."""
    config = yaml.safe_load(snippet("Each gateway (its own"))
    external = config["irc"]["external"]
    assert config["bridge"]["third_party"] == "identified"
    assert service in external["service_nicks"]
    config["callsign"] = callsign
    external.update(host="127.0.0.1", port=peer.port, tls=False, radio_key=KEY,
                    webirc_password=peers.WEBIRC_PASSWORD, **(more or {}))  # fmt: skip
    config["bridge"]["service_nick"] = service
    if mqtt is None:
        del config["mqtt"]
    else:
        config["mqtt"].update(mqtt)
    config["data_dir"] = str(directory / "data")
    config["auth"] = {"failure_pause": 0}
    config["telnet"] = {"listen": [{"name": "node1", "host": "127.0.0.1", "port": bpq,
                                    "bpq": True, "bytes_per_second": 1000000,
                                    "packet_bytes": 4096}]}  # fmt: skip
    directory.mkdir(parents=True)
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def readme_gateway(
    spawn: Spawn,
    directory: Path,
    peer: peers.IrcPeer,
    call: str,
    station: str,
    service: str,
    mqtt: dict[str, object] | None = None,
    more: dict[str, object] | None = None,
) -> tuple[GatewayProcess, int, pyotp.TOTP]:
    """A gateway `station` on `peer` by README's block, with `call` enrolled."""
    bpq = free_port()
    config = readme_config(directory, peer, bpq, station, service, mqtt, more)
    totp = enroll(config, call)
    gw = spawn(config)
    await gw.start()
    await gw.wait_log("the service nick .* is on IRC")
    return gw, bpq, totp


async def networks(
    kind: str, base: Path, started: list[peers.IrcPeer]
) -> tuple[peers.IrcPeer, peers.IrcPeer, LiveClient | None]:
    """The servers gateways A and B use: two linked InspIRCd, or one ngircd for both."""
    if kind == "inspircd":
        one, two, watcher = await linked_inspircd(base, started)
        return one, two, watcher
    peer = await running(peers.ngircd, base / "ngircd", started)
    return peer, peer, None


async def reads_the_mail(bpq: int, code: str) -> Client:
    """N0BBB logs in with `code` and reads N0AAA's one message (the tests' mail)."""
    ham = await radio_login(bpq, "N0BBB", code)
    assert await ham.expect("/READ\r\n") == b"1 new message, /READ\r\n"
    ham.send(b"/read\r")
    mail = await ham.expect("145.500\r\n")
    assert b"N0AAA" in mail and b"see you at 8 on 145.500" in mail, mail
    return ham


@pytest.mark.parametrize("kind", ["inspircd", "ngircd"])
async def test_radio_users_of_two_gateways_talk_under_identified(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer], kind: str
) -> None:
    one, two, watcher = await networks(kind, tmp_path, started)
    gw_a, bpq_a, totp_a = await readme_gateway(
        spawn_gateway, tmp_path / "a", one, "N0AAA", "N0GW-10", "N0GWmail"
    )
    gw_b, bpq_b, totp_b = await readme_gateway(
        spawn_gateway, tmp_path / "b", two, "N0BBB", "W2GW-10", "W2GWmail"
    )
    step = int(time.time() // 30)
    ham_a = await radio_login(bpq_a, "N0AAA", totp_a.at(step * 30))
    ham_b = await radio_login(bpq_b, "N0BBB", totp_b.at(step * 30))
    for ham in (ham_a, ham_b):
        ham.send(b"/j #net\r")
        await ham.expect("Joined #net")
    alice = await irc_user(two, "alice", "#net")

    # The other gateway's radio user goes on air: both ways, in the channel and private.
    ham_a.send(b"hello from gateway A\r")
    got = await ham_b.expect("hello from gateway A\r\n")
    assert got.endswith(b"N0AAA: hello from gateway A\r\n"), got
    ham_b.send(b"/msg N0AAA and back from B\r")
    assert (await ham_a.expect("and back from B\r\n")).endswith(b"*N0BBB* and back from B\r\n")

    # An IRC user without an account does not, and is told why by each gateway.
    await alice.send("PRIVMSG #net :not for the air")
    told = {}
    for _ in range(2):
        notice = await alice.expect("NOTICE")
        told[(notice.source or "").partition("!")[0]] = notice.params[-1]
    assert told == {
        "N0GWmail": f"Not sent on air to N0AAA: {IDENTIFIED_ONLY} (third-party rule).",
        "W2GWmail": f"Not sent on air to N0BBB: {IDENTIFIED_ONLY} (third-party rule).",
    }
    ham_a.send(b"after alice\r")
    assert b"not for the air" not in await ham_b.expect("N0AAA: after alice\r\n")

    # Mail for N0BBB, sent to gateway A's service nick, reaches N0BBB on gateway B.
    ham_b.send(b"/b\r")
    await ham_b.expect_close()
    ham_a.send(b"/msg N0GWmail N0BBB see you at 8 on 145.500\r")
    held = await ham_a.expect("days).\r\n")
    assert b" ".join(held.split()).endswith(
        b"-N0GWmail- Message held if N0BBB uses a gateway of this network (kept 30 days)."
    ), held
    await gw_b.wait_log("message 1 held for N0BBB from N0AAA")
    # Mail for a callsign no gateway serves: passed on once, dropped, never passed back.
    ham_a.send(b"/msg N0GWmail N0CCC anyone?\r")
    await ham_a.expect("Message held if N0CCC uses")
    await gw_b.wait_log("from N0AAA for N0CCC, passed on: not enrolled here, dropped")
    # Only a gateway's service nick (at the radio_key address) may pass mail on.
    await alice.send("PRIVMSG W2GWmail :\x01GWMAIL N0BBB N0AAA!n0aaa@fd00::1 * PRIVMSG forged\x01")
    forged = await alice.expect("NOTICE")
    assert forged.params[-1] == "To leave a radio user a message: /msg W2GWmail CALL text"
    # Refused under the rule: told plainly, never lost without a word.
    await alice.send("PRIVMSG N0GWmail :N0BBB me too")
    refused = await alice.expect("NOTICE")
    assert refused.params[-1] == f"Not held for N0BBB: {IDENTIFIED_ONLY} (third-party rule)."
    await alice.send("PRIVMSG N0GWmail :N0BBB " + "x" * 400)  # fits alice's line, not GWMAIL
    too_long = (await alice.expect("NOTICE")).params[-1]
    assert re.fullmatch(r"Not held for N0BBB: \d+ characters too long\.", too_long), too_long
    ham_b = await reads_the_mail(bpq_b, totp_b.at((step + 1) * 30))

    for ham in (ham_a, ham_b):
        ham.send(b"/b\r")
        await ham.expect_close()
    await alice.close()
    if watcher is not None:
        await watcher.close()
    assert await gw_a.stop() == 0
    assert await gw_b.stop() == 0
    assert not [line for line in gw_b.log if "passed on to" in line]  # no loop


@pytest.mark.parametrize("kind", ["inspircd", "ngircd"])
async def test_a_squatted_callsign_never_goes_on_air_as_that_callsign(
    tmp_path: Path, spawn_gateway: Spawn, started: list[peers.IrcPeer], kind: str
) -> None:
    make = peers.inspircd if kind == "inspircd" else peers.ngircd
    peer = await running(make, tmp_path / "ircd", started)
    squat = await irc_user(peer, "N0AAA-5", "#net")
    alice = await irc_user(peer, "alice", "#net")
    # Even under `all`, where every IRC user's text goes on air.
    gw, bpq, totp = await gateway_on(spawn_gateway, tmp_path / "gw", peer, "N0AAA")
    ham = await radio_login(bpq, "N0AAA-5", totp.at(int(time.time() // 30) * 30))
    assert await ham.expect("yours).\r\n") == (
        b"On IRC you are N0AAA-5_: N0AAA-5 is taken there by another client (its lines "
        b"stay off the air unless it is yours).\r\n"
    )
    ham.send(b"/j #net\r")
    await ham.expect("Joined #net")
    await squat.send("PRIVMSG #net :I am N0AAA-5, really")
    told = await squat.expect("NOTICE")
    assert told.params[-1] == (
        "Not sent on air to N0AAA-5_: your nick is or looks like a callsign; choose another"
        " nick (third-party rule)."
    )
    # Nor from a nick that passes for the callsign on air (`N0AAA|afk`: ngircd allows 9).
    away = await LiveClient.connect(peer.port)  # ngircd refuses `|` in the user name
    await away.send("NICK N0AAA|afk", "USER away 0 * :away")
    await away.expect("376", "422")
    await away.send("JOIN #net")
    await away.expect("366")
    await away.send("PRIVMSG #net :back, really")
    told = await away.expect("NOTICE")
    assert told.params[-1].startswith("Not sent on air to N0AAA-5_: your nick is or looks like")
    await alice.send("PRIVMSG #net :a real line")
    assert b"really" not in await ham.expect("alice: a real line\r\n")
    # Nor is mail taken from it as the callsign's.
    await squat.send("PRIVMSG Gateway :N0BBB it is me")
    assert (await squat.expect("NOTICE")).params[-1].startswith("Not held for N0BBB: your nick")
    # The nick's own radio user (at its address) goes on air, as this gateway's users do.
    ham.send(b"/b\r")
    await ham.expect_close()
    for client in (squat, away, alice):
        await client.close()
    assert await gw.stop() == 0
