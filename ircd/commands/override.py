"""Operator overrides and look-ups: SAJOIN, SAPART, SANICK, CHGHOST, GLOBOPS, CHECK.

As in InspIRCd (m_sajoin, m_sapart, m_sanick, m_chghost, m_globops, m_check): each
override acts on another user as if they had done it themselves, is announced to the
operators under snomask `a` ("*** ANNOUNCEMENT: sysop used SAJOIN to make bob join
#ham"), and is audited with the acting nick. Clients attached by the embedder (the
gateway's radio users, service and bulletin nicks) keep the nick the embedder gave
them: SANICK refuses them, as a services pseudo-client would be refused.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ircd import numerics as n
from ircd.commands.channel import force_join, leave
from ircd.commands.oper import audit
from ircd.masks import fold, glob_match, ip_in, parse_network
from ircd.notify import set_host
from ircd.protocol import Message
from ircd.replies import ReplyBuffer
from ircd.snomask import address, snotice

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context

#: A shown host: what a cloak or vhost may hold (letters, digits, '.', '-', ':', '/').
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:/_")
_HOSTLEN = 64


def _target(server: Context, nick: str, rb: ReplyBuffer) -> Client | None:
    target = server.find_target(nick)
    if target is None:
        rb.numeric(n.ERR_NOSUCHNICK, nick, "No such nick")
    return target


def _notice(server: Context, client: Client, rb: ReplyBuffer, text: str) -> None:
    rb.add(Message(source=server.name, command="NOTICE", params=(client.name, f"*** {text}")))


def _announce(server: Context, client: Client, text: str, rb: ReplyBuffer) -> None:
    snotice(server, "a", f"{client.name} (oper {client.oper}) {text}", rb)


def sajoin(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """SAJOIN <nick> <channel>{,<channel>}

    Makes a user join channels, past keys, limits, bans and invite-only (operators only).
    """
    target = _target(server, msg.params[0], rb)
    if target is None:
        return
    for name in (c for c in msg.params[1].split(",") if c):
        if not server.valid_channel(name):
            rb.numeric(n.ERR_NOSUCHCHANNEL, name, "No such channel")
            continue
        channel = server.find_channel(name)
        if channel is not None and target in channel.members:
            _notice(server, client, rb, f"{target.name} is already on {channel.name}")
            continue
        theirs = ReplyBuffer(server, target)
        force_join(server, target, name, theirs)
        theirs.flush()
        joined = server.find_channel(name)
        if joined is None or target not in joined.members:
            _notice(server, client, rb, f"{target.name} could not be made to join {name}")
            audit(server, client, f"SAJOIN {target.name} {name}", "refused")
            continue
        _announce(server, client, f"used SAJOIN to make {target.name} join {joined.name}", rb)
        audit(server, client, f"SAJOIN {target.name} {joined.name}", "done")


def sapart(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """SAPART <nick> <channel>{,<channel>} [:<reason>]

    Makes a user leave channels (operators only).
    """
    target = _target(server, msg.params[0], rb)
    if target is None:
        return
    reason = msg.params[2][: server.config.limits.kicklen] if len(msg.params) > 2 else ""
    for name in (c for c in msg.params[1].split(",") if c):
        channel = server.find_channel(name)
        if channel is None:
            rb.numeric(n.ERR_NOSUCHCHANNEL, name, "No such channel")
        elif target not in channel.members:
            rb.numeric(n.ERR_USERNOTINCHANNEL, target.name, channel.name,
                       "They aren't on that channel")  # fmt: skip
        else:
            shown = channel.name
            leave(server, target, channel, reason)
            _announce(server, client, f"used SAPART to make {target.name} part {shown}", rb)
            audit(server, client, f"SAPART {target.name} {shown}", "done")


def sanick(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """SANICK <nick> <new nick>

    Changes a user's nick (operators only); never a nick held by the application.
    """
    target = _target(server, msg.params[0], rb)
    if target is None:
        return
    new, old = msg.params[1], target.name
    refusal = None
    if target.in_process:
        refusal = f"{old} is the application's own client; its nick is not the server's to change"
    elif not server.valid_nick(new):
        refusal = f"{new} is not a valid nick"
    elif (holder := server.find_nick(new)) is not None and holder is not target:
        refusal = f"{new} is in use"
    elif (reserved := server.hooks.nick_reserved(target, new)) is not None:
        refusal = f"{new}: {reserved}"
    if refusal is not None:
        _notice(server, client, rb, f"SANICK refused: {refusal}")
        audit(server, client, f"SANICK {old} {new}", f"refused: {refusal}")
        return
    if new == old:
        return
    server.set_nick(target, new)
    _announce(server, client, f"used SANICK to change {old} to {new}", rb)
    audit(server, client, f"SANICK {old} {new}", "done")


def chghost(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """CHGHOST <nick> <host>

    Changes the host a user is shown with (operators only); bans still match the real one.
    """
    target = _target(server, msg.params[0], rb)
    if target is None:
        return
    host = msg.params[1]
    if target.in_process:  # the embedder's host says what its client is (a radio user's)
        _notice(
            server, client, rb, f"CHGHOST refused: {target.name} is the application's own client"
        )
        audit(server, client, f"CHGHOST {target.name} {host[:_HOSTLEN]}", "refused: in-process")
        return
    if not host or len(host) > _HOSTLEN or not set(host) <= _HOST_CHARS or host[0] in ":-":
        _notice(server, client, rb, f"CHGHOST refused: {host!r} is not a host name")
        audit(server, client, f"CHGHOST {target.name} {host[:_HOSTLEN]}", "refused: not a host")
        return
    set_host(server, target, target.user or "*", host)
    _announce(server, client, f"used CHGHOST to make the shown host of {target.name} {host}", rb)
    audit(server, client, f"CHGHOST {target.name} {host}", "done")


def globops(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """GLOBOPS :<text>

    A message to every operator whose snomask holds g (operators only).
    """
    snotice(server, "g", f"From {client.name}: {msg.params[0]}", rb)


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at)) + f" ({int(at)})"


def check(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """CHECK <nick>|<channel>|<host mask or address>

    Everything the server knows about a user, a channel, or who matches a mask
    (operators only), as InspIRCd's m_check: 304 lines between CHECK START and CHECK END.
    """
    what = msg.params[0]

    def line(text: str) -> None:
        rb.numeric(n.RPL_TEXT, f"CHECK {text}")

    line(f"START {what}")
    user = server.find_target(what)
    channel = server.find_channel(what) if server.valid_channel(what) else None
    if user is not None:
        _check_user(user, line)
    elif channel is not None:
        line(f"timestamp {_when(channel.created)}")
        if channel.topic:
            line(f"topic {channel.topic}")
            line(f"topic_setby {channel.topic_by}")
            line(f"topic_setat {_when(channel.topic_at)}")
        line(f"modes +{''.join(sorted(channel.modes))}")
        line(f"membercount {len(channel.members)}")
        for member, status in channel.members.items():
            line(f"member {status or '-'} {member.name} ({member.user}@{member.host}) "
                 f"{member.realname}")  # fmt: skip
    else:
        _check_mask(server, what, line)
    line(f"END {what}")


def _check_mask(server: Context, what: str, line: Callable[[str], None]) -> None:
    """Every registered user whose address or nick!user@host matches `what`."""
    network = parse_network(what)
    pattern = fold(what)
    matches = 0
    for c in list(server.clients.values()):
        if not c.registered:
            continue
        if network is not None:
            hit = ip_in(c.ip, network)
        else:
            hosts = {c.realhost, c.host, c.ip}
            hit = any(glob_match(pattern, fold(h)) for h in hosts) or any(
                glob_match(pattern, fold(f"{c.nick}!{c.user}@{h}")) for h in hosts
            )
        if hit:
            matches += 1
            line(f"match {matches} {c.nick}!{c.user}@{c.realhost} [{c.ip}]")
    line(f"matches {matches}")


def _check_user(user: Client, line: Callable[[str], None]) -> None:
    line(f"nuh {user.prefix}")
    line(f"realnuh {user.nick}!{user.user}@{user.realhost}")
    line(f"realname {user.realname}")
    line(f"modes +{''.join(sorted(user.modes))}")
    if user.oper is not None:
        line(f"opertype {user.oper}")
        line(f"snomasks +{user.snomask}")
    line(f"signon {_when(user.signon)}")
    line(f"onip {'in-process' if user.in_process else user.ip}")
    line(f"tls {'yes' if user.tls else 'no'}")
    if user.certfp is not None:
        line(f"certfp {user.certfp}")
    line(f"account {user.account or '*'}")
    if user.away is not None:
        line(f"awaymsg {user.away}")
    if user.channels:
        line("onchans " + " ".join(c.name for c in user.channels.values()))
    line(f"address {address(user)}")
