"""Connection registration and keep-alive: PASS, NICK, USER, CAP, PING, PONG, QUIT."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.commands.metadata import CAP as METADATA
from ircd.commands.metadata import CAP_VALUE as METADATA_VALUE
from ircd.commands.multiline import CAP as MULTILINE
from ircd.commands.multiline import CAP_VALUE as MULTILINE_VALUE
from ircd.isupport import USERLEN
from ircd.nickclaim import take_back
from ircd.protocol import MAX_BODY, Message
from ircd.replies import ReplyBuffer, safe_middle
from ircd.spamfilter import screen

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.server import Pending, Server

#: Capabilities offered in CAP LS; `offered_caps` adds sasl when accounts exist.
SUPPORTED_CAPS: Final = frozenset(
    {
        "account-notify",
        "account-tag",
        "away-notify",
        "batch",
        "cap-notify",
        "chghost",
        "draft/channel-rename",
        "draft/chathistory",
        "draft/message-redaction",
        "draft/read-marker",
        "echo-message",
        "extended-join",
        "extended-monitor",
        "invite-notify",
        "labeled-response",
        "message-tags",
        "multi-prefix",
        "server-time",
        "setname",
        "standard-replies",
        "userhost-in-names",
    }
)


def sasl_offered(server: Server) -> bool:
    """SASL needs accounts from the embedder, and `irc.sasl` not switched off."""
    return server.accounts is not None and server.config.sasl


def sasl_mechanisms(server: Server, client: Client | None = None) -> tuple[str, ...]:
    """PLAIN, and EXTERNAL where a certificate can match: for `client`, when it sent one
    (the listener verified it); for the server, when a listener asks for them."""
    if client is not None:
        # Never from a browser page: another site's script may be using the certificate.
        external = client.certfp is not None and client.web_origin is None
    else:
        external = any(lst.tls is not None and lst.tls.client_ca for lst in server.config.listen)
    return ("PLAIN", "EXTERNAL") if external else ("PLAIN",)


def offered_caps(server: Server, client: Client | None = None) -> dict[str, str]:
    """Capability -> value (shown to CAP LS 302 clients) for this server (or `client`)."""
    caps = dict.fromkeys(SUPPORTED_CAPS, "")
    caps[MULTILINE] = MULTILINE_VALUE
    caps[METADATA] = METADATA_VALUE
    if sasl_offered(server):
        caps["sasl"] = ",".join(sasl_mechanisms(server, client))
    return caps


def announce_caps(server: Server, before: dict[str, str]) -> None:
    """Tell cap-notify clients what changed since `before` was offered (IRCv3 cap-notify).

    A capability no longer offered goes in CAP DEL and is disabled for everyone who had
    it (an unfinished SASL exchange is dropped); a new one goes in CAP NEW, and so does
    one whose value changed, for clients that see values (CAP LS 302).
    """
    after = offered_caps(server)
    gone = sorted(set(before) - set(after))
    new = sorted(set(after) - set(before))
    changed = sorted(k for k in after if k in before and after[k] != before[k])
    if not (gone or new or changed):
        return
    for client in list(server.clients.values()):
        if client.closed:
            continue
        if gone and client.caps & set(gone):
            client.caps.difference_update(gone)
            client.update_tag_mode()
        if "sasl" in gone:
            client.sasl = None
        if "cap-notify" not in client.caps:
            continue
        rb = ReplyBuffer(server, client)
        if gone:
            _cap_list(server, client, rb, "DEL", gone)
        values = client.cap_version >= 302
        names = [f"{k}={after[k]}" if values and after[k] else k for k in new]
        names += [f"{k}={after[k]}" for k in changed if values]
        if names:
            _cap_list(server, client, rb, "NEW", names)
        rb.flush()


_USERNAME_JUNK: Final = re.compile(r"[^A-Za-z0-9._\-]")
_REALNAME_MAX: Final = 100


def pass_(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PASS <password>

    Sets the connection password; it must come before NICK and USER.
    """
    if client.registered:
        rb.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    client.password = msg.params[0]


