"""The chat session core without sockets or sleeping: an injected clock, scripted IRC."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.callsign import Callsign
from gateway.chatstore import Archived, Mail
from gateway.session import chat
from gateway.session.chatanswers import MAX_CHANNELS_SHOWN, fetched_lines, history_lines
from gateway.session.chatcommands import COMMANDS, resolve
from gateway.session.chatstate import MAX_REPLIES
from gateway.session.outbox import Outbox
from gateway.session.render import callsign_text, nick_for, nick_from_typed
from ircd.casemap import ASCII, RFC1459, folder
from ircd.protocol import parse_line

CALL = Callsign("N0TEST", 5)
#: The gateway's service client as the server shows it (trusted by its full source).
SERVICE = "Gateway!gateway@gateway.radio"


class Harness:
    """Drives a ChatSession: the link is always ready, IRC answers come from the test."""

    def __init__(self, **kw: object) -> None:
        self.now = 1_000_000.0
        base = {"chunk_bytes": 1 << 16, "third_party": "all", "trusted": SERVICE.__eq__}
        base.update(kw)
        self.core = chat.ChatSession(
            chat.Settings(**base),  # type: ignore[arg-type]
            self.now,
            known_callsign=CALL,
        )
        self.out: list[str] = []
        self.irc: list[str] = []
        self.other: list[chat.Action] = []
        self.run(self.core.start(self.now))

    def run(self, actions: list[chat.Action]) -> None:
        starts = []
        for a in actions:
            if isinstance(a, chat.Say):
                self.out.append(a.text)
                self.run(self.core.drained(self.now))
            elif isinstance(a, chat.Irc) and a.line.startswith("PING :start-"):
                starts.append(a.line)  # the server answers it before the command
            elif isinstance(a, chat.Irc):
                self.irc.append(a.line)
            else:
                self.other.append(a)
        for line in starts:
            pong = f":irc.test PONG irc.test :{line.split(':', 1)[1]}"
            self.run(self.core.irc(parse_line(pong.encode()), self.now))

    def login(self) -> Harness:
        self.type("123456")
        assert isinstance(self.other.pop(), chat.CheckCode)
        self.run(self.core.checked(True, self.now))
        assert isinstance(self.other.pop(), chat.LoggedIn)
        self.run(self.core.chat_started(self.now, nick_for(CALL), 0))
        self.text()
        self.irc.clear()
        return self

    def type(self, line: str) -> None:
        self.run(self.core.line(line, self.now))

    def server(self, *lines: str) -> None:
        for line in lines:
            self.run(self.core.irc(parse_line(line.encode()), self.now))

    def pong(self) -> None:
        """Answer the session's PING: its command is complete."""
        token = next(x for x in reversed(self.irc) if x.startswith("PING :")).split(":", 1)[1]
        self.server(f":irc.test PONG irc.test :{token}")

    def text(self) -> str:
        out, self.out = "".join(self.out), []
        return out

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.run(self.core.tick(self.now))


def joined(h: Harness, channel: str = "#test") -> None:
    h.type(f"/j {channel}")
    h.server(
        f":N0TEST-5!n0test@bpq.radio JOIN {channel}",
        f":irc.test 353 N0TEST-5 = {channel} :N0TEST-5 alice",
    )
    h.pong()
    h.text()
    h.irc.clear()


# -- commands and prefixes ----------------------------------------------------------------------


def test_prefixes_and_shortest_forms() -> None:
    assert resolve("J").name == "JOIN" and resolve("jo").name == "JOIN"
    assert resolve("A").name == "ALERT" and resolve("AW").name == "AWAY"
    assert resolve("S").name == "S" and resolve("ST").name == "STAMP"
    assert resolve("?").name == "HELP" and resolve("B").name == "BYE"
    assert [c.name for c in resolve("L")] == ["LEAVE", "LIST"]  # ambiguous: both named
    assert resolve("XYZZY") == []
    for command in COMMANDS.values():  # every shortest form names its own command
        assert resolve(command.shortest) is command


def test_help_fits_one_screen_and_explains_one_command() -> None:
    h = Harness().login()
    h.type("/?")
    assert 10 < len(h.text().splitlines()) <= 24
    h.type("/? j")
    assert h.text() == "/J[OIN] #chan: join a channel; it becomes current (/J 22 = #22)\n"
    h.type("/help /le")
    assert h.text().startswith("/LE[AVE]")


def test_bare_words_before_a_channel_then_text_is_chat() -> None:
    h = Harness().login()
    h.type("hello")
    assert "no channel" in h.text()
    h.type("i")
    assert "You are N0TEST-5" in h.text()
    joined(h)
    h.type("hello all")
    assert h.irc == ["PRIVMSG #test :hello all"]
    h.type("/L")
    assert "ambiguous: /LEAVE /LIST" in h.text()
    h.type("b")  # in a channel, a bare word is chat
    assert h.irc[-1] == "PRIVMSG #test :b"
    h.type("/b")
    assert isinstance(h.other[-1], chat.Close) and h.other[-1].farewell == "73!"


def test_msg_s_join_number_topic_away() -> None:
    h = Harness().login()
    h.type("/m 2E0ABC hi there")
    h.type("/S k1abc 73")
    assert h.irc == ["PRIVMSG _2E0ABC :hi there", "PRIVMSG k1abc :73"]
    h.irc.clear()
    h.type("/J 22")
    assert h.irc[0] == "JOIN #22"
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #22", ":irc.test 332 N0TEST-5 #22 :Net at 8")
    h.pong()
    assert h.text().startswith("Joined #22, 0 users. Topic: Net at 8")
    h.type("/aw gone fishing")
    assert h.irc[-2] == "AWAY :gone fishing"
    h.server(":irc.test 306 N0TEST-5 :You have been marked as being away")
    h.pong()
    assert h.text() == "You are away.\n"


