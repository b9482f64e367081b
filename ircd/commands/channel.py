"""Channel membership and topic: JOIN, PART, TOPIC, NAMES, KICK, INVITE, RENAME."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.channel import Channel, prefix_for
from ircd.isupport import MAX_TARGETS
from ircd.metadata import after_join as metadata_after_join
from ircd.notify import marker_message, owner_of
from ircd.protocol import Message
from ircd.readmarkers import CAP as READ_MARKER
from ircd.replies import ReplyBuffer
from ircd.screening import screen, server_notice

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context


def join(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """JOIN <channel>{,<channel>} [<key>{,<key>}]

    Joins channels, giving keys for those with +k. JOIN 0 leaves every channel.
    """
    if msg.params[0] == "0":
        for channel in list(client.channels.values()):
            _part(server, client, channel, "")
        return
    keys = msg.params[1].split(",") if len(msg.params) > 1 else []
    for i, name in enumerate(msg.params[0].split(",")):
        if name:
            _join_one(server, client, name, keys[i] if i < len(keys) else None, rb)


def force_join(server: Context, client: Client, name: str, rb: ReplyBuffer) -> None:
    """Join `client` to `name` past keys, limits, bans and invite-only (SAJOIN)."""
    _join_one(server, client, name, None, rb, override=True)


def _join_one(
    server: Context,
    client: Client,
    name: str,
    key: str | None,
    rb: ReplyBuffer,
    *,
    override: bool = False,
) -> None:
    if not server.valid_channel(name):
        rb.numeric(n.ERR_NOSUCHCHANNEL, name, "No such channel")
        return
    existing = server.find_channel(name)
    if existing is not None and client in existing.members:
        return
    if len(client.channels) >= server.config.limits.max_channels_per_client:
        rb.numeric(n.ERR_TOOMANYCHANNELS, name, "You have joined too many channels")
        return
    if existing is not None and not override:
        error = existing.join_error(client, server.fold(client.name), key)
        if error is not None:
            rb.numeric(error, existing.name, _JOIN_ERRORS[error])
            return
    opened = _open(server, client, name, existing, override, rb)
    if opened is None:
        return
    channel, created = opened
    server.add_member(channel, client, "o" if created else "")
    tags = client.tags()
    plain = Message(source=client.prefix, command="JOIN", params=(channel.name,), tags=tags)
    # extended-join: the account ("*" for none) and the real name ride along.
    extended = Message(
        source=client.prefix,
        command="JOIN",
        params=(channel.name, client.account or "*", client.realname),
        tags=tags,
    )
    server.fanout((c for c in channel.members if "extended-join" not in c.caps), plain)
    server.fanout((c for c in channel.members if "extended-join" in c.caps), extended)
    if client.away is not None:
        # away-notify: members learn at once that the newcomer is away (IRCv3 away-notify).
        away = Message(source=client.prefix, command="AWAY", params=(client.away,))
        server.fanout((c for c in channel.members if "away-notify" in c.caps), away, client)
    if READ_MARKER in client.caps:
        # draft/read-marker: after the JOIN, before RPL_ENDOFNAMES.
        marker = server.read_markers.get(owner_of(server, client), channel.folded)
        rb.add(marker_message(server, channel.name, marker))
    if channel.topic:
        send_topic(server, channel, rb)
    send_names(server, client, channel, rb)
    metadata_after_join(server, client, channel, rb)


def _open(
    server: Context,
    client: Client,
    name: str,
    existing: Channel | None,
    override: bool,
    rb: ReplyBuffer,
) -> tuple[Channel, bool] | None:
    """The channel `client` joins and whether it was created (None: refused, and the
    reply says why)."""
    if existing is not None:
        return existing, False
    limit = server.config.limits.max_channels_per_address
    if not override and not server.founders.may_found(client, limit):
        # One address must not hold the channel table (`ircd.founders`).
        rb.numeric(n.ERR_TOOMANYCHANNELS, name, "Too many channels created from your address")
        return None
    channel, created = server.get_or_create_channel(name)
    if channel is None:
        rb.numeric(n.ERR_TOOMANYCHANNELS, name, "Too many channels exist on this server")
        return None
    if created and not override:  # an operator's SAJOIN is not the target's doing
        server.founders.founded(channel.folded, client)
    return channel, created


_JOIN_ERRORS: Final = MappingProxyType(
    {
        n.ERR_BADCHANNELKEY: "Cannot join channel (+k)",
        n.ERR_CHANNELISFULL: "Cannot join channel (+l)",
        n.ERR_INVITEONLYCHAN: "Cannot join channel (+i)",
        n.ERR_BANNEDFROMCHAN: "Cannot join channel (+b)",
        n.ERR_NEEDREGGEDNICK: "Cannot join channel (+R): log in to an account first",
    }
)


def send_topic(server: Context, channel: Channel, rb: ReplyBuffer) -> None:
    rb.numeric(n.RPL_TOPIC, channel.name, channel.topic)
    rb.numeric(n.RPL_TOPICWHOTIME, channel.name, channel.topic_by, str(int(channel.topic_at)))


def send_names(server: Context, client: Client, channel: Channel, rb: ReplyBuffer) -> None:
    """RPL_NAMREPLY lines and RPL_ENDOFNAMES; outsiders see neither +s members nor +i users."""
    member = client in channel.members
    if member or not channel.secret:
        multi = "multi-prefix" in client.caps
        full = "userhost-in-names" in client.caps
        names = (
            prefix_for(status, multi) + (c.prefix if full else c.name)
            for c, status in channel.members.items()
            if member or not c.invisible
        )
        rb.numeric_list(n.RPL_NAMREPLY, ("@" if channel.secret else "=", channel.name), names)
    rb.numeric(n.RPL_ENDOFNAMES, channel.name, "End of /NAMES list")


def part(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PART <channel>{,<channel>} [:<reason>]

    Leaves channels.
    """
    reason = msg.params[1][: server.config.limits.kicklen] if len(msg.params) > 1 else ""
    # A blocked reason is dropped, the PART itself goes through (as in UnrealIRCd).
    if reason and screen(server, client, "part", reason, rb) is not None:
        if client.closed:
            return
        reason = ""
    for name in msg.params[0].split(","):
        channel = server.find_channel(name)
        if channel is None:
            rb.numeric(n.ERR_NOSUCHCHANNEL, name, "No such channel")
        elif client not in channel.members:
            rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        else:
            _part(server, client, channel, reason)


