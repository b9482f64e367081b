"""Locks, unlocks and durations shared by the console and IRC operators."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.auth import admin
from gateway.auth.service import Authenticator, Outcome
from gateway.config import Config
from gateway.store import Store
from tests.gateway.support import run_cli

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
        # The source pays as for a wrong code (so the answer takes as long as one).
        assert store.source_until("telnet:x:call:N0TEST") > T0
        assert admin.penalty_lines(store, config.auth, T0)[0].startswith("N0TEST: locked until")
        admin.prune_locks(store, T0 + 3601)  # expired locks go at the prune
        assert admin.locked_until(store, "N0TEST") == 0.0
        admin.lock(store, "N0TEST", T0 + 3600)
        assert admin.unlock(store, "n0test") == 2  # the lock and that source's penalty
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


def test_refused_sources_show_when_they_can_try_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.cli import main as cli

    config = Config(data_dir=tmp_path / "data")
    grace = config.auth.source.grace
    now = time.time()
    until = now + 600  # refused until 600 - grace seconds from now, clean at 600
    store = Store.open(config)
    try:
        with store.transaction():
            for _ in range(3):  # three failures
                store.set_source_until("telnet:lan:ip:192.0.2.7", until, now, 100)
        (line,) = admin.penalty_lines(store, config.auth, now)
    finally:
        store.close()
    retry = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(until - grace))
    assert line == (
        f"source telnet:lan:ip:192.0.2.7: 3 failures, can try again at {retry}"
        f" (in {600 - grace:.0f} s)"
    )
    path = tmp_path / "gateway.yaml"
    path.write_text(f"data_dir: {config.data_dir}\n")
    assert cli.main(["--config", str(path), "users"]) == 0
    out = capsys.readouterr().out
    assert f"telnet:lan:ip:192.0.2.7: 3 failures, can try again at {retry}" in out
    assert time.strftime("%H:%M:%S", time.gmtime(until)) not in out  # not when it is clean


def test_users_shows_a_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main as cli

    config = Config(data_dir=tmp_path / "data")
    until = time.time() + 7200
    store = Store.open(config)
    try:
        with store.transaction():
            store.put_user("N0TEST", "JBSWY3DPEHPK3PXP", 0, T0)
            store.put_user("K1ABC", "JBSWY3DPEHPK3PXP", 0, T0)
        admin.lock(store, "N0TEST", until)
    finally:
        store.close()
    path = tmp_path / "gateway.yaml"
    path.write_text(f"data_dir: {config.data_dir}\n")
    assert cli.main(["--config", str(path), "users"]) == 0
    out = capsys.readouterr().out
    when = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(until))
    (n0test,) = [line for line in out.splitlines() if line.startswith("N0TEST")]
    assert n0test.endswith(f"LOCKED until {when}; full")
    assert "LOCKED" not in next(line for line in out.splitlines() if line.startswith("K1ABC"))


def test_a_source_to_trust_must_be_one_a_login_could_come_from(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "data")  # one BPQ listener, `telnet:127.0.0.1:8023`
    nodes = admin.known_nodes(config)
    ok = ("telnet:127.0.0.1:8023:call:N0TEST-5", "telnet:127.0.0.1:8023:ip:192.0.2.7",
          "irc:sasl:ip:2001:db8::1")  # fmt: skip
    assert [admin.source_problem(s, nodes) for s in ok] == [None, None, None]
    bad = {
        "garbage": "expected <node>:call:<callsign> or <node>:ip:<address>",
        "telnet:127.0.0.1:8023:call:NOT A CALL": "not a callsign: 'NOT A CALL'",
        "telnet:127.0.0.1:8023:ip:999.1.1.1": "not an IP address: '999.1.1.1'",
        "telnet:elsewhere:call:N0TEST": "no such node: 'telnet:elsewhere'",
        "ax25:vhf:WIDE1-1:call:N0TEST": "no such node: 'ax25:vhf'",
        "*gateway:call:N0TEST": "no such node: '*gateway'",
    }
    for source, problem in bad.items():
        found = admin.source_problem(source, nodes)
        assert found is not None and found.startswith(problem), (source, found)
    path = tmp_path / "gateway.yaml"
    path.write_text(f"data_dir: {config.data_dir}\n")
    Store.open(config).close()  # the CLI makes no store but at enroll
    done = run_cli(path, "sources", "trust", "N0TEST", "garbage")
    assert done.returncode == 1 and "garbage: expected <node>:call:" in done.stderr
