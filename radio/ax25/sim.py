"""A simulated half-duplex packet-radio channel in virtual time, for tests and benchmarks.

Each `Station` is a host with one `Link` behind a simulated KISS TNC. The TNCs share one
channel: carrier sense with p-persistence and slot time, TXDELAY paid once per
transmission, frames sent back to back while the TNC's queue has any, and a transmitter
that cannot hear while it sends. Frames are lost independently with probability
``loss`` (seeded, so runs are reproducible), and both transmissions are lost where two
stations key up in the same instant. Everything runs on a virtual clock: kilobytes at
1200 bit/s take milliseconds of real time.

Frames go through the real encoders and decoders (AX.25 and KISS) on the way.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from radio import kiss
from radio.ax25.actions import (
    Action,
    Deliver,
    LinkParams,
    SendFrame,
    StartTimer,
    State,
    StopTimer,
    Timer,
)
from radio.ax25.frame import Address, FrameError, FrameType, decode, reply_path
from radio.ax25.link import Link
from radio.ax25.procedures import no_link_reply
from radio.ax25.timers import airtime

__all__ = ["ChannelParams", "SimStats", "Simulator", "Station"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelParams:
    """The simulated radio channel and TNC settings."""

    #: Modem bit rate.
    bit_rate: int = 1200
    #: Probability that any one frame is lost (independently of the others).
    loss: float = 0.0
    #: Keyup delay before the first frame of a transmission, seconds.
    tx_delay: float = 0.3
    #: Time the transmitter stays keyed after the last frame, seconds.
    tx_tail: float = 0.02
    #: KISS p-persistence value P (transmit in a free slot with probability (P+1)/256).
    persistence: int = 63
    #: Slot time between channel checks, seconds.
    slot_time: float = 0.1
    #: Seed for loss and channel access; the same seed replays the same run.
    seed: int = 0


@dataclass(slots=True)
class SimStats:
    """Channel counters (mutable, owned by one `Simulator`)."""

    transmissions: int = 0
    frames_sent: int = 0
    frames_lost: int = 0
    frames_collided: int = 0
    octets_on_air: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class _Transmission:
    station: Station
    start: float
    end: float = float("inf")


class Station:
    """A host, its link and its TNC, as seen by the simulator."""

    def __init__(self, sim: Simulator, address: Address, params: LinkParams, accept: bool) -> None:
        self.sim = sim
        self.address = address
        self.params = params
        self.accept = accept
        self.link: Link | None = None
        self.received = bytearray()
        self.events: list[Action] = []
        self.decoder = kiss.KissDecoder()
        self._txq: deque[bytes] = deque()
        self._on_air: _Transmission | None = None
        self._attempt_pending = False
        self._timers: dict[Timer, int] = {}

    def __repr__(self) -> str:
        return f"Station({self.address})"

    @property
    def connected(self) -> bool:
        return self.link is not None and self.link.connected

    def connect(
        self, remote: str | Address, digis: tuple[Address, ...] = (), *, extended: bool = False
    ) -> None:
        """Create the link to ``remote`` and call it (``extended``: SABME, v2.2)."""
        peer = Address.parse(remote) if isinstance(remote, str) else remote
        self.link = Link(self.address, peer, digis, self.params)
        self.apply(self.link.connect(self.sim.now, extended=extended))

    def send(self, data: bytes) -> None:
        assert self.link is not None, "no link"
        self.apply(self.link.send(data, self.sim.now))

    def disconnect(self, *, graceful: bool = True) -> None:
        assert self.link is not None, "no link"
        self.apply(self.link.disconnect(self.sim.now, graceful=graceful))

    def apply(self, actions: list[Action]) -> None:
        """Carry out a link's actions, as an asyncio adapter would."""
        for action in actions:
            if isinstance(action, SendFrame):
                self.sim.enqueue(self, action.frame.encode())
            elif isinstance(action, StartTimer):
                token = next(self.sim.tokens)
                self._timers[action.timer] = token
                self.sim.schedule(action.seconds, self._fire, action.timer, token)
            elif isinstance(action, StopTimer):
                self._timers.pop(action.timer, None)
            elif isinstance(action, Deliver):
                self.received += action.data
            else:
                self.events.append(action)

    def _fire(self, timer: Timer, token: int) -> None:
        if self._timers.get(timer) == token and self.link is not None:
            del self._timers[timer]
            self.apply(self.link.timer_expired(timer, self.sim.now))

    def hear(self, wire: bytes) -> None:
        """Bytes from the TNC: KISS-decode, AX.25-decode, and route to the link."""
        for kframe in self.decoder.feed(wire):
            link = self.link
            try:
                modulo = link.modulo if link is not None else 8
                frame = decode(kframe.payload, modulo)
            except FrameError:
                continue
            if not frame.dest.same_station(self.address):
                continue
            fresh = link is None or (
                link.state is State.DISCONNECTED and not link.remote.same_station(frame.source)
            )
            if fresh and self.accept and frame.kind in (FrameType.SABM, FrameType.SABME):
                link = self.link = Link(
                    self.address, frame.source, reply_path(frame.digis), self.params
                )
            if link is None or not link.remote.same_station(frame.source):
                reply = no_link_reply(frame, self.params)
                if reply is not None:
                    self.sim.enqueue(self, reply.encode())
                continue
            self.apply(link.frame_received(frame, self.sim.now))


