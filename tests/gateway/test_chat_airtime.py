"""Bytes on air (issue 18): a sender's name is not repeated on the line right under
theirs (unless the user asks for it, /SHOWNAMES), trailing spaces are not sent; and
/TOPIC names who set a topic it may show."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.session import chat
from gateway.session.chatanswers import history_lines, last_sayer
from gateway.session.chatcommands import resolve
from gateway.session.outbox import Outbox
from gateway.session.render import nick_for
from ircd.protocol import parse_line
from tests.gateway.test_chat import CALL, SERVICE, Harness, joined


def test_a_sender_right_under_their_own_line_is_not_named_again() -> None:
    h = Harness().login()
    joined(h)
    h.server(
        ":alice!a@h PRIVMSG #test :one",
        ":alice!a@h PRIVMSG #test :two",
        ":ALICE!a@h PRIVMSG #test :three",  # the same nick, as the server folds it
        ":bob!b@h PRIVMSG #test :four",
        ":alice!a@h PRIVMSG #test :five",
        ":alice!a@h PRIVMSG N0TEST-5 :private",
        ":alice!a@h PRIVMSG #test :six",
        ":alice!a@h PRIVMSG #test :\x01ACTION waves\x01",
        ":alice!a@h PRIVMSG #test :seven",
        ":alice!a@h NOTICE #test :a notice",
        ":alice!a@h NOTICE #test :another",
        ":alice!a@h PRIVMSG #test :eight",
    )
    assert h.text() == (
        "alice: one\n: two\n: three\nbob: four\nalice: five\n*alice* private\nalice: six\n"
        "* alice waves\nalice: seven\n-alice- a notice\n-alice- another\nalice: eight\n"
    )


def test_a_typed_line_an_answer_or_another_channel_names_the_sender_again() -> None:
    h = Harness(width=30).login()
    joined(h)
    joined(h, "#other")
    h.type("/c #test")
    h.text()
    h.server(":alice!a@h PRIVMSG #test :one")
    h.type("my own line, echoed on the user's screen")
    h.server(":alice!a@h PRIVMSG #test :two", ":alice!a@h PRIVMSG #test :three")
    h.type("/c")
    h.server(":alice!a@h PRIVMSG #test :four")
    h.server(":alice!a@h PRIVMSG #other :five", ":alice!a@h PRIVMSG #other :six")
    h.server(":alice!a@h PRIVMSG #test :a line long enough to be wrapped here   ")
    assert h.text() == (
        "alice: one\nalice: two\n: three\nChannels: *#test #other\nalice: four\n"
        "#other alice: five\n"
        "#other alice: six\nalice: a line long enough to\n  be wrapped here\n"
    )
    h.server(":alice!a@h PRIVMSG #test :and a second long line, wrapped")
    assert h.text() == ": and a second long line,\n  wrapped\n"  # measured as shown
    h.type("/stamp on")
    h.text()
    h.server(":alice!a@h PRIVMSG #test :x", ":alice!a@h PRIVMSG #test :y")
    first, second = h.text().splitlines()
    assert first.endswith(" alice: x") and second[5:] == " : y"  # HH:MM : y


def test_which_line_is_above_is_decided_as_lines_leave() -> None:
    box = Outbox(max_chat=10)
    box.chat("#a", "alice: 1\n", "#a alice", ": 1\n")
    box.chat("#a", "alice: 2\n", "#a alice", ": 2\n")
    assert box.take(9) == "alice: 1\n"  # 2 waits for the next chunk
    box.typed()  # meanwhile the user typed a line: it is on screen above 2
    assert box.take(100) == "alice: 2\n"
    box.chat("#a", "alice: 3\n", "#a alice", ": 3\n")
    box.reply("an answer\n")
    box.chat("#a", "alice: 4\n", "#a alice", ": 4\n")
    assert box.take(100) == ": 3\nan answer\nalice: 4\n"
    box.reply("the last line of a channel's history\n")
    box.said_last("#a alice")
    box.chat("#a", "alice: 5\n", "#a alice", ": 5\n")
    assert box.take(100) == "the last line of a channel's history\n: 5\n"


#: One step of what happens to an outbox: a line of alice or bob in #a, an answer, a
#: note, the user typing, a chunk leaving (of at most n bytes), a listing held/released.
_STEP = st.one_of(
    st.tuples(st.just("chat"), st.sampled_from(["alice", "bob"])),
    st.tuples(st.sampled_from(["reply", "note", "typed", "hold", "release"]), st.just("")),
    st.tuples(st.just("take"), st.integers(1, 40)),
)
_LINE = re.compile(r"(alice|bob)?: (\d+)")


@settings(max_examples=300, deadline=None)
@given(st.lists(_STEP, max_size=60), st.integers(1, 8))
def test_a_short_line_always_continues_the_line_that_left_just_before_it(
    steps: list[tuple[str, object]], max_chat: int
) -> None:
    """`: n` appears exactly when the line that left just before is the same sender's in
    the same channel and the user typed nothing since: whatever the chunking, holding
    or overflow, it never stands for anyone else, nor right under a typed line the
    gateway knew of."""
    box = Outbox(max_chat)
    runs: dict[str, str] = {}
    above: str | None = None  # the run of the last line that left (None: no one's)
    typed = False
    for i, (what, arg) in enumerate(steps):
        if what == "chat":
            runs[str(i)] = f"#a {arg}"
            box.chat("#a", f"{arg}: {i}\n", f"#a {arg}", f": {i}\n")
        elif what == "reply":
            box.reply(f"answer {i}\n")
        elif what == "note":
            box.note(f"note {i}\n")
        elif what == "typed":
            box.typed()
            typed = True
        elif what == "hold":
            box.hold()
        elif what == "release":
            box.release()
        else:
            for line in box.take(int(str(arg))).splitlines():
                said = _LINE.fullmatch(line)
                run = runs[said.group(2)] if said else None
                if said:
                    assert (said.group(1) is None) == (run == above and not typed), line
                above, typed = run, False


def test_while_reading_is_paused_every_line_names_its_sender() -> None:
    """The session stops reading past MAX_TYPED_AHEAD lines waiting: what the user types
    then waits at the node or the TNC, already on their screen, unknown to the gateway."""
    for ahead, second in (
        (chat.MAX_TYPED_AHEAD - 1, ": two\n"),
        (chat.MAX_TYPED_AHEAD, "alice: two\n"),
    ):
        h = Harness().login()
        joined(h)
        h.type("/w")  # its answer is awaited: what is typed meanwhile waits its turn
        for n in range(ahead):
            h.type(f"line {n}")
        assert h.core.wants_input == (ahead < chat.MAX_TYPED_AHEAD)
        h.server(":alice!a@h PRIVMSG #test :one", ":alice!a@h PRIVMSG #test :two")
        assert h.text() == "alice: one\n" + second


def test_join_history_names_a_sender_once_and_live_lines_follow_on() -> None:
    h = Harness().login()
    h.type("/j #test")
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #test",
        "@batch=b1;time=2026-12-07T02:41:00.000Z :alice!a@h PRIVMSG #test :one",
        "@batch=b1;time=2026-12-07T02:41:00.000Z :alice!a@h PRIVMSG #test :two",
    )
    h.pong()
    assert h.text() == "Joined #test, 0 users.\n02:41 alice: one\n: two\n"
    h.server(":alice!a@h PRIVMSG #test :three", ":bob!b@h PRIVMSG #test :four")
    assert h.text() == ": three\nbob: four\n"
    h.type("/j #test2")
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #test2",
        "@batch=b1 :alice!a@h PRIVMSG #test2 :\x01ACTION waves\x01",
    )
    h.pong()
    h.server(":alice!a@h PRIVMSG #test2 :after an action")
    assert h.text().endswith("* alice waves\nalice: after an action\n")


def test_replayed_lines_name_a_sender_again_after_anyone_else() -> None:
    lines = [
        ":alice!a@h PRIVMSG #t :one",
        ":bob!b@h PRIVMSG #t :two",
        ":bob!b@h PRIVMSG #t :three",
        ":bob!b@h NOTICE #t :a notice",
        ":bob!b@h PRIVMSG #t :four",
        ":carol!c@h PRIVMSG #t :\x01VERSION\x01",  # not shown: bob is still above
        ":bob!b@h PRIVMSG #t :five",
    ]
    replies = [parse_line(line.encode()) for line in lines]
    assert history_lines(replies, 80) == [
        "alice: one", "bob: two", ": three", "bob: a notice", "bob: four", ": five"
    ]  # fmt: skip
    assert last_sayer(replies) == "bob"
    assert last_sayer(replies[:4]) is None  # a notice: the next line names its sender
    assert last_sayer(replies, lambda m: m.source is not None and "bob" not in m.source) == (
        "alice"
    )


def _topic(h: Harness, setter: str) -> str:
    h.type("/t")
    h.server(
        ":irc.test 332 N0TEST-5 #test :the net is at 19:00",
        f":irc.test 333 N0TEST-5 #test {setter} 1700000000",
    )
    h.pong()
    return h.text()


NOT_RELAYED = "This topic is not relayed on air here (third-party rule).\n"


def test_a_topic_set_before_the_user_joined_shows_with_its_setter() -> None:
    # The embedded server keeps callsign nicks for their accounts: whoever held one
    # when setting the topic was logged in to that callsign, an identified user.
    h = Harness(third_party="identified", callsign_nicks_kept=True).login()
    joined(h)
    assert _topic(h, "K1ABC!k@irc.example") == (
        "Topic of #test, set by K1ABC: the net is at 19:00\n"
    )
    assert _topic(h, "_2E0ABC!u@ax25.vhf.radio") == (
        "Topic of #test, set by 2E0ABC: the net is at 19:00\n"
    )
    assert _topic(h, "alice!a@irc.example") == NOT_RELAYED  # its account is not known
    assert _topic(h, "irc.test") == NOT_RELAYED  # a server's (or a bare nick)
    h.type("/j #next")
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #next",
        ":irc.test 332 N0TEST-5 #next :set an hour ago",
        ":irc.test 333 N0TEST-5 #next K1ABC!k@irc.example 1700000000",
    )
    h.pong()
    assert h.text() == "Joined #next, 0 users. Topic: set an hour ago\n"
    # Under `radio`, only a radio user's: a callsign nick at a radio host.
    h = Harness(third_party="radio", callsign_nicks_kept=True).login()
    joined(h)
    assert _topic(h, "K1ABC!k@irc.example") == NOT_RELAYED
    assert _topic(h, "K2DEF-1!k@ax25.vhf.radio") == (
        "Topic of #test, set by K2DEF-1: the net is at 19:00\n"
    )
    # Where the server remembers the setter's account (the embedded one), an identified
    # user's topic shows under `identified` whatever their nick, while it is unchanged.
    accounts = {("#test", "the net is at 19:00"): "ALICE"}
    h = Harness(third_party="identified", topic_account=lambda c, t: accounts.get((c, t)))
    h.login()
    joined(h)
    assert _topic(h, "alice!a@irc.example") == (
        "Topic of #test, set by alice: the net is at 19:00\n"
    )
    accounts.clear()  # changed since (or set by someone not logged in)
    assert _topic(h, "bob!b@irc.example") == NOT_RELAYED
    # On a network that does not keep callsign nicks, a nick proves nothing.
    h = Harness(third_party="identified").login()
    joined(h)
    assert _topic(h, "K1ABC!k@irc.example") == NOT_RELAYED
    h = Harness(third_party="all").login()
    joined(h)
    assert _topic(h, "alice!a@irc.example") == (
        "Topic of #test, set by alice: the net is at 19:00\n"
    )


def test_shownames_names_every_line_and_is_kept_for_the_next_login() -> None:
    h = Harness().login()
    h.type("/sh on")
    assert h.text() == "ShowNames on.\n"
    assert [(a.key, a.value) for a in h.other if isinstance(a, chat.SavePref)] == [("shownames", 1)]
    h.type("/j #test")
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #test",
        "@batch=b1;time=2026-12-07T02:41:00.000Z :alice!a@h PRIVMSG #test :one",
        "@batch=b1;time=2026-12-07T02:41:00.000Z :alice!a@h PRIVMSG #test :two",
    )
    h.pong()
    h.server(":alice!a@h PRIVMSG #test :three", ":alice!a@h PRIVMSG #test :four")
    assert h.text() == (
        "Joined #test, 0 users.\n02:41 alice: one\nalice: two\nalice: three\nalice: four\n"
    )
    h.type("/sh")  # toggles, as /STAMP does
    h.server(":alice!a@h PRIVMSG #test :five", ":alice!a@h PRIVMSG #test :six")
    assert h.text() == "ShowNames off.\nalice: five\n: six\n"
    h.type("/sh maybe")
    assert h.text() == "Usage: /SHOWNAMES [ON|OFF]\n"
    # The next login restores it; without it kept, the short form is the default.
    for kept, second in (({"shownames": 1}, "alice: y\n"), ({}, ": y\n")):
        again = Harness()
        again.type("123456")
        again.run(again.core.checked(True, again.now))
        again.run(again.core.chat_started(again.now, nick_for(CALL), 0, prefs=kept))
        joined(again)
        again.text()
        again.server(":alice!a@h PRIVMSG #test :x", ":alice!a@h PRIVMSG #test :y")
        assert again.text() == "alice: x\n" + second


def test_slash_alone_own_topic_and_private_actions_cost_one_short_line() -> None:
    h = Harness().login()
    h.type("/")  # not the list of every command
    assert h.text() == "/? for help.\n"
    for prefix in ("", "N", "NO", "L"):  # a hidden command is never in an ambiguous list
        found = resolve(prefix)
        assert not isinstance(found, list) or all(c.name != "NOTME" for c in found)
    joined(h)
    h.type("/t new topic")
    h.server(":N0TEST-5!n0test@bpq.radio TOPIC #test :new topic")  # the server's echo
    h.pong()
    assert h.text() == "Topic set.\n"
    h.server(":alice!a@h TOPIC #test :hers")  # someone else's is still shown
    assert h.text() == "#test topic by alice: hers\n"
    h.server(
        ":alice!a@h PRIVMSG N0TEST-5 :\x01ACTION waves\x01",
        ":alice!a@h PRIVMSG #test :\x01ACTION waves\x01",
    )
    assert h.text() == "*alice* * waves\n* alice waves\n"  # private ones are marked


def test_a_private_notice_is_marked_as_private_for_two_bytes() -> None:
    h = Harness().login()
    joined(h)
    h.server(":alice!a@h NOTICE N0TEST-5 :just you", ":alice!a@h NOTICE #test :all of you")
    # A channel's notice and a private one no longer look alike: the private mark around
    # the notice's.
    assert h.text() == "*-alice-* just you\n-alice- all of you\n"
    # The gateway's own service notices are private by nature: they go unmarked; not
    # other sources the gateway trusts (a peer gateway's radio user on a network).
    peer = "N1PEER-5!radio@peer.gw"
    h = Harness(trusted=lambda source: source in {SERVICE, peer}).login()
    joined(h)
    h.server(f":{SERVICE} NOTICE N0TEST-5 :Message held", f":{peer} NOTICE N0TEST-5 :hi")
    assert h.text() == "-Gateway- Message held\n*-N1PEER-5-* hi\n"
