"""The gateway's radio ports: one KISS TNC and one AX.25 station per `radio.ports` entry.

Each accepted AX.25 link becomes an `AX25Stream` and runs the same session code as a
telnet connection. The transmitter switch (`set_transmit`) reaches every station at
once; it is what `gateway radio off|on` and, later, IRC operator commands call.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from gateway.config import Config, RadioPort
from gateway.events.bus import Events
from gateway.links.ax25 import AX25Stream
from gateway.links.startups import Startups
from gateway.logpace import LogPace
from radio.ax25 import Address, LinkParams
from radio.kiss import KissFrame, setup_frames
from radio.port import Endpoint, KissPort, SerialEndpoint, TcpEndpoint
from radio.station import Connection, Station, StationParams

log = logging.getLogger("gateway.radio")

SessionRunner = Callable[[AX25Stream, RadioPort], Coroutine[Any, Any, None]]
SHUTDOWN_TIMEOUT = 10.0
#: Seconds before a port whose task failed is started again.
PORT_RESTART = 5.0


def station_params(config: Config, port: RadioPort) -> StationParams:
    call = port.callsign or config.callsign
    assert call is not None  # the config checks this
    mycall = Address.parse(call)
    return StationParams(
        mycall=mycall,
        link=LinkParams(
            k=port.k, k_extended=port.k_extended, v22=port.v22, paclen=port.paclen,
            n2=port.n2, t1=port.t1, t2=port.t2, t3=port.t3, bit_rate=port.bit_rate,
            tx_delay=port.tx_delay,
        ),
        max_links=port.max_links,
        id_text=config.radio.id_text or f"{mycall} packet IRC gateway",
        id_interval=config.radio.id_interval,
        duty_cycle=port.duty_cycle / 100 if port.duty_cycle else None,
    )  # fmt: skip


def tnc_frames(port: RadioPort) -> list[KissFrame]:
    """The KISS commands that set this port's TNC up (sent at start and on reconnect)."""
    if not port.tnc_setup:
        return []
    return setup_frames(
        port.tnc_port, tx_delay=port.tx_delay, persistence_p=port.persistence,
        slot=port.slot_time, tail=port.tx_tail, duplex=port.full_duplex,
    )  # fmt: skip


def endpoint(port: RadioPort) -> Endpoint:
    if port.tcp is not None:
        return TcpEndpoint(*port.tcp)
    assert port.serial is not None
    return SerialEndpoint(port.serial, port.baud)


def _to_station(holder: list[Station], frame: KissFrame) -> None:
    """A frame from the TNC to its port's station (made after the KISS port it reads)."""
    holder[0].frame_received(frame.payload)


