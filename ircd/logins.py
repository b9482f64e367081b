"""The socket clients logged in to accounts, for the embedder to check and end.

When the embedder revokes or locks an account, or a credential goes (an application
password removed, a certificate unbound), the IRC logins that stand on it must end.
In-process clients are the embedder's own to end and are never listed here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ircd.client import Client

log = logging.getLogger("ircd.logins")


def logins(clients: Iterable[Client]) -> set[tuple[str, str | None]]:
    """(account, credential) of the socket clients logged in."""
    return {
        (c.account, c.credential) for c in clients if c.account is not None and not c.in_process
    }


def end_logins(
    clients: Iterable[Client],
    disconnect: Callable[[Client, str], None],
    account: str,
    reason: str,
    credential: str | None = None,
) -> int:
    """Disconnect the socket clients logged in to `account` (only those that used
    `credential`, if given). Returns how many."""
    ended = [
        c
        for c in clients
        if c.account is not None
        and not c.in_process
        and c.account.casefold() == account.casefold()
        and (credential is None or c.credential == credential)
    ]
    for client in ended:
        log.info("%s (%s) logged out of %s: %s", client.name, client.ip, account, reason)
        disconnect(client, reason)
    return len(ended)
