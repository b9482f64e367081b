"""Credentials that survive a reconnect, for hams on ordinary IRC clients.

A TOTP code works once, and IRC clients reconnect with a stored password; so the sysop
can give an enrolled callsign, on the console only:

- certificate fingerprints (SHA-256 of a TLS client certificate) for SASL EXTERNAL;
- application passwords for SASL PLAIN: random (100 bits), shown once, kept as Argon2id
  hashes, each with a label, revocable one by one. A selector (64 bits of the password's
  SHA-256) finds its row, so a login costs one Argon2id check, and only for a password
  whose selector exists: a guess costs no Argon2id at all, and takes as long for an
  enrolled callsign as for any other. Rows made before selectors (version 0.1.0) are
  never checked (each would cost an Argon2id check per guess, and tell who has them):
  `legacy_app_passwords` counts them for a warning at start, `apppass list` marks them.

Neither ever works over the air: radio logins take a TOTP code only; a callsign locked
by an operator (`RADIO LOCK`) cannot use them either. Revoking a callsign removes its
credentials (`Store.delete_user`). `login_state` names what may log in now, so the
application can end the IRC logins of a credential that went (`Server.end_logins`).
These functions run on the store's thread (`AsyncStore.call`), except
`verify_app_password`, which is CPU-heavy (Argon2id) and runs in a worker thread.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.auth import admin, users
from gateway.config import Config
from gateway.db import Db, Schema
from ircd.passwords import hash_password, verify_password

#: Application passwords: 4 groups of 5 characters of an alphabet without look-alikes.
_ALPHABET: Final = "abcdefghijkmnpqrstuvwxyz23456789"
_GROUPS: Final = 4
_GROUP: Final = 5
APP_PASSWORD: Final = re.compile(rf"[{_ALPHABET}]{{{_GROUP}}}(?:-[{_ALPHABET}]{{{_GROUP}}}){{3}}")
#: Most credentials of each kind per callsign (the tables are keyed by outside data).
MAX_PER_CALLSIGN: Final = 16
_LABEL_MAX: Final = 40
_FINGERPRINT: Final = re.compile(r"[0-9a-f]{64}")
#: How `Client.credential` names a TOTP login: per enrollment (`totp_label`), so that
#: a new secret (`gateway enroll --replace`) ends the logins made with the old one.
TOTP: Final = "totp"


def _migrate_selectors(conn: sqlite3.Connection, config: Config) -> None:
    """Application passwords from before selectors keep their rows (listed, revocable)
    but no longer log in: checking them would cost an Argon2id check per guess."""
    columns = {str(r[1]) for r in conn.execute("PRAGMA table_info(app_passwords)")}
    if "selector" not in columns:
        conn.execute("ALTER TABLE app_passwords ADD COLUMN selector TEXT")
    conn.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS app_passwords_selector ON app_passwords (selector)"
    )


SCHEMA = Schema(
    __name__,
    """
