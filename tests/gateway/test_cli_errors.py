"""The CLI's errors: one line naming what is wrong, never a traceback (walkthrough 2)."""

from __future__ import annotations

import fcntl
import os
import select
import shutil
import sqlite3
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.gateway.support import enroll, run_cli


def _config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "gateway.yaml"
    config.write_text(f"data_dir: {tmp_path / 'data'}\n{extra}")
    return config


def test_a_qr_code_that_cannot_be_written_stores_nothing(tmp_path: Path) -> None:
    config = _config(tmp_path)
    done = run_cli(config, "enroll", "N0TEST", "--qr-png", str(tmp_path / "no" / "qr.png"))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"{tmp_path / 'no' / 'qr.png'}: cannot write the QR code" in done.stderr
    assert "nothing was stored" in done.stderr
    assert "N0TEST" not in run_cli(config, "users").stdout


def _controlling_terminal() -> None:
    """In the child, after setsid: stdin's terminal becomes its own, so ^C is SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """The real CLI on a pseudo-terminal, as a sysop at the console types."""

    def __init__(self, config: Path, *args: str) -> None:
        self.main, terminal = os.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gateway", "--config", str(config), *args],
            stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True,
            preexec_fn=_controlling_terminal,
        )  # fmt: skip
        os.close(terminal)
        self.seen = b""

    def until(self, needle: bytes) -> None:
        while needle not in self.seen:
            ready, _, _ = select.select([self.main], [], [], 30)
            assert ready, self.seen
            try:
                chunk = os.read(self.main, 4096)
            except OSError:  # the terminal's other end is closed: the process ended
                chunk = b""
            assert chunk, self.seen
            self.seen += chunk

    def type(self, data: bytes) -> None:
        os.write(self.main, data)

    def interrupt(self) -> None:
        """^C once the prompt's read is blocking: a SIGINT that lands between the prompt
        and its read() is only acted on when the read returns (CPython's own race)."""
        stat = Path(f"/proc/{self.proc.pid}/stat")
        deadline = time.monotonic() + 30
        # The state follows the command name, which is in parentheses.
        while stat.read_text().rpartition(")")[2].split()[0] != "S":
            assert time.monotonic() < deadline, self.seen
            time.sleep(0.01)
        self.type(b"\x03")

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
        os.close(self.main)


def test_init_at_a_terminal_asks_again_and_end_of_input_cancels(tmp_path: Path) -> None:
    term = Terminal(tmp_path / "gateway.yaml", "init")
    try:
        term.until(b"CMDPORT")
        term.type(b"abc\n")
        term.until(b"'abc' is not a number.")
        term.until(b"CMDPORT")
        term.type(b"\x04")  # Ctrl-D
        term.until(b"gateway: cancelled (end of input)")
        assert term.proc.wait(timeout=30) == 1
        assert b"Traceback" not in term.seen
        assert not (tmp_path / "gateway.yaml").exists()
    finally:
        term.close()


def test_interrupt_at_a_prompt_says_cancelled_on_a_line_of_its_own(tmp_path: Path) -> None:
    config = _config(tmp_path)
    for args, prompt in ((("enroll", "N0TEST"), b"code the app shows now: "),
                         (("init",), b"CMDPORT"), (("hash-password",), b"Password: ")):  # fmt: skip
        term = Terminal(config if args[0] != "init" else tmp_path / "new.yaml", *args)
        try:
            term.until(prompt)
            term.interrupt()
            term.until(b"gateway: cancelled\r\n")
            assert b"\ngateway: cancelled\r\n" in term.seen, args  # not after the prompt
            assert term.proc.wait(timeout=30) == 130
            assert b"Traceback" not in term.seen
        finally:
            term.close()
    assert "N0TEST" not in run_cli(config, "users").stdout
    assert not (tmp_path / "new.yaml").exists()


def test_a_key_file_in_a_missing_directory_is_named(tmp_path: Path) -> None:
    key = tmp_path / "nowhere" / "k.key"
    config = _config(tmp_path, f"key_file: {key}\n")
    done = run_cli(config, "enroll", "N0TEST")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert str(key) in done.stderr
    assert ".tmp" not in done.stderr


def test_a_store_made_without_a_config_is_said(tmp_path: Path) -> None:
    def gateway(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", *args], cwd=tmp_path,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    made = (tmp_path / "data").resolve()
    refused = gateway("users")  # only enroll (and run, init) may make a store
    assert refused.returncode == 1
    assert refused.stderr == "gateway: no store at data (check --config: none was given)\n"
    assert not made.exists()
    first = gateway("enroll", "N0TEST")  # cancelled at the code prompt, but the store is made
    said = f"gateway: no --config: a new store was made in {made} (built-in defaults)"
    assert said in first.stderr
    assert (tmp_path / "data" / "gateway.db").exists()
    second = gateway("users")
    assert second.returncode == 0
    assert "new store" not in second.stderr  # the second time it is there


def test_a_mistyped_data_dir_makes_no_store(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _made_store(config)
    typo = tmp_path / "dta"
    config.write_text(f"data_dir: {typo}\n")
    commands = (("users",), ("revoke", "N0TEST"), ("audit",), ("apppass", "list"),
                ("radio", "off"), ("unlock", "N0TEST"), ("backup", str(tmp_path / "b")),
                ("bans", "list"), ("sources", "list", "N0TEST"), ("irc-login", "list"))  # fmt: skip
    for args in commands:
        done = run_cli(config, *args)
        assert done.returncode == 1, args
        assert done.stderr == f"gateway: no store at {typo} (check data_dir in {config})\n", args
        assert not typo.exists(), args


def _made_store(config: Path) -> None:
    """A store as a running gateway leaves it (the commands under test must not make one)."""
    from gateway.config import load_config
    from gateway.store import Store

    Store.open(load_config(str(config))).close()


def test_a_store_locked_by_another_process_is_said_in_one_line(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _made_store(config)
    holder = sqlite3.connect(tmp_path / "data" / "gateway.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # a sysop's open sqlite3 shell, mid-transaction
        done = run_cli(config, "revoke", "N0TEST")
    finally:
        holder.close()
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert done.stderr == "gateway: the store is busy: locked by another process; try again\n"


def test_numbers_past_any_range_are_one_line(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _made_store(config)
    for args, said in (
        (("audit", "--since", "99999999999999999999m"), "gateway: --since: "),
        (("audit", "--since", "1000000d"), "gateway: --since: "),
        (("apppass", "revoke", "N0TEST", "9" * 23), "argument number: "),
    ):
        done = run_cli(config, *args)
        assert done.returncode in (1, 2), args
        assert "Traceback" not in done.stderr, args
        assert said in done.stderr.splitlines()[-1], args
    assert "before 1970" in run_cli(config, "audit", "--since", "1000000d").stderr


def test_a_damaged_schema_version_is_said(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _made_store(config)
    with sqlite3.connect(tmp_path / "data" / "gateway.db") as db:
        db.execute("UPDATE meta SET value = '7b' WHERE key = 'schema'")
    db.close()
    done = run_cli(config, "users")
    assert done.returncode == 1
    assert done.stderr == (
        f"gateway: {tmp_path / 'data' / 'gateway.db'}: damaged: the schema version is '7b',"
        " not a number; restore it from backup\n"
    )


def test_end_of_input_at_the_code_prompt_cancels_the_enrollment(tmp_path: Path) -> None:
    config = _config(tmp_path)
    done = run_cli(config, "enroll", "N0TEST")  # stdin at its end at once, as </dev/null
    assert done.returncode == 1
    assert done.stderr.strip() == "gateway: cancelled (end of input)"
    assert "does not match" not in done.stdout + done.stderr
    trail = run_cli(config, "audit").stdout
    assert "did not match" not in trail
    assert "N0TEST" not in run_cli(config, "users").stdout


def test_a_store_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    config = _config(tmp_path)
    _made_store(config)
    database = tmp_path / "data" / "gateway.db"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
        db.execute("DROP TABLE mqtt_outbox")  # as if the newer release had no use for it
    db.close()
    done = run_cli(config, "users")
    assert done.returncode == 1
    assert done.stderr == f"gateway: {database}: written by a newer version (schema 2)\n"
    db = sqlite3.connect(database)
    try:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()
    assert "audit" in tables and "mqtt_outbox" not in tables


def test_an_empty_config_path_is_an_error_not_the_defaults(tmp_path: Path) -> None:
    def gateway(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "gateway", "--config", "", *args], cwd=tmp_path,
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    for args in (("check-config",), ("users",), ("init", "--non-interactive")):
        done = gateway(*args)
        assert (done.returncode, done.stdout, done.stderr) == (1, "", "--config: empty path\n")
    status = gateway("status")
    assert (status.returncode, status.stdout) == (3, "unknown: --config: empty path\n")
    assert list(tmp_path.iterdir()) == []


def test_an_app_password_nobody_saw_is_not_kept(tmp_path: Path) -> None:
    config = _config(tmp_path)
    enroll(config, "N0TEST")
    with open("/dev/full", "w") as full:  # the output cannot be written: no space left
        done = subprocess.run(
            [sys.executable, "-m", "gateway", "--config", str(config), "apppass", "add", "N0TEST"],
            stdout=full, stderr=subprocess.PIPE, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "No space left on device" in done.stderr
    assert run_cli(config, "apppass", "list", "N0TEST").stdout == "none\n"
    assert "not shown; revoked" in run_cli(config, "audit").stdout


def test_a_store_file_left_read_only_is_named(tmp_path: Path) -> None:
    # SQLite makes the WAL files with the database's mode: a start on a 0400 database
    # left a 0400 -shm, and every later open failed, naming no file (exhaustion audit F5).
    config = _config(tmp_path)
    _made_store(config)
    shm = tmp_path / "data" / "gateway.db-shm"
    shm.write_bytes(b"")
    shm.chmod(0o400)
    as_user: list[str] = []
    if os.geteuid() == 0:  # root writes anything: without its capabilities, modes apply
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv")
        as_user = [setpriv, "--bounding-set=-all"]
    done = subprocess.run(
        [*as_user, sys.executable, "-m", "gateway", "--config", str(config), "radio", "off"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        f"gateway: not readable and writable by this user: {shm} (mode 0400); chmod 600 {shm}\n"
    )


def test_a_store_on_a_full_disk_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # SQLite says "disk I/O error" when it cannot make its WAL files on a full disk,
    # which reads as broken hardware (exhaustion audit F7; seen on a full tmpfs).
    from gateway import store

    path = tmp_path / "gateway.db"
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(store.shutil, "disk_usage", lambda _p: usage._replace(free=0))
    assert store._space(path) == f" (the disk is full: 0 bytes free on {tmp_path})"
    monkeypatch.setattr(store.shutil, "disk_usage", lambda _p: usage._replace(free=1 << 30))
    assert store._space(path) == ""
