"""The station multiplexer with a fake TNC: routing, limits, the kill switch, the ID."""

from __future__ import annotations

import pytest

from radio.ax25 import Address, Frame, FrameType, LinkParams, Timer, decode
from radio.ax25.xid import XidParams, parse_xid
from radio.station import Connection, Station, StationParams

GW = Address("N0GW", 10)
USER = Address("N0USR", 5)
DIGI = Address("WIDE1", 1)


class Harness:
    def __init__(self, **kwargs: object) -> None:
        self.sent: list[Frame] = []
        self.accepted: list[Connection] = []
        self.data: list[bytes] = []
        self.closed: list[str] = []
        #: How the peer decodes what we send (128 once a v2.2 link is up).
        self.modulo = 8
        params = StationParams(mycall=GW, link=LinkParams(bit_rate=None), **kwargs)  # type: ignore[arg-type]
        self.station = Station(params, self._transmit, self._accept, name="test")

    def _transmit(self, payload: bytes) -> bool:
        self.sent.append(decode(payload, self.modulo))
        return True

    def _accept(self, conn: Connection) -> None:
        self.accepted.append(conn)
        conn.on_data = self.data.append
        conn.on_close = self.closed.append

    def receive(self, kind: FrameType, source: Address = USER, **fields: object) -> None:
        fields.setdefault("modulo", self.modulo)
        frame = Frame.build(kind, dest=GW, source=source, **fields)  # type: ignore[arg-type]
        self.station.frame_received(frame.encode())

    def kinds(self) -> list[FrameType]:
        out = [f.kind for f in self.sent]
        self.sent.clear()
        return out


async def test_accept_data_and_disconnect() -> None:
    h = Harness()
    h.receive(FrameType.SABM, pf=True)
    assert h.kinds() == [FrameType.UA]  # no ID at the start: the caller would wait for it
    (conn,) = h.accepted
    assert conn.remote == USER and conn.path == ()
    h.receive(FrameType.I, ns=0, nr=0, info=b"hello\r")
    assert h.data == [b"hello\r"]
    conn.send(b"answer\r")
    assert FrameType.I in h.kinds()
    h.receive(FrameType.DISC, pf=True)
    ua, ident = h.sent
    assert ua.kind is FrameType.UA and ident.kind is FrameType.UI  # the end: our ID
    assert ident.dest.call == "ID" and ident.info == b"N0GW-10"
    assert h.closed and h.station.links == 0
    h.station.stop()


def on_a_clock(h: Harness) -> list[float]:
    """Give the station an injected clock; the test moves it and fires the ID wake-up."""
    clock = [1000.0]
    h.station.now = lambda: clock[0]
    return clock


async def test_the_id_over_a_long_session_played_on_a_clock() -> None:
    """A 25-minute chat, a line each way every 30 s: no ID after the UA, one at least
    every 10 minutes riding on a batch of ours (never between two of its I frames), and
    one right after the UA that ends the link."""
    h = Harness()
    clock = on_a_clock(h)
    log: list[tuple[float, Frame]] = []

    def step() -> None:
        log.extend((clock[0], frame) for frame in h.sent)
        h.sent.clear()

    h.receive(FrameType.SABM, pf=True)
    step()
    (conn,) = h.accepted
    ours = 0
    for i in range(50):
        clock[0] += 30.0
        h.station._beacon_fired()  # the wake-up, as the event loop would call it
        h.receive(FrameType.I, ns=i % 8, nr=ours % 8, pf=True, info=b"a line\r")
        conn.send(b"x" * 600)  # three I frames
        ours += 3
        step()
        h.receive(FrameType.RR, nr=ours % 8, command=False)
        step()
    clock[0] += 30.0
    h.receive(FrameType.DISC, pf=True)
    step()
    kinds = [frame.kind for _, frame in log]
    assert kinds[:2] == [FrameType.UA, FrameType.RR]  # no ID after the first UA
    assert kinds[-2:] == [FrameType.UA, FrameType.UI]  # the end
    ids = [t for t, frame in log if frame.kind is FrameType.UI]
    assert len(ids) == 3  # 1,540 s of transmitting: two on the way, one at the end
    # Every frame we sent was identified within 600 s.
    for sent_at, frame in log:
        if frame.kind is not FrameType.UI:
            assert any(sent_at <= t <= sent_at + 600 for t in ids), sent_at
    # Never inside a burst: the frame before an ID is the last of its batch.
    for n, kind in enumerate(kinds):
        if kind is FrameType.UI and n + 1 < len(kinds):
            assert not (kinds[n - 1] is FrameType.I and kinds[n + 1] is FrameType.I)
    h.station.stop()


