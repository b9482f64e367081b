import base64
import os
import sqlite3
import stat
import time
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.auth import totp
from gateway.auth.admin import callsign_budget_text
from gateway.auth.service import Authenticator, Outcome
from gateway.config import (
    AuthConfig,
    CallsignDelayConfig,
    Config,
    NodeBudgetConfig,
    SourcePenaltyConfig,
)
from gateway.private_files import UnsafePathError
from gateway.store import Store, StoreError

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
T0 = 1_800_000_015.0
STEP = totp.time_step(T0)
AUTH = AuthConfig(
    source=SourcePenaltyConfig(per_failure=30, grace=60, max=600, max_entries=16),
    callsign=CallsignDelayConfig(
        burst=5, leak_every=3600, warn_after=5, warn_window=86400, forget_after=7200,
        max_entries=16,
    ),
    node=NodeBudgetConfig(burst=8, leak_every=60, warn_after=8, max_entries=16),
)  # fmt: skip
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


def test_callsign_budget_applies_to_every_source_and_a_login_does_not_refill_it(
    store: Store,
) -> None:
    now = T0
    for i in range(5):
        assert attempt(store, wrong(STEP), now, f"src{i}").outcome is Outcome.WRONG
    # Five checked failures spent the burst: nothing is checked, from anywhere, until
    # one failure has leaked away (leak_every = 3600 s).
    good = totp.code_at(SECRET, STEP)
    assert attempt(store, good, now + 30, "fresh").outcome is Outcome.CALLSIGN_DELAY
    later = now + 3600
    assert attempt(store, wrong(totp.time_step(later)), later, "s6").outcome is Outcome.WRONG
    assert attempt(store, "123456", later + 100, "s7").outcome is Outcome.CALLSIGN_DELAY
    # A good code when the next slot opens logs in, and leaves the budget as it was:
    # a login heard on air does not hand a guesser a fresh burst.
    t = later + 3600
    assert attempt(store, totp.code_at(SECRET, totp.time_step(t)), t, "s8").ok
    assert attempt(store, wrong(totp.time_step(t)), t + 1, "s9").outcome is Outcome.WRONG
    assert attempt(store, "123456", t + 2, "s10").outcome is Outcome.CALLSIGN_DELAY
    assert store.callsign_state("N0TEST").failures == 7


def test_node_budget_bounds_spraying_across_callsigns(store: Store) -> None:
    # 720 guesses at 240 callsigns through one BPQ listener in 1.4 s: only the node's
    # burst is checked; every other attempt is refused unchecked, N0TEST's too.
    outcomes = [
        attempt(store, "123456", T0 + i / 500, f"telnet:bpq:call:K{i % 240}AB", f"K{i % 240}AB")
        for i in range(720)
    ]
    checked = [r for r in outcomes if r.outcome is not Outcome.NODE_BUDGET]
    assert len(checked) == AUTH.node.burst
    good = totp.code_at(SECRET, STEP)
    assert attempt(store, good, T0 + 2, SRC_A).outcome is Outcome.NODE_BUDGET
    # Other nodes are not affected, and the node recovers by itself.
    assert attempt(store, good, T0 + 2, "telnet:bpq2:call:N0TEST").ok
    t = T0 + 61
    assert attempt(store, totp.code_at(SECRET, STEP + 2), t + 30, SRC_A).ok


