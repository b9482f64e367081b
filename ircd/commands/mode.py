"""MODE for channels (o v; b e I lists; k l; C M R T i m n s t) and users (i w B s, -o)."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd import snomask
from ircd.chanlists import LIST_MODES, ListEntry, normalize_mask
from ircd.channel import FLAG_MODES, STATUS_MODES, Channel
from ircd.isupport import KEYLEN, MAX_MODES
from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer


def mode(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """MODE <target> [<modestring> [<argument>...]]

    Shows or changes the modes of a channel or of yourself.
    """
    if msg.params[0].startswith("#"):
        _channel_mode(server, client, msg, rb)
    else:
        _user_mode(server, client, msg, rb)


def _channel_mode(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
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
    modestring = msg.params[1]
    if not channel.is_op(client):
        # Anyone who can see the channel may list its bans ("MODE #c b", which irssi
        # sends on join); exceptions and invite exceptions are for operators.
        queried = modestring.lstrip("+")
        if len(msg.params) == 2 and queried == "b":
            if client in channel.members or not channel.secret:
                _send_list(channel, "b", rb)
            else:
                rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
            return
        rb.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    changes = _apply(server, client, channel, modestring, list(msg.params[2:]), rb)
    if changes:
        server.fanout(
            channel.members,
            Message(source=client.prefix, command="MODE", params=(channel.name, *_format(changes))),
        )


_LISTS: Final = MappingProxyType(
    {
        "b": (n.RPL_BANLIST, n.RPL_ENDOFBANLIST, "End of channel ban list"),
        "e": (n.RPL_EXCEPTLIST, n.RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
        "I": (n.RPL_INVITELIST, n.RPL_ENDOFINVITELIST, "End of channel invite list"),
    }
)


def _send_list(channel: Channel, letter: str, rb: ReplyBuffer) -> None:
    item, end, text = _LISTS[letter]
    for entry in channel.lists.entries(letter):
        rb.numeric(item, channel.name, entry.mask, entry.set_by, str(int(entry.set_at)))
    rb.numeric(end, channel.name, text)


def _apply(
    server: Context,
    client: Client,
    channel: Channel,
    modestring: str,
    args: list[str],
    rb: ReplyBuffer,
) -> list[tuple[str, str, str | None]]:
    """Apply what can be applied; return the effective changes as (sign, letter, argument)."""
    changes: list[tuple[str, str, str | None]] = []
    listed: set[str] = set()
    sign = "+"
    with_param = 0
    for letter in modestring:
        if letter in "+-":
            sign = letter
            continue
        on = sign == "+"
        if letter in LIST_MODES:
            if not args:
                if letter not in listed:  # "MODE #c b": show the list, once per letter
                    listed.add(letter)
                    _send_list(channel, letter, rb)
                continue
            with_param += 1
            if with_param > MAX_MODES:
                break
            change = _change_list(server, client, channel, letter, on, args.pop(0), rb)
            if change is not None:
                changes.append((sign, letter, change))
            continue
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
                # JOIN could not send it: empty, or with a space, comma or leading ':'.
                if not key or len(key) > KEYLEN or any(c in key for c in " ,") or key[0] == ":":
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


def _change_list(
    server: Context,
    client: Client,
    channel: Channel,
    letter: str,
    on: bool,
    raw: str,
    rb: ReplyBuffer,
) -> str | None:
    """Add or remove one list entry; return the mask as applied, or None if nothing changed."""
    mask = normalize_mask(raw)
    if mask is None:
        rb.numeric(n.ERR_INVALIDMODEPARAM, channel.name, letter, raw, "Invalid mask")
        return None
    if not on:
        removed = channel.lists.remove(letter, mask, server.fold)
        return removed.mask if removed is not None else None
    if channel.lists.has(letter, mask, server.fold):
        return None
    if len(channel.lists) >= server.config.limits.max_list_entries:
        rb.numeric(n.ERR_BANLISTFULL, channel.name, mask, "Channel list is full")
        return None
    entry = ListEntry(mask, client.prefix, server.wallclock())
    return mask if channel.lists.add(letter, entry, server.fold) else None


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


def _user_mode(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
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
    args = list(msg.params[2:])
    sign = "+"
    unknown = False
    for letter in msg.params[1]:
        if letter in "+-":
            sign = letter
        elif letter == "s":
            # Server notice mask (InspIRCd style): +s [<+letters-letters>], -s; opers only.
            arg = args.pop(0) if args and sign == "+" else None
            if client.oper is None:
                rb.numeric(n.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
                continue
            before = client.snomask
            if sign == "-":
                client.snomask = ""
            elif arg is not None:
                client.snomask = snomask.apply(before, arg)
            elif not before:
                client.snomask = snomask.DEFAULT
            if client.snomask:
                client.modes.add("s")
            else:
                client.modes.discard("s")
            if bool(before) != bool(client.snomask):
                changes.append(("+" if client.snomask else "-", letter, None))
            if client.snomask:
                rb.numeric(n.RPL_SNOMASK, "+" + client.snomask, "Server notice mask")
        elif letter == "i":
            if (sign == "+") != client.invisible:
                server.set_invisible(client, sign == "+")
                changes.append((sign, letter, None))
        elif letter in "wB":  # wallops, bot: each user sets them freely
            if (sign == "+") != (letter in client.modes):
                if sign == "+":
                    client.modes.add(letter)
                else:
                    client.modes.discard(letter)
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