async def test_refusals_with_no_link_are_identified_once_quiet() -> None:
    h = Harness()
    clock = on_a_clock(h)
    h.receive(FrameType.RR, source=Address("K2ABC"), pf=True)
    clock[0] += 4.0
    h.receive(FrameType.RR, source=Address("K2ABC"), pf=True)
    assert h.kinds() == [FrameType.DM, FrameType.DM]
    clock[0] += 9.9
    h.station._beacon_fired()
    assert h.kinds() == []  # not quiet long enough yet
    clock[0] += 0.1
    h.station._beacon_fired()
    assert h.kinds() == [FrameType.UI]  # one ID for both
    clock[0] += 3600.0
    h.station._beacon_fired()
    assert h.kinds() == []  # silent: nothing more
    h.station.stop()


async def test_a_sabm_flood_draws_no_id_per_forged_frame() -> None:
    """Radio-side review, finding 3: each forged SABM that evicted a link for the
    newcomer drew UA, DM and an ID. Now the links that end within 30 s of an ID share
    the next one."""
    h = Harness(max_links=2)
    clock = on_a_clock(h)

    def make_room() -> bool:
        next(c for c in h.accepted if not c.closed).drop("dropped for a newcomer")
        return True

    h.station.make_room = make_room
    for i in range(100):  # ten a second, each from a new callsign
        clock[0] += 0.1
        h.receive(FrameType.SABM, source=Address(f"K{i:03d}X"))
        h.station._beacon_fired()  # every wake-up the loop would run, and more
    kinds = h.kinds()
    assert kinds.count(FrameType.UA) == 100 and kinds.count(FrameType.DM) == 98
    assert kinds.count(FrameType.UI) == 1  # the first end (the third SABM's), at once
    clock[0] = 1000.3 + 29.8
    h.station._beacon_fired()
    assert h.kinds() == []
    clock[0] = 1000.3 + 30.1
    h.station._beacon_fired()
    assert h.kinds() == [FrameType.UI]  # one for the 97 ends since
    clock[0] += 1.0
    h.receive(FrameType.SABM, source=Address("K1LAST"))
    assert h.kinds() == [FrameType.DM, FrameType.UA]
    h.station.stop()
    assert h.kinds() == [FrameType.UI]  # stopping: no later, so at once


async def test_stopping_sends_the_end_id_if_one_is_due() -> None:
    h = Harness()
    h.receive(FrameType.SABM, pf=True)
    assert h.kinds() == [FrameType.UA]
    h.station.stop()  # a peer that never answered our DISC: dropped, then identified
    assert h.kinds() == [FrameType.UI]
    h.station.stop()
    assert h.kinds() == []


async def test_digipeated_path_and_reply_path() -> None:
    h = Harness()
    frame = Frame.build(FrameType.SABM, dest=GW, source=USER, digis=(DIGI.with_bit(True),))
    h.station.frame_received(frame.encode())
    ua = h.sent[0]
    assert ua.kind is FrameType.UA and ua.digis == (DIGI,)  # reversed, H cleared
    # Heard before the digipeater repeated it: not for us yet.
    h.sent.clear()
    early = Frame.build(FrameType.SABM, dest=GW, source=Address("K1ABC"), digis=(DIGI,))
    h.station.frame_received(early.encode())
    assert h.sent == []
    h.station.stop()