-- Credentials for ordinary IRC clients, never for the air.
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
""",
    (_migrate_selectors,),
)


class CredentialError(ValueError):
    """A credential that cannot be added or removed; the message says why."""


@dataclass(frozen=True, slots=True)
class Credential:
    """One certificate or application password, as `list` shows it (never a secret)."""

    callsign: str
    key: str  # the fingerprint, or the application password's number
    label: str
    added: float
    last_used: float | None
    #: An application password made before selectors: it no longer logs in.
    legacy: bool = False


def normalize_fingerprint(text: str) -> str:
    """`AB:CD:...` or `abcd...` (64 hex digits) as lower-case hex; raises CredentialError."""
    fp = text.strip().lower().replace(":", "")
    if not _FINGERPRINT.fullmatch(fp):
        raise CredentialError(f"not a SHA-256 fingerprint (64 hex digits): {text!r}")
    return fp


def fingerprint_of_file(path: Path) -> str:
    """The certfp of a PEM certificate file (what the server computes from the handshake)."""
    try:
        der = ssl.PEM_cert_to_DER_cert(path.read_text(encoding="ascii"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CredentialError(f"{path}: not a readable PEM certificate ({exc})") from None
    return hashlib.sha256(der).hexdigest()


def _label(label: str) -> str:
    label = " ".join(label.split())[:_LABEL_MAX]
    if not label.isprintable():
        raise CredentialError("the label must be printable text")
    return label


def _enrolled(store: Db, callsign: str) -> None:
    if users.get_user(store, callsign) is None:
        raise CredentialError(f"{callsign} is not enrolled")


def _count(store: Db, table: str, callsign: str) -> int:
    row = store.db.execute(f"SELECT count(*) FROM {table} WHERE callsign = ?", (callsign,))  # noqa: S608
    return int(row.fetchone()[0])


def add_certfp(store: Db, callsign: str, fp: str, label: str, now: float) -> None:
    with store.transaction():
        _enrolled(store, callsign)
        row = store.db.execute("SELECT callsign FROM certfps WHERE fp = ?", (fp,)).fetchone()
        if row is not None:
            raise CredentialError(f"that certificate is bound to {row[0]} already")
        if _count(store, "certfps", callsign) >= MAX_PER_CALLSIGN:
            raise CredentialError(f"{callsign} has {MAX_PER_CALLSIGN} certificates already")
        store.db.execute(
            "INSERT INTO certfps (fp, callsign, label, added) VALUES (?, ?, ?, ?)",
            (fp, callsign, _label(label), now),
        )


def remove_certfp(store: Db, callsign: str, fp: str) -> bool:
    with store.transaction():
        cur = store.db.execute("DELETE FROM certfps WHERE fp = ? AND callsign = ?", (fp, callsign))
    return cur.rowcount > 0


def totp_label(enrolled_at: float) -> str:
    return f"{TOTP}:{enrolled_at!r}"


def totp_label_of(store: Db, callsign: str) -> str | None:
    """The TOTP label of the callsign's current enrollment (None if not enrolled)."""
    user = users.get_user(store, callsign)
    return None if user is None else totp_label(user.enrolled_at)


def certfp_label(fp: str) -> str:
    return f"certfp:{fp}"


def app_password_label(number: int) -> str:
    return f"apppass:{number}"


def _may_log_in(store: Db, callsign: str, now: float) -> bool:
    return (
        users.get_user(store, callsign) is not None and admin.locked_until(store, callsign) <= now
    )


def account_for_certfp(store: Db, fp: str, now: float) -> str | None:
    """The callsign a certificate is bound to (enrolled, not locked), noting its use."""
    fp = fp.lower()
    with store.transaction():
        row = store.db.execute("SELECT callsign FROM certfps WHERE fp = ?", (fp,)).fetchone()
        if row is None or not _may_log_in(store, str(row[0]), now):
            return None
        store.db.execute("UPDATE certfps SET last_used = ? WHERE fp = ?", (now, fp))
    return str(row[0])


def new_app_password() -> str:
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS)
    )


def add_app_password(store: Db, callsign: str, label: str, now: float) -> tuple[int, str]:
    """Make a password for `callsign`; returns its number and the password (show it once)."""
    password = new_app_password()
    digest = hash_password(password)
    with store.transaction():
        _enrolled(store, callsign)
        if _count(store, "app_passwords", callsign) >= MAX_PER_CALLSIGN:
            raise CredentialError(f"{callsign} has {MAX_PER_CALLSIGN} application passwords")
        cur = store.db.execute(
            "INSERT INTO app_passwords (callsign, label, hash, added, selector)"
            " VALUES (?, ?, ?, ?, ?)",
            (callsign, _label(label), digest, now, selector_of(password)),
        )
    assert cur.lastrowid is not None
    return cur.lastrowid, password


def revoke_app_password(store: Db, callsign: str, number: int) -> bool:
    with store.transaction():
        cur = store.db.execute(
            "DELETE FROM app_passwords WHERE id = ? AND callsign = ?", (number, callsign)
        )
    return cur.rowcount > 0


