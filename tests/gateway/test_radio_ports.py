"""Radio ports: a port whose task fails is logged, shown, and started again."""

from __future__ import annotations

import asyncio

from gateway.callsign import Callsign
from gateway.config import Config, RadioConfig, RadioPort
from gateway.events.bus import Events
from gateway.links import radio_ports
from gateway.links.ax25 import AX25Stream
from gateway.logpace import LogPace
from radio.ax25 import Address, Frame, FrameType, decode
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


class FakePort:
    """One radio port "vhf" on a fake TNC: frames in by `sabm`, frames out in `sent`;
    each session binds its stream and waits for it to go (`ended` names it)."""

    def __init__(self, monkeypatch, max_links: int = 5, max_unauthenticated: int = 2) -> None:
        self.sent: list[Frame] = []

        async def run(_port: KissPort) -> None:
            await asyncio.Event().wait()

        def send(_port: KissPort, payload: bytes) -> bool:
            self.sent.append(decode(payload))
            return True

        monkeypatch.setattr(KissPort, "run", run)
        monkeypatch.setattr(KissPort, "send", send)
        # The test's peers never answer a DISC: stop() need not wait the real 10 s.
        monkeypatch.setattr(radio_ports, "SHUTDOWN_TIMEOUT", 0)
        port = RadioPort(
            name="vhf", tcp=("127.0.0.1", 9), max_links=max_links,
            max_unauthenticated=max_unauthenticated,
        )  # fmt: skip
        config = Config(callsign="N0GW-10", radio=RadioConfig(ports=(port,)))
        self.streams: dict[str, AX25Stream] = {}
        self.ended: list[str] = []
        self.ports = radio_ports.RadioPorts(self._session)
        self.ports.start(config, True)
        self.station = self.ports.stations["vhf"]

    async def _session(self, stream: AX25Stream, port: RadioPort) -> None:
        gone = asyncio.Event()

        class Events:
            def line(self, text: str) -> None: ...
            def line_too_long(self, limit: int) -> None: ...
            def ready(self) -> None: ...
            def gone(self) -> None:
                gone.set()

        self.streams[str(stream.conn.remote)] = stream
        stream.bind(Events())  # type: ignore[arg-type]
        await gone.wait()
        self.ended.append(str(stream.conn.remote))

    async def sabm(self, call: str) -> list[FrameType]:
        """A SABM from `call`: what went out for it, IDs left aside."""
        self.sent.clear()
        frame = Frame.build(FrameType.SABM, dest=Address("N0GW", 10), source=Address(call), pf=True)
        self.station.frame_received(frame.encode())
        for _ in range(3):  # let sessions start and end
            await asyncio.sleep(0)
        return [f.kind for f in self.sent if f.kind is not FrameType.UI]


async def test_links_still_logging_in_cannot_hold_the_slots(monkeypatch, caplog) -> None:
    """SABMs from many callsigns: at most max_unauthenticated links wait at the login, one
    of them is dropped (DM) for each newcomer, the oldest silent one first (these
    sessions never reach the code prompt) and a claim through a familiar source last,
    logged-in links are never dropped, and when every link is taken one logging in
    makes room (not the newcomer)."""
    fake = FakePort(monkeypatch)
    station, streams, ended, sabm = fake.station, fake.streams, fake.ended, fake.sabm
    # Two logged-in users, then a burst of links from ten callsigns.
    for call in ("K1OK", "K2OK"):
        assert await sabm(call) == [FrameType.UA]
        streams[call].logged_in()  # type: ignore[attr-defined]
    for i in range(10):
        kinds = await sabm(f"N{i}BAD")
        # The newcomer is accepted (UA); past two waiting, one of them gets DM.
        assert kinds == ([FrameType.UA] if i < 2 else [FrameType.UA, FrameType.DM])
        assert station.links == 2 + min(i + 1, 2)
        if i == 0:  # a claim through its familiar path: strangers go before it
            streams["N0BAD"].at_code_prompt(Callsign("N0BAD", 0))  # type: ignore[attr-defined]
            streams["N0BAD"].familiar_claim()  # type: ignore[attr-defined]
    assert "K1OK" not in ended and "K2OK" not in ended
    assert ended == [f"N{i}BAD" for i in range(1, 9)]
    # Two logging in, both waiting slots taken: the newcomer replaces one of them.
    assert await sabm("K3OK") == [FrameType.UA, FrameType.DM]
    streams["K3OK"].logged_in()  # type: ignore[attr-defined]
    assert await sabm("K4OK") == [FrameType.UA]
    streams["K4OK"].logged_in()  # type: ignore[attr-defined]
    # Every link taken (four logged in, one logging in): the newcomer still gets in,
    # even though the one it replaces is at the code prompt.
    assert station.links == 5
    assert await sabm("K5OK") == [FrameType.DM, FrameType.UA]
    assert ended[-2:] == ["N9BAD", "N0BAD"]
    streams["K5OK"].logged_in()  # type: ignore[attr-defined]
    # Now five logged in: nobody is dropped for a newcomer, who is refused.
    assert await sabm("N0LATE") == [FrameType.DM]
    assert station.links == 5 and station.stats.refused_links == 1
    assert not {"K1OK", "K2OK", "K3OK", "K4OK", "K5OK"} & set(ended)
    warnings = [r for r in caplog.records if "dropped for newcomers" in r.getMessage()]
    assert len(warnings) == 1  # one line for the burst
    assert "vhf: 1 connection(s) still logging in dropped" in warnings[0].getMessage()
    await fake.ports.stop("bye")


async def test_a_sabm_flood_is_paced_in_the_log(monkeypatch, caplog) -> None:
    """Radio-side review, finding 3: 5000 forged SABMs made 10,000 INFO lines (each
    link's "connected", each session's end). Now 20 a minute of each kind, then a count."""
    fake = FakePort(monkeypatch, max_links=4, max_unauthenticated=4)
    with caplog.at_level("INFO"):
        for i in range(200):
            await fake.sabm(f"K{i:03d}X")
    connected = [r.getMessage() for r in caplog.records if " connected (via " in r.getMessage()]
    assert len(connected) == LogPace().burst
    assert len(fake.ended) == 196  # each one dropped for the next
    await fake.ports.stop("bye")
