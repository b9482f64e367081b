"""irssi and callsign nicks: irssi shows why a callsign nick is refused (issue 9, 12).

irssi does not show the text of a 433 (it just tries another nick), so the server says
why in a NOTICE as well; this reads what irssi shows from its logs (as in test_irssi.py).
A callsign nick is kept for that callsign's account whether or not it is enrolled: irssi
asking for one without SASL comes in as a guest and is told why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gateway.support import GatewayProcess, enroll
from tests.irssi.test_irssi import Irssi, free_port, irssi  # noqa: F401 (a fixture)
from tests.irssi.test_irssi import pytestmark as needs_irssi

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
    irssi: Irssi,  # noqa: F811
) -> None:
    _, irc_port = gateway
    # K4LEG is not enrolled: the answer is the one an enrolled callsign gets.
    irssi.start("-notls", "127.0.0.1", irc_port, nick="K4LEG")
    await irssi.wait_log(r"You are now Guest\d+: K4LEG is a licensed callsign; log in with SASL")
    await irssi.wait_log(r"Welcome to the PacketNet IRC Network Guest\d+")
    irssi.type("/nick N0TEST")
    await irssi.wait_log(r"N0TEST: N0TEST is a licensed callsign; log in with SASL as N0TEST")
    irssi.type("/quit 73")