# -- nick mapping -------------------------------------------------------------------------------


def test_nick_mapping_is_reversible() -> None:
    assert nick_for(Callsign("KN4XYZ", 5)) == "KN4XYZ-5"
    assert nick_for(Callsign("2E0ABC")) == "_2E0ABC"
    assert nick_for(Callsign("9A1AA", 2)) == "_9A1AA-2"
    for call in ("KN4XYZ-5", "2E0ABC", "9A1AA-2"):
        assert callsign_text(nick_from_typed(call)) == call
    assert callsign_text("_alice") == "_alice"  # an ordinary nick is left alone


# -- rendering ------------------------------------------------------------------------------------


def test_formats_for_current_other_private_action() -> None:
    h = Harness().login()
    joined(h, "#test")
    joined(h, "#other")
    h.type("/c #test")
    h.text()
    h.server(
        ":alice!a@h PRIVMSG #test :\x0304red\x03 and \x02bold\x02 caf\u00e9",
        ":bob!b@h PRIVMSG #other :over here",
        ":_2E0ABC!u@ax25.vhf.radio PRIVMSG N0TEST-5 :psst",
        ":alice!a@h PRIVMSG #test :\x01ACTION waves\x01",
        ":alice!a@h PRIVMSG #test :\x01VERSION\x01",
    )
    assert h.text() == (
        "alice: red and bold cafe\n#other bob: over here\n*2E0ABC* psst\n* alice waves\n"
    )


def test_wrapping_and_stamp() -> None:
    h = Harness(width=20).login()
    joined(h)
    h.type("/stamp")
    assert h.text() == "Stamp on.\n"
    h.server(":alice!a@h PRIVMSG #test :one two three four five six")
    lines = h.text().splitlines()
    assert all(len(x) <= 20 for x in lines) and lines[1].startswith("  ")
    assert lines[0][:2].isdigit() and lines[0][2] == ":"


def test_alert_shows_joins_and_parts() -> None:
    h = Harness().login()
    joined(h)
    h.server(":bob!b@h JOIN #test")
    assert h.text() == ""
    h.type("/a on")
    h.text()
    h.server(":bob!b@h JOIN #test", ":bob!b@h PART #test :bye")
    assert h.text() == "* bob joined #test\n* bob left #test\n"
    joined(h, "#other")
    h.type("/c #test")
    h.text()
    h.server(":bob!b@h JOIN #other")  # names its channel once, current or not
    assert h.text() == "* bob joined #other\n"


def test_one_user_leaving_and_joining_all_day_is_shown_a_few_times() -> None:
    """/ALERT lines: a few at once, then one every 30 s; the rest are counted and the
    count told with the next one (airtime review, finding 1: 3000 bytes a minute)."""
    from gateway.session.chatstate import ALERT_BURST, ALERT_EVERY

    h = Harness().login()
    joined(h)
    h.type("/a on")
    h.text()
    for _ in range(30):  # 60 lines, at the server's flood rate
        h.server(":evil!e@h PART #test", ":evil!e@h JOIN #test")
        h.now += 1.0
    shown = h.text().splitlines()
    assert len(shown) == ALERT_BURST  # the burst; 29 s later no token is back yet
    h.now += ALERT_EVERY
    h.server(":evil!e@h PART #test")
    assert h.text() == (
        f"* {60 - len(shown)} more joins, leaves and quits not shown\n* evil left #test\n"
    )


def test_list_shows_counts_and_topics_without_modes() -> None:
    h = Harness().login()
    h.type("/list")
    h.server(":irc.test 322 N0TEST-5 #net 4 :[+nt] Net at 19:00", ":irc.test 322 N0TEST-5 #x 1 :")
    h.pong()
    assert h.text() == "#net (4) Net at 19:00\n#x (1)\n"


def test_a_list_of_a_large_network_keeps_a_bounded_answer_and_says_what_it_left_out() -> None:
    # An external network with 5000 channels: the rows past MAX_REPLIES are counted,
    # not kept, and the answer says how many channels it does not show.
    h = Harness(page_lines=500).login()
    listing(h, 5000)
    text = h.text()
    assert text.count("#ch") == MAX_CHANNELS_SHOWN
    assert text.endswith(f"+{5000 - MAX_CHANNELS_SHOWN} other channels.\n")


def test_a_long_answer_holds_at_most_max_replies() -> None:
    h = Harness().login()
    h.type("/li")
    h.server(*[f":irc.test 322 N0TEST-5 #ch{i} {i} :" for i in range(3 * MAX_REPLIES)])
    waiting = h.core._waiting
    assert waiting is not None and len(waiting.replies) == MAX_REPLIES
    assert waiting.more == {"322": 2 * MAX_REPLIES}


def test_who_of_a_large_channel_counts_every_member() -> None:
    h = Harness(page_lines=1000).login()
    h.type("/who #big")
    h.server(*[
        f":irc.test 352 N0TEST-5 #big u h irc.test K{i}ABC H :0 x" for i in range(1500)
    ])  # fmt: skip
    h.pong()
    text = h.text()
    assert text.startswith("#big (1500): K0ABC K1ABC ")
    assert " ".join(text.split()).endswith(f"K999ABC, {1500 - MAX_REPLIES} others")


# -- third-party traffic ---------------------------------------------------------------------------


def test_third_party_identified_refuses_and_tells_once() -> None:
    h = Harness(third_party="identified").login()
    joined(h)
    h.server(":anon!a@h PRIVMSG #test :unlicensed words", ":anon!a@h PRIVMSG #test :again")
    assert h.text() == ""
    notes = [a for a in h.other if isinstance(a, chat.Notify)]
    assert len(notes) == 1 and notes[0].nick == "anon" and "third-party" in notes[0].text
    h.server("@account=K1ABC :K1ABC!k@h PRIVMSG #test :licensed words")
    assert h.text() == "K1ABC: licensed words\n"
    h.server(":Gateway!gateway@gateway.radio NOTICE N0TEST-5 :held for you")
    assert "held for you" in h.text()


