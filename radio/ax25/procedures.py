"""SDL procedures and state variables shared by the AX.25 link's transitions.

`LinkProcedures` holds one link's variables (V(S), V(A), V(R), RC, the exception
flags, the queues and the timers it has asked for) and the subroutines the AX.25 v2.2
SDL names: establish data link, N(R) error recovery, transmit enquiry, enquiry
response, check I frame acknowledged, invoke retransmission, select T1 value, and the
I frame queue. `radio.ax25.link.Link` adds the inputs and the transition table.

Also here: `no_link_reply`, the answer to a frame for which no link exists.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from radio.ax25.actions import (
    Action,
    ErrorIndication,
    LinkDown,
    LinkParams,
    SendFrame,
    StartTimer,
    State,
    StopTimer,
    Timer,
)
from radio.ax25.frame import Address, Frame, FrameType, reply_path
from radio.ax25.timers import T1Estimator, TxClock

__all__ = ["CONNECTED_STATES", "MODULO", "LinkProcedures", "frmr_for", "no_link_reply"]

#: Sequence numbers are modulo 8: we accept SABM only.
MODULO = 8

CONNECTED_STATES = frozenset({State.CONNECTED, State.TIMER_RECOVERY})
# Frames that carry N(R) = V(R) and so acknowledge what we have received.
_ACKING = frozenset({FrameType.I, FrameType.RR, FrameType.RNR, FrameType.REJ})
# FRMR information field bit W: "control field invalid or not implemented".
_FRMR_W = 0x01


def no_link_reply(frame: Frame) -> Frame | None:
    """The reply to ``frame`` when no link exists for it (the disconnected state).

    Commands other than UI get DM with F copied from P; SABM gets DM too (we were not
    asked to accept it); responses, UI and DM get nothing, so two stations can never
    ping-pong DMs. Frames not yet fully digipeated are not for us yet.
    """
    if not frame.repeated or not frame.is_command or frame.kind is FrameType.UI:
        return None
    if frame.kind is FrameType.XID:
        return frmr_for(frame, vr=0, vs=0)
    return Frame.build(
        FrameType.DM,
        dest=frame.source,
        source=frame.dest,
        digis=reply_path(frame.digis),
        command=False,
        pf=frame.pf,
    )


def frmr_for(frame: Frame, *, vr: int, vs: int) -> Frame:
    """FRMR rejecting ``frame``'s control field as not implemented (v2.0 4.3.3.9)."""
    control = frame.encode()[7 * (2 + len(frame.digis))]
    info = bytes([control, (vr << 5) | (int(frame.is_response) << 4) | (vs << 1), _FRMR_W])
    return Frame.build(
        FrameType.FRMR,
        dest=frame.source,
        source=frame.dest,
        digis=reply_path(frame.digis),
        command=False,
        pf=frame.pf,
        info=info,
    )


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
    def outstanding(self) -> int:
        """I frames sent and not yet acknowledged."""
        return (self._vs - self._va) % MODULO

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
        self._tx.sent(len(frame.encode()), self._now)
        self._emit(SendFrame(frame))
        if frame.kind in _ACKING:
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

    def _establish(self) -> None:
        """SABM P=1 and T1. RC starts at 1 so N2 counts transmissions (Dire Wolf)."""
        self._clear_exceptions()
        self._rc = 1
        self._send_u(FrameType.SABM, command=True, pf=True)
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
        """RR (or RNR) response carrying V(R); F=1 when answering a poll."""
        kind = FrameType.RNR if self._own_busy else FrameType.RR
        self._send_s(kind, command=False, pf=final)

    def _good_nr(self, nr: int) -> bool:
        """V(A) <= N(R) <= V(S), modulo 8."""
        return (nr - self._va) % MODULO <= (self._vs - self._va) % MODULO

    def _set_va(self, nr: int) -> None:
        if nr != self._va and self._state is State.TIMER_RECOVERY:
            # Progress: N2 should catch a dead link, not a lossy one that is moving,
            # so the retry count starts again (the SDL only resets it in state 3).
            self._rc = 1
        while self._va != nr:
            self._sent.pop(self._va, None)
            self._va = (self._va + 1) % MODULO

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

    def _invoke_retransmission(self, nr: int) -> None:
        """Go back N: requeue every unacknowledged segment from N(R) on, and resend."""
        backlog = []
        ns = nr
        while ns != self._vs:
            backlog.append(self._sent.pop(ns))
            ns = (ns + 1) % MODULO
        self._queue.extendleft(reversed(backlog))
        self._vs = nr
        self._pop_queue()

    def _pop_queue(self) -> None:
        """Send queued segments while the window is open and the peer is not busy."""
        if self._state not in CONNECTED_STATES:
            return
        sent = False
        while self._queue and not self._peer_busy and self.outstanding < self.params.k:
            segment = self._queue.popleft()
            ns = self._vs
            self._sent[ns] = segment
            self._vs = (ns + 1) % MODULO
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
            if self._rx_unacked >= self.params.k:
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
