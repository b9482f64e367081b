"""Locks, unlocks and durations shared by the console and IRC operators."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import admin
from gateway.auth.service import Authenticator, Outcome
from gateway.config import Config
from gateway.store import Store

T0 = 1_800_000_000.0


def test_durations() -> None:
    assert admin.parse_duration("30m") == 1800 and admin.parse_duration("7d") == 7 * 86400
    assert admin.parse_duration("90") == 90
    for bad in ("", "0", "-5m", "1y", "400d", "12hours"):
        with pytest.raises(admin.AdminError):
            admin.parse_duration(bad)


def test_lock_refuses_until_it_expires_or_is_unlocked(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    store = Store.open(config)
    try:
        with store.transaction():
            store.put_user("N0TEST", "JBSWY3DPEHPK3PXP", 0, T0)
        assert not admin.lock(store, "K1ABC", T0 + 60)  # not enrolled: nothing stored
        assert admin.lock(store, "N0TEST", T0 + 3600)
        auth = Authenticator()
        result = auth.attempt(store, config.auth, "N0TEST", "123456", "telnet:x:call:N0TEST", T0)
        assert result.outcome is Outcome.LOCKED and not result.ok
        assert admin.penalty_lines(store, config.auth, T0)[0].startswith("N0TEST: locked until")
        admin.prune_locks(store, T0 + 3601)  # expired locks go at the prune
        assert admin.locked_until(store, "N0TEST") == 0.0
        admin.lock(store, "N0TEST", T0 + 3600)
        assert admin.unlock(store, "n0test") == 1
        assert admin.locked_until(store, "N0TEST") == 0.0
        with pytest.raises(admin.AdminError, match="not a callsign"):
            admin.unlock(store, "not valid!")
    finally:
        store.close()


def test_unlock_clears_ax25_and_sasl_sources(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        with store.transaction():
            for source in ("ax25:vhf:direct", "ax25:vhf:WIDE1-1", "ax25:hf:direct", "irc:sasl"):
                store.set_source_until(source, T0 + 600, T0, 100)
        assert admin.unlock(store, "ax25:vhf") == 2  # both paths of that port
        assert admin.unlock(store, "irc:sasl") == 1
        assert [s for s, _, _ in store.sources(T0)] == ["ax25:hf:direct"]
        assert admin.unlock(store, "ax25:hf:direct") == 1  # one port and path
    finally:
        store.close()
