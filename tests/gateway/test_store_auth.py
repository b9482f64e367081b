import base64
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.auth import totp
from gateway.auth.service import Authenticator, Outcome
from gateway.config import AuthConfig, CallsignDelayConfig, Config, SourcePenaltyConfig
from gateway.private_files import UnsafePathError
from gateway.store import Store, StoreError

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = 1_800_000_015.0
STEP = totp.time_step(T0)
AUTH = AuthConfig(
    source=SourcePenaltyConfig(per_failure=30, grace=60, max=600, max_entries=16),
    callsign=CallsignDelayConfig(
        free_failures=5, step=60, max=3600, forget_after=7200, warn_after=5, max_entries=16
    ),
)
SRC_A, SRC_B = "telnet:bpq:call:N0TEST", "telnet:bpq2:call:N0TEST"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return Config(data_dir=tmp_path / "data")


@pytest.fixture
def store(config: Config):
    store = Store.open(config)
    with store.transaction():
        store.put_user("N0TEST", SECRET, STEP - 1, T0 - 60)
    yield store
    store.close()


def attempt(store: Store, code: str, now: float, source: str = SRC_A, call: str = "N0TEST"):
    return Authenticator().attempt(store, AUTH, call, code, source, now)


def wrong(step: int) -> str:
    good = {totp.code_at(SECRET, s) for s in range(step - 1, step + 2)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in good)


def test_good_code_once_and_step_persisted(store: Store, config: Config) -> None:
    code = totp.code_at(SECRET, STEP)
    assert attempt(store, code, T0).outcome is Outcome.OK
    assert store.get_user("N0TEST").last_step == STEP
    # Heard on air and replayed from anywhere, at any time in its window: refused,
    # and not counted as a guess.
    for later, source in ((T0, SRC_A), (T0 + 29, SRC_B), (T0 + 44, "x")):
        assert attempt(store, code, later, source).outcome is Outcome.REPLAY
    assert store.callsign_state("N0TEST").failures == 0
    reopened = Store.open(config)
    try:
        assert attempt(reopened, code, T0 + 1).outcome is Outcome.REPLAY
    finally:
        reopened.close()


def test_source_penalty_does_not_lock_out_other_sources(store: Store) -> None:
    bad = wrong(STEP)
    outcomes = [attempt(store, bad, T0 + i).outcome for i in range(4)]
    assert outcomes == [Outcome.WRONG, Outcome.WRONG, Outcome.WRONG, Outcome.SOURCE_PENALTY]
    good = totp.code_at(SECRET, STEP)
    assert attempt(store, good, T0 + 4).outcome is Outcome.SOURCE_PENALTY  # not even checked
    assert attempt(store, good, T0 + 5, SRC_B).outcome is Outcome.OK  # the owner elsewhere
    # The penalty runs down by itself.
    assert attempt(store, wrong(STEP + 4), T0 + 90 + 30, SRC_A).outcome is Outcome.WRONG


def test_callsign_delay_applies_to_every_source_and_expires(store: Store) -> None:
    now = T0
    for i in range(5):
        assert attempt(store, wrong(STEP), now, f"src{i}").outcome is Outcome.WRONG
    # Five free failures used: the next check waits step x 1 = 60 s after the last.
    good = totp.code_at(SECRET, STEP)
    assert attempt(store, good, now + 30, "fresh").outcome is Outcome.CALLSIGN_DELAY
    later = now + 61
    assert attempt(store, wrong(totp.time_step(later)), later, "s6").outcome is Outcome.WRONG
    assert attempt(store, "123456", later + 100, "s7").outcome is Outcome.CALLSIGN_DELAY
    # A good code when the delay is over logs in and clears the count.
    t = later + 121
    assert attempt(store, totp.code_at(SECRET, totp.time_step(t)), t, "s8").ok
    assert store.callsign_state("N0TEST").failures == 0


def test_warning_after_threshold(store: Store, caplog: pytest.LogCaptureFixture) -> None:
    results = [attempt(store, wrong(STEP), T0 + 100 * i, f"s{i}") for i in range(5)]
    assert [r.alert is not None for r in results] == [False] * 4 + [True]
    assert "5 failed logins in a row for N0TEST" in results[-1].alert
    assert "5 failed logins" in caplog.text


