"""MODE for channels (o v; b e I lists; k l; C M R T i m n s t) and users (i w B s, -o)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd import snomask
from ircd.chanlists import LIST_MODES, ListEntry, normalize_mask
from ircd.channel import FLAG_MODES, STATUS_MODES, Channel
from ircd.isupport import KEYLEN, MAX_MODES
from ircd.modelines import Change, mode_messages
from ircd.protocol import MAX_BODY, Message

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
    # Over as many lines as 512 bytes need (`ircd.modelines`), in order.
    for line in mode_messages(client.prefix, channel.name, changes, client.tags()):
        server.fanout(channel.members, line)


_LISTS: Final = MappingProxyType(
    {
        "b": (n.RPL_BANLIST, n.RPL_ENDOFBANLIST, "End of channel ban list"),
        "e": (n.RPL_EXCEPTLIST, n.RPL_ENDOFEXCEPTLIST, "End of channel exception list"),
        "I": (n.RPL_INVEXLIST, n.RPL_ENDOFINVEXLIST, "End of channel invite list"),
    }
)


def _send_list(channel: Channel, letter: str, rb: ReplyBuffer) -> None:
    item, end, text = _LISTS[letter]
    head = f":{rb.server.name} {item} {rb.client.name} {channel.name} "
    for entry in channel.lists.entries(letter):
        when = str(int(entry.set_at))
        setter = entry.set_by
        # Long names (nicklen, channellen raised) can pass 512 bytes: the setter's nick
        # alone then, as the line's other parts cannot be shortened.
        if len(f"{head}{entry.mask} {setter} {when}\r\n".encode()) > MAX_BODY:
            setter = setter.split("!", 1)[0]
        rb.numeric(item, channel.name, entry.mask, setter, when)
    rb.numeric(end, channel.name, text)


#: Letters that take a parameter (lists and statuses always, k and l when set): each
#: counts toward ISUPPORT MODES.
_COUNTED: Final = LIST_MODES + STATUS_MODES + "kl"
#: Error numerics one MODE line may draw from letters that are not applied (unknown,
#: missing a parameter, operators only): `+lllll...` drew one per letter (the hostile
#: review's finding 10). Those of applied letters are bounded by MAX_MODES already.
MAX_REFUSALS: Final = 8


class _Refusals:
    """The errors of one MODE line: each numeric once per letter, MAX_REFUSALS in all."""

    __slots__ = ("_rb", "_told")

    def __init__(self, rb: ReplyBuffer) -> None:
        self._rb = rb
        self._told: set[tuple[str, str]] = set()

    def numeric(self, code: str, letter: str, *params: str) -> None:
        if (code, letter) in self._told or len(self._told) >= MAX_REFUSALS:
            return
        self._told.add((code, letter))
        self._rb.numeric(code, *params)


def _apply(
    server: Context,
    client: Client,
    channel: Channel,
    modestring: str,
    args: list[str],
    rb: ReplyBuffer,
) -> list[Change]:
    """Apply what can be applied; return the effective changes as (sign, letter, argument)."""
    changes: list[Change] = []
    listed: set[str] = set()
    refusals = _Refusals(rb)
    sign = "+"
    with_param = 0
    for letter in modestring:
        if letter in "+-":
            sign = letter
            continue
        on = sign == "+"
        if letter in LIST_MODES and not args:
            if letter not in listed:  # "MODE #c b": show the list, once per letter
                listed.add(letter)
                _send_list(channel, letter, rb)
            continue
        if letter in _COUNTED:
            needs_arg = letter in LIST_MODES or letter in STATUS_MODES or on
            if needs_arg and not args:
                refusals.numeric(
                    n.ERR_INVALIDMODEPARAM,
                    letter,
                    channel.name,
                    letter,
                    "*",
                    "Missing mode parameter",
                )
                continue
            with_param += 1
            if with_param > MAX_MODES:
                break  # the rest is ignored, as ISUPPORT MODES announces
        setter = _SETTERS.get(letter)
        if setter is None:
            refusals.numeric(n.ERR_UNKNOWNMODE, letter, letter, "is unknown mode char to me")
            continue
        change = setter(server, client, channel, letter, on, args, rb)
        if change is not None:
            changes.append((sign, letter, None if isinstance(change, _Shown) else change))
    return changes


class _Shown(Enum):
    """A change that shows no argument (flags, -l); None from a setter: no change."""

    NO_ARG = "no argument"


_NO_ARG: Final = _Shown.NO_ARG


def _set_list(
    server: Context,
    client: Client,
    channel: Channel,
    letter: str,
    on: bool,
    args: list[str],
    rb: ReplyBuffer,
) -> str | _Shown | None:
    return _change_list(server, client, channel, letter, on, args.pop(0), rb)


def _set_status(
    server: Context,
    client: Client,
    channel: Channel,
    letter: str,
    on: bool,
    args: list[str],
    rb: ReplyBuffer,
) -> str | _Shown | None:
    nick = args.pop(0)
    target = server.find_target(nick)
    if target is None:
        rb.numeric(n.ERR_NOSUCHNICK, nick, "No such nick/channel")
    elif target not in channel.members:
        rb.numeric(n.ERR_USERNOTINCHANNEL, nick, channel.name, "They aren't on that channel")
    elif channel.set_status(target, letter, on):
        return target.name
    return None


def _set_key(
    server: Context,
    client: Client,
    channel: Channel,
    letter: str,
    on: bool,
    args: list[str],
    rb: ReplyBuffer,
) -> str | _Shown | None:
    if not on:
        if args:
            args.pop(0)  # "-k key": the key is optional and not checked
        if channel.key is None:
            return None
        channel.key = None
        return "*"
    key = args.pop(0)
    # JOIN could not send it: empty, or with a space, comma or leading ':'.
    if not key or len(key) > KEYLEN or any(c in key for c in " ,") or key[0] == ":":
        rb.numeric(n.ERR_INVALIDKEY, channel.name, "Key is not well-formed")
        return None
    channel.key = key
    return key


def _set_limit(
    server: Context,
    client: Client,
    channel: Channel,
    letter: str,
    on: bool,
    args: list[str],
    rb: ReplyBuffer,
) -> str | _Shown | None:
    if not on:
        if channel.limit is None:
            return None
        channel.limit = None
        return _NO_ARG
    raw = args.pop(0)
    if not raw.isdigit() or not 0 < int(raw) < 1_000_000:
        rb.numeric(n.ERR_INVALIDMODEPARAM, channel.name, "l", raw, "Invalid limit")
        return None
    channel.limit = int(raw)
    return raw


def _set_flag(
    server: Context,
    client: Client,
    channel: Channel,
    letter: str,
    on: bool,
    args: list[str],
    rb: ReplyBuffer,
) -> str | _Shown | None:
    if on == (letter in channel.modes):
        return None
    if on:
        channel.modes.add(letter)
    else:
        channel.modes.discard(letter)
    return _NO_ARG


_Setter = Callable[
    ["Context", "Client", Channel, str, bool, list[str], "ReplyBuffer"], "str | _Shown | None"
]
#: Channel mode letter -> what applies it: the argument to show, `_NO_ARG`, or None
#: when nothing changed (the client was told why, if there was a why).
_SETTERS: Final[Mapping[str, _Setter]] = MappingProxyType(
    {
        **dict.fromkeys(FLAG_MODES, _set_flag),
        "l": _set_limit,
        "k": _set_key,
        **dict.fromkeys(STATUS_MODES, _set_status),
        **dict.fromkeys(LIST_MODES, _set_list),
    }
)


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
    changes: list[Change] = []
    args = list(msg.params[2:])
    refusals = _Refusals(rb)
    sign = "+"
    unknown = False
    snomask = False
    for letter in msg.params[1]:
        if letter in "+-":
            sign = letter
            continue
        if letter == "s":
            if client.oper is None:
                refusals.numeric(
                    n.ERR_NOPRIVILEGES, "s", "Permission Denied- You're not an IRC operator"
                )
                continue
            if sign == "+" and args:
                if snomask:
                    break  # one +s with its letters per line (it counts toward MODES)
                snomask = True
            change = _set_snomask(client, sign, args)
        elif letter in "iwBo":
            change = _set_user_flag(server, client, sign, letter)
        else:
            unknown = True
            continue
        if change is not None:
            changes.append(change)
    if unknown:
        rb.numeric(n.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag")
    if client.snomask and "s" in msg.params[1] and client.oper is not None:
        rb.numeric(n.RPL_SNOMASK, "+" + client.snomask, "Server notice mask")
    for line in mode_messages(client.prefix, client.name, changes, {}):
        rb.add(line)


def _set_snomask(client: Client, sign: str, args: list[str]) -> Change | None:
    """Server notice mask (InspIRCd style): +s [<+letters-letters>], -s; opers only (the
    caller checked), shown once the line is done."""
    arg = args.pop(0) if args and sign == "+" else None
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
    if bool(before) == bool(client.snomask):
        return None
    return ("+" if client.snomask else "-", "s", None)


def _set_user_flag(server: Context, client: Client, sign: str, letter: str) -> Change | None:
    """User modes i, w, B (each user sets them freely) and -o (drops operator status)."""
    on = sign == "+"
    if letter == "i":
        if on == client.invisible:
            return None
        server.set_invisible(client, on)
    elif letter == "o":
        # +o only comes from OPER; -o drops operator status.
        if on or client.oper is None:
            return None
        server.set_oper(client, None)
    elif on == (letter in client.modes):
        return None
    elif on:
        client.modes.add(letter)
    else:
        client.modes.discard(letter)
    return (sign, letter, None)
