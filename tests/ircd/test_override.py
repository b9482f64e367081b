"""Operator overrides and look-ups: SAJOIN, SAPART, SANICK, CHGHOST, GLOBOPS, CHECK, STATS o/p.

Shapes as InspIRCd's modules (m_sajoin, m_sapart, m_sanick, m_chghost, m_globops,
m_check): the target acts as if it had done it itself, operators read
"*** ANNOUNCEMENT: <oper> used SAJOIN to make <nick> join <channel>", and each use is
audited with the acting nick.
"""

from __future__ import annotations

import pytest

from ircd.hooks import Control, OperAction


def oper(h, nick: str = "op", ip: str = "203.0.113.1"):  # type: ignore[no-untyped-def]
    c = h.connect(ip).register(nick)
    h.server.set_oper(c.client, "root")
    c.take()
    return c


@pytest.fixture
def harness(make_harness):  # type: ignore[no-untyped-def]
    return make_harness(sync=True)


def audited(h) -> list[OperAction]:  # type: ignore[no-untyped-def]
    actions: list[OperAction] = []
    h.server.control = Control(audit=actions.append)
    return actions


def notices(client) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.params[-1] for m in client.take() if m.command == "NOTICE"]


def test_override_commands_are_for_operators_only(harness) -> None:
    user = harness.connect().register("user")
    for line in ("SAJOIN user #a", "SAPART user #a", "SANICK user x", "CHGHOST user h",
                 "GLOBOPS :hi", "CHECK user"):  # fmt: skip
        user.send(line)
        assert [m.command for m in user.take()] == ["481"]


def test_sajoin_passes_a_key_and_invite_only_and_is_announced(harness) -> None:
    actions = audited(harness)
    op = oper(harness)
    owner = harness.connect().register("owner")
    owner.send("JOIN #locked", "MODE #locked +ik secret")
    bob = harness.connect().register("bob")
    bob.send("JOIN #locked")
    assert "475" in [m.command for m in bob.take()]  # the key refuses him himself
    owner.take()
    op.send("SAJOIN bob #locked")
    assert [m.command for m in bob.take()][:1] == ["JOIN"]  # his own JOIN, then topic/names
    assert bob.client in harness.server.find_channel("#locked").members
    assert any(m.command == "JOIN" and m.source.startswith("bob!") for m in owner.take())
    assert notices(op) == ["*** ANNOUNCEMENT: op (oper root) used SAJOIN to make bob join #locked"]
    op.send("SAJOIN bob #locked", "SAJOIN nobody #x", "SAJOIN bob bad")
    replies = op.take()
    assert replies[0].params[-1] == "*** bob is already on #locked"
    assert [m.command for m in replies[1:]] == ["401", "403"]
    assert [(a.nick, a.action, a.result) for a in actions] == [("op", "SAJOIN bob #locked", "done")]


def test_sapart_with_reason(harness) -> None:
    actions = audited(harness)
    op = oper(harness)
    bob = harness.connect().register("bob")
    bob.send("JOIN #ham")
    bob.take()
    op.send("SAPART bob #ham :time out")
    [part] = bob.take()
    assert (part.command, part.params) == ("PART", ("#ham", "time out"))
    assert harness.server.find_channel("#ham") is None  # he was its only member
    assert notices(op) == ["*** ANNOUNCEMENT: op (oper root) used SAPART to make bob part #ham"]
    op.send("SAPART bob #ham")
    assert [m.command for m in op.take()] == ["403"]
    assert [a.action for a in actions] == ["SAPART bob #ham"]


def test_sanick_renames_but_never_an_in_use_reserved_or_embedded_nick(harness) -> None:
    actions = audited(harness)
    op = oper(harness)
    bob = harness.connect().register("bob")
    harness.connect().register("carol")
    op.send("SANICK bob robert")
    [nick] = bob.take()
    assert (nick.command, nick.params, nick.source.split("!")[0]) == ("NICK", ("robert",), "bob")
    assert harness.server.find_nick("robert") is bob.client
    assert notices(op) == ["*** ANNOUNCEMENT: op (oper root) used SANICK to change bob to robert"]
    op.send("SANICK robert carol", "SANICK robert 1bad")
    assert notices(op) == [
        "*** SANICK refused: carol is in use",
        "*** SANICK refused: 1bad is not a valid nick",
    ]
    bob.client.in_process = True  # as the gateway's radio users are
    op.send("SANICK robert bobby")
    assert notices(op)[0].startswith("*** SANICK refused: robert is the application's own client")
    assert [(a.action, a.result.split(":")[0]) for a in actions] == [
        ("SANICK bob robert", "done"),
        ("SANICK robert carol", "refused"),
        ("SANICK robert 1bad", "refused"),
        ("SANICK robert bobby", "refused"),
    ]


