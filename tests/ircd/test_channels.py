"""JOIN, PART, TOPIC, NAMES, KICK, INVITE and channel/user MODE, driven on the core."""

from __future__ import annotations

from ircd.protocol import Message


def joined(harness, channel: str, *nicks: str):
    users = [harness.user(nick) for nick in nicks]
    for u in users:
        u.send(f"JOIN {channel}")
    for u in users:
        u.take()
    return users


def test_join_creates_with_op_and_sends_names(harness) -> None:
    a = harness.user("alice")
    a.send("JOIN #Ham")
    replies = a.take()
    assert replies[0] == Message(source="alice!~alice@192.0.2.1", command="JOIN", params=("#Ham",))
    assert [m.command for m in replies[1:]] == ["353", "366"]
    assert replies[1].params == ("alice", "=", "#Ham", "@alice")
    b = harness.user("bob")
    b.send("JOIN #ham")
    replies = b.take()
    assert replies[0].params == ("#Ham",)  # the channel keeps the case it was created with
    assert replies[1].params[-1] == "@alice bob"
    assert a.take() == [replies[0]]


def test_join_errors(make_harness) -> None:
    h = make_harness(max_channels_per_client=2)
    a = h.user("alice")
    a.send("JOIN #a,#b,#c", "JOIN nochan", "JOIN #bad\x07name")
    codes = a.commands()
    assert codes.count("405") == 1 and codes.count("403") == 2


def test_join_zero_parts_all(harness) -> None:
    a, b = joined(harness, "#x", "alice", "bob")
    a.send("JOIN #y", "JOIN 0")
    a.take()
    assert a.client.channels == {}
    assert b.take() == [Message(source="alice!~alice@192.0.2.1", command="PART", params=("#x",))]
    assert harness.server.find_channel("#y") is None


def test_key_limit_invite_only(harness) -> None:
    a, _ = joined(harness, "#c", "alice", "bob")
    c = harness.user("carol")
    a.send("MODE #c +kl secret 2")
    assert a.take()[0].params == ("#c", "+kl", "secret", "2")
    c.send("JOIN #c", "JOIN #c wrong")
    assert c.commands() == ["475", "475"]
    c.send("JOIN #c secret")
    assert c.commands() == ["471"]
    a.send("MODE #c -l+i", "INVITE carol #c")
    a.take()
    assert c.take() == [
        Message(source="alice!~alice@192.0.2.1", command="INVITE", params=("carol", "#c"))
    ]
    c.send("JOIN #c secret")
    assert c.commands()[0] == "JOIN"
    c.send("PART #c", "JOIN #c secret")
    assert c.commands() == ["PART", "473"]  # an invite is used up by joining


def test_part(harness) -> None:
    a, b = joined(harness, "#c", "alice", "bob")
    a.send("PART #c :73 all", "PART #c", "PART #nope")
    assert a.commands() == ["PART", "442", "403"]
    assert b.take()[0].params == ("#c", "73 all")


def test_topic(harness) -> None:
    a, b = joined(harness, "#c", "alice", "bob")
    a.send("TOPIC #c")
    assert a.commands() == ["331"]
    b.send("TOPIC #c :mine")
    assert b.commands() == ["482"]  # +t by default
    harness.wall.now += 5
    a.send("TOPIC #c :" + "t" * 500)
    topic_msg = a.take()[0]
    assert topic_msg.params == ("#c", "t" * 390)
    assert b.take() == [topic_msg]
    b.send("TOPIC #c")
    replies = b.take()
    assert [m.command for m in replies] == ["332", "333"]
    assert replies[1].params[2:] == ("alice!~alice@192.0.2.1", "1700000005")
    c = harness.user("carol")
    c.send("JOIN #c")
    assert [m.command for m in c.take()] == ["JOIN", "332", "333", "353", "366"]


def test_names_hides_secret_and_invisible(harness) -> None:
    a, b = joined(harness, "#c", "alice", "bob")
    b.send("MODE bob +i")
    outsider = harness.user("eve")
    outsider.send("NAMES #c")
    replies = outsider.take()
    assert replies[0].params[-1] == "@alice"
    a.send("MODE #c +s")
    outsider.send("NAMES #c", "NAMES", "NAMES #missing")
    assert [(m.command, m.params[1]) for m in outsider.take()] == [
        ("366", "#c"),
        ("366", "*"),
        ("366", "#missing"),
    ]
    b.take()
    b.send("NAMES #c")
    assert b.take()[0].params[1:] == ("@", "#c", "@alice bob")


