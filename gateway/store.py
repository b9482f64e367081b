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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from gateway.auth.penalties import FAMILIAR, FAMILIAR_FOR, Budget
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
    last_source TEXT,
    digits      INTEGER NOT NULL DEFAULT 6  -- code length chosen at enrollment (6 or 8)
);
-- Guessing budgets (gateway/auth/penalties.py): one row per callsign, one per node.
CREATE TABLE IF NOT EXISTS callsign_budget (
    callsign     TEXT NOT NULL,
    lane         TEXT NOT NULL,     -- '' or 'familiar' (sources it logged in from)
    level        REAL NOT NULL,     -- checked failures not yet leaked away
    recent       REAL NOT NULL,     -- the slower counter behind warnings
    updated      REAL NOT NULL,
    failures     INTEGER NOT NULL,  -- checked failures in this burst
    since        REAL NOT NULL,     -- start of this burst
    alerted_at   REAL,
    last_failure REAL NOT NULL,
    last_source  TEXT NOT NULL,
    quiet_at     REAL NOT NULL,     -- when both counters will have run down
    PRIMARY KEY (callsign, lane)
);
CREATE TABLE IF NOT EXISTS familiar_sources (
    callsign   TEXT NOT NULL,
    source     TEXT NOT NULL,
    last_login REAL NOT NULL,
    PRIMARY KEY (callsign, source)
);
CREATE TABLE IF NOT EXISTS node_budget (
    node         TEXT PRIMARY KEY,
    level        REAL NOT NULL,
    recent       REAL NOT NULL,
    updated      REAL NOT NULL,
    failures     INTEGER NOT NULL,
    since        REAL NOT NULL,
    alerted_at   REAL,
    last_failure REAL NOT NULL,
    quiet_at     REAL NOT NULL
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
-- The bridge (gateway/bridge/chatstore.py): held messages, archived channels, read markers.
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
-- A radio user's own settings (gateway/bridge/prefs.py): /STAMP, /ALERT, /HISTORY.
CREATE TABLE IF NOT EXISTS user_prefs (
    callsign TEXT NOT NULL,             -- base callsign
    key      TEXT NOT NULL,
    value    INTEGER NOT NULL,
    PRIMARY KEY (callsign, key)
);
-- The audit trail (gateway/auth/audit.py): operator and console actions.
CREATE TABLE IF NOT EXISTS audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    who    TEXT NOT NULL,
    source TEXT NOT NULL,
    action TEXT NOT NULL,
    result TEXT NOT NULL
);
-- Credentials for ordinary IRC clients (gateway/auth/credentials.py), never for the air.
CREATE TABLE IF NOT EXISTS certfps (
    fp        TEXT PRIMARY KEY,      -- SHA-256 of the DER certificate, lower-case hex
    callsign  TEXT NOT NULL,
    label     TEXT NOT NULL,
    added     REAL NOT NULL,
    last_used REAL
);
CREATE TABLE IF NOT EXISTS app_passwords (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    callsign  TEXT NOT NULL,
    label     TEXT NOT NULL,
    hash      TEXT NOT NULL,         -- Argon2id of the password, never the password
    added     REAL NOT NULL,
    last_used REAL,
    selector  TEXT                   -- finds the row: 64 bits of SHA-256 of the password
);
CREATE INDEX IF NOT EXISTS app_passwords_callsign ON app_passwords (callsign);
-- Radio users' passwords toward an external IRC network's SASL (gateway/auth/netlogin.py),
-- encrypted like the TOTP secrets.
CREATE TABLE IF NOT EXISTS network_logins (
    callsign TEXT PRIMARY KEY,
    secret   BLOB NOT NULL,
    added    REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS archive_at ON archive (at);
CREATE INDEX IF NOT EXISTS mailbox_at ON mailbox (at);
CREATE INDEX IF NOT EXISTS source_penalties_until ON source_penalties (until);
CREATE INDEX IF NOT EXISTS callsign_budget_quiet ON callsign_budget (quiet_at);
CREATE INDEX IF NOT EXISTS node_budget_quiet ON node_budget (quiet_at);
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
    digits: int = 6


@dataclass(frozen=True, slots=True)
class UserSummary:
    """What `gateway users` shows: never the secret."""

    callsign: str
    enrolled_at: float
    last_login: float | None
    last_source: str | None
    failures: int
    last_failure: float | None
    #: The callsign's guessing budget as stored (bring it up to date with budget_at).
    budget: Budget = field(default_factory=Budget)
    familiar_budget: Budget = field(default_factory=Budget)


class Store:
    """Synchronous store; use from one thread at a time."""

    def __init__(self, conn: sqlite3.Connection, box: SecretBox, path: Path) -> None:
        self._conn = conn
        self.box = box
        self.path = path

    @classmethod
    def open(cls, config: Config) -> Store:
        """Open (creating if needed) the database and key file under `data_dir`.

        Refuses, with the fix in the message, a database that is empty (0 bytes) or
        damaged (`PRAGMA quick_check`), and a key file that is not the one the database
        was written with (a key check value kept in `meta`).
        """
        path = config.database_path
        try:
            ensure_private_dir(config.data_dir)
            created = not os.path.lexists(path)
            if created:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
                os.close(fd)
            check_private(path)
            for suffix in ("-wal", "-shm"):
                side = Path(f"{path}{suffix}")
                if os.path.lexists(side):
                    check_private(side)
            if not created and os.stat(path).st_size == 0:
                # SQLite would take it for a new database and every enrollment would be
                # gone without a word; a truncated file must not start as an empty store.
                raise StoreError(
                    f"{path}: the database is empty (0 bytes); restore it from backup, or"
                    " delete it to start with no users enrolled"
                )
        except OSError as exc:
            raise StoreError(f"{config.data_dir}: {exc.strerror or exc}") from None
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")  # revoked secrets do not linger in free pages
            _check_integrity(conn, path)
            conn.executescript(_SCHEMA)
            version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if version is None:
                conn.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
            elif int(version[0]) > SCHEMA_VERSION:
                raise StoreError(f"{path}: written by a newer version (schema {version[0]})")
            _migrate_failures(conn, config.auth.callsign.burst)
            _migrate_digits(conn)
            _migrate_selectors(conn)
            box = _open_box(conn, config.secret_key_path, path)
        except sqlite3.OperationalError as exc:  # locked, read-only, I/O: not the file's fault
            conn.close()
            raise StoreError(f"{path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(
                f"{path}: not a usable database ({exc}); restore it from backup"
            ) from None
        except (sqlite3.Error, SecretKeyError, OSError) as exc:
            conn.close()
            raise StoreError(str(exc)) from None
        except BaseException:
            conn.close()
            raise
        return cls(conn, box, path)

    def close(self) -> None:
        self._conn.close()

    def backup_to(self, path: Path) -> None:
        """A consistent copy of the whole database in a new 0600 file (safe while running).

        SQLite's online backup copies a snapshot page by page; writers on other
        connections (a running gateway) go on and are not copied half-done.
        """
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        os.close(fd)
        target = sqlite3.connect(path)
        try:
            self._conn.backup(target)
        finally:
            target.close()

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, for the store's other modules (`gateway.bridge.chatstore`)."""
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
            "SELECT callsign, secret, enrolled_at, last_step, last_login, last_source, digits"
            " FROM users WHERE callsign = ?",
            (callsign,),
        ).fetchone()
        return User(*row) if row else None

    def put_user(
        self, callsign: str, secret: str, last_step: int, now: float, digits: int = 6
    ) -> None:
        """Insert or replace an enrollment; penalties of the old one are cleared."""
        blob = self.box.seal(callsign, secret)
        self._conn.execute(
            "INSERT OR REPLACE INTO users (callsign, secret, enrolled_at, last_step, digits)"
            " VALUES (?, ?, ?, ?, ?)",
            (callsign, blob, now, last_step, digits),
        )
        # A new secret: guesses at the old one say nothing about it.
        self._conn.execute("DELETE FROM callsign_budget WHERE callsign = ?", (callsign,))
        self._conn.execute("DELETE FROM familiar_sources WHERE callsign = ?", (callsign,))

    def delete_user(self, callsign: str) -> bool:
        cur = self._conn.execute("DELETE FROM users WHERE callsign = ?", (callsign,))
        for table in ("familiar_sources", "certfps", "app_passwords", "network_logins",
                      "user_prefs"):  # fmt: skip
            self._conn.execute(f"DELETE FROM {table} WHERE callsign = ?", (callsign,))  # noqa: S608
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
            " FROM users u LEFT JOIN callsign_budget f ON f.callsign = u.callsign AND f.lane = ''"
            " ORDER BY u.callsign"
        )
        return [
            UserSummary(
                callsign=row[0],
                enrolled_at=row[1],
                last_login=row[2],
                last_source=row[3],
                failures=row[4],
                last_failure=row[5],
                budget=self.callsign_state(row[0]),
                familiar_budget=self.callsign_state(row[0], FAMILIAR),
            )
            for row in rows.fetchall()
        ]

    # -- penalties ---------------------------------------------------------------

    def callsign_state(self, callsign: str, lane: str = "") -> Budget:
        """A callsign's guessing budget as stored (empty if it has none).

        `lane` "" is everyone's; FAMILIAR is the budget of the sources the callsign has
        logged in from, which an attacker elsewhere cannot spend.
        """
        row = self._conn.execute(
            "SELECT level, recent, updated, failures, since, alerted_at, last_failure"
            " FROM callsign_budget WHERE callsign = ? AND lane = ?",
            (callsign, lane),
        ).fetchone()
        return Budget(*row) if row else Budget()

    def set_callsign_state(
        self,
        callsign: str,
        state: Budget,
        max_entries: int,
        source: str = "",
        quiet_at: float | None = None,
        lane: str = "",
    ) -> None:
        """Store a budget; the table holds at most `max_entries` unenrolled callsigns.

        Eviction takes the unenrolled callsign that went quiet first, so flooding the
        table with invented callsigns cannot wipe a real user's budget.
        """
        self._conn.execute(
            "INSERT OR REPLACE INTO callsign_budget VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                callsign, lane, state.level, state.recent, state.updated, state.failures,
                state.since, state.alerted_at, state.last_failure, source,
                state.updated if quiet_at is None else quiet_at,
            ),
        )  # fmt: skip
        self._conn.execute(
            "DELETE FROM callsign_budget WHERE callsign IN ("
            " SELECT callsign FROM callsign_budget"
            " WHERE callsign NOT IN (SELECT callsign FROM users)"
            " ORDER BY quiet_at DESC LIMIT -1 OFFSET ?)",
            (max_entries,),
        )

    def clear_callsign(self, callsign: str) -> bool:
        cur = self._conn.execute("DELETE FROM callsign_budget WHERE callsign = ?", (callsign,))
        return cur.rowcount > 0

    def is_familiar(self, callsign: str, source: str, since: float) -> bool:
        """True if `callsign` logged in from `source` at or after `since`."""
        row = self._conn.execute(
            "SELECT 1 FROM familiar_sources WHERE callsign = ? AND source = ? AND last_login >= ?",
            (callsign, source, since),
        ).fetchone()
        return row is not None

    def add_familiar(self, callsign: str, source: str, now: float, keep: int) -> None:
        """Remember a source of a good login; only the `keep` latest per callsign stay."""
        self._conn.execute(
            "INSERT OR REPLACE INTO familiar_sources VALUES (?, ?, ?)", (callsign, source, now)
        )
        self._conn.execute(
            "DELETE FROM familiar_sources WHERE callsign = ? AND source IN ("
            " SELECT source FROM familiar_sources WHERE callsign = ?"
            " ORDER BY last_login DESC LIMIT -1 OFFSET ?)",
            (callsign, callsign, keep),
        )

    def node_state(self, node: str) -> Budget:
        row = self._conn.execute(
            "SELECT level, recent, updated, failures, since, alerted_at, last_failure"
            " FROM node_budget WHERE node = ?",
            (node,),
        ).fetchone()
        return Budget(*row) if row else Budget()

    def set_node_state(self, node: str, state: Budget, max_entries: int, quiet_at: float) -> None:
        """Store a node's budget; past `max_entries` the node that went quiet first goes."""
        self._conn.execute(
            "INSERT OR REPLACE INTO node_budget VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                node, state.level, state.recent, state.updated, state.failures, state.since,
                state.alerted_at, state.last_failure, quiet_at,
            ),
        )  # fmt: skip
        self._conn.execute(
            "DELETE FROM node_budget WHERE node IN ("
            " SELECT node FROM node_budget ORDER BY quiet_at DESC LIMIT -1 OFFSET ?)",
            (max_entries,),
        )

    def nodes(self) -> list[tuple[str, Budget]]:
        rows = self._conn.execute(
            "SELECT node, level, recent, updated, failures, since, alerted_at, last_failure"
            " FROM node_budget ORDER BY node"
        )
        return [(str(r[0]), Budget(*r[1:])) for r in rows.fetchall()]

    def clear_nodes(self, node: str, suffix: str | None = None) -> int:
        """Delete the budget of `node`, and of nodes ending with `suffix` (an address)."""
        if suffix is None:
            cur = self._conn.execute("DELETE FROM node_budget WHERE node = ?", (node,))
        else:
            cur = self._conn.execute(
                "DELETE FROM node_budget WHERE node = ? OR substr(node, -?) = ?",
                (node, len(suffix), suffix),
            )
        return cur.rowcount

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
        """Drop expired penalties, and budgets that have run down (callsigns' after
        `forget_after` more, so `gateway users` still shows a recent attack)."""
        with self.transaction():
            self._conn.execute("DELETE FROM source_penalties WHERE until < ?", (now,))
            self._conn.execute(
                "DELETE FROM callsign_budget WHERE quiet_at < ?", (now - forget_after,)
            )
            self._conn.execute("DELETE FROM node_budget WHERE quiet_at < ?", (now,))
            self._conn.execute(
                "DELETE FROM familiar_sources WHERE last_login < ?", (now - FAMILIAR_FOR,)
            )


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file at start rather than fail every login later."""
    rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
    if rows != ["ok"]:
        problems = "; ".join(" ".join(r.split()) for r in rows)
        raise StoreError(
            f"{path}: the database is damaged (PRAGMA quick_check: {problems});"
            " restore it from backup (or try `sqlite3 gateway.db .recover`)"
        )


def _migrate_failures(conn: sqlite3.Connection, burst: int) -> None:
    """Carry the counts of the old T x A table over as budget levels, once."""
    old = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'callsign_failures'"
    ).fetchone()
    if old is None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "INSERT OR IGNORE INTO callsign_budget"
            " SELECT callsign, '', min(failures, ?), 0, last_failure, failures, last_failure,"
            " NULL, last_failure, '', last_failure FROM callsign_failures",
            (burst,),
        )
        conn.execute("DROP TABLE callsign_failures")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate_digits(conn: sqlite3.Connection) -> None:
    """Databases from before 8-digit codes: every enrollment there has 6."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(users)")}
    if "digits" not in columns:
        conn.execute("ALTER TABLE users ADD COLUMN digits INTEGER NOT NULL DEFAULT 6")


