"""The transmitter switches in the store: one for every radio port, one per port.

`gateway radio off|on [--port NAME]` and the operators' `RADIO TX` write them; a running
gateway reads them at start, on SIGUSR1 and when the store changes. A switch never set
reads as on; the config's `radio.transmit: false` keeps every port off whatever they say.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.store import Store

TRANSMIT_SETTING = "radio_transmit"


def _key(port: str | None) -> str:
    return TRANSMIT_SETTING if port is None else f"{TRANSMIT_SETTING}:{port}"


def set_switch(store: Store, enabled: bool, port: str | None = None) -> None:
    """Switch every port (`port` None) or one port's own switch."""
    with store.transaction():
        store.set_setting(_key(port), "on" if enabled else "off")


def switches(store: Store, ports: list[str]) -> tuple[bool, frozenset[str]]:
    """The switch for all ports (True: on), and the ports whose own switch is off."""
    off = frozenset(name for name in ports if store.get_setting(_key(name)) == "off")
    return store.get_setting(TRANSMIT_SETTING) != "off", off
