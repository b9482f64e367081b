"""Radio ports: a port whose task fails is logged, shown, and started again."""

from __future__ import annotations

import asyncio

from gateway import radio_ports
from gateway.config import Config, RadioConfig, RadioPort
from gateway.events import Events
from radio.port import KissPort


async def test_a_failed_port_task_is_restarted(monkeypatch, caplog) -> None:
    runs: list[int] = []
    again = asyncio.Event()

    async def run(self: KissPort) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("a bug in the port")
        again.set()
        await asyncio.Event().wait()  # then it runs as it should

    monkeypatch.setattr(KissPort, "run", run)
    monkeypatch.setattr(radio_ports, "PORT_RESTART", 0.01)
    events: list[object] = []
    bus = Events(lambda: 0.0)
    bus.subscribe(events.append)
    port = RadioPort(name="vhf", tcp=("127.0.0.1", 9))
    config = Config(callsign="N0GW-10", radio=RadioConfig(ports=(port,)))

    async def session(stream: object, port: RadioPort) -> None:
        raise AssertionError("no session expected")

    ports = radio_ports.RadioPorts(session, bus)
    ports.start(config, True)
    async with asyncio.timeout(5):
        await again.wait()
    assert len(runs) == 2
    assert "radio port vhf failed; restarting it" in caplog.text
    assert [e.fields for e in events] == [{"port": "vhf", "state": "down"}]  # type: ignore[attr-defined]
    await ports.stop("bye")
