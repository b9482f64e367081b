"""Tests for radio.ax25.timers: airtime, the adaptive T1 estimator, the on-air clock."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radio.ax25.timers import BACKOFF_STEP, T1Estimator, TxClock, airtime, stuffed_bits


def test_airtime_counts_fcs_and_flags() -> None:
    # A 256-octet I frame with 16 octets of header: about 1.84 s at 1200 bit/s.
    assert airtime(272, 1200) == pytest.approx((272 + 4) * 8 / 1200)
    assert airtime(15, 9600) == pytest.approx(19 * 8 / 9600)


def test_t1_starts_at_frack_scaled_by_hops() -> None:
    assert T1Estimator(3.0, 0).t1v == 3.0
    assert T1Estimator(3.0, 2).t1v == 15.0  # 3 s * (2 * 2 + 1), as Dire Wolf does


def test_t1_follows_round_trips_within_bounds() -> None:
    est = T1Estimator(3.0, 0)
    for _ in range(50):
        est.measured(2.0)
    assert est.srt == pytest.approx(2.0, abs=0.01)
    assert est.t1v == pytest.approx(2 * est.srt)
    for _ in range(50):
        est.measured(0.0)
    assert est.srt == 1.0  # floor: one second (plus two per hop)
    for _ in range(50):
        est.measured(100.0)
    assert est.t1v == est.ceiling == 6.0
    est.reset()
    assert est.t1v == 3.0


def test_t1_backs_off_linearly() -> None:
    est = T1Estimator(3.0, 0)
    est.backoff(4)
    assert est.t1v == pytest.approx(3.0 + 4 * BACKOFF_STEP)


@given(st.lists(st.floats(min_value=-10, max_value=1e6), max_size=50))
def test_t1_stays_bounded(samples: list[float]) -> None:
    est = T1Estimator(3.0, 1)
    for sample in samples:
        est.measured(sample)
        assert 2 * est.floor <= est.t1v <= est.ceiling


def test_tx_clock_queues_frames_back_to_back() -> None:
    clock = TxClock(1200, tx_delay=0.3)
    assert clock.done_at(5.0) == 5.0
    clock.sent(146, 10.0)  # (146 + 4) * 8 / 1200 = 1 s, after a 0.3 s keyup
    assert clock.done_at(10.0) == pytest.approx(11.3)
    clock.sent(146, 10.5)  # joins the same transmission
    assert clock.done_at(10.5) == pytest.approx(12.3)
    clock.delay(2.0, 11.0)  # someone else held the channel
    assert clock.done_at(11.0) == pytest.approx(14.3)
    clock.sent(146, 20.0)  # idle again: a new keyup
    assert clock.done_at(20.0) == pytest.approx(21.3)
    clock.delay(1.0, 30.0)  # nothing of ours was waiting
    assert clock.done_at(30.0) == 30.0


def test_tx_clock_disabled_without_bit_rate() -> None:
    clock = TxClock(None, tx_delay=0.3)
    clock.sent(1000, 1.0)
    clock.delay(5.0, 1.0)
    assert clock.done_at(1.0) == 1.0


def test_stuffed_bits_count_each_run_of_five_ones_once() -> None:
    assert stuffed_bits(b"") == 0 and stuffed_bits(b"ABC") == 0  # text: no long runs
    assert stuffed_bits(b"\x1f") == 1  # five ones, least significant first
    assert stuffed_bits(b"\xff") == 1  # eight ones: one zero after the first five
    assert stuffed_bits(b"\xff\x03") == 2  # the run goes on across octets: 5 + 5
    assert stuffed_bits(b"\xff" * 5) == 8  # 40 ones
    assert airtime(10, 1200, stuffed=6) == pytest.approx((14 * 8 + 6) / 1200)
