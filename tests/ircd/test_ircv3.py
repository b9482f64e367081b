"""IRCv3 capabilities: every one listed in issue 3, on the core."""

from __future__ import annotations

import base64

import pytest

from ircd.notify import set_account, set_host


class FakeAccounts:
    def __init__(self) -> None:
        self.checks = 0

    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        self.checks += 1
        return "K1ABC" if account.lower() == "k1abc" and password == "right" else None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return "K1ABC" if certfp == "ab" * 32 else None


def plain(authz: str, user: str, password: str) -> str:
    return base64.b64encode(f"{authz}\0{user}\0{password}".encode()).decode()


def test_cap_ls_302_lists_every_capability_with_values(make_harness) -> None:
    h = make_harness(hooks=None)
    h.server.accounts = FakeAccounts()
    c = h.connect()
    c.send("CAP LS 302")
    offered = " ".join(m.params[-1] for m in c.take())
    for cap in (
        "account-notify",
        "account-tag",
        "away-notify",
        "batch",
        "cap-notify",
        "chghost",
        "draft/chathistory",
        "echo-message",
        "extended-join",
        "extended-monitor",
        "invite-notify",
        "labeled-response",
        "message-tags",
        "multi-prefix",
        "sasl=PLAIN",  # EXTERNAL only for a client that sent a certificate
        "server-time",
        "setname",
        "standard-replies",
        "userhost-in-names",
    ):
        assert cap in offered.split(), cap


def test_no_sasl_without_accounts(harness) -> None:
    c = harness.connect()
    c.send("CAP LS 302", "CAP REQ sasl")
    replies = c.take()
    assert "sasl" not in replies[0].params[-1]
    assert replies[1].params[1] == "NAK"


def test_sasl_plain(make_harness) -> None:
    h = make_harness(sync=True)
    accounts = h.server.accounts = FakeAccounts()
    c = h.connect()
    c.send("CAP LS 302", "CAP REQ :sasl", "NICK k1abc", "USER k1abc 0 * :r")
    c.send("AUTHENTICATE PLAIN")
    assert c.take()[-1].params == ("+",)
    c.send("AUTHENTICATE " + plain("", "k1abc", "right"))
    h.settle()
    assert not c.sink.paused or c.sink.closed
    replies = c.take()
    assert [m.command for m in replies] == ["900", "903"]
    assert replies[0].params[1:3] == ("k1abc!~k1abc@192.0.2.1", "K1ABC")
    c.send("AUTHENTICATE PLAIN")
    assert c.commands() == ["907"]
    c.send("CAP END")
    assert "001" in c.commands()
    assert c.client.account == "K1ABC" and accounts.checks == 1


def test_sasl_failures_are_bounded(make_harness) -> None:
    h = make_harness(sync=True)
    h.server.accounts = FakeAccounts()
    c = h.connect()
    c.send("CAP REQ :sasl")
    for _ in range(3):
        c.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + plain("", "k1abc", "wrong"))
        h.settle()
        assert not c.sink.paused or c.sink.closed
    assert c.sink.closed
    assert b"Too many failed SASL attempts" in c.sink.data


def test_sasl_abort_mechs_and_long_messages(make_harness) -> None:
    h = make_harness(sync=True)
    h.server.accounts = FakeAccounts()
    c = h.connect()
    c.send("AUTHENTICATE PLAIN")
    assert c.commands() == ["904"]  # the sasl capability was not requested
    c.send("CAP REQ :sasl", "AUTHENTICATE EXTERNAL")  # no client certificate
    assert c.commands()[-2:] == ["908", "904"]
    c.send("AUTHENTICATE PLAIN", "AUTHENTICATE *")
    assert c.commands()[-1] == "906"
    c.send("AUTHENTICATE PLAIN")
    for _ in range(11):
        c.send("AUTHENTICATE " + "A" * 400)
    assert c.commands()[-1] == "905"
    c.send("AUTHENTICATE PLAIN", "AUTHENTICATE !!notbase64")
    assert c.commands()[-1] == "904"


def test_sasl_external_by_certfp(make_harness) -> None:
    h = make_harness(sync=True)
    h.server.accounts = FakeAccounts()
    sink, client = h.connect_raw()
    assert client is not None
    client.certfp = "ab" * 32
    h.server.receive(client, b"CAP REQ :sasl\r\nAUTHENTICATE EXTERNAL\r\nAUTHENTICATE +\r\n")
    h.settle()
    assert client.account is not None
    assert b" 903 " in sink.data