def test_names_multi_prefix_and_userhost(harness) -> None:
    a = harness.user("alice", "multi-prefix", "userhost-in-names")
    a.send("JOIN #c", "MODE #c +v alice")
    a.take()
    a.send("NAMES #c")
    assert a.take()[0].params[-1] == "@+alice!~alice@192.0.2.1"


def test_names_split_to_fit_512(harness) -> None:
    users = joined(harness, "#big", *[f"user{i:02d}xxxxxxxxxxxxxxxxxxxx" for i in range(60)])
    users[0].send("NAMES #big")
    replies = users[0].take()
    assert len([m for m in replies if m.command == "353"]) > 1
    assert all(len(m.to_bytes()) <= 512 for m in replies)
    names = " ".join(m.params[-1] for m in replies if m.command == "353").split()
    assert len(names) == 60


def test_kick(harness) -> None:
    a, b, _ = joined(harness, "#c", "alice", "bob", "carol")
    b.send("KICK #c carol")
    assert b.commands() == ["482"]
    a.send("KICK #c bob,nobody :behave")
    replies = a.take()
    assert replies[0] == Message(
        source="alice!~alice@192.0.2.1", command="KICK", params=("#c", "bob", "behave")
    )
    assert replies[1].command == "441"
    assert b.take() == [replies[0]]
    assert b.client.channels == {}
    b.send("KICK #c alice")
    assert b.commands() == ["442"]


def test_invite_checks(harness) -> None:
    a, b = joined(harness, "#c", "alice", "bob")
    c = harness.user("carol")
    c.send("INVITE alice #c", "INVITE ghost #c", "INVITE bob #none")
    assert c.commands() == ["442", "401", "403"]
    a.send("INVITE bob #c")
    assert a.commands() == ["443"]
    a.send("MODE #c +i")
    a.take()
    b.take()
    b.send("INVITE carol #c")
    assert b.commands() == ["482"]
    c.send("AWAY :out")
    a.send("INVITE carol #c")
    assert a.commands() == ["341", "301"]


def test_channel_mode_query_and_changes(harness) -> None:
    a, b = joined(harness, "#c", "alice", "bob")
    a.send("MODE #c")
    replies = a.take()
    assert replies[0].params == ("alice", "#c", "+nt")
    assert replies[1].command == "329"
    a.send("MODE #c +mnst-t+o+k bob key")
    change = a.take()[0]
    assert change.params == ("#c", "+ms-t+ok", "bob", "key")  # +n and +t were set already
    assert b.take() == [change]
    b.send("MODE #c")
    assert b.take()[0].params[1:] == ("#c", "+mnsk", "key")
    outsider = harness.user("eve")
    outsider.send("MODE #c")
    assert outsider.take()[0].params[1:] == ("#c", "+mnsk", "*")
    outsider.send("MODE #c -k")
    assert outsider.commands() == ["482"]


def test_channel_mode_errors(harness) -> None:
    a, _ = joined(harness, "#c", "alice", "bob")
    a.send("MODE #c +z", "MODE #c +o", "MODE #c +o ghost", "MODE #c +l abc", "MODE #nope +n")
    assert a.commands() == ["472", "696", "401", "696", "403"]
    a.send("MODE #c +n")
    assert a.commands() == []  # no change, no echo


def test_mode_limit_of_four_parameters(harness) -> None:
    users = joined(harness, "#c", "alice", "b1", "b2", "b3", "b4", "b5")
    users[0].send("MODE #c +vvvvv b1 b2 b3 b4 b5")
    change = users[0].take()[0]
    assert change.params == ("#c", "+vvvv", "b1", "b2", "b3", "b4")


def test_moderated_channel(harness) -> None:
    a, b = joined(harness, "#c", "alice", "bob")
    a.send("MODE #c +m")
    a.take()
    b.take()
    b.send("PRIVMSG #c :hi")
    assert b.commands() == ["404"]
    a.send("MODE #c +v bob")
    b.take()
    b.send("PRIVMSG #c :hi")
    assert b.commands() == []
    assert a.take()[-1].params == ("#c", "hi")


def test_user_modes(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    a.send(
        "MODE alice",
        "MODE alice +i",
        "MODE alice +i",
        "MODE alice",
        "MODE alice +o",
        "MODE alice +x",
    )
    assert [(m.command, m.params[1:]) for m in a.take()] == [
        ("221", ("+",)),
        ("MODE", ("+i",)),
        ("221", ("+i",)),
        ("501", ("Unknown MODE flag",)),
    ]
    assert harness.server.invisible_count == 1
    a.send("MODE bob +i", "MODE ghost")
    assert a.commands() == ["502", "401"]
    b.send("QUIT")
    a.send("QUIT")
    assert harness.server.invisible_count == 0
