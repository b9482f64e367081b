"""draft/channel-rename: RENAME keeps the channel; clients without the cap see PART and JOIN."""

from __future__ import annotations

from tests.ircd.conftest import Harness

CAP = "draft/channel-rename"


def test_rename_keeps_everything_and_falls_back(harness: Harness) -> None:
    op = harness.user("op", CAP, "standard-replies")
    new = harness.user("newer", CAP)
    old = harness.user("older")
    op.send("JOIN #boaring", "TOPIC #boaring :all things dull", "MODE #boaring +b bad!*@*")
    new.send("JOIN #boaring")
    old.send("JOIN #boaring")
    old.send("PRIVMSG #boaring :history survives")
    for u in (op, new, old):
        u.take()
    op.send("RENAME #boaring #boring :Typo fix")
    [renamed] = op.take()
    assert (renamed.command, renamed.params) == ("RENAME", ("#boaring", "#boring", "Typo fix"))
    assert [(m.command, m.params) for m in new.take()] == [
        ("RENAME", ("#boaring", "#boring", "Typo fix"))
    ]
    fallback = old.take()
    assert [(m.command, m.source) for m in fallback[:2]] == [
        ("PART", "older!~older@192.0.2.1"),
        ("JOIN", "older!~older@192.0.2.1"),
    ]
    assert fallback[0].params == ("#boaring", "Typo fix")
    assert [m.command for m in fallback[2:]] == ["332", "333", "353", "366"]
    channel = harness.server.find_channel("#boring")
    assert channel is not None and harness.server.find_channel("#boaring") is None
    assert channel.topic == "all things dull" and channel.is_op(op.client)
    assert [e.mask for e in channel.lists.entries("b")] == ["bad!*@*"]
    assert all("#boring" in [c.name for c in u.client.channels.values()] for u in (op, old))
    assert len(harness.server.history.entries(channel.folded)) == 1
    old.send("PRIVMSG #boring :still here")
    assert [m.params for m in new.take()] == [("#boring", "still here")]


def test_rename_errors_and_case_change(harness: Harness) -> None:
    op = harness.user("op", CAP, "standard-replies")
    member = harness.user("member")
    op.send("JOIN #a,#b")
    member.send("JOIN #a")
    op.take(), member.take()
    member.send("RENAME #a #c", "RENAME #nope #c", "RENAME #b #c")
    assert member.commands() == ["482", "403", "442"]
    op.send("RENAME #a #b", "RENAME #a bad")
    assert [m.params[1] for m in op.take()] == ["CHANNEL_NAME_IN_USE", "CANNOT_RENAME"]
    op.send("RENAME #a #A")  # a change of case: allowed, and no fallback for the others
    assert [m.command for m in op.take()] == ["RENAME"]
    assert member.take() == []
    assert harness.server.find_channel("#a") is not None
    assert harness.server.find_channel("#a").name == "#A"  # type: ignore[union-attr]