def nick(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """NICK <nickname>

    Chooses or changes your nickname.
    """
    if not msg.params or not msg.params[0]:
        rb.numeric(n.ERR_NONICKNAMEGIVEN, "No nickname given")
        return
    new = msg.params[0]
    if not server.valid_nick(new):
        rb.numeric(n.ERR_ERRONEUSNICKNAME, new, "Erroneous nickname")
        return
    if not take_back(server, client, new):
        if not client.registered:
            client.wanted_nick = new  # a login (SASL) may still take it back
        nick_in_use(client, new, "Nickname is already in use", rb)
        return
    if new == client.nick:
        return
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
        return
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


def user(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """USER <username> <mode> <unused> :<realname>

    Gives your username and real name during registration.
    """
    if client.registered or client.user is not None:
        rb.numeric(n.ERR_ALREADYREGISTERED, "You may not reregister")
        return
    if not msg.params[3] or not msg.params[0]:
        rb.numeric(n.ERR_NEEDMOREPARAMS, "USER", "Not enough parameters")
        return
    # No ident lookup is done, so the username is marked unverified with "~".
    username = _USERNAME_JUNK.sub("", msg.params[0])[: USERLEN - 1] or "user"
    client.user = "~" + username
    client.realname = msg.params[3][:_REALNAME_MAX] or username
    return server.try_register(client, rb)


def cap(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """CAP <subcommand> [:<capabilities>]

    Negotiates IRCv3 capabilities: LS [302], LIST, REQ :<caps>, END.
    """
    sub = msg.params[0].upper()
    if sub == "LS":
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
        _cap_list(server, client, rb, "LS", names)
    elif sub == "LIST":
        _cap_list(server, client, rb, "LIST", sorted(client.caps))
    elif sub == "REQ":
        if not client.registered:
            client.cap_negotiating = True
        raw = msg.params[1] if len(msg.params) > 1 else ""
        wanted = raw.split()
        names = [c.removeprefix("-") for c in wanted]
        offered = offered_caps(server)
        ok = bool(wanted) and all(name in offered for name in names)
        if ok and client.cap_version >= 302 and "-cap-notify" in wanted:
            ok = False  # cap-notify cannot be disabled once implied by 302
        new_metadata = ok and METADATA in names and METADATA not in client.caps
        if ok:
            for item, name in zip(wanted, names, strict=True):
                if item.startswith("-"):
                    client.caps.discard(name)
                else:
                    client.caps.add(name)
            client.update_tag_mode()
        rb.add(
            Message(
                source=server.name, command="CAP", params=(client.name, "ACK" if ok else "NAK", raw)
            )
        )
        if new_metadata and METADATA in client.caps:
            # draft/metadata-2: the client's stored keys, none here: an empty batch (MUST).
            rb.batch("metadata", (), [])
    elif sub == "END":
        if not client.registered and client.cap_negotiating:
            client.cap_negotiating = False
            return server.try_register(client, rb)
    else:
        rb.numeric(n.ERR_INVALIDCAPCMD, msg.params[0], "Invalid CAP command")


def _cap_list(server: Server, client: Client, rb: ReplyBuffer, sub: str, caps: list[str]) -> None:
    # A long list is split; only 302 clients understand the "*" continuation marker.
    budget = MAX_BODY - 2 - len(f":{server.name} CAP {client.name} {sub} * :".encode())
    lines: list[list[str]] = [[]]
    for name in caps:
        if lines[-1] and len(" ".join([*lines[-1], name]).encode()) > budget:
            lines.append([])
        lines[-1].append(name)
    if client.cap_version < 302:
        lines = [[name for line in lines for name in line]]
    for i, line in enumerate(lines):
        more = ("*",) if i < len(lines) - 1 else ()
        rb.add(
            Message(
                source=server.name, command="CAP", params=(client.name, sub, *more, " ".join(line))
            )
        )


def ping(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PING <token>

    Asks the server to answer with PONG <token>.
    """
    rb.add(Message(source=server.name, command="PONG", params=(server.name, msg.params[0])))


def pong(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """PONG [<server>] <token>

    Answers a PING from the server (any input resets the ping timer).
    """


def quit_(server: Server, client: Client, msg: Message, rb: ReplyBuffer) -> None:
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
