"""Mail passed between the gateways of one network (gateway/bridge/relay.py)."""

from __future__ import annotations

from gateway.bridge.relay import (
    HELD,
    LINE,
    NOT_HERE,
    REFUSAL_MAX,
    REFUSED,
    Ack,
    Expired,
    Passed,
    hello,
    is_hello,
    parse,
    parse_ack,
    parse_expired,
    room,
)


def test_a_passed_message_reads_back() -> None:
    passed = Passed("N0BBB", "alice!a@198.51.100.7", "", "PRIVMSG", "see you at 8 pm : ok",
                    "0123456789abcdef")  # fmt: skip
    assert parse(passed.payload()) == passed
    assert passed.payload().startswith("\x01GWMAIL 0123456789abcdef N0BBB alice!")
    logged = Passed("N0BBB", "bob!b@h", "bob", "ACTION", "waves")
    assert parse(logged.payload()) == logged
    assert logged.nick == "bob"


def test_anything_else_is_not_one() -> None:
    for text in ("N0BBB hello", "\x01GWMAIL 00ff00ff N0BBB alice!a@h * PRIVMSG\x01",
                 "\x01GWMAIL 00ff00ff N0BBB alice * PRIVMSG hi\x01",
                 "\x01GWMAIL 00ff00ff N0BBB a!a@h * KICK hi\x01",
                 "\x01GWMAIL 00ff00ff N0BBB a!a@h * PRIVMSG hi", "\x01VERSION\x01",
                 "\x01GWMAIL N0BBB a!a@h * PRIVMSG hi there\x01",  # no id (an older gateway)
                 "\x01GWMAIL 00FF00FF! N0BBB a!a@h * PRIVMSG hi\x01"):  # fmt: skip
        assert parse(text) is None, text


def test_room_is_what_the_server_relays() -> None:
    via = "N0GWmail!gateway@fd00::1"
    passed = Passed("N0BBB", "alice!a@h", "", "PRIVMSG", "x")
    left = room(via, "W2GWmail", passed)
    line = f":{via} PRIVMSG W2GWmail :{passed.payload()}"
    assert left == LINE - len(line)
    longest = Passed("N0BBB", "alice!a@h", "", "PRIVMSG", "x" * (1 + left))
    assert room(via, "W2GWmail", longest) == 0


def test_acks_read_back_and_a_refusal_is_clean_text() -> None:
    full = "N0BBB's mailbox is full (50); not held."
    for ack in (Ack("00ff00ff00ff00ff", HELD), Ack("00ff00ff00ff00ff", NOT_HERE),
                Ack("00ff00ff00ff00ff", REFUSED, full)):  # fmt: skip
        assert parse_ack(ack.payload()) == ack
    dirty = parse_ack("\x01GWMAIL-ACK 00ff00ff refused \x02bold\x02 " + "x" * 400 + "\x01")
    assert dirty is not None and dirty.text == "bold " + "x" * (REFUSAL_MAX - 5)
    for text in ("\x01GWMAIL-ACK 00ff00ff refused\x01", "\x01GWMAIL-ACK 00ff00ff maybe\x01",
                 "\x01GWMAIL-ACK nothex held\x01", "GWMAIL-ACK 00ff00ff held"):  # fmt: skip
        assert parse_ack(text) is None, text
    assert is_hello(hello()) and not is_hello("\x01GWMAIL-HELLO x\x01")


def test_word_of_an_expiry_reads_back_and_nothing_else_does() -> None:
    expired = Expired("alice", "N0BBB")
    assert expired.payload() == "\x01GWMAIL-EXPIRED alice N0BBB\x01"
    assert parse_expired(expired.payload()) == expired
    for bad in ("\x01GWMAIL-EXPIRED alice\x01", "\x01GWMAIL-EXPIRED a b c\x01",
                "\x01GWMAIL-EXPIRED a!b@c N0BBB\x01", "GWMAIL-EXPIRED alice N0BBB"):  # fmt: skip
        assert parse_expired(bad) is None, bad