def test_third_party_radio_only() -> None:
    h = Harness(third_party="radio").login()
    joined(h)
    h.server("@account=K1ABC :K1ABC!k@h PRIVMSG #test :from irssi")
    h.server("@account=K2DEF :K2DEF!k@ax25.vhf.radio PRIVMSG #test :from the air")
    assert h.text() == "K2DEF: from the air\n"


# -- paging, interrupting, type-ahead -------------------------------------------------------------


def listing(h: Harness, count: int) -> None:
    h.type("/li")
    rows = [f":irc.test 322 N0TEST-5 #ch{i} {i} :topic {i}" for i in range(count)]
    h.server(*rows)
    h.pong()


def test_paging_enter_n_and_other_lines() -> None:
    h = Harness(page_lines=5).login()
    listing(h, 12)
    first = h.text()
    assert first.count("#ch") == 5 and first.endswith(chat.MORE_PROMPT)
    h.type("")
    assert h.text().count("#ch") == 5
    h.type("n")
    assert h.text() == ""
    listing(h, 12)
    h.text()
    h.type("/who #x")  # anything else ends the listing and runs
    assert h.irc[-2] == "WHO #x"


def test_empty_line_interrupts_a_listing_in_flight_and_type_ahead_waits() -> None:
    h = Harness(page_lines=10, chunk_bytes=40).login()
    h.run = _slow_run(h)  # the link takes one chunk and stays busy
    listing(h, 30)
    assert len(h.out) == 1
    h.type("/who #test")  # typed ahead: waits for the listing
    assert not any(x.startswith("WHO") for x in h.irc)
    h.type("")
    assert "(output stopped)" in h.text_after_drain()
    assert any(x.startswith("WHO #test") for x in h.irc)  # then runs, in turn


def _slow_run(h: Harness):
    def run(actions: list[chat.Action]) -> None:
        starts = []
        for a in actions:
            if isinstance(a, chat.Say):
                h.out.append(a.text)
            elif isinstance(a, chat.Irc) and a.line.startswith("PING :start-"):
                starts.append(a.line)
            elif isinstance(a, chat.Irc):
                h.irc.append(a.line)
            else:
                h.other.append(a)
        for line in starts:
            pong = f":irc.test PONG irc.test :{line.split(':', 1)[1]}"
            run(h.core.irc(parse_line(pong.encode()), h.now))

    def text_after_drain() -> str:
        for _ in range(50):
            run(h.core.drained(h.now))
        return h.text()

    h.text_after_drain = text_after_drain  # type: ignore[attr-defined]
    return run


def test_overflow_is_summarised_and_private_overflow_is_held() -> None:
    h = Harness(queue_lines=3, chunk_bytes=30).login()
    h.run = _slow_run(h)
    joined_ = h.core.channels
    joined_["#test"] = "#test"
    h.core.current = "#test"
    for i in range(10):  # line 0 goes at once, 1-3 wait, 4-9 overflow
        h.server(f":alice!a@h PRIVMSG #test :line {i}")
    for i in range(4):
        h.server(f":bob!b@h PRIVMSG N0TEST-5 :private {i}")
    out = h.text_after_drain()
    assert "line 0" in out and "line 9" not in out
    assert "line 3" in out and "line 4" not in out
    assert "+6 more in #test: /READ #test" in out
    held = [a for a in h.other if isinstance(a, chat.HoldMail)]
    assert [a.text for a in held] == ["private 0", "private 1", "private 2", "private 3"]
    assert "+4 private in your mailbox: /READ" in out


def test_the_mailbox_overflow_line_counts_what_is_in_the_mailbox() -> None:
    h = Harness(queue_lines=2, chunk_bytes=30).login()
    h.run = _slow_run(h)
    for i in range(8):  # 0 goes at once, 1-2 wait, 3-7 go to the mailbox
        h.server(f":bob!b@h PRIVMSG N0TEST-5 :private {i}")
        for hold in [a for a in h.other if isinstance(a, chat.HoldMail)]:
            h.other.remove(hold)  # the mailbox holds it and tells every session at once
            h.run(h.core.mail_arrived(hold.sender, h.now))
    h.run(h.core.mail_arrived("carol", h.now))  # held elsewhere: one more in the mailbox
    out = h.text_after_drain()
    assert out.endswith("*bob* private 2\n+6 private in your mailbox: /READ\n")  # 5 + 1


def test_outbox_bound_holds() -> None:
    box = Outbox(max_chat=2)
    assert box.chat("#a", "1\n") and box.chat("#a", "2\n")
    assert not box.chat("#a", "3\n")
    assert box.take(1000) == "1\n2\n+1 more in #a: /READ #a\n"


# -- timeouts -------------------------------------------------------------------------------------


def test_login_timeout_and_failure_pause() -> None:
    h = Harness(login_timeout=60, failure_pause=2)
    h.type("000000")
    h.run(h.core.checked(False, h.now))
    assert "Login failed." in h.text() and h.core.deadline == h.now + 2
    h.type("111111")  # typed during the pause: dropped, not a guess
    assert not any(isinstance(a, chat.CheckCode) for a in h.other[1:])
    h.advance(2)
    assert h.text() == "Code: "
    h.advance(58)
    assert isinstance(h.other[-1], chat.Close) and h.other[-1].farewell == "Login timed out."


def test_nocall_node_gets_a_callsign_prompt_after_a_second() -> None:
    now = 5000.0
    core = chat.ChatSession(chat.Settings(nocall_wait=1.0), now, callsign_first=True)
    assert core.start(now) == [] and core.deadline == now + 1.0
    assert core.tick(now + 1.0) == [chat.Say("Callsign: ")]
    # A node that sends the callsign at once never shows the prompt.
    core = chat.ChatSession(chat.Settings(intro="N0GW IRC gateway"), now, callsign_first=True)
    core.start(now)
    assert core.line("N0TEST-5", now + 0.1) == [chat.Say("N0GW IRC gateway\nCode: ")]
    assert core.tick(now + 2) == []


