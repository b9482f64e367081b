"""The one SQLite store: enrolled users, encrypted secrets, last steps and penalties.

`Store` is synchronous and confined to one thread; `AsyncStore` runs it on a single
worker thread so the event loop never waits on disk. WAL mode with synchronous=FULL:
a commit is durable when `commit` returns, which is what lets a login be granted only
after its time step is on disk. Several processes may use the file (the CLI next to a
running gateway); `BEGIN IMMEDIATE` serialises writers and busy_timeout waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from gateway.auth.penalties import CallsignState
from gateway.auth.secretbox import SecretBox, SecretKeyError, create_key, load_key
from gateway.config import Config
from gateway.private_files import check_private, ensure_private_dir

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    callsign    TEXT PRIMARY KEY,
    secret      BLOB NOT NULL,      -- SecretBox blob, never the clear secret
    enrolled_at REAL NOT NULL,
    last_step   INTEGER NOT NULL,   -- last accepted TOTP step: only later steps pass
    last_login  REAL,
    last_source TEXT
);
CREATE TABLE IF NOT EXISTS callsign_failures (
    callsign     TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    last_failure REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS source_penalties (
    source   TEXT PRIMARY KEY,
    until    REAL NOT NULL,
    failures INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS xlines (
    kind   TEXT NOT NULL,
    mask   TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at REAL NOT NULL,
    expires REAL,
    PRIMARY KEY (kind, mask)
);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- The bridge (gateway/chatstore.py): held messages, archived channels, read markers.
CREATE TABLE IF NOT EXISTS mailbox (
    callsign TEXT NOT NULL,             -- base callsign of the recipient
    n        INTEGER NOT NULL,          -- the number the recipient reads and kills it by
    sender   TEXT NOT NULL,
    kind     TEXT NOT NULL,             -- PRIVMSG, NOTICE or ACTION
    text     TEXT NOT NULL,
    at       REAL NOT NULL,
    read     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (callsign, n)
);
CREATE TABLE IF NOT EXISTS archive (
    channel TEXT NOT NULL,              -- folded channel name
    n       INTEGER NOT NULL,           -- per channel, never reused
    at      REAL NOT NULL,
    nick    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    text    TEXT NOT NULL,
    PRIMARY KEY (channel, n)
);
CREATE TABLE IF NOT EXISTS archive_seq (channel TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS read_markers (
    callsign TEXT NOT NULL,
    channel  TEXT NOT NULL,
    n        INTEGER NOT NULL,          -- the last message number read
    PRIMARY KEY (callsign, channel)
);
-- The audit trail (gateway/audit.py): operator and console actions.
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    who    TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS archive_at ON archive (at);
CREATE INDEX IF NOT EXISTS mailbox_at ON mailbox (at);
CREATE INDEX IF NOT EXISTS source_penalties_until ON source_penalties (until);
CREATE INDEX IF NOT EXISTS callsign_failures_last ON callsign_failures (last_failure);
"""


class StoreError(Exception):
    """The store cannot be opened or used safely (permissions, key, schema)."""


@dataclass(frozen=True, slots=True)
class User:
    callsign: str
    secret_blob: bytes
    enrolled_at: float
    last_step: int
    last_login: float | None
    last_source: str | None


@dataclass(frozen=True, slots=True)
class UserSummary:
    """What `gateway users` shows: never the secret."""

    callsign: str
    enrolled_at: float
    last_login: float | None
    last_source: str | None
    failures: int
    last_failure: float | None


