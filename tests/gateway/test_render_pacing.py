import math

from hypothesis import given
from hypothesis import strategies as st

from gateway.session.pacing import Pacer
from gateway.session.render import encode_text, to_ascii


def test_ascii_folding() -> None:
    assert to_ascii("Café Zürich") == "Cafe Zurich"
    assert to_ascii("tab\there") == "tab here"
    assert to_ascii("日本\x00\x1b[31m") == "????[31m"
    assert encode_text("a\nb") == b"a\r\nb"
    assert encode_text("a\r\nb", eol=b"\r") == b"a\rb"


@given(st.text())
def test_output_is_printable_ascii(text: str) -> None:
    data = encode_text(text)
    assert all(32 <= b < 127 or b in (10, 13) for b in data)
    assert 0xFF not in data


def test_pacer_spaces_packets_at_the_byte_rate() -> None:
    pacer = Pacer(bytes_per_second=100, packet_bytes=50)
    pacer.push(b"x" * 120)
    sent, now = [], 10.0
    while pacer.pending:
        packet, wait = pacer.next_packet(now)
        if packet:
            sent.append((now, len(packet)))
        now += wait if wait != math.inf else 0
    assert sent == [(10.0, 50), (10.5, 50), (11.0, 20)]
    assert pacer.next_packet(now) == (b"", math.inf)


def test_pacer_idle_link_sends_at_once_and_cancel_drops() -> None:
    pacer = Pacer(100, 10)
    pacer.push(b"a" * 25)
    assert pacer.next_packet(0.0)[0] == b"a" * 10
    assert pacer.next_packet(0.05) == (b"", 0.05)  # too early: wait
    assert pacer.cancel() == 15 and pacer.pending == 0
    pacer.push(b"b")
    assert pacer.next_packet(100.0) == (b"b", math.inf)


def test_pacer_lets_a_burst_go_at_once_then_paces() -> None:
    pacer = Pacer(bytes_per_second=100, packet_bytes=50, burst_bytes=200)
    pacer.push(b"x" * 300)
    sent = []
    for _ in range(4):
        packet, wait = pacer.next_packet(0.0)
        sent.append(len(packet))
    assert sent == [50, 50, 50, 50] and wait == 0.5  # a page at once, then the rate
    assert pacer.next_packet(0.25) == (b"", 0.25)
    assert len(pacer.next_packet(0.5)[0]) == 50
    assert pacer.busy_for(0.5) == 0.5
    assert pacer.busy_for(100.0) == 0.0  # after a pause the whole burst is free again
