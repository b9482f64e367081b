"""draft/message-redaction: REDACT by the sender, a channel operator or an IRC operator."""

from __future__ import annotations

from tests.ircd.conftest import Harness

CAPS = ("message-tags", "echo-message", "draft/message-redaction", "standard-replies")


def sent_msgid(client) -> str:  # type: ignore[no-untyped-def]
    [echo] = [m for m in client.take() if m.command == "PRIVMSG"]
    return echo.tags["msgid"]


def test_sender_redacts_in_a_channel(harness: Harness) -> None:
    a = harness.user("alice", *CAPS, "draft/chathistory", "batch")
    b = harness.user("bob", *CAPS)
    old = harness.user("old")  # without the capability: hears nothing of it
    for u in (a, b, old):
        u.send("JOIN #c")
    for u in (a, b, old):
        u.take()
    a.send("PRIVMSG #c :oops, wrong channel")
    msgid = sent_msgid(a)
    b.take(), old.take()
    a.send(f"REDACT #c {msgid} :sorry")
    [mine] = a.take()
    [theirs] = b.take()
    assert mine.command == theirs.command == "REDACT"
    assert theirs.params == ("#c", msgid, "sorry") and theirs.source == "alice!~alice@192.0.2.1"
    assert "msgid" in theirs.tags
    assert old.take() == []
    a.send("CHATHISTORY LATEST #c * 10")  # gone from the history
    assert [m.command for m in a.take()] == ["BATCH", "BATCH"]
    a.send(f"REDACT #c {msgid}")
    assert [m.params[:2] for m in a.take()] == [("REDACT", "UNKNOWN_MSGID")]


def test_who_may_redact(harness: Harness) -> None:
    op = harness.user("op", *CAPS)
    a = harness.user("alice", *CAPS)
    b = harness.user("bob", *CAPS)
    op.send("JOIN #c")
    a.send("JOIN #c")
    b.send("JOIN #c")
    for u in (op, a, b):
        u.take()
    a.send("PRIVMSG #c :first")
    first = sent_msgid(a)
    a.send("PRIVMSG #c :second")
    second = sent_msgid(a)
    op.take(), b.take()
    b.send(f"REDACT #c {first}")
    assert [m.params[:2] for m in b.take()] == [("REDACT", "REDACT_FORBIDDEN")]
    op.send(f"REDACT #c {first} :spam")  # a channel operator may
    assert [m.command for m in b.take()] == ["REDACT"]
    op.take(), a.take()
    harness.server.set_oper(b.client, "root")
    b.send(f"REDACT #c {second}")  # and an IRC operator
    assert [m.command for m in a.take()] == ["REDACT"]
    outsider = harness.user("out", *CAPS)
    outsider.send(f"REDACT #c {second}", "REDACT #nowhere x", "REDACT bad,target x")
    assert [m.params[1] for m in outsider.take()] == ["INVALID_TARGET"] * 3


def test_redact_a_private_message_and_without_the_cap(harness: Harness) -> None:
    a = harness.user("alice", *CAPS)
    b = harness.user("bob", *CAPS)
    a.send("PRIVMSG bob :psst")
    msgid = sent_msgid(a)
    b.take()
    b.send(f"REDACT alice {msgid}")  # the recipient is not the sender
    assert [m.params[1] for m in b.take()] == ["REDACT_FORBIDDEN"]
    a.send(f"REDACT bob {msgid}")
    assert [m.command for m in b.take()] == ["REDACT"]
    assert [m.command for m in a.take()] == ["REDACT"]
    plain = harness.user("plain")
    plain.send("REDACT bob x")
    assert plain.commands() == ["421"]
