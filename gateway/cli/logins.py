"""`gateway irc-codes ...` and `gateway sources ...`: where a callsign's codes are good.

- `irc-codes allow|deny|list`: whether a TOTP code logs a callsign in on IRC (SASL
  PLAIN). Off by default: a code sent over the air is heard, and IRC clients have
  application passwords and certificates (`gateway apppass`, `gateway certfp`).
- `sources list|trust|forget`: the sources a callsign had good logins from, which are
  familiar (its own guessing budget, no node budget) once earned on several days or
  trusted here by the sysop.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from gateway.auth import admin, penaltystore, users
from gateway.auth.credentials import CredentialError
from gateway.store import Store

Add = Callable[[str, object, str], argparse.ArgumentParser]
OpenStore = Callable[[argparse.Namespace], Store]
Record = Callable[[Store, str, str], None]


def register(
    add: Add,
    open_store: OpenStore,
    record: Record,
    callsign: Callable[[str], str],
    nodes: Callable[[argparse.Namespace], frozenset[str]],
) -> None:
    def irc_codes(args: argparse.Namespace) -> int:
        store = open_store(args)
        try:
            if args.action == "list":
                calls = users.irc_code_callsigns(store)
                print("\n".join(calls) if calls else "none")
                return 0
            call, allow = callsign(args.callsign), args.action == "allow"
            with store.transaction():
                found = users.set_irc_codes(store, call, allow)
            if not found:
                raise CredentialError(f"{call} is not enrolled (gateway enroll {call})")
            record(store, f"irc-codes {args.action} {call}", "done")
            print(f"{call}: codes log in on IRC too (never while it logs in on the air)."
                  if allow else f"{call}: codes log in on the air only.")  # fmt: skip
        finally:
            store.close()
        return 0

    def sources(args: argparse.Namespace) -> int:
        store = open_store(args)
        try:
            call, now = callsign(args.callsign), time.time()
            if args.action == "list":
                rows = penaltystore.familiar_sources(store, call, now)
                for source, last, familiar in rows:
                    when = datetime.fromtimestamp(last, UTC).strftime("%Y-%m-%d %H:%MZ")
                    print(f"{source}  last login {when}{'  familiar' if familiar else ''}")
                if not rows:
                    print("none")
                return 0
            if args.action == "trust":
                problem = admin.source_problem(args.source, nodes(args))
                if problem is not None:
                    raise CredentialError(f"{args.source}: {problem}")
                if users.get_user(store, call) is None:
                    raise CredentialError(f"{call} is not enrolled (gateway enroll {call})")
                with store.transaction():
                    penaltystore.note_login(store, call, args.source, now, granted=True)
                familiar = penaltystore.is_familiar(store, call, args.source, 0)
                record(store, f"sources trust {call} {args.source}", "done")
                print(f"{call}: {args.source} is familiar." if familiar else
                      f"{call}: four familiar sources were used in the last 30 days;"
                      " forget one first.")  # fmt: skip
            else:
                with store.transaction():
                    found = penaltystore.forget_source(store, call, args.source)
                record(store, f"sources forget {call} {args.source}", "done" if found else "none")
                if not found:
                    raise CredentialError(f"{call} has no login from {args.source}")
                print(f"{call}: {args.source} forgotten.")
        finally:
            store.close()
        return 0

    p = add("irc-codes", irc_codes, "let a callsign's TOTP codes log in on IRC (off by default)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("allow", help="codes log in on IRC too").add_argument("callsign")
    sub.add_parser("deny", help="codes log in on the air only").add_argument("callsign")
    sub.add_parser("list", help="callsigns whose codes log in on IRC")

    p = add("sources", sources, "the sources a callsign logs in from (familiar ones)")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="sources with a good login").add_argument("callsign")
    for name, text in (("trust", "make a source familiar now"), ("forget", "forget a source")):
        a = sub.add_parser(name, help=text)
        a.add_argument("callsign")
        a.add_argument("source", help="as `sources list` shows it (telnet:bpq:call:N0TEST)")
