"""`gateway bans list|remove`: the embedded IRC server's K/G/Z-lines and shuns, from the
console.

For the sysop who cannot reach IRC as an operator (a line covering their own address).
A removal is a row deleted from the store, then audited; a running gateway notices the
store change at its next watch (every few seconds), drops the line and tells the
operators (`ircd.net.IrcServer.resync_bans`). Setting lines stays on IRC.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from gateway.irc import xlinestore
from gateway.store import Store
from ircd.xlines import line_name, normalize_xline_mask

Add = Callable[[str, object, str], argparse.ArgumentParser]
OpenStore = Callable[[argparse.Namespace], Store]
Record = Callable[[Store, str, str], None]

#: What the console takes for a kind: `K`, `kline`, `K-line`, `S` or `shun`, in any case.
KINDS: Final = ("K", "G", "Z", "S")


class BanError(Exception):
    """A bad kind or mask, or no such line (the CLI prints it and exits 1)."""


def kind_of(text: str) -> str:
    kind = text.strip().upper().replace("-", "")
    kind = kind[0] if kind in ("K", "G", "Z", "S", "KLINE", "GLINE", "ZLINE", "SHUN") else ""
    if kind not in KINDS:
        raise BanError(f"not a kind of server ban (K, G, Z or S for a shun): {text!r}")
    return kind


def register(add: Add, open_store: OpenStore, record: Record) -> None:
    """Add the `bans` command to the CLI."""

    def run(args: argparse.Namespace) -> int:
        store = open_store(args)
        try:
            if args.action == "list":
                kind = kind_of(args.kind) if args.kind else None
                show(xlinestore.xlines(store), kind, time.time())
            else:
                remove(store, kind_of(args.kind), args.mask)
        finally:
            store.close()
        return 0

    def remove(store: Store, kind: str, raw: str) -> None:
        mask = normalize_xline_mask(kind, raw)
        if mask is None:
            raise BanError(f"not a {line_name(kind)} mask: {raw!r}")
        found = xlinestore.delete_xline(store, kind, mask)
        record(store, f"bans remove {kind} {mask}", "removed" if found else "no such line")
        if not found:
            raise BanError(f"no {line_name(kind)} on {mask} (gateway bans list)")
        print(f"{line_name(kind)} on {mask} removed; a running gateway drops it within seconds.")

    p = add("bans", run, "list or remove the IRC server's K/G/Z-lines and shuns")
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    sub.add_parser("list", help="list the lines: kind, mask, set by, expiry, reason").add_argument(
        "kind", nargs="?", help="K, G, Z or S (a shun) (default: all)"
    )
    r = sub.add_parser("remove", help="remove one line, as UNKLINE/UNGLINE/UNZLINE/UNSHUN")
    r.add_argument("kind", help="K, G, Z or S")
    r.add_argument("mask", help="as `gateway bans list` shows it (user@host, or an IP/CIDR)")


def show(rows: list[tuple[str, str, str, str, float, float | None]], kind: str | None,
         now: float) -> None:  # fmt: skip
    shown = 0
    for k, mask, reason, set_by, set_at, expires in rows:
        if (kind is not None and k != kind) or (expires is not None and expires <= now):
            continue  # an expired row goes at the running server's next tick
        until = "permanent" if expires is None else f"expires {_when(expires)}"
        print(f"{k}  {mask}  set by {set_by} {_when(set_at)}, {until}: {reason}")
        shown += 1
    print(f"{shown} line(s).")


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%MZ")
