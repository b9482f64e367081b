"""The penalty tables: guessing budgets per callsign and per node, familiar sources, and
source penalties (the arithmetic is `penalties.py`'s; this is where its state is kept).

Every table is keyed by outside data and bounded: callsign budgets by `max_entries`
unenrolled callsigns, node budgets and source penalties by `max_entries`, familiar
sources by `keep` per callsign; `prune` drops what has run down.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Collection

from gateway.auth.penalties import (
    DAY_APART,
    FAMILIAR_DAYS,
    FAMILIAR_FOR,
    FAMILIAR_KEEP,
    FAMILIAR_RECENT,
    KNOWN_KEEP,
    Budget,
)
from gateway.config import Config
from gateway.db import Db, Schema


def _migrate_failures(conn: sqlite3.Connection, config: Config) -> None:
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
            (config.auth.callsign.burst,),
        )
        conn.execute("DROP TABLE callsign_failures")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _migrate_familiar_days(conn: sqlite3.Connection, config: Config) -> None:
    """Familiar sources from before they were earned over days, in one transaction (a
    crash halfway would leave columns the queries need missing). Each keeps the place
    it had if used in the last FAMILIAR_RECENT (an upgrade must not send every owner to
    the strangers' lane), and AX.25 sources gain the claimed callsign they are now
    keyed with (`ax25:PORT:PATH:call:CALL`)."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(familiar_sources)")}
    if {"days", "last_day", "granted"} <= columns:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for name, ddl in (
            ("days", "days INTEGER NOT NULL DEFAULT 1"),
            ("last_day", "last_day REAL NOT NULL DEFAULT 0"),
            ("granted", "granted INTEGER NOT NULL DEFAULT 0"),
        ):
            if name not in columns:
                conn.execute(f"ALTER TABLE familiar_sources ADD COLUMN {ddl}")
        conn.execute(
            "UPDATE familiar_sources SET last_day = last_login,"
            " days = CASE WHEN last_login >= ? THEN ? ELSE 1 END",
            (time.time() - FAMILIAR_RECENT, FAMILIAR_DAYS),
        )
        conn.execute(
            "UPDATE OR IGNORE familiar_sources SET source = source || ':call:' || callsign"
            " WHERE source LIKE 'ax25:%' AND source NOT LIKE '%:call:%'"
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


SCHEMA = Schema(
    __name__,
    """
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
-- Sources a callsign had good logins from; familiar once earned (penalties.py).
CREATE TABLE IF NOT EXISTS familiar_sources (
    callsign   TEXT NOT NULL,
    source     TEXT NOT NULL,
    last_login REAL NOT NULL,
    days       INTEGER NOT NULL DEFAULT 1,  -- days with a good login, >= 20 h apart
    last_day   REAL NOT NULL DEFAULT 0,     -- the login that counted the latest of them
    granted    INTEGER NOT NULL DEFAULT 0,  -- made familiar by the sysop
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
CREATE INDEX IF NOT EXISTS source_penalties_until ON source_penalties (until);
CREATE INDEX IF NOT EXISTS callsign_budget_quiet ON callsign_budget (quiet_at);
CREATE INDEX IF NOT EXISTS node_budget_quiet ON node_budget (quiet_at);
""",
    (_migrate_failures, _migrate_familiar_days),
)

# -- callsigns ---------------------------------------------------------------------------


def callsign_state(store: Db, callsign: str, lane: str = "") -> Budget:
    """A callsign's guessing budget as stored (empty if it has none).

    `lane` "" is everyone's; FAMILIAR is the budget of the sources the callsign has
    logged in from, which an attacker elsewhere cannot spend.
    """
    row = store.db.execute(
        "SELECT level, recent, updated, failures, since, alerted_at, last_failure"
        " FROM callsign_budget WHERE callsign = ? AND lane = ?",
        (callsign, lane),
    ).fetchone()
    return Budget(*row) if row else Budget()


def failures(store: Db, callsign: str) -> tuple[int, float | None]:
    """The failures of everyone's budget of `callsign` and the last one's time, as
    `gateway users` shows them (0 and None without a budget)."""
    row = store.db.execute(
        "SELECT failures, last_failure FROM callsign_budget WHERE callsign = ? AND lane = ''",
        (callsign,),
    ).fetchone()
    return (int(row[0]), row[1]) if row else (0, None)


def set_callsign_state(
    store: Db,
    callsign: str,
    state: Budget,
    max_entries: int,
    enrolled: Collection[str],
    source: str = "",
    quiet_at: float | None = None,
    lane: str = "",
) -> None:
    """Store a budget; the table holds at most `max_entries` callsigns not in `enrolled`.

    Eviction takes the unenrolled callsign that went quiet first, so flooding the
    table with invented callsigns cannot wipe a real user's budget.
    """
    store.db.execute(
        "INSERT OR REPLACE INTO callsign_budget VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            callsign, lane, state.level, state.recent, state.updated, state.failures,
            state.since, state.alerted_at, state.last_failure, source,
            state.updated if quiet_at is None else quiet_at,
        ),
    )  # fmt: skip
    _evict_strangers(store, max_entries, enrolled)


