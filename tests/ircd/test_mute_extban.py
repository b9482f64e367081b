"""The mute extban `m:<mask>` on bans and exceptions, as Ergo and InspIRCd give it.

ISUPPORT (https://defs.ircdocs.horse/defs/isupport.html#extban):

    "EXTBAN=<prefix>,<types>" ... Ergo and InspIRCd send no prefix ("EXTBAN=,m"):
    a mute is set as "MODE #chan +b m:nick!user@host".

InspIRCd's extban help:

    "To use an extban, simply set +b <ban> or +e <ban> with it as the ban, instead of a
    normal nick!user@host mask, to ban or exempt matching users. Ban exceptions on
    acting extbans exempt that user from matching an extban of that type."

The examples below are the conformance suite's (irctest `chmodes/mute_extban.py`):
"MODE #chan +b m:bar!*@*", the ban list showing "m:bar!*@*", "PRIVMSG #chan :hi from
bar" answered with 404, "+v" and "MODE #chan +e m:*!~evan@*" each lifting the mute.
"""

from __future__ import annotations

import pytest

from ircd.chanlists import ChannelLists
from ircd.inprocess import InProcessConnection
from tests.ircd.conftest import CoreClient, Harness


def commands(client: CoreClient) -> list[str]:
    return [m.command for m in client.take()]


def chan_with_mute(harness: Harness, mask: str, nick: str = "bar", ident: str = "") -> tuple:  # type: ignore[type-arg]
    chanop = harness.user("chanop")
    chanop.send("JOIN #chan")
    chanop.take()
    chanop.send(f"MODE #chan +b {mask}")
    replies = chanop.take()
    assert [m.command for m in replies] == ["MODE"]
    muted = harness.connect()
    muted.send("CAP REQ :echo-message message-tags", f"NICK {nick}")
    muted.send(f"USER {ident or nick} 0 * :Real", "CAP END", "JOIN #chan")
    muted.take(), chanop.take()
    return chanop, muted, replies[0]


def test_isupport_names_the_mute_letter_without_a_prefix(harness: Harness) -> None:
    c = harness.user("chk")
    c.send("VERSION")
    tokens = [p for m in c.take() if m.command == "005" for p in m.params]
    [token] = [t for t in tokens if t.startswith("EXTBAN=")]
    prefix, comma, letters = token[len("EXTBAN=") :].partition(",")
    assert (prefix, comma) == ("", ",") and "m" in letters


def test_a_muted_user_joins_reads_but_cannot_speak(harness: Harness) -> None:
    chanop, bar, mode = chan_with_mute(harness, "m:bar!*@*")
    assert mode.params == ("#chan", "+b", "m:bar!*@*")
    bar.send("MODE #chan +b")
    [entry, end] = bar.take()
    assert (entry.command, entry.params[:3]) == ("367", ("bar", "#chan", "m:bar!*@*"))
    assert entry.params[3].startswith("chanop") and end.command == "368"
    bar.send("PRIVMSG #chan :hi from bar")
    replies = bar.take()
    assert [(m.command, m.params[1:]) for m in replies] == [
        ("404", ("#chan", "Cannot send to channel (+b m:): you are muted"))
    ]
    bar.send("NOTICE #chan :quiet", "@+typing=active TAGMSG #chan")
    assert bar.take() == []  # no automatic reply to NOTICE or TAGMSG, as under +m
    assert chanop.take() == []  # nothing of the three reached the channel
    chanop.send("PRIVMSG #chan :ops still talk")
    assert commands(bar) == ["PRIVMSG"]  # and the muted user reads
    chanop.send("MODE #chan -b m:bar!*@*")
    chanop.take(), bar.take()
    bar.send("PRIVMSG #chan :hi again from bar")
    assert commands(bar) == ["PRIVMSG"]  # the echo
    assert [m.params for m in chanop.take()] == [("#chan", "hi again from bar")]


def test_voice_lifts_the_mute(harness: Harness) -> None:
    chanop, qux, _ = chan_with_mute(harness, "m:qux!*@*", "qux", "evan")
    qux.send("PRIVMSG #chan :hi from qux")
    assert commands(qux) == ["404"]
    chanop.send("MODE #chan +v qux")
    chanop.take(), qux.take()
    qux.send("PRIVMSG #chan :hi again from qux")
    assert [m.params[1] for m in chanop.take()] == ["hi again from qux"]


