"""SDL procedures and state variables shared by the AX.25 link's transitions.

`LinkProcedures` holds one link's variables (V(S), V(A), V(R), RC, the exception
flags, the queues and the timers it has asked for) and the subroutines the AX.25 v2.2
SDL names: establish data link, N(R) error recovery, transmit enquiry, enquiry
response, check I frame acknowledged, invoke retransmission, select T1 value, and the
I frame queue; and the link's version: modulo 8 (v2.0, REJ) or 128 (v2.2, SREJ), with
the window, N1 and N2 XID negotiated. `radio.ax25.link.Link` adds the inputs and the
transition table.

Also here: `no_link_reply`, the answer to a frame for which no link exists.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from radio.ax25.actions import (
    Action,
    Deliver,
    ErrorIndication,
    LinkDown,
    LinkParams,
    LocalLinkError,
    SendFrame,
    StartTimer,
    State,
    StopTimer,
    Timer,
)
from radio.ax25.frame import Address, Frame, FrameType, reply_path
from radio.ax25.segment import PID_SEGMENT, Reassembler
from radio.ax25.timers import T1Estimator, TxClock, stuffed_bits
from radio.ax25.xid import XidParams, encode_xid, negotiate, parse_xid

__all__ = ["CONNECTED_STATES", "SREJ_SPAN", "LinkProcedures", "no_link_reply", "xid_limits"]

CONNECTED_STATES = frozenset({State.CONNECTED, State.TIMER_RECOVERY})
# Frames that carry N(R) = V(R) and so acknowledge what we have received.
_ACKING = frozenset({FrameType.I, FrameType.RR, FrameType.RNR, FrameType.REJ})
# Out-of-sequence I frames held for reassembly (SREJ) lie within this many of V(R):
# Dire Wolf's bound too, since the peer's own window is not known for certain.
SREJ_SPAN = 63


def xid_limits(params: LinkParams, modulo: int) -> XidParams:
    """What we can do, as XID values, for a link of ``modulo`` (see `negotiate`)."""
    extended = modulo == 128 and params.v22
    return XidParams(
        modulo=128 if extended else 8,
        srej=extended,
        n1=params.paclen,
        window=params.k_extended if extended else params.k,
        ack_timer_ms=round(params.t1 * 1000),
        retries=params.n2,
    )


def _answer(frame: Frame, kind: FrameType, info: bytes = b"") -> Frame:
    return Frame.build(
        kind,
        dest=frame.source,
        source=frame.dest,
        digis=reply_path(frame.digis),
        command=False,
        pf=frame.pf,
        info=info,
    )


def no_link_reply(frame: Frame, params: LinkParams | None = None) -> Frame | None:
    """The reply to ``frame`` when no link exists for it (the disconnected state).

    XID gets our parameters (an XID response: LinBPQ's NC sends XID before SABM and
    takes an FRMR as a refusal), TEST its echo; other commands but UI get DM with F
    copied from P; SABM(E) gets DM too (we were not asked to accept it); responses, UI
    and DM get nothing, so two stations can never ping-pong DMs. Frames not yet fully
    digipeated are not for us yet.
    """
    if not frame.repeated or not frame.is_command or frame.kind is FrameType.UI:
        return None
    if frame.kind is FrameType.XID:
        params = params if params is not None else LinkParams()
        offer = parse_xid(frame.info)
        agreed = negotiate(offer, xid_limits(params, offer.modulo or 8))
        return _answer(frame, FrameType.XID, encode_xid(agreed, command=False))
    if frame.kind is FrameType.TEST:
        return _answer(frame, FrameType.TEST, echo_of_test(frame, params))
    return _answer(frame, FrameType.DM)


def echo_of_test(frame: Frame, params: LinkParams | None) -> bytes:
    """What a TEST response carries: the command's information field, or none when it
    is longer than our paclen (the SDL lets a station that cannot take it answer
    without; a forged TEST must not make us send more than one packet's worth)."""
    paclen = params.paclen if params is not None else LinkParams().paclen
    return frame.info if len(frame.info) <= paclen else b""


class LinkProcedures:
    """One link's variables and the SDL's subroutines; see `radio.ax25.link.Link`."""

    def __init__(
        self,
        local: Address,
        remote: Address,
        digis: Sequence[Address] = (),
        params: LinkParams | None = None,
    ) -> None:
        self.local = local.with_bit(False)
        self.remote = remote.with_bit(False)
        self.digis = tuple(d.with_bit(False) for d in digis)
        self.params = params if params is not None else LinkParams()
        self._state = State.DISCONNECTED
        # The link's version: set on connection (SABM: 8, SABME: 128) and by XID.
        self._modulo = 8
        self._k = self.params.k  # send window
        self._n1 = self.params.paclen  # longest information field we send
        self._n2 = self.params.n2
        self._srej = False  # we ask for lost frames with SREJ (v2.2) rather than REJ
        # N(S) -> (PID, data) received out of sequence, waiting for the gap (SREJ).
        self._rx_held: dict[int, tuple[int | None, bytes]] = {}
        self._segments = Reassembler()
        self._vs = 0  # V(S): N(S) of the next new I frame
        self._va = 0  # V(A): oldest unacknowledged N(S)
        self._vr = 0  # V(R): next expected N(S) from the peer
        self._rc = 0  # retry count
        self._peer_busy = False
        self._own_busy = False
        self._reject_sent = False  # the SDL's "reject exception"
        self._ack_pending = False
        self._rx_unacked = 0  # in-sequence I frames received since we last sent N(R)
        self._layer3_initiated = False  # we asked for this connection (vs. a reset)
        self._disconnect_pending = False  # graceful disconnect once all is acked
        self._heard_peer = False  # any frame but SABM/UA from the peer since link-up
        self._queue: deque[bytes] = deque()  # segments not yet sent (or backed up)
        self._sent: dict[int, bytes] = {}  # N(S) -> segment, sent but unacknowledged
        # What an XID exchange agreed before the link opened (see `Link.use_xid`).
        self._xid_before: XidParams | None = None
        self._xid_asked = False  # our XID command awaits its response
        # N(S) -> when its latest selective resend should be off the air (see
        # `_resend_if_lost`).
        self._resent: dict[int, float] = {}
        # The N(R) of our last go-back (REJ) and when its resends should be off the air
        # (see `_repeats_go_back`).
        self._went_back: tuple[int, float] | None = None
        self._heard_from = 0.0  # when the frame being handled began on air (estimate)
        self._running: set[Timer] = set()
        self._t1_origin = 0.0  # when T1's round trip started (our frames off the air)
        self._t1_deadline = 0.0
        self._t1_starts = 0  # counts T1 (re)starts, to tell a fresh T1 from an old one
        self._poll_vs: int | None = None  # V(S) when we last polled (RR P=1)
        self._t1_elapsed: float | None = None  # round trip seen when T1 was last stopped
        self._t1_expired = False
        self._t1 = T1Estimator(self.params.t1, len(self.digis))
        self._tx = TxClock(self.params.bit_rate, self.params.tx_delay)
        self._now = 0.0
        self._out: list[Action] = []

    @property
    def state(self) -> State:
        return self._state

    @property
    def connected(self) -> bool:
        """True in the information-transfer states (connected, timer recovery)."""
        return self._state in CONNECTED_STATES

    @property
    def modulo(self) -> int:
        """8 or 128: how this link's I and S frames must be decoded."""
        return self._modulo

    @property
    def window(self) -> int:
        """The send window k in use (negotiated by XID on a v2.2 link)."""
        return self._k

    @property
    def outstanding(self) -> int:
        """I frames sent and not yet acknowledged."""
        return (self._vs - self._va) % self._modulo

    def use_xid(self, agreed: XidParams) -> None:
        """Values an XID exchange agreed before this link existed (LinBPQ's NC sends XID,
        then SABM): the SABM or SABME that opens the link applies them if the modulo
        matches (both ends use the XID response's values). Only while disconnected.
        """
        if self._state is not State.DISCONNECTED:
            raise LocalLinkError(f"use_xid() in state {self._state.name}")
        self._xid_before = agreed

    # --- plumbing -----------------------------------------------------------------

    def _begin(self, now: float) -> None:
        self._now = now
        self._out = []

    def _finish(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _emit(self, action: Action) -> None:
        self._out.append(action)

    def _send(self, frame: Frame) -> None:
        if self.params.bit_rate is not None:
            data = frame.encode()
            self._tx.sent(len(data), self._now, stuffed_bits(data))
        self._emit(SendFrame(frame))
        # An SREJ with F=1 carries N(R) = V(R) too (Dire Wolf, after X.25 2.4.6.4).
        if frame.kind in _ACKING or (frame.kind is FrameType.SREJ and frame.pf):
            self._ack_pending = False
            self._rx_unacked = 0
            self._stop_timer(Timer.T2)

    def _build(self, kind: FrameType, *, command: bool, **fields: object) -> Frame:
        return Frame.build(
            kind,
            dest=self.remote,
            source=self.local,
            digis=self.digis,
            command=command,
            modulo=self._modulo,
            **fields,  # type: ignore[arg-type]
        )

    def _send_u(self, kind: FrameType, *, command: bool, pf: bool = False) -> None:
        self._send(self._build(kind, command=command, pf=pf))

    def _send_s(self, kind: FrameType, *, command: bool, pf: bool = False) -> None:
        self._send(self._build(kind, command=command, pf=pf, nr=self._vr))

    def _start_timer(self, timer: Timer, seconds: float) -> None:
        self._running.add(timer)
        self._emit(StartTimer(timer, seconds))

    def _stop_timer(self, timer: Timer) -> None:
        if timer in self._running:
            self._running.discard(timer)
            self._emit(StopTimer(timer))

    def _start_t1(self) -> None:
        # Count the round trip from when our frames should be off the air.
        self._t1_origin = self._tx.done_at(self._now)
        self._t1_deadline = self._t1_origin + self._t1.t1v
        self._t1_elapsed = None
        self._t1_expired = False
        self._t1_starts += 1
        self._start_timer(Timer.T1, self._t1_deadline - self._now)

    def _pause_t1(self, seconds: float, t1_starts: int) -> None:
        """The peer held the channel for ``seconds`` up to now: pause T1 for that long.

        Dire Wolf pauses T1 while it hears the channel busy; a KISS host only hears the
        frames addressed to it, so it pauses by their airtime. A T1 started while
        handling this frame is fresh and left alone (``t1_starts`` is the start count
        from before the frame).
        """
        if Timer.T1 in self._running and self._t1_starts == t1_starts:
            self._t1_origin += seconds
            self._t1_deadline += seconds
            # The deadline may already have passed if our caller is late: fire at once.
            self._start_timer(Timer.T1, max(0.0, self._t1_deadline - self._now))

    def _stop_t1(self) -> None:
        # Remember the round trip only if T1 was timing one (no stale samples).
        running = Timer.T1 in self._running
        self._t1_elapsed = self._now - self._t1_origin if running else None
        self._t1_expired = False
        self._stop_timer(Timer.T1)

    def _select_t1_value(self) -> None:
        """The SDL's "select T1 value": learn from a clean round trip, back off on retries."""
        if self._rc == 0:
            if self._t1_elapsed is not None:
                self._t1.measured(self._t1_elapsed)
                self._t1_elapsed = None  # one sample per measurement
        elif self._t1_expired:
            self._t1.backoff(self._rc)

    def _start_t3(self) -> None:
        self._start_timer(Timer.T3, self.params.t3)

    def _stop_all_timers(self) -> None:
        for timer in (Timer.T1, Timer.T2, Timer.T3):
            self._stop_timer(timer)

    # --- SDL subroutines --------------------------------------------------------------

    def _clear_exceptions(self) -> None:
        self._peer_busy = False
        self._reject_sent = False
        self._own_busy = False
        self._ack_pending = False
        self._rx_unacked = 0
        self._stop_timer(Timer.T2)

    def _reset_sequence(self) -> None:
        self._vs = self._va = self._vr = 0
        self._sent.clear()
        self._resent.clear()
        self._went_back = None
        self._rx_held.clear()
        self._segments.clear()

    def _deliver(self, pid: int | None, info: bytes) -> None:
        """In-sequence data for the layer above; v2.2 segments are joined first."""
        data = self._segments.feed(info) if pid == PID_SEGMENT else info
        if data:
            self._emit(Deliver(data))

    def _set_version(self, modulo: int) -> None:
        """v2.0 (modulo 8, REJ) or v2.2 (modulo 128, SREJ), with our own limits."""
        self._modulo = modulo
        self._srej = modulo == 128
        self._k = self.params.k_extended if modulo == 128 else self.params.k
        self._n1 = self.params.paclen
        self._n2 = self.params.n2

    def _apply_xid(self, agreed: XidParams) -> None:
        """Use the values of an XID response (ours or the peer's) on this link."""
        if agreed.modulo == self._modulo:  # a link cannot change modulo under way
            self._srej = bool(agreed.srej) and self._modulo == 128
        if agreed.window is not None:
            self._k = max(1, min(agreed.window, 127 if self._modulo == 128 else 7))
        if agreed.n1 is not None:
            self._n1 = max(1, min(agreed.n1, self.params.paclen))
        if agreed.retries is not None:
            self._n2 = max(1, min(agreed.retries, 255))

    def _apply_xid_before(self) -> None:
        """On opening: the values of an XID exchanged before, if for this modulo."""
        agreed, self._xid_before = self._xid_before, None
        if agreed is not None and agreed.modulo == self._modulo:
            self._apply_xid(agreed)

    def _offer_xid(self) -> None:
        """Our v2.2 call is up: offer our limits by XID, as Dire Wolf does (once: if the
        exchange is lost, both ends keep the v2.2 defaults)."""
        self._xid_asked = True
        info = encode_xid(xid_limits(self.params, 128), command=True)
        self._send(self._build(FrameType.XID, command=True, pf=True, info=info))

    def _xid_answered(self, info: bytes) -> None:
        """An XID response: used if it answers our offer (the lesser of both sides)."""
        if self._xid_asked and self.connected:
            self._xid_asked = False
            self._apply_xid(negotiate(parse_xid(info), xid_limits(self.params, self._modulo)))

    def _establish(self) -> None:
        """SABM(E) P=1 and T1. RC starts at 1 so N2 counts transmissions (Dire Wolf)."""
        self._clear_exceptions()
        self._rc = 1
        kind = FrameType.SABME if self._modulo == 128 else FrameType.SABM
        self._send_u(kind, command=True, pf=True)
        self._stop_timer(Timer.T3)
        self._start_t1()

    def _start_release(self) -> None:
        self._queue.clear()
        self._disconnect_pending = False
        self._rc = 1
        self._send_u(FrameType.DISC, command=True, pf=True)
        self._stop_timer(Timer.T2)
        self._stop_timer(Timer.T3)
        self._start_t1()
        self._state = State.AWAITING_RELEASE

    def _go_down(self, reason: str) -> None:
        self._queue.clear()
        self._reset_sequence()
        self._disconnect_pending = False
        self._stop_all_timers()
        self._state = State.DISCONNECTED
        self._emit(LinkDown(reason))

    def _nr_error_recovery(self) -> None:
        self._emit(ErrorIndication("J", "N(R) sequence error"))
        self._reestablish()

    def _reestablish(self) -> None:
        self._establish()
        self._layer3_initiated = False
        self._state = State.AWAITING_CONNECTION

    def _transmit_enquiry(self) -> None:
        """Poll the peer: RR (or RNR) command with P=1, and T1."""
        kind = FrameType.RNR if self._own_busy else FrameType.RR
        self._poll_vs = self._vs
        self._send_s(kind, command=True, pf=True)
        self._start_t1()

    def _enquiry_response(self, *, final: bool) -> None:
        """RR (or RNR) response carrying V(R); F=1 when answering a poll.

        With frames held out of sequence, a poll is answered with SREJ for each gap
        instead (Dire Wolf, after X.25 2.4.6.11): the peer resends only those.
        """
        if final and not self._own_busy and self._rx_held:
            gaps = [ns for ns in self._held_span() if ns not in self._rx_held]
            if gaps:
                self._send_srej(gaps)
                return
        kind = FrameType.RNR if self._own_busy else FrameType.RR
        self._send_s(kind, command=False, pf=final)

    def _held_span(self) -> list[int]:
        """Sequence numbers from V(R) up to the last one held out of sequence."""
        last = max((ns - self._vr) % self._modulo for ns in self._rx_held)
        return [(self._vr + i) % self._modulo for i in range(last + 1)]

    def _send_srej(self, missing: list[int]) -> None:
        """One SREJ response per missing N(S); F=1 on the one that is V(R) (it acks)."""
        for ns in missing:
            self._send(self._build(FrameType.SREJ, command=False, pf=ns == self._vr, nr=ns))

    def _good_nr(self, nr: int) -> bool:
        """V(A) <= N(R) <= V(S), in the link's modulo."""
        modulo = self._modulo
        return (nr - self._va) % modulo <= (self._vs - self._va) % modulo

    def _set_va(self, nr: int) -> None:
        if nr != self._va and self._state is State.TIMER_RECOVERY:
            # Progress: N2 should catch a dead link, not a lossy one that is moving,
            # so the retry count starts again (the SDL only resets it in state 3).
            self._rc = 1
        while self._va != nr:
            self._sent.pop(self._va, None)
            self._resent.pop(self._va, None)
            self._va = (self._va + 1) % self._modulo

    def _check_iframe_acked(self, nr: int) -> None:
        if self._peer_busy:
            self._set_va(nr)
            if Timer.T1 not in self._running:
                # Keep polling a busy peer (the SDL starts T1 here, not T3).
                self._stop_timer(Timer.T3)
                self._start_t1()
        elif nr == self._vs:
            self._set_va(nr)
            self._stop_t1()
            self._start_t3()
            self._select_t1_value()
        elif nr != self._va:
            self._set_va(nr)
            self._start_t1()

    def _repeats_go_back(self, nr: int) -> bool:
        """Whether a REJ for `nr` asks again for what our last go-back to `nr` is still
        sending: the peer began it before those resends were off the air (a REJ heard
        twice through digipeaters; a storm of forged ones would otherwise resend the
        window each time). T1 still times the resends."""
        went = self._went_back
        return went is not None and went[0] == nr and self._heard_from <= went[1]

    def _resend_pending(self, ns: int) -> bool:
        """Whether a SREJ for `ns` asks again for a resend still on its way (as above)."""
        off_air = self._resent.get(ns)
        return off_air is not None and self._heard_from <= off_air

    def _invoke_retransmission(self, nr: int) -> None:
        """Go back N: requeue every unacknowledged segment from N(R) on, and resend
        (not again for a REJ that repeats the last go-back: `_repeats_go_back`)."""
        if self._repeats_go_back(nr):
            return
        backlog = []
        ns = nr
        while ns != self._vs:
            backlog.append(self._sent.pop(ns))
            self._resent.pop(ns, None)
            ns = (ns + 1) % self._modulo
        self._queue.extendleft(reversed(backlog))
        self._vs = nr
        self._pop_queue()
        self._went_back = (nr, self._tx.done_at(self._now))

    def _resend(self, ns: int) -> None:
        """Send I frame ``ns`` again on its own (SREJ), and note when it will be off air."""
        segment = self._sent[ns]
        self._send(self._build(FrameType.I, command=True, nr=self._vr, ns=ns, info=segment))
        self._resent[ns] = self._tx.done_at(self._now)
        self._stop_timer(Timer.T3)
        self._start_t1()

    def _delay_resent(self, seconds: float, now: float) -> None:
        """As `TxClock.delay`: resends still waiting could not go out while the peer sent."""
        for ns, off_air in self._resent.items():
            if off_air > now - seconds:
                self._resent[ns] = off_air + seconds

    def _resend_if_lost(self, nr: int) -> None:
        """The peer still waits for a frame we resent after it heard the resend: again.

        A selective-reject peer keeps what follows a gap and asks for the gap once; if
        our resend is lost too, the SDL (and Dire Wolf) wait for T1 and a poll. An
        acknowledgement that the peer began sending after our resend was off the air,
        and that still stops at that frame, shows it lost: resend it at once (once per
        resend: the next one must again come after it). The risk is one duplicate frame
        if the peer built its acknowledgement before hearing ours.
        """
        off_air = self._resent.get(nr)
        if (
            off_air is not None
            and nr != self._vs
            and not self._peer_busy
            and self._heard_from > off_air
        ):
            self._resend(nr)

    def _pop_queue(self) -> None:
        """Send queued segments while the window is open and the peer is not busy."""
        if self._state not in CONNECTED_STATES:
            return
        sent = False
        while self._queue and not self._peer_busy and self.outstanding < self._k:
            segment = self._queue.popleft()
            ns = self._vs
            self._sent[ns] = segment
            self._vs = (ns + 1) % self._modulo
            self._send(self._build(FrameType.I, command=True, nr=self._vr, ns=ns, info=segment))
            sent = True
        if sent:
            # Dire Wolf erratum: restart T1 whenever an I frame goes out.
            self._stop_timer(Timer.T3)
            self._start_t1()

    def _after_frame(self, *, got_i_frame: bool) -> None:
        """Common tail after any frame in the connected states (Dire Wolf does the same)."""
        self._pop_queue()  # an ack may have opened the window; I frames carry our N(R)
        if self._ack_pending and got_i_frame:
            if self._rx_unacked >= self._k:
                # A full window from the peer: it can send no more until we ack.
                self._enquiry_response(final=False)
            else:
                self._start_timer(Timer.T2, self.params.ack_delay)
        if (
            self._peer_busy
            and (self._queue or self._vs != self._va)
            and Timer.T1 not in self._running
        ):
            self._stop_timer(Timer.T3)
            self._start_t1()
        if self._disconnect_pending and not self._queue and self._vs == self._va:
            self._start_release()

    def _back_to_connected(self) -> None:
        self._start_t3()
        self._rc = 0
        self._state = State.CONNECTED