def test_alert_once_per_burst_for_callsign_and_node(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    results = [attempt(store, wrong(STEP), T0 + i, SRC_A) for i in range(3)]
    results += [attempt(store, wrong(STEP), T0 + 3 + i, f"s{i}") for i in range(2)]
    assert [r.alert is not None for r in results] == [False] * 4 + [True]
    alert = results[-1].alert
    assert alert is not None
    assert "guessing attack on N0TEST: 5 wrong codes checked" in alert
    assert "latest from s1" in alert and "one every 1 h" in alert
    assert alert in caplog.text
    # Refused attempts raise no second alert; nor does the next checked failure.
    later = [attempt(store, wrong(STEP), T0 + 10 + i, f"t{i}") for i in range(3)]
    later.append(attempt(store, wrong(STEP + 120), T0 + 3605, "u"))
    assert [r.alert for r in later] == [None] * 4
    # Spraying through one node alerts for the node.
    spray = [
        attempt(store, "123456", T0 + 7200 + i, f"telnet:bpq:call:K{i}AB", f"K{i}AB")
        for i in range(8)
    ]
    alerts = [r.alert for r in spray if r.alert]
    assert len(alerts) == 1
    assert "guessing attack through telnet:bpq: 8 wrong codes checked across" in alerts[0]


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
    count = store._conn.execute("SELECT count(*) FROM callsign_budget").fetchone()[0]
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


def test_a_different_key_file_is_refused_at_start(store: Store, config: Config) -> None:
    store.close()
    key = config.secret_key_path
    key.unlink()
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    with pytest.raises(StoreError, match=r"not the one .* was written with.*Restore the right"):
        Store.open(config)


def test_key_check_written_for_old_databases_and_without_users(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")
    Store.open(config).close()  # no user yet: the key check value alone catches a swap
    config.secret_key_path.write_bytes(os.urandom(32))
    with pytest.raises(StoreError, match="not the one"):
        Store.open(config)
    # A database from before the check value: the first secret tells, once.
    config.secret_key_path.unlink()
    config.database_path.unlink()
    store = Store.open(config)
    with store.transaction():
        store.put_user("N0TEST", SECRET, STEP, T0)
        store.db.execute("DELETE FROM meta WHERE key = 'key_check'")
    store.close()
    Store.open(config).close()
    good = config.secret_key_path.read_bytes()
    config.secret_key_path.write_bytes(os.urandom(32))
    with pytest.raises(StoreError, match="not the one"):
        Store.open(config)
    config.secret_key_path.write_bytes(good)
    Store.open(config).close()


def test_empty_or_damaged_database_is_refused_at_start(store: Store, config: Config) -> None:
    store.close()
    db = config.database_path
    data = db.read_bytes()
    assert len(data) >= 3 * 4096
    db.write_bytes(b"")
    with pytest.raises(StoreError, match=r"empty .0 bytes.*restore it from backup"):
        Store.open(config)
    db.write_bytes(b"not a database at all" * 300)
    with pytest.raises(StoreError, match=r"not a usable database.*restore it from backup"):
        Store.open(config)
    # A damaged page past the header: found by PRAGMA quick_check before any login.
    damaged = data[: 2 * 4096 + 8] + b"\xa5" * 4000 + data[2 * 4096 + 4008 :]
    db.write_bytes(damaged)
    with pytest.raises(StoreError, match=r"damaged|not a usable database"):
        Store.open(config)
    db.write_bytes(data)
    Store.open(config).close()


def test_old_failure_counts_carry_over_as_budget(config: Config) -> None:
    store = Store.open(config)
    with store.transaction():
        store.db.execute(
            "CREATE TABLE callsign_failures (callsign TEXT PRIMARY KEY,"
            " failures INTEGER NOT NULL, last_failure REAL NOT NULL)"
        )
        store.db.execute("INSERT INTO callsign_failures VALUES ('N0TEST', 40, ?)", (T0,))
    store.close()
    store = Store.open(config)
    try:
        budget = store.callsign_state("N0TEST")
        assert budget.level == Config().auth.callsign.burst and budget.failures == 40
        assert store.db.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'callsign_failures'"
        ).fetchone() == (0,)
    finally:
        store.close()


def test_familiar_sources_keep_their_own_budget(store: Store) -> None:
    home = "telnet:bpq:call:N0TEST"
    # A good login from home on an earlier day: today's earns it.
    with store.transaction():
        store.note_login("N0TEST", home, T0 - 86400)
    assert not store.is_familiar("N0TEST", home, 0)
    assert attempt(store, totp.code_at(SECRET, STEP), T0, home).ok
    assert store.is_familiar("N0TEST", home, 0)
    # Guessers anywhere else spend the everyone-else budget...
    for i in range(8):
        attempt(store, wrong(STEP), T0 + 1 + i, f"telnet:d:ip:10.0.0.{i}")
    assert attempt(store, "123456", T0 + 10, "telnet:d:ip:10.0.1.1").outcome is (
        Outcome.CALLSIGN_DELAY
    )
    # ...and the owner from home is still checked at once.
    assert attempt(store, totp.code_at(SECRET, STEP + 1), T0 + 31, home).ok
    # One who can send from the owner's own way in spends that budget too: still bounded.
    outcomes = [attempt(store, wrong(STEP + 2), T0 + 61 + i, home).outcome for i in range(8)]
    assert outcomes.count(Outcome.WRONG) + outcomes.count(Outcome.SOURCE_PENALTY) == 8
    assert store.callsign_state("N0TEST", "familiar").failures <= AUTH.callsign.burst
    # `gateway users` and `gateway status` show that lane too, as the log counts it.
    (user,) = store.list_users()
    shown = callsign_budget_text(user, T0 + 70, AUTH.callsign)
    assert "from its own sources: " in shown and "wrong since" in shown.split(";")[-1]
    # A revoked callsign's familiar sources are forgotten.
    with store.transaction():
        store.delete_user("N0TEST")
    assert not store.is_familiar("N0TEST", home, 0)


def test_eight_digit_enrollment(store: Store, config: Config) -> None:
    with store.transaction():
        store.put_user("K2ABC", SECRET, STEP - 1, T0, digits=8)
    assert store.get_user("K2ABC").digits == 8
    six = totp.code_at(SECRET, STEP)
    assert attempt(store, six, T0, call="K2ABC").outcome is Outcome.WRONG  # counted
    assert store.callsign_state("K2ABC").failures == 1
    assert attempt(store, totp.code_at(SECRET, STEP, 8), T0 + 1, "y", call="K2ABC").ok
    # N0TEST keeps its 6 digits; a database from before the column reads as 6.
    assert store.get_user("N0TEST").digits == 6
    store.close()
    conn = sqlite3.connect(config.database_path)
    conn.execute("ALTER TABLE users DROP COLUMN digits")
    conn.commit()
    conn.close()
    reopened = Store.open(config)
    try:
        assert reopened.get_user("K2ABC").digits == 6
    finally:
        reopened.close()


def test_cli_users_shows_budgets_and_unlock_clears_a_node(
    store: Store, config: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main as cli

    now = time.time()
    for i in range(12):
        attempt(store, "123456", now + i / 100, f"telnet:bpq:call:K{i}AB", call="N0TEST")
    store.close()
    path = tmp_path / "gateway.yaml"
    path.write_text(f"data_dir: {config.data_dir}\n")
    assert cli.main(["--config", str(path), "users"]) == 0
    out = capsys.readouterr().out
    assert "N0TEST" in out and "wrong since" in out and "telnet:bpq:" in out
    # `telnet:bpq` is not in this config (a listener renamed since): its records still go.
    assert cli.main(["--config", str(path), "unlock", "telnet:bpq"]) == 0
    # The node's budget and the penalties of the sources behind it.
    assert "penalty record(s) cleared" in capsys.readouterr().out
    # A node neither configured nor in the store is a typo: refused, nothing audited as done.
    assert cli.main(["--config", str(path), "unlock", "telnet:bqp"]) == 1
    assert "no such node: 'telnet:bqp'" in capsys.readouterr().err
    assert cli.main(["--config", str(path), "users"]) == 0
    assert "telnet:bpq:" not in capsys.readouterr().out
    assert cli.main(["--config", str(path), "unlock", "N0TEST"]) == 0
    assert cli.main(["--config", str(path), "users"]) == 0
    assert "N0TEST" in (out := capsys.readouterr().out) and "full" in out
