"""`gateway certfp ...` and `gateway apppass ...`: IRC credentials, on the console only.

The handlers are made by `register`, given what `gateway/cli/main.py` owns (its subcommand
adder, how to open the store, the audit trail), so that the CLI module stays the only
place that turns errors into exit codes. An application password is printed once and
never stored; the audit trail names the credential, never the password.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from gateway.auth import credentials
from gateway.auth.credentials import Credential, CredentialError
from gateway.callsign import parse_base_callsign
from gateway.store import Store

Add = Callable[[str, object, str], argparse.ArgumentParser]
OpenStore = Callable[[argparse.Namespace], Store]
Record = Callable[[Store, str, str], None]
Action = Callable[[Store, argparse.Namespace, str], None]


def callsign(text: str) -> str:
    call = parse_base_callsign(text)
    if call is None:
        raise CredentialError(f"not a valid base callsign (no SSID): {text!r}")
    return call


def register(add: Add, open_store: OpenStore, record: Record) -> None:
    """Add the `certfp` and `apppass` commands to the CLI."""

    def command(table: str, actions: dict[str, Action]) -> Callable[[argparse.Namespace], int]:
        def run(args: argparse.Namespace) -> int:
            store = open_store(args)
            try:
                if args.action == "list":
                    show(credentials.list_credentials(store, table, _maybe(args.callsign)))
                else:
                    actions[args.action](store, args, callsign(args.callsign))
            finally:
                store.close()
            return 0

        return run

    def bind(store: Store, args: argparse.Namespace, call: str) -> None:
        fp = (
            credentials.fingerprint_of_file(Path(args.cert))
            if args.cert
            else credentials.normalize_fingerprint(args.fingerprint or "")
        )
        credentials.add_certfp(store, call, fp, args.label, time.time())
        record(store, f"certfp add {call} {fp}", "done")
        print(f"{call}: certificate {fp} bound; SASL EXTERNAL with it logs in as {call}.")

    def unbind(store: Store, args: argparse.Namespace, call: str) -> None:
        fp = credentials.normalize_fingerprint(args.fingerprint)
        found = credentials.remove_certfp(store, call, fp)
        record(store, f"certfp remove {call} {fp}", "done" if found else "not bound")
        _outcome(found, f"{fp} is not bound to {call}", f"{call}: certificate {fp} removed.")

    def make(store: Store, args: argparse.Namespace, call: str) -> None:
        number, password = credentials.add_app_password(store, call, args.label, time.time())
        try:  # shown or not kept: a password nobody saw would only be a way in
            print(f"{call}: application password #{number} (shown once, never again):")
            print(f"    {password}")
            print(f"Use it as the SASL PLAIN password with account {call}.")
            sys.stdout.flush()
        except BaseException:  # a broken pipe, a full disk, ^C between saving and showing
            credentials.revoke_app_password(store, call, number)
            record(store, f"apppass add {call} #{number}", "output failed: not shown; revoked")
            raise
        record(store, f"apppass add {call} #{number}", "done")

    def revoke(store: Store, args: argparse.Namespace, call: str) -> None:
        found = credentials.revoke_app_password(store, call, args.number)
        record(store, f"apppass revoke {call} #{args.number}", "done" if found else "none")
        _outcome(
            found,
            f"{call} has no application password #{args.number}",
            f"{call}: application password #{args.number} revoked.",
        )

    certfp = command("certfps", {"add": bind, "remove": unbind})
    apppass = command("app_passwords", {"add": make, "revoke": revoke})

    p = add("certfp", certfp, "bind TLS client certificates to a callsign (SASL EXTERNAL)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = sub.add_parser("add", help="bind a certificate: its SHA-256 or --cert FILE (PEM)")
    a.add_argument("callsign")
    a.add_argument("fingerprint", nargs="?", help="SHA-256 of the certificate, hex")
    a.add_argument("--cert", metavar="FILE", help="the client's certificate (PEM)")
    a.add_argument("--label", default="", help="what it is for (e.g. 'laptop weechat')")
    r = sub.add_parser("remove", help="unbind a certificate")
    r.add_argument("callsign")
    r.add_argument("fingerprint")
    sub.add_parser("list", help="list bound certificates").add_argument("callsign", nargs="?")

    p = add("apppass", apppass, "application passwords for IRC clients (SASL PLAIN)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    a = sub.add_parser("add", help="make a password, shown once")
    a.add_argument("callsign")
    a.add_argument("label", nargs="?", default="", help="what it is for (e.g. 'irssi')")
    r = sub.add_parser("revoke", help="revoke one password by its number")
    r.add_argument("callsign")
    r.add_argument("number", type=_number)
    sub.add_parser("list", help="list passwords (never the passwords)").add_argument(
        "callsign", nargs="?"
    )


def _number(text: str) -> int:
    """A password's number, as `apppass list` shows it: SQLite's INTEGER holds no more."""
    try:
        number = int(text) if len(text) <= 19 else -1
    except ValueError:
        number = -1
    if not 1 <= number < 2**63:
        raise argparse.ArgumentTypeError(f"expected a password number as listed, got {text!r}")
    return number


def _outcome(found: bool, missing: str, done: str) -> None:
    if not found:
        raise CredentialError(missing)
    print(done)


def _maybe(text: str | None) -> str | None:
    return callsign(text) if text else None


def show(rows: list[Credential]) -> None:
    if not rows:
        print("none")
    for c in rows:
        key = c.key if len(c.key) == 64 else f"#{c.key}"
        old = "  (made by version 0.1.0: no longer logs in, make a new one)" if c.legacy else ""
        print(f"{c.callsign:<8} {key}  added {_when(c.added)}, used {_when(c.last_used)}"
              f"{'  ' + c.label if c.label else ''}{old}")  # fmt: skip


def _when(at: float | None) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%MZ") if at else "never"