def test_idle_timeout_counts_typing_only() -> None:
    h = Harness(idle_timeout=100).login()
    h.advance(90)
    h.server(":alice!a@h PRIVMSG N0TEST-5 :hi")
    h.advance(20)
    assert isinstance(h.other[-1], chat.Close) and "Idle" in (h.other[-1].farewell or "")
    h = Harness(idle_timeout=100).login()
    h.advance(90)
    h.type("/i")
    h.advance(20)
    assert not any(isinstance(a, chat.Close) for a in h.other)


# -- mailbox and archive --------------------------------------------------------------------------


def test_read_kill_new_go_through_the_store() -> None:
    h = Harness(archived=frozenset({"#news"})).login()
    h.type("/r")
    assert h.other[-1] == chat.Fetch("mail")
    h.type("/k 3")  # waits for the first fetch
    assert h.other[-1] == chat.Fetch("mail")
    h.run(h.core.fetched([], h.now))
    assert h.other[-1] == chat.Fetch("kill", number=3)
    h.run(h.core.fetched(True, h.now))
    assert h.text() == "No messages.\nDeleted.\n"
    h.type("/n")
    h.run(h.core.fetched([("#news", 4)], h.now))
    h.type("/read #news 120")
    assert h.other[-1] == chat.Fetch("archive", number=120, channel="#news", limit=20)


def test_bad_numbers_extra_words_and_empty_channels_are_said_so() -> None:
    h = Harness().login()
    h.type("/r 9")  # 50 kept, but no number 9
    assert h.other[-1] == chat.Fetch("mail", number=9)
    h.run(h.core.fetched([], h.now))
    assert h.text() == "No such message.\n"
    h.other.clear()
    for bad in ("/r -1", "/r +3", "/r 1234567890"):  # never taken for a channel's name
        h.type(bad)
        assert h.text() == "No such message.\n" and h.other == []
    h.type("/j #a b c")
    assert h.text() == "One channel at a time: b c ignored.\n"
    assert "JOIN #a" in h.irc
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #a", ":irc.test 353 N0TEST-5 = #a :N0TEST-5")
    h.pong()
    h.text()
    h.type("/w #nonexist")
    h.server(":irc.test 315 N0TEST-5 #nonexist :End of /WHO list.")
    h.pong()
    assert h.text() == "Nobody in #nonexist.\n"


def test_notme_answers_a_note_shown_at_this_login_only() -> None:
    h = Harness().login()
    h.type("/no")
    assert h.text() == "No login was reported to you at this login: nothing to undo.\n"
    assert not any(isinstance(a, chat.Fetch) for a in h.other)
    h = Harness()
    h.type("123456")
    h.run(h.core.checked(True, h.now))
    h.run(
        h.core.chat_started(
            h.now, nick_for(CALL), 0, notes=("New login...", "Not you? /NO"), deniable=True
        )
    )
    h.type("/no")
    assert h.other[-1] == chat.Fetch("notme")


# -- random input never breaks the core -----------------------------------------------------------

_IRC = st.sampled_from(
    [
        ":alice!a@h PRIVMSG #test :hello",
        ":alice!a@h PRIVMSG #test :caf\u00e9 \u65e5\u672c \x1b[31m",
        ":alice!a@h PRIVMSG N0TEST-5 :\x01ACTION x\x01",
        ":alice!a@h NOTICE #test :n",
        ":irc.test 401 N0TEST-5 nobody :No such nick",
        ":irc.test PONG irc.test :bridge1",
        ":irc.test PONG irc.test :bridge2",
        ":alice!a@h KICK #test N0TEST-5 :out",
        ":N0TEST-5!n@h JOIN #test",
        ":irc.test 322 N0TEST-5 #x 3 :t",
        "@batch=b1 :alice!a@h PRIVMSG #test :old",
        "PING :irc.test",
        ":alice!a@h QUIT :gone",
        "ERROR :bye",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40).map(lambda t: ("line", t)),
            st.sampled_from(["/j #test", "/li", "", "/who", "/r", "n", "/b", "/?"]).map(
                lambda t: ("line", t)
            ),
            _IRC.map(lambda t: ("irc", t)),
            st.just(("drained", "")),
            st.floats(0, 2000).map(lambda t: ("tick", t)),
        ),
        max_size=40,
    )
)
def test_random_lines_and_irc_traffic_never_break_the_core(events) -> None:
    h = Harness(page_lines=3, chunk_bytes=64, queue_lines=4)
    h.run = _slow_run(h)
    h.type("123456")
    h.run(h.core.checked(True, h.now))
    h.run(h.core.chat_started(h.now, "N0TEST-5", 1))
    for kind, value in events:
        if kind == "line":
            h.type(value)
        elif kind == "irc":
            h.server(value)
        elif kind == "drained":
            h.run(h.core.drained(h.now))
        else:
            h.advance(value)
        for action in h.other:
            if isinstance(action, chat.Fetch):
                h.other = []
                h.run(h.core.fetched([], h.now))
                break
        assert len(h.core._typed) <= chat.MAX_TYPED_AHEAD + 1
        assert h.core._out._chat <= 4  # live chat stays within its bound
    # The core folds to 7-bit before it wraps (so widths count what goes on air):
    # what it says is printable ASCII already, not only once the transport encodes it.
    for text in h.out:
        assert all(" " <= c <= "~" or c in "\r\n" for c in text), repr(text)


