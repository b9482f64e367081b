"""Channel lists +b/+e/+I with extbans: setting, listing, and their effect on JOIN/PRIVMSG/NICK."""

from __future__ import annotations

import pytest

from ircd.chanlists import normalize_mask

FP = "ab" * 32


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("nick", "nick!*@*"),
        ("user@host", "*!user@host"),
        ("*.example.net", "*!*@*.example.net"),
        ("2001:db8::/32", "*!*@2001:db8::/32"),
        ("n!u@h", "n!u@h"),
        ("n!h", "n!*@h"),
        ("~a:Alice", "a:Alice"),
        ("account:Alice", "a:Alice"),
        ("~account:0", "a:0"),
        ("~f:" + FP.upper(), "f:" + FP),
        ("f::1", "*!*@f::1"),  # no prefix and no fingerprint: an IPv6 host
        ("~certfp:zz", None),
        ("~x:y", None),
        ("", None),
        ("a b", None),
        (":x", None),
        ("x" * 201, None),
    ],
)
def test_normalize_mask(raw: str, normal: str | None) -> None:
    assert normalize_mask(raw) == normal


def setup(harness):
    op = harness.user("op")
    op.send("JOIN #c")
    op.take()
    return op


def test_mode_b_lists_for_everyone_irssi_join_query(harness) -> None:
    op = setup(harness)
    op.send("MODE #c +b bad!*@*")
    assert op.take()[0].params == ("#c", "+b", "bad!*@*")
    alice = harness.user("alice")
    alice.send("JOIN #c", "MODE #c", "MODE #c b")
    replies = alice.take()
    codes = [m.command for m in replies]
    assert codes[-4:] == ["324", "329", "367", "368"]
    assert replies[-2].params == ("alice", "#c", "bad!*@*", "op!~op@192.0.2.1", "1700000000")
    alice.send("MODE #c e", "MODE #c +b x")
    assert alice.commands() == ["482", "482"]
    op.take()
    op.send("MODE #c b", "MODE #c bbe")  # an operator's query: each list once
    assert op.commands() == ["367", "368", "367", "368", "349"]


def test_ban_blocks_join_exception_lets_in(harness) -> None:
    op = setup(harness)
    op.send("MODE #c +b *!*@192.0.2.*")
    bob = harness.user("bob")
    bob.send("JOIN #c")
    replies = bob.take()
    assert replies[0].command == "474"
    assert replies[0].params[1:] == ("#c", "Cannot join channel (+b)")
    op.send("MODE #c +e bob")
    bob.send("JOIN #c")
    assert bob.commands()[0] == "JOIN"


def test_cidr_ban(harness) -> None:
    op = setup(harness)
    op.send("MODE #c +b *!*@198.51.100.0/24")
    far = harness.connect("198.51.100.77").register("far")
    far.send("JOIN #c")
    assert far.commands() == ["474"]
    near = harness.connect("203.0.113.1").register("near")
    near.send("JOIN #c")
    assert near.commands()[0] == "JOIN"


def test_invite_exception_passes_invite_only(harness) -> None:
    op = setup(harness)
    op.send("MODE #c +i", "MODE #c +I ~account:trusted*")
    a = harness.user("acct")
    a.client.account = "TrustedOne"
    a.send("JOIN #c")
    assert a.commands()[0] == "JOIN"
    b = harness.user("noacct")
    b.send("JOIN #c")
    assert b.commands() == ["473"]


def test_banned_member_is_quiet_unless_voiced_and_cannot_change_nick(harness) -> None:
    op = setup(harness)
    bob = harness.user("bob")
    bob.send("JOIN #c")
    bob.take()
    op.send("MODE #c +b bob")
    op.take()
    bob.take()
    bob.send("PRIVMSG #c :hi", "NICK bobby")
    replies = bob.take()
    assert [m.command for m in replies] == ["404", "437"]
    assert replies[1].params[1] == "#c"
    op.send("MODE #c +v bob")
    bob.take()
    bob.send("PRIVMSG #c :now I can")
    assert op.take()[-1].params == ("#c", "now I can")