async def test_limits_garbage_and_strangers() -> None:
    h = Harness(max_links=1)
    h.receive(FrameType.SABM)
    h.kinds()
    h.receive(FrameType.SABM, source=Address("K1ABC"))
    assert h.kinds() == [FrameType.DM]  # full
    h.receive(FrameType.RR, source=Address("K2ABC"), pf=True)
    assert h.kinds() == [FrameType.DM]  # no link
    h.station.frame_received(b"\x00garbage")
    assert h.station.stats.malformed == 1
    other = Frame.build(FrameType.SABM, dest=Address("OTHER"), source=USER)
    h.station.frame_received(other.encode())
    assert h.sent == [] and h.station.links == 1
    h.station.stop()


async def test_our_own_frames_heard_back_get_no_answer() -> None:
    """Radio-side review, finding 6: a SABM from our own callsign (a digipeater's echo,
    a forged source) opened a link with ourselves and a Code: prompt."""
    h = Harness()
    for kind in (FrameType.SABM, FrameType.TEST, FrameType.RR):
        h.receive(kind, source=GW)
    assert h.sent == [] and h.station.links == 0 and h.accepted == []
    h.receive(FrameType.SABM, source=Address("N0GW", 9))  # another SSID is another station
    assert h.kinds() == [FrameType.UA]
    h.station.stop()


async def test_kill_switch_silences_and_refuses() -> None:
    h = Harness()
    h.receive(FrameType.SABM)
    (conn,) = h.accepted
    h.kinds()
    h.station.set_transmit(False)
    assert h.kinds() == [FrameType.UI]  # the end of the link's communication: its ID, last
    assert h.closed == ["transmitter switched off"] and h.station.links == 0
    conn.send(b"nothing goes out\r")
    h.receive(FrameType.I, ns=0, nr=0, info=b"x")
    assert h.kinds() == [FrameType.DM]  # no link any more; only the refusal
    h.receive(FrameType.SABM, source=Address("K1ABC"), pf=True)
    assert h.kinds() == [FrameType.DM]
    h.station.set_transmit(True)
    h.receive(FrameType.SABM, source=Address("K1ABC"))
    assert h.kinds()[0] is FrameType.UA
    h.station.stop()


async def test_duty_cycle_holds_i_frames_and_counts_the_id() -> None:
    h = Harness(duty_cycle=0.001, duty_window=600)  # 0.6 s of air per 10 min
    h.receive(FrameType.SABM)
    (conn,) = h.accepted
    conn.send(b"x" * 200)
    (ua,) = h.sent
    assert ua.kind is FrameType.UA
    assert len(h.station._held) == 1  # held back, not dropped
    h.sent.clear()
    h.receive(FrameType.DISC, pf=True)
    ua_disc, ident = h.sent
    assert ua_disc.kind is FrameType.UA and ident.kind is FrameType.UI  # both go out
    duty = h.station._duty
    assert duty is not None
    # The ID counts against the limit: the UAs and the ID, each with TXDELAY, are on the books.
    assert duty.used(h.station.now()) == pytest.approx(
        h.station._airtime(ua) + h.station._airtime(ua_disc) + h.station._airtime(ident)
    )
    h.station.stop()


async def test_a_polled_link_survives_the_duty_cycle_limit() -> None:
    """Held I frames do not hold the link's answers back: every poll of the peer gets
    its RR F=1 at once, and our own T1 waits for the held frames instead of polling the
    peer N2 times and giving up."""
    h = Harness(duty_cycle=0.001, duty_window=600)
    h.receive(FrameType.SABM, pf=True)
    (conn,) = h.accepted
    conn.send(b"y" * 600)  # three I frames, all held
    h.sent.clear()
    n2 = h.station.params.link.n2
    for _ in range(n2 + 2):  # more polls than it takes a caller to give up
        h.receive(FrameType.RR, pf=True, nr=0)
        (answer,) = h.sent
        assert answer.kind is FrameType.RR and answer.pf and answer.is_response
        h.sent.clear()
    key = (USER.call, USER.ssid)
    for _ in range(n2 + 2):  # our T1 expiring, again and again, while frames are held
        h.station._cancel_timer(key, Timer.T1)
        h.station._timer_fired(key, Timer.T1)
    assert h.sent == [] and h.closed == [] and conn.link.connected
    assert (key, Timer.T1) in h.station._timers  # it waits for the release instead
    assert len(h.station._held) == 3 and h.station.stats.dropped_duty == 0
    h.station.stop()


