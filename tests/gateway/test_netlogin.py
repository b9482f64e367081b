"""Radio users' passwords toward an external network: sealed, bound, gone on revoke."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gateway.auth import netlogin
from gateway.auth.secretbox import SecretKeyError
from gateway.config import Config
from gateway.store import Store
from tests.gateway.support import enroll, run_cli


def test_sealed_bound_to_the_callsign_and_removed_with_the_enrollment(tmp_path: Path) -> None:
    store = Store.open(Config(data_dir=tmp_path / "data"))
    try:
        with store.transaction():
            store.put_user("N0TEST", "JBSWY3DPEHPK3PXP", 0, 0.0)
        netlogin.set_password(store, "N0TEST", "s3cret pass", 1.0)
        assert netlogin.password_for(store, "N0TEST") == "s3cret pass"
        assert netlogin.password_for(store, "N0OTHER") is None
        assert netlogin.listed(store) == [("N0TEST", 1.0)]
        blob = store.db.execute("SELECT secret FROM network_logins").fetchone()[0]
        assert b"s3cret" not in blob
        # Bound to its callsign and purpose: moved to another row it does not open.
        store.db.execute("INSERT INTO network_logins VALUES ('N0OTHER', ?, 0)", (blob,))
        with pytest.raises(SecretKeyError):
            netlogin.password_for(store, "N0OTHER")
        with store.transaction():
            assert store.delete_user("N0TEST")
        assert netlogin.password_for(store, "N0TEST") is None
        assert netlogin.remove(store, "N0OTHER") and not netlogin.remove(store, "N0OTHER")
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "data" / "gateway.db") as db:
        assert db.execute("SELECT count(*) FROM network_logins").fetchone()[0] == 0


def test_cli_refuses_unenrolled_callsigns_and_bad_passwords(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n")
    Store.open(Config(data_dir=tmp_path / "data")).close()  # the CLI makes none but at enroll
    out = run_cli(config, "irc-login", "set", "N0TEST", stdin="pw\n")
    assert out.returncode != 0 and "not enrolled" in out.stderr
    assert run_cli(config, "irc-login", "set", "N0-TEST", stdin="pw\n").returncode != 0
    out = run_cli(config, "irc-login", "remove", "N0TEST")
    assert out.returncode != 0 and "no IRC network login" in out.stderr
    assert run_cli(config, "irc-login", "list").stdout.strip() == "none"
    enroll(config, "N0TEST")
    out = run_cli(config, "irc-login", "set", "N0TEST", stdin="p\u00e4ssword\n")
    assert out.returncode != 0 and "printable ASCII" in out.stderr
    assert run_cli(config, "irc-login", "set", "N0TEST", stdin="\n").returncode != 0
    out = run_cli(config, "irc-login", "set", "N0TEST", stdin="a good one\n")
    assert out.returncode == 0 and "a good one" not in out.stdout
    assert run_cli(config, "irc-login", "list").stdout.startswith("N0TEST ")
