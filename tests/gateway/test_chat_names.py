"""Names on air under the third-party rule (issue 19, finding 8): a nick or a channel
chosen by an IRC user who may not be on air never reaches the air."""

from __future__ import annotations

from gateway.session import chat
from gateway.session.chatnames import VouchedNicks
from gateway.session.chatstate import MAX_REPLIES
from tests.gateway.test_chat import Harness, joined

ANON = ":uspam!u@192.0.2.9"
HAM = "@account=K1ABC :K1ABC!k@irc.example"


def identified(**kw: object) -> Harness:
    """A session on the embedded server (callsign nicks kept for their accounts)."""
    kw = {"third_party": "identified", "callsign_nicks_kept": True, **kw}
    h = Harness(**kw).login()
    h.type("/alert on")
    joined(h)
    h.text()
    return h


def test_alerts_name_no_one_the_rule_keeps_off_the_air() -> None:
    h = identified()
    h.server(f"{ANON} JOIN #test", f"{ANON} NICK MK08nick")
    assert h.text() == "* someone joined #test\n* someone changed nick\n"
    h.server(":MK08nick!u@192.0.2.9 PART #test :MK08 part text", ":MK08nick!u@192.0.2.9 QUIT :q")
    assert h.text() == "* someone left #test\n* someone quit\n"
    # A user seen logged in is named, across a nick change; a JOIN without the account
    # (someone else took the nick meanwhile) takes that back.
    h.server(f"{HAM} JOIN #test", ":K1ABC!k@irc.example NICK K1ABC_away")
    assert h.text() == "* K1ABC joined #test\n* K1ABC is now K1ABC_away\n"
    h.server(":K1ABC_away!k@irc.example PART #test")
    assert h.text() == "* K1ABC_away left #test\n"
    h.server(":K1ABC_away!x@192.0.2.9 JOIN #test", ":K1ABC_away!x@192.0.2.9 NICK MK08again")
    assert h.text() == "* someone joined #test\n* someone changed nick\n"
    # A callsign nick is a logged-in ham's where the server keeps it for its account.
    h.now += 300  # (/ALERT lines are paced: a few at once, then one every 30 s)
    h.server(":K2DEF-1!k@ax25.vhf.radio PART #test", ":K3GHI!k@192.0.2.7 PART #test")
    assert h.text() == "* K2DEF-1 left #test\n* K3GHI left #test\n"


def test_callsign_nicks_are_named_only_where_the_server_keeps_them() -> None:
    # On an external network anyone may hold a callsign nick: only one seen on allowed
    # text is named. Under `radio`, only radio users are (a radio host).
    for kw, shown in (
        ({"callsign_nicks_kept": False}, "* someone left #test\n* someone left #test\n"),
        ({"third_party": "radio"}, "* K2DEF-1 left #test\n* someone left #test\n"),
    ):
        h = identified(**kw)
        h.server(":K2DEF-1!k@ax25.vhf.radio PART #test", ":K3GHI!k@192.0.2.7 PART #test")
        assert h.text() == shown, kw


def test_kicks_and_kills_by_someone_the_rule_keeps_off_the_air() -> None:
    h = identified()
    h.server(f"{ANON} KICK #test MK09nick :MK08 reason")
    assert h.text() == "* someone was kicked from #test\n"
    h.server(":MK08nick!u@192.0.2.9 KICK #test N0TEST-5 :MK08 reason")
    assert h.text() == "Kicked from #test by someone.\n"
    h.server(":MK08oper!o@192.0.2.9 KILL N0TEST-5 :MK08 reason")
    assert h.text() == "Killed by someone.\n"
    h.server(":irc.test KILL N0TEST-5 :Spam filter")  # the server's own: the sysop's words
    assert h.text() == "Killed by irc.test: Spam filter\n"


def test_list_and_who_show_only_names_the_user_or_the_sysop_chose() -> None:
    h = identified(archived=frozenset({"#news"}))
    h.type("/li")
    h.server(
        ":irc.test 322 N0TEST-5 #test 2 :",
        ":irc.test 322 N0TEST-5 #news 1 :",
        ":irc.test 322 N0TEST-5 #MK17channelname 1 :",
    )
    h.pong()
    assert h.text() == "#test (2)\n#news (1)\n+1 other channel, not named here.\n"
    h.server(f"{HAM} PRIVMSG #test :hello")
    h.text()
    h.type("/w")
    h.server(
        ":irc.test 352 N0TEST-5 #test n0test bpq.radio irc.test N0TEST-5 H :0 x",
        ":irc.test 352 N0TEST-5 #test k irc.example irc.test K1ABC G :0 x",
        ":irc.test 352 N0TEST-5 #test u 192.0.2.9 irc.test MK08nick H :0 x",
        ":irc.test 352 N0TEST-5 #test k ax25.vhf.radio irc.test K2DEF-1 H :0 x",
    )
    h.pong()
    assert h.text() == "#test (4): N0TEST-5 K1ABC+ K2DEF-1, 1 other\n"


