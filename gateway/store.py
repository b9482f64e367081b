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
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from gateway import chatstore, prefs, relaystore, settingstore
from gateway.auth import airlogins, audit, credentials, loginnotes, netlogin, penaltystore, users
from gateway.auth.penalties import Budget
from gateway.auth.secretbox import SecretBox, SecretKeyError, create_key, load_key
from gateway.auth.users import User, UserSummary
from gateway.config import Config
from gateway.db import Schema
from gateway.events import outbox
from gateway.irc import xlinestore
from gateway.private_files import check_private, ensure_private_dir

__all__ = [
    "BUSY", "SCHEMAS", "AsyncStore", "Store", "StoreError", "User", "UserSummary", "is_busy",
]  # fmt: skip

SCHEMA_VERSION = 1

_META = Schema(
    __name__,
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
)
#: Every table's module, in the order their DDL and migrations run at each open.
SCHEMAS: tuple[Schema, ...] = (
    _META,
    users.SCHEMA,
    penaltystore.SCHEMA,
    xlinestore.SCHEMA,
    settingstore.SCHEMA,
    chatstore.SCHEMA,
    relaystore.SCHEMA,
    prefs.SCHEMA,
    audit.SCHEMA,
    credentials.SCHEMA,
    netlogin.SCHEMA,
    loginnotes.SCHEMA,
    airlogins.SCHEMA,
    outbox.SCHEMA,
)


class StoreError(Exception):
    """The store cannot be opened or used safely (permissions, key, schema)."""


#: What a command says when another process holds the write lock past busy_timeout
#: (a sysop's open `sqlite3` shell, a hung writer): nothing is wrong with the file.
BUSY = "the store is busy: locked by another process; try again"


