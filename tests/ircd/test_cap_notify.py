"""cap-notify: CAP NEW and CAP DEL when SASL comes and goes (reload, or new accounts)."""

from __future__ import annotations

import dataclasses

from ircd.config import IrcConfig, Listener
from ircd.net import IrcServer


class FakeAccounts:
    async def check_password(
        self, account: str, password: str, address: str, *, browser: bool = False
    ) -> str | None:
        return None

    async def account_for_certfp(self, certfp: str) -> str | None:
        return None


def cap_lines(client) -> list[tuple[str, ...]]:
    return [m.params[1:] for m in client.take() if m.command == "CAP"]


def clients(h):
    """A: CAP LS 302 with sasl enabled; B: no cap-notify; C: CAP LS 301 + REQ cap-notify."""
    a = h.connect()
    a.send("CAP LS 302", "CAP REQ :sasl", "NICK a", "USER a 0 * :a", "CAP END")
    b = h.connect().register("b")
    c = h.connect()
    c.send("CAP LS", "CAP REQ :cap-notify", "NICK c", "USER c 0 * :c", "CAP END")
    for x in (a, b, c):
        x.take()
    return a, b, c


def test_reload_without_sasl_sends_del_then_new(make_harness) -> None:
    h = make_harness(accounts=FakeAccounts())
    a, b, c = clients(h)
    assert "sasl" in a.client.caps
    config = h.server.config
    h.server.reload(dataclasses.replace(config, sasl=False))
    assert cap_lines(a) == [("DEL", "sasl")]
    assert cap_lines(c) == [("DEL", "sasl")]
    assert b.take() == []
    assert "sasl" not in a.client.caps  # a deleted capability is disabled for everyone
    a.send("AUTHENTICATE PLAIN")
    assert a.commands() == ["904"]
    h.server.reload(config)
    assert cap_lines(a) == [("NEW", "sasl=PLAIN")]  # 302: with its value
    assert cap_lines(c) == [("NEW", "sasl")]
    assert b.take() == []


def test_unchanged_reload_says_nothing(make_harness) -> None:
    h = make_harness(accounts=FakeAccounts())
    a, _b, c = clients(h)
    h.server.reload(dataclasses.replace(h.server.config, motd="changed"))
    assert a.take() == [] and c.take() == []


def test_accounts_coming_and_going(make_harness) -> None:
    h = make_harness()
    a = h.connect()
    a.send("CAP LS 302", "CAP END", "NICK a", "USER a 0 * :a")
    a.take()
    h.server.set_accounts(FakeAccounts())
    assert cap_lines(a) == [("NEW", "sasl=PLAIN")]
    a.send("CAP REQ :sasl")
    a.take()
    h.server.set_accounts(None)
    assert cap_lines(a) == [("DEL", "sasl")]


def test_sasl_off_in_config_is_never_offered(make_harness) -> None:
    h = make_harness(accounts=FakeAccounts(), sasl=False)
    c = h.connect()
    c.send("CAP LS 302")
    assert "sasl" not in " ".join(m.params[-1] for m in c.take())


async def test_live_cap_del_on_reload(live_client) -> None:
    # Port 0: the kernel picks a free loopback port at bind time.
    config = dataclasses.replace(IrcConfig(), listen=(Listener("127.0.0.1", 0),))
    irc = IrcServer(config, accounts=FakeAccounts())
    await irc.start()
    client = None
    try:
        [(_, port)] = irc.addresses
        client = await live_client(port)
        await client.send("CAP LS 302", "NICK live", "USER live 0 * :live", "CAP END")
        await client.expect("001")
        irc.reload(dataclasses.replace(config, sasl=False))
        msg = await client.expect("CAP")
        assert msg.params[1:] == ("DEL", "sasl")
    finally:
        if client is not None:
            await client.close()
        await irc.stop()
