"""SASL penalties are kept per client address: one guesser does not lock every user out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.auth import admin, credentials, penalties, totp, users
from gateway.auth.service import Authenticator
from gateway.config import Config
from gateway.irc.hooks import TotpAccounts, sasl_source
from gateway.store import AsyncStore, Store
from ircd.hooks import Login
from tests.gateway.test_store_auth import AUTH, SECRET, STEP, T0, wrong

GUESSER, OWNER, HOME = "203.0.113.9", "198.51.100.1", "192.0.2.44"


class Clock:
    def __init__(self) -> None:
        self.now = T0


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(Config(data_dir=tmp_path / "data"))
    with store.transaction():
        store.put_user("N0TEST", SECRET, STEP - 1, T0 - 60)
        store.put_user("K4LEG", SECRET, STEP - 1, T0 - 60)
        # Codes log in on IRC only where the sysop allows it (`gateway irc-codes`).
        users.set_irc_codes(store, "N0TEST", True)
        users.set_irc_codes(store, "K4LEG", True)
    yield store
    store.close()


def accounts(store: Store, clock: Clock) -> TotpAccounts:
    auth = Authenticator()

    async def check(call: str, code: str, source: str, *, familiar: bool = True) -> bool:
        return auth.attempt(store, AUTH, call, code, source, clock.now, familiar=familiar).ok

    return TotpAccounts(check)


def test_sources_and_nodes_per_address() -> None:
    assert sasl_source("192.0.2.7") == "irc:sasl:ip:192.0.2.7"
    assert penalties.node_of(sasl_source("192.0.2.7")) == "irc:sasl:ip:192.0.2.7"
    assert penalties.node_of(sasl_source("2001:db8::1:2")) == "irc:sasl:net:2001:db8::/64"
    assert penalties.can_be_familiar(sasl_source("192.0.2.7"))


async def test_a_guesser_does_not_lock_out_sasl_users_elsewhere(store: Store) -> None:
    clock = Clock()
    sasl = accounts(store, clock)
    first = totp.code_at(SECRET, STEP)
    assert await sasl.check_password("N0TEST", first, HOME) == Login("N0TEST", "totp")
    # One address guesses at both callsigns until everything it can spend is spent.
    for i in range(40):
        clock.now = T0 + 1 + i
        for call in ("N0TEST", "K4LEG"):
            assert await sasl.check_password(call, wrong(STEP), GUESSER) is None
    clock.now = T0 + 45
    code = totp.code_at(SECRET, totp.time_step(clock.now) + 1)
    assert await sasl.check_password("K4LEG", code, GUESSER) is None  # refused unchecked
    # The owners elsewhere are not held by the guesser's penalties (with one source for
    # all SASL, both were refused here).
    assert await sasl.check_password("K4LEG", code, OWNER) == Login("K4LEG", "totp")
    assert await sasl.check_password("N0TEST", code, HOME) == Login("N0TEST", "totp")


async def test_a_guesser_does_not_slow_other_addresses(store: Store) -> None:
    clock = Clock()
    sasl = accounts(store, clock)
    # Guessing at callsigns that are not enrolled spends only this address's penalties.
    for i in range(30):
        clock.now = T0 + i
        assert await sasl.check_password(f"K{i}ZZ", "123456", GUESSER) is None
    assert store.source_until(sasl_source(GUESSER)) > clock.now + AUTH.source.grace
    code = totp.code_at(SECRET, totp.time_step(clock.now) + 1)
    assert await sasl.check_password("N0TEST", code, GUESSER) is None
    assert await sasl.check_password("N0TEST", code, OWNER) == Login("N0TEST", "totp")


def test_unlock_clears_sasl_penalties_by_address_or_all(store: Store) -> None:
    with store.transaction():
        for addr in (GUESSER, OWNER):
            store.set_source_until(sasl_source(addr), T0 + 600, T0, 100)
    assert admin.unlock(store, GUESSER) == 1
    assert [s for s, _, _ in store.sources(T0)] == [sasl_source(OWNER)]
    assert admin.unlock(store, "irc:sasl") == 1  # every address's
    assert store.sources(T0) == []


async def test_a_browser_page_does_not_spend_the_owners_familiar_budget(store: Store) -> None:
    """Another site's script in the owner's browser shares the owner's address: its
    guesses are penalised as that address's (one penalty per address, whatever the
    Origin), but never draw on the budget kept for the owner's sources."""
    clock = Clock()
    sasl = accounts(store, clock)
    with store.transaction():  # the owner's address is familiar (earned on earlier days)
        store.note_login("N0TEST", sasl_source(HOME), T0 - 86400, granted=True)
    first = totp.code_at(SECRET, STEP)
    assert await sasl.check_password("N0TEST", first, HOME) == Login("N0TEST", "totp")
    for i in range(60):
        clock.now = T0 + 1 + i * 600  # slow enough that the address penalty never bites
        assert await sasl.check_password("N0TEST", wrong(STEP), HOME, browser=True) is None
    assert [s for s, _, _ in store.sources(clock.now)] in ([], [sasl_source(HOME)])
    spent = store.callsign_state("N0TEST", "")
    assert penalties.budget_at(spent, clock.now, AUTH.callsign).level > 0
    familiar = store.callsign_state("N0TEST", penalties.FAMILIAR)
    assert penalties.budget_at(familiar, clock.now, AUTH.callsign).level == 0
    code = totp.code_at(SECRET, totp.time_step(clock.now) + 1)
    assert await sasl.check_password("N0TEST", code, HOME) == Login("N0TEST", "totp")