async def test_frames_held_for_a_link_that_dropped_are_discarded() -> None:
    h = Harness(duty_cycle=0.001, duty_window=600)
    h.receive(FrameType.SABM)
    h.receive(FrameType.SABM, source=Address("K1ABC"))
    first, second = h.accepted
    first.send(b"a" * 300)
    second.send(b"b" * 10)
    assert len(h.station._held) == 3
    h.sent.clear()
    h.receive(FrameType.DISC, pf=True)  # the first link ends
    assert h.kinds() == [FrameType.UA, FrameType.UI]  # answered at once, then our ID
    assert [frame.dest.call for _, frame in h.station._held] == ["K1ABC"]
    h.station.stop()


async def test_close_is_a_clean_disc_however_often_it_is_asked() -> None:
    h = Harness()
    h.receive(FrameType.SABM)
    (conn,) = h.accepted
    h.kinds()
    conn.close()
    conn.close()
    assert h.kinds() == [FrameType.DISC]  # once, and no DM giving up
    h.receive(FrameType.UA, pf=True, command=False)
    assert h.closed and h.station.links == 0
    h.station.stop()


async def test_a_bug_on_one_link_drops_only_that_link() -> None:
    h = Harness()
    other = Address("N0OTH", 1)
    h.receive(FrameType.SABM, pf=True)
    h.receive(FrameType.SABM, source=other, pf=True)
    first, second = h.accepted

    def broken(data: bytes) -> None:
        raise RuntimeError("a bug in the application")

    first.on_data = broken
    h.kinds()
    h.receive(FrameType.I, ns=0, nr=0, info=b"boom\r")  # logged, DM, that link gone
    assert FrameType.DM in h.kinds()
    assert first.closed and h.closed == ["internal error"]
    assert h.station.stats.failed_links == 1 and h.station.links == 1
    h.receive(FrameType.I, source=other, ns=0, nr=0, info=b"still here\r")
    assert h.data[-1] == b"still here\r" and not second.closed
    h.station.stop()


# The XID command LinBPQ's NC sends before its SABM (L2SENDXID in LinBPQ's L2Code.c):
# half duplex, REJ + SREJ + multi-SREJ, modulo 8, N1 256, window 7, with PI 2 and PI 3
# in LinBPQ's own octet order (the reverse of the spec's Figure 4.6).
LINBPQ_XID = bytes.fromhex("82 80 0010 02 02 0021 03 03 22a486 06 02 0800 08 01 07")


async def test_linbpq_nc_xid_then_xid_and_sabm_ends_connected() -> None:
    """LinBPQ's NC: XID; no answer within its 3 s FRACK, so a second XID goes out in one
    transmission with the SABM. Each XID gets an XID response (an FRMR would make
    LinBPQ send DM and tell its user "Disconnected"), the SABM a UA."""
    h = Harness()
    h.receive(FrameType.XID, pf=True, info=LINBPQ_XID)
    first = [f for f in h.sent if f.kind is not FrameType.UI]  # the ID may follow
    assert [(f.kind, f.pf, f.is_response) for f in first] == [(FrameType.XID, True, True)]
    assert parse_xid(first[0].info) == XidParams(
        modulo=8, srej=False, n1=256, window=4, ack_timer_ms=3000, retries=10
    )
    h.sent.clear()
    h.receive(FrameType.XID, pf=True, info=LINBPQ_XID)
    h.receive(FrameType.SABM, pf=True)
    assert [f.kind for f in h.sent if f.kind is not FrameType.UI] == [FrameType.XID, FrameType.UA]
    assert FrameType.FRMR not in h.kinds()
    (conn,) = h.accepted
    assert conn.link.connected and conn.link.modulo == 8
    h.receive(FrameType.I, ns=0, nr=0, info=b"hello\r")
    assert h.data == [b"hello\r"]
    h.station.stop()


