"""PRIVMSG, NOTICE, TAGMSG, AWAY and the IRCv3 tags they carry, driven on the core."""

from __future__ import annotations

import pytest

from ircd.protocol import Message


def test_private_message(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    a.send("PRIVMSG BOB :hi there")
    assert a.take() == []
    assert b.take() == [
        Message(source="alice!~alice@192.0.2.1", command="PRIVMSG", params=("bob", "hi there"))
    ]


def test_errors(harness) -> None:
    a = harness.user("alice")
    a.send(
        "PRIVMSG", "PRIVMSG bob", "PRIVMSG bob :", "PRIVMSG #none :x", "NOTICE", "NOTICE ghost :x"
    )
    assert a.commands() == ["411", "412", "412", "401"]


def test_channel_message_and_outsiders(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    c = harness.user("carol")
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take()
    b.take()
    a.send("PRIVMSG #C :hello")
    assert a.take() == []
    assert b.take()[0].params == ("#c", "hello")
    c.send("PRIVMSG #c :from outside")
    assert c.commands() == ["404"]  # +n
    a.send("MODE #c -n")
    b.take()
    c.send("PRIVMSG #c :from outside")
    assert c.commands() == []
    assert b.take()[0].params == ("#c", "from outside")


def test_statusmsg_reaches_ops_only(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    v = harness.user("vic")
    for u in (a, b, v):
        u.send("JOIN #c")
    a.send("MODE #c +o bob", "MODE #c +v vic")
    for u in (a, b, v):
        u.take()
    v.send("PRIVMSG @#c :ops only")
    assert [m.params for m in a.take()] == [("@#c", "ops only")]
    assert b.take()[0].params == ("@#c", "ops only")
    assert v.take() == []
    a.send("NOTICE +#c :voiced and up")
    assert v.take()[0].params == ("+#c", "voiced and up")
    assert b.take()[0].params == ("+#c", "voiced and up")


def test_too_many_targets(harness) -> None:
    a = harness.user("alice")
    others = [harness.user(f"u{i}") for i in range(5)]
    a.send("PRIVMSG u0,u1,u2,u3,u4 :hi")
    assert a.commands() == ["407"]
    # Nothing is delivered (not the first TARGMAX, as before): all or nothing.
    assert [bool(o.take()) for o in others] == [False] * 5


def test_relay_is_cut_to_512_bytes(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    text = "é" * 240  # 480 bytes: fits what alice may send, not with her prefix added
    a.send(f"PRIVMSG bob :{text}")
    raw = bytes(b.sink.data)
    assert len(raw) <= 512
    relayed = b.take()[0].params[1]
    assert text.startswith(relayed) and len(relayed) < len(text)


@pytest.mark.parametrize("char", ["a", "é", "€", "😀"])
def test_relay_keeps_as_much_text_as_fits(harness, char: str) -> None:
    # Around the edge of what fits with alice's prefix: the relayed line stays within
    # 512 bytes and keeps the longest part of the text that does (counted with the
    # " :" before it, which the line may go without when the text has no space).
    a = harness.user("alice")
    b = harness.user("bob")
    head = len(b":alice!~alice@192.0.2.1 PRIVMSG bob :")
    width = len(char.encode())
    for size in range(400, 498):  # what alice may send: "PRIVMSG bob :" and 497 bytes
        text = char * (size // width)
        a.send(f"PRIVMSG bob :{text}")
        raw = bytes(b.sink.data)
        relayed = b.take()[0].params[1]
        assert len(raw) <= 512 and text.startswith(relayed)
        assert relayed == text or head + len(relayed.encode()) + width > 510, (char, size)


def test_away_reply_and_notify(harness) -> None:
    a = harness.user("alice", "away-notify")
    b = harness.user("bob")
    c = harness.user("carol")
    for u in (a, b, c):
        u.send("JOIN #c")
    for u in (a, b, c):
        u.take()
    b.send("AWAY :gone fishing")
    assert b.commands() == ["306"]
    assert a.take()[-1] == Message(
        source="bob!~bob@192.0.2.1", command="AWAY", params=("gone fishing",)
    )
    assert c.take() == []  # no AWAY without the capability
    c.send("PRIVMSG bob :hi", "NOTICE bob :hi")
    assert [(m.command, m.params[1:]) for m in c.take()] == [("301", ("bob", "gone fishing"))]
    b.take()
    b.send("AWAY")
    assert b.commands() == ["305"]
    assert a.take()[-1] == Message(source="bob!~bob@192.0.2.1", command="AWAY")


def test_echo_message_and_tags(harness) -> None:
    a = harness.user("alice", "echo-message", "message-tags", "server-time")
    b = harness.user("bob", "message-tags")
    c = harness.user("carol", "server-time")
    d = harness.user("dave")
    for u in (a, b, c, d):
        u.send("JOIN #c")
    for u in (a, b, c, d):
        u.take()
    a.send("@+draft/reply=abc;label=x PRIVMSG #c :tagged")
    echo = a.take()[0]
    assert echo.params == ("#c", "tagged")
    assert echo.tags["time"] == "2023-11-14T22:13:20.000Z"
    assert echo.tags["+draft/reply"] == "abc"
    assert "label" not in echo.tags  # only client-only tags are relayed
    got_b = b.take()[0]
    assert got_b.tags == {"msgid": echo.tags["msgid"], "+draft/reply": "abc"}
    assert c.take()[0].tags == {"time": echo.tags["time"]}
    assert d.take()[0].tags == {}


def test_client_tags_dropped_without_capability(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob", "message-tags")
    a.send("@+x=1 PRIVMSG bob :hi")
    assert "+x" not in b.take()[0].tags


def test_tagmsg(harness) -> None:
    a = harness.user("alice", "message-tags")
    b = harness.user("bob", "message-tags")
    c = harness.user("carol")
    for u in (a, b, c):
        u.send("JOIN #c")
    for u in (a, b, c):
        u.take()
    a.send("@+typing=active TAGMSG #c", "TAGMSG #c")
    got = b.take()
    assert [(m.command, m.tags.get("+typing")) for m in got] == [("TAGMSG", "active")]
    assert c.take() == []  # clients without message-tags never see TAGMSG


def test_notice_is_never_answered(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    b.send("AWAY :away")
    b.take()
    a.send("NOTICE bob :hi", "NOTICE #nochan :hi")
    assert a.take() == []
    assert b.take()[0].command == "NOTICE"