def test_an_earlier_error_is_not_taken_for_the_next_answer() -> None:
    h = Harness().login()
    joined(h)
    h.type("/msg NOBODY hi")  # its 401 comes back while /WHO is already asked
    # The server answers in order: the 401, then the PONG before WHO, WHO's lines, PONG.
    actions = h.core.line("/who", h.now)
    start = next(a.line for a in actions if isinstance(a, chat.Irc) and "start-" in a.line)
    h.run([a for a in actions if not (isinstance(a, chat.Irc) and "start-" in a.line)])
    h.server(":irc.test 401 N0TEST-5 NOBODY :No such nick/channel")
    h.server(f":irc.test PONG irc.test :{start.split(':', 1)[1]}")
    h.server(":irc.test 352 N0TEST-5 #test u h irc.test alice H :0 Alice")
    h.pong()
    assert h.text() == "NOBODY: No such nick/channel\n#test (1): alice\n"


def test_lines_typed_while_a_page_flows_run_once_it_is_out() -> None:
    h = Harness(page_lines=2, chunk_bytes=40).login()
    joined(h)
    h.run = _slow_run(h)
    listing(h, 6)
    h.type("hello")  # typed while page 1 is still going out: not an answer to more?
    h.type("/info")
    assert not any("hello" in x for x in h.irc)
    out = h.text_after_drain()
    assert "PRIVMSG #test :hello" in h.irc  # went to IRC once the page was out
    # /INFO answered below the prompt, then the prompt again: live, the last thing shown.
    assert out.index(chat.MORE_PROMPT) < out.index("You are N0TEST-5")
    assert out.endswith(chat.MORE_PROMPT)
    h.type("n")  # answers the prompt: not a chat line
    assert not any(x.endswith(":n") for x in h.irc)
    assert h.text_after_drain() == ""


def test_a_chat_line_arriving_at_more_is_shown_after_the_answer() -> None:
    h = Harness(page_lines=2).login()
    joined(h)
    listing(h, 6)
    assert h.text().endswith(chat.MORE_PROMPT)
    h.server(":alice!a@h PRIVMSG #test :between")
    assert h.text() == ""  # held: the prompt stays the last thing on screen
    h.type("N")
    assert not any("PRIVMSG" in x for x in h.irc)
    assert h.text() == "alice: between\n"


def test_a_long_answer_leaves_line_by_line_and_an_empty_line_drops_the_rest() -> None:
    h = Harness(page_lines=0, chunk_bytes=40).login()
    h.run = _slow_run(h)
    listing(h, 30)
    assert len(h.out) == 1 and len(h.out[0]) <= 40
    h.type("")
    rest = h.text_after_drain()
    assert rest.endswith("(output stopped)\n") and rest.count("#ch") <= 2


def test_an_empty_line_stops_the_answer_shown_and_keeps_those_typed_after_it() -> None:
    h = Harness(chunk_bytes=40).login()
    h.run = _slow_run(h)  # the link takes one chunk and stays busy
    h.type("/?")  # a screen of help; its first packet is on its way
    assert len(h.out) == 1
    for line in ("/?", "/j #sidefx", "a chat line", "/i"):  # typed ahead in one go
        h.type(line)
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #sidefx",
        ":irc.test 353 N0TEST-5 = #sidefx :N0TEST-5",
    )
    h.pong()
    assert "PRIVMSG #sidefx :a chat line" in h.irc
    h.type("")
    h.type("")  # again before the first has shown: it stops nothing more
    out = h.text_after_drain()
    # The first help stops where it was; the second help, the join and /I all come.
    assert out.count("Commands (") == 2
    assert out.count("/J[OIN] #chan") == 1
    assert out.index("(output stopped)") < out.index("/J[OIN] #chan")
    assert out.index("/J[OIN] #chan") < out.index("Joined #sidefx")
    assert out.index("Joined #sidefx") < out.index("You are N0TEST-5")
    assert out.count("(output stopped)") == 1
    h.type("")  # nothing left to stop: nothing is said
    assert h.text_after_drain() == ""


def test_an_empty_line_during_a_listing_stops_the_answer_being_shown() -> None:
    h = Harness(page_lines=22, chunk_bytes=40).login()  # the help is not paged
    h.run = _slow_run(h)
    listing(h, 70)
    h.type("/?")  # typed while page 1 goes out: answered below the prompt
    for _ in range(22):
        h.run(h.core.drained(h.now))  # the page and its prompt are out; /? runs
    assert h.text().count("Commands (") == 1
    h.type("")  # stops the help being shown, not the listing
    out = h.text_after_drain()
    assert "/J[OIN] #chan" not in out and "#ch22" not in out
    assert out == "(output stopped)\n" + chat.MORE_PROMPT
    h.type("")  # Enter at the prompt: the next page
    assert "#ch43" in h.text_after_drain()
    h.type("")
    h.run(h.core.drained(h.now))
    h.type("/?")  # typed while the last page goes out
    h.type("")  # the listing's own page being shown: it stops; /? is answered
    out = h.text_after_drain()
    assert "#ch69" not in out and "(output stopped)" in out and "/J[OIN] #chan" in out
    assert out.index("(output stopped)") < out.index("Commands (")
    assert not out.endswith(chat.MORE_PROMPT)


def test_a_code_checked_after_the_login_timeout_does_not_log_in() -> None:
    h = Harness(login_timeout=10)
    h.type("123456")
    h.advance(11)
    assert isinstance(h.other[-1], chat.Close)
    h.run(h.core.checked(True, h.now))
    assert not any(isinstance(a, chat.LoggedIn) for a in h.other)


def test_numbers_are_ascii_digits_only() -> None:
    h = Harness().login()
    for line in ("/kill \u00b2", "/read \u0661", "/kill 99999999999999999999"):
        h.type(line)
    assert h.text().count("Usage:") == 2 and not any(isinstance(a, chat.Fetch) for a in h.other)


