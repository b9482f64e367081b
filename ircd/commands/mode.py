"""MODE for channels (o v k l m n s t i) and users (i, and -o to drop operator status)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ircd import numerics as n
from ircd.channel import FLAG_MODES, STATUS_MODES, Channel
from ircd.isupport import KEYLEN, MAX_MODES
from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.replies import ReplyBuffer
    from ircd.server import Server


def mode(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """MODE <target> [<modestring> [<argument>...]]

    Shows or changes the modes of a channel or of yourself.
    """
    if msg.params[0].startswith("#"):
        _channel_mode(server, client, msg, rb)
    else:
        _user_mode(server, client, msg, rb)


def _channel_mode(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    channel = server.find_channel(msg.params[0])
    if channel is None:
        rb.numeric(n.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if len(msg.params) == 1:
        rb.numeric(
            n.RPL_CHANNELMODEIS, channel.name, *channel.mode_string(client in channel.members)
        )
        rb.numeric(n.RPL_CREATIONTIME, channel.name, str(int(channel.created)))
        return
    if not channel.is_op(client):
        rb.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    changes = _apply(server, channel, msg.params[1], list(msg.params[2:]), rb)
    if changes:
        server.fanout(
            channel.members,
            Message(source=client.prefix, command="MODE", params=(channel.name, *_format(changes))),
        )


def _apply(
    server: Server, channel: Channel, modestring: str, args: list[str], rb: ReplyBuffer
) -> list[tuple[str, str, str | None]]:
    """Apply what can be applied; return the effective changes as (sign, letter, argument)."""
    changes: list[tuple[str, str, str | None]] = []
    sign = "+"
    with_param = 0
    for letter in modestring:
        if letter in "+-":
            sign = letter
            continue
        on = sign == "+"
        if letter in STATUS_MODES or letter in "kl":
            needs_arg = letter in STATUS_MODES or on
            if needs_arg and not args:
                rb.numeric(
                    n.ERR_INVALIDMODEPARAM, channel.name, letter, "*", "Missing mode parameter"
                )
                continue
            with_param += 1
            if with_param > MAX_MODES:
                break  # the rest is ignored, as ISUPPORT MODES announces
        if letter in STATUS_MODES:
            nick = args.pop(0)
            target = server.find_nick(nick)
            if target is None:
                rb.numeric(n.ERR_NOSUCHNICK, nick, "No such nick/channel")
            elif target not in channel.members:
                rb.numeric(
                    n.ERR_USERNOTINCHANNEL, nick, channel.name, "They aren't on that channel"
                )
            elif channel.set_status(target, letter, on):
                changes.append((sign, letter, target.name))
        elif letter == "k":
            if on:
                key = args.pop(0)
                if not key or len(key) > KEYLEN or "," in key or key.startswith(":"):
                    rb.numeric(n.ERR_INVALIDKEY, channel.name, "Key is not well-formed")
                    continue
                channel.key = key
                changes.append((sign, letter, key))
            else:
                if args:
                    args.pop(0)  # "-k key": the key is optional and not checked
                if channel.key is not None:
                    channel.key = None
                    changes.append((sign, letter, "*"))
        elif letter == "l":
            if on:
                raw = args.pop(0)
                if not raw.isdigit() or not 0 < int(raw) < 1_000_000:
                    rb.numeric(n.ERR_INVALIDMODEPARAM, channel.name, "l", raw, "Invalid limit")
                    continue
                channel.limit = int(raw)
                changes.append((sign, letter, raw))
            elif channel.limit is not None:
                channel.limit = None
                changes.append((sign, letter, None))
        elif letter in FLAG_MODES:
            if on != (letter in channel.modes):
                if on:
                    channel.modes.add(letter)
                else:
                    channel.modes.discard(letter)
                changes.append((sign, letter, None))
        else:
            rb.numeric(n.ERR_UNKNOWNMODE, letter, "is unknown mode char to me")
    return changes


def _format(changes: list[tuple[str, str, str | None]]) -> tuple[str, ...]:
    """("+", "o", "nick"), ("-", "t", None) -> ("+o-t", "nick")."""
    letters = ""
    args: list[str] = []
    sign = ""
    for change_sign, letter, arg in changes:
        if change_sign != sign:
            letters += change_sign
            sign = change_sign
        letters += letter
        if arg is not None:
            args.append(arg)
    return (letters, *args)


def _user_mode(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    if server.fold(msg.params[0]) != server.fold(client.name):
        target = server.find_nick(msg.params[0])
        if target is None:
            rb.numeric(n.ERR_NOSUCHNICK, msg.params[0], "No such nick/channel")
        else:
            rb.numeric(n.ERR_USERSDONTMATCH, "Can't change mode for other users")
        return
    if len(msg.params) == 1:
        rb.numeric(n.RPL_UMODEIS, "+" + "".join(sorted(client.modes)))
        return
    changes: list[tuple[str, str, str | None]] = []
    sign = "+"
    unknown = False
    for letter in msg.params[1]:
        if letter in "+-":
            sign = letter
        elif letter == "i":
            if (sign == "+") != client.invisible:
                server.set_invisible(client, sign == "+")
                changes.append((sign, letter, None))
        elif letter == "o":
            # +o only comes from OPER; -o drops operator status.
            if sign == "-" and client.oper is not None:
                server.set_oper(client, None)
                changes.append((sign, letter, None))
        else:
            unknown = True
    if unknown:
        rb.numeric(n.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    if changes:
        rb.add(
            Message(source=client.prefix, command="MODE", params=(client.name, *_format(changes)))
        )