class Simulator:
    """Discrete-event simulation of stations sharing one half-duplex channel."""

    def __init__(self, channel: ChannelParams | None = None) -> None:
        self.channel = channel if channel is not None else ChannelParams()
        self.now = 0.0
        self.stats = SimStats()
        self.stations: list[Station] = []
        self.tokens = itertools.count()
        self._rng = random.Random(self.channel.seed)
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._transmissions: list[_Transmission] = []
        #: Set to a list to record a monitor line per frame (debugging aid).
        self.trace: list[str] | None = None

    def add_station(
        self, call: str, params: LinkParams | None = None, *, accept: bool = True
    ) -> Station:
        """A new station; ``accept`` makes it answer SABM with UA."""
        station = Station(self, Address.parse(call), params or LinkParams(), accept)
        self.stations.append(station)
        return station

    def schedule(self, delay: float, callback: Callable[..., None], *args: object) -> None:
        heapq.heappush(
            self._heap, (self.now + max(0.0, delay), next(self._order), lambda: callback(*args))
        )

    def run_until(self, done: Callable[[], bool], *, timeout: float) -> bool:
        """Run events until ``done()`` is true; False if ``timeout`` virtual seconds pass."""
        deadline = self.now + timeout
        while not done():
            if not self._heap or self._heap[0][0] > deadline:
                self.now = max(self.now, deadline) if self._heap else self.now
                return False
            when, _, callback = heapq.heappop(self._heap)
            self.now = when
            callback()
        return True

    def run_for(self, seconds: float) -> None:
        self.run_until(lambda: False, timeout=seconds)

    # --- the channel ----------------------------------------------------------------

    def enqueue(self, station: Station, frame: bytes) -> None:
        """A host hands one AX.25 frame to its TNC."""
        station._txq.append(frame)
        if station._on_air is None and not station._attempt_pending:
            station._attempt_pending = True
            self.schedule(0.0, self._attempt, station)

    def _busy_for(self, station: Station) -> bool:
        return any(t.station is not station and t.end >= self.now for t in self._transmissions)

    def _attempt(self, station: Station) -> None:
        """p-persistent CSMA: in each free slot, transmit with probability (P+1)/256."""
        station._attempt_pending = False
        if station._on_air is not None or not station._txq:
            return
        p = (self.channel.persistence + 1) / 256
        if self._busy_for(station) or self._rng.random() >= p:
            station._attempt_pending = True
            self.schedule(self.channel.slot_time, self._attempt, station)
            return
        tx = _Transmission(station, self.now)
        station._on_air = tx
        self._transmissions = [t for t in self._transmissions if t.end >= self.now - 60]
        self._transmissions.append(tx)
        self.stats.transmissions += 1
        self.schedule(self.channel.tx_delay, self._next_frame, station, tx)

    def _next_frame(self, station: Station, tx: _Transmission) -> None:
        if not station._txq:
            self.schedule(self.channel.tx_tail, self._end_transmission, station, tx)
            return
        frame = station._txq.popleft()
        duration = airtime(len(frame), self.channel.bit_rate)
        self.schedule(duration, self._frame_sent, station, tx, frame, self.now)

    def _frame_sent(self, station: Station, tx: _Transmission, frame: bytes, start: float) -> None:
        stats = self.stats
        stats.frames_sent += 1
        stats.octets_on_air += len(frame)
        modulo = station.link.modulo if station.link is not None else 8
        try:
            kind = decode(frame, modulo).kind.value
        except FrameError:  # pragma: no cover - the link only sends valid frames
            kind = "?"
        stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
        collided = any(
            t is not tx and t.start <= self.now and t.end >= start for t in self._transmissions
        )
        lost = not collided and self._rng.random() < self.channel.loss
        if self.trace is not None:
            mark = " (collision)" if collided else " (lost)" if lost else ""
            self.trace.append(f"{self.now:9.3f} {decode(frame, modulo)}{mark}")
        if collided:
            stats.frames_collided += 1
        elif lost:
            stats.frames_lost += 1
        else:
            wire = kiss.encode(kiss.data_frame(frame))
            for other in self.stations:
                if other is not station and other._on_air is None:
                    other.hear(wire)
        self._next_frame(station, tx)

    def _end_transmission(self, station: Station, tx: _Transmission) -> None:
        if station._txq:  # frames queued during the tail go out in the same keyup
            self._next_frame(station, tx)
            return
        tx.end = self.now
        station._on_air = None