class Store:
    """Synchronous store; use from one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, box: SecretBox, path: Path) -> None:
        self._conn = conn
        self.box = box
        self.path = path

    @classmethod
    def open(cls, config: Config) -> Store:
        """Open (creating if needed) the database and key file under `data_dir`."""
        try:
            ensure_private_dir(config.data_dir)
            path = config.database_path
            if not os.path.lexists(path):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                os.close(fd)
            check_private(path)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{path}{suffix}")
                if os.path.lexists(side):
                    check_private(side)
        except OSError as exc:
            raise StoreError(f"{config.data_dir}: {exc.strerror or exc}") from None
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")  # revoked secrets do not linger in free pages
            conn.executescript(_SCHEMA)
            version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if version is None:
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(version[0]) > SCHEMA_VERSION:
                raise StoreError(f"{path}: written by a newer version (schema {version[0]})")
            box = SecretBox(_load_or_create_key(conn, config.secret_key_path))
        except (sqlite3.Error, SecretKeyError, OSError) as exc:
            conn.close()
            raise StoreError(str(exc)) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, box, path)

    def close(self) -> None:
        self._conn.close()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the store's other modules (`gateway.chatstore`)."""
        return self._conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction: taken before reading, so check-then-update is atomic."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes when another connection (the CLI) commits: the cue to re-read."""
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    # -- settings changed at run time (the transmitter switch) ----------------------

    def get_setting(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def set_setting(self, key: str, value: str) -> None:
        self._conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, value))

    # -- IRC server bans (K/G/Z-lines of the embedded ircd) -------------------------

    def xlines(self) -> list[tuple[str, str, str, str, float, float | None]]:
        return list(
            self._conn.execute(
                "SELECT kind, mask, reason, set_by, set_at, expires FROM xlines ORDER BY set_at"
            )
        )

    def put_xline(
        self, kind: str, mask: str, reason: str, set_by: str, set_at: float, expires: float | None
    ) -> None:
        with self.transaction():
            self._conn.execute(
                "INSERT OR REPLACE INTO xlines VALUES (?, ?, ?, ?, ?, ?)",
                (kind, mask, reason, set_by, set_at, expires),
            )

    def delete_xline(self, kind: str, mask: str) -> None:
        with self.transaction():
            self._conn.execute("DELETE FROM xlines WHERE kind = ? AND mask = ?", (kind, mask))

    # -- users -------------------------------------------------------------------

    def get_user(self, callsign: str) -> User | None:
        row = self._conn.execute(
            "SELECT callsign, secret, enrolled_at, last_step, last_login, last_source"
            " FROM users WHERE callsign = ?",
            (callsign,),
        ).fetchone()
        return User(*row) if row else None

    def put_user(self, callsign: str, secret: str, last_step: int, now: float) -> None:
        """Insert or replace an enrollment; penalties of the old one are cleared."""
        blob = self.box.seal(callsign, secret)
        self._conn.execute(
            "INSERT OR REPLACE INTO users (callsign, secret, enrolled_at, last_step)"
            " VALUES (?, ?, ?, ?)",
            (callsign, blob, now, last_step),
        )
        self._conn.execute("DELETE FROM callsign_failures WHERE callsign = ?", (callsign,))

    def delete_user(self, callsign: str) -> bool:
        cur = self._conn.execute("DELETE FROM users WHERE callsign = ?", (callsign,))
        return cur.rowcount > 0

    def record_login(self, callsign: str, step: int, now: float, source: str) -> None:
        self._conn.execute(
            "UPDATE users SET last_step = ?, last_login = ?, last_source = ? WHERE callsign = ?",
            (step, now, source, callsign),
        )

    def enrolled_callsigns(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._conn.execute("SELECT callsign FROM users"))

    def user_count(self) -> int:
        return int(self._conn.execute("SELECT count(*) FROM users").fetchone()[0])

    def list_users(self) -> list[UserSummary]:
        rows = self._conn.execute(
            "SELECT u.callsign, u.enrolled_at, u.last_login, u.last_source,"
            " coalesce(f.failures, 0), f.last_failure"
            " FROM users u LEFT JOIN callsign_failures f ON f.callsign = u.callsign"
            " ORDER BY u.callsign"
        )
        return [UserSummary(*row) for row in rows]

    # -- penalties ---------------------------------------------------------------

    def callsign_state(self, callsign: str) -> CallsignState:
        row = self._conn.execute(
            "SELECT failures, last_failure FROM callsign_failures WHERE callsign = ?",
            (callsign,),
        ).fetchone()
        return CallsignState(*row) if row else CallsignState()

    def set_callsign_state(self, callsign: str, state: CallsignState, max_entries: int) -> None:
        """Store a failure count; the table holds at most `max_entries` unenrolled callsigns.

        Eviction takes the quietest callsign that is not enrolled, so flooding the table
        with invented callsigns cannot wipe a real user's count.
        """
        self._conn.execute(
            "INSERT OR REPLACE INTO callsign_failures VALUES (?, ?, ?)",
            (callsign, state.failures, state.last_failure),
        )
        self._conn.execute(
            "DELETE FROM callsign_failures WHERE callsign IN ("
            " SELECT callsign FROM callsign_failures"
            " WHERE callsign NOT IN (SELECT callsign FROM users)"
            " ORDER BY last_failure DESC LIMIT -1 OFFSET ?)",
            (max_entries,),
        )

    def clear_callsign(self, callsign: str) -> bool:
        cur = self._conn.execute("DELETE FROM callsign_failures WHERE callsign = ?", (callsign,))
        return cur.rowcount > 0

    def source_until(self, source: str) -> float:
        row = self._conn.execute(
            "SELECT until FROM source_penalties WHERE source = ?", (source,)
        ).fetchone()
        return float(row[0]) if row else 0.0

    def set_source_until(self, source: str, until: float, now: float, max_entries: int) -> None:
        """Store a source penalty; expired rows go first, then the mildest, past the bound."""
        self._conn.execute(
            "INSERT INTO source_penalties VALUES (?, ?, 1) ON CONFLICT (source)"
            " DO UPDATE SET until = excluded.until, failures = failures + 1",
            (source, until),
        )
        self._conn.execute("DELETE FROM source_penalties WHERE until < ?", (now,))
        self._conn.execute(
            "DELETE FROM source_penalties WHERE source IN ("
            " SELECT source FROM source_penalties ORDER BY until DESC LIMIT -1 OFFSET ?)",
            (max_entries,),
        )

    def sources(self, now: float) -> list[tuple[str, float, int]]:
        """Sources still under penalty: (source, until, failures)."""
        return list(
            self._conn.execute(
                "SELECT source, until, failures FROM source_penalties WHERE until > ?"
                " ORDER BY source",
                (now,),
            )
        )

    def clear_sources(self, suffix: str) -> int:
        """Delete penalties of sources whose key ends with `suffix` (an IP or a callsign)."""
        cur = self._conn.execute(
            "DELETE FROM source_penalties WHERE substr(source, -?) = ?", (len(suffix), suffix)
        )
        return cur.rowcount

    def prune(self, now: float, forget_after: float) -> None:
        """Drop expired penalties and forgotten failure counts."""
        with self.transaction():
            self._conn.execute("DELETE FROM source_penalties WHERE until < ?", (now,))
            self._conn.execute(
                "DELETE FROM callsign_failures WHERE last_failure < ?", (now - forget_after,)
            )


def _load_or_create_key(conn: sqlite3.Connection, path: Path) -> bytes:
    if os.path.lexists(path):
        return load_key(path)
    users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if users:
        # A new key would make every stored secret unreadable: stop and say so.
        raise SecretKeyError(
            f"{path}: key file missing but {users} user(s) are enrolled; restore it from backup"
        )
    return create_key(path)


P = ParamSpec("P")
T = TypeVar("T")


class AsyncStore:
    """Runs a Store on one dedicated worker thread; every call is awaited off the loop."""

    def __init__(self, store: Store, executor: ThreadPoolExecutor) -> None:
        self._store = store
        self._executor = executor

    @classmethod
    async def open(cls, config: Config) -> AsyncStore:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        loop = asyncio.get_running_loop()
        try:
            store = await loop.run_in_executor(executor, Store.open, config)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(store, executor)

    async def call(
        self, fn: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `fn(store, *args)` on the store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(self._store, *args, **kwargs))

    async def close(self) -> None:
        await self.call(Store.close)
        self._executor.shutdown(wait=True)
