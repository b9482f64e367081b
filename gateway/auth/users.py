"""The `users` table: enrolled callsigns, their encrypted secrets and last logins.

A secret is stored sealed by the store's `SecretBox` (bound to the callsign), never in
clear. The last accepted TOTP step is kept so that only later steps pass.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from gateway.auth import penaltystore
from gateway.auth.penalties import FAMILIAR, Budget
from gateway.config import Config
from gateway.db import Db, Schema


@dataclass(frozen=True, slots=True)
class User:
    callsign: str
    secret_blob: bytes
    enrolled_at: float
    last_step: int
    last_login: float | None
    last_source: str | None
    digits: int = 6
    #: The sysop lets this callsign log in to IRC with a code (`gateway irc-codes`).
    irc_codes: bool = False


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


def _migrate_digits(conn: sqlite3.Connection, config: Config) -> None:
    """Databases from before 8-digit codes: every enrollment there has 6."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(users)")}
    if "digits" not in columns:
        conn.execute("ALTER TABLE users ADD COLUMN digits INTEGER NOT NULL DEFAULT 6")
    if "irc_codes" not in columns:
        conn.execute("ALTER TABLE users ADD COLUMN irc_codes INTEGER NOT NULL DEFAULT 0")


SCHEMA = Schema(
    __name__,
    """
CREATE TABLE IF NOT EXISTS users (
    callsign    TEXT PRIMARY KEY,
    secret      BLOB NOT NULL,      -- SecretBox blob, never the clear secret
    enrolled_at REAL NOT NULL,
    last_step   INTEGER NOT NULL,   -- last accepted TOTP step: only later steps pass
    last_login  REAL,
    last_source TEXT,
    digits      INTEGER NOT NULL DEFAULT 6, -- code length chosen at enrollment (6 or 8)
    irc_codes   INTEGER NOT NULL DEFAULT 0  -- 1: codes log in on IRC too (gateway irc-codes)
);
""",
    (_migrate_digits,),
)


def get_user(store: Db, callsign: str) -> User | None:
    row = store.db.execute(
        "SELECT callsign, secret, enrolled_at, last_step, last_login, last_source, digits,"
        " irc_codes FROM users WHERE callsign = ?",
        (callsign,),
    ).fetchone()
    if row is None:
        return None
    call, blob, enrolled_at, last_step, last_login, last_source, digits, codes = row
    return User(call, blob, enrolled_at, last_step, last_login, last_source, digits, bool(codes))


def set_irc_codes(store: Db, callsign: str, allowed: bool) -> bool:
    """Let (or stop) `callsign` log in to IRC with a code; False if not enrolled."""
    cur = store.db.execute(
        "UPDATE users SET irc_codes = ? WHERE callsign = ?", (int(allowed), callsign)
    )
    return cur.rowcount > 0


def irc_code_callsigns(store: Db) -> list[str]:
    return [str(r[0]) for r in store.db.execute(
        "SELECT callsign FROM users WHERE irc_codes ORDER BY callsign"
    )]  # fmt: skip


def put_user(
    store: Db, callsign: str, secret: str, last_step: int, now: float, digits: int = 6
) -> None:
    """Insert or replace an enrollment; penalties of the old one are cleared."""
    blob = store.box.seal(callsign, secret)
    store.db.execute(
        "INSERT OR REPLACE INTO users (callsign, secret, enrolled_at, last_step, digits)"
        " VALUES (?, ?, ?, ?, ?)",
        (callsign, blob, now, last_step, digits),
    )
    # A new secret: guesses at the old one say nothing about it.
    penaltystore.forget_callsign(store, callsign)


def delete_user(store: Db, callsign: str) -> bool:
    """The enrollment only (`Store.delete_user` removes the callsign's other rows)."""
    cur = store.db.execute("DELETE FROM users WHERE callsign = ?", (callsign,))
    return cur.rowcount > 0


def record_login(store: Db, callsign: str, step: int, now: float, source: str) -> None:
    store.db.execute(
        "UPDATE users SET last_step = ?, last_login = ?, last_source = ? WHERE callsign = ?",
        (step, now, source, callsign),
    )


def enrolled_callsigns(store: Db) -> frozenset[str]:
    return frozenset(r[0] for r in store.db.execute("SELECT callsign FROM users"))


def enrollments(store: Db) -> list[tuple[str, float]]:
    """(callsign, enrolled_at) of every user."""
    return [(str(c), float(at)) for c, at in store.db.execute(
        "SELECT callsign, enrolled_at FROM users"
    )]  # fmt: skip


def user_count(conn: sqlite3.Connection) -> int:
    """On the bare connection: the store's key check runs it before the store is open."""
    return int(conn.execute("SELECT count(*) FROM users").fetchone()[0])


def first_secret(conn: sqlite3.Connection) -> tuple[str, bytes] | None:
    """Some user's (callsign, sealed secret): what tells an old database's key."""
    row = conn.execute("SELECT callsign, secret FROM users LIMIT 1").fetchone()
    return (str(row[0]), bytes(row[1])) if row else None


def list_users(store: Db) -> list[UserSummary]:
    rows = store.db.execute(
        "SELECT callsign, enrolled_at, last_login, last_source FROM users ORDER BY callsign"
    ).fetchall()
    out = []
    for callsign, enrolled_at, last_login, last_source in rows:
        failures, last_failure = penaltystore.failures(store, callsign)
        out.append(
            UserSummary(
                callsign, enrolled_at, last_login, last_source, failures, last_failure,
                budget=penaltystore.callsign_state(store, callsign),
                familiar_budget=penaltystore.callsign_state(store, callsign, FAMILIAR),
            )
        )  # fmt: skip
    return out