def test_history_topics_and_reasons_follow_the_third_party_rule() -> None:
    h = Harness(third_party="identified").login()
    h.type("/j #test")
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #test",
        ":irc.test 332 N0TEST-5 #test :a topic nobody vouched for",
        "@batch=b1 :anon!a@h PRIVMSG #test :unlicensed words",
        "@batch=b1;account=K1ABC :K1ABC!k@h PRIVMSG #test :licensed words",
    )
    h.pong()
    shown = h.text()
    assert "licensed words" in shown and "unlicensed" not in shown and "topic" not in shown
    h.server(":anon!a@h TOPIC #test :anon's topic")
    assert h.text() == ""


def test_a_kick_during_a_listing_waits_and_survives_an_interrupt() -> None:
    h = Harness(page_lines=2, chunk_bytes=40).login()
    joined(h)
    h.run = _slow_run(h)
    listing(h, 6)
    h.server(":op!o@h KICK #test N0TEST-5 :enough")
    h.type("")  # stops the listing: the kick notice is not dropped with it
    out = h.text_after_drain()
    assert "(output stopped)" in out and "Kicked from #test by op" in out


def test_leave_and_who_say_which_extra_words_they_ignored_as_join_does() -> None:
    h = Harness().login()
    joined(h, "#a")
    joined(h, "#b")
    h.type("/w #a extra words")
    assert h.text() == "One channel at a time: extra words ignored.\n"
    assert h.irc[-2:] == ["WHO #a", h.irc[-1]] and h.irc[-1].startswith("PING :")
    h.server(":irc.test 352 N0TEST-5 #a n0test bpq.radio irc.test N0TEST-5 H :0 x")
    h.server(":irc.test 315 N0TEST-5 #a :End of /WHO list.")
    h.pong()
    assert h.text() == "#a (1): N0TEST-5\n"
    for typed in ("/le #a #b", "/p #a #b"):  # /PART is /LEAVE: #b is not left unsaid
        h.irc.clear()
        h.type(typed)
        assert h.text() == "One channel at a time: #b ignored.\n"
        assert h.irc[0] == "PART #a"
        h.server(":N0TEST-5!n0test@bpq.radio PART #a")
        h.pong()
        assert h.text() == "Left #a. Now in #b.\n"
        joined(h, "#a")
    h.type("/le #nowhere #b")
    assert h.text() == "One channel at a time: #b ignored.\nYou are not in #nowhere.\n"


def test_a_part_the_user_did_not_ask_for_is_told_in_one_line() -> None:
    h = Harness().login()  # third_party: all, so the operator's words are shown
    joined(h)
    h.server(":N0TEST-5!n0test@bpq.radio PART #test :moved")  # an operator's SAPART
    assert h.text() == "Removed from #test by an operator: moved\n"
    joined(h, "#a")
    h.type("/leave")  # asked for: the answer says so, nothing more
    h.server(":N0TEST-5!n0test@bpq.radio PART #a")
    h.pong()
    assert h.text() == "Left #a.\n"
    h = Harness(third_party="identified").login()
    joined(h)
    h.server(":N0TEST-5!n0test@bpq.radio PART #test :MK08 words")
    assert h.text() == "Removed from #test by an operator.\n"


def test_lines_typed_during_a_listing_run_when_its_last_page_is_shown() -> None:
    h = Harness(page_lines=2, chunk_bytes=40).login()
    h.run = _slow_run(h)
    listing(h, 4)  # two pages
    h.type("/who #a")  # typed while page 1 goes out: waits
    h.text_after_drain()
    h.type("")  # Enter at more?: the last page, then the waiting line runs
    assert "WHO #a" in h.irc


def test_network_lost_and_back_rejoins_and_keeps_the_current_channel() -> None:
    h = Harness().login()
    joined(h, "#a")
    joined(h, "#b")
    h.type("/c #a")
    h.text()
    h.run(h.core.irc_lost("Connection reset", h.now))
    assert h.text() == "IRC network lost (Connection reset); reconnecting.\n"
    h.run(h.core.irc_lost("again", h.now))  # told once
    assert h.text() == ""
    h.type("still here?")
    h.type("/who")
    assert h.text() == 2 * "Not sent: reconnecting to IRC, try again shortly.\n"
    assert h.irc == []
    h.type("/info")  # what needs no IRC still answers
    assert "N0TEST-5" in h.text()
    h.now += 23
    h.run(h.core.irc_back(h.now, "N0TEST-5"))
    assert h.irc == ["JOIN #a", "JOIN #b"]
    # What may have been missed, and where the network keeps it (its history).
    assert h.text() == "IRC network back after 23 s; rejoining #a, #b. Said meanwhile: /READ #a\n"
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #a", ":N0TEST-5!n0test@bpq.radio JOIN #b")
    h.irc.clear()
    h.type("on the air again")
    assert h.irc == ["PRIVMSG #a :on the air again"]  # #a is still the current channel
    # Lost again; this time #a refuses the rejoin: #b becomes the current channel.
    h.run(h.core.irc_lost("Ping timeout", h.now))
    h.run(h.core.irc_back(h.now, "N0TEST-5", frozenset()))  # a network without history
    assert h.text().endswith("IRC network back after 1 s; rejoining #a, #b. Anything said "
                             "meanwhile is lost.\n")  # fmt: skip
    h.server(":irc.test 474 N0TEST-5 #a :Cannot join channel (+b)")
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #b")
    h.irc.clear()
    h.text()
    h.type("still here")
    assert h.irc == ["PRIVMSG #b :still here"]
    h.type("/c")
    assert "#a" not in h.text()


