"""The bridge's durable state in the one SQLite store: mailbox, channel archive, markers.

Plain functions taking a `Store` (typed as `gateway.db.Db`), run on the store's worker
thread through `AsyncStore.call`; the bridge (`bridge/mailbox.py`, `bridge/service.py`,
`bridge/session.py`) uses them. Every table is bounded: the mailbox per callsign (and
callsigns are enrolled ones), the archive per configured channel, markers by callsign x
channel; `prune` drops what is older than the configured age.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from gateway.config import Config
from gateway.db import Db, Schema


def _migrate_mail_account(conn: sqlite3.Connection, config: Config) -> None:
    """Mail held before senders' accounts were kept reads `(account not kept)` (NULL)."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(mailbox)")}
    if "account" not in columns:
        conn.execute("ALTER TABLE mailbox ADD COLUMN account TEXT")


def _migrate_mail_via(conn: sqlite3.Connection, config: Config) -> None:
    """Mail held before `via` was kept counts as held here (its expiry told from here)."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(mailbox)")}
    if "via" not in columns:
        conn.execute("ALTER TABLE mailbox ADD COLUMN via TEXT")


SCHEMA = Schema(
    __name__,
    """
CREATE TABLE IF NOT EXISTS mailbox (
    callsign TEXT NOT NULL,             -- base callsign of the recipient
    n        INTEGER NOT NULL,          -- the number the recipient reads and kills it by
    sender   TEXT NOT NULL,
    kind     TEXT NOT NULL,             -- PRIVMSG, NOTICE or ACTION
    text     TEXT NOT NULL,
    at       REAL NOT NULL,
    read     INTEGER NOT NULL DEFAULT 0,
    account  TEXT,                      -- the sender's account, '' if none, NULL: not kept
    via      TEXT,                      -- the service nick that passed it on, NULL: none
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
CREATE INDEX IF NOT EXISTS archive_at ON archive (at);
CREATE INDEX IF NOT EXISTS mailbox_at ON mailbox (at);
""",
    (_migrate_mail_account, _migrate_mail_via),
)


@dataclass(frozen=True, slots=True)
class Mail:
    n: int
    sender: str
    kind: str  # PRIVMSG, NOTICE or ACTION
    text: str
    at: float
    read: bool
    #: The account the sender was logged in to: "" for none, None if held before
    #: accounts were kept (a nick alone can pass for someone else: issue 19).
    account: str | None = None


@dataclass(frozen=True, slots=True)
class Archived:
    n: int
    at: float
    nick: str
    kind: str
    text: str


class MailboxFull(Exception):
    """The recipient's mailbox holds its maximum; nothing was stored."""


class SenderShareFull(MailboxFull):
    """The sender holds its share of the recipient's mailbox; nothing was stored."""


#: One sender (its account, else its nick) may hold at most this fraction of a
#: mailbox, so that one account cannot fill a ham's mailbox and refuse everyone else
#: for the mailbox's age (the airtime review's finding 2).
SENDER_SHARE = 5


def sender_share(limit: int) -> int:
    """Messages one sender may hold in a mailbox of `limit`."""
    return max(1, limit // SENDER_SHARE)


# -- the mailbox ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Letter:
    """A message to hold in a mailbox, as it arrives."""

    callsign: str  # the recipient's base callsign
    sender: str
    kind: str  # PRIVMSG, NOTICE or ACTION
    text: str
    #: The sender's account ("" for none).
    account: str = ""
    #: The service nick of the gateway that passed it on (relaystore.py), None: here.
    via: str | None = None


def hold_mail(store: Db, letter: Letter, now: float, limit: int) -> int:
    """Commit one message; return its number. Raises MailboxFull."""
    with store.transaction():
        return add_mail(store, letter, now, limit)


def add_mail(store: Db, letter: Letter, now: float, limit: int) -> int:
    """`hold_mail` inside the caller's transaction (relaystore.py: held and its id
    noted at once)."""
    callsign = letter.callsign
    db = store.db
    count, last = db.execute(
        "SELECT count(*), coalesce(max(n), 0) FROM mailbox WHERE callsign = ?", (callsign,)
    ).fetchone()
    if count >= limit:
        raise MailboxFull(callsign)
    if letter.account.upper() != callsign.upper():  # the owner's notes to self pass
        _check_share(store, letter, limit)
    db.execute(
        "INSERT INTO mailbox (callsign, n, sender, kind, text, at, account, via)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            callsign,
            last + 1,
            letter.sender,
            letter.kind,
            letter.text,
            now,
            letter.account,
            letter.via,
        ),
    )
    return int(last) + 1


def _check_share(store: Db, letter: Letter, limit: int) -> None:
    """Raise SenderShareFull if the sender (its account, else its nick) holds its share."""
    if letter.account:
        query, who = "lower(account) = lower(?)", letter.account
    else:  # no account: by nick (ASCII case: close enough for a share)
        query, who = "coalesce(account, '') = '' AND lower(sender) = lower(?)", letter.sender
    (mine,) = store.db.execute(
        f"SELECT count(*) FROM mailbox WHERE callsign = ? AND {query}",  # noqa: S608 (fixed text)
        (letter.callsign, who),
    ).fetchone()
    if mine >= sender_share(limit):
        raise SenderShareFull(letter.callsign)


def count_unread(store: Db, callsign: str) -> int:
    row = store.db.execute(
        "SELECT count(*) FROM mailbox WHERE callsign = ? AND read = 0", (callsign,)
    ).fetchone()
    return int(row[0])


def count_waiting(store: Db) -> int:
    """Unread messages held, every callsign's (the MQTT link's "mail waiting" count)."""
    return int(store.db.execute("SELECT count(*) FROM mailbox WHERE read = 0").fetchone()[0])


def read_mail(store: Db, callsign: str, n: int | None = None) -> list[Mail]:
    """The unread messages (or, when none is unread, all kept), or message `n`; marks them read."""
    db = store.db
    with store.transaction():
        if n is not None:
            rows = db.execute(
                "SELECT n, sender, kind, text, at, read, account FROM mailbox"
                " WHERE callsign = ? AND n = ?",
                (callsign, n),
            ).fetchall()
        else:
            rows = db.execute(
                "SELECT n, sender, kind, text, at, read, account FROM mailbox"
                " WHERE callsign = ? AND read = 0 ORDER BY n",
                (callsign,),
            ).fetchall()
            if not rows:
                rows = db.execute(
                    "SELECT n, sender, kind, text, at, read, account FROM mailbox"
                    " WHERE callsign = ? ORDER BY n",
                    (callsign,),
                ).fetchall()
        if rows:
            db.executemany(
                "UPDATE mailbox SET read = 1 WHERE callsign = ? AND n = ?",
                [(callsign, row[0]) for row in rows],
            )
    return [Mail(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]


def kill_mail(store: Db, callsign: str, n: int) -> bool:
    with store.transaction():
        cur = store.db.execute("DELETE FROM mailbox WHERE callsign = ? AND n = ?", (callsign, n))
    return cur.rowcount > 0


# -- the channel archive ------------------------------------------------------------------


def archive_add(
    store: Db, channel: str, nick: str, kind: str, text: str, now: float, limit: int
) -> int:
    """Append one message to `channel`'s archive (keeping the newest `limit`); its number."""
    db = store.db
    with store.transaction():
        row = db.execute("SELECT last FROM archive_seq WHERE channel = ?", (channel,)).fetchone()
        n = (int(row[0]) if row else 0) + 1
        db.execute("INSERT OR REPLACE INTO archive_seq VALUES (?, ?)", (channel, n))
        db.execute(
            "INSERT INTO archive (channel, n, at, nick, kind, text) VALUES (?, ?, ?, ?, ?, ?)",
            (channel, n, now, nick, kind, text),
        )
        db.execute("DELETE FROM archive WHERE channel = ? AND n <= ?", (channel, n - limit))
    return n


def archive_new(store: Db, callsign: str, channels: list[str]) -> list[tuple[str, int]]:
    """(channel, messages after this callsign's marker) for each channel, in order."""
    out = []
    for channel in channels:
        marker = _marker(store, callsign, channel)
        row = store.db.execute(
            "SELECT count(*) FROM archive WHERE channel = ? AND n > ?", (channel, marker)
        ).fetchone()
        out.append((channel, int(row[0])))
    return out


def archive_read(
    store: Db, callsign: str, channel: str, start: int | None, limit: int
) -> list[Archived]:
    """Up to `limit` messages from number `start` (default: after the marker); moves the
    marker past them unless unread messages before `start` would be passed over."""
    db = store.db
    with store.transaction():
        first = start if start is not None else _marker(store, callsign, channel) + 1
        rows = db.execute(
            "SELECT n, at, nick, kind, text FROM archive WHERE channel = ? AND n >= ?"
            " ORDER BY n LIMIT ?",
            (channel, first, limit),
        ).fetchall()
        marker = _marker(store, callsign, channel)
        skipped = db.execute(  # unread messages before `first` stay unread
            "SELECT 1 FROM archive WHERE channel = ? AND n > ? AND n < ? LIMIT 1",
            (channel, marker, first),
        ).fetchone()
        if rows and skipped is None:
            last = max(rows[-1][0], marker)
            db.execute(
                "INSERT OR REPLACE INTO read_markers VALUES (?, ?, ?)", (callsign, channel, last)
            )
    return [Archived(*row) for row in rows]


def archive_latest(store: Db, channel: str, count: int) -> list[Archived]:
    rows = store.db.execute(
        "SELECT n, at, nick, kind, text FROM archive WHERE channel = ? ORDER BY n DESC LIMIT ?",
        (channel, count),
    ).fetchall()
    return [Archived(*row) for row in reversed(rows)]


def _marker(store: Db, callsign: str, channel: str) -> int:
    row = store.db.execute(
        "SELECT n FROM read_markers WHERE callsign = ? AND channel = ?", (callsign, channel)
    ).fetchone()
    return int(row[0]) if row else 0


# -- upkeep -------------------------------------------------------------------------------


def prune_chat(
    store: Db, now: float, mail_age: float, archive_age: float
) -> list[tuple[str, str, float, str | None]]:
    """Drop old archive lines and expired mail; return (recipient, sender, at, via) of
    unread mail that expired, so the senders can be told (through `via` if not None)."""
    db = store.db
    with store.transaction():
        expired = db.execute(
            "SELECT callsign, sender, at, via FROM mailbox WHERE at < ? AND read = 0",
            (now - mail_age,),
        ).fetchall()
        db.execute("DELETE FROM mailbox WHERE at < ?", (now - mail_age,))
        db.execute("DELETE FROM archive WHERE at < ?", (now - archive_age,))
    return [(r[0], r[1], r[2], r[3]) for r in expired]