def test_account_tag_notify_and_extended_join(harness) -> None:
    a = harness.user("alice", "account-tag", "account-notify", "extended-join")
    b = harness.user("bob", "message-tags")
    a.send("JOIN #c")
    b.send("JOIN #c")
    assert a.take()[-1].params == ("#c", "*", "Real bob")  # extended-join, no account
    set_account(harness.server, b.client, "BOB")
    assert [(m.command, m.params) for m in a.take()] == [("ACCOUNT", ("BOB",))]
    b.send("PRIVMSG #c :hi")
    msg = a.take()[0]
    assert msg.tags == {"account": "BOB"}  # account-tag without message-tags
    b.take()
    a.send("PRIVMSG #c :yo")
    assert "account" not in b.take()[0].tags  # bob has no account-tag and alice no account


def test_account_tag_on_every_message_a_user_sends(harness) -> None:
    """account-tag: "the tag MUST be added ... to all messages sent by a user", so a
    topic, part, kick or quit reason can be judged by who is logged in (the gateway's
    third-party rule reads it)."""
    watcher = harness.user("w", "account-tag", "away-notify", "setname", "invite-notify")
    plain = harness.user("p")
    bob = harness.user("bob", "setname")
    set_account(harness.server, bob.client, "BOB")
    for u in (bob, watcher, plain):
        u.send("JOIN #c")
    for u in (bob, watcher):
        u.send("JOIN #d")
    watcher.take()
    plain.take()
    bob.send(
        "TOPIC #c :net tonight",
        "MODE #c +m",
        "INVITE p #d",
        "AWAY :out",
        "SETNAME :Bob B",
        "KICK #c p :bye",
        "NICK bob2",
        "PART #c :later",
        "QUIT :gone",
    )
    seen = {m.command: m.tags.get("account") for m in watcher.take()}
    sent = ("TOPIC", "MODE", "INVITE", "AWAY", "SETNAME", "KICK", "NICK", "PART", "QUIT")
    assert seen == dict.fromkeys(sent, "BOB")
    assert [m.tags for m in plain.take() if m.command in ("TOPIC", "INVITE")] == [{}, {}]


def test_bot_tag(harness) -> None:
    bot = harness.user("bot")
    watcher = harness.user("w", "message-tags")
    bot.send("MODE bot +B", "PRIVMSG w :beep")
    assert "bot" in watcher.take()[0].tags


def test_invite_notify(harness) -> None:
    op = harness.user("op")
    member = harness.user("member", "invite-notify")
    guest = harness.user("guest")
    op.send("JOIN #c")
    member.send("JOIN #c")
    member.take()
    op.send("INVITE guest #c")
    got = member.take()
    assert [(m.command, m.params, m.source) for m in got] == [
        ("INVITE", ("guest", "#c"), "op!~op@192.0.2.1")
    ]
    assert guest.take()[0].command == "INVITE"


def test_chghost_and_setname(harness) -> None:
    a = harness.user("alice", "chghost", "setname")
    b = harness.user("bob")
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take()
    b.take()
    set_host(harness.server, b.client, "~bob", "radio.gateway")
    assert a.take()[0].params == ("~bob", "radio.gateway")
    a.send("SETNAME :New Name")
    got = a.take()
    assert got[0].command == "SETNAME" and got[0].params == ("New Name",)
    assert b.take() == []  # bob did not ask for setname
    a.send("SETNAME :" + "x" * 200)
    fail = a.take()[0]
    assert (fail.command, fail.params[:2]) == ("FAIL", ("SETNAME", "INVALID_REALNAME"))
    b.send("SETNAME :no cap")
    assert b.commands() == ["421"]


def test_labeled_response_and_batch(harness) -> None:
    a = harness.user("alice", "labeled-response", "batch", "message-tags")
    a.send("@label=one PING x")
    pong = a.take()
    assert [(m.command, m.tags.get("label")) for m in pong] == [("PONG", "one")]
    a.send("@label=two PONG x")
    assert [(m.command, m.tags) for m in a.take()] == [("ACK", {"label": "two"})]
    a.send("@label=three JOIN #c")
    got = a.take()
    assert got[0].command == "BATCH" and got[0].params[1] == "labeled-response"
    assert got[0].tags == {"label": "three"}
    ref = got[0].params[0][1:]
    assert [m.command for m in got[1:-1]] == ["JOIN", "353", "366"]
    assert all(m.tags.get("batch") == ref for m in got[1:-1])
    assert got[-1].params == (f"-{ref}",)


