"""The channel modes beyond RFC 2811: +C (no CTCP), +M and +R (accounts), +T (no NOTICE).

On the core first, then once over real sockets against `python -m ircd`.
"""

from __future__ import annotations

from ircd.protocol import Message

from .conftest import CoreClient, Harness

ACTION = "\x01ACTION waves\x01"
VERSION = "\x01VERSION\x01"


def channel_with(harness: Harness, modes: str, *nicks: str) -> list[CoreClient]:
    """alice creates #c and sets `modes`; the others join first; every buffer is emptied."""
    users = [harness.user(nick) for nick in ("alice", *nicks)]
    for u in users:
        u.send("JOIN #c")
    users[0].send(f"MODE #c {modes}")
    for u in users:
        u.take()
    return users


def replies(client: CoreClient) -> list[tuple[str, tuple[str, ...]]]:
    return [(m.command, m.params[1:]) for m in client.take()]


def test_advertised_in_isupport_and_myinfo(harness: Harness) -> None:
    c = harness.connect()
    c.send("NICK alice", "USER alice 0 * :Alice")
    received = c.take()
    tokens = [p for m in received if m.command == "005" for p in m.params[1:-1]]
    assert "CHANMODES=beI,k,l,CMRTimnst" in tokens
    myinfo = next(m for m in received if m.command == "004")
    assert myinfo.params[4] == "CIMRTbeiklmnostv"


def test_set_show_and_unset_like_other_flag_modes(harness: Harness) -> None:
    alice, bob = channel_with(harness, "+t", "bob")
    alice.send("MODE #c +CMRT", "MODE #c +C", "MODE #c")
    got = alice.take()
    change = Message(source="alice!~alice@192.0.2.1", command="MODE", params=("#c", "+CMRT"))
    assert got[0] == change  # "+C" again changes nothing and is not echoed
    assert [(m.command, m.params[1:]) for m in got[1:]] == [
        ("324", ("#c", "+CMRTnt")),
        ("329", ("#c", str(int(harness.wall.now)))),
    ]
    assert bob.take() == [change]
    alice.send("MODE #c -M+i-RT")
    assert alice.take()[0].params == ("#c", "-M+i-RT")  # echoed in the order given
    bob.take()
    bob.send("MODE #c -C")
    assert replies(bob) == [("482", ("#c", "You're not channel operator"))]
    assert "C" in harness.server.find_channel("#c").modes


def test_registered_only_join(harness: Harness) -> None:
    (alice,) = channel_with(harness, "+R")
    guest = harness.user("guest")
    guest.send("JOIN #c")
    assert replies(guest) == [
        ("477", ("#c", "Cannot join channel (+R): log in to an account first"))
    ]
    member = harness.user("member")
    member.client.account = "K1ABC"
    member.send("JOIN #c")
    assert member.commands()[0] == "JOIN"
    # An invite lets a guest in, once, as on UnrealIRCd and InspIRCd ...
    alice.send("INVITE guest #c")
    guest.take()
    guest.send("JOIN #c", "PART #c", "JOIN #c")
    assert guest.commands() == ["JOIN", "353", "366", "PART", "477"]
    # ... and so does an invite exception.
    alice.send("MODE #c +I guest!*@*")
    guest.send("JOIN #c")
    assert guest.commands()[0] == "JOIN"


def test_invite_only_takes_precedence_over_registered_only(harness: Harness) -> None:
    channel_with(harness, "+iR")
    guest = harness.user("guest")
    guest.send("JOIN #c")
    assert guest.commands() == ["473"]


def test_registered_only_speech(harness: Harness) -> None:
    alice, guest, member = channel_with(harness, "+M", "guest", "member")
    member.client.account = "K1ABC"
    guest.send("PRIVMSG #c :hi", "NOTICE #c :hi")  # NOTICE: dropped without a reply
    assert replies(guest) == [
        ("404", ("#c", "Cannot send to channel (+M): log in to an account or get voice"))
    ]
    member.send("PRIVMSG #c :from member")
    alice.send("MODE #c +v guest")
    guest.take()
    guest.send("PRIVMSG #c :voiced now")
    assert [m.params[-1] for m in alice.take() if m.command == "PRIVMSG"] == [
        "from member",
        "voiced now",
    ]
    # +M alone leaves the door open to outsiders with an account (+n is what shuts it).
    alice.send("MODE #c -n")
    outsider = harness.user("outsider")
    outsider.client.account = "N0CALL"
    outsider.send("PRIVMSG #c :from outside")
    assert outsider.take() == []
    assert alice.take()[-1].params == ("#c", "from outside")


def test_no_notice(harness: Harness) -> None:
    alice, bob = channel_with(harness, "+T", "bob")
    bob.send("NOTICE #c :beep", "NOTICE @#c :beep")
    reason = ("#c", "Cannot send to channel (+T): no NOTICEs")
    assert replies(bob) == [("404", reason), ("404", reason)]
    assert alice.take() == []
    bob.send("PRIVMSG #c :plain text still goes")
    alice.send("NOTICE #c :ops may")
    assert [m.params[-1] for m in alice.take()] == ["plain text still goes"]
    assert [m.params[-1] for m in bob.take()] == ["ops may"]


def test_no_ctcp_but_action(harness: Harness) -> None:
    alice, bob = channel_with(harness, "+C", "bob")
    bob.send(f"PRIVMSG #c :{VERSION}", "PRIVMSG #c :\x01PING 123\x01", "NOTICE #c :\x01TIME\x01")
    reason = ("#c", "Cannot send to channel (+C): no CTCPs except ACTION")
    assert replies(bob) == [("404", reason), ("404", reason)]  # the NOTICE: silently dropped
    bob.send(f"PRIVMSG #c :{ACTION}", "PRIVMSG #c :\x01action\x01", "PRIVMSG #c :no ctcp")
    assert bob.take() == []
    alice.send(f"PRIVMSG #c :{VERSION}")  # channel operators are exempt
    assert [m.params[-1] for m in alice.take()] == [ACTION, "\x01action\x01", "no ctcp"]
    assert [m.params[-1] for m in bob.take()] == [VERSION]


async def test_live_modes_over_a_socket(live_server, live_client) -> None:
    alice = await (await live_client(live_server.port)).register("alice")
    bob = await (await live_client(live_server.port)).register("bob")
    try:
        await alice.send("JOIN #ham", "MODE #ham +RCTM")
        assert (await alice.expect("MODE")).params == ("#ham", "+RCTM")
        await bob.send("JOIN #ham")
        assert (await bob.expect("477")).params[1] == "#ham"
        await alice.send("INVITE bob #ham")
        await bob.expect("INVITE")
        await bob.send("JOIN #ham")
        await bob.expect("366")
        await bob.send("PRIVMSG #ham :no account")
        assert "(+M)" in (await bob.expect("404")).params[-1]
        await alice.send("MODE #ham -M")
        await bob.expect("MODE")
        await bob.send("NOTICE #ham :beep")
        assert "(+T)" in (await bob.expect("404")).params[-1]
        await bob.send(f"PRIVMSG #ham :{VERSION}", f"PRIVMSG #ham :{ACTION}")
        assert "(+C)" in (await bob.expect("404")).params[-1]
        relayed = await alice.expect("PRIVMSG")
        assert relayed.source.startswith("bob!") and relayed.params == ("#ham", ACTION)
    finally:
        await alice.close()
        await bob.close()