def test_lines_the_network_never_answered_are_named_when_it_is_lost() -> None:
    h = Harness(confirm_sent=True).login()
    joined(h)
    h.type("first")
    h.type("second, a line long enough to be cut on the air")
    h.type("third")
    # One PING out at a time (each costs as much as a line on ngircd): its PONG asks
    # for the lines typed meanwhile.
    assert h.irc == ["PRIVMSG #test :first", "PING :said-1",
                     "PRIVMSG #test :second, a line long enough to be cut on the air",
                     "PRIVMSG #test :third"]  # fmt: skip
    h.irc.clear()
    h.server(":irc.test PONG irc.test :said-1")  # the server took the first, then hung
    assert h.text() == ""  # a PONG is never shown
    assert h.irc == ["PING :said-3"]
    h.run(h.core.irc_lost("Ping timeout", h.now))
    assert h.text() == (
        "IRC network lost (Ping timeout); reconnecting.\n"
        "Maybe not sent (IRC did not answer): second, a line long enough to be cut ...\n"
        "  (and 1 more)\n"
    )
    h.run(h.core.irc_back(h.now, "N0TEST-5"))
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #test")
    h.text()
    h.irc.clear()
    h.type("confirmed")  # the PING lost with the link is not waited for
    assert h.irc == ["PRIVMSG #test :confirmed", "PING :said-4"]
    h.server(":irc.test PONG irc.test :said-4")
    h.run(h.core.irc_lost("Connection reset", h.now))
    assert h.text() == "IRC network lost (Connection reset); reconnecting.\n"  # all taken
    h.irc.clear()
    h.run(h.core.irc_back(h.now, "N0TEST-5"))
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #test")
    h.type("one")
    h.type("two")
    h.server(":irc.test PONG irc.test :said-5")
    assert h.irc[-3:] == ["PING :said-5", "PRIVMSG #test :two", "PING :said-6"]
    h.server(":irc.test PONG irc.test :said-6")  # all taken: no PING more
    h.type("three")
    assert h.irc[-2:] == ["PRIVMSG #test :three", "PING :said-7"]


def test_more_unanswered_lines_than_are_kept_are_all_counted() -> None:
    h = Harness(confirm_sent=True).login()
    joined(h)
    for n in range(1, 13):  # 12 lines into a hung server: more than the 8 kept by text
        h.type(f"line {n}")
    h.server(":irc.test PONG irc.test :said-2")
    h.irc.clear()
    h.run(h.core.irc_lost("Ping timeout", h.now))
    assert " ".join(h.text().split()) == (
        "IRC network lost (Ping timeout); reconnecting."
        " Maybe not sent (IRC did not answer): line 3 (and 9 more)"
    )
    h.run(h.core.irc_back(h.now, "N0TEST-5"))
    h.server(":N0TEST-5!n0test@bpq.radio JOIN #test")
    h.text()
    for n in range(13, 25):
        h.type(f"line {n}")
    h.server(":irc.test PONG irc.test :said-22")  # past the 8 kept: their text is gone
    h.run(h.core.irc_lost("Ping timeout", h.now))
    assert h.text().endswith("Maybe not sent (IRC did not answer): your last 2 lines\n")


def test_a_netsplit_is_told_once_with_what_it_loses() -> None:
    h = Harness().login()
    joined(h)
    h.server(":alice!a@x QUIT :irc1.club.example irc2.club.example",
             ":bob!b@y QUIT :irc1.club.example irc2.club.example")  # fmt: skip
    assert " ".join(h.text().split()) == (  # one line, wrapped at the width
        "Netsplit (irc1.club.example irc2.club.example): lines to or from users on the other"
        " side are lost until they return."
    )
    h.now += 61  # another split later: told again; hidden names (`*.net *.split`) too
    h.server(":carol!c@z QUIT :*.net *.split")
    assert h.text().startswith("Netsplit (*.net *.split): ")
    h.server(":dave!d@w QUIT :Quit: see you at the next net")  # an ordinary quit
    assert h.text() == ""
    # Under a third-party rule, a reason that may not go on air is not quoted.
    h = Harness(third_party="identified").login()
    joined(h)
    h.server(":eve!e@v QUIT :a.example b.example")
    assert h.text().startswith("Netsplit: lines to or from")


def test_the_gateway_nick_is_trusted_by_its_full_source_only() -> None:
    h = Harness(third_party="identified")
    h.login()
    joined(h)
    h.server(f":{SERVICE} NOTICE N0TEST-5 :held for you")
    assert "held for you" in h.text()
    # The same nick from elsewhere (a squatter on an external network) is not the gateway.
    h.server(":Gateway!evil@somewhere NOTICE N0TEST-5 :send money")
    h.server(":Gateway!evil@somewhere PRIVMSG #test :on air please")
    assert h.text() == ""


def test_channel_names_fold_by_the_servers_casemapping() -> None:
    """Under `casemapping: ascii`, #a[b] and #a{b} are two channels; under rfc1459, one."""
    h = Harness(fold=folder(ASCII)).login()
    joined(h, "#a[b]")
    joined(h, "#a{b}")
    h.type("/c")
    assert h.text() == "Channels: #a[b] *#a{b}\n"
    h.type("/c #A[B]")
    assert h.text() == "Now in #a[b].\n"
    h = Harness(fold=folder(RFC1459)).login()
    joined(h, "#a[b]")
    h.type("/j #A{B}")
    assert h.text() == "Now in #a[b].\n" and not h.irc  # the same channel: no JOIN sent


def test_what_a_person_reads_is_on_the_wall_clock_and_deadlines_are_not() -> None:
    """`now` (monotonic) drives every deadline; the wall clock only /STAMP and /INFO."""
    wall = [0.0]  # 1970-01-01 00:00Z: far from the monotonic `now` of the harness
    h = Harness(idle_timeout=100, wall_clock=lambda: wall[0]).login()
    joined(h)
    h.type("/i")
    assert "since 1970-01-01 00:00Z." in h.text()
    h.type("/stamp")
    h.text()
    wall[0] = 13 * 3600 + 7 * 60
    h.server(":alice!a@h PRIVMSG #test :hi")
    assert h.text() == "13:07 alice: hi\n"
    wall[0] += 86400  # the wall clock steps a day ahead: no deadline moves
    h.advance(99)
    assert not any(isinstance(a, chat.Close) for a in h.other)
    h.advance(1)
    assert isinstance(h.other[-1], chat.Close) and "Idle" in (h.other[-1].farewell or "")


