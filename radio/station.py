"""An AX.25 station on one KISS port: accepts connections and runs their links.

The station answers frames addressed to its callsign: a SABM opens a `Link` (up to
`max_links`; when full, the application may drop a link to make room, see `make_room`),
other frames go to the link of their source, frames for no link get the reply the
protocol prescribes. What an XID answered with no link up applies to the link the
same station opens next (within `XID_MEMORY`). It carries out the links' actions on the event loop
(frames to the TNC, timers as call_later handles), and adds the duties of a station
on air: identification (`IdBeacon`: never after the UA that opens a link, always when a
link ends, at least every `id_interval`), an optional duty-cycle limit, and a transmit
switch that silences everything at once (after the ID the rules ask for, if one is due).

The duty-cycle limit holds back I frames only: link-layer answers (RR, RNR, REJ, SREJ,
UA, DM, XID, TEST) and our ID still go out, and count against the limit, so a peer's
polls are answered and the link survives the wait. While a link has I frames held, its
T1 waits too (they are not on air yet); frames held for a link that is gone are dropped.

The application sees each link as a `Connection` with `send`, `close` and two callbacks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from radio.ax25 import (
    Action,
    Address,
    Deliver,
    ErrorIndication,
    Frame,
    FrameError,
    FrameType,
    Link,
    LinkDown,
    LinkParams,
    LinkReset,
    LinkUp,
    LocalLinkError,
    SendFrame,
    StartTimer,
    StopTimer,
    Timer,
    decode,
    no_link_reply,
    reply_path,
)
from radio.ax25.frame import peek_addresses
from radio.ax25.timers import airtime
from radio.ax25.xid import XidParams, parse_xid
from radio.beacon import IdBeacon
from radio.dutycycle import DutyCycle

log = logging.getLogger("radio.station")

#: Frames held back by the duty-cycle limit; beyond this the newest are dropped.
MAX_HELD_FRAMES = 256
#: XID values answered to stations with no link, kept for the SABM(E) that follows
#: (LinBPQ's NC: XID, then XID + SABM): at most this many stations, this long.
MAX_XID_REMEMBERED = 64
XID_MEMORY = 60.0

_Key = tuple[str, int]


@dataclass(frozen=True, slots=True)
class StationParams:
    mycall: Address
    link: LinkParams = field(default_factory=LinkParams)
    max_links: int = 8
    #: Text of the identification UI frame (None: the callsign alone).
    id_text: str | None = None
    id_interval: float = 600.0
    #: Most of any `duty_window` seconds spent transmitting (None: no limit).
    duty_cycle: float | None = None
    duty_window: float = 600.0


@dataclass(slots=True)
class StationStats:
    frames_in: int = 0
    malformed: int = 0
    frames_out: int = 0
    dropped_off: int = 0
    dropped_duty: int = 0
    refused_links: int = 0
    #: Links dropped because our own code failed on them (logged with a traceback).
    failed_links: int = 0


class Connection:
    """One connected link, as the application sees it."""

    def __init__(self, station: Station, link: Link, path: tuple[Address, ...]) -> None:
        self._station = station
        self.link = link
        #: The digipeater path the peer's frames came by (as heard).
        self.path = path
        self.on_data: Callable[[bytes], None] | None = None
        self.on_close: Callable[[str], None] | None = None
        #: Called after the link did anything (an ack may have made room to send more).
        self.on_progress: Callable[[], None] | None = None
        self.closed = False
        self._close_requested = False

    @property
    def remote(self) -> Address:
        return self.link.remote

    @property
    def queued_bytes(self) -> int:
        return self.link.queued_bytes

    def send(self, data: bytes) -> None:
        if self.closed or not data:
            return
        try:
            self._station._run(self.link, self.link.send(data, self._station.now()))
        except LocalLinkError as exc:
            log.debug("send on a closing link to %s: %s", self.remote, exc)

    def set_busy(self, busy: bool) -> None:
        """Flow control: while busy the peer's I frames get RNR (they wait at the peer)."""
        if not self.closed:
            self._station._run(self.link, self.link.set_busy(busy, self._station.now()))

    def drop(self, reason: str) -> None:
        """Disconnect at once (DM), whatever is unacknowledged: frees the slot now."""
        if not self.closed:
            self._station._abort(self.link, reason)

    def close(self) -> None:
        """Disconnect once what was sent is acknowledged (DISC, then UA).

        Only the first call counts: a second `Link.disconnect` while the DISC is
        outstanding would give up at once with a DM.
        """
        if not self.closed and not self._close_requested:
            self._close_requested = True
            self._station._run(self.link, self.link.disconnect(self._station.now()))


