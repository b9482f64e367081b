"""Bans cheap per message (the hostile review's finding 2): a glob without backtracking,
and a member's verdict kept until its identity or the channel's lists change.

Each way a kept verdict could go stale has its test: a stale one would let a banned
user talk (or keep a pardoned one quiet).
"""

from __future__ import annotations

import itertools

import pytest

from ircd.chanlists import ChannelLists
from ircd.globs import Glob, glob_match
from ircd.notify import set_account, set_host

FP = "ab" * 32


def reference_glob(pattern: str, text: str) -> bool:
    """The matcher this server had before (one backtrack point): the semantics to keep."""
    p = t = 0
    star, mark = -1, 0
    while t < len(text):
        if p < len(pattern) and pattern[p] in ("?", text[t]):
            p, t = p + 1, t + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark, p = p + 1, t, p + 1
        elif star != -1:
            mark += 1
            t, p = mark, star
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def test_glob_agrees_with_the_old_matcher_on_every_small_case() -> None:
    texts = ["".join(t) for n in range(6) for t in itertools.product("ab\\", repeat=n)]
    for n in range(6):
        for chars in itertools.product("ab*?\\", repeat=n):
            pattern = "".join(chars)
            compiled = Glob(pattern)
            for text in texts:
                want = reference_glob(pattern, text)
                assert glob_match(pattern, text) == want, (pattern, text)
                assert compiled.match(text) == want, (pattern, text)


@pytest.mark.parametrize(
    ("pattern", "text", "matched"),
    [
        ("[bot]*", "[bot]x", True),  # brackets are plain characters, not a class
        ("a\\*", "a\\xyz", True),  # and a backslash escapes nothing
        ("a\\*", "a*", False),
        ("*a?c*", "xxabcxx", True),
        ("*?", "", False),
        ("**", "", True),
        ("?*?", "ab", True),
    ],
)
def test_glob_has_no_special_characters_beyond_star_and_question_mark(
    pattern: str, text: str, matched: bool
) -> None:
    assert glob_match(pattern, text) is matched
    assert Glob(pattern).match(text) is matched


class CountingText(str):
    """A text that counts the reads of it made from Python, one character or slice each."""

    reads = 0

    def __getitem__(self, key: object) -> str:  # type: ignore[override]
        CountingText.reads += 1
        return str.__getitem__(self, key)  # type: ignore[index]


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("*" + "a" * 20 + "b000*!*", "a" * 26 + "123!" + "a" * 16),  # the review's ban
        ("*a" * 50 + "b", "a" * 5000),  # audit 4.6
        ("*b000?aaaa?aaaa*", "a" * 26 + "123!" + "a" * 16),
        ("*a?b*", "ab" * 40),  # a ? piece whose runs are everywhere, never aligned
        ("*a?b?b?a*x", "ab" * 40 + "x"),
        ("*?" * 200, "a" * 150),  # WHO's `*?` x 200 of the review: ??...?* once split
        ("*?*?*?x*?", "ab" * 40 + "x!"),
    ],
)
def test_glob_reads_the_text_at_most_once_per_character(pattern: str, text: str) -> None:
    # The old matcher read a character per step, len(pattern) x len(text) steps on
    # these; this one searches in C and reads a slice per place tried (a ? piece).
    CountingText.reads = 0
    assert Glob(pattern).match(CountingText(text)) is reference_glob(pattern, text)
    assert CountingText.reads <= len(text)


# -- verdicts kept per member ------------------------------------------------------------


@pytest.fixture
def harness(make_harness):  # type: ignore[no-untyped-def]
    return make_harness(sync=True)


def channel(harness, *modes: str):  # type: ignore[no-untyped-def]
    """#c with an op, and bob (no voice) in it; then `modes` applied by the op."""
    op = harness.connect("203.0.113.1").register("op")
    op.send("JOIN #c")
    bob = harness.connect("192.0.2.7").register("bob")
    bob.send("JOIN #c")
    op.send(*(f"MODE #c {m}" for m in modes))
    op.take()
    bob.take()
    return op, bob


def sets(op, bob, *modes: str) -> None:  # type: ignore[no-untyped-def]
    """The op sets `modes` on #c; what both were told is read and dropped."""
    op.send(*(f"MODE #c {m}" for m in modes))
    op.take()
    bob.take()


def speaks(op, bob) -> bool:  # type: ignore[no-untyped-def]
    """Whether bob's line reaches the op (else bob got 404)."""
    bob.send("PRIVMSG #c :hello")
    heard = [m for m in op.take() if m.command == "PRIVMSG"]
    refused = [m for m in bob.take() if m.command == "404"]
    assert bool(heard) != bool(refused)
    return bool(heard)


