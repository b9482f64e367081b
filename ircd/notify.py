"""Changes to a user that others are told about, each through its IRCv3 capability.

- `set_account`: ACCOUNT to peers with account-notify (and extended-monitor watchers).
- `set_host`: CHGHOST to peers with chghost (the gateway may rename a radio user's host).
- `set_realname`: SETNAME to peers with setname.
- `monitor_online`, `monitor_offline`: 730/731 to the MONITOR watchers of a nick.
- `announce`, `mark_read`: a read marker moved (draft/read-marker), to its owner's clients.

Peers are clients sharing a channel with the user; with extended-monitor, clients that
MONITOR the user hear about it too.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from ircd import metadata
from ircd import numerics as n
from ircd.protocol import Message
from ircd.readmarkers import CAP as READ_MARKER

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircd.client import Client
    from ircd.context import Context


def audience(server: Context, client: Client, cap: str, *, self_too: bool) -> Iterable[Client]:
    """Peers and extended-monitor watchers holding `cap` (and the client, if `self_too`)."""
    monitoring = server.monitors.watchers(server.fold(client.name))
    watchers = (c for c in monitoring if "extended-monitor" in c.caps)
    everyone = itertools.chain((client,) if self_too else (), server.peers(client), watchers)
    return (c for c in dict.fromkeys(everyone) if cap in c.caps and (self_too or c is not client))


def set_account(server: Context, client: Client, account: str | None) -> None:
    """Log `client` in to `account` (None: out) and tell those who asked."""
    if client.account == account:
        return
    client.account = account
    if client.registered:
        msg = Message(source=client.prefix, command="ACCOUNT", params=(account or "*",))
        server.fanout(audience(server, client, "account-notify", self_too=False), msg)


def set_host(server: Context, client: Client, user: str, host: str) -> None:
    """Change the user name and shown host of `client` (CHGHOST to those who asked)."""
    if (client.user, client.host) == (user, host):
        return
    msg = Message(source=client.prefix, command="CHGHOST", params=(user, host))
    client.user = user
    client.host = host
    if client.registered:
        server.fanout(audience(server, client, "chghost", self_too=True), msg)


def set_realname(server: Context, client: Client, realname: str) -> None:
    """Change the real name of `client` (SETNAME to those who asked)."""
    client.realname = realname
    if client.registered:
        msg = Message(
            source=client.prefix, command="SETNAME", params=(realname,), tags=client.tags()
        )
        server.fanout(audience(server, client, "setname", self_too=True), msg)


def monitor_online(server: Context, client: Client) -> None:
    """Tell the watchers of `client`'s nick that it is online (730)."""
    for watcher in server.monitors.watchers(server.fold(client.name)):
        server.send(
            watcher,
            Message(
                source=server.name, command=n.RPL_MONONLINE, params=(watcher.name, client.prefix)
            ),
        )
        metadata.after_online(server, watcher, client, None)


def monitor_offline(server: Context, nick: str) -> None:
    """Tell the watchers of `nick` that it went offline (731)."""
    for watcher in server.monitors.watchers(server.fold(nick)):
        server.send(
            watcher,
            Message(source=server.name, command=n.RPL_MONOFFLINE, params=(watcher.name, nick)),
        )


def owner_of(server: Context, client: Client) -> str:
    """Whose markers `client` reads and writes."""
    if client.account is not None:
        return "a:" + server.fold(client.account)
    return f"c:{client.id}"


def marker_message(server: Context, target: str, at: float | None) -> Message:
    value = "*" if at is None else "timestamp=" + server.format_time(at)
    return Message(source=server.name, command="MARKREAD", params=(target, value))


def announce(server: Context, owner: str, target: str, at: float) -> None:
    """Tell every client of `owner` that negotiated the capability (IRCv3: SHOULD)."""
    msg = marker_message(server, target, at)
    for client in list(server.clients.values()):
        if READ_MARKER in client.caps and client.registered and owner_of(server, client) == owner:
            server.send(client, msg)


def mark_read(server: Context, account: str, target: str, at: float) -> None:
    """For the embedder: `account` has read `target` up to `at` (e.g. a radio user read
    their messages over the air); its IRC clients hear of it."""
    owner = "a:" + server.fold(account)
    at = min(at, server.wallclock())
    now, moved = server.read_markers.advance(owner, server.fold(target), at)
    if moved:
        announce(server, owner, target, now)