def is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock."""
    code = getattr(exc, "sqlite_errorcode", None)  # absent from errors raised by hand
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


#: How long a store call waits for a lock another connection holds, in milliseconds;
#: bookkeeping writes (`Store.impatient`) wait `IMPATIENT_MS`.
BUSY_TIMEOUT_MS = 10_000
IMPATIENT_MS = 250

#: Below this much free space, an I/O error at open is most likely the disk being full.
LOW_SPACE = 1 << 20


def _space(path: Path) -> str:
    """ ", the disk is full" when the store's filesystem has (almost) no room: SQLite's
    error for it at open is "disk I/O error", which suggests broken hardware."""
    with contextlib.suppress(OSError):
        free = shutil.disk_usage(path.parent).free
        if free < LOW_SPACE:
            return f" (the disk is full: {free} bytes free on {path.parent})"
    return ""


def _check_access(paths: list[Path]) -> None:
    """One clear line for the store's files this user may not read and write."""
    bad = [p for p in paths if os.path.lexists(p) and not os.access(p, os.R_OK | os.W_OK)]
    if bad:
        modes = ", ".join(f"{p} (mode {stat.S_IMODE(os.stat(p).st_mode):04o})" for p in bad)
        files = " ".join(str(p) for p in bad)
        raise StoreError(f"not readable and writable by this user: {modes}; chmod 600 {files}")


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
            sides = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm")]
            for side in sides:
                if os.path.lexists(side):
                    check_private(side)
            # The WAL files are written even to read. SQLite makes them with the
            # database's mode: one opened read-only (0400) left them so after the
            # database was writable again, and every open failed, naming no file.
            _check_access([path, *sides])
            if not created and os.stat(path).st_size == 0:
                # SQLite would take it for a new database and every enrollment would be
                # gone without a word; a truncated file must not start as an empty store.
                raise StoreError(
                    f"{path}: the database is empty (0 bytes); restore it from backup, or"
                    " delete it to start with no users enrolled"
                )
        except OSError as exc:
            raise StoreError(f"{config.data_dir}: {exc.strerror or exc}") from None
        try:
            conn = sqlite3.connect(
                path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: {exc}") from None
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA secure_delete=ON")  # revoked secrets do not linger in free pages
            _check_integrity(conn, path)
            _apply_schemas(conn, config, path)
            box = _open_box(conn, config.secret_key_path, path)
        except sqlite3.OperationalError as exc:  # locked, read-only, I/O: not the file's fault
            conn.close()
            raise StoreError(BUSY if is_busy(exc) else f"{path}: {exc}{_space(path)}") from None
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

    @contextlib.contextmanager
    def impatient(self) -> Iterator[None]:
        """For writes that may be lost (bookkeeping): wait `IMPATIENT_MS` for a lock, not
        the usual 10 s, so that the code checks queued behind them on the store's one
        thread are not held up by a lock someone else keeps (a sysop's sqlite3 shell)."""
        self._conn.execute(f"PRAGMA busy_timeout = {IMPATIENT_MS}")
        try:
            yield
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")

    def data_version(self) -> int:
        """Changes when another connection (the CLI) commits: the cue to re-read."""
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    # -- each table's queries live with its DDL; these are the ones most callers use ------

    def get_setting(self, key: str) -> str | None:
        return settingstore.get_setting(self, key)

    def set_setting(self, key: str, value: str) -> None:
        settingstore.set_setting(self, key, value)

    def xlines(self) -> list[tuple[str, str, str, str, float, float | None]]:
        return xlinestore.xlines(self)

    def put_xline(
        self, kind: str, mask: str, reason: str, set_by: str, set_at: float, expires: float | None
    ) -> None:
        xlinestore.put_xline(self, kind, mask, reason, set_by, set_at, expires)

    def delete_xline(self, kind: str, mask: str) -> None:
        xlinestore.delete_xline(self, kind, mask)

    def get_user(self, callsign: str) -> User | None:
        return users.get_user(self, callsign)

    def put_user(
        self, callsign: str, secret: str, last_step: int, now: float, digits: int = 6
    ) -> None:
        """Insert or replace an enrollment; penalties of the old one are cleared."""
        users.put_user(self, callsign, secret, last_step, now, digits)

    def delete_user(self, callsign: str) -> bool:
        """Revoke: the enrollment and every row of the callsign's that would outlive it."""
        found = users.delete_user(self, callsign)
        penaltystore.forget_familiar(self, callsign)
        credentials.forget(self, callsign)
        netlogin.forget(self, callsign)
        prefs.forget(self, callsign)
        loginnotes.forget(self, callsign)
        airlogins.forget(self, callsign)
        return found

    def record_login(self, callsign: str, step: int, now: float, source: str) -> None:
        users.record_login(self, callsign, step, now, source)

    def enrolled_callsigns(self) -> frozenset[str]:
        return users.enrolled_callsigns(self)

    def user_count(self) -> int:
        return users.user_count(self._conn)

    def list_users(self) -> list[UserSummary]:
        return users.list_users(self)

    def callsign_state(self, callsign: str, lane: str = "") -> Budget:
        return penaltystore.callsign_state(self, callsign, lane)

    def set_callsign_state(
        self,
        callsign: str,
        state: Budget,
        max_entries: int,
        source: str = "",
        quiet_at: float | None = None,
        lane: str = "",
    ) -> None:
        """Store a budget; at most `max_entries` unenrolled callsigns keep one."""
        enrolled = users.enrolled_callsigns(self)
        penaltystore.set_callsign_state(
            self, callsign, state, max_entries, enrolled, source, quiet_at, lane
        )

    def clear_callsign(self, callsign: str) -> bool:
        return penaltystore.clear_callsign(self, callsign)

    def is_familiar(self, callsign: str, source: str, since: float) -> bool:
        return penaltystore.is_familiar(self, callsign, source, since)

    def note_login(self, callsign: str, source: str, now: float, granted: bool = False) -> bool:
        return penaltystore.note_login(self, callsign, source, now, granted)

    def node_state(self, node: str) -> Budget:
        return penaltystore.node_state(self, node)

    def set_node_state(self, node: str, state: Budget, max_entries: int, quiet_at: float) -> None:
        penaltystore.set_node_state(self, node, state, max_entries, quiet_at)

    def nodes(self) -> list[tuple[str, Budget]]:
        return penaltystore.nodes(self)

    def clear_nodes(self, node: str, suffix: str | None = None) -> int:
        return penaltystore.clear_nodes(self, node, suffix)

    def source_until(self, source: str) -> float:
        return penaltystore.source_until(self, source)

    def set_source_until(self, source: str, until: float, now: float, max_entries: int) -> None:
        penaltystore.set_source_until(self, source, until, now, max_entries)

    def sources(self, now: float) -> list[tuple[str, float, int]]:
        return penaltystore.sources(self, now)

    def clear_sources(self, suffix: str) -> int:
        return penaltystore.clear_sources(self, suffix)

    def prune(self, now: float, forget_after: float) -> None:
        penaltystore.prune(self, now, forget_after)
        with self.transaction():
            loginnotes.prune(self, now)


def _apply_schemas(conn: sqlite3.Connection, config: Config, path: Path) -> None:
    """The schema version, then every module's DDL, then every module's migrations.

    The version is read first: a store a newer release wrote is refused before this
    one creates or alters anything in it (its own tables may differ from these).
    """
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'")
    version = None
    if found.fetchone() is not None:
        version = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
    if version is not None and _version(version[0], path) > SCHEMA_VERSION:
        raise StoreError(f"{path}: written by a newer version (schema {version[0]})")
    for schema in SCHEMAS:
        conn.executescript(schema.ddl)
    if version is None:
        conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
    for schema in SCHEMAS:
        for migrate in schema.migrations:
            migrate(conn, config)


def _version(value: object, path: Path) -> int:
    text = str(value)
    if not (text.isascii() and text.isdigit() and len(text) <= 9):
        raise StoreError(
            f"{path}: damaged: the schema version is {text[:20]!r}, not a number;"
            " restore it from backup"
        )
    return int(text)


def _check_integrity(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged file at start rather than fail every login later."""
    rows = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
    if rows != ["ok"]:
        problems = "; ".join(" ".join(r.split()) for r in rows)
        raise StoreError(
            f"{path}: the database is damaged (PRAGMA quick_check: {problems});"
            " restore it from backup (or try `sqlite3 gateway.db .recover`)"
        )


_KEY_CHECK = "key_check"


def _open_box(conn: sqlite3.Connection, path: Path, db_path: Path) -> SecretBox:
    """The key file's SecretBox, after checking it is the key this database was written with."""
    enrolled = users.user_count(conn)
    if os.path.lexists(path):
        box = SecretBox(load_key(path))
    elif enrolled:
        # A new key would make every stored secret unreadable: stop and say so.
        raise SecretKeyError(
            f"{path}: key file missing but {enrolled} user(s) are enrolled; restore it from backup"
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
    first = users.first_secret(conn)
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

    async def call_impatient(
        self, fn: Callable[Concatenate[Store, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """`call` for a write that may be lost: it waits `IMPATIENT_MS` for a lock."""

        def run(store: Store) -> T:
            with store.impatient():
                return fn(store, *args, **kwargs)

        return await self.call(run)

    async def close(self) -> None:
        await self.call(Store.close)
        self._executor.shutdown(wait=True)
