import pytest
from hypothesis import given
from hypothesis import strategies as st

from radio.beacon import IdBeacon
from radio.dutycycle import DutyCycle


def test_no_id_when_idle() -> None:
    beacon = IdBeacon()
    assert beacon.poll(0.0) == (False, None)
    assert beacon.poll(10_000.0) == (False, None)


def test_id_at_start_every_interval_and_at_end() -> None:
    beacon = IdBeacon(600)
    beacon.transmitted()
    assert beacon.poll(100.0) == (True, None)  # first transmission: identify now
    beacon.transmitted()
    assert beacon.poll(200.0) == (False, 700.0)  # next ID due 600 s after the last
    beacon.transmitted()
    assert beacon.poll(699.9) == (False, 700.0)
    assert beacon.poll(700.0) == (True, None)
    # Quiet after that ID: no more IDs, however long we wait.
    assert beacon.poll(5000.0) == (False, None)
    beacon.transmitted()
    assert beacon.poll(5001.0) == (True, None)


@given(st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=200))
def test_never_more_than_ten_minutes_unidentified(steps: list[tuple[float, bool]]) -> None:
    """Driven by its own wake-ups, the beacon never leaves a transmission unidentified
    for longer than the interval, and never sends an ID without a transmission."""
    beacon, now, wake, unidentified_since = IdBeacon(600), 0.0, None, None
    for gap, tx in steps:
        target = now + gap
        while wake is not None and wake <= target:
            now = wake
            send, wake = beacon.poll(now)
            assert send == (unidentified_since is not None)
            unidentified_since = None if send else unidentified_since
        now = target
        if tx:
            beacon.transmitted()
            unidentified_since = unidentified_since if unidentified_since is not None else now
        send, wake = beacon.poll(now)
        if send:
            unidentified_since = None
        if unidentified_since is not None:
            # Within a rounding error: wake is (first transmission) + 600 in floats.
            assert wake is not None and wake - unidentified_since <= 600 + 1e-9


def test_interval_bounds() -> None:
    with pytest.raises(ValueError):
        IdBeacon(601)
    with pytest.raises(ValueError):
        DutyCycle(0)


def test_duty_cycle_holds_and_releases() -> None:
    duty = DutyCycle(limit=0.1, window=100)  # 10 s of airtime per 100 s
    for i in range(5):
        assert duty.delay(float(i * 2), 2.0) == 0.0
        duty.record(float(i * 2), 2.0)
    assert duty.used(10.0) == 10.0
    wait = duty.delay(10.0, 2.0)
    assert wait == pytest.approx(92.0)  # the first 2 s block must leave the window
    assert duty.delay(10.0 + wait, 2.0) == 0.0
    assert duty.used(1000.0) == 0.0


@given(st.lists(st.floats(0.01, 5), min_size=1, max_size=100))
def test_duty_cycle_never_exceeded(airtimes: list[float]) -> None:
    duty, now, log = DutyCycle(limit=0.2, window=60), 0.0, []
    for airtime in airtimes:
        now += duty.delay(now, airtime)
        duty.record(now, airtime)
        log.append((now, airtime))
        now += airtime
    for start, _ in log:
        on_air = sum(
            max(0.0, min(s + a, start + 60) - max(s, start)) for s, a in log if s < start + 60
        )
        assert on_air <= 0.2 * 60 + 1e-6
