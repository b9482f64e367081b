from gateway.auth import penalties as p
from gateway.config import CallsignDelayConfig, SourcePenaltyConfig

SRC = SourcePenaltyConfig(per_failure=30, grace=60, max=600)
CALL = CallsignDelayConfig(free_failures=3, step=60, max=3600, forget_after=86400, warn_after=3)


def test_source_penalty_accrues_past_grace_caps_and_expires() -> None:
    now, until = 1000.0, 0.0
    blocked = []
    for _ in range(4):
        until = p.source_after_failure(until, now, SRC)
        blocked.append(p.source_blocked(until, now, SRC))
    assert blocked == [False, False, True, True]
    for _ in range(100):
        until = p.source_after_failure(until, now, SRC)
    assert until == now + SRC.max  # capped
    assert p.source_blocked(until, now + 600 - 61, SRC)
    assert not p.source_blocked(until, now + 600 - 60, SRC)  # expires by itself


def test_callsign_delay_is_t_times_a_capped() -> None:
    delays = [p.callsign_delay(a, CALL) for a in range(1, 8)]
    assert delays == [0, 0, 60, 120, 180, 240, 300]
    assert p.callsign_delay(1000, CALL) == CALL.max


def test_callsign_state_expires_and_counts() -> None:
    state = p.CallsignState()
    for i in range(5):
        state = p.callsign_after_failure(state, 100.0 + i, CALL)
    assert state == p.CallsignState(5, 104.0)
    assert p.callsign_next_check(state, CALL) == 104.0 + 180
    assert p.callsign_current(state, 104.0 + CALL.forget_after, CALL) == p.CallsignState()
    later = p.callsign_after_failure(state, 104.0 + CALL.forget_after, CALL)
    assert later.failures == 1


def test_warning_threshold() -> None:
    assert [a for a in range(1, 10) if p.should_warn(a, CALL)] == [3, 6, 9]


def test_default_guessing_rate_under_one_percent_a_year() -> None:
    cfg = CallsignDelayConfig()
    assert p.success_chance_per_year(cfg) < 0.01
    # The documented figures (SECURITY.md) follow from the defaults.
    assert round(p.guesses_per_year(cfg)) == 2316
    assert round(p.success_chance_per_year(cfg) * 100, 2) == 0.69