def _migrate_selectors(conn: sqlite3.Connection) -> None:
    """Application passwords from before selectors keep their rows (listed, revocable)
    but no longer log in: checking them would cost an Argon2id check per guess."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(app_passwords)")}
    if "selector" not in columns:
        conn.execute("ALTER TABLE app_passwords ADD COLUMN selector TEXT")
    conn.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS app_passwords_selector ON app_passwords (selector)"
    )


_KEY_CHECK = "key_check"


def _open_box(conn: sqlite3.Connection, path: Path, db_path: Path) -> SecretBox:
    """The key file's SecretBox, after checking it is the key this database was written with."""
    users = conn.execute("SELECT count(*) FROM users").fetchone()[0]
    if os.path.lexists(path):
        box = SecretBox(load_key(path))
    elif users:
        # A new key would make every stored secret unreadable: stop and say so.
        raise SecretKeyError(
            f"{path}: key file missing but {users} user(s) are enrolled; restore it from backup"
        )
    else:
        box = SecretBox(create_key(path))
    wrong = SecretKeyError(
        f"{path}: this key file is not the one {db_path} was written with; every login would"
        " fail. Restore the right key file from backup (or point key_file: at it)"
    )
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (_KEY_CHECK,)).fetchone()
    if row is not None:
        try:
            blob = bytes.fromhex(str(row[0]))
        except ValueError:
            blob = b""
        if not box.verify_check(blob):
            raise wrong
        return box
    # A database from before the check value: the first secret tells, then the check
    # value is written so that later starts need no secret at all.
    first = conn.execute("SELECT callsign, secret FROM users LIMIT 1").fetchone()
    if first is not None:
        try:
            box.open(first[0], first[1])
        except SecretKeyError:
            raise wrong from None
    conn.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (_KEY_CHECK, box.check_value().hex()))
    return box


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
