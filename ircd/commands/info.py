"""Queries about users and the server: WHO, WHOIS, LUSERS, MOTD, VERSION, ISON, USERHOST."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ircd import metadata
from ircd import numerics as n
from ircd.channel import prefix_for
from ircd.globs import Glob
from ircd.isupport import VERSION
from ircd.protocol import Message
from ircd.welcome import send_lusers, send_motd

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircd.channel import Channel
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

#: WHO replies at most this many users for a mask (a channel lists all its members).
MAX_WHO_RESULTS: Final = 200


def who(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """WHO <mask> [%<fields>[,<token>]]

    Lists the members of a channel, or the visible users whose nick matches a mask.
    With WHOX fields (any of tcuihsnfdlaor) each reply is a 354 with just those.
    """
    mask = msg.params[0]
    whox = _whox(msg.params[1]) if len(msg.params) > 1 and msg.params[1].startswith("%") else None
    # +i hides a user from those who share no channel with them, except for a query
    # naming them exactly (Modern IRC, "WHO"); the peer set is built once, when needed.
    if mask.startswith("#"):
        _who_channel(server, client, rb, mask, whox)
    else:
        _who_users(server, client, rb, mask, whox)
    rb.numeric(n.RPL_ENDOFWHO, mask, "End of /WHO list")


def _who_channel(
    server: Context, client: Client, rb: ReplyBuffer, mask: str, whox: tuple[str, str] | None
) -> None:
    channel = server.find_channel(mask)
    if channel is None:
        return
    member = client in channel.members
    if not member and channel.secret:
        return
    shared: set[Client] | None = None
    for user, status in channel.members.items():
        if not member and user.invisible:
            if shared is None:
                shared = set(server.peers(client))
            if user not in shared:
                continue
        _who_reply(server, client, rb, user, channel.name, status, whox)


def _who_users(
    server: Context, client: Client, rb: ReplyBuffer, mask: str, whox: tuple[str, str] | None
) -> None:
    wanted = Glob(server.fold(mask))  # split once, matched against every user
    exact = server.find_nick(mask)
    shared: set[Client] | None = None
    count = 0
    for user in [exact] if exact is not None else list(server.nicks.values()):
        if count >= MAX_WHO_RESULTS:
            break
        if not user.registered or not wanted.match(server.fold(user.name)):
            continue
        if user.invisible and user is not client and user is not exact:
            if shared is None:
                shared = set(server.peers(client))
            if user not in shared:
                continue
        channel = next(iter(user.channels.values()), None)
        name = channel.name if channel is not None and not channel.secret else "*"
        status = channel.members[user] if channel is not None and name != "*" else ""
        _who_reply(server, client, rb, user, name, status, whox)
        count += 1


#: WHOX fields in the order replies carry them (IRCv3 WHOX).
_WHOX_ORDER: Final = "tcuihsnfdlaor"


def _whox(spec: str) -> tuple[str, str]:
    """ "%cnuf,42" -> ("cnuf" in canonical order, "42"); the token is at most 3 digits."""
    fields, _, token = spec[1:].partition(",")
    token = token if token.isdigit() and len(token) <= 3 else "0"
    return "".join(f for f in _WHOX_ORDER if f in fields), token


def _who_reply(
    server: Context,
    client: Client,
    rb: ReplyBuffer,
    user: Client,
    channel: str,
    status: str,
    whox: tuple[str, str] | None = None,
) -> None:
    flags = ("G" if user.away is not None else "H") + ("*" if user.oper else "")
    if "B" in user.modes:
        flags += "B"
    flags += prefix_for(status, "multi-prefix" in client.caps)
    if whox is not None:
        # Addresses behind a cloak are for the user themself and for operators only.
        see_ip = client is user or client.oper is not None or user.host == user.realhost
        values = {
            "t": whox[1],
            "c": channel,
            "u": user.user or "*",
            "i": user.ip if see_ip else "255.255.255.255",
            "h": user.host,
            "s": server.name,
            "n": user.name,
            "f": flags,
            "d": "0",
            "l": str(int(server.clock() - user.last_active)),
            "a": user.account or "0",
            "o": "n/a",
            "r": user.realname,
        }
        rb.numeric(n.RPL_WHOSPCRPL, *(values[f] for f in whox[0]))
        return
    rb.numeric(
        n.RPL_WHOREPLY,
        channel,
        user.user or "*",
        user.host,
        server.name,
        user.name,
        flags,
        f"0 {user.realname}",
    )


def whois(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """WHOIS [<server>] <nick>

    Shows who a user is, where they are, and how long they have been idle.
    """
    nick = msg.params[-1]
    user = server.find_target(nick)
    if user is None:
        rb.numeric(n.ERR_NOSUCHNICK, nick, "No such nick/channel")
        rb.numeric(n.RPL_ENDOFWHOIS, nick, "End of /WHOIS list")
        return
    rb.numeric(n.RPL_WHOISUSER, user.name, user.user or "*", user.host, "*", user.realname)
    multi = "multi-prefix" in client.caps
    channels = (
        prefix_for(ch.members[user], multi) + ch.name for ch in visible_channels(client, user)
    )
    rb.numeric_list(n.RPL_WHOISCHANNELS, (user.name,), channels)
    rb.numeric(n.RPL_WHOISSERVER, user.name, server.name, server.config.network)
    if user.host != user.realhost and (client is user or client.oper is not None):
        # Only the user and operators see behind the cloak.
        rb.numeric(n.RPL_WHOISHOST, user.name, f"is connecting from *@{user.realhost} {user.ip}")
    if "B" in user.modes:
        rb.numeric(n.RPL_WHOISBOT, user.name, f"is a bot on {server.config.network}")
    if user.oper is not None:
        rb.numeric(n.RPL_WHOISOPERATOR, user.name, "is an IRC operator")
    if user.account is not None:
        rb.numeric(n.RPL_WHOISACCOUNT, user.name, user.account, "is logged in as")
    if user.away is not None:
        rb.numeric(n.RPL_AWAY, user.name, user.away)
    if user.tls:
        rb.numeric(n.RPL_WHOISSECURE, user.name, "is using a secure connection")
    if user.certfp is not None and (client is user or client.oper is not None):
        # As InspIRCd's sslinfo: the fingerprint is for the user and operators.
        text = f"has client certificate fingerprint {user.certfp}"
        rb.numeric(n.RPL_WHOISCERTFP, user.name, text)
    if client.oper is not None:
        details = getattr(server.hooks, "whois_for_opers", None)
        for line in details(user) if details is not None else ():
            rb.numeric(n.RPL_WHOISSPECIAL, user.name, line)
    metadata.whois(client, user, rb)
    idle = int(server.clock() - user.last_active)
    rb.numeric(
        n.RPL_WHOISIDLE, user.name, str(idle), str(int(user.signon)), "seconds idle, signon time"
    )
    rb.numeric(n.RPL_ENDOFWHOIS, user.name, "End of /WHOIS list")


def lusers(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """LUSERS

    Shows how many users, operators and channels there are.
    """
    send_lusers(server, rb)


def motd(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """MOTD

    Shows the message of the day.
    """
    send_motd(server, rb)


def version(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """VERSION

    Shows the server's version and the features it supports.
    """
    rb.numeric(n.RPL_VERSION, VERSION, server.name, "")
    server.send_isupport(rb)


def ison(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """ISON <nick>{ <nick>}

    Tells which of the nicks are online.
    """
    nicks = (word for param in msg.params for word in param.split())
    online = (user.name for nick in nicks if (user := server.find_nick(nick)) is not None)
    rb.numeric(n.RPL_ISON, " ".join(_unique(online)))


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def userhost(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """USERHOST <nick>{ <nick>}

    Shows user@host for up to five nicks.
    """
    replies = []
    for nick in msg.params[:5]:
        user = server.find_target(nick)
        if user is not None:
            oper = "*" if user.oper else ""
            away = "-" if user.away is not None else "+"
            replies.append(f"{user.name}{oper}={away}{user.user}@{user.host}")
    rb.numeric(n.RPL_USERHOST, " ".join(replies))


def visible_channels(client: Client, user: Client) -> list[Channel]:
    """Channels of `user` that `client` may see (not secret, or shared)."""
    return [ch for ch in user.channels.values() if not ch.secret or client in ch.members]
