"""Credentials that survive a reconnect, for hams on ordinary IRC clients.

A TOTP code works once, and IRC clients reconnect with a stored password; so the sysop
can give an enrolled callsign, on the console only:

- certificate fingerprints (SHA-256 of a TLS client certificate) for SASL EXTERNAL;
- application passwords for SASL PLAIN: random (100 bits), shown once, kept as Argon2id
  hashes, each with a label, revocable one by one.

Neither ever works over the air: radio logins take a TOTP code only. Revoking a callsign
removes its credentials (`Store.delete_user`). These functions run on the store's thread
(`AsyncStore.call`), except `verify_app_password`, which is CPU-heavy (Argon2id) and
runs in a worker thread.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.store import Store
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


def _enrolled(store: Store, callsign: str) -> None:
    if store.get_user(callsign) is None:
        raise CredentialError(f"{callsign} is not enrolled")


def _count(store: Store, table: str, callsign: str) -> int:
    row = store.db.execute(f"SELECT count(*) FROM {table} WHERE callsign = ?", (callsign,))  # noqa: S608
    return int(row.fetchone()[0])


def add_certfp(store: Store, callsign: str, fp: str, label: str, now: float) -> None:
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


def remove_certfp(store: Store, callsign: str, fp: str) -> bool:
    with store.transaction():
        cur = store.db.execute("DELETE FROM certfps WHERE fp = ? AND callsign = ?", (fp, callsign))
    return cur.rowcount > 0


def account_for_certfp(store: Store, fp: str, now: float) -> str | None:
    """The callsign a certificate is bound to (still enrolled), noting its use."""
    with store.transaction():
        row = store.db.execute(
            "SELECT c.callsign FROM certfps c JOIN users u ON u.callsign = c.callsign"
            " WHERE c.fp = ?",
            (fp.lower(),),
        ).fetchone()
        if row is not None:
            store.db.execute("UPDATE certfps SET last_used = ? WHERE fp = ?", (now, fp.lower()))
    return None if row is None else str(row[0])


def new_app_password() -> str:
    return "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS)
    )


def add_app_password(store: Store, callsign: str, label: str, now: float) -> tuple[int, str]:
    """Make a password for `callsign`; returns its number and the password (show it once)."""
    password = new_app_password()
    digest = hash_password(password)
    with store.transaction():
        _enrolled(store, callsign)
        if _count(store, "app_passwords", callsign) >= MAX_PER_CALLSIGN:
            raise CredentialError(f"{callsign} has {MAX_PER_CALLSIGN} application passwords")
        cur = store.db.execute(
            "INSERT INTO app_passwords (callsign, label, hash, added) VALUES (?, ?, ?, ?)",
            (callsign, _label(label), digest, now),
        )
    assert cur.lastrowid is not None
    return cur.lastrowid, password


def revoke_app_password(store: Store, callsign: str, number: int) -> bool:
    with store.transaction():
        cur = store.db.execute(
            "DELETE FROM app_passwords WHERE id = ? AND callsign = ?", (number, callsign)
        )
    return cur.rowcount > 0


def app_password_hashes(store: Store, callsign: str) -> list[tuple[int, str]]:
    """(number, Argon2id hash) of an enrolled callsign's application passwords."""
    rows = store.db.execute(
        "SELECT a.id, a.hash FROM app_passwords a JOIN users u ON u.callsign = a.callsign"
        " WHERE a.callsign = ? ORDER BY a.id",
        (callsign,),
    )
    return [(int(i), str(h)) for i, h in rows]


def app_password_used(store: Store, number: int, now: float) -> None:
    with store.transaction():
        store.db.execute("UPDATE app_passwords SET last_used = ? WHERE id = ?", (now, number))


def verify_app_password(hashes: list[tuple[int, str]], password: str, decoy: str) -> int | None:
    """The number of the password that matches, else None; at least one Argon2id check
    runs (against `decoy` when there is no hash), so the time says nothing about them."""
    found = None
    for number, digest in hashes or [(-1, decoy)]:
        if verify_password(digest, password) and number >= 0:
            found = number
    return found


def list_credentials(store: Store, table: str, callsign: str | None) -> list[Credential]:
    """`certfps` or `app_passwords` of one callsign, or of all."""
    key = {"certfps": "fp", "app_passwords": "id"}[table]
    where, args = ("WHERE callsign = ?", (callsign,)) if callsign else ("", ())
    rows = store.db.execute(
        f"SELECT callsign, {key}, label, added, last_used FROM {table} {where}"  # noqa: S608
        " ORDER BY callsign, added",
        args,
    )
    return [Credential(c, str(k), lab, a, u) for c, k, lab, a, u in rows]
