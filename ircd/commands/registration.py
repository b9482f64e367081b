"""Connection registration and keep-alive: PASS, NICK, USER, CAP, PING, PONG, QUIT."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from ircd import metadata
from ircd import numerics as n
from ircd.caps import METADATA, cap_list, offered_caps
from ircd.isupport import USERLEN
from ircd.nickclaim import take_back
from ircd.protocol import Message
from ircd.replies import ReplyBuffer, safe_middle
from ircd.screening import screen

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.runner import Pending

_USERNAME_JUNK: Final = re.compile(r"[^A-Za-z0-9._\-]")
_REALNAME_MAX: Final = 100


def pass_(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PASS <password>

    Sets the connection password; it must come before NICK and USER.
    """
    if client.registered:
        rb.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    client.password = msg.params[0]


def nick(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """NICK <nickname>

    Chooses or changes your nickname.
    """
    if not msg.params or not msg.params[0]:
        rb.numeric(n.ERR_NONICKNAMEGIVEN, "No nickname given")
        return None
    new = msg.params[0]
    if not server.valid_nick(new):
        rb.numeric(n.ERR_ERRONEUSNICKNAME, new, "Erroneous nickname")
        return None
    if not take_back(server, client, new):
        if not client.registered:
            client.wanted_nick = new  # a login (SASL) may still take it back
        nick_in_use(client, new, "Nickname is already in use", rb)
        return None
    if new == client.nick:
        return None
    if client.registered:
        # A banned member could otherwise dodge the ban (and +m) by renaming.
        banned = next((ch for ch in client.channels.values() if ch.banned_member(client)), None)
        if banned is not None:
            rb.numeric(
                n.ERR_BANNICKCHANGE, banned.name, "Cannot change nickname while banned on channel"
            )
            return None
    # Before registration the check waits for `try_register`: SASL, which may give
    # the client the account a reserved nick belongs to, comes after NICK.
    reason = server.hooks.nick_reserved(client, new) if client.registered else None
    if reason is not None:
        nick_in_use(client, new, reason, rb, explain=True)
        return None
    hit = screen(server, client, "nick", new, rb)
    if hit is not None:
        if not client.closed:
            rb.numeric(n.ERR_ERRONEUSNICKNAME, new, f"Nickname blocked: {hit.spec.reason}")
        return None
    server.set_nick(client, new)
    return server.try_register(client, rb)


def nick_in_use(
    client: Client, nick: str, reason: str, rb: ReplyBuffer, *, explain: bool = False
) -> None:
    """433 for `nick`; before registration its target is "*" (the nick is not yours yet).

    `explain`: the reason also comes as a NOTICE, since WeeChat and irssi do not show the
    text of a 433 (they just try another nick), and a reserved nick deserves its why.
    """
    target = client.nick if client.registered and client.nick else "*"
    server = rb.server
    rb.add(
        Message(
            source=server.name,
            command=n.ERR_NICKNAMEINUSE,
            params=(target, safe_middle(nick), reason),
        )
    )
    if explain:
        rb.add(Message(source=server.name, command="NOTICE", params=(target, f"{nick}: {reason}")))


def user(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """USER <username> <mode> <unused> :<realname>

    Gives your username and real name during registration.
    """
    if client.registered or client.user is not None:
        rb.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return None
    if not msg.params[3] or not msg.params[0]:
        rb.numeric(n.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return None
    # No ident lookup is done, so the username is marked unverified with "~".
    username = _USERNAME_JUNK.sub("", msg.params[0])[: USERLEN - 1] or "user"
    client.user = "~" + username
    client.realname = msg.params[3][:_REALNAME_MAX] or username
    return server.try_register(client, rb)


def cap(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """CAP <subcommand> [:<capabilities>]

    Negotiates IRCv3 capabilities: LS [302], LIST, REQ :<caps>, END.
    """
    sub = msg.params[0].upper()
    if sub == "LS":
        _cap_ls(server, client, msg, rb)
    elif sub == "LIST":
        cap_list(server, client, rb, "LIST", sorted(client.caps))
    elif sub == "REQ":
        _cap_req(server, client, msg, rb)
    elif sub == "END":
        if not client.registered and client.cap_negotiating:
            client.cap_negotiating = False
            return server.try_register(client, rb)
    else:
        rb.numeric(n.ERR_INVALIDCAPCMD, msg.params[0], "Invalid CAP command")
    return None


def _cap_ls(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    version = msg.params[1] if len(msg.params) > 1 else ""
    if version.isdigit():
        client.cap_version = max(client.cap_version, int(version))
    if client.cap_version >= 302:
        client.caps.add("cap-notify")  # implied by CAP LS 302
    if not client.registered:
        client.cap_negotiating = True
    offered = offered_caps(server, client)
    if client.cap_version >= 302:
        names = [f"{k}={v}" if v else k for k, v in sorted(offered.items())]
    else:
        names = sorted(offered)
    cap_list(server, client, rb, "LS", names)


def _cap_req(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    if not client.registered:
        client.cap_negotiating = True
    raw = msg.params[1] if len(msg.params) > 1 else ""
    wanted = raw.split()
    names = [c.removeprefix("-") for c in wanted]
    offered = offered_caps(server)
    ok = bool(wanted) and all(name in offered for name in names)
    if ok and client.cap_version >= 302 and "-cap-notify" in wanted:
        ok = False  # cap-notify cannot be disabled once implied by 302
    ok = ok and metadata.cap_change(client, wanted)
    new_metadata = ok and METADATA in names and METADATA not in client.caps
    if ok:
        for item, name in zip(wanted, names, strict=True):
            if item.startswith("-"):
                client.caps.discard(name)
            else:
                client.caps.add(name)
        client.update_tag_mode()
    answer = "ACK" if ok else "NAK"
    rb.add(Message(source=server.name, command="CAP", params=(client.name, answer, raw)))
    if new_metadata and METADATA in client.caps:
        # draft/metadata-2: the client's stored keys, none here: an empty batch (MUST).
        rb.batch("metadata", (), [])


def ping(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PING <token>

    Asks the server to answer with PONG <token>.
    """
    rb.add(Message(source=server.name, command="PONG", params=(server.name, msg.params[0])))


def pong(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PONG [<server>] <token>

    Answers a PING from the server (any input resets the ping timer).
    """


def quit_(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """QUIT [:<reason>]

    Leaves the server.
    """
    reason = msg.params[0][: server.config.limits.kicklen] if msg.params else ""
    # A blocked reason is dropped; the client still leaves (as in UnrealIRCd).
    if reason and screen(server, client, "quit", reason, rb) is not None:
        if client.closed:
            return
        reason = ""
    server.disconnect(client, f"Quit: {reason}" if reason else "Quit")