def _evict_strangers(store: Db, max_entries: int, enrolled: Collection[str]) -> None:
    """Past `max_entries` rows of callsigns not in `enrolled`, those that went quiet first
    go. Counted in SQL first: under a flood of invented callsigns this runs at every
    failure, and the table holds `max_entries` rows."""
    rows = int(store.db.execute("SELECT count(*) FROM callsign_budget").fetchone()[0])
    if rows <= max_entries:
        return
    theirs = 0  # rows of enrolled callsigns: never evicted, never counted
    calls = sorted(enrolled)
    for i in range(0, len(calls), 500):
        chunk = calls[i : i + 500]
        marks = ", ".join("?" * len(chunk))
        theirs += int(
            store.db.execute(
                f"SELECT count(*) FROM callsign_budget WHERE callsign IN ({marks})",  # noqa: S608 (placeholders only)
                chunk,
            ).fetchone()[0]
        )
    excess = rows - theirs - max_entries
    if excess <= 0:
        return
    quietest = store.db.execute(
        "SELECT callsign FROM callsign_budget ORDER BY quiet_at ASC LIMIT ?", (excess + theirs,)
    )
    strangers = [str(r[0]) for r in quietest if r[0] not in enrolled][:excess]
    store.db.executemany(
        "DELETE FROM callsign_budget WHERE callsign = ?", [(c,) for c in strangers]
    )


def clear_callsign(store: Db, callsign: str) -> bool:
    cur = store.db.execute("DELETE FROM callsign_budget WHERE callsign = ?", (callsign,))
    return cur.rowcount > 0


def forget_callsign(store: Db, callsign: str) -> None:
    """A new enrollment: its budgets and familiar sources go."""
    store.db.execute("DELETE FROM callsign_budget WHERE callsign = ?", (callsign,))
    forget_familiar(store, callsign)


# -- familiar sources --------------------------------------------------------------------


#: A row is familiar when earned (or granted) and used within FAMILIAR_FOR.
_EARNED = "(days >= ? OR granted) AND last_login >= ?"


def is_familiar(store: Db, callsign: str, source: str, since: float) -> bool:
    """True if `source` is familiar to `callsign`: good logins from it on FAMILIAR_DAYS
    distinct days, or the sysop's word, the latest at or after `since`."""
    row = store.db.execute(
        f"SELECT 1 FROM familiar_sources WHERE callsign = ? AND source = ? AND {_EARNED}",  # noqa: S608 (a constant)
        (callsign, source, FAMILIAR_DAYS, since),
    ).fetchone()
    return row is not None


