"""IRCv3 commands: SETNAME, MONITOR (with extended-monitor), CHATHISTORY and MARKREAD
(drafts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ircd import metadata
from ircd import numerics as n
from ircd.history import MAX_LIMIT, dm_key, parse_timestamp
from ircd.isupport import NAMELEN
from ircd.monitor import LIMIT
from ircd.notify import announce, marker_message, owner_of, set_realname
from ircd.protocol import Message
from ircd.screening import screen

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

_SUBCOMMANDS: Final = frozenset({"LATEST", "BEFORE", "AFTER", "AROUND", "BETWEEN", "TARGETS"})


def setname(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """SETNAME :<realname>

    Changes your real name (setname capability).
    """
    realname = msg.params[0]
    if "setname" not in client.caps:
        rb.numeric(n.ERR_UNKNOWNCOMMAND, "SETNAME", "Unknown command")
    elif not realname or len(realname) > NAMELEN:
        rb.fail("SETNAME", "INVALID_REALNAME", text="Realname is not valid")
    else:
        line = f"{client.nick}!{client.user}@{client.realhost}:{realname}"
        hit = screen(server, client, "user", line, rb)
        if hit is not None:
            if not client.closed:
                rb.fail("SETNAME", "INVALID_REALNAME", text=f"Realname blocked: {hit.spec.reason}")
            return
        set_realname(server, client, realname)


def monitor(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """MONITOR +|- <nick>{,<nick>} | C | L | S

    Tells you when nicks come online or go offline: add, remove, clear, list, status.
    """
    sub = msg.params[0]
    targets = [t for t in msg.params[1].split(",") if t] if len(msg.params) > 1 else []
    if sub == "+":
        added: list[str] = []
        seen: set[str] = set()
        for i, nick in enumerate(targets):
            folded = server.fold(nick)
            if not server.valid_nick(nick) or folded in seen:
                continue  # "a,A" is one nick: one status line
            seen.add(folded)
            if not server.monitors.add(client, folded):
                rb.numeric(
                    n.ERR_MONLISTFULL, str(LIMIT), ",".join(targets[i:]), "Monitor list is full."
                )
                break
            added.append(nick)
        _status(server, rb, added)
    elif sub == "-":
        for nick in targets:
            server.monitors.remove(client, server.fold(nick))
    elif sub.upper() == "C":
        server.monitors.clear(client)
    elif sub.upper() == "L":
        rb.numeric_list(n.RPL_MONLIST, (), list(client.monitoring), ",")
        rb.numeric(n.RPL_ENDOFMONLIST, "End of MONITOR list")
    elif sub.upper() == "S":
        _status(server, rb, list(client.monitoring))


def _status(server: Context, rb: ReplyBuffer, nicks: list[str]) -> None:
    online, offline = [], []
    for nick in nicks:
        user = server.find_nick(nick)
        if user is not None:
            online.append(user)
        else:
            offline.append(nick)
    if online:
        rb.numeric_list(n.RPL_MONONLINE, (), [user.prefix for user in online], ",")
        for user in online:  # draft/metadata-3: their values follow 730 (MUST)
            metadata.after_online(server, rb.client, user, rb)
    if offline:
        rb.numeric_list(n.RPL_MONOFFLINE, (), offline, ",")


def markread(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """MARKREAD <target> [timestamp=<time>]

    Gets, or moves forward, how far you have read <target> (draft/read-marker); every
    client of your account hears of a change.
    """
    if not msg.params:
        rb.fail("MARKREAD", "NEED_MORE_PARAMS", text="Missing parameters")
        return
    target = msg.params[0]
    if not (server.valid_channel(target) or server.valid_nick(target)):
        rb.fail("MARKREAD", "INVALID_PARAMS", target, text="Invalid target")
        return
    owner = owner_of(server, client)
    folded = server.fold(target)
    if len(msg.params) == 1:
        rb.add(marker_message(server, target, server.read_markers.get(owner, folded)))
        return
    raw = msg.params[1]
    at = parse_timestamp(raw.removeprefix("timestamp=")) if raw.startswith("timestamp=") else None
    if at is None:
        rb.fail("MARKREAD", "INVALID_PARAMS", raw, text="Invalid timestamp")
        return
    # Clamped to now: a marker in the future would hide messages not yet sent.
    now, moved = server.read_markers.advance(owner, folded, min(at, server.wallclock()))
    if moved:
        announce(server, owner, target, now)  # the sender's copy joins its replies
    else:
        rb.add(marker_message(server, target, now))  # older than stored: the stored one


def _ref(text: str) -> tuple[str, str] | None:
    kind, _, value = text.partition("=")
    return (kind, value) if kind in ("msgid", "timestamp") and value else None


def chathistory(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """CHATHISTORY <subcommand> <target> <reference> [<reference>] <limit>

    Replays messages (draft/chathistory): LATEST <target> *|<ref> <limit>,
    BEFORE/AFTER/AROUND <target> <ref> <limit>, BETWEEN <target> <ref> <ref> <limit>,
    TARGETS <timestamp> <timestamp> <limit>. A reference is msgid=<id> or timestamp=<time>.
    """
    sub = msg.params[0].upper()
    if sub not in _SUBCOMMANDS or "draft/chathistory" not in client.caps:
        rb.fail("CHATHISTORY", "INVALID_PARAMS", msg.params[0], text="Unknown subcommand")
        return
    params = msg.params[1:]
    wanted = 4 if sub in ("BETWEEN", "TARGETS") else 3
    if sub == "TARGETS":
        wanted = 3
    if len(params) < wanted or not params[-1].isdigit():
        rb.fail("CHATHISTORY", "INVALID_PARAMS", sub, text="Missing or bad parameters")
        return
    limit = min(int(params[-1]), MAX_LIMIT)
    if sub == "TARGETS":
        _targets(server, client, params, limit, rb)
        return
    target = params[0]
    key = _key(server, client, target)
    if key is None:
        rb.fail("CHATHISTORY", "INVALID_TARGET", sub, target, text="No such target")
        return
    ref = None if sub == "LATEST" and params[1] == "*" else _ref(params[1])
    end = _ref(params[2]) if sub == "BETWEEN" else None
    bad = (ref is None and not (sub == "LATEST" and params[1] == "*")) or (
        sub == "BETWEEN" and end is None
    )
    chosen = (
        None if bad else server.history.select(server.history.entries(key), sub, ref, end, limit)
    )
    if chosen is None:
        rb.fail("CHATHISTORY", "INVALID_PARAMS", sub, text="Unknown or malformed reference")
        return
    rb.batch("chathistory", (target,), [e.message for e in chosen])


def _key(server: Context, client: Client, target: str) -> str | None:
    """The history ring a client may read for `target`: a channel it is in, or a nick."""
    if target.startswith("#"):
        channel = server.find_channel(target)
        if channel is None or client not in channel.members:
            return None
        return channel.folded
    if not server.valid_nick(target):
        return None
    return dm_key(server.fold(client.name), server.fold(target))


def _targets(
    server: Context, client: Client, params: tuple[str, ...], limit: int, rb: ReplyBuffer
) -> None:
    start = parse_timestamp(params[0].removeprefix("timestamp="))
    end = parse_timestamp(params[1].removeprefix("timestamp="))
    if start is None or end is None:
        rb.fail("CHATHISTORY", "INVALID_PARAMS", "TARGETS", text="Bad timestamps")
        return
    me = server.fold(client.name)
    found: list[Message] = []
    for key, at in server.history.keys_between(start, end):
        if "\x00" in key:
            pair = key.split("\x00")
            if me not in pair:
                continue
            other = pair[1] if pair[0] == me else pair[0]
            user = server.find_nick(other)
            name = user.name if user is not None else other
        else:
            channel = server.channels.get(key)
            if channel is None or client not in channel.members:
                continue
            name = channel.name
        when = server.format_time(at)
        found.append(
            Message(source=server.name, command="CHATHISTORY", params=("TARGETS", name, when))
        )
    rb.batch("draft/chathistory-targets", (), found[:limit])
