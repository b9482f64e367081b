"""Mail passed between a network's gateways, in the store (`bridge/forward.py` decides).

`relay_out`: messages this gateway keeps for passing on, until another gateway answers
for them or they reach the mailbox's age, so they survive a restart; at most OUT_MAX
rows, and for one callsign at most as many as its mailbox holds (past either the
sender is told so, the same whether or not the callsign is enrolled here: `room`).
`relay_seen`: the ids of messages other gateways passed on and this one held, so a
resend (its ack lost) is never held twice; for the mailbox's age and a margin (SEEN_MAX at most).
The message is held and its id noted in one transaction (`take`): a crash between the
two cannot hold it twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import chatstore
from gateway.db import Db, Schema

#: Messages kept for passing on at most.
OUT_MAX = 1000
#: Why a message is not taken (`room`): too much kept, or for that callsign.
BUSY, FULL, SHARE = "busy", "full", "share"
#: Ids of held messages remembered at most: a hard cap far above what the network's
#: gateways pass on in a mailbox's age (each keeps at most OUT_MAX at once).
SEEN_MAX = 200_000
#: Held ids are kept this long past the mailbox's age: a passing gateway resends until
#: its own copy expires, by its clock (more than forward.RESEND_MAX, and clock skew).
SEEN_MARGIN = 86400.0

SCHEMA = Schema(
    __name__,
    """
-- Mail for callsigns not enrolled here, kept until a gateway of the network answers.
CREATE TABLE IF NOT EXISTS relay_out (
    id       TEXT PRIMARY KEY,          -- the id every resend carries
    at       REAL NOT NULL,             -- when it was taken (wall time)
    callsign TEXT NOT NULL,
    source   TEXT NOT NULL,             -- the sender's nick!user@host
    account  TEXT NOT NULL,             -- the sender's account, '' if none
    kind     TEXT NOT NULL,             -- PRIVMSG or ACTION
    text     TEXT NOT NULL,
    answered TEXT NOT NULL DEFAULT ''   -- (folded) service nicks that said not-here
);
-- Messages other gateways passed on and this one held: a resend is not held again.
CREATE TABLE IF NOT EXISTS relay_seen (id TEXT PRIMARY KEY, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS relay_seen_at ON relay_seen (at);
""",
)


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    at: float
    callsign: str
    source: str
    account: str
    kind: str
    text: str
    answered: frozenset[str] = frozenset()


def room(
    store: Db, callsign: str, per_call: int, bound: int = OUT_MAX, sender: Sender | None = None
) -> str:
    """Whether a message for `callsign` may be taken: "" (yes), BUSY (`bound` kept for
    passing on), FULL (`per_call` kept for it, as many as its mailbox holds) or SHARE
    (`sender` holds its share of those, as in a mailbox: `chatstore.sender_share`).
    Asked whether or not the callsign is enrolled here, so that the answer does not tell."""
    db = store.db
    if db.execute("SELECT count(*) FROM relay_out").fetchone()[0] >= bound:
        return BUSY
    kept = db.execute(
        "SELECT source, account FROM relay_out WHERE callsign = ?", (callsign,)
    ).fetchall()  # at most per_call rows
    if len(kept) >= per_call:
        return FULL
    if sender is not None and sender[0] != callsign.lower():  # not the owner's own
        mine = sum(1 for source, account in kept if sender_of(source, account) == sender)
        if mine >= chatstore.sender_share(per_call):
            return SHARE
    return ""


#: Who a kept message is from, for its share: (account, "") or ("", lower-case nick).
Sender = tuple[str, str]


def sender_of(source: str, account: str) -> Sender:
    """The share a message from `source` (nick!user@host) logged in to `account` counts
    against: the account, else the nick (as `chatstore.add_mail` counts a mailbox's)."""
    return (account.lower(), "") if account else ("", source.partition("!")[0].lower())


def keep(store: Db, row: Row, per_call: int, bound: int = OUT_MAX) -> str:
    """Keep a message for passing on: "" if kept, else why not (`room`)."""
    db = store.db
    with store.transaction():
        if why := room(store, row.callsign, per_call, bound, sender_of(row.source, row.account)):
            return why
        db.execute(
            "INSERT INTO relay_out (id, at, callsign, source, account, kind, text, answered)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row.id, row.at, row.callsign, row.source, row.account, row.kind, row.text,
             " ".join(sorted(row.answered))),
        )  # fmt: skip
    return ""


def kept(store: Db) -> list[Row]:
    """What is kept for passing on, oldest first (at a start)."""
    rows = store.db.execute(
        "SELECT id, at, callsign, source, account, kind, text, answered FROM relay_out"
        " ORDER BY at LIMIT ?",
        (OUT_MAX,),
    ).fetchall()
    return [
        Row(str(r[0]), float(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]),
            frozenset(str(r[7]).split()))
        for r in rows
    ]  # fmt: skip


def answered(store: Db, id_: str, peers: frozenset[str]) -> None:
    """The service nicks that said message `id_` is not for their gateway."""
    with store.transaction():
        store.db.execute(
            "UPDATE relay_out SET answered = ? WHERE id = ?", (" ".join(sorted(peers)), id_)
        )


def forget(store: Db, id_: str) -> None:
    with store.transaction():
        store.db.execute("DELETE FROM relay_out WHERE id = ?", (id_,))


def take(store: Db, id_: str, letter: chatstore.Letter, now: float, limit: int) -> int | None:
    """Hold a message another gateway passed on and note its id, in one transaction:
    its number, or None if it was held before (a resend). Raises MailboxFull."""
    db = store.db
    with store.transaction():
        if db.execute("SELECT 1 FROM relay_seen WHERE id = ?", (id_,)).fetchone() is not None:
            return None
        n = chatstore.add_mail(store, letter, now, limit)
        db.execute("INSERT INTO relay_seen (id, at) VALUES (?, ?)", (id_, now))
        db.execute(
            "DELETE FROM relay_seen WHERE at < (SELECT at FROM relay_seen"
            " ORDER BY at DESC LIMIT 1 OFFSET ?)",
            (SEEN_MAX - 1,),
        )
    return n


def prune(store: Db, now: float, max_age: float) -> None:
    """Forget held ids older than the mailbox's age and SEEN_MARGIN (no resend comes
    after it, if the network's gateways have the same `mailbox.max_age`)."""
    with store.transaction():
        store.db.execute("DELETE FROM relay_seen WHERE at < ?", (now - max_age - SEEN_MARGIN,))
