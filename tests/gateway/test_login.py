import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.callsign import Callsign
from gateway.session import login
from gateway.session.login import Accept, CheckCode, Close, Login, Pause, Send, State

CALL = Callsign("N0TEST", 5)


def test_bpq_callsign_first_then_code() -> None:
    m = Login(callsign_first=True)
    assert m.start() == []
    assert m.line("N0TEST-5") == [Send(login.CODE_PROMPT)]
    assert m.line(" 123456 ") == [CheckCode(CALL, "123456")]
    assert m.checked(True) == [Accept(CALL)]
    assert m.state is State.AUTHENTICATED


def test_bpq_bad_first_line_falls_back_to_prompt() -> None:
    m = Login(callsign_first=True)
    assert m.line("") == [Send(login.CALLSIGN_PROMPT)]
    assert m.line("n0test") == [Send(login.CODE_PROMPT)]


def test_prompt_mode_invalid_callsigns_close() -> None:
    m = Login(callsign_first=False)
    assert m.start() == [Send(login.CALLSIGN_PROMPT)]
    assert m.line("xx")[0] == Send(login.BAD_CALLSIGN + "\n" + login.CALLSIGN_PROMPT)
    m.line("yy")
    assert m.line("zz")[-1] == Close("no valid callsign")


def test_refusals_pause_then_close_with_the_same_answer() -> None:
    m = Login(callsign_first=True, attempts=2, pause=2.0)
    m.line("N0TEST-5")
    m.line("000000")
    assert m.checked(False) == [Send(login.REFUSED + "\n"), Pause(2.0)]
    assert m.line("typed during pause") == []
    assert m.resume() == [Send(login.CODE_PROMPT)]
    m.line("111111")
    assert m.checked(False) == [Send(login.REFUSED + "\n"), Close("login refused")]
    assert m.state is State.CLOSED


def test_out_of_order_driving_is_our_error() -> None:
    m = Login(callsign_first=True)
    with pytest.raises(login.LoginError):
        m.checked(True)
    with pytest.raises(login.LoginError):
        m.resume()


@given(st.lists(st.one_of(st.text(max_size=40), st.booleans(), st.none()), max_size=40))
def test_random_input_never_crashes(events: list[str | bool | None]) -> None:
    m = Login(callsign_first=True, attempts=3)
    m.start()
    for event in events:
        if isinstance(event, str):
            actions = m.line(event)
        elif isinstance(event, bool) and m.state is State.CHECKING:
            actions = m.checked(event)
        elif event is None and m.state is State.PAUSED:
            actions = m.resume()
        else:
            continue
        for action in actions:
            assert isinstance(action, Send | CheckCode | Pause | Accept | Close)
            if isinstance(action, Send):
                assert action.text.isascii()
        if m.state in (State.CLOSED, State.AUTHENTICATED):
            break


def test_callsign_known_from_the_transport() -> None:
    m = Login(callsign_first=False, callsign=CALL)
    assert m.start() == [Send(login.CODE_PROMPT)]
    assert m.line("123456") == [CheckCode(CALL, "123456")]


def test_code_prompt_words_spaces_and_intro() -> None:
    m = Login(callsign_first=True, intro="N0GW-10 IRC gateway")
    assert m.line("N0TEST-5") == [Send("N0GW-10 IRC gateway\n" + login.CODE_PROMPT)]
    assert m.line("?") == [Send(login.CODE_HELP + "\n" + login.CODE_PROMPT)]  # not a guess
    assert m.line("226 857") == [CheckCode(CALL, "226857")]  # as the apps show it
    m.checked(False)
    assert m.resume() == [Send(login.CODE_PROMPT)]  # the intro is said once


def test_leaving_at_the_code_prompt_is_not_a_failure() -> None:
    for word in ("b", "BYE", "q", "quit"):
        m = Login(callsign_first=False, callsign=CALL)
        m.start()
        assert m.line(word) == [Send("73!\n"), Close("left at the code prompt")]
        assert m.state is State.CLOSED


def test_a_stream_of_blank_lines_and_help_words_draws_a_bounded_answer() -> None:
    # Each answer is a prompt on the air: 3000 bytes of CR/LF once drew 25 KB.
    for stream in (["", "\t"], ["?", "h"]):
        m = Login(callsign_first=False)
        sent = len(login.CALLSIGN_PROMPT) if m.start() else 0
        lines = 0
        while m.state is not State.CLOSED and lines < 1000:
            actions = m.line(stream[lines % 2])
            sent += sum(len(a.text) for a in actions if isinstance(a, Send))
            lines += 1
        assert m.state is State.CLOSED
        assert lines == login.MAX_FREE_ANSWERS + login.MAX_CALLSIGN_TRIES
        assert sent < 500
    m = Login(callsign_first=False, callsign=Callsign("N0CALL"))
    m.start()
    for _ in range(login.MAX_FREE_ANSWERS):
        assert m.line("?") == [Send(login.CODE_HELP + "\n" + login.CODE_PROMPT)]
    # Past the free answers a help word is a (malformed) code, and codes are counted.
    assert m.line("?") == [CheckCode(Callsign("N0CALL"), "?")]


def test_nocall_node_gets_a_prompt_once() -> None:
    m = Login(callsign_first=True)
    assert m.prompt_callsign() == [Send(login.CALLSIGN_PROMPT)]
    assert m.prompt_callsign() == []
    assert m.line("bad call")[0] == Send(login.BAD_CALLSIGN + "\n" + login.CALLSIGN_PROMPT)


def test_the_callsign_prompt_takes_enter_help_and_leave_words_as_no_guess() -> None:
    m = Login(callsign_first=False)
    m.start()
    for _ in range(3):  # Enter alone asks again, uncounted
        assert m.line("  ") == [Send(login.CALLSIGN_PROMPT)]
    assert m.line("?") == [Send(login.CALLSIGN_HELP + "\n" + login.CALLSIGN_PROMPT)]
    assert m.line("help")[0] == Send(login.CALLSIGN_HELP + "\n" + login.CALLSIGN_PROMPT)
    m.line("xx")
    m.line("yy")  # real garbage is still counted: the third closes
    assert m.line("zz")[-1] == Close("no valid callsign")
    for word in ("b", "BYE", "q", "quit"):
        m = Login(callsign_first=False)
        m.start()
        assert m.line(word) == [Send("73!\n"), Close("left at the callsign prompt")]
        assert m.state is State.CLOSED
