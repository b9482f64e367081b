"""The AX.25 connected-mode data link (v2.0 and v2.2), sans-IO, h11-style.

One `Link` is one connection between a local and a remote address over a fixed
digipeater path. Its inputs are `frame_received`, `timer_expired`, `send`, `connect`,
`disconnect` and `set_busy`; each returns a list of actions (`SendFrame`,
`StartTimer`, `StopTimer`, `Deliver`, `LinkUp`, `LinkDown`, `LinkReset`,
`ErrorIndication`) for the caller to carry out. The link never reads a clock: every
input that can start a timer takes ``now``.

The behaviour follows the AX.25 v2.2 SDL (2017 revision), plus the errata Dire Wolf 1.6
found in practice (noted where used). SABM opens a v2.0 link (modulo 8, window ``k``,
REJ); SABME a v2.2 one (modulo 128, window ``k_extended``, SREJ: out-of-sequence I
frames are kept and only the missing ones asked for), unless ``LinkParams.v22`` is off,
when SABME gets DM F=P and the caller falls back to SABM. XID is answered with our
parameters in any state (never FRMR) and the link uses the values of that response
(answered before SABM(E), they apply to the link it opens); our own SABME call offers
ours by XID once it is up; TEST is echoed in any state. The transitions live in one
table, `_TRANSITIONS`, keyed by (state, frame type), naming the ``_on_*`` methods below;
a frame with none gets the reply the SDL prescribes (DM or nothing), never an exception.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType

from radio.ax25.actions import (
    Action,
    ErrorIndication,
    LinkReset,
    LinkUp,
    LocalLinkError,
    State,
    Timer,
)
from radio.ax25.frame import U_FRAMES, Frame, FrameType
from radio.ax25.procedures import (
    CONNECTED_STATES,
    SREJ_SPAN,
    LinkProcedures,
    echo_of_test,
    no_link_reply,
    xid_limits,
)
from radio.ax25.timers import airtime, stuffed_bits
from radio.ax25.xid import encode_xid, negotiate, parse_xid

__all__ = ["Link", "no_link_reply"]


class Link(LinkProcedures):
    """One AX.25 connection, as a state machine with no I/O.

    ``digis`` is the path from us to the peer; for an incoming connection pass
    ``reply_path(sabm.digis)``. Frames must be decoded with the link's `modulo`.
    """

    @property
    def queued_bytes(self) -> int:
        """Bytes accepted by `send` and not yet acknowledged (for back-pressure)."""
        return sum(map(len, self._queue)) + sum(map(len, self._sent.values()))

    @property
    def t1_value(self) -> float:
        """The current T1 (T1V) in seconds, as adapted from round trips."""
        return self._t1.t1v

    def connect(self, now: float, *, extended: bool = False) -> list[Action]:
        """Call the peer: SABM, then `LinkUp` on UA or `LinkDown` on DM or N2 timeouts.

        ``extended`` calls with SABME (v2.2, modulo 128); a DM to it falls back to SABM.
        Once UA comes, an XID command offers our limits and the response sets them.
        """
        if self._state is not State.DISCONNECTED:
            raise LocalLinkError(f"connect() in state {self._state.name}")
        self._begin(now)
        self._set_version(128 if extended and self.params.v22 else 8)
        self._t1.reset()
        self._queue.clear()
        self._sent.clear()
        self._disconnect_pending = False
        self._xid_asked = False
        self._establish()
        self._layer3_initiated = True
        self._state = State.AWAITING_CONNECTION
        return self._finish()

    def disconnect(self, now: float, *, graceful: bool = True) -> list[Action]:
        """Close the link: DISC, then `LinkDown` on UA or DM (or N2 timeouts).

        ``graceful`` waits until everything already sent with `send` is acknowledged;
        otherwise unsent data is discarded, as the SDL does. A second call while the
        DISC is outstanding gives up at once with a DM.
        """
        self._begin(now)
        state = self._state
        if state is State.AWAITING_CONNECTION:
            self._start_release()
        elif state is State.AWAITING_RELEASE:
            self._send_u(FrameType.DM, command=False)
            self._go_down("disconnected")
        elif state in CONNECTED_STATES:
            if graceful and (self._queue or self._vs != self._va):
                self._disconnect_pending = True
            else:
                self._start_release()
        return self._finish()

    def send(self, data: bytes, now: float | None = None) -> list[Action]:
        """Queue ``data`` for the peer, split into PACLEN segments, and send what fits.

        Allowed while connected or while a connection is being set up (the SDL queues
        it); raises `LocalLinkError` when disconnected, releasing, or after a
        disconnect request. ``now`` defaults to the last time the link was given.
        """
        if self._state in (State.DISCONNECTED, State.AWAITING_RELEASE):
            raise LocalLinkError(f"send() in state {self._state.name}")
        if self._disconnect_pending:
            raise LocalLinkError("send() after disconnect()")
        self._begin(self._now if now is None else now)
        paclen = self._n1
        for start in range(0, len(data), paclen):
            self._queue.append(bytes(data[start : start + paclen]))
        self._pop_queue()
        return self._finish()

    def set_busy(self, busy: bool, now: float) -> list[Action]:
        """Flow control: while busy, refuse I frames with RNR; RR when ready again."""
        self._begin(now)
        if self.connected and busy != self._own_busy:
            self._own_busy = busy
            # A response with F=0: the peer polls (RR P=1) if this one is lost.
            self._send_s(FrameType.RNR if busy else FrameType.RR, command=False)
        return self._finish()

    def frame_received(self, frame: Frame, now: float) -> list[Action]:
        """Process one frame from the peer (decoded with the link's `modulo`)."""
        self._begin(now)
        if (
            frame.source.same_station(self.remote)
            and frame.dest.same_station(self.local)
            and frame.repeated
            and (frame.kind in U_FRAMES or frame.modulo == self._modulo)
        ):
            busy = 0.0
            if self.params.bit_rate is not None:
                data = frame.encode()
                busy = airtime(len(data), self.params.bit_rate, stuffed_bits(data))
                # Our frames waiting in the TNC could not go out while the peer sent.
                self._tx.delay(busy, now)
                self._delay_resent(busy, now)
            self._heard_from = now - busy
            t1_starts = self._t1_starts
            _TRANSITIONS[(self._state, frame.kind)](self, frame)
            if busy:
                self._pause_t1(busy, t1_starts)
            if self.connected and frame.kind not in _SETUP:
                self._heard_peer = True
            if self.connected:
                if frame.kind in _ACKS and frame.nr == self._va:
                    self._resend_if_lost(frame.nr)
                self._after_frame(got_i_frame=frame.kind is FrameType.I)
        return self._finish()

    def timer_expired(self, timer: Timer, now: float) -> list[Action]:
        """``timer`` ran out. Expiries of timers not running (stale) are ignored."""
        self._begin(now)
        if timer in self._running:
            self._running.discard(timer)
            if timer is Timer.T1:
                self._t1_expired = True
                self._t1_elapsed = None
                self._on_t1_expiry()
            elif timer is Timer.T2:
                if self._ack_pending and self.connected:
                    self._enquiry_response(final=False)
            elif self._state is State.CONNECTED:  # T3: is the peer still there?
                self._rc = 1
                self._transmit_enquiry()
                self._state = State.TIMER_RECOVERY
        return self._finish()

    # --- transitions: replies that do not depend much on state --------------------------

    def _on_ignore(self, frame: Frame) -> None:
        """No transition: the SDL discards the frame."""

    def _on_dm_if_command(self, frame: Frame) -> None:
        """Disconnected: any command but SABM and UI gets DM with F = P."""
        if frame.is_command:
            self._send_u(FrameType.DM, command=False, pf=frame.pf)

    def _on_dm_if_polled(self, frame: Frame) -> None:
        """Awaiting release: I, RR, RNR, REJ commands with P=1 get DM F=1."""
        if frame.is_command and frame.pf:
            self._send_u(FrameType.DM, command=False, pf=True)

    def _on_dm_reply(self, frame: Frame) -> None:
        self._send_u(FrameType.DM, command=False, pf=frame.pf)

    def _on_ua_reply(self, frame: Frame) -> None:
        self._send_u(FrameType.UA, command=False, pf=frame.pf)

    def _on_xid(self, frame: Frame) -> None:
        """XID command: answer with the negotiated values and use them (any state).

        The modulo stays the link's (a link cannot change it under way; while
        disconnected, the SABM or SABME that follows decides, and takes the other values
        if the modulo is the one agreed). An XID response is used only if it answers
        ours (see `_on_ua_awaiting_connection`), else ignored, as Dire Wolf does.
        """
        if not frame.is_command:
            self._xid_answered(frame.info)
            return
        offer = parse_xid(frame.info)
        modulo = self._modulo if self.connected else offer.modulo or 8
        agreed = negotiate(offer, xid_limits(self.params, modulo))
        if self.connected:
            self._apply_xid(agreed)
        elif self._state is State.DISCONNECTED:
            self._xid_before = agreed  # for the SABM(E) that may follow
        self._send(
            self._build(
                FrameType.XID, command=False, pf=frame.pf, info=encode_xid(agreed, command=False)
            )
        )

    def _on_test(self, frame: Frame) -> None:
        """TEST command: echo the information field in a TEST response."""
        if frame.is_command:
            info = echo_of_test(frame, self.params)
            self._send(self._build(FrameType.TEST, command=False, pf=frame.pf, info=info))

    def _on_ui(self, frame: Frame) -> None:
        """UI is not link data; only a UI command with P=1 needs an answer."""
        if frame.is_command and frame.pf:
            if self.connected:
                self._enquiry_response(final=True)
            else:
                self._send_u(FrameType.DM, command=False, pf=True)

    # --- transitions: connection setup and release ------------------------------------

    def _on_accept(self, frame: Frame) -> None:
        """Disconnected, SABM or SABME: accept (the caller created this link to accept)."""
        if frame.kind is FrameType.SABME and not self.params.v22:
            self._on_dm_reply(frame)
            return
        self._set_version(128 if frame.kind is FrameType.SABME else 8)
        self._apply_xid_before()
        self._send_u(FrameType.UA, command=False, pf=frame.pf)
        self._clear_exceptions()
        self._reset_sequence()
        self._t1.reset()
        self._heard_peer = False
        self._back_to_connected()
        self._emit(LinkUp(incoming=True))

    def _on_ua_awaiting_connection(self, frame: Frame) -> None:
        if not frame.pf:
            self._emit(ErrorIndication("D", "UA without F=1 answering SABM"))
            return
        if self._layer3_initiated:
            self._emit(LinkUp(incoming=False))
        elif self._vs != self._va:
            self._emit(LinkReset("link re-established; unacknowledged data lost"))
        first_try = self._rc == 1
        self._stop_t1()
        if first_try:  # the SABM/UA exchange is a clean round-trip sample
            self._rc = 0
            self._select_t1_value()
        self._reset_sequence()
        self._heard_peer = False
        self._back_to_connected()
        if self._layer3_initiated and self._modulo == 128:
            self._offer_xid()
        self._pop_queue()

    def _on_dm_awaiting_connection(self, frame: Frame) -> None:
        if frame.pf and self._modulo == 128 and self._layer3_initiated:
            # A v2.0 peer refused SABME: call again with SABM, as Dire Wolf does.
            self._set_version(8)
            self._establish()
            return
        if frame.pf:
            self._go_down("connection refused" if self._layer3_initiated else "link reset refused")

    def _on_ua_awaiting_release(self, frame: Frame) -> None:
        if frame.pf:
            self._go_down("disconnected")
        else:
            self._emit(ErrorIndication("D", "UA without F=1 answering DISC"))

    def _on_dm_awaiting_release(self, frame: Frame) -> None:
        if frame.pf:
            self._go_down("disconnected")

    def _on_sabm_connected(self, frame: Frame) -> None:
        """SABM(E) while connected: a repeated one, or the peer reset the link."""
        if frame.kind is FrameType.SABME and not self.params.v22:
            self._on_dm_reply(frame)
            return
        modulo = 128 if frame.kind is FrameType.SABME else 8
        self._send_u(FrameType.UA, command=False, pf=frame.pf)
        if not self._heard_peer and modulo == self._modulo:
            # Nothing but SABM from the peer since our UA: it retried before our UA
            # reached it (a KISS TNC can sit on a frame for seconds). Resetting would
            # renumber I frames queued in our TNC: keep our state (the SDL resets).
            return
        self._clear_exceptions()
        self._emit(ErrorIndication("F", "data link reset by the peer"))
        if self._vs != self._va:
            # Unsent data stays queued (Dire Wolf keeps it too); what was in flight
            # may or may not have reached the peer's user before it reset.
            self._emit(LinkReset("peer reset the link; unacknowledged data lost"))
        self._stop_t1()
        self._reset_sequence()
        if modulo != self._modulo:
            self._set_version(modulo)
        self._heard_peer = False
        self._back_to_connected()

    def _on_disc_connected(self, frame: Frame) -> None:
        self._send_u(FrameType.UA, command=False, pf=frame.pf)
        self._go_down("disconnected by peer")

    def _on_dm_connected(self, frame: Frame) -> None:
        self._emit(ErrorIndication("E", "DM received while connected"))
        self._go_down("peer is not connected (DM)")

    def _on_ua_connected(self, frame: Frame) -> None:
        """Usually a second UA answering a repeated SABM: note it and carry on.

        The SDL re-establishes the link here, which turns a harmless duplicate into a
        reset with data loss; Linux ignores it too. A real state mismatch shows up
        as an N(R) error and is recovered there.
        """
        self._emit(ErrorIndication("C", "unexpected UA"))

    def _on_frmr_connected(self, frame: Frame) -> None:
        self._emit(ErrorIndication("K", "FRMR received"))
        self._reestablish()

    # --- transitions: information transfer --------------------------------------------

    def _on_i(self, frame: Frame) -> None:
        if not self._good_nr(frame.nr):
            self._nr_error_recovery()
            return
        self._check_iframe_acked(frame.nr)
        if self._state is State.TIMER_RECOVERY and self._va == self._vs:
            # Dire Wolf erratum: everything is acknowledged, so recovery is over.
            self._stop_t1()
            self._select_t1_value()
            self._back_to_connected()
        if self._own_busy:
            if frame.pf:
                self._send_s(FrameType.RNR, command=False, pf=True)
            return
        if frame.ns == self._vr:
            self._vr = (self._vr + 1) % self._modulo
            self._reject_sent = False
            self._deliver(frame.pid, frame.info)
            self._rx_held.pop(frame.ns, None)
            while self._vr in self._rx_held:  # SREJ filled the gap: deliver what waited
                self._deliver(*self._rx_held.pop(self._vr))
                self._vr = (self._vr + 1) % self._modulo
            if frame.pf:
                self._enquiry_response(final=True)
            else:
                self._ack_pending = True
                self._rx_unacked += 1
        elif self._srej:
            self._on_i_out_of_sequence(frame)
        elif self._reject_sent:
            if frame.pf:
                self._enquiry_response(final=True)
        else:
            self._reject_sent = True
            self._send_s(FrameType.REJ, command=False, pf=frame.pf)

    def _on_i_out_of_sequence(self, frame: Frame) -> None:
        """v2.2 selective reject: keep the frame, ask only for what is missing before it.

        As Dire Wolf does (after X.25 2.4.6.4): SREJ only when the frame just before
        this one is missing too, so one gap is asked for once, not once per frame after
        it; a poll is answered with SREJ for every gap (`_enquiry_response`).
        """
        ahead = (frame.ns - self._vr) % self._modulo
        if not 0 < ahead < SREJ_SPAN:  # a duplicate of something already delivered
            if frame.pf:
                self._enquiry_response(final=True)
            return
        self._rx_held[frame.ns] = (frame.pid, frame.info)
        if frame.pf:
            self._enquiry_response(final=True)
            return
        before = (frame.ns - 1) % self._modulo
        if before in self._rx_held:
            return
        first = before
        while first != self._vr and (first - 1) % self._modulo not in self._rx_held:
            first = (first - 1) % self._modulo
        count = (before - first) % self._modulo + 1
        self._send_srej([(first + i) % self._modulo for i in range(count)])

    def _on_rr_rnr_connected(self, frame: Frame) -> None:
        self._peer_busy = frame.kind is FrameType.RNR
        if frame.is_command and frame.pf:
            self._enquiry_response(final=True)
        if self._good_nr(frame.nr):
            self._check_iframe_acked(frame.nr)
        else:
            self._nr_error_recovery()

    def _on_rr_rnr_recovery(self, frame: Frame) -> None:
        self._peer_busy = frame.kind is FrameType.RNR
        self._recovery_ack(frame, retransmit_unpolled=False)

    def _on_rej_connected(self, frame: Frame) -> None:
        self._peer_busy = False
        if frame.is_command and frame.pf:
            self._enquiry_response(final=True)
        if not self._good_nr(frame.nr):
            self._nr_error_recovery()
            return
        if self._repeats_go_back(frame.nr):
            return  # already being resent: T1 keeps timing it
        self._set_va(frame.nr)
        self._stop_t1()
        self._stop_timer(Timer.T3)
        self._select_t1_value()
        if self._vs != self._va:
            self._invoke_retransmission(frame.nr)
        else:
            self._start_t3()

    def _on_rej_recovery(self, frame: Frame) -> None:
        self._peer_busy = False
        self._recovery_ack(frame, retransmit_unpolled=True)

    def _recovery_ack(self, frame: Frame, *, retransmit_unpolled: bool) -> None:
        """RR, RNR or REJ in timer recovery: only a final response ends the recovery."""
        if frame.is_response and frame.pf:
            self._stop_t1()
            self._select_t1_value()
            if not self._good_nr(frame.nr):
                self._nr_error_recovery()
                return
            self._set_va(frame.nr)
            if self._peer_busy:
                # Still busy: keep polling, and let RC count towards N2 (error U).
                self._start_t1()
            elif self._vs == self._va:
                self._back_to_connected()
            elif frame.nr == self._poll_vs:
                # Everything sent before our poll arrived; what we sent after it is on
                # its way (a KISS TNC queues it): resending would duplicate it.
                self._back_to_connected()
                self._stop_timer(Timer.T3)
                self._start_t1()
            else:
                self._invoke_retransmission(frame.nr)
            return
        if frame.is_command and frame.pf:
            self._enquiry_response(final=True)
        if not self._good_nr(frame.nr):
            self._nr_error_recovery()
            return
        self._set_va(frame.nr)
        if retransmit_unpolled and self._vs != self._va:
            self._invoke_retransmission(frame.nr)
        elif frame.is_response and self._vs == self._va:
            # Dire Wolf erratum: all acknowledged by an RR/RNR response, so leave recovery.
            self._stop_t1()
            self._select_t1_value()
            self._back_to_connected()

    def _on_srej(self, frame: Frame) -> None:
        """SREJ (a v2.2 peer): resend the one frame asked for; F=1 also acknowledges."""
        self._peer_busy = False
        if not self._good_nr(frame.nr):
            self._nr_error_recovery()
            return
        if frame.pf:
            self._set_va(frame.nr)
        if frame.nr in self._sent and not self._resend_pending(frame.nr):
            self._resend(frame.nr)
        elif self._state is State.TIMER_RECOVERY and self._vs == self._va:
            self._stop_t1()
            self._back_to_connected()

    # --- timer T1 -------------------------------------------------------------------

    def _on_t1_expiry(self) -> None:
        state = self._state
        n2 = self.params.n2
        if state is State.AWAITING_CONNECTION:
            if self._rc >= n2:
                self._go_down("no answer" if self._layer3_initiated else "link reset failed")
            else:
                self._rc += 1
                self._select_t1_value()
                kind = FrameType.SABME if self._modulo == 128 else FrameType.SABM
                self._send_u(kind, command=True, pf=True)
                self._start_t1()
        elif state is State.AWAITING_RELEASE:
            if self._rc >= n2:
                self._go_down("disconnected (no answer to DISC)")
            else:
                self._rc += 1
                self._select_t1_value()
                self._send_u(FrameType.DISC, command=True, pf=True)
                self._start_t1()
        elif state is State.CONNECTED:
            self._rc = 1
            self._select_t1_value()
            self._transmit_enquiry()
            self._state = State.TIMER_RECOVERY
        elif state is State.TIMER_RECOVERY:
            if self._rc >= n2:
                if self._vs != self._va:
                    self._emit(ErrorIndication("I", f"{n2} timeouts: unacknowledged data"))
                elif self._peer_busy:
                    self._emit(ErrorIndication("U", f"{n2} timeouts: peer busy too long"))
                else:
                    self._emit(ErrorIndication("T", f"{n2} timeouts: no answer to poll"))
                self._send_u(FrameType.DM, command=False)
                self._go_down("retry limit reached")
            else:
                self._rc += 1
                self._select_t1_value()
                self._transmit_enquiry()


_Handler = Callable[[Link, Frame], None]
# Frames that do not show the peer has heard our UA (see `_on_sabm_connected`).
_SETUP = frozenset({FrameType.SABM, FrameType.SABME, FrameType.UA})
# Frames whose N(R) only acknowledges (REJ and SREJ ask for resends themselves).
_ACKS = frozenset({FrameType.I, FrameType.RR, FrameType.RNR})


def _build_transitions() -> MappingProxyType[tuple[State, FrameType], _Handler]:
    """The (state, frame type) -> handler table; every pair is present."""
    S, F = State, FrameType
    defaults: dict[State, _Handler] = {
        S.DISCONNECTED: Link._on_dm_if_command,
        S.AWAITING_CONNECTION: Link._on_ignore,
        S.AWAITING_RELEASE: Link._on_dm_if_polled,
        S.CONNECTED: Link._on_ignore,
        S.TIMER_RECOVERY: Link._on_ignore,
    }
    table = {(state, kind): defaults[state] for state in State for kind in FrameType}
    for state in State:
        table[(state, F.SABME)] = Link._on_dm_reply  # our own call or release under way
        table[(state, F.XID)] = Link._on_xid
        table[(state, F.TEST)] = Link._on_test
        table[(state, F.UI)] = Link._on_ui
    table.update(
        {
            (S.DISCONNECTED, F.SABM): Link._on_accept,
            (S.DISCONNECTED, F.SABME): Link._on_accept,
            (S.DISCONNECTED, F.DISC): Link._on_dm_reply,
            (S.DISCONNECTED, F.DM): Link._on_ignore,
            (S.DISCONNECTED, F.UA): Link._on_ignore,
            # Both sides called at once: answer, and keep waiting for our own UA.
            (S.AWAITING_CONNECTION, F.SABM): Link._on_ua_reply,
            (S.AWAITING_CONNECTION, F.DISC): Link._on_dm_reply,
            (S.AWAITING_CONNECTION, F.UA): Link._on_ua_awaiting_connection,
            (S.AWAITING_CONNECTION, F.DM): Link._on_dm_awaiting_connection,
            (S.AWAITING_RELEASE, F.SABM): Link._on_dm_reply,
            (S.AWAITING_RELEASE, F.DISC): Link._on_ua_reply,
            (S.AWAITING_RELEASE, F.UA): Link._on_ua_awaiting_release,
            (S.AWAITING_RELEASE, F.DM): Link._on_dm_awaiting_release,
            (S.CONNECTED, F.RR): Link._on_rr_rnr_connected,
            (S.CONNECTED, F.RNR): Link._on_rr_rnr_connected,
            (S.CONNECTED, F.REJ): Link._on_rej_connected,
            (S.TIMER_RECOVERY, F.RR): Link._on_rr_rnr_recovery,
            (S.TIMER_RECOVERY, F.RNR): Link._on_rr_rnr_recovery,
            (S.TIMER_RECOVERY, F.REJ): Link._on_rej_recovery,
        }
    )
    for state in (S.CONNECTED, S.TIMER_RECOVERY):
        table.update(
            {
                (state, F.SABM): Link._on_sabm_connected,
                (state, F.SABME): Link._on_sabm_connected,
                (state, F.DISC): Link._on_disc_connected,
                (state, F.DM): Link._on_dm_connected,
                (state, F.UA): Link._on_ua_connected,
                (state, F.FRMR): Link._on_frmr_connected,
                (state, F.I): Link._on_i,
                (state, F.SREJ): Link._on_srej,
            }
        )
    return MappingProxyType(table)


_TRANSITIONS = _build_transitions()
