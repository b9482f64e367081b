"""Messages between users: PRIVMSG, NOTICE, TAGMSG, and AWAY."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.channel import STATUS_MODES, STATUS_PREFIXES
from ircd.history import Entry, dm_key
from ircd.isupport import MAX_TARGETS
from ircd.notify import audience
from ircd.protocol import MAX_BODY, Message, truncate_utf8, unchecked
from ircd.screening import screen, server_notice

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircd.channel import Channel
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

#: Bytes of a relayed `:source COMMAND target :text` line left for its four parts: CRLF
#: and the 5 bytes of ":", " ", " " and " :" around them take the rest.
_RELAY_ROOM: Final = MAX_BODY - 2 - 5
_PREFIX_TO_MODE: Final = MappingProxyType({p: m for m, p in STATUS_PREFIXES.items()})
_STATUS_CHARS: Final = "".join(STATUS_PREFIXES.values())
#: ERR_CANNOTSENDTOCHAN reasons, by the mode letter `Channel.send_refusal` names.
_SEND_ERRORS: Final = MappingProxyType(
    {
        "n": "Cannot send to channel (+n): join it first",
        "m": "Cannot send to channel (+m): you need voice",
        "M": "Cannot send to channel (+M): log in to an account or get voice",
        "b": "Cannot send to channel (+b): you are banned",
        "m:": "Cannot send to channel (+b m:): you are muted",
        "T": "Cannot send to channel (+T): no NOTICEs",
        "C": "Cannot send to channel (+C): no CTCPs except ACTION",
    }
)


def privmsg(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PRIVMSG <target>{,<target>} :<text>

    Sends a message to users or channels (@#channel: to its operators only).
    """
    _deliver(server, client, msg, rb, "PRIVMSG")