class RadioPorts:
    def __init__(self, run_session: SessionRunner, events: Events | None = None) -> None:
        self._run_session = run_session
        self._events = events
        self.stations: dict[str, Station] = {}
        self._kiss: list[KissPort] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._streams: set[AX25Stream] = set()
        #: Per port, the links still logging in (bounded by `max_unauthenticated`).
        self._startups: dict[str, Startups[AX25Stream]] = {}
        self.ports: tuple[RadioPort, ...] = ()
        #: What each port is doing, for operators: "TNC up", "TNC down", "failed ...".
        self.state: dict[str, str] = {}
        self._stopping = False

    def port_states(self, ports: Iterable[RadioPort], off: frozenset[str]) -> dict[str, str]:
        """Each port's own switch and what it is doing, for `RADIO TX`."""
        return {
            p.name: ("off" if p.name in off else "on")
            + f", {self.state.get(p.name, 'not started')}"
            for p in ports
        }

    def start(self, config: Config, transmit: bool, off: frozenset[str] = frozenset()) -> None:
        """`transmit`: the switch for all ports; `off`: ports whose own switch is off."""
        self.ports = config.radio.ports
        for port in config.radio.ports:
            params = station_params(config, port)
            holder: list[Station] = []
            kiss = KissPort(
                endpoint(port),
                functools.partial(_to_station, holder),
                name=port.name,
                tnc_port=port.tnc_port,
                init_frames=tnc_frames(port),
                on_state=functools.partial(self._tnc_state, port.name),
            )
            accept = functools.partial(self._accept, port=port)
            station = Station(params, kiss.send, accept, name=port.name)
            holder.append(station)
            startups: Startups[AX25Stream] = Startups(port.name, port.max_unauthenticated)
            self._startups[port.name] = startups
            # Every link taken: drop one still logging in rather than refuse the newcomer.
            station.make_room = lambda s=startups: self._evict(s)
            station.log_pace = LogPace().admit
            station.on_duty_limit = lambda n=port.name: self._emit("duty_cycle", port=n)
            station.set_transmit(transmit and port.name not in off)
            self.stations[port.name] = station
            self._kiss.append(kiss)
            self.state[port.name] = "connecting to the TNC"
            self._run_port(port.name, kiss)
            log.info(
                "radio port %s: %s as %s (k=%d, paclen=%d)",
                port.name, kiss.endpoint, params.mycall, port.k, port.paclen,
            )  # fmt: skip

    def _accept(self, conn: Connection, port: RadioPort) -> None:
        stream = AX25Stream(conn, port.name)
        self._streams.add(stream)
        startups = self._startups[port.name]
        while startups.full and self._evict(startups):  # more than one after a lowering reload
            pass
        # Its path is a claimant; the callsign (the source address) comes with the code
        # prompt, as soon as its session starts.
        startups.add(stream, (stream.path_claimant,))
        stream.on_logged_in = lambda: startups.discard(stream)
        stream.on_code_prompt = lambda call: startups.at_code_prompt(stream, call)
        stream.on_familiar = lambda: startups.familiar(stream)

        async def session() -> None:
            try:
                await self._run_session(stream, port)
            except Exception:
                # The one catch-all per connection: log the bug, end this link only.
                log.exception("session on %s with %s failed", port.name, conn.remote)
            finally:
                startups.discard(stream)
                await stream.close()
                self._streams.discard(stream)

        self._spawn(session())

    @staticmethod
    def _evict(startups: Startups[AX25Stream]) -> bool:
        """Drop a link still logging in (DM), chosen by `Startups`; False if there is none."""
        victim = startups.evict()
        if victim is not None:
            victim.drop("dropped for a newcomer (max_unauthenticated)")
        return victim is not None

    def _tnc_state(self, name: str, up: bool) -> None:
        self.state[name] = "TNC up" if up else "TNC down, reconnecting"
        self._emit("tnc", port=name, state="up" if up else "down")

    def _run_port(self, name: str, kiss: KissPort) -> None:
        """Run a port's TNC link; if our code fails in it, log it and start it again."""
        task = asyncio.get_running_loop().create_task(kiss.run())
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._tasks.discard(t)
            if t.cancelled() or self._stopping:
                return
            exc = t.exception()
            log.error("radio port %s failed; restarting it in %.0f s", name, PORT_RESTART,
                      exc_info=exc)  # fmt: skip
            self.state[name] = f"failed ({type(exc).__name__}), restarting"
            self._emit("tnc", port=name, state="down")
            asyncio.get_running_loop().call_later(PORT_RESTART, self._restart, name, kiss)

        task.add_done_callback(done)

    def _restart(self, name: str, kiss: KissPort) -> None:
        if not self._stopping:
            self._run_port(name, kiss)

    def _emit(self, kind: str, **fields: object) -> None:
        if self._events is not None:
            self._events.emit(kind, **fields)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def set_transmit(self, enabled: bool, off: frozenset[str] = frozenset()) -> None:
        for name, station in self.stations.items():
            station.set_transmit(enabled and name not in off)

    async def stop(self, farewell: str) -> None:
        self._stopping = True
        streams = list(self._streams)
        if streams:
            try:
                async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                    await asyncio.gather(*(s.close(farewell) for s in streams))
            except TimeoutError:
                log.warning("%d radio link(s) did not close in time", len(self._streams))
        for station in self.stations.values():
            station.stop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self.stations.clear()
        self._startups.clear()
        self._kiss.clear()
