"""The service nick's token buckets (gateway/bridge/budget.py), on an injected clock:
one sender cannot starve another's answer, and mail kept for passing on never eats
the answers either."""

from __future__ import annotations

from gateway.bridge import forward
from gateway.bridge.budget import SenderBudget, TokenBucket
from gateway.bridge.service import NOTICE_BURST, NOTICE_RATE, SENDER_BURST, SENDER_EVERY


def test_a_bucket_gives_a_burst_then_its_rate() -> None:
    bucket = TokenBucket(3, 0.5, 0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait(0.0) == 2.0
    assert not bucket.take(1.9) and bucket.take(2.0)
    assert bucket.level(100.0) == 3  # never past the burst
    assert not bucket.take(100.0, reserve=2) or bucket.level(100.0) >= 2


def test_a_sender_is_told_once_then_ignored_until_its_budget_returns() -> None:
    budget = SenderBudget(2, 10.0)
    assert [budget.charge("h1", 0.0) for _ in range(5)] == ["ok", "ok", "tell", "quiet", "quiet"]
    assert budget.charge("h1", 10.0) == "ok"
    assert budget.charge("h1", 10.0) == "tell"  # told again after the budget came back


def test_senders_are_bounded_least_recently_seen_forgotten() -> None:
    budget = SenderBudget(1, 60.0, limit=3)
    for host in ("a", "b", "c"):
        budget.charge(host, 0.0)
    budget.charge("a", 0.0)  # a is the most recently seen now
    budget.charge("d", 0.0)  # b goes
    assert len(budget) == 3
    assert budget.charge("a", 0.0) == "quiet"  # remembered: over, and told
    assert budget.charge("b", 0.0) == "ok"  # forgotten: a fresh budget


def test_one_sender_cannot_starve_anothers_answer() -> None:
    """As service.py does: each request is charged to its sender, then an answer takes
    a token of the network's bucket; mail passed on draws above the reserve only."""
    network = TokenBucket(NOTICE_BURST, NOTICE_RATE, 0.0)
    senders = SenderBudget(SENDER_BURST, SENDER_EVERY)
    answered = {"flooder": 0, "bob": 0}

    def request(host: str, now: float) -> None:
        if senders.charge(host, now) != "ok":
            return
        if network.take(now):
            answered[host] += 1
        network.take(now, forward.RESERVE)  # its message passed on (when tokens allow)

    for i in range(1000):  # the flood: 1000 requests within a second
        request("flooder", i / 1000)
    request("bob", 1.0)
    assert answered == {"flooder": SENDER_BURST, "bob": 1}
    # And so on, minute after minute: the flooder gets its budget's worth, bob his answer.
    for minute in range(1, 10):
        for i in range(1000):
            request("flooder", minute * 60 + i / 1000)
        request("bob", minute * 60 + 1)
    assert answered["bob"] == 10
    assert answered["flooder"] <= SENDER_BURST * 10
