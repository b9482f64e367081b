"""Channel fan-out through the cached plan: the same bytes as the member-by-member loop,
and the plan follows joins, parts, capability changes and disconnects."""

from __future__ import annotations

from ircd.protocol import Message

from .conftest import Harness


def test_plan_gives_each_member_what_the_plain_loop_gives(harness: Harness) -> None:
    caps = ["", "message-tags", "server-time", "message-tags server-time account-tag"]
    users = [harness.user(f"u{i}", *caps[i % 4].split()) for i in range(9)]
    for user in users:
        user.send("JOIN #a")
    for user in users:
        user.take()
    channel = harness.server.find_channel("#a")
    assert channel is not None
    msg = Message(source="u0!u0@x", command="PRIVMSG", params=("#a", "hi"), tags={"msgid": "1"})
    harness.server.fanout_channel(channel, msg, exclude=users[0].client)
    planned = [bytes(u.sink.data) for u in users]
    for user in users:
        user.sink.data.clear()
    harness.server.fanout(channel.members, msg, exclude=users[0].client)
    assert planned == [bytes(u.sink.data) for u in users]
    assert planned[0] == b"" and all(planned[1:])


def test_plan_follows_membership_caps_and_disconnects(harness: Harness) -> None:
    alice = harness.user("alice")
    bob = harness.user("bob")
    alice.send("JOIN #a")
    alice.send("PRIVMSG #a :alone")  # builds the plan with alice only
    bob.send("JOIN #a")
    alice.take()
    bob.take()
    alice.send("PRIVMSG #a :one")
    [one] = bob.take()
    assert one.params == ("#a", "one") and "time" not in one.tags
    # A capability asked for later changes what the member gets.
    bob.send("CAP REQ server-time")
    bob.take()
    alice.send("PRIVMSG #a :two")
    [two] = bob.take()
    assert "time" in two.tags
    # A member who left, or whose connection closed, is not written to again.
    bob.send("PART #a")
    bob.take()
    alice.send("PRIVMSG #a :three")
    assert bob.take() == []
    carol = harness.user("carol")
    carol.send("JOIN #a")
    harness.server.disconnect(carol.client, "gone")
    assert carol.sink.closed
    alice.send("PRIVMSG #a :four")  # ListSink fails on a write after close
    assert [m.command for m in alice.take()] == ["PART", "JOIN", "QUIT"]


def test_cached_timestamp_reads_as_format_time(harness: Harness) -> None:
    server = harness.server
    start = 1_700_000_000.0
    edges = [0.0, 0.0004999, 0.0005, 0.0009996, 0.9994999, 0.9995, 0.9999994, 0.9999996]
    values = [start + s + e for s in (0, 1, 59, 3600) for e in edges]
    values += [start + i * 0.0137 for i in range(2000)]  # crossing seconds, in order
    values += [start + 5.5, start + 2.25, start + 5.999]  # and going back
    for at in values:
        harness.wall.now = at
        assert server.timestamp() == server.format_time(at), at
