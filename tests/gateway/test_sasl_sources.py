"""SASL penalties are kept per client address: one guesser does not lock every user out."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import admin
from gateway.auth import penalties, totp
from gateway.auth.service import Authenticator
from gateway.config import Config
from gateway.ircside import TotpAccounts, sasl_source
from gateway.store import Store
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
    yield store
    store.close()


def accounts(store: Store, clock: Clock) -> TotpAccounts:
    auth = Authenticator()

    async def check(call: str, code: str, source: str) -> bool:
        return auth.attempt(store, AUTH, call, code, source, clock.now).ok

    return TotpAccounts(check)


def test_sources_and_nodes_per_address() -> None:
    assert sasl_source("192.0.2.7") == "irc:sasl:ip:192.0.2.7"
    assert penalties.node_of(sasl_source("192.0.2.7")) == "irc:sasl:ip:192.0.2.7"
    assert penalties.node_of(sasl_source("2001:db8::1:2")) == "irc:sasl:net:2001:db8::/64"
    assert penalties.can_be_familiar(sasl_source("192.0.2.7"))


async def test_a_guesser_does_not_lock_out_sasl_users_elsewhere(store: Store) -> None:
    clock = Clock()
    sasl = accounts(store, clock)
    assert await sasl.check_password("N0TEST", totp.code_at(SECRET, STEP), HOME) == "N0TEST"
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
    assert await sasl.check_password("K4LEG", code, OWNER) == "K4LEG"
    assert await sasl.check_password("N0TEST", code, HOME) == "N0TEST"


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
    assert await sasl.check_password("N0TEST", code, OWNER) == "N0TEST"


def test_unlock_clears_sasl_penalties_by_address_or_all(store: Store) -> None:
    with store.transaction():
        for addr in (GUESSER, OWNER):
            store.set_source_until(sasl_source(addr), T0 + 600, T0, 100)
    assert admin.unlock(store, GUESSER) == 1
    assert [s for s, _, _ in store.sources(T0)] == [sasl_source(OWNER)]
    assert admin.unlock(store, "irc:sasl") == 1  # every address's
    assert store.sources(T0) == []