def test_monitor_and_extended_monitor(harness) -> None:
    w = harness.user("watcher", "extended-monitor", "away-notify")
    w.send("MONITOR + alice,bob", "MONITOR L")
    replies = w.take()
    assert [m.command for m in replies] == ["731", "732", "733"]
    assert replies[0].params[1] == "alice,bob"
    a = harness.user("alice")
    assert [(m.command, m.params[1]) for m in w.take()] == [("730", "alice!~alice@192.0.2.1")]
    a.send("AWAY :gone fishing")  # extended-monitor + away-notify: no shared channel needed
    assert [(m.command, m.params) for m in w.take()] == [("AWAY", ("gone fishing",))]
    a.send("NICK alice2")
    assert [(m.command, m.params[1]) for m in w.take()] == [("731", "alice")]
    w.send("MONITOR + alice2", "MONITOR - bob", "MONITOR S")
    assert [m.command for m in w.take()] == ["730", "730", "731"]  # alice is offline
    a.send("QUIT")
    assert [m.command for m in w.take()] == ["731"]
    w.send("MONITOR C", "MONITOR L")
    assert w.commands() == ["733"]
    assert len(harness.server.monitors) == 0


def test_monitor_list_is_bounded(harness) -> None:
    w = harness.user("watcher")
    w.send("MONITOR + " + ",".join(f"n{i}" for i in range(90)))
    w.send("MONITOR + " + ",".join(f"m{i}" for i in range(20)))
    replies = w.take()
    assert "734" in [m.command for m in replies]
    assert len(w.client.monitoring) == 100
    w.send("QUIT")
    assert len(harness.server.monitors) == 0


def test_chathistory(harness) -> None:
    a = harness.user("alice", "draft/chathistory", "batch", "server-time", "message-tags")
    b = harness.user("bob")
    a.send("JOIN #c")
    b.send("JOIN #c")
    for i in range(5):
        harness.wall.now += 1
        b.send(f"PRIVMSG #c :msg {i}")
    b.send("PRIVMSG alice :private")
    msgids = [m.tags["msgid"] for m in a.take() if m.command == "PRIVMSG"]

    def texts(query: str) -> list[str]:
        a.send(query)
        got = a.take()
        assert got[0].command == "BATCH" and got[0].params[1] == "chathistory"
        return [m.params[1] for m in got if m.command == "PRIVMSG"]

    assert texts("CHATHISTORY LATEST #c * 2") == ["msg 3", "msg 4"]
    assert texts(f"CHATHISTORY BEFORE #c msgid={msgids[2]} 10") == ["msg 0", "msg 1"]
    assert texts(f"CHATHISTORY AFTER #c msgid={msgids[2]} 1") == ["msg 3"]
    assert texts(f"CHATHISTORY BETWEEN #c msgid={msgids[0]} msgid={msgids[4]} 10") == [
        "msg 1",
        "msg 2",
        "msg 3",
    ]
    assert texts(f"CHATHISTORY AROUND #c msgid={msgids[2]} 3") == ["msg 1", "msg 2", "msg 3"]
    assert texts("CHATHISTORY LATEST bob * 10") == ["private"]
    assert texts("CHATHISTORY AFTER #c timestamp=2023-11-14T22:13:21.500Z 2") == ["msg 1", "msg 2"]
    a.send("CHATHISTORY TARGETS timestamp=2000-01-01T00:00:00Z timestamp=2100-01-01T00:00:00Z 10")
    got = a.take()
    assert [m.params[1] for m in got if m.command == "CHATHISTORY"] == ["#c", "bob"]
    a.send("CHATHISTORY LATEST #nochan * 10", "CHATHISTORY BEFORE #c msgid=nope 10")
    assert [m.params[1] for m in a.take()] == ["INVALID_TARGET", "INVALID_PARAMS"]
    outsider = harness.user("eve", "draft/chathistory")
    outsider.send("CHATHISTORY LATEST #c * 10", "CHATHISTORY LATEST bob * 10")
    got = outsider.take()
    assert got[0].params[1] == "INVALID_TARGET"
    assert [m.command for m in got[1:]] == []  # eve and bob have no conversation: empty


def test_history_is_bounded(make_harness) -> None:
    h = make_harness(history_size=3)
    a = h.user("alice", "draft/chathistory")
    a.send("JOIN #c")
    for i in range(10):
        a.send(f"PRIVMSG #c :m{i}")
    a.take()
    a.send("CHATHISTORY LATEST #c * 100")
    assert [m.params[1] for m in a.take() if m.command == "PRIVMSG"] == ["m7", "m8", "m9"]


@pytest.mark.parametrize("cap", ["message-tags", "server-time", "echo-message"])
def test_older_caps_still_work(harness, cap: str) -> None:
    c = harness.connect()
    c.send("CAP LS 302", f"CAP REQ :{cap}")
    answers = [m.params[1:] for m in c.take() if m.command == "CAP" and m.params[1] != "LS"]
    assert answers == [("ACK", cap)]  # acknowledged, not merely offered
    c.send("NICK alice", "USER alice 0 * :Real alice", "CAP END")
    assert "001" in c.commands()
    assert cap in c.client.caps