def test_unknown_and_malformed(store: Store) -> None:
    assert attempt(store, "123456", T0, call="K1ABC").outcome is Outcome.UNKNOWN
    assert store.callsign_state("K1ABC").failures == 1
    assert attempt(store, "12345", T0).outcome is Outcome.MALFORMED
    assert store.callsign_state("N0TEST").failures == 0


def test_tables_are_bounded_and_enrolled_counts_survive_floods(store: Store) -> None:
    attempt(store, wrong(STEP), T0, "victim-src")
    for i in range(100):
        attempt(store, "123456", T0 + i, f"flood{i}", call=f"K{i % 10}X{chr(65 + i % 26)}")
        attempt(store, "123456", T0 + i, f"flood-b{i}", call=f"N{i % 10}Q{chr(65 + i // 26)}")
    count = store._conn.execute("SELECT count(*) FROM callsign_failures").fetchone()[0]
    assert count <= AUTH.callsign.max_entries + 1
    assert store.callsign_state("N0TEST").failures == 1
    sources = store._conn.execute("SELECT count(*) FROM source_penalties").fetchone()[0]
    assert sources <= AUTH.source.max_entries


def test_secret_encrypted_and_bound_to_callsign(store: Store, config: Config) -> None:
    store._conn.execute("PRAGMA wal_checkpoint(FULL)")
    for path in config.data_dir.iterdir():
        data = path.read_bytes()
        assert SECRET.encode() not in data
        assert base64.b32decode(SECRET) not in data
    blob = store.get_user("N0TEST").secret_blob
    with store.transaction():
        store._conn.execute(
            "INSERT INTO users (callsign, secret, enrolled_at, last_step) VALUES (?, ?, 0, 0)",
            ("K1ABC", blob),
        )
    code = totp.code_at(SECRET, STEP)
    assert attempt(store, code, T0, call="K1ABC").outcome is Outcome.STORE_ERROR


def test_file_modes(store: Store, config: Config) -> None:
    assert stat.S_IMODE(config.data_dir.stat().st_mode) == 0o700
    for path in config.data_dir.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_refuses_exposed_or_linked_files(store: Store, config: Config, tmp_path: Path) -> None:
    store.close()
    os.chmod(config.data_dir, 0o750)
    with pytest.raises(UnsafePathError, match="chmod 700"):
        Store.open(config)
    os.chmod(config.data_dir, 0o700)
    os.chmod(config.database_path, 0o644)
    with pytest.raises(UnsafePathError, match="chmod 600"):
        Store.open(config)
    os.chmod(config.database_path, 0o600)
    key = config.secret_key_path
    moved = tmp_path / "elsewhere.key"
    key.rename(moved)
    key.symlink_to(moved)
    with pytest.raises(UnsafePathError, match="symbolic link"):
        Store.open(config)


def test_missing_key_with_users_refuses_to_invent_one(store: Store, config: Config) -> None:
    store.close()
    config.secret_key_path.unlink()
    with pytest.raises(StoreError, match="key file missing but 1 user"):
        Store.open(config)


def test_key_file_outside_data_dir(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir(mode=0o700)
    config = replace(Config(data_dir=tmp_path / "d"), key_file=tmp_path / "keys" / "k")
    Store.open(config).close()
    assert stat.S_IMODE(os.stat(tmp_path / "keys" / "k").st_mode) == 0o600
    assert not (tmp_path / "d" / "secret.key").exists()


def test_unlock_clears_exactly_the_named_target(store: Store) -> None:
    bad = wrong(STEP)
    sources = ("telnet:d:ip:1.2.3.4", "telnet:d:ip:11.2.3.4", SRC_A, "telnet:x:call:AN0TEST")
    for n, source in enumerate(sources):
        for i in range(4):
            attempt(store, bad, T0 + i, source, call=f"K{n}ABC")
    with store.transaction():
        assert store.clear_sources(":ip:1.2.3.4") == 1
        assert store.clear_sources(":call:N0TEST") == 1
        assert store.clear_callsign("K1ABC") and not store.clear_callsign("K9ABC")
    left = {s for s, _, _ in store.sources(T0)}
    assert left == {"telnet:d:ip:11.2.3.4", "telnet:x:call:AN0TEST"}
    assert attempt(store, totp.code_at(SECRET, STEP), T0 + 5, SRC_A).ok