def note_login(store: Db, callsign: str, source: str, now: float, granted: bool = False) -> bool:
    """A good login from `source` (or the sysop's grant); True if the callsign had never
    logged in from it before (and had from elsewhere: the owner may want to know).

    Earning happens here: one more day on the source's count. A source that has just
    earned its place takes it only if fewer than FAMILIAR_KEEP others hold one, or the
    least recently used of them has gone unused for FAMILIAR_RECENT; otherwise it waits,
    so a thief's logins never push out a home the owner uses.
    """
    row = store.db.execute(
        "SELECT days, last_day, granted FROM familiar_sources WHERE callsign = ? AND source = ?",
        (callsign, source),
    ).fetchone()
    new = row is None
    known_elsewhere = (
        new
        and store.db.execute(
            "SELECT 1 FROM familiar_sources WHERE callsign = ? LIMIT 1", (callsign,)
        ).fetchone()
        is not None
    )
    days, counted_at, was_granted = row if row else (0, -math.inf, 0)
    # Another day counts only DAY_APART after the login that counted the last one: two
    # logins either side of midnight are one day.
    if now - counted_at >= DAY_APART:
        days, counted_at = days + 1, now
    grant = int(granted or was_granted)
    becoming = (days >= FAMILIAR_DAYS or grant) and not (
        row and (row[0] >= FAMILIAR_DAYS or row[2])
    )
    if becoming and not _room_for_familiar(store, callsign, source, now):
        days, grant = min(days, FAMILIAR_DAYS - 1), 0  # it waits for a later day
    store.db.execute(
        "INSERT OR REPLACE INTO familiar_sources VALUES (?, ?, ?, ?, ?, ?)",
        (callsign, source, now, days, counted_at, grant),
    )
    # Bounded per callsign: familiar rows first, then the latest used.
    store.db.execute(
        "DELETE FROM familiar_sources WHERE callsign = ? AND source IN ("
        " SELECT source FROM familiar_sources WHERE callsign = ?"
        " ORDER BY (days >= ? OR granted) DESC, last_login DESC LIMIT -1 OFFSET ?)",
        (callsign, callsign, FAMILIAR_DAYS, KNOWN_KEEP),
    )
    return known_elsewhere


def _room_for_familiar(store: Db, callsign: str, source: str, now: float) -> bool:
    held = store.db.execute(
        f"SELECT source, last_login FROM familiar_sources WHERE callsign = ? AND source != ?"  # noqa: S608
        f" AND {_EARNED} ORDER BY last_login ASC",
        (callsign, source, FAMILIAR_DAYS, now - FAMILIAR_FOR),
    ).fetchall()
    if len(held) < FAMILIAR_KEEP:
        return True
    oldest, used = held[0]
    if used >= now - FAMILIAR_RECENT:
        return False
    # Long unused: it goes back to being merely known.
    store.db.execute(
        "UPDATE familiar_sources SET days = 1, granted = 0 WHERE callsign = ? AND source = ?",
        (callsign, oldest),
    )
    return True


def familiar_sources(store: Db, callsign: str, now: float) -> list[tuple[str, float, bool]]:
    """(source, last login, familiar) of every source the callsign logged in from."""
    rows = store.db.execute(
        "SELECT source, last_login, (days >= ? OR granted) AND last_login >= ?"
        " FROM familiar_sources WHERE callsign = ? ORDER BY last_login DESC",
        (FAMILIAR_DAYS, now - FAMILIAR_FOR, callsign),
    )
    return [(str(s), float(t), bool(f)) for s, t, f in rows]


def forget_all_but(store: Db, callsign: str, source: str) -> int:
    """Forget every source of the callsign but `source`."""
    cur = store.db.execute(
        "DELETE FROM familiar_sources WHERE callsign = ? AND source != ?", (callsign, source)
    )
    return cur.rowcount


def forget_source(store: Db, callsign: str, source: str) -> bool:
    cur = store.db.execute(
        "DELETE FROM familiar_sources WHERE callsign = ? AND source = ?", (callsign, source)
    )
    return cur.rowcount > 0


def forget_familiar(store: Db, callsign: str) -> None:
    store.db.execute("DELETE FROM familiar_sources WHERE callsign = ?", (callsign,))


# -- nodes -------------------------------------------------------------------------------


def node_state(store: Db, node: str) -> Budget:
    row = store.db.execute(
        "SELECT level, recent, updated, failures, since, alerted_at, last_failure"
        " FROM node_budget WHERE node = ?",
        (node,),
    ).fetchone()
    return Budget(*row) if row else Budget()


