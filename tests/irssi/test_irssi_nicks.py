"""irssi and callsign nicks: why one is refused, and how its owner keeps it (issue 9, 12).

irssi does not show the text of a 433 (it just tries another nick), so the server says
why in a NOTICE as well; this reads what irssi shows from its logs (as in test_irssi.py).
A callsign nick is kept for that callsign's account whether or not it is enrolled: irssi
asking for one without SASL comes in as a guest and is told why. With SASL and an
application password, irssi gets the callsign nick, again after a reconnect.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.support import GatewayProcess, enroll, run_cli
from tests.irssi.test_irssi import Irssi, free_port, needs_irssi

pytestmark = [pytest.mark.slow, needs_irssi]


@pytest.fixture
async def gateway(tmp_path: Path):
    irc_port = free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc_port}}}]\n"
        f"telnet: {{listen: [{{host: 127.0.0.1, port: {free_port()}}}]}}\n"
    )
    enroll(config, "N0TEST")
    gw = GatewayProcess(config)
    await gw.start()
    try:
        yield config, irc_port
    finally:
        await gw.stop()


async def test_irssi_shows_why_a_callsign_nick_is_refused(
    gateway,
    irssi: Irssi,
) -> None:
    _, irc_port = gateway
    # K4LEG is not enrolled: the answer is the one an enrolled callsign gets.
    irssi.start("-notls", "127.0.0.1", irc_port, nick="K4LEG")
    await irssi.wait_log(r"You are now Guest\d+: K4LEG is a licensed callsign; log in with SASL")
    await irssi.wait_log(r"Welcome to the PacketNet IRC Network Guest\d+")
    irssi.type("/nick N0TEST")
    await irssi.wait_log(r"N0TEST: N0TEST is a licensed callsign; log in with SASL as N0TEST")
    irssi.type("/quit 73")


async def test_irssi_keeps_its_callsign_with_an_application_password(
    gateway,
    irssi: Irssi,
) -> None:
    config, irc_port = gateway
    done = run_cli(config, "apppass", "add", "N0TEST", "irssi")
    assert done.returncode == 0, done.stderr
    password = done.stdout.splitlines()[1].strip()
    # irssi's SASL settings belong to a network; connecting to it logs in.
    setup = (
        f"/network add -sasl_mechanism plain -sasl_username N0TEST -sasl_password {password}"
        " hamnet\n"
        f"/server add -network hamnet -notls 127.0.0.1 {irc_port}\n"
    )
    irssi.start("-notls", "hamnet", "", nick="N0TEST", setup=setup)
    await irssi.wait_log(r"Welcome to the PacketNet IRC Network N0TEST!")
    # A TOTP code would be spent by now; the application password works again.
    irssi.type("/reconnect")
    await irssi.wait_log(r"(?s)Welcome to the PacketNet IRC Network N0TEST!.*"
                         r"Welcome to the PacketNet IRC Network N0TEST!")  # fmt: skip
    irssi.type("/quit 73")