def test_a_channel_the_user_did_not_join_is_left() -> None:
    h = identified()
    # RENAME without draft/channel-rename: the member sees a PART and a JOIN.
    h.server(":N0TEST-5!n0test@bpq.radio PART #test", ":N0TEST-5!n0test@bpq.radio JOIN #MK17x")
    assert h.irc[-1] == "PART #MK17x :Put here without /JOIN; left (third-party rule)"
    assert h.other[-1] == chat.LeftUnasked("#MK17x")  # operators hear of it (snomask p)
    assert h.text() == (
        "Removed from #test by an operator.\n"
        "Put in a channel you did not join; left it (third-party rule).\n"
    )
    h.type("/c")
    assert "MK17" not in h.text()
    # What the server still says of it before the PART is done names it: not shown.
    h.server(
        f"{HAM} PRIVMSG #MK17x :hello",
        f"{HAM} JOIN #MK17x",
        f"{HAM} TOPIC #MK17x :a topic",
        f"{ANON} KICK #MK17x N0TEST-5 :bye",
    )
    assert h.text() == ""
    # A server's notice to a channel's members quotes nicks (InspIRCd's invite notice).
    h.server(":irc.test NOTICE @#test :*** MK08nick invited MK09nick into the channel")
    assert h.text() == ""


def test_joining_forgets_who_was_vouched_for_elsewhere() -> None:
    h = identified(callsign_nicks_kept=False)  # an external network
    h.server(f"{HAM} PRIVMSG N0TEST-5 :hi")
    h.text()
    h.type("/j #other")
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #other", ":irc.test 353 N0TEST-5 = #other :@K1ABC")
    h.pong()
    h.text()
    h.server(":K1ABC!x@192.0.2.9 NICK MK08nick")  # maybe not the K1ABC seen before
    assert h.text() == "* someone changed nick\n"


def test_joining_a_channel_too_large_to_keep_forgets_everyone_vouched_for() -> None:
    h = identified(callsign_nicks_kept=False)
    h.server(f"{HAM} PRIVMSG N0TEST-5 :hi")
    h.text()
    h.type("/j #huge")
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #huge")
    # K1ABC is in a NAMES line past the replies the session keeps.
    h.server(*[f":irc.test 353 N0TEST-5 = #huge :u{i}" for i in range(MAX_REPLIES)])
    h.server(":irc.test 353 N0TEST-5 = #huge :@K1ABC")
    h.pong()
    assert h.text().startswith(f"Joined #huge, {MAX_REPLIES}+ users.")  # no more counted
    h.server(":K1ABC!x@192.0.2.9 NICK MK08nick")
    assert h.text() == "* someone changed nick\n"


def test_under_all_every_name_is_shown() -> None:
    h = Harness(third_party="all").login()
    h.type("/alert on")
    joined(h)
    h.text()
    h.server(f"{ANON} JOIN #test", f"{ANON} NICK MK08nick")
    assert h.text() == "* uspam joined #test\n* uspam is now MK08nick\n"


def test_the_vouched_table_is_bounded() -> None:
    table = VouchedNicks(limit=3)
    for i in range(5):
        table.saw(f"n{i}", True)
    assert len(table) == 3 and "n0" not in table and "n4" in table
    table.renamed("n4", "m4", False)
    assert "m4" in table and "n4" not in table
    table.saw("m4", False)
    assert "m4" not in table


def test_a_kill_or_ban_reason_is_not_in_the_farewell() -> None:
    from gateway.session import chat

    h = identified()
    h.run(h.core.irc_closed("Closing Link: bpq.radio (Killed (MK08oper (MK08 words)))", h.now))
    farewells = [a.farewell for a in h.other if isinstance(a, chat.Close)]
    assert farewells == ["IRC connection closed (Killed)."]
    h = Harness(third_party="all").login()
    h.run(h.core.irc_closed("Closing Link: bpq.radio (K-lined: MK08 words)", h.now))
    farewells = [a.farewell for a in h.other if isinstance(a, chat.Close)]
    assert farewells == ["IRC connection closed (Closing Link: bpq.radio (K-lined: MK08 words))."]


def test_a_quit_reason_keeps_no_operators_words() -> None:
    h = identified()
    # A server that tags QUIT with the account (account-tag on every message).
    h.server(f"{HAM} JOIN #test")
    h.text()
    h.server("@account=K1ABC :K1ABC!k@irc.example QUIT :Killed (MK08oper (MK08 words))")
    assert h.text() == "* K1ABC quit (Killed)\n"


def test_a_forward_does_not_name_the_channel_it_sends_to() -> None:
    h = identified()
    h.type("/j #full")
    h.server(":irc.test 470 N0TEST-5 #full #MK17fwd :Forwarding to #MK17fwd")
    h.pong()
    assert h.text() == "Could not join #full.\n"
    h.server(":irc.test 470 N0TEST-5 #full #MK17fwd :Forwarding to #MK17fwd")
    assert h.text() == "#full: forwarded to another channel\n"


def test_a_private_message_past_the_live_bound_keeps_its_senders_account() -> None:
    from gateway.session import chat

    h = Harness(queue_lines=1).login()
    h.run = lambda actions: h.other.extend(actions)  # type: ignore[method-assign]
    for i in range(3):  # the link takes nothing: the second and third overflow
        h.server(f"@account=K9EVIL :NOTEST!e@irc.example PRIVMSG N0TEST-5 :code please {i}")
    held = [a for a in h.other if isinstance(a, chat.HoldMail)]
    assert held and all((a.sender, a.account) == ("NOTEST", "K9EVIL") for a in held)