def test_topic_shows_what_may_go_on_air_under_identified() -> None:
    h = Harness(third_party="identified").login()
    h.type("/j #test")
    h.server(
        ":N0TEST-5!n0test@bpq.radio JOIN #test",
        ":irc.test 332 N0TEST-5 #test :set by me earlier",
        ":irc.test 333 N0TEST-5 #test N0TEST-5!n0test@bpq.radio 1700000000",
    )
    h.pong()
    assert "Topic: set by me earlier" in h.text()  # his own topic
    h.type("/t")
    h.server(
        ":irc.test 332 N0TEST-5 #test :anon's topic",
        ":irc.test 333 N0TEST-5 #test anon!a@h 1700000000",
    )
    h.pong()
    assert h.text() == "This topic is not relayed on air here (third-party rule).\n"
    h.server("@account=K1ABC :K1ABC!k@h TOPIC #test :an identified topic")
    assert h.text() == "#test topic by K1ABC: an identified topic\n"
    h.type("/t")
    h.server(
        ":irc.test 332 N0TEST-5 #test :an identified topic",
        ":irc.test 333 N0TEST-5 #test K1ABC!k@h 1700000000",
    )
    h.pong()
    assert h.text() == "Topic of #test, set by K1ABC: an identified topic\n"
    h.server(":anon!a@h TOPIC #test :anon again")  # not shown, and no longer vouched for
    h.type("/t")
    h.server(":irc.test 332 N0TEST-5 #test :anon again")
    h.pong()
    assert h.text() == "This topic is not relayed on air here (third-party rule).\n"


def test_replayed_and_stored_lines_repeat_no_stamp() -> None:
    replies = [
        parse_line(f"@time=2026-12-07T02:{minute}:00.000Z :alice!a@h PRIVMSG #t :{text}".encode())
        for minute, text in (("41", "one"), ("41", "two"), ("42", "three"))
    ]
    assert history_lines(replies, 80) == ["02:41 alice: one", ": two", "02:42 : three"]
    day = 1_765_000_000.0  # 2025-12-06 05:46:40Z
    rows = [Archived(1, day, "alice", "PRIVMSG", "a"), Archived(2, day + 60, "bob", "ACTION", "b"),
            Archived(3, day + 86400, "carol", "PRIVMSG", "c")]  # fmt: skip
    assert fetched_lines("archive", "#t", rows, 80) == [
        "1 06 Dec 05:46Z alice: a", "2 05:47Z bob b", "3 07 Dec 05:46Z carol: c"
    ]  # fmt: skip


def test_mail_shows_the_account_its_sender_was_logged_in_to() -> None:
    # Finding 7 of issue 19: a nick alone can pass for a callsign (NOTEST for N0TEST).
    day = 1_765_000_000.0  # 2025-12-06 05:46:40Z
    rows = [
        Mail(1, "N0TEST-5", "PRIVMSG", "mine", day, False, "N0TEST"),
        Mail(2, "NOTEST", "PRIVMSG", "send me your code", day, False, "K9EVIL"),
        Mail(3, "alice", "ACTION", "waves", day, False, ""),
        Mail(4, "_2E0ABC", "PRIVMSG", "old", day, False, None),
        Mail(5, "alice", "PRIVMSG", "a network account", day, False, "Alice"),
    ]
    assert fetched_lines("mail", "", rows, 80) == [
        "1 06 Dec 05:46Z N0TEST-5: mine",
        "2 05:46Z NOTEST (acct K9EVIL): send me your code",
        "3 05:46Z alice (not logged in) waves",
        "4 05:46Z 2E0ABC (account not kept): old",
        "5 05:46Z alice: a network account",
    ]
    h = Harness().login()
    h.run(h.core.mail_arrived("NOTEST", h.now, "K9EVIL"))
    assert h.text() == "New message from NOTEST (acct K9EVIL), /READ\n"


def test_own_settings_are_kept_and_restored() -> None:
    h = Harness(join_history=3).login()
    h.type("/stamp on")
    h.type("/a on")
    h.type("/hi 8")
    saved = [(a.key, a.value) for a in h.other if isinstance(a, chat.SavePref)]
    assert saved == [("stamp", 1), ("alert", 1), ("history", 8)]
    assert h.text().endswith("History on /JOIN: 8 lines.\n")
    h.type("/j #test")
    assert "CHATHISTORY LATEST #test * 8" in h.irc
    h.pong()
    h.text()
    h.type("/hi 99")
    assert h.text() == "Usage: /HI[STORY] [n], n up to 20\n"
    # The next login restores them (bounded, whatever the store holds).
    again = Harness(join_history=3)
    again.type("123456")
    again.run(again.core.checked(True, again.now))
    prefs = {"stamp": 1, "alert": 0, "history": 500}
    again.run(again.core.chat_started(again.now, nick_for(CALL), 0, prefs=prefs))
    assert again.core.stamp and not again.core.alert and again.core.join_history == 20
    again.type("/hi")
    assert again.text().endswith("History on /JOIN: 20 lines.\n")


def test_a_farewell_from_outside_is_7_bit_and_wrapped() -> None:
    """Issue 22: an operator's RADIO KICK reason goes on air like any other text."""
    h = Harness(width=40).login()
    reason = "Disconnected by sysop: \x02please\x02 \x0304move\x03 to the net frequency café now"
    h.run(h.core.close(reason, h.now, "kicked by operator sysop"))
    close = next(a for a in h.other if isinstance(a, chat.Close))
    assert close.farewell == ("Disconnected by sysop: please move to\n  the net frequency cafe now")
    assert all(len(line) <= 40 for line in close.farewell.splitlines())
