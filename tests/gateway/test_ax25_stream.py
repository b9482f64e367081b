"""The AX.25 transport on a station with a fake TNC: lines in, RNR while behind, ready."""

from __future__ import annotations

import asyncio

from gateway.links.ax25 import AX25Stream
from radio.ax25 import FrameType
from tests.gateway.test_telnet import Recorder
from tests.radio.test_station import Harness


def linked() -> tuple[Harness, AX25Stream, Recorder]:
    """A link the peer connected (SABM), its stream and a session recording its events."""
    h = Harness()
    h.receive(FrameType.SABM, pf=True)
    (conn,) = h.accepted
    stream = AX25Stream(conn, "vhf")
    rec = Recorder(stream)
    stream.bind(rec)
    return h, stream, rec


async def test_busy_session_sends_rnr_and_loses_no_line() -> None:
    h, stream, rec = linked()
    h.kinds()
    h.receive(FrameType.I, ns=0, nr=0, info=b"first\rsecond\r")
    await asyncio.sleep(0)  # delivered after the frame's handling, never inside it
    assert [e for e in rec.events if e[0] == "line"] == [("line", "first"), ("line", "second")]
    stream.set_input_paused(True)  # the session is behind
    assert FrameType.RNR in h.kinds()
    # The peer sends anyway: the frame is refused (not acknowledged), so it will retry.
    h.receive(FrameType.I, ns=1, nr=0, info=b"third\r")
    await asyncio.sleep(0)
    assert [e[1] for e in rec.events if e[0] == "line"] == ["first", "second"]
    stream.set_input_paused(False)
    assert FrameType.RR in h.kinds()
    h.receive(FrameType.I, ns=1, nr=0, info=b"third\r")  # its retry
    await asyncio.sleep(0)
    assert [e[1] for e in rec.events if e[0] == "line"] == ["first", "second", "third"]
    # Output: a chunk goes to the link, and ready comes while the window has room.
    stream.write("hello\n")
    assert FrameType.I in h.kinds()
    await rec.wait_for("ready")
    h.station.stop()


async def test_a_link_reset_does_not_lift_the_sessions_busy() -> None:
    # The peer's reset (SABM on a connected link) clears the link's own busy state; the
    # session still holds lines. The next line that comes in sets it again (RNR), where
    # the peer was let run until the session's state changed (review of session 7, L9).
    h, stream, rec = linked()
    h.receive(FrameType.I, ns=0, nr=0, info=b"first\r")
    await asyncio.sleep(0)
    stream.set_input_paused(True)
    assert FrameType.RNR in h.kinds()
    h.receive(FrameType.SABM, pf=True)  # the peer resets the link: busy is forgotten
    assert FrameType.UA in h.kinds()
    h.receive(FrameType.I, ns=0, nr=0, info=b"second\r")
    await asyncio.sleep(0)
    assert [e[1] for e in rec.events if e[0] == "line"] == ["first", "second"]
    assert FrameType.RNR in h.kinds()  # held back again
    h.station.stop()