def test_chghost_shows_a_new_host_to_chghost_clients_and_keeps_the_real_one(harness) -> None:
    op = oper(harness)
    bob = harness.connect("192.0.2.7").register("bob")
    watcher = harness.connect().register("watcher")
    watcher.send("CAP REQ chghost")
    for c in (bob, watcher):
        c.send("JOIN #ham")
    bob.take()
    watcher.take()
    op.send("CHGHOST bob radio.example")
    [chg] = watcher.take()
    assert (chg.command, chg.params) == ("CHGHOST", ("~bob", "radio.example"))
    assert bob.client.host == "radio.example" and bob.client.realhost == "192.0.2.7"
    assert notices(op) == [
        "*** ANNOUNCEMENT: op (oper root) used CHGHOST to make the shown host of bob radio.example"
    ]
    op.send("CHGHOST bob bad!host", "CHGHOST bob -x")
    assert notices(op) == [
        "*** CHGHOST refused: 'bad!host' is not a host name",
        "*** CHGHOST refused: '-x' is not a host name",
    ]


def test_globops_reaches_operators_with_snomask_g_only(harness) -> None:
    op = oper(harness)
    other = oper(harness, "other", "203.0.113.2")
    muted = oper(harness, "muted", "203.0.113.3")
    muted.send("MODE muted -s +g")
    muted.take()
    muted.send("MODE muted +s -g")
    muted.take()
    user = harness.connect().register("user")
    op.send("GLOBOPS :net at 19:00, all hands")
    text = "*** GLOBOPS: From op: net at 19:00, all hands"
    assert notices(op) == [text]
    assert notices(other) == [text]
    assert notices(muted) == []
    assert notices(user) == []


def test_check_a_user_a_channel_and_a_mask(harness) -> None:
    op = oper(harness)
    bob = harness.connect("192.0.2.7").register("bob")
    bob.send("JOIN #ham", "TOPIC #ham :net tonight", "AWAY :at the radio")
    bob.take()

    def check(what: str) -> list[str]:
        op.send(f"CHECK {what}")
        replies = op.take()
        assert {m.command for m in replies} == {"304"}
        return [m.params[-1] for m in replies]

    lines = check("bob")
    assert lines[0] == "CHECK START bob" and lines[-1] == "CHECK END bob"
    assert "CHECK nuh bob!~bob@192.0.2.7" in lines
    assert "CHECK onip 192.0.2.7" in lines
    assert "CHECK awaymsg at the radio" in lines
    assert "CHECK onchans #ham" in lines
    assert any(line.startswith("CHECK signon ") and "UTC" in line for line in lines)

    lines = check("#ham")
    assert "CHECK topic net tonight" in lines and "CHECK topic_setby bob!~bob@192.0.2.7" in lines
    assert "CHECK membercount 1" in lines
    assert "CHECK member o bob (~bob@192.0.2.7) Real bob" in lines

    assert check("*@192.0.2.*")[1:] == ["CHECK match 1 bob!~bob@192.0.2.7 [192.0.2.7]",
                                        "CHECK matches 1", "CHECK END *@192.0.2.*"]  # fmt: skip
    assert check("192.0.2.0/24")[-2] == "CHECK matches 1"
    assert check("198.51.100.0/24")[-2] == "CHECK matches 0"


def test_stats_o_and_p(make_harness) -> None:
    h = make_harness(sync=True)
    op = oper(h)
    op.send("STATS p")
    replies = op.take()
    assert [m.command for m in replies] == ["249", "249", "219"]
    assert replies[0].params[-1].startswith("op (~op@203.0.113.1) oper root, idle ")
    assert replies[1].params[-1] == "1 operator(s) online"
    op.send("STATS o")
    assert [m.command for m in op.take()][-1] == "219"


def test_chghost_leaves_the_applications_own_clients_alone(harness) -> None:
    """A radio user's host says it is one (the third-party rule reads it): not the
    operators' to change, as SANICK leaves their nick alone."""
    from ircd.inprocess import InProcessConnection

    actions = audited(harness)
    radio = InProcessConnection.attach(
        harness.server, nick="N0TEST-5", user="n0test", host="bpq.radio", account="N0TEST"
    )
    radio.pending()
    op = harness.user("op")
    harness.server.set_oper(op.client, "root")
    op.send("CHGHOST N0TEST-5 elsewhere.example")
    assert "CHGHOST refused: N0TEST-5 is the application's own client" in op.take()[0].params[-1]
    assert radio.client is not None and radio.client.host == "bpq.radio"
    assert [(a.action, a.result) for a in actions] == [
        ("CHGHOST N0TEST-5 elsewhere.example", "refused: in-process")
    ]
