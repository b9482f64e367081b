"""Which connection still logging in is dropped for a newcomer (`gateway.links.startups`)."""

from __future__ import annotations

import logging

import pytest

from gateway.links.startups import PROTECTED_FOR, Startups


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admit(startups: Startups[str], name: str) -> str | None:
    """What the listener does for a newcomer: make room if full, then count it."""
    victim = startups.evict() if startups.full else None
    startups.add(name)
    return victim


def claim(startups: Startups[str], name: str) -> str | None:
    """A newcomer that gives a callsign at once and is asked for its code."""
    victim = admit(startups, name)
    startups.at_code_prompt(name)
    return victim


def test_silent_ones_go_first_the_longest_waiting_first() -> None:
    clock = Clock()
    s: Startups[str] = Startups("node1", 3, clock)
    admit(s, "quiet1")
    clock.now += 1
    claim(s, "user")
    clock.now += 1
    admit(s, "quiet2")
    clock.now += 1
    assert admit(s, "new1") == "quiet1"
    assert admit(s, "new2") == "quiet2"
    assert admit(s, "new3") == "new1"
    assert "user" in s and len(s) == 3


def test_a_user_at_the_code_prompt_survives_a_flood_for_the_whole_window() -> None:
    clock = Clock()
    s: Startups[str] = Startups("node1", 3, clock)
    claim(s, "user")
    # A thousand silent newcomers, one every 0.1 s, for 100 s (past the window too:
    # while any silent one is there, it goes before anyone at the code prompt).
    for i in range(1000):
        clock.now += 0.1
        assert admit(s, f"flood{i}") == (f"flood{i - 2}" if i >= 2 else None)
        assert "user" in s
    assert s.protected("user") is False  # the window is over, yet silent ones go first


def test_silent_connections_never_outlast_the_next_newcomers() -> None:
    """The MaxStartups bound: an attacker who only opens silent connections holds each
    slot until newer ones push it out (the oldest goes first), and every newcomer gets
    in: with N slots a silent one is gone by the N-th newcomer after it."""
    clock = Clock()
    n = 4
    s: Startups[str] = Startups("node1", n, clock)
    for i in range(n):
        admit(s, f"attacker{i}")
        clock.now += 5
    for i in range(20):
        assert admit(s, f"newcomer{i}") == (f"attacker{i}" if i < n else f"newcomer{i - n}")
        assert f"newcomer{i}" in s and len(s) == n
        clock.now += 5
    assert not any(f"attacker{i}" in s for i in range(n))


def test_the_window_ends_and_is_not_renewed() -> None:
    clock = Clock()
    s: Startups[str] = Startups("node1", 2, clock)
    claim(s, "user")
    clock.now += 10
    claim(s, "other")
    clock.now += PROTECTED_FOR - 11
    s.at_code_prompt("user")  # asked again after a wrong code: still from the first
    assert s.protected("user")
    clock.now += 1
    assert not s.protected("user") and s.protected("other")
    # Past its window, it goes before one still protected (and after any silent one).
    assert admit(s, "late") == "user"
    assert admit(s, "later") == "late"


def test_when_all_are_at_the_code_prompt_the_oldest_goes_not_the_newcomer() -> None:
    """Refusing would let N callsign claims renewed every window hold every slot; so the
    newcomer still gets in, and a user goes only once the N - 1 other slots hold newer
    claims and yet another newcomer comes."""
    clock = Clock()
    s: Startups[str] = Startups("vhf", 3, clock)
    for name in ("claim0", "user", "claim1"):
        claim(s, name)
        clock.now += 1
    assert claim(s, "claim2") == "claim0"
    clock.now += 1
    # The other two slots hold newer claims: the next newcomer takes the user's.
    assert claim(s, "claim3") == "user"


def test_gone_and_logged_in_ones_no_longer_count() -> None:
    clock = Clock()
    s: Startups[str] = Startups("node1", 2, clock)
    admit(s, "a")
    admit(s, "b")
    assert s.full
    s.discard("a")
    s.discard("a")  # twice is harmless
    s.at_code_prompt("a")  # a late word about one gone: ignored
    assert not s.full and "a" not in s and not s.protected("a")
    s.discard("b")
    assert s.evict() is None


def test_one_warning_per_burst_says_how_many_were_at_the_code_prompt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    s: Startups[str] = Startups("node1", 1, clock)
    caplog.set_level(logging.WARNING, "gateway.links.startups")
    claim(s, "first")
    for i in range(5):
        clock.now += 1
        admit(s, f"quiet{i}")
    clock.now += 60
    admit(s, "after")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "node1: 1 connection(s) still logging in dropped for newcomers, 1 of them at the "
        "code prompt (max_unauthenticated 1)",
        "node1: 5 connection(s) still logging in dropped for newcomers, 0 of them at the "
        "code prompt (max_unauthenticated 1)",
    ]
