"""Server information and control: TIME, INFO, ADMIN, LINKS, WALLOPS, REHASH, DIE."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.commands.oper import audit
from ircd.isupport import VERSION
from ircd.masks import glob_match
from ircd.protocol import Message

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer
    from ircd.runner import Pending

log = logging.getLogger("ircd.oper")

_INFO: Final = (
    f"{VERSION}: a small IRC server on asyncio, sans-IO at its core.",
    "It serves amateur-radio operators reaching IRC through a TOTP-gated gateway.",
    "Operator and connection passwords: Argon2id. Cloaks: HMAC-SHA256.",
)


def _other_server(server: Context, msg: Message, rb: ReplyBuffer) -> bool:
    """True (after ERR_NOSUCHSERVER) if a server other than this one is named."""
    if msg.params and server.fold(msg.params[0]) != server.fold(server.name):
        rb.numeric(n.ERR_NOSUCHSERVER, msg.params[0], "No such server")
        return True
    return False


def time_(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """TIME [<server>]

    Shows the server's local time.
    """
    if _other_server(server, msg, rb):
        return
    now = datetime.fromtimestamp(server.wallclock(), UTC)
    rb.numeric(n.RPL_TIME, server.name, now.strftime("%A %B %d %Y -- %H:%M:%S UTC"))


def info(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """INFO [<server>]

    Describes the server software.
    """
    if _other_server(server, msg, rb):
        return
    for line in _INFO:
        rb.numeric(n.RPL_INFO, line)
    rb.numeric(n.RPL_ENDOFINFO, "End of /INFO list")


def admin(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """ADMIN [<server>]

    Shows who runs this server and how to reach them.
    """
    if _other_server(server, msg, rb):
        return
    cfg = server.config.admin
    rb.numeric(n.RPL_ADMINME, server.name, "Administrative info")
    rb.numeric(n.RPL_ADMINLOC1, cfg.name or server.config.network)
    rb.numeric(n.RPL_ADMINLOC2, cfg.location or "-")
    rb.numeric(n.RPL_ADMINEMAIL, cfg.email or "-")


def links(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """LINKS [[<remote server>] <server mask>]

    Lists the servers of the network: this one only (it links to no other), as
    `364 <nick> <server> <server it is linked through> :<hops> <description>`.
    """
    mask = msg.params[-1] if msg.params else "*"
    if glob_match(server.fold(mask), server.fold(server.name)):
        rb.numeric(n.RPL_LINKS, server.name, server.name, f"0 {server.config.description}")
    rb.numeric(n.RPL_ENDOFLINKS, "*", "End of /LINKS list")


def wallops(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """WALLOPS :<text>

    Sends a message to every user with user mode +w (operators only).
    """
    out = Message(source=client.prefix, command="WALLOPS", params=(msg.params[0],))
    server.fanout((c for c in server.clients.values() if c.registered and "w" in c.modes), out)


def rehash(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """REHASH

    Reloads the configuration file (operators only); an invalid file changes nothing.
    The operator who asked, and the others, read the outcome: reloaded, refused with the
    first problem, or which keys keep their running value until a restart.
    """
    if server.control.rehash is None:
        rb.numeric(n.ERR_UNKNOWNERROR, "REHASH", "Reloading is managed by the application")
        return None
    # The file actually read: the gateway's own file under `gateway run` (issue 9).
    source = server.config.source or "configuration"
    rb.numeric(n.RPL_REHASHING, source, f"Rehashing {source}")
    outcome = server.control.rehash()
    if isinstance(outcome, str):
        _rehashed(server, client, outcome, rb)
        return None
    return _await_rehash(server, client, outcome)


async def _await_rehash(server: Context, client: Client, outcome: Awaitable[str]) -> None:
    result = await outcome
    # After the replies held for this command, with its label (the server flushes).
    _rehashed(server, client, result, None if client.closed else server.replies(client))


def _rehashed(server: Context, client: Client, result: str, rb: ReplyBuffer | None) -> None:
    log.info("REHASH by %s (oper %s): %s", client.name, client.oper, result)
    server.notice_opers(f"{client.name} (oper {client.oper}) rehashed the server: {result}", rb)
    audit(server, client, "REHASH", result)


def die(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """DIE

    Shuts the server down (operators only).
    """
    if server.control.die is None:
        rb.numeric(n.ERR_UNKNOWNERROR, "DIE", "Shutdown is managed by the application")
        return
    log.warning("DIE by %s (%s)", client.oper, client.prefix)
    server.notice_opers(f"{client.name} (oper {client.oper}) is shutting the server down", rb)
    audit(server, client, "DIE", "stopping")
    server.control.die()
