"""AX.25 v2.2: SABME and modulo 128, XID negotiation, selective reject, TEST.

Frame formats are quoted from the AX.25 v2.2 specification (2017 revision) where they
are tested: the XID information field of section 4.3.3.7 and its Figure 4.6.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from radio.ax25.actions import LinkParams, LinkUp, SendFrame, State
from radio.ax25.frame import Address, Frame, FrameType, decode
from radio.ax25.link import Link, no_link_reply
from radio.ax25.segment import Reassembler
from radio.ax25.xid import XidParams, encode_xid, negotiate, parse_xid
from tests.radio.test_ax25_link import A, B, Pair, drop_first, frames_of, from_a_to_b, short

F = FrameType

# Figure 4.6, "Typical XID frame": FI, GI, GL, then PI/PL/PV sets. The 1998 text gave
# the classes of procedures as 00 20; the 2017 revision corrects it to 21 00 (balanced
# ABM 0x01 and half duplex 0x20 in the first octet), as Dire Wolf reads it.
FIGURE_4_6 = bytes.fromhex(
    "82 80 0017"  # FI general purpose, GI parameter negotiation, GL 23 octets
    " 02 02 2100"  # classes of procedures: balanced ABM, half duplex
    " 03 03 86a802"  # optional functions: REJ+SREJ, ext. address; FCS16, TEST, mod 128; sync
    " 06 02 0400"  # I field length receive: 1024 bits (128 octets)
    " 08 01 02"  # window size receive: 2
    " 09 02 1000"  # acknowledge timer: 4096 ms
    " 0a 01 03"  # retries: 3
)

# What Dire Wolf 1.6 on its defaults sends after SABME/UA (xid.c: multi-SREJ offered,
# modulo 128, PACLEN 256, EMAXFRAME 32, FRACK 3 s, RETRY 10).
DIREWOLF_XID = bytes.fromhex(
    "82 80 0017 02 02 2100 03 03 86a822 06 02 0800 08 01 20 09 02 0bb8 0a 01 0a"
)


def sent(actions: list[object]) -> list[Frame]:
    return [a.frame for a in actions if isinstance(a, SendFrame)]


# --- the XID information field ----------------------------------------------------


def test_figure_4_6_parses() -> None:
    assert parse_xid(FIGURE_4_6) == XidParams(
        modulo=128, srej=True, n1=128, window=2, ack_timer_ms=4096, retries=3
    )


def test_figure_4_6_is_what_we_encode_for_its_values_as_a_command() -> None:
    values = XidParams(modulo=128, srej=True, n1=128, window=2, ack_timer_ms=4096, retries=3)
    assert encode_xid(values, command=True) == FIGURE_4_6


def test_a_response_names_one_reject_method() -> None:
    srej = encode_xid(XidParams(modulo=128, srej=True), command=False)
    # PI 3, PL 3, then SREJ + extended address; FCS16 + TEST + modulo 128; sync TX.
    assert srej == bytes.fromhex("82 80 0009 02 02 2100 03 03 84a802")
    rej = encode_xid(XidParams(modulo=8, srej=False), command=False)
    assert rej == bytes.fromhex("82 80 0009 02 02 2100 03 03 82a402")


def test_the_1998_figure_and_empty_or_foreign_fields_parse_to_defaults() -> None:
    old = FIGURE_4_6.replace(bytes.fromhex("02022100"), bytes.fromhex("02020020"))
    assert parse_xid(old).window == 2
    assert parse_xid(b"") == XidParams()
    assert parse_xid(bytes.fromhex("82 80 0000")) == XidParams()  # GL 0: all defaults
    assert parse_xid(bytes.fromhex("81 80 0003 08 01 05")) == XidParams()  # not FI 0x82
    # An unknown PI is skipped; a PL of 0 means "the default".
    assert parse_xid(bytes.fromhex("82 80 0008 04 01 ff 08 00 0a 01 07")) == XidParams(retries=7)


def test_linbpqs_reversed_octet_order_is_understood() -> None:
    # LinBPQ's L2SENDXID: "00 21" and "22 A4 86" (OPMustHave 0x02A080 | OPSREJMult
    # 0x200000 | OPMod8 0x400 | OPSREJ 4 | OPREJ 2), GL 16.
    linbpq = bytes.fromhex("82 80 0010 02 02 0021 03 03 22a486 06 02 0800 08 01 07")
    assert parse_xid(linbpq) == XidParams(modulo=8, srej=True, n1=256, window=7)
    # Its response to a v2.2 command: modulo 8 and multi-SREJ, in its order.
    assert parse_xid(bytes.fromhex("82 80 0005 03 03 22a480")).modulo == 8


@given(st.binary(max_size=64))
def test_parsing_never_raises(data: bytes) -> None:
    params = parse_xid(data)
    assert params.window is None or 1 <= params.window <= 127
    assert params.n1 is None or 1 <= params.n1 <= 2048


def test_negotiation_takes_the_lesser_size_and_the_greater_timer() -> None:
    ours = XidParams(modulo=128, srej=True, n1=256, window=32, ack_timer_ms=3000, retries=10)
    agreed = negotiate(parse_xid(FIGURE_4_6), ours)
    assert agreed == XidParams(
        modulo=128, srej=True, n1=128, window=2, ack_timer_ms=4096, retries=10
    )
    # Nothing offered: the spec's defaults, within our limits.
    assert negotiate(XidParams(), ours) == XidParams(
        modulo=8, srej=False, n1=256, window=4, ack_timer_ms=3000, retries=10
    )
    # A v2.0-only station (our modulo 8) never agrees to modulo 128 nor SREJ.
    v20 = XidParams(modulo=8, srej=False, n1=256, window=4, ack_timer_ms=3000, retries=10)
    assert negotiate(parse_xid(DIREWOLF_XID), v20).modulo == 8


# --- connection setup ---------------------------------------------------------------


def test_sabme_opens_a_modulo_128_link() -> None:
    link = Link(B, A)
    actions = link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    assert frames_of(actions) == ["UA R F"] and LinkUp(incoming=True) in actions
    assert link.modulo == 128 and link.window == 32
    # I frames now have two control octets: N(S) 100 does not fit modulo 8.
    link.send(b"x" * 10, 1.0)
    i_frame = Frame.build(F.I, dest=B, source=A, ns=0, nr=0, info=b"hi", modulo=128)
    actions = link.frame_received(decode(i_frame.encode(), 128), 2.0)
    assert any(getattr(a, "data", None) == b"hi" for a in actions)


def test_a_v20_call_is_unchanged() -> None:
    link = Link(B, A)
    link.frame_received(from_a_to_b(F.SABM, pf=True), 0.0)
    assert link.modulo == 8 and link.window == 4


def test_our_sabme_call_falls_back_to_sabm_on_dm() -> None:
    link = Link(A, B)
    assert [short(f) for f in sent(link.connect(0.0, extended=True))] == ["SABME C P"]
    dm = Frame.build(F.DM, dest=A, source=B, command=False, pf=True)
    assert [short(f) for f in sent(link.frame_received(dm, 1.0))] == ["SABM C P"]
    assert link.state is State.AWAITING_CONNECTION and link.modulo == 8


def test_two_v22_links_exchange_data_across_the_sequence_wrap() -> None:
    pair = Pair(LinkParams(k_extended=16, bit_rate=None))
    pair.connect(extended=True)
    assert pair.a.link.modulo == pair.b.link.modulo == 128
    data = bytes(range(256)) * 160  # 160 frames of 256: N(S) wraps past 127
    pair.do(pair.a, pair.a.link.send(data, pair.now))
    pair.settle()
    assert bytes(pair.b.delivered) == data
    assert max(int(s.split()[2][1:]) for s in pair.a.sent if s.startswith("I ")) == 127


# --- XID ----------------------------------------------------------------------------


def test_xid_after_sabme_is_answered_with_our_values_and_used() -> None:
    link = Link(B, A, params=LinkParams(k_extended=16))
    link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    xid = from_a_to_b(F.XID, pf=True, info=DIREWOLF_XID)
    (reply,) = sent(link.frame_received(xid, 1.0))
    assert short(reply) == "XID R F"
    # Single SREJ (not the multi-SREJ offered), modulo 128, N1 256, our window 16,
    # FRACK 3000 ms, 10 retries: Dire Wolf then uses exactly these.
    assert reply.info == bytes.fromhex(
        "82 80 0017 02 02 2100 03 03 84a802 06 02 0800 08 01 10 09 02 0bb8 0a 01 0a"
    )
    assert link.window == 16 and link.modulo == 128


def test_xid_lowers_our_window_and_paclen() -> None:
    link = Link(B, A)
    link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    link.frame_received(from_a_to_b(F.XID, pf=True, info=FIGURE_4_6), 1.0)
    assert link.window == 2
    frames = sent(link.send(b"z" * 300, 2.0))
    assert [len(f.info) for f in frames] == [128, 128]  # N1 128, window 2


def test_xid_before_sabm_sets_the_link_that_sabm_opens() -> None:
    # LinBPQ's NC on a port with PACLEN 128, MAXFRAME 2: XID (modulo 8), then SABM.
    small = bytes.fromhex("82 80 0010 02 02 0021 03 03 22a486 06 02 0400 08 01 02")
    link = Link(B, A)
    (reply,) = sent(link.frame_received(from_a_to_b(F.XID, pf=True, info=small), 0.0))
    assert short(reply) == "XID R F" and link.state is State.DISCONNECTED
    link.frame_received(from_a_to_b(F.SABM, pf=True), 1.0)
    assert link.modulo == 8 and link.window == 2
    assert [len(f.info) for f in sent(link.send(b"z" * 300, 2.0))] == [128, 128]
    # Values agreed for another modulo do not carry: SABME decides afresh.
    other = Link(B, A)
    other.frame_received(from_a_to_b(F.XID, pf=True, info=small), 0.0)
    other.frame_received(from_a_to_b(F.SABME, pf=True), 1.0)
    assert other.modulo == 128 and other.window == 32


def test_our_v22_call_offers_xid_and_takes_the_lesser_values() -> None:
    pair = Pair(LinkParams(bit_rate=None))
    pair.b.link = Link(B, A, params=LinkParams(k_extended=8, paclen=128, bit_rate=None))
    pair.connect(extended=True)
    assert pair.log[:4] == ["a> SABME C P", "b> UA R F", "a> XID C P", "b> XID R F"]
    assert pair.a.link.window == pair.b.link.window == 8
    pair.do(pair.a, pair.a.link.send(b"q" * 300, pair.now))
    # N1 128 (the callee's PACLEN): 300 bytes in three frames.
    sent_i = [line for line in pair.log if line.startswith("a> I")]
    assert sent_i == ["a> I C S0 R0", "a> I C S1 R0", "a> I C S2 R0"]
    # An XID response we did not ask for changes nothing.
    before = pair.a.link.window
    stray = Frame.build(
        F.XID,
        dest=A,
        source=B,
        command=False,
        pf=True,
        info=encode_xid(XidParams(window=2), command=False),
    )
    pair.a.link.frame_received(stray, pair.now)
    assert pair.a.link.window == before


def test_xid_on_a_v20_link_keeps_modulo_8_and_rej() -> None:
    link = Link(B, A)
    link.frame_received(from_a_to_b(F.SABM, pf=True), 0.0)
    (reply,) = sent(link.frame_received(from_a_to_b(F.XID, pf=True, info=DIREWOLF_XID), 1.0))
    agreed = parse_xid(reply.info)
    assert agreed.modulo == 8 and agreed.srej is False and agreed.window == 4
    assert link.modulo == 8


def test_xid_without_a_link_gets_an_xid_response_never_frmr() -> None:
    reply = no_link_reply(from_a_to_b(F.XID, pf=True, info=DIREWOLF_XID), LinkParams())
    assert reply is not None and short(reply) == "XID R F"
    assert parse_xid(reply.info).modulo == 128
    off = no_link_reply(from_a_to_b(F.XID, pf=True, info=DIREWOLF_XID), LinkParams(v22=False))
    assert off is not None and parse_xid(off.info).modulo == 8
    # An XID response (we never asked) is not answered.
    assert no_link_reply(from_a_to_b(F.XID, command=False, pf=True)) is None


def test_test_is_echoed_with_or_without_a_link() -> None:
    reply = no_link_reply(from_a_to_b(F.TEST, pf=True, info=b"ping"))
    assert reply is not None and short(reply) == "TEST R F" and reply.info == b"ping"
    link = Link(B, A)
    link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    (echo,) = sent(link.frame_received(from_a_to_b(F.TEST, info=b"pong"), 1.0))
    assert short(echo) == "TEST R" and echo.info == b"pong"


# --- selective reject -----------------------------------------------------------------


def test_a_lost_i_frame_is_asked_for_with_srej_and_resent_alone() -> None:
    pair = Pair(LinkParams(k_extended=8, bit_rate=None))
    pair.connect(extended=True)
    pair.drop = drop_first(lambda sender, frame: frame.kind is F.I and frame.ns == 2)
    data = bytes(range(256)) * 7  # 7 frames, all in one window
    pair.do(pair.a, pair.a.link.send(data, pair.now))
    pair.settle()
    assert bytes(pair.b.delivered) == data
    assert "b> SREJ R F R2" in pair.log  # N(R) = V(R): F=1 also acknowledges 0 and 1
    resent = [line for line in pair.log if line.startswith("a> I ")]
    assert len(resent) == 7 + 1  # only frame 2 went twice, no go-back-N
    assert not any(line.startswith("b> REJ") for line in pair.log)


def test_two_gaps_get_one_srej_each() -> None:
    link = Link(B, A)
    link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)

    def i_frame(ns: int, pf: bool = False) -> Frame:
        return from_a_to_b(F.I, ns=ns, nr=0, pf=pf, info=bytes([ns]), modulo=128)

    assert frames_of(link.frame_received(i_frame(0), 1.0)) == []
    assert frames_of(link.frame_received(i_frame(2), 2.0)) == ["SREJ R F R1"]
    assert frames_of(link.frame_received(i_frame(3), 3.0)) == []  # same gap: asked already
    assert frames_of(link.frame_received(i_frame(6), 4.0)) == ["SREJ R R4", "SREJ R R5"]
    # A poll while gaps remain is answered with SREJ for each of them.
    assert frames_of(link.frame_received(i_frame(7, pf=True), 5.0)) == [
        "SREJ R F R1",
        "SREJ R R4",
        "SREJ R R5",
    ]
    delivered: list[bytes] = []
    for ns in (1, 4, 5):
        actions = link.frame_received(i_frame(ns), 6.0 + ns)
        delivered += [a.data for a in actions if hasattr(a, "data")]
    assert delivered == [bytes([n]) for n in (1, 2, 3, 4, 5, 6, 7)]


def test_v22_off_keeps_the_v20_answers() -> None:
    link = Link(B, A, params=LinkParams(v22=False))
    assert frames_of(link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)) == ["DM R F"]
    assert link.state is State.DISCONNECTED


def test_replies_keep_the_callers_address() -> None:
    reply = no_link_reply(from_a_to_b(F.TEST, pf=True, info=b"x"))
    assert reply is not None and reply.is_response
    assert reply.dest.same_station(A) and reply.source.same_station(Address("N0BBB", 7))


# --- segmentation (receive side) ---------------------------------------------------


def test_segments_are_joined_as_dire_wolf_sends_them() -> None:
    # Dire Wolf on a v2.2 link, 1024 bytes handed over with PACLEN 256: PID 0x08, the
    # first segment "0x84 0xF0 ..." (first, 4 to come, then the PID of the whole).
    data = bytes(range(256)) * 4
    chunks = [data[:254], data[254:509], data[509:764], data[764:1019], data[1019:]]
    link = Link(B, A)
    link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    delivered: list[bytes] = []
    for ns, chunk in enumerate(chunks):
        head = bytes([0x80 | 4, 0xF0]) if ns == 0 else bytes([4 - ns])
        i_frame = from_a_to_b(F.I, ns=ns, nr=0, pid=0x08, info=head + chunk, modulo=128)
        actions = link.frame_received(i_frame, 1.0 + ns)
        delivered += [a.data for a in actions if hasattr(a, "data")]
    assert delivered == [data]


def test_a_segment_out_of_order_drops_the_partial_data() -> None:
    r = Reassembler()
    assert r.feed(bytes([0x82, 0xF0]) + b"ab") is None
    assert r.feed(bytes([0x00]) + b"zz") is None  # 1 was due, not 0
    assert r.feed(bytes([0x01]) + b"cd") is None  # nothing begun any more
    assert r.feed(bytes([0x81, 0xF0]) + b"ab") is None
    assert r.feed(bytes([0x00]) + b"cd") == b"abcd"
    assert r.feed(b"") is None and r.feed(bytes([0x80])) is None


def test_srej_on_a_modulo_8_link_is_honoured() -> None:
    # LinBPQ after an XID exchange runs "2.2 modulo 8": it asks for a lost frame with
    # SREJ (its RR_OR_RNR) on a SABM link. We resend that frame alone.
    link = Link(B, A, params=LinkParams(bit_rate=None))
    link.frame_received(from_a_to_b(F.SABM, pf=True), 0.0)
    assert [f.ns for f in sent(link.send(bytes(256 * 3), 1.0))] == [0, 1, 2]
    srej = from_a_to_b(F.SREJ, command=False, pf=True, nr=1)
    (again,) = sent(link.frame_received(srej, 2.0))
    assert short(again) == "I C S1 R0" and link.outstanding == 2  # F=1: 0 acknowledged


def test_a_resend_still_missing_after_it_was_off_the_air_goes_again_at_once() -> None:
    # Issue 21's 10 % rig run: Dire Wolf asked for frame 30 with SREJ, our resend was
    # lost too, and its next RR still said N(R) 30; we waited ~5 s for T1 and a poll.
    link = Link(B, A, params=LinkParams(bit_rate=1200, tx_delay=0.3))
    link.frame_received(from_a_to_b(F.SABME, pf=True), 0.0)
    assert [f.ns for f in sent(link.send(bytes(256 * 4), 1.0))] == [0, 1, 2, 3]  # ~8.8 s

    def s_frame(kind: FrameType, nr: int, at: float) -> list[str]:
        frame = from_a_to_b(kind, command=False, nr=nr, modulo=128)
        return frames_of(link.frame_received(frame, at))

    assert s_frame(F.SREJ, 1, 10.0) == ["I C S1 R0"]  # off the air at about 12.2 s
    # Begun before our resend ended: the peer may not have heard it yet.
    assert s_frame(F.RR, 1, 12.0) == []
    assert s_frame(F.RR, 1, 15.0) == ["I C S1 R0"]  # heard and lost: again, no T1 wait
    assert s_frame(F.RR, 1, 15.5) == []  # once per resend
    # Frames never resent are left to SREJ and T1 (the peer holds what follows a gap).
    assert s_frame(F.RR, 2, 20.0) == []
    assert s_frame(F.RR, 4, 21.0) == [] and link.outstanding == 0
