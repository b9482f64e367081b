"""A line the channel refuses (muted, +m, ...) comes back to the ham as one short line."""

from __future__ import annotations

from tests.gateway.test_chat import Harness, joined


def test_a_muted_hams_line_is_refused_in_one_short_line() -> None:
    h = Harness().login()
    joined(h)
    h.type("CQ CQ")
    assert h.irc == ["PRIVMSG #test :CQ CQ"]
    h.server(":irc.test 404 N0TEST-5 #test :Cannot send to channel (+b m:): you are muted")
    assert h.text() == "#test: not sent, you are muted\n"
    h.server(":irc.test 404 N0TEST-5 #test :Cannot send to channel (+m): you need voice")
    assert h.text() == "#test: not sent, you need voice\n"