# LinBPQ's NC on a port set to PACLEN 128 and MAXFRAME 2: N1 1024 bits, window 2.
LINBPQ_XID_SMALL = bytes.fromhex("82 80 0010 02 02 0021 03 03 22a486 06 02 0400 08 01 02")


async def test_the_values_of_an_xid_before_sabm_apply_to_the_link_it_opens() -> None:
    h = Harness()
    clock = [100.0]
    h.station.now = lambda: clock[0]
    h.receive(FrameType.XID, pf=True, info=LINBPQ_XID_SMALL)
    (answer,) = [f for f in h.sent if f.kind is FrameType.XID]
    assert parse_xid(answer.info).window == 2 and parse_xid(answer.info).n1 == 128
    h.receive(FrameType.XID, pf=True, info=LINBPQ_XID_SMALL)
    h.receive(FrameType.SABM, pf=True)
    (conn,) = h.accepted
    assert conn.link.connected and conn.link.window == 2
    h.sent.clear()
    conn.send(b"z" * 300)
    assert [len(f.info) for f in h.sent if f.kind is FrameType.I] == [128, 128]
    h.receive(FrameType.DISC, pf=True)
    assert h.station.links == 0
    # Remembered for one link only, and not for long: a later SABM gets our defaults.
    h.receive(FrameType.SABM, pf=True)
    assert h.accepted[-1].link.window == 4
    h.receive(FrameType.DISC, pf=True)
    h.receive(FrameType.XID, pf=True, info=LINBPQ_XID_SMALL)
    clock[0] += 61.0
    h.receive(FrameType.SABM, pf=True)
    assert h.accepted[-1].link.window == 4
    h.station.stop()


async def test_xid_memory_is_bounded() -> None:
    h = Harness()
    for ssid in range(16):
        for digit in range(5):
            h.receive(FrameType.XID, source=Address(f"N{digit}X", ssid), pf=True, info=LINBPQ_XID)
    assert len(h.station._xid_agreed) == 64
    h.station.stop()


async def test_dire_wolf_default_call_opens_a_v22_link() -> None:
    h = Harness()
    h.receive(FrameType.SABME, pf=True)
    assert h.kinds()[0] is FrameType.UA
    (conn,) = h.accepted
    assert conn.link.modulo == 128
    h.modulo = 128
    h.receive(FrameType.I, ns=0, nr=0, pf=True, info=b"v2.2\r")
    assert h.data == [b"v2.2\r"]
    (rr,) = h.sent
    assert rr.kind is FrameType.RR and rr.pf and rr.nr == 1 and rr.modulo == 128
    h.station.stop()


async def test_v22_off_refuses_sabme_with_dm() -> None:
    h = Harness()
    h.station.params = StationParams(mycall=GW, link=LinkParams(bit_rate=None, v22=False))
    h.receive(FrameType.SABME, pf=True)
    assert h.kinds()[0] is FrameType.DM and h.station.links == 0  # then the ID
    h.station.stop()


async def test_a_test_frame_longer_than_paclen_is_answered_without_its_payload() -> None:
    """Radio-side review, finding 7: a forged 300-byte TEST came back whole (316 bytes,
    over paclen); what fits is still echoed, as the SDL has it."""
    h = Harness()
    h.receive(FrameType.TEST, info=b"ping", pf=True)
    h.receive(FrameType.TEST, info=b"x" * 300, pf=True)
    assert [(f.kind, f.info) for f in h.sent] == [(FrameType.TEST, b"ping"), (FrameType.TEST, b"")]
    h.sent.clear()
    h.receive(FrameType.SABM)
    h.sent.clear()
    h.receive(FrameType.TEST, info=b"x" * 300, pf=True)  # on a link too
    assert [(f.kind, f.info) for f in h.sent] == [(FrameType.TEST, b"")]
    h.station.stop()