def test_extban_certfp_and_account_zero(harness) -> None:
    op = setup(harness)
    op.send(f"MODE #c +b ~f:{FP}", "MODE #c +b ~a:0")
    op.take()
    tls = harness.user("tlsuser")
    tls.client.certfp = FP
    tls.client.account = "someone"
    tls.send("JOIN #c")
    assert tls.commands() == ["474"]
    guest = harness.user("guest")
    guest.send("JOIN #c")
    assert guest.commands() == ["474"]  # ~account:0: not logged in
    other = harness.user("other")
    other.client.account = "x"
    other.send("JOIN #c")
    assert other.commands()[0] == "JOIN"


def test_list_size_bounded_by_maxlist(make_harness) -> None:
    h = make_harness(max_list_entries=3)
    op = setup(h)
    op.send("MODE #c +bbb a b c", "MODE #c +e d")
    replies = op.take()
    assert replies[0].params == ("#c", "+bbb", "a!*@*", "b!*@*", "c!*@*")
    assert replies[1].command == "478"
    op.send("MODE #c +b a", "MODE #c -b A!*@*", "MODE #c -b nothere", "MODE #c +b bad\x01")
    replies = op.take()
    assert [m.command for m in replies] == ["MODE", "696"]  # duplicate and absent: silent
    assert replies[0].params == ("#c", "-b", "a!*@*")


def test_isupport_tokens(harness) -> None:
    tokens = harness.server.isupport
    assert "EXTBAN=,afm" in tokens
    assert "MAXLIST=beI:100" in tokens


async def test_live_irssi_join_queries(live_server, live_client) -> None:
    c = await live_client(live_server.port)
    await c.register("irssi")
    await c.send("JOIN #chan", "MODE #chan", "WHO #chan", "MODE #chan b")
    await c.expect("366")
    assert (await c.expect("324")).params[1:] == ("#chan", "+nt")
    await c.expect("315")
    assert (await c.expect("368", "482", "472")).command == "368"
    await c.close()


def test_mute_extban_lets_join_but_not_speak(harness) -> None:  # type: ignore[no-untyped-def]
    op = harness.user("op")
    loud = harness.user("loud")
    other = harness.user("other")
    op.send("JOIN #c", "MODE #c +b ~m:loud!*@*")
    assert op.take()[-1].params == ("#c", "+b", "m:loud!*@*")
    loud.send("JOIN #c")  # a mute is not a ban: joining works
    assert loud.commands()[0] == "JOIN"
    other.send("JOIN #c")
    other.take(), op.take(), loud.take()
    loud.send("PRIVMSG #c :hello?")
    replies = loud.take()
    assert [(m.command, m.params[-1]) for m in replies] == [
        ("404", "Cannot send to channel (+b m:): you are muted")
    ]
    assert other.take() == []
    loud.send("NICK quiet")  # renaming would slip out of the mask
    assert loud.commands() == ["437"]
    op.send("MODE #c +v loud")  # voice speaks past a mute, as past a ban
    loud.take()
    loud.send("PRIVMSG #c :thanks")
    assert [m.command for m in other.take()] == ["MODE", "PRIVMSG"]
    op.send("MODE #c -v+e loud loud!*@*")  # an exception lifts it too
    loud.take(), other.take()
    loud.send("PRIVMSG #c :free")
    assert [m.command for m in other.take()] == ["PRIVMSG"]
    op.send("MODE #c -b mute:loud!*@*", "MODE #c b")
    assert [m.params[2] for m in op.take() if m.command == "367"] == []


def test_mute_masks_normalize() -> None:
    from ircd.chanlists import normalize_mask

    assert normalize_mask("~m:bad") == "m:bad!*@*"
    assert normalize_mask("~mute:~a:spammer") == "m:a:spammer"
    assert normalize_mask("~m:~m:x") is None
    assert normalize_mask("~m:") is None
    assert normalize_mask("m:m:x") is None
    assert normalize_mask("a::/64") == "*!*@a::/64"
