"""A radio user's login takes their nick back from an IRC client squatting it."""

from __future__ import annotations

from gateway.bridge import Bridge
from tests.gateway.test_bridge import bridge, start  # noqa: F401 (the fixture)
from tests.ircd.conftest import CoreClient


async def test_radio_login_renames_a_squatter_to_a_guest(bridge: Bridge) -> None:  # noqa: F811
    # The embedded server (behind `connector` once the bridge also reaches other networks).
    server = bridge.connector.server if hasattr(bridge, "connector") else bridge.server
    # Before registration nothing is checked (SASL may follow): the nick is held.
    squatter = CoreClient(server, "192.0.2.9")
    squatter.send("NICK N0TEST-5")
    assert squatter.take() == [] and squatter.client.nick == "N0TEST-5"
    radio, _ = await start(bridge)
    radio.type("123456")
    await radio.expect("/? for help.\n")
    holder = server.find_nick("N0TEST-5")
    assert holder is not None and holder.in_process and holder.account == "N0TEST"
    guest = f"Guest{squatter.client.id}"
    notice = squatter.take()
    assert [m.command for m in notice] == ["NOTICE"]
    assert notice[0].params[1].startswith(f"You are now {guest}: N0TEST is a licensed callsign")
    squatter.send("USER s 0 * :s")
    assert squatter.take()[0].params[0] == guest
