"""Tests for radio.ax25.link: scripted exchanges between two links and against
hand-written frames. No sockets, no sleeping: the clock is a number we pass in."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radio.ax25.actions import (
    Action,
    Deliver,
    ErrorIndication,
    LinkDown,
    LinkParams,
    LinkReset,
    LinkUp,
    LocalLinkError,
    SendFrame,
    StartTimer,
    State,
    StopTimer,
    Timer,
)
from radio.ax25.frame import Address, Frame, FrameType, decode, reply_path
from radio.ax25.link import _TRANSITIONS, Link, no_link_reply

A = Address("N0AAA")
B = Address("N0BBB", 7)
F = FrameType


def short(frame: Frame) -> str:
    """``I C S0 R1``, ``RR R F R4``, ``SABM C P``: enough to script an exchange."""
    cr = "C" if frame.is_command else "R"
    parts = [frame.kind.value, cr]
    if frame.pf:
        parts.append("P" if frame.is_command else "F")
    if frame.kind is F.I:
        parts.append(f"S{frame.ns}")
    if frame.kind is F.I or frame.kind in (F.RR, F.RNR, F.REJ, F.SREJ):
        parts.append(f"R{frame.nr}")
    return " ".join(parts)


def frames_of(actions: Iterable[Action]) -> list[str]:
    return [short(a.frame) for a in actions if isinstance(a, SendFrame)]


def events_of(actions: Iterable[Action]) -> list[Action]:
    return [a for a in actions if not isinstance(a, SendFrame | StartTimer | StopTimer | Deliver)]


class Peer:
    """One end of a `Pair`: a link plus the timers and data it asked for."""

    def __init__(self, name: str, link: Link) -> None:
        self.name = name
        self.link = link
        self.timers: dict[Timer, float] = {}
        self.delivered = bytearray()
        self.events: list[Action] = []
        self.sent: list[str] = []


class Pair:
    """Two links joined by a fake channel, in the spirit of h11's ConnectionPair.

    Frames travel instantly and in order, through the real encoder and decoder.
    ``drop`` may discard frames in flight; every frame is logged as ``a> ...``.
    """

    def __init__(self, params: LinkParams | None = None) -> None:
        self.now = 0.0
        self.a = Peer("a", Link(A, B, params=params))
        self.b = Peer("b", Link(B, A, params=params))
        self.flight: deque[tuple[Peer, Frame]] = deque()
        self.drop: Callable[[Peer, Frame], bool] = lambda sender, frame: False
        self.log: list[str] = []

    def other(self, peer: Peer) -> Peer:
        return self.b if peer is self.a else self.a

    def apply(self, peer: Peer, actions: list[Action]) -> list[Action]:
        for action in actions:
            if isinstance(action, SendFrame):
                frame = decode(action.frame.encode(), action.frame.modulo)
                assert frame == action.frame
                peer.sent.append(short(frame))
                self.flight.append((peer, frame))
            elif isinstance(action, StartTimer):
                assert action.seconds > 0
                peer.timers[action.timer] = self.now + action.seconds
            elif isinstance(action, StopTimer):
                peer.timers.pop(action.timer, None)
            elif isinstance(action, Deliver):
                peer.delivered += action.data
            else:
                peer.events.append(action)
        return actions

    def pump(self) -> None:
        while self.flight:
            sender, frame = self.flight.popleft()
            if self.drop(sender, frame):
                self.log.append(f"{sender.name}> {short(frame)} (dropped)")
                continue
            self.log.append(f"{sender.name}> {short(frame)}")
            receiver = self.other(sender)
            self.apply(receiver, receiver.link.frame_received(frame, self.now))

    def do(self, peer: Peer, actions: list[Action]) -> list[Action]:
        self.apply(peer, actions)
        self.pump()
        return actions

    def connect(self, *, extended: bool = False) -> None:
        self.do(self.a, self.a.link.connect(self.now, extended=extended))
        assert self.a.link.state is self.b.link.state is State.CONNECTED

    def fire(self, peer: Peer, timer: Timer) -> list[Action]:
        """Let ``timer`` of ``peer`` expire (moving the clock to its deadline)."""
        self.now = max(self.now, peer.timers.pop(timer))
        return self.do(peer, peer.link.timer_expired(timer, self.now))

    def settle(self, limit: int = 200) -> None:
        """Fire T1/T2 timers in deadline order until none is left (T3 is left alone)."""
        for _ in range(limit):
            due = [
                (deadline, peer.name, timer)
                for peer in (self.a, self.b)
                for timer, deadline in peer.timers.items()
                if timer is not Timer.T3
            ]
            if not due:
                return
            _, name, timer = min(due)
            self.fire(self.a if name == "a" else self.b, timer)
        raise AssertionError("timers never settled")


def drop_first(match: Callable[[Peer, Frame], bool]) -> Callable[[Peer, Frame], bool]:
    """A drop filter that discards only the first frame ``match`` accepts."""
    done = False

    def drop(sender: Peer, frame: Frame) -> bool:
        nonlocal done
        if not done and match(sender, frame):
            done = True
            return True
        return False

    return drop


def from_a_to_b(kind: FrameType, **fields: object) -> Frame:
    command = fields.pop("command", True)
    return Frame.build(kind, dest=B, source=A, command=bool(command), **fields)  # type: ignore[arg-type]


# --- connection setup -------------------------------------------------------------


def test_connect_exchanges_sabm_and_ua() -> None:
    pair = Pair()
    actions = pair.do(pair.a, pair.a.link.connect(0.0))
    assert frames_of(actions) == ["SABM C P"]
    assert any(isinstance(a, StartTimer) and a.timer is Timer.T1 for a in actions)
    assert pair.log == ["a> SABM C P", "b> UA R F"]
    assert pair.a.events == [LinkUp(incoming=False)]
    assert pair.b.events == [LinkUp(incoming=True)]
    assert pair.a.link.connected and pair.b.link.connected
    # T1 stopped and T3 (idle poll) running on both ends.
    assert set(pair.a.timers) == {Timer.T3} and set(pair.b.timers) == {Timer.T3}


def test_connect_refused_with_dm() -> None:
    pair = Pair()
    pair.apply(pair.a, pair.a.link.connect(0.0))
    pair.flight.clear()
    refusal = Frame.build(F.DM, dest=A, source=B, command=False, pf=True)
    actions = pair.a.link.frame_received(refusal, 1.0)
    assert events_of(actions) == [LinkDown("connection refused")]
    assert StopTimer(Timer.T1) in actions
    assert pair.a.link.state is State.DISCONNECTED


def test_connect_gives_up_after_n2_sabms() -> None:
    pair = Pair(LinkParams(n2=3))
    pair.drop = lambda sender, frame: True  # nobody there
    pair.do(pair.a, pair.a.link.connect(0.0))
    pair.settle()
    assert pair.a.sent == ["SABM C P"] * 3
    assert pair.a.events == [LinkDown("no answer")]
    assert pair.a.timers == {}


def test_simultaneous_connect() -> None:
    pair = Pair()
    pair.apply(pair.a, pair.a.link.connect(0.0))
    pair.apply(pair.b, pair.b.link.connect(0.0))
    pair.pump()
    assert pair.a.link.connected and pair.b.link.connected
    assert pair.a.events == [LinkUp(incoming=False)]
    assert pair.b.events == [LinkUp(incoming=False)]


def test_connect_and_send_misuse_raise() -> None:
    pair = Pair()
    with pytest.raises(LocalLinkError):
        pair.a.link.send(b"x", 0.0)
    pair.connect()
    with pytest.raises(LocalLinkError):
        pair.a.link.connect(1.0)
    pair.do(pair.a, pair.a.link.disconnect(1.0))
    with pytest.raises(LocalLinkError):
        pair.a.link.send(b"x", 2.0)


def test_data_queued_while_connecting_goes_out_on_ua() -> None:
    pair = Pair()
    pair.apply(pair.a, pair.a.link.connect(0.0))
    pair.apply(pair.a, pair.a.link.send(b"early"))
    pair.pump()
    assert pair.log == ["a> SABM C P", "b> UA R F", "a> I C S0 R0"]
    assert pair.b.delivered == b"early"


# --- data transfer ----------------------------------------------------------------


def test_data_both_ways() -> None:
    pair = Pair()
    pair.connect()
    pair.do(pair.a, pair.a.link.send(b"hello\r", 1.0))
    pair.do(pair.b, pair.b.link.send(b"world\r", 1.0))
    pair.settle()
    assert pair.b.delivered == b"hello\r"
    assert pair.a.delivered == b"world\r"
    assert pair.a.link.outstanding == pair.b.link.outstanding == 0
    assert pair.a.link.queued_bytes == 0
    # b's I frame carried the ack for a's, so nobody needed an extra poll.
    assert "RR C P R1" not in pair.log


def test_send_splits_into_paclen_segments_within_window() -> None:
    pair = Pair(LinkParams(paclen=100, k=2))
    pair.connect()
    data = bytes(range(256)) + b"tail"
    actions = pair.a.link.send(data, 1.0)
    # Two segments fit the window; the third waits for an acknowledgement.
    assert frames_of(actions) == ["I C S0 R0", "I C S1 R0"]
    assert pair.a.link.outstanding == 2
    assert pair.a.link.queued_bytes == len(data)
    pair.do(pair.a, actions)
    pair.settle()
    assert pair.b.delivered == data
    sizes = [len(f) for f in (data[:100], data[100:200], data[200:])]
    assert sizes == [100, 100, 60]
    assert pair.a.sent.count("I C S2 R0") == 1


def test_full_window_is_acknowledged_at_once() -> None:
    pair = Pair(LinkParams(k=4))
    pair.connect()
    pair.do(pair.a, pair.a.link.send(b"x" * 4 * 256, 1.0))
    # The fourth frame fills the window: b acknowledges without waiting for T2.
    assert pair.log[-5:] == [
        "a> I C S0 R0",
        "a> I C S1 R0",
        "a> I C S2 R0",
        "a> I C S3 R0",
        "b> RR R R4",
    ]


def test_partial_window_is_acknowledged_after_t2() -> None:
    pair = Pair(LinkParams(t2=1.5))
    pair.connect()
    pair.now = 1.0
    pair.do(pair.a, pair.a.link.send(b"one line\r", pair.now))
    assert pair.b.timers[Timer.T2] == pytest.approx(2.5)
    assert pair.log[-1] == "a> I C S0 R0"
    pair.fire(pair.b, Timer.T2)
    assert pair.log[-1] == "b> RR R R1"
    assert Timer.T1 not in pair.a.timers and Timer.T3 in pair.a.timers


def test_long_transfer_wraps_sequence_numbers() -> None:
    pair = Pair()
    pair.connect()
    data = bytes(i % 251 for i in range(40 * 256 + 17))
    pair.do(pair.a, pair.a.link.send(data, 1.0))
    pair.settle()
    assert bytes(pair.b.delivered) == data


# --- loss and recovery ------------------------------------------------------------


def test_lost_i_frame_rej_and_retransmission() -> None:
    pair = Pair()
    pair.connect()
    pair.drop = drop_first(lambda s, f: f.kind is F.I and f.ns == 1)
    pair.do(pair.a, pair.a.link.send(b"A" * 256 + b"B" * 256 + b"C" * 256, 1.0))
    assert pair.log[2:] == [
        "a> I C S0 R0",
        "a> I C S1 R0 (dropped)",
        "a> I C S2 R0",
        "b> REJ R R1",  # S2 is out of sequence: ask to go back to 1
        "a> I C S1 R0",
        "a> I C S2 R0",
    ]
    pair.settle()
    assert bytes(pair.b.delivered) == b"A" * 256 + b"B" * 256 + b"C" * 256
    assert pair.a.link.state is State.CONNECTED


def test_lost_last_i_frame_recovered_by_poll() -> None:
    pair = Pair()
    pair.connect()
    pair.drop = drop_first(lambda s, f: f.kind is F.I and f.ns == 1)
    pair.do(pair.a, pair.a.link.send(b"A" * 256 + b"B" * 10, 1.0))
    pair.settle()
    # No later frame shows the gap, so b just acknowledges S0; T1 then polls.
    assert pair.log[2:] == [
        "a> I C S0 R0",
        "a> I C S1 R0 (dropped)",
        "b> RR R R1",
        "a> RR C P R0",
        "b> RR R F R1",
        "a> I C S1 R0",
        "b> RR R R2",
    ]
    assert bytes(pair.b.delivered) == b"A" * 256 + b"B" * 10


def test_lost_ack_t1_poll_recovers_without_resending() -> None:
    pair = Pair()
    pair.connect()
    pair.drop = drop_first(lambda s, f: f.kind is F.RR)
    pair.do(pair.a, pair.a.link.send(b"x" * 1024, 1.0))
    assert pair.log[-1] == "b> RR R R4 (dropped)"
    actions = pair.fire(pair.a, Timer.T1)
    assert frames_of(actions) == ["RR C P R0"]
    assert pair.log[-2:] == ["a> RR C P R0", "b> RR R F R4"]
    assert pair.a.link.state is State.CONNECTED
    assert pair.a.sent.count("I C S0 R0") == 1  # nothing resent
    assert bytes(pair.b.delivered) == b"x" * 1024


def test_poll_response_does_not_resend_frames_sent_after_the_poll() -> None:
    pair = Pair()
    pair.connect()
    pair.drop = drop_first(lambda s, f: f.kind is F.RR)
    pair.do(pair.a, pair.a.link.send(b"x" * 256, 1.0))
    pair.fire(pair.b, Timer.T2)  # b's RR is lost
    # T1 expires; the poll goes out, then new data is queued behind it.
    pair.apply(pair.a, pair.a.link.timer_expired(Timer.T1, pair.a.timers.pop(Timer.T1)))
    assert pair.a.link.state is State.TIMER_RECOVERY
    pair.apply(pair.a, pair.a.link.send(b"y" * 256))
    pair.pump()
    # The answer to the poll acknowledges S0; S1 was sent after the poll.
    assert pair.log[-3:] == ["a> RR C P R0", "a> I C S1 R0", "b> RR R F R1"]
    assert pair.a.sent.count("I C S1 R0") == 1
    assert pair.a.link.state is State.CONNECTED


def test_n2_exhaustion_takes_the_link_down() -> None:
    pair = Pair(LinkParams(n2=4))
    pair.connect()
    pair.drop = lambda sender, frame: sender is pair.a  # b hears nothing any more
    pair.do(pair.a, pair.a.link.send(b"lost", 1.0))
    pair.settle()
    assert pair.a.sent[-6:] == ["I C S0 R0"] + ["RR C P R0"] * 4 + ["DM R"]
    assert pair.a.events[-2:] == [
        ErrorIndication("I", "4 timeouts: unacknowledged data"),
        LinkDown("retry limit reached"),
    ]
    assert pair.a.link.state is State.DISCONNECTED
    assert pair.a.timers == {}
    assert pair.a.link.queued_bytes == 0


def test_progress_in_timer_recovery_restarts_the_retry_count() -> None:
    pair = Pair(LinkParams(n2=3, bit_rate=None))
    pair.connect()
    pair.drop = lambda sender, frame: True  # from now on we script every frame by hand
    pair.do(pair.a, pair.a.link.send(b"x" * 1024, 1.0))
    for acked in range(1, 5):
        pair.fire(pair.a, Timer.T1)  # poll (lost)
        ack = Frame.build(F.RR, dest=A, source=B, command=False, nr=acked % 8)
        pair.do(pair.a, pair.a.link.frame_received(ack, pair.now))
    # Four expiries with N2=3, but each was followed by progress: still up.
    assert not any(isinstance(e, LinkDown) for e in pair.a.events)
    assert pair.a.link.state is State.CONNECTED and pair.a.link.outstanding == 0


def test_t1_backs_off_while_retrying() -> None:
    pair = Pair(LinkParams(n2=5, bit_rate=None))
    pair.connect()
    pair.drop = lambda sender, frame: sender is pair.a
    pair.do(pair.a, pair.a.link.send(b"lost", 1.0))
    durations = []
    for _ in range(4):
        start = pair.now
        pair.fire(pair.a, Timer.T1)
        durations.append(pair.a.timers[Timer.T1] - start)
    assert durations == sorted(durations) and durations[0] < durations[-1]


# --- flow control -----------------------------------------------------------------


def test_peer_busy_rnr_stops_and_resumes_sending() -> None:
    pair = Pair()
    pair.connect()
    pair.do(pair.b, pair.b.link.set_busy(True, 1.0))
    assert pair.log[-1] == "b> RNR R R0"
    actions = pair.a.link.send(b"wait for me", 1.0)
    assert frames_of(actions) == []  # peer busy: queued, not sent
    pair.do(pair.a, actions)
    # a keeps polling the busy peer with T1.
    pair.fire(pair.a, Timer.T1)
    assert pair.log[-2:] == ["a> RR C P R0", "b> RNR R F R0"]
    pair.do(pair.b, pair.b.link.set_busy(False, pair.now))
    assert pair.log[-2:] == ["b> RR R R0", "a> I C S0 R0"]
    pair.settle()
    assert pair.b.delivered == b"wait for me"


def test_own_busy_discards_i_frames_until_ready() -> None:
    pair = Pair()
    pair.connect()
    pair.apply(pair.b, pair.b.link.set_busy(True, 1.0))
    pair.flight.clear()  # a misses the RNR
    pair.do(pair.a, pair.a.link.send(b"data", 1.0))
    assert pair.b.delivered == b""
    pair.do(pair.b, pair.b.link.set_busy(False, 2.0))
    pair.settle()
    assert pair.b.delivered == b"data"


def test_rnr_for_too_long_takes_link_down() -> None:
    pair = Pair(LinkParams(n2=3))
    pair.connect()
    pair.do(pair.b, pair.b.link.set_busy(True, 1.0))
    pair.do(pair.a, pair.a.link.send(b"x", 1.0))
    pair.settle()
    assert ErrorIndication("U", "3 timeouts: peer busy too long") in pair.a.events
    assert pair.a.events[-1] == LinkDown("retry limit reached")


# --- disconnect in every state ----------------------------------------------------


def test_disconnect_when_disconnected_does_nothing() -> None:
    assert Pair().a.link.disconnect(0.0) == []


def test_disconnect_while_connected() -> None:
    pair = Pair()
    pair.connect()
    pair.do(pair.a, pair.a.link.disconnect(5.0))
    assert pair.log[-2:] == ["a> DISC C P", "b> UA R F"]
    assert pair.a.events[-1] == LinkDown("disconnected")
    assert pair.b.events[-1] == LinkDown("disconnected by peer")
    assert pair.a.timers == {} and pair.b.timers == {}


def test_graceful_disconnect_waits_for_acknowledgement() -> None:
    pair = Pair(LinkParams(t2=1.0))
    pair.connect()
    pair.do(pair.a, pair.a.link.send(b"73\r", 1.0))
    actions = pair.a.link.disconnect(1.0)
    assert frames_of(actions) == []
    with pytest.raises(LocalLinkError):
        pair.a.link.send(b"more", 1.0)
    pair.settle()
    assert pair.log[-4:] == ["a> I C S0 R0", "b> RR R R1", "a> DISC C P", "b> UA R F"]
    assert pair.b.delivered == b"73\r"


def test_abrupt_disconnect_discards_unsent_data() -> None:
    pair = Pair(LinkParams(k=1))
    pair.connect()
    pair.apply(pair.a, pair.a.link.send(b"x" * 600, 1.0))
    pair.flight.clear()
    pair.do(pair.a, pair.a.link.disconnect(1.0, graceful=False))
    assert pair.log[-2:] == ["a> DISC C P", "b> UA R F"]
    assert pair.a.link.queued_bytes == 0


def test_disconnect_while_awaiting_connection() -> None:
    pair = Pair()
    pair.apply(pair.a, pair.a.link.connect(0.0))
    pair.flight.clear()  # the SABM never arrived
    pair.do(pair.a, pair.a.link.disconnect(1.0))
    assert pair.log == ["a> DISC C P", "b> DM R F"]
    assert pair.a.events == [LinkDown("disconnected")]
    assert pair.b.events == []


def test_disconnect_in_timer_recovery() -> None:
    pair = Pair()
    pair.connect()
    pair.drop = drop_first(lambda s, f: f.kind is F.RR)
    pair.do(pair.a, pair.a.link.send(b"x", 1.0))
    pair.fire(pair.b, Timer.T2)  # its RR is dropped
    pair.apply(pair.a, pair.a.link.timer_expired(Timer.T1, pair.a.timers.pop(Timer.T1)))
    assert pair.a.link.state is State.TIMER_RECOVERY
    pair.flight.clear()
    pair.do(pair.a, pair.a.link.disconnect(20.0, graceful=False))
    assert pair.log[-2:] == ["a> DISC C P", "b> UA R F"]
    assert pair.a.link.state is pair.b.link.state is State.DISCONNECTED


def test_second_disconnect_while_releasing_gives_up_at_once() -> None:
    pair = Pair()
    pair.connect()
    pair.apply(pair.a, pair.a.link.disconnect(1.0))
    pair.flight.clear()
    assert pair.a.link.state is State.AWAITING_RELEASE
    actions = pair.a.link.disconnect(2.0)
    assert frames_of(actions) == ["DM R"]
    assert events_of(actions) == [LinkDown("disconnected")]
    assert StopTimer(Timer.T1) in actions


def test_disc_unanswered_gives_up_after_n2() -> None:
    pair = Pair(LinkParams(n2=3))
    pair.connect()
    pair.drop = lambda sender, frame: True
    pair.do(pair.a, pair.a.link.disconnect(1.0))
    pair.settle()
    assert pair.a.sent[-3:] == ["DISC C P"] * 3
    assert pair.a.events[-1] == LinkDown("disconnected (no answer to DISC)")


def test_dm_while_connected_takes_link_down() -> None:
    pair = Pair()
    pair.connect()
    actions = pair.a.link.frame_received(Frame.build(F.DM, dest=A, source=B, command=False), 2.0)
    assert events_of(actions) == [
        ErrorIndication("E", "DM received while connected"),
        LinkDown("peer is not connected (DM)"),
    ]


def test_sabm_while_connected_resets_the_link() -> None:
    pair = Pair()
    pair.connect()
    pair.do(pair.b, pair.b.link.send(b"heard", 1.0))  # a has now heard from b
    pair.apply(pair.a, pair.a.link.send(b"in flight" + b"x" * 300, 1.0))
    pair.flight.clear()
    actions = pair.a.link.frame_received(
        Frame.build(F.SABM, dest=A, source=B, command=True, pf=True), 2.0
    )
    assert frames_of(actions) == ["UA R F"]
    assert ErrorIndication("F", "data link reset by the peer") in actions
    assert LinkReset("peer reset the link; unacknowledged data lost") in actions
    assert pair.a.link.state is State.CONNECTED and pair.a.link.outstanding == 0


def test_repeated_sabm_right_after_connect_is_answered_without_reset() -> None:
    # b's UA is slow to go out; a's T1 expires and a repeats the SABM. Meanwhile
    # b's application has queued data behind the UA.
    pair = Pair()
    pair.apply(pair.a, pair.a.link.connect(0.0))
    (_, sabm) = pair.flight.popleft()
    pair.apply(pair.b, pair.b.link.frame_received(sabm, 1.0))
    pair.apply(pair.b, pair.b.link.send(b"welcome\r", 1.0))
    pair.now = pair.a.timers[Timer.T1]
    pair.apply(pair.a, pair.a.link.timer_expired(Timer.T1, pair.now))
    pair.pump()
    assert pair.log == [
        "b> UA R F",
        "b> I C S0 R0",
        "a> SABM C P",
        "b> UA R F",  # answered, but b keeps its state: S0 stays S0
    ]
    assert pair.a.events == [LinkUp(incoming=False), ErrorIndication("C", "unexpected UA")]
    assert pair.b.events == [LinkUp(incoming=True)]
    pair.settle()
    assert pair.a.delivered == b"welcome\r"
    assert pair.a.link.state is pair.b.link.state is State.CONNECTED


def test_unexpected_ua_is_noted_and_ignored() -> None:
    pair = Pair()
    pair.connect()
    frame = Frame.build(F.UA, dest=A, source=B, command=False, pf=True)
    actions = pair.a.link.frame_received(frame, 2.0)
    assert frames_of(actions) == []
    assert events_of(actions) == [ErrorIndication("C", "unexpected UA")]
    assert pair.a.link.state is State.CONNECTED


def test_frmr_reestablishes_the_link() -> None:
    pair = Pair()
    pair.connect()
    frame = Frame.build(F.FRMR, dest=A, source=B, command=False, info=b"\x00\x00\x01")
    actions = pair.do(pair.a, pair.a.link.frame_received(frame, 2.0))
    assert frames_of(actions) == ["SABM C P"]
    assert ErrorIndication("K", "FRMR received") in actions
    assert pair.a.link.state is State.CONNECTED  # b answered UA
    assert LinkUp(incoming=False) not in pair.a.events[1:]


def test_nr_out_of_range_reestablishes() -> None:
    pair = Pair()
    pair.connect()
    bogus = Frame.build(F.RR, dest=A, source=B, command=False, nr=5)
    actions = pair.a.link.frame_received(bogus, 2.0)
    assert ErrorIndication("J", "N(R) sequence error") in actions
    assert frames_of(actions) == ["SABM C P"]
    assert pair.a.link.state is State.AWAITING_CONNECTION


# --- frames with no transition and the v2.2 fallbacks ------------------------------


def test_sabme_is_answered_with_dm_f1_when_v22_is_off() -> None:
    link = Link(B, A, params=LinkParams(v22=False))
    actions = link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    assert frames_of(actions) == ["DM R F"]
    assert link.state is State.DISCONNECTED
    # Dire Wolf then falls back to SABM, which we accept.
    actions = link.frame_received(from_a_to_b(F.SABM, pf=True), 1.0)
    assert frames_of(actions) == ["UA R F"] and LinkUp(incoming=True) in actions


def test_sabme_while_connected_is_answered_with_dm_when_v22_is_off() -> None:
    pair = Pair(LinkParams(v22=False))
    pair.connect()
    actions = pair.b.link.frame_received(from_a_to_b(F.SABME, pf=True), 1.0)
    assert frames_of(actions) == ["DM R F"]


def test_test_command_is_echoed() -> None:
    link = Link(B, A)
    actions = link.frame_received(from_a_to_b(F.TEST, pf=True, info=b"ping"), 0.0)
    (reply,) = [a.frame for a in actions if isinstance(a, SendFrame)]
    assert short(reply) == "TEST R F" and reply.info == b"ping"


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (from_a_to_b(F.I, pf=True), ["DM R F"]),
        (from_a_to_b(F.I), ["DM R"]),
        (from_a_to_b(F.RR, pf=True), ["DM R F"]),
        (from_a_to_b(F.DISC, pf=True), ["DM R F"]),
        (from_a_to_b(F.RR, command=False, pf=True), []),
        (from_a_to_b(F.DM, command=False), []),
        (from_a_to_b(F.UA, command=False, pf=True), []),
        (from_a_to_b(F.UI, info=b"beacon"), []),
        (from_a_to_b(F.UI, pf=True), ["DM R F"]),
    ],
)
def test_disconnected_link_answers_as_the_sdl_says(frame: Frame, expected: list[str]) -> None:
    link = Link(B, A)
    assert frames_of(link.frame_received(frame, 0.0)) == expected
    assert link.state is State.DISCONNECTED


def test_awaiting_release_answers_polled_commands_with_dm() -> None:
    pair = Pair()
    pair.connect()
    pair.apply(pair.a, pair.a.link.disconnect(1.0))
    pair.flight.clear()
    polled = Frame.build(F.I, dest=A, source=B, command=True, pf=True)
    assert frames_of(pair.a.link.frame_received(polled, 2.0)) == ["DM R F"]
    unpolled = Frame.build(F.RR, dest=A, source=B, command=True)
    assert frames_of(pair.a.link.frame_received(unpolled, 2.0)) == []


def test_awaiting_connection_ignores_information_frames() -> None:
    link = Link(A, B)
    link.connect(0.0)
    stray = Frame.build(F.I, dest=A, source=B, command=True, pf=True)
    actions = link.frame_received(stray, 1.0)
    # Nothing is sent; T1 is only pushed back by the time the frame held the channel.
    assert frames_of(actions) == [] and events_of(actions) == []
    assert [type(a) for a in actions] == [StartTimer]


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (from_a_to_b(F.I, pf=True), "DM R F"),
        (from_a_to_b(F.SABM, pf=True), "DM R F"),
        (from_a_to_b(F.SABME, pf=True), "DM R F"),
        (from_a_to_b(F.DISC), "DM R"),
        (from_a_to_b(F.XID, pf=True), "XID R F"),
        (from_a_to_b(F.TEST, info=b"ping"), "TEST R"),
        (from_a_to_b(F.RR, command=False), None),
        (from_a_to_b(F.DM, command=False), None),
        (from_a_to_b(F.UI, info=b"x"), None),
        (
            Frame.build(F.SABM, dest=B, source=A, digis=(Address("RELAY"),), command=True, pf=True),
            None,  # not yet repeated by the digipeater: not for us yet
        ),
    ],
)
def test_no_link_reply(frame: Frame, expected: str | None) -> None:
    reply = no_link_reply(frame)
    assert (short(reply) if reply else None) == expected
    if reply is not None:
        assert reply.dest.same_station(A) and reply.source.same_station(B)


def test_ui_poll_while_connected_gets_rr_final() -> None:
    pair = Pair()
    pair.connect()
    actions = pair.b.link.frame_received(from_a_to_b(F.UI, pf=True, info=b"?"), 1.0)
    assert frames_of(actions) == ["RR R F R0"]


def test_frames_for_other_stations_are_ignored() -> None:
    pair = Pair()
    pair.connect()
    stranger = Frame.build(F.DISC, dest=B, source=Address("N0ZZZ"), command=True, pf=True)
    assert pair.b.link.frame_received(stranger, 1.0) == []
    assert pair.b.link.connected


def test_every_state_and_frame_type_has_a_transition() -> None:
    assert len(_TRANSITIONS) == len(State) * len(FrameType)


# --- timers -----------------------------------------------------------------------


def test_t3_polls_an_idle_link() -> None:
    pair = Pair()
    pair.connect()
    assert pair.a.timers[Timer.T3] == pytest.approx(300.0)
    pair.fire(pair.a, Timer.T3)
    assert pair.log[-2:] == ["a> RR C P R0", "b> RR R F R0"]
    assert pair.a.link.state is State.CONNECTED
    assert Timer.T3 in pair.a.timers and Timer.T1 not in pair.a.timers


def test_stale_timer_expiry_is_ignored() -> None:
    pair = Pair()
    pair.connect()
    assert pair.a.link.timer_expired(Timer.T1, 10.0) == []
    assert pair.a.link.timer_expired(Timer.T2, 10.0) == []


def test_t1_scales_with_digipeater_hops() -> None:
    path = (Address("RELAY"), Address("WIDE2", 2))
    link = Link(A, B, path, LinkParams(t1=3.0, bit_rate=None))
    assert link.t1_value == pytest.approx(3.0 * 5)
    (start,) = [a for a in link.connect(0.0) if isinstance(a, StartTimer)]
    assert start == StartTimer(Timer.T1, pytest.approx(15.0))


def test_t1_adapts_to_measured_round_trips() -> None:
    pair = Pair(LinkParams(bit_rate=None, t2=0.1))
    pair.connect()
    assert pair.a.link.t1_value < 3.0  # the SABM/UA exchange was instant
    for i in range(20):
        pair.apply(pair.a, pair.a.link.send(b"x", pair.now))
        pair.now += 0.1 if i < 10 else 4.0  # the peer gets slow
        pair.pump()
        pair.settle()
    slow = pair.a.link.t1_value
    assert 2.0 <= slow <= 6.0
    assert pair.a.link.state is State.CONNECTED


def test_t1_starts_after_our_frames_are_on_air() -> None:
    link = Link(A, B, params=LinkParams(bit_rate=1200, tx_delay=0.5, t1=3.0))
    (start,) = [a for a in link.connect(0.0) if isinstance(a, StartTimer)]
    # SABM with P is control octet 0x3F: six ones in a row, so HDLC stuffs one zero.
    sabm_air = ((15 + 4) * 8 + 1) / 1200
    assert start.seconds == pytest.approx(0.5 + sabm_air + 3.0)


def test_replies_use_the_reversed_digipeater_path() -> None:
    via = (Address("RELAY", 0, True), Address("WIDE2", 1, True))
    sabm = Frame.build(F.SABM, dest=B, source=A, digis=via, command=True, pf=True)
    link = Link(B, A, reply_path(sabm.digis))
    (ua,) = [a.frame for a in link.frame_received(sabm, 0.0) if isinstance(a, SendFrame)]
    assert ua.digis == (Address("WIDE2", 1), Address("RELAY"))
    assert not any(d.c_or_h for d in ua.digis)
    # A copy heard before the last digipeater repeated it is not processed.
    early = Frame.build(F.I, dest=B, source=A, digis=(via[0], via[1].with_bit(False)), command=True)
    assert link.frame_received(early, 1.0) == []


# --- robustness -------------------------------------------------------------------

ANY_FRAME = st.builds(
    Frame.build,
    st.sampled_from(list(FrameType)),
    dest=st.just(B),
    source=st.just(A),
    command=st.booleans(),
    pf=st.booleans(),
).flatmap(
    lambda f: st.builds(
        lambda nr, ns: Frame(
            dest=f.dest,
            source=f.source,
            kind=f.kind,
            pf=f.pf,
            nr=nr if f.kind is F.I or f.kind in (F.RR, F.RNR, F.REJ, F.SREJ) else 0,
            ns=ns if f.kind is F.I else 0,
            pid=f.pid,
            info=b"z" if f.kind in (F.I, F.UI, F.TEST) else b"",
        ),
        st.integers(0, 7),
        st.integers(0, 7),
    )
)

INPUTS = st.one_of(
    ANY_FRAME.map(lambda f: ("frame", f)),
    st.sampled_from(list(Timer)).map(lambda t: ("timer", t)),
    st.binary(min_size=1, max_size=600).map(lambda d: ("send", d)),
    st.sampled_from(["connect", "disconnect", "busy", "ready"]).map(lambda c: (c, None)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(INPUTS, max_size=40), st.integers(1, 7))
def test_random_inputs_never_break_the_link(inputs: list[tuple[str, object]], k: int) -> None:
    link = Link(B, A, params=LinkParams(k=k, n2=3))
    now = 0.0
    for what, arg in inputs:
        now += 0.5
        try:
            if what == "frame":
                # As the station decodes it: in the link's modulo (v2.2 after SABME).
                frame = replace(arg, modulo=link.modulo)  # type: ignore[type-var]
                actions = link.frame_received(frame, now)
            elif what == "timer":
                actions = link.timer_expired(arg, now)  # type: ignore[arg-type]
            elif what == "send":
                actions = link.send(arg, now)  # type: ignore[arg-type]
            elif what == "connect":
                actions = link.connect(now)
            elif what == "disconnect":
                actions = link.disconnect(now)
            else:
                actions = link.set_busy(what == "busy", now)
        except LocalLinkError:
            continue  # our own misuse, by design
        for action in actions:
            if isinstance(action, SendFrame):
                assert action.frame.dest.same_station(A)
                assert decode(action.frame.encode(), action.frame.modulo) == action.frame
            elif isinstance(action, StartTimer):
                assert action.seconds >= 0
        assert 0 <= link.outstanding <= link.window
        assert link.window <= (k if link.modulo == 8 else 127)
        if link.state is State.DISCONNECTED:
            assert link.outstanding == 0 and link.queued_bytes == 0


def test_a_storm_of_the_same_rej_resends_the_window_once() -> None:
    """Radio-side review, finding 2: 1000 forged REJ frames (15 bytes each) made 4000
    I-frame resends. A REJ the peer began before our go-back to the same N(R) was off
    the air asks for what is already on its way; one heard after it is obeyed."""
    pair = Pair(LinkParams(bit_rate=1200))
    pair.connect()
    pair.drop = lambda sender, frame: sender is pair.a  # b hears nothing of a's data
    pair.do(pair.a, pair.a.link.send(b"A" * 256 * 3, pair.now))
    rej = Frame.build(F.REJ, dest=A, source=B, command=False, nr=0)

    def resent(actions: list[Action]) -> int:
        return sum(1 for a in actions if isinstance(a, SendFrame) and a.frame.kind is F.I)

    first = resent(pair.a.link.frame_received(rej, pair.now))
    storm = sum(resent(pair.a.link.frame_received(rej, pair.now)) for _ in range(1000))
    assert (first, storm) == (3, 0)
    pair.now += 30.0  # the peer heard our resends and still asks: resent again
    assert resent(pair.a.link.frame_received(rej, pair.now)) == 3


def test_a_storm_of_the_same_srej_resends_the_frame_once() -> None:
    params = LinkParams(bit_rate=1200)
    pair = Pair(params)
    pair.connect(extended=True)
    pair.drop = lambda sender, frame: sender is pair.a
    pair.do(pair.a, pair.a.link.send(b"A" * 256 * 3, pair.now))
    srej = Frame.build(F.SREJ, dest=A, source=B, command=False, nr=1, modulo=128)
    sent = [pair.a.link.frame_received(srej, pair.now) for _ in range(1000)]
    assert sum(1 for actions in sent for a in actions if isinstance(a, SendFrame)) == 1
