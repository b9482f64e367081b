import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from radio.beacon import END_GAP, IdBeacon
from radio.dutycycle import DutyCycle


def test_no_id_when_idle() -> None:
    beacon = IdBeacon()
    assert beacon.poll(0.0, linked=False) == (False, None)
    assert beacon.poll(10_000.0, linked=True, after_sending=True) == (False, None)


def test_none_after_the_ua_then_at_the_end_of_the_link() -> None:
    beacon = IdBeacon(600)
    beacon.transmitted(100.0)  # the UA that opens a link
    assert beacon.poll(100.0, linked=True, after_sending=True) == (False, 700.0)
    beacon.transmitted(130.0)  # I frames, RRs: the link goes on
    assert beacon.poll(130.0, linked=True, after_sending=True) == (False, 700.0)
    beacon.ended()  # the UA to the caller's DISC
    assert beacon.poll(131.0, linked=False, after_sending=True) == (True, None)
    # Identified, then silent: no more IDs, however long we wait.
    assert beacon.poll(5000.0, linked=False) == (False, None)


def test_at_least_every_interval_during_a_long_session() -> None:
    """A link busy for an hour, one batch every 25 s: each ID rides on a batch in the
    last tenth of the interval (never two batches without one past the deadline)."""
    beacon, ids, first = IdBeacon(600), [], 0.0
    for step in range(144):
        now = step * 25.0
        beacon.transmitted(now)
        send, wake = beacon.poll(now, linked=True, after_sending=True)
        if send:
            ids.append(now)
            first = now + 25.0  # the next batch is the next one to identify
        else:
            assert wake == first + 600
    assert ids == [550.0 + 575.0 * i for i in range(6)]  # 550, 1125, 1700, ...
    assert all(later - earlier <= 600 for earlier, later in zip([0.0, *ids], ids, strict=False))


def test_the_deadline_holds_when_nothing_else_goes_out() -> None:
    beacon = IdBeacon(600)
    beacon.transmitted(0.0)
    assert beacon.poll(0.0, linked=True, after_sending=True) == (False, 600.0)
    assert beacon.poll(539.0, linked=True) == (False, 600.0)  # not early without a batch
    assert beacon.poll(600.0, linked=True) == (True, None)  # on its own, at the mark


def test_quiet_ends_what_was_no_link() -> None:
    beacon = IdBeacon(600, quiet=10.0)
    beacon.transmitted(50.0)  # a DM to a stranger
    assert beacon.poll(50.0, linked=False, after_sending=True) == (False, 60.0)
    beacon.transmitted(53.0)  # its retry, refused again
    assert beacon.poll(53.0, linked=False, after_sending=True) == (False, 63.0)
    assert beacon.poll(63.0, linked=False) == (True, None)  # one ID for both
    # An XID answered, then the SABM it announced within the quiet spell: no ID yet.
    beacon.transmitted(100.0)
    assert beacon.poll(100.0, linked=False, after_sending=True) == (False, 110.0)
    beacon.transmitted(104.0)  # the UA
    assert beacon.poll(104.0, linked=True, after_sending=True) == (False, 700.0)


@given(st.lists(st.tuples(st.floats(0, 100), st.sampled_from("-tule")), max_size=200))
@example([(0.0, "u"), (5.0, "e"), (5.0, "u"), (5.0, "e"), (40.0, "-")])  # an end in the gap
def test_never_more_than_ten_minutes_unidentified(steps: list[tuple[float, str]]) -> None:
    """Driven by its own wake-ups, through random transmissions (t), links coming up (u)
    and ending (e): a transmission is never unidentified longer than the interval, an ID
    never goes out without one, none goes out after the first UA of a link, and a link's
    end is identified at once, or `END_GAP` after the last ID if that is later."""
    beacon, now, wake, unidentified_since, linked = IdBeacon(600), 0.0, None, None, False
    last_id, end_waits = -1e9, False
    for gap, event in steps:
        target = now + gap
        while wake is not None and wake <= target:
            now = wake
            send, wake = beacon.poll(now, linked=linked)
            assert send == (unidentified_since is not None)
            if send:
                unidentified_since, last_id, end_waits = None, now, False
        now = target
        if event in "tu":
            opening = event == "u" and not linked and unidentified_since is None
            linked = linked or event == "u"
            beacon.transmitted(now)
            unidentified_since = unidentified_since if unidentified_since is not None else now
            send, wake = beacon.poll(now, linked=linked, after_sending=True)
            assert not (opening and send)
        elif event == "e" and linked:
            linked = False
            beacon.ended()
            send, wake = beacon.poll(now, linked=linked)
            if unidentified_since is not None and now >= last_id + END_GAP:
                assert send
            end_waits = unidentified_since is not None and not send
        else:
            send, wake = beacon.poll(now, linked=linked)
        if send:
            unidentified_since, last_id, end_waits = None, now, False
        if unidentified_since is not None:
            # Within a rounding error: wake is (first transmission) + 600 in floats.
            assert wake is not None and wake - unidentified_since <= 600 + 1e-9
        if end_waits:
            assert wake is not None and wake <= last_id + END_GAP


def test_links_ending_within_the_gap_share_one_id() -> None:
    """A SABM flood ends a link per forged frame; one ID covers the ends within END_GAP."""
    beacon = IdBeacon(600)
    beacon.transmitted(0.0)
    beacon.ended()
    assert beacon.poll(0.0, linked=True) == (True, None)
    for t in range(1, 20):
        beacon.transmitted(float(t))  # the UA to the next forged SABM, and a DM
        beacon.ended()
        assert beacon.poll(float(t), linked=True) == (False, END_GAP)
    assert beacon.poll(END_GAP, linked=True) == (True, None)
    beacon.transmitted(31.0)
    beacon.ended(final=True)  # the station stops: there is no later
    assert beacon.poll(31.0, linked=False) == (True, None)


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
