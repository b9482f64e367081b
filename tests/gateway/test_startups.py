"""Which connection still logging in is dropped for a newcomer (`gateway.links.startups`)."""

from __future__ import annotations

import logging

import pytest

from gateway.links.startups import PROTECTED_FOR, Startups, address_claimant


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


def claim(startups: Startups[str], name: str, call: str = "") -> str | None:
    """A newcomer that gives a callsign at once (`call`, else one of its own) and is
    asked for its code."""
    victim = admit(startups, name)
    startups.at_code_prompt(name, call or name.upper())
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
    s.at_code_prompt("user", "USER")  # asked again after a wrong code: still from the first
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
    s.at_code_prompt("a", "A")  # a late word about one gone: ignored
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


def test_one_address_cannot_hold_more_than_its_share() -> None:
    """Issue 19: the slots are shared per claimant. An address that holds more than
    `limit / addresses` goes first, even before a silent newcomer from elsewhere."""
    clock = Clock()
    s: Startups[str] = Startups("telnet", 5, clock)
    s.add("user", (address_claimant("192.0.2.7"),))
    for i in range(1000):
        clock.now += 0.05
        victim = s.evict() if s.full else None
        s.add(f"flood{i}", (address_claimant("198.51.100.9"),))
        s.heard(f"flood{i}")  # a byte each: not even silent
        assert victim is None or victim.startswith("flood")
    assert "user" in s  # silent all along, yet it stays
    assert not s.protected("user")


def test_a_user_typing_the_callsign_is_not_silent() -> None:
    """Issue 19: a byte of the callsign (no line end yet) lifts a connection above the
    silent ones: a flood of silent connections from many addresses pushes out only
    silent ones."""
    clock = Clock()
    s: Startups[str] = Startups("telnet", 5, clock)
    s.add("user", (address_claimant("192.0.2.7"),))
    clock.now += 0.1
    s.heard("user")  # "N0T" of "N0TEST"
    for i in range(2000):  # 20 a second for 100 s, each from an address of its own
        clock.now += 0.05
        victim = s.evict() if s.full else None
        s.add(f"flood{i}", (address_claimant(f"10.0.{i // 250}.{i % 250}"),))
        assert victim is None or victim.startswith("flood")
        if i == 50:
            s.at_code_prompt("user", "N0TEST")  # the line ends: asked for the code
    assert "user" in s


def test_strangers_push_out_strangers_before_a_claim_through_a_familiar_source() -> None:
    """Issue 19: fresh callsigns claimed at 50 a second never push out an owner whose
    claim comes through its familiar source, however long it goes on (within the
    window), and a stranger's claim of the same callsign takes the place only as the
    latest (one familiar place per callsign)."""
    clock = Clock()
    s: Startups[str] = Startups("node1", 5, clock)
    claim(s, "owner", "N0TEST")
    s.familiar("owner")
    for i in range(4000):  # 80 s at 50 a second
        clock.now += 0.02
        assert claim(s, f"flood{i}", f"W{i % 10}AB{chr(65 + i // 10 % 26)}") != "owner"
    assert s.protected("owner")
    # Another familiar claim of the same callsign (the owner again, or someone through
    # the owner's own way in): it takes the place, the earlier one is a stranger now.
    claim(s, "again", "N0TEST")
    s.familiar("again")
    victims = {claim(s, f"late{i}", f"K{i}LATE") for i in range(4)}
    assert "owner" in victims and "again" in s
    # Past the window a familiar claim goes like any other.
    clock.now += PROTECTED_FOR
    assert claim(s, "next", "K9NEXT") == "again"


def test_a_familiar_word_before_the_claim_or_after_the_end_is_ignored() -> None:
    clock = Clock()
    s: Startups[str] = Startups("vhf", 2, clock)
    admit(s, "quiet")
    s.familiar("quiet")  # no callsign yet: nothing to be familiar with
    s.familiar("gone")
    claim(s, "stranger")
    assert admit(s, "new") == "quiet"


def test_one_path_or_one_callsign_holds_at_most_its_share() -> None:
    """On air: links from one digipeater path go before a link from another path, and
    so do many claims of one callsign."""
    clock = Clock()
    s: Startups[str] = Startups("vhf", 3, clock)
    s.add("user", ("path:WIDE1-1",))
    s.at_code_prompt("user", "K4OWN")
    for i in range(100):
        clock.now += 0.2
        victim = s.evict() if s.full else None
        s.add(f"sabm{i}", ("path:direct",))
        s.at_code_prompt(f"sabm{i}", f"N{i % 10}FAKE")
        assert victim != "user"
    s2: Startups[str] = Startups("vhf", 3, clock)
    s2.add("user", ("path:direct",))
    s2.at_code_prompt("user", "K4OWN")
    for i in range(100):
        clock.now += 0.2
        victim = s2.evict() if s2.full else None
        s2.add(f"sabm{i}", ("path:direct",))
        s2.at_code_prompt(f"sabm{i}", "W1BAD")
        assert victim != "user"


def test_the_claimant_of_an_address() -> None:
    assert address_claimant("192.0.2.7") == "ip:192.0.2.7"
    assert address_claimant("::ffff:192.0.2.7") == "ip:192.0.2.7"
    assert address_claimant("2001:db8:1:2:3:4:5:6") == "ip:2001:db8:1:2::/64"
    assert address_claimant("2001:db8:1:2::9%eth0") == "ip:2001:db8:1:2::/64"
    assert address_claimant("?") == "ip:?"
