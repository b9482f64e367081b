"""draft/metadata-2: METADATA on users and channels, subscriptions and notifications."""

from __future__ import annotations

from ircd.metadata import MAX_KEYS, MAX_SUBS
from tests.ircd.conftest import Harness

CAPS = ("draft/metadata-2", "batch", "standard-replies")


def inner(messages):  # type: ignore[no-untyped-def]
    """The messages of a batch, without its BATCH lines."""
    return [m for m in messages if m.command != "BATCH"]


def test_cap_request_gets_an_empty_batch(harness: Harness) -> None:
    c = harness.connect()
    c.send("CAP LS 302")
    assert "draft/metadata-2=maxsub=25,maxkey=10" in " ".join(m.params[-1] for m in c.take())
    c.send("CAP REQ :batch draft/metadata-2")
    assert [m.command for m in c.take()] == ["CAP", "BATCH", "BATCH"]


def test_set_get_list_and_notify_subscribers(harness: Harness) -> None:
    a = harness.user("alice", *CAPS)
    b = harness.user("bob", *CAPS)
    far = harness.user("far", *CAPS)
    b.send("METADATA * SUB url avatar")
    assert [(m.command, m.params[-1]) for m in b.take()] == [("770", "url avatar")]
    far.send("METADATA * SUB url")
    far.take()
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take(), b.take()
    a.send("METADATA * SET URL :https://example.org/~alice")
    assert [m.params for m in a.take()] == [
        ("alice", "alice", "url", "*", "https://example.org/~alice")
    ]
    [note] = b.take()
    assert (note.command, note.source) == ("METADATA", "alice!~alice@192.0.2.1")
    assert note.params == ("alice", "url", "*", "https://example.org/~alice")
    assert far.take() == []  # shares no channel with alice
    far.send("METADATA alice GET url nope $bad", "METADATA alice LIST")
    got = far.take()
    assert [(m.command, m.params[1:3]) for m in inner(got)] == [
        ("FAIL", ("KEY_INVALID", "$bad")),
        ("761", ("alice", "url")),
        ("766", ("alice", "nope")),
        ("761", ("alice", "url")),
    ]
    a.send("METADATA * SET url")  # no value: removed
    assert a.take()[0].params == ("alice", "alice", "url", "*")
    assert b.take()[0].params == ("alice", "url", "*")
    a.send("METADATA * SET url")
    assert [m.command for m in a.take()] == ["768"]


def test_channel_metadata_permissions_and_join(harness: Harness) -> None:
    op = harness.user("op", *CAPS)
    member = harness.user("member", *CAPS)
    op.send("JOIN #c", "METADATA * SET avatar :op.png")
    member.send("JOIN #c")
    op.take(), member.take()
    member.send("METADATA #c SET topic-url :x", "METADATA op SET avatar :y", "METADATA #none LIST")
    assert [m.params[1] for m in member.take()] == [
        "KEY_NO_PERMISSION",
        "KEY_NO_PERMISSION",
        "INVALID_TARGET",
    ]
    op.send("METADATA #c SET topic-url :https://example.org/c")
    assert op.take()[0].command == "761"
    newcomer = harness.user("newcomer", *CAPS)
    newcomer.send("METADATA * SUB topic-url avatar")
    newcomer.take()
    newcomer.send("JOIN #c")  # the channel's keys and its members' follow the names
    after = [m for m in newcomer.take() if m.command == "METADATA"]
    assert sorted(m.params[:2] for m in after) == [("#c", "topic-url"), ("op", "avatar")]
    op.take()
    op.send("METADATA #c CLEAR")
    assert [m.command for m in inner(op.take())] == ["761"]
    assert harness.server.find_channel("#c").metadata == {}  # type: ignore[union-attr]


def test_limits_subs_and_sync(harness: Harness) -> None:
    a = harness.user("alice", *CAPS)
    for i in range(MAX_KEYS):
        a.send(f"METADATA * SET k{i} :v")
    a.take()
    a.send("METADATA * SET one-more :v", f"METADATA * SET k0 :{'x' * 301}")
    assert [m.params[1] for m in a.take()] == ["LIMIT_REACHED", "VALUE_INVALID"]
    for start in range(0, MAX_SUBS + 2, 10):  # at most 15 parameters a line
        a.send("METADATA * SUB " + " ".join(f"s{i}" for i in range(start, start + 10)))
    replies = a.take()
    assert ("FAIL", "TOO_MANY_SUBS", f"s{MAX_SUBS}") in [
        (m.command, *m.params[1:3]) for m in replies
    ]
    a.send("METADATA * UNSUB s0 s1", "METADATA * SUBS")
    replies = a.take()
    assert replies[0].command == "771" and replies[0].params[-1] == "s0 s1"
    assert "s0" not in " ".join(m.params[-1] for m in replies[1:])
    a.send("METADATA * SUB k3", "METADATA alice SYNC")
    synced = [m for m in inner(a.take()) if m.command == "METADATA"]
    assert [m.params for m in synced] == [("alice", "k3", "*", "v")]
    a.send("METADATA * FROB", "METADATA *")
    assert [m.params[1] if m.command == "FAIL" else m.command for m in a.take()] == [
        "INVALID_SUBCOMMAND",
        "461",
    ]
