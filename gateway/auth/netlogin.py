"""Accounts of radio users on an external IRC network (`irc.mode: external`).

When the network has accounts (services, or another gateway's embedded server with an
application password), the sysop stores each ham's password for it with
`gateway irc-login set CALL`; a radio session of that callsign then logs in with SASL
PLAIN as the callsign, so the network knows who it is (its account tag, its reserved
nick). The password is encrypted at rest like a TOTP secret (AES-256-GCM, bound to
`irc-login:<callsign>` so a blob cannot pass for a secret), never printed, never logged.
TOTP stays the only way in over the air: this is the gateway's credential toward the
network, used after the radio user's own login.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from gateway.auth import users
from gateway.auth.credentials import CredentialError
from gateway.db import Db, Schema

Add = Callable[[str, object, str], argparse.ArgumentParser]


class _Opened(Db, Protocol):
    """The store the command line opens for one command (and closes)."""

    def close(self) -> None: ...


S = TypeVar("S", bound=_Opened)
MAX_PASSWORD = 300
#: What the store's box seals (it keeps ASCII, as TOTP secrets are).
_PRINTABLE = re.compile(r"[ -~]+")


SCHEMA = Schema(
    __name__,
    """
-- encrypted like the TOTP secrets
CREATE TABLE IF NOT EXISTS network_logins (
    callsign TEXT PRIMARY KEY,
    secret   BLOB NOT NULL,
    added    REAL NOT NULL
);
""",
)


def _bound(callsign: str) -> str:
    return f"irc-login:{callsign}"


def set_password(store: Db, callsign: str, password: str, now: float) -> None:
    blob = store.box.seal(_bound(callsign), password)
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO network_logins (callsign, secret, added) VALUES (?, ?, ?)",
            (callsign, blob, now),
        )


def password_for(store: Db, callsign: str) -> str | None:
    row = store.db.execute(
        "SELECT secret FROM network_logins WHERE callsign = ?", (callsign,)
    ).fetchone()
    return store.box.open(_bound(callsign), row[0]) if row else None


def remove(store: Db, callsign: str) -> bool:
    with store.transaction():
        cur = store.db.execute("DELETE FROM network_logins WHERE callsign = ?", (callsign,))
    return cur.rowcount > 0


def forget(store: Db, callsign: str) -> None:
    """A revoked callsign (`Store.delete_user`, inside its transaction)."""
    store.db.execute("DELETE FROM network_logins WHERE callsign = ?", (callsign,))


def listed(store: Db) -> list[tuple[str, float]]:
    return [
        (r[0], r[1])
        for r in store.db.execute("SELECT callsign, added FROM network_logins ORDER BY 1")
    ]


def _read_password(call: str) -> str:
    prompt = f"{call}'s password on the IRC network: "
    if sys.stdin.isatty():
        password = getpass.getpass(prompt)
    else:
        print(prompt, end="", flush=True)
        password = sys.stdin.readline().rstrip("\r\n")
    if not password or len(password) > MAX_PASSWORD or not _PRINTABLE.fullmatch(password):
        raise CredentialError(
            f"expected a password of 1-{MAX_PASSWORD} printable ASCII characters on one line"
        )
    return password


def register(
    add: Add,
    open_store: Callable[[argparse.Namespace], S],
    record: Callable[[S, str, str], None],
    callsign: Callable[[str], str],
) -> None:
    """Add `gateway irc-login set|remove|list` to the CLI."""

    def run(args: argparse.Namespace) -> int:
        store = open_store(args)
        try:
            if args.action == "list":
                rows = listed(store)
                for call, added in rows:
                    when = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(added))
                    print(f"{call:<8} set {when}")
                if not rows:
                    print("none")
                return 0
            call = callsign(args.callsign)
            if args.action == "set":
                if users.get_user(store, call) is None:
                    raise CredentialError(f"{call} is not enrolled (gateway enroll {call})")
                set_password(store, call, _read_password(call), time.time())
                record(store, f"irc-login set {call}", "done")
                print(f"{call}: stored (encrypted); its radio sessions log in to the network "
                      "with SASL.")  # fmt: skip
            else:
                found = remove(store, call)
                record(store, f"irc-login remove {call}", "done" if found else "none")
                if not found:
                    raise CredentialError(f"{call} has no IRC network login")
                print(f"{call}: IRC network login removed.")
        finally:
            store.close()
        return 0

    p = add("irc-login", run, "radio users' accounts on an external IRC network (SASL)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("set", help="store a callsign's network password (prompted)").add_argument(
        "callsign"
    )
    sub.add_parser("remove", help="forget it").add_argument("callsign")
    sub.add_parser("list", help="callsigns with a stored login (never the passwords)")