def notice(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """NOTICE <target>{,<target>} :<text>

    Like PRIVMSG, but never answered automatically.
    """
    _deliver(server, client, msg, rb, "NOTICE")


def tagmsg(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """TAGMSG <target>{,<target>}

    Sends only tags (message-tags capability), e.g. typing notifications.
    """
    if "message-tags" in client.caps:
        _deliver(server, client, msg, rb, "TAGMSG")


def _deliver(server: Context, client: Client, msg: Message, rb: ReplyBuffer, command: str) -> None:
    quiet = command != "PRIVMSG"  # NOTICE and TAGMSG get no automatic error replies
    if not msg.params or not msg.params[0]:
        if not quiet:
            rb.numeric(n.ERR_NORECIPIENT, f"No recipient given ({command})")
        return
    text = msg.params[1] if len(msg.params) > 1 else ""
    if command != "TAGMSG" and not text:
        if not quiet:
            rb.numeric(n.ERR_NOTEXTTOSEND, "No text to send")
        return
    # Only client-only tags ("+...") travel, and only from clients that negotiated them.
    client_tags = (
        {k: v for k, v in msg.tags.items() if k[0] == "+"} if "message-tags" in client.caps else {}
    )
    if command == "TAGMSG" and not client_tags:
        return
    client.last_active = server.clock()
    targets = msg.params[0].split(",")
    if len(targets) > MAX_TARGETS:
        # Nothing is delivered: sending to the first few would be a surprise.
        if not quiet:
            why = f"Too many targets, at most {MAX_TARGETS}"
            rb.numeric(n.ERR_TOOMANYTARGETS, msg.params[0], why)
        return
    for target in targets:
        if client.closed:
            return  # a spamfilter killed the sender
        if not target:
            continue
        # One call per target either way: the channel case is the hot one.
        name = target.lstrip(_STATUS_CHARS)
        if name.startswith("#"):
            _to_channel(server, client, rb, command, target, name, text, client_tags, quiet)
        else:
            _to_user(server, client, rb, command, name, text, client_tags, quiet)


def _to_channel(
    server: Context,
    client: Client,
    rb: ReplyBuffer,
    command: str,
    target: str,
    name: str,
    text: str,
    client_tags: dict[str, str],
    quiet: bool,
) -> None:
    """Relay to channel `name` (`target` may carry STATUSMSG prefixes)."""
    statuses = target[: len(target) - len(name)]
    channel = server.find_channel(name)
    if channel is None:
        if not quiet:
            rb.numeric(n.ERR_NOSUCHNICK, target, "No such nick/channel")
        return
    refusal = channel.send_refusal(client, command, text)
    if refusal is not None:
        # NOTICE gets no automatic error (RFC 2812 3.3.2), except when NOTICE itself is
        # what the channel forbids (+T): the sender could not learn it any other way.
        if not quiet or refusal == "T":
            rb.numeric(n.ERR_CANNOTSENDTOCHAN, channel.name, _SEND_ERRORS[refusal])
        return
    if command != "TAGMSG":
        hit = screen(server, client, "channel", text, rb)
        if hit is not None:
            if not client.closed:
                reason = f"Message blocked: {hit.spec.reason}"
                rb.numeric(n.ERR_CANNOTSENDTOCHAN, channel.name, reason)
            return
    out = _outgoing(server, client, command, statuses + channel.name, text, client_tags)
    if not statuses and command != "TAGMSG":
        server.fanout_channel(channel, out, exclude=client)  # the common case
        _remember(server, channel.folded, out)
    else:
        server.fanout(_some_members(channel, statuses, command), out, exclude=client)
    if "echo-message" in client.caps:
        rb.add(out)


def _some_members(channel: Channel, statuses: str, command: str) -> Iterable[Client]:
    """The members a STATUSMSG (`statuses`: its prefixes) or a TAGMSG goes to."""
    recipients: Iterable[Client] = channel.members
    if statuses:
        # STATUSMSG: to members holding the lowest named status or better.
        lowest = max(STATUS_MODES.index(_PREFIX_TO_MODE[p]) for p in statuses)
        allowed = STATUS_MODES[: lowest + 1]
        recipients = (c for c, s in channel.members.items() if any(m in s for m in allowed))
    if command == "TAGMSG":
        recipients = (c for c in recipients if "message-tags" in c.caps)
    return recipients


def _to_user(
    server: Context,
    client: Client,
    rb: ReplyBuffer,
    command: str,
    name: str,
    text: str,
    client_tags: dict[str, str],
    quiet: bool,
) -> None:
    """Relay to the user `name` (or hand it to the embedder if absent)."""
    user = server.find_target(name)
    if user is None:
        if server.hooks.message_to_absent(client, name, command, text):
            return
        if not quiet:
            rb.numeric(n.ERR_NOSUCHNICK, name, "No such nick/channel")
        return
    if command != "TAGMSG":
        hit = screen(server, client, "private", text, rb)
        if hit is not None:
            if not client.closed:
                server_notice(server, rb, f"Message to {user.name} blocked: {hit.spec.reason}")
            return
    out = _outgoing(server, client, command, user.name, text, client_tags)
    # To yourself with echo-message, the echo is the one copy (it carries the label).
    to_self_echoed = user is client and "echo-message" in client.caps
    if (command != "TAGMSG" or "message-tags" in user.caps) and not to_self_echoed:
        server.send(user, out)
    if command != "TAGMSG":
        _remember(server, dm_key(server.fold(client.name), server.fold(user.name)), out)
    if command == "PRIVMSG" and user.away is not None:
        rb.numeric(n.RPL_AWAY, user.name, user.away)
    if "echo-message" in client.caps:
        rb.add(out)


def _outgoing(
    server: Context,
    client: Client,
    command: str,
    target: str,
    text: str,
    client_tags: dict[str, str],
) -> Message:
    tags = server.relay_tags({**client.tags(), **client_tags})
    if command == "TAGMSG":
        return Message(source=client.prefix, command=command, params=(target,), tags=tags)
    # Our prefix makes the relayed line longer than what the client sent: cut to fit 512.
    # No character takes more than 4 bytes of UTF-8, so most lines need no counting.
    source = client.prefix
    if 4 * (len(source) + len(command) + len(target) + len(text)) > _RELAY_ROOM:
        text = truncate_utf8(text, server.text_budget(client, command, target))
    # Parsed parts (the text is the last parameter of a parsed line, never empty here).
    return unchecked(source=source, command=command, params=(target, text), tags=tags)


def _remember(server: Context, key: str, out: Message) -> None:
    """Keep a relayed message for CHATHISTORY (`History.add` drops the client-only tags a
    replay does not need: a sender's 4 KB `+tag` goes live, never into the history)."""
    history = server.history
    if history.size:
        history.add(key, Entry(server.wallclock(), out.tags["msgid"], out))


def away(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """AWAY [:<message>]

    Marks you away with a message, or back without one.
    """
    text = msg.params[0][: server.config.limits.awaylen] if msg.params else ""
    if text:
        hit = screen(server, client, "away", text, rb)
        if hit is not None:
            if not client.closed:
                server_notice(server, rb, f"Away message blocked: {hit.spec.reason}")
            return
    client.away = text or None
    if text:
        rb.numeric(n.RPL_NOWAWAY, "You have been marked as being away")
    else:
        rb.numeric(n.RPL_UNAWAY, "You are no longer marked as being away")
    notify = Message(
        source=client.prefix,
        command="AWAY",
        params=(text,) if text else (),
        tags=client.tags(),
    )
    server.fanout(audience(server, client, "away-notify", self_too=False), notify)