def leave(server: Context, client: Client, channel: Channel, reason: str) -> None:
    """`client` parts `channel`, members told (PART, SAPART)."""
    _part(server, client, channel, reason)


def _part(server: Context, client: Client, channel: Channel, reason: str) -> None:
    params = (channel.name, reason) if reason else (channel.name,)
    part_msg = Message(source=client.prefix, command="PART", params=params, tags=client.tags())
    server.fanout(channel.members, part_msg)
    server.remove_member(channel, client)


def topic(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """TOPIC <channel> [:<topic>]

    Shows the topic, or sets it (an empty topic clears it).
    """
    channel = server.find_channel(msg.params[0])
    if channel is None:
        rb.numeric(n.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    member = client in channel.members
    if len(msg.params) == 1:
        if not member and channel.secret:
            rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        elif channel.topic:
            send_topic(server, channel, rb)
        else:
            rb.numeric(n.RPL_NOTOPIC, channel.name, "No topic is set")
        return
    if not member:
        rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if "t" in channel.modes and not channel.is_op(client):
        rb.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    text = msg.params[1][: server.config.limits.topiclen]
    if text:
        hit = screen(server, client, "topic", text, rb)
        if hit is not None:
            if not client.closed:
                server_notice(server, rb, f"Topic blocked: {hit.spec.reason}")
            return
    channel.topic = text
    channel.topic_by = client.prefix
    channel.topic_account = client.account
    channel.topic_at = server.wallclock()
    server.fanout(
        channel.members,
        Message(
            source=client.prefix,
            command="TOPIC",
            params=(channel.name, channel.topic),
            tags=client.tags(),
        ),
    )


def names(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """NAMES [<channel>{,<channel>}]

    Lists who is on channels. Without a channel, lists nothing (the network may be big).
    """
    if not msg.params:
        rb.numeric(n.RPL_ENDOFNAMES, "*", "End of /NAMES list")
        return
    for name in msg.params[0].split(","):
        channel = server.find_channel(name)
        if channel is None:
            rb.numeric(n.RPL_ENDOFNAMES, name, "End of /NAMES list")
        else:
            send_names(server, client, channel, rb)


def kick(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """KICK <channel> <nick>{,<nick>} [:<reason>]

    Removes members from a channel (channel operators only).
    """
    channel = server.find_channel(msg.params[0])
    if channel is None:
        rb.numeric(n.ERR_NOSUCHCHANNEL, msg.params[0], "No such channel")
        return
    if client not in channel.members:
        rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if not channel.is_op(client):
        rb.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    reason = msg.params[2][: server.config.limits.kicklen] if len(msg.params) > 2 else client.name
    nicks = [nick for nick in msg.params[1].split(",") if nick]
    if len(nicks) > MAX_TARGETS:
        # All or nothing: kicking the first few of a list is a surprise (ISUPPORT TARGMAX).
        rb.numeric(n.ERR_TOOMANYTARGETS, msg.params[1], f"Too many targets, at most {MAX_TARGETS}")
        return
    for nick in nicks:
        target = server.find_target(nick)
        if target is None or target not in channel.members:
            rb.numeric(n.ERR_USERNOTINCHANNEL, nick, channel.name, "They aren't on that channel")
            continue
        kick_msg = Message(
            source=client.prefix,
            command="KICK",
            params=(channel.name, target.name, reason),
            tags=client.tags(),
        )
        server.fanout(channel.members, kick_msg)
        server.remove_member(channel, target)


def invite(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """INVITE [<nick> <channel>]

    Invites someone into a channel (past +i, +l and +R; only a channel operator may
    invite into a +i channel). With no parameters, lists the channels you are invited to.
    """
    if not msg.params:
        _invitations(server, client, rb)
        return
    if len(msg.params) < 2:
        rb.numeric(n.ERR_NEEDMOREPARAMS, "INVITE", "Not enough parameters")
        return
    nick, name = msg.params[0], msg.params[1]
    target = server.find_target(nick)
    if target is None:
        rb.numeric(n.ERR_NOSUCHNICK, nick, "No such nick/channel")
        return
    channel = server.find_channel(name)
    if channel is None:
        rb.numeric(n.ERR_NOSUCHCHANNEL, name, "No such channel")
        return
    if client not in channel.members:
        rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if "i" in channel.modes and not channel.is_op(client):
        rb.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    if target in channel.members:
        rb.numeric(n.ERR_USERONCHANNEL, target.name, channel.name, "is already on channel")
        return
    channel.invite(server.fold(target.name))
    rb.numeric(n.RPL_INVITING, target.name, channel.name)
    # invite-notify: other members who asked hear about it too.
    tags = client.tags()
    params = (target.name, channel.name)
    notify = Message(source=client.prefix, command="INVITE", params=params, tags=tags)
    server.fanout(
        (c for c in channel.members if "invite-notify" in c.caps and c is not client), notify
    )
    if target.away is not None:
        rb.numeric(n.RPL_AWAY, target.name, target.away)
    server.send(target, notify)


def _invitations(server: Context, client: Client, rb: ReplyBuffer) -> None:
    """RPL_INVITELIST for each channel `client` is invited to, then RPL_ENDOFINVITELIST
    (Modern IRC; the 336/337 pair of UnrealIRCd and Ergo, apart from +I's 346/347)."""
    folded = server.fold(client.name)
    for channel in server.channels.values():
        if folded in channel.invites:
            rb.numeric(n.RPL_INVITELIST, channel.name)
    rb.numeric(n.RPL_ENDOFINVITELIST, "End of /INVITE list")


RENAME_CAP: Final = "draft/channel-rename"


def rename(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """RENAME <channel> <new name> [:<reason>]

    Renames a channel, keeping its members, modes, lists, topic and history (channel
    operators only). Clients without draft/channel-rename see a PART and a JOIN.
    """
    old_name, new_name = msg.params[0], msg.params[1]
    reason = msg.params[2][: server.config.limits.kicklen] if len(msg.params) > 2 else ""
    channel = server.find_channel(old_name)
    if channel is None:
        rb.numeric(n.ERR_NOSUCHCHANNEL, old_name, "No such channel")
        return
    if client not in channel.members:
        rb.numeric(n.ERR_NOTONCHANNEL, channel.name, "You're not on that channel")
        return
    if not channel.is_op(client):
        rb.numeric(n.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator")
        return
    if not server.valid_channel(new_name):
        rb.fail("RENAME", "CANNOT_RENAME", channel.name, new_name, text="Invalid channel name")
        return
    holder = server.find_channel(new_name)
    if holder is not None and holder is not channel:
        rb.fail(
            "RENAME", "CHANNEL_NAME_IN_USE", channel.name, new_name, text="Channel already exists"
        )
        return
    if new_name == channel.name:
        return
    old = channel.name
    case_only = holder is channel  # the same name to the casemapping
    server.rename_channel(channel, new_name)
    notice = Message(source=client.prefix, command="RENAME", params=(old, new_name, reason))
    server.fanout((c for c in channel.members if RENAME_CAP in c.caps), notice)
    if case_only:
        return  # no fallback for a change of case (IRCv3 channel-rename)
    for member in [c for c in channel.members if RENAME_CAP not in c.caps]:
        # The fallback: the member leaves the old name and joins the new one.
        out = rb if member is client else ReplyBuffer(server, member)
        part_params = (old, reason) if reason else (old,)
        out.add(Message(source=member.prefix, command="PART", params=part_params))
        out.add(Message(source=member.prefix, command="JOIN", params=(channel.name,)))
        if channel.topic:
            send_topic(server, channel, out)
        send_names(server, member, channel, out)
        if out is not rb:
            out.flush()
