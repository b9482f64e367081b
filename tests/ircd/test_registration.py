"""Registration, CAP, dispatch checks, keep-alive, flood control and bounds, on the core."""

from __future__ import annotations

from ircd.client import Client
from ircd.commands import COMMANDS, CommandSpec
from ircd.protocol import Message


def test_welcome_burst(harness) -> None:
    c = harness.connect()
    c.send("NICK alice", "USER alice 0 * :Alice A")
    replies = c.take()
    codes = [m.command for m in replies]
    assert codes[:4] == ["001", "002", "003", "004"]
    assert "005" in codes and "251" in codes and "375" in codes and codes[-1] == "376"
    assert replies[0].params == (
        "alice",
        "Welcome to the TestNet IRC Network alice!~alice@192.0.2.1",
    )
    tokens = [p for m in replies if m.command == "005" for p in m.params[1:-1]]
    for token in [
        "CASEMAPPING=rfc1459",
        "CHANTYPES=#",
        "PREFIX=(ov)@+",
        "CHANMODES=beI,k,l,CMRTimnst",
        "EXCEPTS=e",
        "INVEX=I",
        "MAXLIST=beI:100",
        "NICKLEN=30",
        "TOPICLEN=390",
        "NETWORK=TestNet",
        "STATUSMSG=@+",
        "UTF8ONLY",
    ]:
        assert token in tokens
    assert all(len(m.params) <= 15 for m in replies)


def test_user_before_nick_and_no_motd(make_harness) -> None:
    h = make_harness(motd=None)
    c = h.connect()
    c.send("USER bob 0 * :Bob", "NICK bob")
    assert c.commands()[-1] == "422"


def test_commands_before_registration(harness) -> None:
    c = harness.connect()
    c.send("JOIN #a", "FOO", "PRIVMSG x :y")
    assert c.commands() == ["451", "421", "451"]
    c.send("PING abc")
    assert c.take() == [Message(source="irc.test", command="PONG", params=("irc.test", "abc"))]


def test_dispatch_checks_in_order(harness) -> None:
    c = harness.user("alice")
    c.send("FROB", "KILL", "KILL bob :x", "JOIN", "USER a b c :d")
    replies = c.take()
    assert [m.command for m in replies] == ["421", "481", "481", "461", "462"]
    assert replies[3].params == ("alice", "JOIN", "Not enough parameters")


def test_command_table_is_constant() -> None:
    assert isinstance(COMMANDS["PRIVMSG"], CommandSpec)
    try:
        COMMANDS["X"] = COMMANDS["PING"]  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("COMMANDS must be read-only")
    for name, spec in COMMANDS.items():
        assert spec.handler.__doc__, f"{name} handler needs a syntax docstring"
        assert spec.handler.__doc__.split()[0] == name


def test_nick_errors_and_collisions(harness) -> None:
    harness.user("alice")
    c = harness.connect()
    c.send("NICK", "NICK 1abc", "NICK " + "a" * 31, "NICK ALICE", "NICK Alice[")
    assert c.commands() == ["431", "432", "432", "433"]
    # rfc1459: [ and { are the same letter
    d = harness.connect()
    d.send("NICK alice{")
    assert d.commands() == ["433"]


def test_unregistered_nick_holds_the_name(harness) -> None:
    a = harness.connect()
    a.send("NICK carol")
    b = harness.connect()
    b.send("NICK carol")
    assert b.commands() == ["433"]
    a.send("QUIT")
    b.send("NICK carol")
    assert b.commands() == []


