"""Changes to a user that others are told about, each through its IRCv3 capability.

- `set_account`: ACCOUNT to peers with account-notify (and extended-monitor watchers).
- `set_host`: CHGHOST to peers with chghost (the gateway may rename a radio user's host).
- `set_realname`: SETNAME to peers with setname.
- `user_tags`: the account and bot tags on messages from a user.

Peers are clients sharing a channel with the user; with extended-monitor, clients that
MONITOR the user hear about it too.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from ircd.protocol import Message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircd.client import Client
    from ircd.server import Server


def audience(server: Server, client: Client, cap: str, *, self_too: bool) -> Iterable[Client]:
    """Peers and extended-monitor watchers holding `cap` (and the client, if `self_too`)."""
    monitoring = server.monitors.watchers(server.fold(client.name))
    watchers = (c for c in monitoring if "extended-monitor" in c.caps)
    everyone = itertools.chain((client,) if self_too else (), server.peers(client), watchers)
    return (c for c in dict.fromkeys(everyone) if cap in c.caps and (self_too or c is not client))


def user_tags(client: Client) -> dict[str, str]:
    """Tags describing the sender of a message: account (account-tag) and bot (bot mode)."""
    tags: dict[str, str] = {}
    if client.account is not None:
        tags["account"] = client.account
    if "B" in client.modes:
        tags["bot"] = ""
    return tags


def set_account(server: Server, client: Client, account: str | None) -> None:
    """Log `client` in to `account` (None: out) and tell those who asked."""
    if client.account == account:
        return
    client.account = account
    if client.registered:
        msg = Message(source=client.prefix, command="ACCOUNT", params=(account or "*",))
        server.fanout(audience(server, client, "account-notify", self_too=False), msg)


def set_host(server: Server, client: Client, user: str, host: str) -> None:
    """Change the user name and shown host of `client` (CHGHOST to those who asked)."""
    if (client.user, client.host) == (user, host):
        return
    msg = Message(source=client.prefix, command="CHGHOST", params=(user, host))
    client.user = user
    client.host = host
    if client.registered:
        server.fanout(audience(server, client, "chghost", self_too=True), msg)


def set_realname(server: Server, client: Client, realname: str) -> None:
    """Change the real name of `client` (SETNAME to those who asked)."""
    client.realname = realname
    if client.registered:
        msg = Message(source=client.prefix, command="SETNAME", params=(realname,))
        server.fanout(audience(server, client, "setname", self_too=True), msg)
