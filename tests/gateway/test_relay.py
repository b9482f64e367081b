"""Mail passed between the gateways of one network (gateway/bridge/relay.py)."""

from __future__ import annotations

from gateway.bridge.relay import LINE, Passed, parse, room


def test_a_passed_message_reads_back() -> None:
    passed = Passed("N0BBB", "alice!a@198.51.100.7", "", "PRIVMSG", "see you at 8 pm : ok")
    assert parse(passed.payload()) == passed
    logged = Passed("N0BBB", "bob!b@h", "bob", "ACTION", "waves")
    assert parse(logged.payload()) == logged
    assert logged.nick == "bob"


def test_anything_else_is_not_one() -> None:
    for text in ("N0BBB hello", "\x01GWMAIL N0BBB alice!a@h * PRIVMSG\x01",
                 "\x01GWMAIL N0BBB alice * PRIVMSG hi\x01", "\x01GWMAIL N0BBB a!a@h * KICK hi\x01",
                 "\x01GWMAIL N0BBB a!a@h * PRIVMSG hi", "\x01VERSION\x01"):  # fmt: skip
        assert parse(text) is None, text


def test_room_is_what_the_server_relays() -> None:
    via = "N0GWmail!gateway@fd00::1"
    passed = Passed("N0BBB", "alice!a@h", "", "PRIVMSG", "x")
    left = room(via, "W2GWmail", passed)
    line = f":{via} PRIVMSG W2GWmail :{passed.payload()}"
    assert left == LINE - len(line)
    longest = Passed("N0BBB", "alice!a@h", "", "PRIVMSG", "x" * (1 + left))
    assert room(via, "W2GWmail", longest) == 0