def set_node_state(store: Db, node: str, state: Budget, max_entries: int, quiet_at: float) -> None:
    """Store a node's budget; past `max_entries` the node that went quiet first goes."""
    store.db.execute(
        "INSERT OR REPLACE INTO node_budget VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            node, state.level, state.recent, state.updated, state.failures, state.since,
            state.alerted_at, state.last_failure, quiet_at,
        ),
    )  # fmt: skip
    # The gateway-wide buckets (`*gateway...`) are never pushed out by a flood of nodes.
    store.db.execute(
        "DELETE FROM node_budget WHERE node IN ("
        " SELECT node FROM node_budget WHERE substr(node, 1, 1) != '*'"
        " ORDER BY quiet_at DESC LIMIT -1 OFFSET ?)",
        (max_entries,),
    )


def nodes(store: Db) -> list[tuple[str, Budget]]:
    rows = store.db.execute(
        "SELECT node, level, recent, updated, failures, since, alerted_at, last_failure"
        " FROM node_budget ORDER BY node"
    )
    return [(str(r[0]), Budget(*r[1:])) for r in rows.fetchall()]


def clear_nodes(store: Db, node: str, suffix: str | None = None) -> int:
    """Delete the budget of `node`, and of nodes ending with `suffix` (an address)."""
    if suffix is None:
        cur = store.db.execute("DELETE FROM node_budget WHERE node = ?", (node,))
    else:
        cur = store.db.execute(
            "DELETE FROM node_budget WHERE node = ? OR substr(node, -?) = ?",
            (node, len(suffix), suffix),
        )
    return cur.rowcount


def clear_below(store: Db, target: str) -> int:
    """Delete the source penalties and node budgets of `target` and of every key below it
    (`irc:sasl` clears every address's SASL penalties)."""
    args = (target, len(target) + 1, target + ":")
    cur = store.db.execute(
        "DELETE FROM source_penalties WHERE source = ? OR substr(source, 1, ?) = ?", args
    )
    cleared = cur.rowcount
    cur = store.db.execute("DELETE FROM node_budget WHERE node = ? OR substr(node, 1, ?) = ?", args)
    return cleared + cur.rowcount


# -- sources -----------------------------------------------------------------------------


def source_until(store: Db, source: str) -> float:
    row = store.db.execute(
        "SELECT until FROM source_penalties WHERE source = ?", (source,)
    ).fetchone()
    return float(row[0]) if row else 0.0


def set_source_until(store: Db, source: str, until: float, now: float, max_entries: int) -> None:
    """Store a source penalty; expired rows go first, then the mildest, past the bound."""
    store.db.execute(
        "INSERT INTO source_penalties VALUES (?, ?, 1) ON CONFLICT (source)"
        " DO UPDATE SET until = excluded.until, failures = failures + 1",
        (source, until),
    )
    store.db.execute("DELETE FROM source_penalties WHERE until < ?", (now,))
    store.db.execute(
        "DELETE FROM source_penalties WHERE source IN ("
        " SELECT source FROM source_penalties ORDER BY until DESC LIMIT -1 OFFSET ?)",
        (max_entries,),
    )


def sources(store: Db, now: float) -> list[tuple[str, float, int]]:
    """Sources still under penalty: (source, until, failures)."""
    return list(
        store.db.execute(
            "SELECT source, until, failures FROM source_penalties WHERE until > ? ORDER BY source",
            (now,),
        )
    )


def clear_sources(store: Db, suffix: str) -> int:
    """Delete penalties of sources whose key ends with `suffix` (an IP or a callsign)."""
    cur = store.db.execute(
        "DELETE FROM source_penalties WHERE substr(source, -?) = ?", (len(suffix), suffix)
    )
    return cur.rowcount


def prune(store: Db, now: float, forget_after: float) -> None:
    """Drop expired penalties, and budgets that have run down (callsigns' after
    `forget_after` more, so `gateway users` still shows a recent attack)."""
    with store.transaction():
        store.db.execute("DELETE FROM source_penalties WHERE until < ?", (now,))
        store.db.execute("DELETE FROM callsign_budget WHERE quiet_at < ?", (now - forget_after,))
        store.db.execute("DELETE FROM node_budget WHERE quiet_at < ?", (now,))
        store.db.execute("DELETE FROM familiar_sources WHERE last_login < ?", (now - FAMILIAR_FOR,))
