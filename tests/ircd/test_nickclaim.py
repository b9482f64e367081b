"""Reserved nicks: the owner takes theirs back from a squatter, who becomes a guest."""

from __future__ import annotations

import base64
import itertools

from ircd.client import Client
from ircd.inprocess import InProcessConnection
from ircd.nickclaim import make_guest

REASON = "kept for its callsign's account"


class OwnerHooks:
    """Like the gateway's: a nick starting with K1 belongs to the account of that name."""

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        if not nick.upper().startswith("K1"):
            return None
        return None if client.account == nick.upper().rstrip("_") else REASON

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return False


class Accounts:
    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return account.upper() if password == "right" else None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return None


def plain(user: str, password: str) -> str:
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def harness(make_harness):
    return make_harness(hooks=OwnerHooks(), accounts=Accounts(), sync=True)


def test_sasl_owner_takes_back_a_nick_squatted_before_registration(make_harness) -> None:
    h = harness(make_harness)
    squatter = h.connect("198.51.100.7")
    squatter.send("NICK K1ABC")  # held, unregistered, for as long as it likes
    owner = h.connect()
    owner.send("CAP LS 302", "CAP REQ :sasl", "NICK K1ABC")
    replies = owner.take()
    assert (replies[-1].command, replies[-1].params[:2]) == ("433", ("*", "K1ABC"))
    # irssi and WeeChat then try a variant; the login gives the first choice back.
    owner.send("NICK K1ABC_", "USER k 0 * :r", "AUTHENTICATE PLAIN")
    owner.take()
    owner.send("AUTHENTICATE " + plain("k1abc", "right"))
    h.settle()
    assert not owner.sink.paused or owner.sink.closed
    assert [m.command for m in owner.take()] == ["900", "903"]
    owner.send("CAP END")
    welcome = owner.take()
    assert (welcome[0].command, welcome[0].params[0]) == ("001", "K1ABC")
    assert h.server.find_nick("K1ABC") is owner.client
    assert h.server.find_nick("K1ABC_") is None  # the variant is free again
    guest = f"Guest{squatter.client.id}"
    notice = squatter.take()
    assert [(m.command, m.params) for m in notice] == [
        ("NOTICE", ("*", f"You are now {guest}: {REASON}"))
    ]
    squatter.send("USER s 0 * :r")
    assert squatter.take()[0].params[0] == guest


def test_a_logged_in_owner_renames_a_registered_squatter(make_harness) -> None:
    h = harness(make_harness)
    squatter = h.user("K1ABC")  # the hooks did not reserve it then
    assert squatter.client.nick != "K1ABC"  # ... but they do now: it came in as a guest
    h.server.set_nick(squatter.client, "K1ABC")  # as if from before the rule
    watcher = h.user("watcher")
    squatter.send("JOIN #c")
    watcher.send("JOIN #c")
    squatter.take()
    watcher.take()
    owner = h.connect()
    owner.send("CAP REQ :sasl", "NICK k1abc_", "USER k 0 * :r", "AUTHENTICATE PLAIN")
    owner.send("AUTHENTICATE " + plain("k1abc", "right"))
    h.settle()
    assert not owner.sink.paused or owner.sink.closed
    owner.send("CAP END")
    assert "001" in owner.commands()
    owner.send("NICK K1ABC")
    assert [(m.source, m.command, m.params) for m in owner.take()] == [
        ("k1abc_!~k@192.0.2.1", "NICK", ("K1ABC",))
    ]
    guest = f"Guest{squatter.client.id}"
    seen = squatter.take()
    assert [(m.command, m.params) for m in seen] == [
        ("NICK", (guest,)),
        ("NOTICE", (guest, f"You are now {guest}: {REASON}")),
    ]
    assert [(m.command, m.params) for m in watcher.take()] == [("NICK", (guest,))]


def test_an_owner_attached_in_process_takes_the_nick(make_harness) -> None:
    h = harness(make_harness)
    squatter = h.connect()
    squatter.send("NICK K1ABC")
    conn = InProcessConnection.attach(h.server, nick="K1ABC", user="k1abc", host="radio",
                                      account="K1ABC")  # fmt: skip
    assert conn.client is not None and conn.client.nick == "K1ABC"
    assert squatter.client.nick == f"Guest{squatter.client.id}"


def test_the_owner_keeps_a_nick_taken_before_sasl(make_harness) -> None:
    h = harness(make_harness)
    owner = h.connect()
    owner.send("CAP REQ :sasl", "NICK K1ABC", "USER k 0 * :r")
    other = h.connect("198.51.100.7")
    other.send("NICK K1ABC")  # reserved at NICK time: nobody else gets it meanwhile
    assert [(m.command, m.params[:2]) for m in other.take()] == [("433", ("*", "K1ABC"))]
    owner.send("AUTHENTICATE PLAIN", "AUTHENTICATE " + plain("k1abc", "right"))
    h.settle()
    assert not owner.sink.paused or owner.sink.closed
    owner.send("CAP END")
    assert ("001", "K1ABC") in [(m.command, m.params[0]) for m in owner.take()]
    # A second connection of the owner does not take it from the first: both may hold it.
    second = h.connect()
    second.send("CAP REQ :sasl", "NICK K1ABC")
    assert second.commands()[-1] == "433"
    second.send(
        "NICK K1ABC_",
        "USER k 0 * :r",
        "AUTHENTICATE PLAIN",
        "AUTHENTICATE " + plain("k1abc", "right"),
    )
    h.settle()
    assert not second.sink.paused or second.sink.closed
    second.send("CAP END")
    assert h.server.find_nick("K1ABC") is owner.client
    assert second.client.registered and second.client.nick != "K1ABC"


def test_guest_nicks_fit_a_short_nicklen(make_harness) -> None:
    """With NICKLEN 9 and client numbers past 9,999, Guest<id> does not fit: a guest nick
    is never cut (cut ones would all be one nick) but made to fit, and free."""
    h = make_harness(hooks=OwnerHooks(), accounts=Accounts(), nicklen=9)
    h.server._ids = itertools.count(123456)  # a server that has seen many connections
    squatters = [h.connect(f"198.51.100.{i}") for i in range(1, 5)]
    for i, squatter in enumerate(squatters):
        squatter.send(f"NICK K1AB{i}")
    for squatter in squatters:
        make_guest(h.server, squatter.client, REASON)
    nicks = [s.client.nick or "" for s in squatters]
    assert all(0 < len(n) <= 9 and n.startswith("Guest") for n in nicks), nicks
    assert len({h.server.fold(n) for n in nicks}) == len(nicks), nicks
    held = [h.server.nicks.get(h.server.fold(n)) for n in nicks]
    assert held == [s.client for s in squatters]