def test_nick_change_seen_by_channel_peers(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take()
    b.take()
    a.send("NICK alicia")
    expected = Message(source="alice!~alice@192.0.2.1", command="NICK", params=("alicia",))
    assert a.take() == [expected]
    assert b.take() == [expected]
    assert harness.server.find_nick("ALICIA") is a.client
    assert harness.server.find_nick("alice") is None


def test_nick_case_change_allowed(harness) -> None:
    a = harness.user("alice")
    a.send("NICK Alice")
    assert a.commands() == ["NICK"]


class ReservingHooks:
    def __init__(self) -> None:
        self.absent: list[tuple[str, str, str]] = []

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        return "Reserved for the enrolled callsign owner" if nick.upper().startswith("G4") else None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        self.absent.append((nick, command, text))
        return nick.upper().startswith("G4")


def test_hooks_reserve_nicks_and_catch_messages(make_harness) -> None:
    hooks = ReservingHooks()
    h = make_harness(hooks=hooks)
    c = h.connect()
    # Checked when registration completes (after any SASL), not at NICK; the client
    # comes in as a guest, told why in a NOTICE (irssi shows no 433 text).
    c.send("NICK G4ABC", "USER g4abc 0 * :r")
    replies = c.take()
    assert replies[0].command == "NOTICE"
    guest = f"Guest{c.client.id}"
    reason = "Reserved for the enrolled callsign owner"
    assert replies[0].params == ("*", f"You are now {guest}: {reason}")
    assert (replies[1].command, replies[1].params[0]) == ("001", guest)
    c.send("NICK m0xyz")
    assert c.commands() == ["NICK"]
    c.send("NICK G4ABC")
    replies = c.take()  # once registered, at NICK, to the current nick
    assert [(m.command, m.params[0]) for m in replies] == [("433", "m0xyz"), ("NOTICE", "m0xyz")]
    c.send("PRIVMSG G4ABC :hello", "PRIVMSG nobody :hi")
    assert c.commands() == ["401"]
    assert hooks.absent == [("G4ABC", "PRIVMSG", "hello"), ("nobody", "PRIVMSG", "hi")]


def test_default_hooks(harness) -> None:
    c = harness.user("alice")
    c.send("PRIVMSG ghost :hi", "NOTICE ghost :hi")
    assert c.commands() == ["401"]


def test_cap_negotiation_suspends_registration(harness) -> None:
    c = harness.connect()
    c.send("CAP LS 302", "NICK alice", "USER a 0 * :A")
    replies = c.take()
    assert replies[0].command == "CAP"
    assert replies[0].params[:2] == ("*", "LS")
    offered = set(replies[0].params[-1].split())
    assert {
        "message-tags",
        "server-time",
        "echo-message",
        "multi-prefix",
        "away-notify",
        "userhost-in-names",
        "cap-notify",
    } <= offered
    assert len(replies) == 1  # no 001 while negotiating
    c.send("CAP REQ :multi-prefix server-time", "CAP REQ :multi-prefix bogus", "CAP LIST")
    replies = c.take()
    assert [m.params[1:] for m in replies] == [
        ("ACK", "multi-prefix server-time"),
        ("NAK", "multi-prefix bogus"),
        ("LIST", "cap-notify multi-prefix server-time"),
    ]
    assert all("time" in m.tags for m in replies)  # server-time applies at once
    c.send("CAP END")
    assert c.commands()[0] == "001"
    c.send("CAP REQ :-server-time", "CAP FROB")
    assert [m.command for m in c.take()] == ["CAP", "410"]


def test_cap_notify_cannot_be_disabled_by_302_clients(harness) -> None:
    c = harness.connect()
    c.send("CAP LS 302", "CAP REQ :-cap-notify")
    assert c.take()[-1].params[1] == "NAK"


def test_server_ping_and_timeout(make_harness) -> None:
    h = make_harness(ping_interval=30, ping_timeout=10)
    h.server.start()
    a = h.user("alice")
    b = h.user("bob")
    h.scheduler.advance(33)  # checked every 2.5 s: a quarter of the shortest timeout
    assert a.take() == [Message(source=None, command="PING", params=("irc.test",))]
    b.take()
    a.send("PONG :irc.test")
    h.scheduler.advance(15)
    assert not a.sink.closed
    assert b.sink.closed
    assert b.take()[-1].params[0].endswith("(Ping timeout: 45 seconds)")


def test_registration_timeout(make_harness) -> None:
    h = make_harness(registration_timeout=20)
    h.server.start()
    c = h.connect()
    c.send("NICK x")
    h.scheduler.advance(19)
    assert not c.sink.closed
    h.scheduler.advance(7)
    assert c.sink.closed
    assert c.take()[-1] == Message(
        command="ERROR", params=("Closing Link: 192.0.2.1 (Registration timed out)",)
    )
    assert h.server.clients == {} and h.server.nicks == {}


def test_flood_throttles_then_resumes(make_harness) -> None:
    h = make_harness(flood_rate=1, flood_burst=3)
    c = h.user("alice")  # 2 lines used
    c.send(*[f"PING {i}" for i in range(5)])
    tokens = [m.params[-1] for m in c.take()]
    assert tokens == ["0", "1"]  # burst exhausted, the rest waits
    h.scheduler.advance(1.0)
    assert [m.params[-1] for m in c.take()] == ["2"]
    h.scheduler.advance(10)
    assert [m.params[-1] for m in c.take()] == ["3", "4"]
    assert not c.sink.closed


def test_excess_flood_closes(make_harness) -> None:
    h = make_harness(flood_rate=1, flood_burst=1, recvq=9000)
    c = h.user("alice")
    other = h.user("bob")
    c.send_raw(b"PRIVMSG bob :" + b"x" * 400 + b"\r\n")
    for _ in range(30):
        c.send_raw(b"PING " + b"y" * 400 + b"\r\n")
    assert c.sink.closed
    assert c.take()[-1].params[0].endswith("(Excess Flood)")
    assert not other.sink.closed


def test_overlong_and_malformed_lines_get_numerics(harness) -> None:
    c = harness.user("alice")
    c.send_raw(b"PRIVMSG alice :" + b"x" * 9000 + b"\r\n")
    c.send_raw(b"PRIVMSG alice :" + b"x" * 600 + b"\r\n")
    c.send_raw(b"@" + b"+a=" + b"b" * 5000 + b" PING x\r\n")
    c.send_raw(b"PRIVMSG alice :\xff\xfe\r\n")
    c.send_raw(b"\0\r\n")
    c.send_raw(b"   \r\n")
    # Invalid UTF-8 is a standard reply naming the command (UTF8ONLY), not a 400.
    assert c.commands() == ["417", "417", "417", "FAIL", "400"]
    c.send("PING ok")
    assert c.commands() == ["PONG"]


def test_server_full(make_harness) -> None:
    # max_clients counts registered clients: a connection is let in, and refused when
    # it would register past it (registering ones have slots of their own).
    h = make_harness(max_clients=1)
    h.user("first")
    second = h.connect()
    second.send("NICK second", "USER second 0 * :x")
    assert second.sink.closed
    assert bytes(second.sink.data).endswith(b"(Server is full)\r\n")
    assert h.server.registered_count == 1 and len(h.server.clients) == 1


def test_quit_tells_peers_and_closes(harness) -> None:
    a = harness.user("alice")
    b = harness.user("bob")
    a.send("JOIN #c")
    b.send("JOIN #c")
    a.take()
    b.take()
    a.send("QUIT :bye now")
    assert a.take()[-1].command == "ERROR"
    assert a.sink.closed
    assert b.take() == [
        Message(source="alice!~alice@192.0.2.1", command="QUIT", params=("Quit: bye now",))
    ]
    assert harness.server.find_channel("#c").members.keys() == {b.client}
    b.send("QUIT")
    assert harness.server.channels == {}
    assert harness.server.registered_count == 0


def test_two_servers_share_nothing(make_harness) -> None:
    one, two = make_harness(), make_harness()
    one.user("alice")
    two.user("alice")
    assert one.server.nicks.keys() == two.server.nicks.keys()
    assert one.server.nicks["alice"] is not two.server.nicks["alice"]
