"""REDACT (IRCv3 draft/message-redaction): taking back a message.

Who may: the sender (same account, or the same nick!user@host), a channel operator
in their channel, an IRC operator anywhere. The message must still be in the history,
since that is the only way to know who sent it: otherwise UNKNOWN_MSGID. Redacted
messages leave the history; clients with the capability get the REDACT, others nothing
(the spec's fallback is optional and would be noise on a slow radio link).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.history import dm_key
from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.history import Entry
    from ircd.replies import ReplyBuffer

CAP: Final = "draft/message-redaction"


def redact(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """REDACT <target> <msgid> [:<reason>]

    Deletes a message you sent (or, as a channel operator, one sent to your channel),
    for clients that support draft/message-redaction.
    """
    if CAP not in client.caps:
        rb.numeric(n.ERR_UNKNOWNCOMMAND, "REDACT", "Unknown command")
        return
    target, msgid = msg.params[0], msg.params[1]
    reason = msg.params[2][: server.config.limits.kicklen] if len(msg.params) > 2 else ""
    channel = server.find_channel(target) if target.startswith("#") else None
    if channel is not None:
        if client not in channel.members:
            rb.fail("REDACT", "INVALID_TARGET", target, text="You are not on that channel")
            return
        key = channel.folded
        recipients = list(channel.members)
        moderator = channel.is_op(client)
    elif not target.startswith("#") and server.valid_nick(target):
        key = dm_key(server.fold(client.name), server.fold(target))
        other = server.find_nick(target)
        recipients = [client] if other is None else [client, other]
        moderator = False
    else:
        rb.fail("REDACT", "INVALID_TARGET", target, text="You cannot delete messages there")
        return
    entry = server.history.find(key, msgid)
    if entry is None:
        rb.fail("REDACT", "UNKNOWN_MSGID", target, msgid, text="No such message, or too old")
        return
    if not (moderator or client.oper is not None or _sent_by(entry, client)):
        rb.fail(
            "REDACT",
            "REDACT_FORBIDDEN",
            target,
            msgid,
            text="You are not authorised to delete this message",
        )
        return
    server.history.remove(key, msgid)
    params = (target, msgid, reason) if reason else (target, msgid)
    out = Message(source=client.prefix, command="REDACT", params=params, tags=server.relay_tags())
    server.fanout((c for c in recipients if CAP in c.caps), out)


def _sent_by(entry: Entry, client: Client) -> bool:
    sender = entry.message
    account = sender.tags.get("account")
    if account is not None and client.account is not None:
        return account == client.account
    return sender.source == client.prefix