def selector_of(password: str) -> str:
    """What finds a password's row: 64 bits of its SHA-256. Whoever reads the store
    learns nothing from it that helps: finding the password is still a search of 2^100."""
    digest = hashlib.sha256(b"gateway-app-password:" + password.encode("utf-8", "replace"))
    return digest.hexdigest()[:16]


def app_password_candidates(
    store: Db, callsign: str, selector: str, now: float
) -> list[tuple[int, str]]:
    """(number, Argon2id hash) of the row a password with `selector` may match, if it is
    the callsign's; none for a callsign not enrolled or locked. The same queries run
    whatever the answer, so its time tells nothing either."""
    row = store.db.execute(
        "SELECT id, hash, callsign FROM app_passwords WHERE selector = ?", (selector,)
    ).fetchone()
    if not _may_log_in(store, callsign, now) or row is None or row[2] != callsign:
        return []
    return [(int(row[0]), str(row[1]))]


def legacy_app_passwords(store: Db) -> int:
    """Application passwords made before selectors: they no longer log in."""
    row = store.db.execute("SELECT count(*) FROM app_passwords WHERE selector IS NULL")
    return int(row.fetchone()[0])


def verify_app_password(candidates: list[tuple[int, str]], password: str) -> int | None:
    """The number of the candidate `password` matches, else None (Argon2id, slow)."""
    for number, digest in candidates:
        if verify_password(digest, password):
            return number
    return None


def app_password_used(store: Db, callsign: str, number: int, selector: str, now: float) -> bool:
    """After a match: True if the password still stands (not revoked, the callsign not
    locked or revoked while Argon2id ran); notes its use."""
    with store.transaction():
        if not _may_log_in(store, callsign, now):
            return False
        cur = store.db.execute(
            "UPDATE app_passwords SET last_used = ? WHERE id = ? AND callsign = ? AND selector = ?",
            (now, number, callsign, selector),
        )
    return cur.rowcount > 0


def login_state(store: Db, now: float) -> dict[str, frozenset[str]]:
    """What may log in to each callsign now (enrolled, not locked): the label of its
    current TOTP enrollment (if codes may log in on IRC) and those of its certificates
    and application passwords.
    An IRC login whose label is not there is one to end (`Server.end_logins`)."""
    state: dict[str, set[str]] = {}
    # A code logs in on IRC only while the sysop allows it (`gateway irc-codes`).
    codes = set(users.irc_code_callsigns(store))
    for callsign, enrolled_at in users.enrollments(store):
        if admin.locked_until(store, callsign) <= now:
            state[callsign] = {totp_label(enrolled_at)} if callsign in codes else set()
    for callsign, fp in store.db.execute("SELECT callsign, fp FROM certfps"):
        if callsign in state:
            state[callsign].add(certfp_label(fp))
    for callsign, number in store.db.execute(
        "SELECT callsign, id FROM app_passwords WHERE selector IS NOT NULL"
    ):
        if callsign in state:
            state[callsign].add(app_password_label(int(number)))
    return {c: frozenset(labels) for c, labels in state.items()}


def forget(store: Db, callsign: str) -> None:
    """A revoked callsign: its certificates and application passwords go."""
    store.db.execute("DELETE FROM certfps WHERE callsign = ?", (callsign,))
    store.db.execute("DELETE FROM app_passwords WHERE callsign = ?", (callsign,))


def list_credentials(store: Db, table: str, callsign: str | None) -> list[Credential]:
    """`certfps` or `app_passwords` of one callsign, or of all."""
    key = {"certfps": "fp", "app_passwords": "id"}[table]
    legacy = "selector IS NULL" if table == "app_passwords" else "0"
    where, args = ("WHERE callsign = ?", (callsign,)) if callsign else ("", ())
    rows = store.db.execute(
        f"SELECT callsign, {key}, label, added, last_used, {legacy} FROM {table} {where}"  # noqa: S608
        " ORDER BY callsign, added",
        args,
    )
    return [Credential(c, str(k), lab, a, u, bool(old)) for c, k, lab, a, u, old in rows]
