"""The gateway's side of the IRC extension interface, against the real store."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from gateway.config import Config
from gateway.irc.hooks import CallsignNicks, StoreBanStore, TotpAccounts
from gateway.store import AsyncStore
from ircd.config import IrcConfig
from ircd.hooks import Login
from ircd.server import Server
from ircd.xlines import XLine
from tests.ircd.conftest import CoreClient


def test_callsign_nicks_belong_to_their_account() -> None:
    hooks = CallsignNicks()
    hooks.enrolled = frozenset({"N0TEST", "2E0ABC"})
    anon = SimpleNamespace(account=None)
    owner = SimpleNamespace(account="N0TEST")
    for nick in ("N0TEST", "n0test", "N0TEST-5", "N0TEST_", "N0TEST|away"):
        assert hooks.nick_reserved(anon, nick) is not None, nick  # type: ignore[arg-type]
        assert hooks.nick_reserved(owner, nick) is None, nick  # type: ignore[arg-type]
    # A callsign that starts with a digit is a nick with one leading underscore.
    digit_owner = SimpleNamespace(account="2E0ABC")
    for nick in ("_2E0ABC", "_2e0abc-5", "_2E0ABC_"):
        assert hooks.nick_reserved(anon, nick) is not None, nick  # type: ignore[arg-type]
        assert hooks.nick_reserved(digit_owner, nick) is None, nick  # type: ignore[arg-type]
    for nick in ("N0TESTER", "XN0TEST", "alice", "[alice]"):
        assert hooks.nick_reserved(anon, nick) is None, nick  # type: ignore[arg-type]
    # Punctuation in front hides no callsign (hostile review, 9).
    for nick, owner in (("[N0TEST]", "N0TEST"), ("^N0TEST", "N0TEST"), ("__2E0ABC", "2E0ABC")):
        assert hooks.nick_reserved(anon, nick) is not None, nick  # type: ignore[arg-type]
        ham = SimpleNamespace(account=owner)
        assert hooks.nick_reserved(ham, nick) is None, nick  # type: ignore[arg-type]


def test_a_digit_callsign_names_its_nick_as_a_target() -> None:
    hooks = CallsignNicks()
    assert hooks.target_alias("2E0ABC") == "_2E0ABC"
    assert hooks.target_alias("2e0abc-5") == "_2E0ABC-5"
    for name in ("2", "2ABC", "9-9", "2E0ABC-99", ""):
        assert hooks.target_alias(name) is None, name


async def test_sasl_accounts_use_the_totp_check() -> None:
    calls: list[tuple[str, str, str]] = []

    async def check(call: str, code: str, source: str, *, familiar: bool = True) -> bool:
        calls.append((call, code, source))
        return code in ("123456", "234567")

    accounts = TotpAccounts(check)
    ip = "192.0.2.7"
    assert await accounts.check_password("n0test", " 123456", ip) == Login("N0TEST", "totp")
    assert await accounts.check_password("N0TEST", "000000", ip) is None
    assert await accounts.check_password("not a call", "123456", ip) is None
    base = Login("N0TEST", "totp")
    assert await accounts.check_password("N0TEST-5", "234567", ip) == base
    assert await accounts.check_password("N0TEST-16", "123456", ip) is None
    source = "irc:sasl:ip:192.0.2.7"  # penalties per address
    assert calls == [
        ("N0TEST", "123456", source), ("N0TEST", "000000", source), ("N0TEST", "234567", source),
    ]  # fmt: skip
    assert await accounts.account_for_certfp("ab" * 32) is None


async def test_server_bans_persist_in_the_store(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    store = await AsyncStore.open(config)
    bans = StoreBanStore(store)

    def line(kind: str, mask: str, reason: str, at: float, expires: float | None) -> XLine:
        return XLine(kind=kind, mask=mask, reason=reason, set_by="oper", set_at=at, expires=expires)

    await bans.add(line("K", "*@192.0.2.*", "spam", 1000.0, 2000.0))
    await bans.add(line("Z", "198.51.100.0/24", "flood", 1001.0, None))
    await bans.add(line("K", "*@192.0.2.*", "spam again", 1002.0, None))
    await bans.remove("Z", "198.51.100.0/24")
    await store.close()
    store = await AsyncStore.open(config)
    try:
        assert await StoreBanStore(store).load() == [
            line("K", "*@192.0.2.*", "spam again", 1002.0, None)
        ]
    finally:
        await store.close()


def test_nick_answers_alike_for_enrolled_and_unknown_callsigns() -> None:
    # Issue 12: NICK must not tell who is enrolled, before registration or after.
    hooks = CallsignNicks()
    hooks.enrolled = frozenset({"N0TEST"})
    server = Server(IrcConfig(), hooks=hooks)
    answers = []
    for call in ("N0TEST", "K4LEG"):
        client = CoreClient(server, "192.0.2.7")
        client.send(f"NICK {call}", "USER x 0 * :x")
        welcome = client.take()
        client.send(f"NICK {call}-2")
        later = client.take()
        texts = [
            re.sub(r"Guest\d+", "Guest", m.params[-1]).replace(call, "CALL")
            for m in welcome[:1] + later
        ]
        answers.append(([m.command for m in welcome[:2] + later], texts))
        assert welcome[1].params[0].startswith("Guest")
    assert answers[0] == answers[1]
    assert answers[0][0] == ["NOTICE", "001", "433", "NOTICE"]
    assert "log in with SASL as CALL" in answers[0][1][0]
