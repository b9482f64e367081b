"""draft/multiline: a client batch of lines, delivered whole or line by line."""

from __future__ import annotations

from tests.ircd.conftest import Harness

CAPS = ("draft/multiline", "batch", "message-tags")


def send_batch(client, target: str, *lines: str, command: str = "PRIVMSG", label: str = "") -> None:  # type: ignore[no-untyped-def]
    opener = f"@label={label} " if label else ""
    client.send(f"{opener}BATCH +r1 draft/multiline {target}")
    for line in lines:
        concat = line.startswith("+")
        text = line[1:] if concat else line
        tags = "batch=r1;draft/multiline-concat" if concat else "batch=r1"
        client.send(f"@{tags} {command} {target} :{text}")
    client.send("BATCH -r1")


def test_cap_value_announces_the_limits(harness: Harness) -> None:
    c = harness.connect()
    c.send("CAP LS 302")
    offered = " ".join(m.params[-1] for m in c.take())
    assert "draft/multiline=max-bytes=4096,max-lines=24" in offered


def test_batch_to_capable_clients_and_lines_to_others(harness: Harness) -> None:
    a = harness.user("alice", *CAPS, "echo-message", "labeled-response")
    b = harness.user("bob", *CAPS)
    old = harness.user("old")
    for u in (a, b, old):
        u.send("JOIN #c")
    for u in (a, b, old):
        u.take()
    send_batch(a, "#c", "first line", "+ continued", "second line", label="m1")
    got = b.take()
    assert [m.command for m in got] == ["BATCH", "PRIVMSG", "PRIVMSG", "PRIVMSG", "BATCH"]
    opening = got[0]
    assert opening.params[1:] == ("draft/multiline", "#c") and "msgid" in opening.tags
    ref = opening.params[0][1:]
    assert all(m.tags.get("batch") == ref for m in got[1:4])
    assert "draft/multiline-concat" in got[2].tags
    assert [m.params[1] for m in got[1:4]] == ["first line", " continued", "second line"]
    assert [m.params[1] for m in old.take()] == ["first line", " continued", "second line"]
    # The sender: nothing while the lines came in, then the echo batch, labeled: the
    # multiline batch itself is the labelled response, not wrapped in another batch.
    echo = a.take()
    assert echo[0].command == "BATCH" and echo[0].tags.get("label") == "m1"
    assert echo[0].params[1:] == ("draft/multiline", "#c")
    assert [m.command for m in echo] == ["BATCH", "PRIVMSG", "PRIVMSG", "PRIVMSG", "BATCH"]
    assert len(harness.server.history.entries("#c")) == 3


def test_a_blank_line_in_a_batch_stays_blank(harness: Harness) -> None:
    """draft/multiline: a blank line is relayed with an empty final parameter
    (`PRIVMSG #c :`); a client without the capability gets one space instead."""
    a = harness.user("alice", *CAPS)
    b = harness.user("bob", *CAPS)
    old = harness.user("old")
    for u in (a, b, old):
        u.send("JOIN #c")
    for u in (a, b, old):
        u.take()
    send_batch(a, "#c", "one", "", "three")
    assert b" PRIVMSG #c :\r\n" in b.sink.data
    assert [m.params[1] for m in b.take()[1:4]] == ["one", "", "three"]
    assert [m.params[1] for m in old.take()] == ["one", " ", "three"]


def test_multiline_errors_deliver_nothing(harness: Harness) -> None:
    a = harness.user("alice", *CAPS, "standard-replies")
    b = harness.user("bob", *CAPS)
    send_batch(a, "bob", *["x"] * 25)
    assert [m.params[:2] for m in a.take()] == [("BATCH", "MULTILINE_MAX_LINES")]
    send_batch(a, "bob", "y" * 400, *["z" * 400] * 10)
    assert [m.params[:2] for m in a.take()] == [("BATCH", "MULTILINE_MAX_BYTES")]
    a.send("BATCH +r1 draft/multiline bob", "@batch=r1 PRIVMSG carol :elsewhere", "BATCH -r1")
    assert [m.params[:2] for m in a.take()] == [("BATCH", "MULTILINE_INVALID_TARGET")]
    a.send("BATCH +r1 draft/multiline bob", "@batch=r1 NOTICE bob :a", "@batch=r1 PRIVMSG bob :b")
    a.send("BATCH -r1", "BATCH -r9", "BATCH +r2 other-type bob")
    assert [m.params[1] for m in a.take()] == ["MULTILINE_INVALID"] * 3
    send_batch(a, "nobody", "hello")
    assert [m.params[:2] for m in a.take()] == [("BATCH", "MULTILINE_INVALID_TARGET")]
    assert b.take() == []
    plain = harness.user("plain")
    plain.send("BATCH +r1 draft/multiline bob")  # without the capability
    assert [m.params[1] for m in plain.take()] == ["MULTILINE_INVALID"]


def test_multiline_obeys_channel_modes(harness: Harness) -> None:
    op = harness.user("op")
    a = harness.user("alice", *CAPS, "standard-replies")
    op.send("JOIN #c", "MODE #c +m")
    a.send("JOIN #c")
    op.take(), a.take()
    send_batch(a, "#c", "can I talk?")
    assert [m.params[:2] for m in a.take()] == [("BATCH", "MULTILINE_INVALID_TARGET")]
    assert op.take() == []