def test_a_members_verdict_is_judged_once_while_nothing_changes(
    harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    op, bob = channel(harness, "+bb nobody x!*@*.invalid")
    calls: list[object] = []
    real = ChannelLists.judge
    monkeypatch.setattr(ChannelLists, "judge", lambda s, seen: calls.append(seen) or real(s, seen))
    assert [speaks(op, bob) for _ in range(5)] == [True] * 5
    assert len(calls) == 1


def test_a_non_member_is_judged_each_time_and_kept_nowhere(harness) -> None:
    channel(harness, "-n", "+b outsider")
    out = harness.connect("198.51.100.1").register("outsider")
    for _ in range(2):
        out.send("PRIVMSG #c :hi")
        assert out.commands() == ["404"]
    lists = harness.server.find_channel("#c").lists
    assert out.client not in lists._verdicts


def test_nick_change_is_judged_again(harness) -> None:
    op, bob = channel(harness, "+b robert!*@*")
    assert speaks(op, bob)
    bob.send("NICK robert")
    bob.take()
    assert not speaks(op, bob)


def test_chghost_is_judged_again(harness) -> None:
    op, bob = channel(harness, "+b *!*@radio.example")
    harness.server.set_oper(op.client, "root")
    assert speaks(op, bob)
    op.send("CHGHOST bob radio.example")
    op.take()
    bob.take()
    assert not speaks(op, bob)
    set_host(harness.server, bob.client, "~bob", "elsewhere.example")
    bob.take()
    op.take()
    assert speaks(op, bob)


def test_user_name_change_is_judged_again(harness) -> None:
    op, bob = channel(harness, "+b *!root@*")
    assert speaks(op, bob)
    set_host(harness.server, bob.client, "root", bob.client.host)
    op.take()
    assert not speaks(op, bob)


def test_account_login_and_logout_are_judged_again(harness) -> None:
    op, bob = channel(harness, "+b a:spammer", "+b a:0", "+e bob!*@*")
    assert speaks(op, bob)  # excepted from a:0
    sets(op, bob, "-e bob!*@*")
    assert not speaks(op, bob)  # not logged in: a:0
    set_account(harness.server, bob.client, "ham")
    assert speaks(op, bob)
    set_account(harness.server, bob.client, "spammer")
    assert not speaks(op, bob)
    set_account(harness.server, bob.client, None)
    assert not speaks(op, bob)


def test_certificate_set_directly_is_judged_again(harness) -> None:
    # No call site tells the lists: the verdict is keyed on the identity itself.
    op, bob = channel(harness, f"+b f:{FP}")
    assert speaks(op, bob)
    bob.client.certfp = FP
    assert not speaks(op, bob)


def test_ban_added_and_removed_are_judged_again(harness) -> None:
    op, bob = channel(harness, "+b nobody")  # a list not empty: bob's verdict is kept
    assert speaks(op, bob)
    sets(op, bob, "+b bob")
    assert not speaks(op, bob)
    sets(op, bob, "-b bob")
    assert speaks(op, bob)


def test_exception_added_and_removed_are_judged_again(harness) -> None:
    op, bob = channel(harness, "+b *!*@192.0.2.*")
    assert not speaks(op, bob)
    sets(op, bob, "+e *!~bob@*")
    assert speaks(op, bob)
    sets(op, bob, "-e *!~bob@*")
    assert not speaks(op, bob)


def test_mute_extban_and_its_exception_are_judged_again(harness) -> None:
    op, bob = channel(harness)
    assert speaks(op, bob)
    sets(op, bob, "+b m:bob")
    assert not speaks(op, bob)
    sets(op, bob, "+e m:*!*@192.0.2.7")
    assert speaks(op, bob)
    sets(op, bob, "-e m:*!*@192.0.2.7", "-b m:bob")
    assert speaks(op, bob)
    sets(op, bob, "+b m:bob")
    assert not speaks(op, bob)


def test_a_kept_verdict_on_a_ban_also_keeps_the_nick(harness) -> None:
    op, bob = channel(harness, "+b bob")
    assert not speaks(op, bob)
    bob.send("NICK bobby")
    assert bob.commands() == ["437"]


@pytest.mark.parametrize("leave", ["PART #c", "QUIT :bye", "KICK"])
def test_the_verdict_goes_with_the_membership(harness, leave: str) -> None:
    op, bob = channel(harness, "+b nobody")
    assert speaks(op, bob)
    lists = harness.server.find_channel("#c").lists
    assert bob.client in lists._verdicts
    if leave == "KICK":
        op.send("KICK #c bob")
    else:
        bob.send(leave)
    assert bob.client not in lists._verdicts
    assert len(lists._verdicts) == 0
