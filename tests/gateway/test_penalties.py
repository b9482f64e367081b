from gateway.auth import penalties as p
from gateway.config import CallsignDelayConfig, NodeBudgetConfig, SourcePenaltyConfig

SRC = SourcePenaltyConfig(per_failure=30, grace=60, max=600)
CALL = CallsignDelayConfig(burst=3, leak_every=600, warn_after=3, warn_window=3000)


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


def test_bucket_allows_a_burst_then_one_per_leak() -> None:
    b, now = p.Budget(), 1000.0
    for _ in range(3):
        b = p.budget_at(b, now, CALL)
        assert p.budget_allows(b, CALL)
        b, _ = p.budget_after_failure(b, now, CALL)
    assert not p.budget_allows(p.budget_at(b, now, CALL), CALL)
    assert p.budget_next_check(p.budget_at(b, now, CALL), CALL) == now + 600
    assert not p.budget_allows(p.budget_at(b, now + 599, CALL), CALL)
    assert p.budget_allows(p.budget_at(b, now + 600, CALL), CALL)
    # Run down completely: the burst is over and forgotten.
    assert p.budget_at(b, now + 3000, CALL) == p.Budget(updated=now + 3000, last_failure=now)


def test_clock_stepping_back_leaks_nothing() -> None:
    b, _ = p.budget_after_failure(p.Budget(), 1000.0, CALL)
    assert p.budget_at(b, 10.0, CALL).level == 1.0


def test_warning_once_per_burst_then_daily() -> None:
    b, warns, now = p.Budget(), [], 0.0
    for i in range(12):
        # A burst, then the sustained rate: the slower counter never runs down.
        now = float(i) if i < 3 else (i - 2) * 600.0
        b, warn = p.budget_after_failure(b, now, CALL)
        warns.append(warn)
    assert warns == [False, False, True] + [False] * 9
    assert b.failures == 12 and b.since == 0.0
    # Still going a day later: one reminder.
    for _ in range(145):
        now += 600.0
        b, warn = p.budget_after_failure(b, now, CALL)
        if warn:
            break
    assert warn and now - b.since >= p.REMIND_EVERY
    # Quiet long enough for both counters to run down: the next burst is news again.
    b = p.budget_at(b, p.budget_quiet_at(b, CALL), CALL)
    assert b.failures == 0 and b.alerted_at is None


def test_node_of() -> None:
    assert p.node_of("telnet:bpq:call:N0TEST") == "telnet:bpq"
    assert p.node_of("telnet:direct:ip:192.0.2.7") == "telnet:direct:ip:192.0.2.7"
    assert p.node_of("telnet:d:ip:2001:db8::1:2") == "telnet:d:net:2001:db8::/64"
    assert p.node_of("ax25:vhf:N0DIGI,N1DIGI") == "ax25:vhf"
    assert p.node_of("irc:sasl:ip:192.0.2.7") == "irc:sasl:ip:192.0.2.7"
    assert p.node_of("other") == "other"


def test_default_bounds_under_one_percent_a_year() -> None:
    cfg = CallsignDelayConfig()
    assert p.success_chance_per_year(cfg) < 0.01
    # The documented figures (SECURITY.md) follow from the defaults.
    assert round(p.guesses_per_year(cfg)) == 2212  # two lanes of 10 + YEAR / 8 h
    assert round(p.success_chance_per_year(cfg) * 100, 2) == 0.66
    assert p.success_chance_per_year(cfg, digits=8) < 0.0001
    assert p.unwarned_bound(cfg, p.YEAR) == 264
    assert round(p.checks_bound(NodeBudgetConfig(), 86400)) == 308
