"""The service nick's notice queue on a network (gateway/bridge/noticequeue.py), on an
injected clock: a burst, then one per token, in order; answers before word of expiry;
dropped only past its bounds, one nick's share and the whole."""

from __future__ import annotations

from gateway.bridge.budget import TokenBucket
from gateway.bridge.noticequeue import QUEUE_MAX, TARGET_MAX, NoticeQueue


def queue(burst: int = 3, rate: float = 0.5, **bounds: int) -> NoticeQueue:
    return NoticeQueue(TokenBucket(burst, rate, 0.0), str.lower, **bounds)


def drain(q: NoticeQueue, now: float) -> list[tuple[float, str, str]]:
    """Everything waiting, at the times `due` asks for: (time sent, target, text)."""
    sent: list[tuple[float, str, str]] = []
    while True:
        out, next_at = q.due(now)
        sent += [(now, target, text) for target, text in out]
        if next_at is None:
            return sent
        assert next_at > now  # never a busy loop
        now = next_at


def test_a_burst_at_once_then_one_per_token_in_order() -> None:
    q = queue(burst=3, rate=0.5)
    for n in range(7):
        assert q.push(f"nick{n}", f"answer {n}")
    out, next_at = q.due(10.0)
    assert out == [(f"nick{n}", f"answer {n}") for n in range(3)]
    assert (len(q), next_at) == (4, 12.0)
    assert q.due(11.9) == ([], 12.0)  # not yet: nothing taken
    sent = drain(q, 12.0)
    assert sent == [(12.0 + 2 * n, f"nick{n + 3}", f"answer {n + 3}") for n in range(4)]
    assert (len(q), q.dropped) == (0, 0)
    assert q.due(30.0) == ([], None)


def test_answers_go_before_word_nobody_waits_for() -> None:
    q = queue(burst=1, rate=1.0)
    for n in range(3):
        q.push(f"sender{n}", f"expired {n}", later=True)
    q.push("alice", "held")
    out, _ = q.due(0.0)
    assert out == [("alice", "held")]
    q.push("bob", "held")  # asked while the word waits: answered first
    assert [target for _, target, _ in drain(q, 0.5)] == ["bob", "sender0", "sender1", "sender2"]


def test_a_notice_said_once_is_not_queued_twice_while_it_waits() -> None:
    # A HELLO queued before a reconnect and the one the reconnect makes are one; two
    # answers alike to two messages are two.
    q = queue(burst=1, rate=1.0)
    q.push("alice", "first")
    assert q.push("W2GWmail", "HELLO", once=True) and q.push("W2GWmail", "HELLO", once=True)
    assert q.push("bob", "held") and q.push("bob", "held")
    assert [(t, x) for _, t, x in drain(q, 0.0)] == [
        ("alice", "first"), ("W2GWmail", "HELLO"), ("bob", "held"), ("bob", "held")
    ]  # fmt: skip
    assert q.push("W2GWmail", "HELLO", once=True) and len(q) == 1  # said, so queued again


def test_one_nick_cannot_fill_the_queue() -> None:
    q = queue(burst=1, rate=1.0, per_target=3)
    assert [q.push("Alice", f"word {n}", later=True) for n in range(5)] == [True] * 3 + [False] * 2
    assert not q.push("ALICE", "held")  # the same nick, folded
    assert q.push("bob", "held")  # everyone else still has room
    assert (len(q), q.dropped) == (4, 3)
    sent = drain(q, 0.0)
    assert [(target, text) for _, target, text in sent] == [
        ("bob", "held"), ("Alice", "word 0"), ("Alice", "word 1"), ("Alice", "word 2"),
    ]  # fmt: skip
    assert q.push("alice", "room again")  # its share comes back as its notices go


def test_past_the_whole_bound_notices_are_dropped_and_counted() -> None:
    q = queue(burst=2, rate=1.0, limit=5)
    accepted = [q.push(f"nick{n}", "hello") for n in range(8)]
    assert accepted == [True] * 5 + [False] * 3
    assert (len(q), q.dropped) == (5, 3)
    assert len(q.due(0.0)[0]) == 2
    assert q.push("late", "hello")  # room again once some went
    assert q.dropped == 3
    assert [target for _, target, _ in drain(q, 1.0)] == ["nick2", "nick3", "nick4", "late"]


def test_a_token_taken_by_another_sender_only_delays_the_queue() -> None:
    """The bucket is shared with the relay between gateways (forward.py): whatever it
    took, `due` asks again when the next token comes."""
    bucket = TokenBucket(1, 1.0, 0.0)
    q = NoticeQueue(bucket, str.lower)
    q.push("alice", "held")
    assert bucket.take(0.0)  # the relay's line
    assert q.due(0.0) == ([], 1.0)
    assert bucket.take(1.0)  # and again
    assert q.due(1.0) == ([], 2.0)
    assert q.due(2.0) == ([("alice", "held")], None)


def test_the_default_bounds_hold_under_a_flood() -> None:
    q = queue(burst=0, rate=1.0)
    for n in range(3 * QUEUE_MAX):
        q.push(f"nick{n % 100}", "hello", later=bool(n % 2))
    assert len(q) == min(QUEUE_MAX, 100 * TARGET_MAX)
    assert q.dropped == 3 * QUEUE_MAX - len(q)
