"""Operator commands: OPER and KILL."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

from ircd import numerics as n
from ircd.hooks import OperAction
from ircd.protocol import Message
from ircd.replies import ReplyBuffer
from ircd.snomask import actor, address, snotice
from ircd.sources import source_of
from ircd.unregistered import network_of

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.runner import Pending

log = logging.getLogger("ircd.oper")


def oper_source(client: Client) -> str:
    """Whose OPER failures count together: the address, or one attached client (all of
    them share the embedder's address, and one radio user must not lock out the rest)."""
    if client.in_process:
        return f"in-process:{client.account or client.nick}"
    return source_of(client.ip)


def oper_network(client: Client) -> str:
    """The network whose other sources a failure ranks behind (`ircd.passwords`)."""
    return "" if client.in_process else network_of(client.ip)


def oper(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """OPER <name> <password>

    Gains IRC operator status. The password is checked against an Argon2id hash.
    """
    name, password = msg.params[0], msg.params[1]
    source = oper_source(client)
    wait = server.oper_penalties.wait(source, server.clock())
    if wait > 0:
        # No check at all while the address waits: guessing costs time, not our CPU.
        # The notice is the log line (INFO, once a window per source: `ircd.snomask`).
        log.debug("OPER %r from %s (%s) refused: penalty", name, client.name, client.ip)
        snotice(
            server,
            "o",
            f"OPER {name!r} by {address(client)} refused: penalty",
            kind="failed",  # one kind with the failures: a guesser's attempts, checked or not
            source=source,
        )
        text = f"Password incorrect (too many failures: wait {math.ceil(wait)} seconds)"
        rb.numeric(n.ERR_PASSWDMISMATCH, text)
        return None
    block = server.find_oper(name)
    # A block whose mask does not match fails exactly like a wrong password (after the
    # same hash check), so the reply tells nothing about which names or hosts exist.
    allowed = block is not None and (
        block.mask is None or block.mask.matches(server.subject(client))
    )
    # The Argon2id check takes tens of milliseconds: it runs in a worker thread and the
    # client's later commands wait for it (the server pauses this client's input).
    return _finish_oper(
        server, client, name, block.password_hash if block else None, password, allowed
    )


async def _finish_oper(
    server: Context,
    client: Client,
    name: str,
    password_hash: str | None,
    password: str,
    allowed: bool,
) -> None:
    source, network = oper_source(client), oper_network(client)
    good = await server.oper_passwords.verify(password_hash, password, source, network)
    ok = good and allowed
    if client.closed:
        return
    rb = server.replies(client)
    if ok:
        snotice(server, "o", f"{address(client)} is now operator {name}")  # to the others
        server.set_oper(client, name)  # with snomask.DEFAULT (MODE +s changes it)
        rb.numeric(n.RPL_YOUREOPER, "You are now an IRC operator")
        rb.add(Message(source=client.prefix, command="MODE", params=(client.name, "+o")))
    else:
        # The log says why; the client only learns that it failed.
        why = "the block's mask does not match" if good else "bad name or password"
        log.debug("failed OPER %r from %s (%s): %s", name, client.name, client.ip, why)
        text = f"Failed OPER {name!r} by {address(client)}: {why}"
        snotice(server, "o", text, kind="failed", source=oper_source(client))
        if good:  # a wrong password was recorded by `verify` already
            server.oper_passwords.failed(source, network)
        rb.numeric(n.ERR_PASSWDMISMATCH, "Password incorrect")
    rb.flush()


def audit(server: Context, client: Client, action: str, result: str) -> None:
    """Hand an operator action to the embedder's audit trail, if it keeps one."""
    record = server.control.audit
    if record is not None:
        record(OperAction(client.name, client.oper or "", client.ip, action, result))


def kill(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """KILL <nick> :<reason>

    Disconnects a user (operators only).
    """
    target = server.find_target(msg.params[0])
    reason = msg.params[1][: server.config.limits.kicklen]
    if target is None:
        rb.numeric(n.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        audit(server, client, f"KILL {msg.params[0]}: {reason}", "no such nick")
        return
    if target.service:
        rb.numeric(n.ERR_NOPRIVILEGES, f"Permission Denied - {target.name} is a service")
        audit(server, client, f"KILL {target.name}: {reason}", "refused: a service")
        return
    audit(server, client, f"KILL {target.name}: {reason}", "killed")
    snotice(server, "k", f"{actor(client)} killed {address(target)}: {reason}", rb)
    server.send(target, Message(source=client.prefix, command="KILL", params=(target.name, reason)))
    server.disconnect(target, f"Killed ({client.name} ({reason}))")
