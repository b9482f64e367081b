"""The embedder's optional `target_alias` hook: a target that cannot be a nick (`2E0ABC`)
names the nick it maps to (`_2E0ABC`), for WHOIS, messages and the other user targets."""

from __future__ import annotations

from ircd.client import Client


class DigitHooks:
    """Like the gateway's: a name starting with a digit stands for that name behind `_`."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        return None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return False

    def target_alias(self, name: str) -> str | None:
        self.asked.append(name)
        return "_" + name if name[:1].isdigit() else None


class PlainHooks:
    """An embedder's hooks written before `target_alias` existed."""

    def nick_reserved(self, client: Client, nick: str) -> str | None:
        return None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        return False


def test_whois_and_privmsg_reach_the_aliased_nick(make_harness) -> None:
    h = make_harness(hooks=DigitHooks())
    ham, alice = h.user("_2E0ABC"), h.user("alice")
    alice.send("WHOIS 2e0abc")
    replies = alice.take()
    assert [m.params[1] for m in replies if m.command == "311"] == ["_2E0ABC"]
    assert not [m for m in replies if m.command == "401"]
    alice.send("PRIVMSG 2E0ABC :hello", "NOTICE 2E0ABC :psst")
    assert alice.take() == []
    got = ham.take()
    assert [(m.command, m.params) for m in got] == [
        ("PRIVMSG", ("_2E0ABC", "hello")),
        ("NOTICE", ("_2E0ABC", "psst")),
    ]
    assert got[0].source is not None and got[0].source.startswith("alice!")


def test_invite_kill_and_userhost_take_the_alias(make_harness) -> None:
    h = make_harness(hooks=DigitHooks())
    ham, alice = h.user("_2E0ABC"), h.user("alice")
    alice.send("JOIN #c", "INVITE 2E0ABC #c")
    assert "341" in alice.commands()
    assert [m.command for m in ham.take()] == ["INVITE"]
    alice.send("USERHOST 2E0ABC")
    assert alice.take()[0].params[-1].startswith("_2E0ABC=")
    h.server.set_oper(alice.client, "root")
    alice.take()
    alice.send("KILL 2E0ABC :bye")
    assert ham.sink.closed
    assert "401" not in alice.commands()


def test_an_alias_never_hides_a_nick_and_a_missing_one_is_401(make_harness) -> None:
    hooks = DigitHooks()
    h = make_harness(hooks=hooks)
    h.user("_bob")
    alice = h.user("alice")
    alice.send("WHOIS bob", "WHOIS 9Z9ZZ", "PRIVMSG 9Z9ZZ :hi")
    assert [m.command for m in alice.take()] == ["401", "318", "401", "318", "401"]
    assert hooks.asked == ["9Z9ZZ", "9Z9ZZ"]  # never asked about `bob`, a valid nick


def test_hooks_without_the_method_have_no_aliases(make_harness) -> None:
    h = make_harness(hooks=PlainHooks())
    h.user("_2E0ABC")
    alice = h.user("alice")
    alice.send("WHOIS 2E0ABC", "PRIVMSG 2E0ABC :hi")
    assert [m.command for m in alice.take()] == ["401", "318", "401"]