class Station:
    def __init__(
        self,
        params: StationParams,
        transmit: Callable[[bytes], bool],
        accept: Callable[[Connection], None],
        *,
        name: str = "",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.params = params
        self.name = name or str(params.mycall)
        #: Called once each time the duty-cycle limit starts holding frames back.
        self.on_duty_limit: Callable[[], None] | None = None
        #: Called when a SABM finds every link taken: the application may `drop` one
        #: (a link still logging in) and return True to have the newcomer accepted.
        self.make_room: Callable[[], bool] | None = None
        #: Asked before each line about a link: None leaves it out, else a suffix (a
        #: flood of forged SABMs must not flood the log; the application paces it).
        self.log_pace: Callable[[], str | None] = lambda: ""
        self.stats = StationStats()
        self._transmit_raw = transmit
        self._accept = accept
        self._loop = asyncio.get_running_loop()
        self.now = clock or self._loop.time
        self._links: dict[tuple[str, int], Link] = {}
        self._connections: dict[tuple[str, int], Connection] = {}
        self._timers: dict[tuple[tuple[str, int], Timer], asyncio.TimerHandle] = {}
        self._beacon = IdBeacon(params.id_interval)
        self._beacon_handle: asyncio.TimerHandle | None = None
        self._sent_batch = False  # frames went out since the beacon was last asked
        self._duty = DutyCycle(params.duty_cycle, params.duty_window) if params.duty_cycle else None
        self._held: deque[tuple[_Key, Frame]] = deque()  # I frames, with their link
        self._held_handle: asyncio.TimerHandle | None = None
        # Station -> (when, values) of the XID response we sent it with no link up.
        self._xid_agreed: dict[_Key, tuple[float, XidParams]] = {}
        self.transmit_enabled = True

    # -- input -------------------------------------------------------------------

    def frame_received(self, payload: bytes) -> None:
        """An AX.25 frame from the TNC (KISS data payload)."""
        self.stats.frames_in += 1
        mycall = self.params.mycall
        try:
            dest, source = peek_addresses(payload)
            # Not for us, or from us: our own frames heard back (a digipeater's echo,
            # a forged source) must never open a link with ourselves.
            if not dest.same_station(mycall) or source.same_station(mycall):
                return
            key = (source.call, source.ssid)
            link = self._links.get(key)
            # The control field reads by the link's modulo (two octets on a v2.2 link).
            frame = decode(payload, link.modulo if link is not None else 8)
        except FrameError as exc:
            self.stats.malformed += 1
            log.debug("%s: malformed frame dropped: %s", self.name, exc)
            return
        if not frame.repeated:
            return
        if link is None:
            opening = frame.kind is FrameType.SABM or (
                frame.kind is FrameType.SABME and self.params.link.v22
            )
            if opening and (self._may_accept() or self._room_made()):
                link = Link(mycall, frame.source, reply_path(frame.digis), self.params.link)
                agreed = self._xid_agreed.pop(key, None)
                if agreed is not None and self.now() - agreed[0] <= XID_MEMORY:
                    link.use_xid(agreed[1])
                self._links[key] = link
                self._connections[key] = Connection(self, link, frame.digis)
            else:
                if opening:
                    self.stats.refused_links += 1
                reply = no_link_reply(frame, self.params.link)
                if reply is not None:
                    if reply.kind is FrameType.XID:
                        self._remember_xid(key, parse_xid(reply.info))
                    self._transmit(reply)
                    self._poll_beacon()
                return
        self._guarded(key, link, lambda: link.frame_received(frame, self.now()))

    def _remember_xid(self, key: _Key, agreed: XidParams) -> None:
        """Keep what our XID response agreed for the link the station may open next."""
        self._xid_agreed.pop(key, None)
        while len(self._xid_agreed) >= MAX_XID_REMEMBERED:
            del self._xid_agreed[next(iter(self._xid_agreed))]  # the oldest
        self._xid_agreed[key] = (self.now(), agreed)

    def _guarded(self, key: tuple[str, int], link: Link, step: Callable[[], list[Action]]) -> None:
        """Run one step of one link: a bug there drops that link (DM) and no other."""
        try:
            self._run(link, step())
        except Exception:
            log.exception("%s: link with %s failed; dropping it", self.name, link.remote)
            self.stats.failed_links += 1
            self._abort(link, "internal error")

    def _abort(self, link: Link, reason: str) -> None:
        """Drop one link at once, telling the peer with DM."""
        self._transmit(
            Frame.build(
                FrameType.DM, dest=link.remote, source=self.params.mycall,
                digis=link.digis, command=False, pf=True,
            )
        )  # fmt: skip
        self._drop((link.remote.call, link.remote.ssid), reason)
        self._poll_beacon()

    def _may_accept(self) -> bool:
        return self.transmit_enabled and len(self._links) < self.params.max_links

    def _room_made(self) -> bool:
        if not self.transmit_enabled or self.make_room is None:
            return False
        return self.make_room() and self._may_accept()

    # -- the kill switch ---------------------------------------------------------

    def set_transmit(self, enabled: bool) -> None:
        """Off: nothing more is transmitted, links are dropped silently, and new
        connection attempts are refused with DM; on: back to normal."""
        if enabled == self.transmit_enabled:
            return
        if not enabled:
            # The communications end here: their ID is the last frame that goes out.
            self._beacon.ended(final=True)
            self._poll_beacon()
        self.transmit_enabled = enabled
        if enabled:
            log.warning("%s: transmitter on", self.name)
            return
        log.warning("%s: transmitter OFF: dropping %d link(s)", self.name, len(self._links))
        self._held.clear()
        for key in list(self._links):
            self._drop(key, "transmitter switched off")

    def close_all(self) -> None:
        """Disconnect every link (shutdown)."""
        for connection in list(self._connections.values()):
            connection.close()

    @property
    def links(self) -> int:
        return len(self._links)

    # -- carrying out a link's actions -------------------------------------------

    def _run(self, link: Link, actions: list[Action]) -> None:
        key = (link.remote.call, link.remote.ssid)
        for action in actions:
            if isinstance(action, SendFrame):
                self._transmit(action.frame, key)
            elif isinstance(action, StartTimer):
                self._cancel_timer(key, action.timer)
                self._timers[(key, action.timer)] = self._loop.call_later(
                    action.seconds, self._timer_fired, key, action.timer
                )
            elif isinstance(action, StopTimer):
                self._cancel_timer(key, action.timer)
            elif isinstance(action, Deliver):
                connection = self._connections.get(key)
                if connection is not None and connection.on_data is not None:
                    connection.on_data(action.data)
            elif isinstance(action, LinkUp):
                self._log_link("%s connected (via %s)", link.remote,
                               ",".join(map(str, link.digis)) or "direct")  # fmt: skip
                connection = self._connections.get(key)
                if connection is not None:
                    self._accept(connection)
            elif isinstance(action, LinkDown):
                self._log_link("%s disconnected: %s", link.remote, action.reason)
                self._drop(key, action.reason)
            elif isinstance(action, LinkReset | ErrorIndication):
                self._log_link("link to %s: %s", link.remote, action.reason)
        self._poll_beacon()
        connection = self._connections.get(key)
        if connection is not None and connection.on_progress is not None:
            connection.on_progress()

    def _log_link(self, text: str, *args: object) -> None:
        more = self.log_pace()
        if more is not None:
            log.info("%s: " + text + "%s", self.name, *args, more)

    def _timer_fired(self, key: tuple[str, int], timer: Timer) -> None:
        self._timers.pop((key, timer), None)
        link = self._links.get(key)
        if link is not None and timer is Timer.T1 and self._duty is not None:
            wait = self._held_wait(key)
            if wait is not None:
                # Our I frames are held, not on air: T1 starts over once they can go.
                self._timers[(key, timer)] = self._loop.call_later(
                    wait + link.t1_value, self._timer_fired, key, timer
                )
                return
        if link is not None:
            self._guarded(key, link, lambda: link.timer_expired(timer, self.now()))

    def _cancel_timer(self, key: tuple[str, int], timer: Timer) -> None:
        handle = self._timers.pop((key, timer), None)
        if handle is not None:
            handle.cancel()

    def _drop(self, key: tuple[str, int], reason: str) -> None:
        if self._links.pop(key, None) is not None:
            self._beacon.ended()  # the end of a communication: identify after its last frame
        if any(k == key for k, _ in self._held):
            # Frames for a link that is gone would only draw DMs and spend the budget.
            self._held = deque(item for item in self._held if item[0] != key)
        for timer in Timer:
            self._cancel_timer(key, timer)
        connection = self._connections.pop(key, None)
        if connection is not None and not connection.closed:
            connection.closed = True
            if connection.on_close is not None:
                connection.on_close(reason)

    # -- transmission --------------------------------------------------------------

    def _airtime(self, frame: Frame) -> float:
        bit_rate = self.params.link.bit_rate or 1200
        return airtime(len(frame.encode()), bit_rate) + self.params.link.tx_delay

    def _held_wait(self, key: _Key) -> float | None:
        """Seconds until the duty cycle lets the held frames go, if ``key`` has any."""
        if self._duty is None or not any(k == key for k, _ in self._held):
            return None
        return self._duty.delay(self.now(), self._airtime(self._held[0][1]))

    def _transmit(self, frame: Frame, key: _Key | None = None) -> None:
        if not self.transmit_enabled and frame.kind is not FrameType.DM:
            self.stats.dropped_off += 1
            return
        if (
            self._duty is not None
            and key is not None
            and frame.kind is FrameType.I
            and (self._held or self._duty.delay(self.now(), self._airtime(frame)))
        ):
            if len(self._held) >= MAX_HELD_FRAMES:
                self.stats.dropped_duty += 1
                return
            if not self._held:
                log.warning("%s: duty-cycle limit reached; holding frames", self.name)
                if self.on_duty_limit is not None:
                    self.on_duty_limit()
            self._held.append((key, frame))
            self._schedule_held()
            return
        self._send_now(frame)

    def _send_now(self, frame: Frame, *, is_id: bool = False) -> None:
        if self._transmit_raw(frame.encode()):
            self.stats.frames_out += 1
            if self._duty is not None:
                self._duty.record(self.now(), self._airtime(frame))
        if not is_id:
            self._beacon.transmitted(self.now())
            self._sent_batch = True

    def _schedule_held(self) -> None:
        if self._held_handle is not None or not self._held or self._duty is None:
            return
        wait = self._duty.delay(self.now(), self._airtime(self._held[0][1]))
        self._held_handle = self._loop.call_later(wait, self._release_held)

    def _release_held(self) -> None:
        self._held_handle = None
        while self._held and self._duty is not None and self.transmit_enabled:
            if self._duty.delay(self.now(), self._airtime(self._held[0][1])):
                break
            self._send_now(self._held.popleft()[1])
        self._poll_beacon()
        self._schedule_held()

    def _poll_beacon(self) -> None:
        """Ask the beacon after a batch of frames (never between two frames of one).

        Also while the transmitter is off: the DM refusals that still go out are
        identified like any other transmission."""
        after_sending, self._sent_batch = self._sent_batch, False
        send, wake = self._beacon.poll(
            self.now(), linked=bool(self._links), after_sending=after_sending
        )
        if send:
            text = self.params.id_text or str(self.params.mycall)
            ident = Frame.build(
                FrameType.UI, dest=Address("ID"), source=self.params.mycall,
                info=text.encode("ascii", "replace"),
            )  # fmt: skip
            self._send_now(ident, is_id=True)
        if self._beacon_handle is not None:
            self._beacon_handle.cancel()
            self._beacon_handle = None
        if wake is not None:
            delay = max(0.0, wake - self.now())
            self._beacon_handle = self._loop.call_later(delay, self._beacon_fired)

    def _beacon_fired(self) -> None:
        self._beacon_handle = None
        self._poll_beacon()

    def stop(self) -> None:
        """Cancel every timer (after `close_all` had its chance); the end ID, if due."""
        for key in list(self._links):
            self._drop(key, "station stopped")
        self._beacon.ended(final=True)
        self._poll_beacon()
        for handle in (self._beacon_handle, self._held_handle):
            if handle is not None:
                handle.cancel()
        self._beacon_handle = self._held_handle = None