def test_a_mute_exception_lifts_the_mute_and_only_the_mute(harness: Harness) -> None:
    chanop, qux, _ = chan_with_mute(harness, "m:qux!*@*", "qux", "evan")
    qux.send("PRIVMSG #chan :hi from qux")
    assert commands(qux) == ["404"]
    chanop.send("MODE #chan +e m:*!~evan@*")
    assert [m.params for m in chanop.take()] == [("#chan", "+e", "m:*!~evan@*")]
    qux.take()
    qux.send("PRIVMSG #chan :thanks for mute-excepting me")
    assert [m.params[1] for m in chanop.take()] == ["thanks for mute-excepting me"]
    # An exception to mutes is none to bans: a ban on ~evan still keeps qux out.
    chanop.send("MODE #chan +b *!~evan@*", "KICK #chan qux")
    chanop.take(), qux.take()
    qux.send("JOIN #chan")
    assert commands(qux) == ["474"]


def test_mutes_match_and_lift_regardless_of_case(harness: Harness) -> None:
    chanop, bar, _ = chan_with_mute(harness, "m:BAR!*@*", "Bar")
    bar.send("PRIVMSG #chan :hi from bar")
    assert commands(bar) == ["404"]
    chanop.send("MODE #chan -b m:bar!*@*")
    assert commands(chanop) == ["MODE"]
    bar.send("PRIVMSG #chan :hi again from bar")
    assert commands(chanop) == ["PRIVMSG"]


def test_old_prefixed_and_named_forms_are_read(harness: Harness) -> None:
    chanop = harness.user("chanop")
    chanop.send("JOIN #chan", "MODE #chan +b ~m:a", "MODE #chan +b mute:b", "MODE #chan +e MUTE:c")
    assert [m.params[1:] for m in chanop.take() if m.command == "MODE"] == [
        ("+b", "m:a!*@*"),
        ("+b", "m:b!*@*"),
        ("+e", "m:c!*@*"),
    ]


def test_a_multiline_batch_from_a_muted_user_is_refused(harness: Harness) -> None:
    chanop, bar, _ = chan_with_mute(harness, "m:bar!*@*")
    bar.send("CAP REQ :draft/multiline batch standard-replies")
    bar.take()
    bar.send("BATCH +r1 draft/multiline #chan", "@batch=r1 PRIVMSG #chan :one", "BATCH -r1")
    assert [m.params[:2] for m in bar.take() if m.command == "FAIL"] == [
        ("BATCH", "MULTILINE_INVALID_TARGET")
    ]
    assert chanop.take() == []


def test_a_radio_user_is_muted_the_same_way(harness: Harness) -> None:
    """An attached (in-process) client, as the gateway's radio users are: muted by
    its account, it gets the same 404 the gateway turns into one line for the ham."""
    chanop = harness.user("chanop")
    chanop.send("JOIN #chan", "MODE #chan +b m:a:K1ABC")
    chanop.take()
    radio = InProcessConnection.attach(
        harness.server, nick="K1ABC", user="k1abc", host="radio.gateway", account="K1ABC"
    )
    radio.send("JOIN #chan")
    radio.pending()
    chanop.take()
    radio.send("PRIVMSG #chan :CQ CQ")
    assert [(m.command, m.params[1]) for m in radio.pending()] == [("404", "#chan")]
    assert chanop.take() == []


@pytest.mark.parametrize("muted", [False, True])
def test_the_mute_is_looked_up_once_per_message_not_per_member(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, muted: bool
) -> None:
    _, bar, _ = chan_with_mute(harness, "m:bar!*@*" if muted else "m:nobody!*@*")
    for i in range(30):
        harness.user(f"member{i}").send("JOIN #chan")
    bar.take()
    calls: list[object] = []
    real = ChannelLists.refusal

    def counting(self: ChannelLists, client: object, member: bool) -> str | None:
        calls.append(client)
        return real(self, client, member)  # type: ignore[arg-type]

    monkeypatch.setattr(ChannelLists, "refusal", counting)
    bar.send("PRIVMSG #chan :one message")
    assert calls == [bar.client]
    assert commands(bar) == (["404"] if muted else ["PRIVMSG"])