async def test_app_password_guesses_cost_no_argon2id_and_tell_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong application password finds no row by its selector: no Argon2id check
    runs, whether or not the callsign is enrolled or has passwords; a right one costs
    one. Failures are penalised per address (per /64 for IPv6)."""
    checked: list[int] = []
    verify = credentials.verify_app_password

    def counting(candidates: list[tuple[int, str]], password: str) -> int | None:
        checked.append(len(candidates))
        return verify(candidates, password)

    monkeypatch.setattr(credentials, "verify_app_password", counting)
    config = Config(data_dir=tmp_path / "data")
    astore = await AsyncStore.open(config)
    clock = Clock()

    async def no_code(call: str, code: str, source: str, *, familiar: bool = True) -> bool:
        raise AssertionError("an application password never reaches the TOTP check")

    try:

        def setup(s: Store) -> tuple[int, str]:
            with s.transaction():
                s.put_user("N0TEST", SECRET, STEP - 1, T0 - 60)
            return credentials.add_app_password(s, "N0TEST", "irssi", T0)

        number, password = await astore.call(setup)
        sasl = TotpAccounts(no_code, astore, lambda: AUTH.source, lambda: clock.now)
        for call in ("N0TEST", "K4LEG", "W1AW"):
            guess = credentials.new_app_password()
            assert await sasl.check_password(call, guess, "2001:db8::1") is None
            clock.now += 3600  # the penalty runs out between them
        assert checked == []  # not one Argon2id check for a guess
        got = await sasl.check_password("N0TEST", password, OWNER)
        assert got == Login("N0TEST", f"apppass:{number}") and checked == [1]
        # Another address in the same /64 shares the penalty of the first.
        for i in range(2, 40):
            await sasl.check_password("N0TEST", credentials.new_app_password(), f"2001:db8::{i}")
        until = await astore.call(Store.source_until, "irc:sasl:app:net:2001:db8::/64")
        assert until > clock.now + AUTH.source.grace
        # Apart from the address's TOTP penalty: its owner's codes are not held up.
        assert await astore.call(Store.source_until, "irc:sasl:net:2001:db8::/64") == 0.0
        assert await astore.call(Store.source_until, sasl_source("2001:db8::2")) == 0.0
        assert await sasl.check_password("N0TEST", password, "2001:db8::99") is None
        assert checked == [1]  # refused before any check
        assert await astore.call(admin.unlock, "2001:db8::99") >= 1  # its /64 too
        assert await sasl.check_password("N0TEST", password, "2001:db8::99") == got
    finally:
        await astore.close()


class FullStore:
    """A store whose every call fails, as on a full disk."""

    async def call(self, fn: object, *args: object, **kw: object) -> object:
        raise sqlite3.OperationalError("database or disk is full")


async def test_a_failing_store_refuses_sasl_with_one_paced_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def check(call: str, code: str, source: str, *, familiar: bool = True) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    sasl = TotpAccounts(check, FullStore())  # type: ignore[arg-type]
    apppass = credentials.new_app_password()
    for _ in range(30):
        assert await sasl.check_password("N0TEST", "123456", OWNER) is None
        assert await sasl.check_password("N0TEST", apppass, OWNER) is None
        assert await sasl.account_for_certfp("ab" * 32) is None
    warned = [r for r in caplog.records if "store failed" in r.getMessage()]
    assert len(warned) == 20 and not any(r.exc_info for r in warned)  # LogPace's burst
    assert "123456" not in caplog.text and apppass not in caplog.text
