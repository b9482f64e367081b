"""LogPace: a few lines at once, then a count (gateway/logpace.py)."""

from __future__ import annotations

from gateway.logpace import LogPace


def test_a_burst_then_silence_then_the_count() -> None:
    now = [0.0]
    pace = LogPace(3, 60.0, lambda: now[0])
    assert [pace.admit() for _ in range(10)] == ["", "", ""] + [None] * 7
    now[0] = 59.9
    assert pace.admit() is None  # still the same window
    now[0] = 60.0
    assert pace.admit() == " (8 more since the last such line)"
    assert pace.admit() == ""  # the count is said once


def test_one_a_window() -> None:
    now = [0.0]
    pace = LogPace(1, 60.0, lambda: now[0])
    assert pace.admit() == ""
    for _ in range(999):
        now[0] += 0.01
        assert pace.admit() is None
    now[0] += 60.0
    assert pace.admit() == " (999 more since the last such line)"
