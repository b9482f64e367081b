"""The command table and the one dispatcher that checks registration, privilege and arity.

`COMMANDS` is built once at import and never changes; the gateway adds behaviour through
the hooks object passed to `Server`, not by editing this table. Every handler has the
signature `(server, client, msg, rb)`, `server` being the narrow `ircd.context.Context`
(never `Server` itself), writes replies to `rb`, and returns None, or a
coroutine when it must finish off the event loop (the server runs it and holds the
client's later input until it is done). Each handler's docstring starts with its syntax.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.commands import (
    admin,
    channel,
    info,
    ircv3,
    message,
    metadata,
    mode,
    multiline,
    oper,
    override,
    query,
    redaction,
    registration,
    sasl,
    spamfilter,
    xline,
)
from ircd.context import CommandSpec, Handler
from ircd.protocol import Message
from ircd.screening import server_notice

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer
    from ircd.runner import Pending

__all__ = (
    "COMMANDS",
    "MAX_EXTRA_COMMANDS",
    "CommandSpec",
    "Handler",
    "add_extra_command",
    "dispatch",
)

#: Commands an embedder may add with `Server.add_command`.
MAX_EXTRA_COMMANDS: Final = 64
#: What a shunned user may still do (InspIRCd's default <shun enabledcommands>).
SHUN_ALLOWED: Final = frozenset({"ADMIN", "OPER", "PING", "PONG", "QUIT"})
_COMMAND_NAME: Final = re.compile(r"[A-Z]{1,32}\Z")


def help_(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """HELP [<command>]

    Lists the commands, or shows how to use one.
    """
    if not msg.params:
        rb.numeric(n.RPL_HELPSTART, "*", "Commands available:")
        rb.numeric_list(n.RPL_HELPTXT, ("*",), sorted([*COMMANDS, *server.extra_commands]))
        rb.numeric(n.RPL_ENDOFHELP, "*", "Use HELP <command> for more")
        return
    subject = msg.params[0].upper()
    spec = COMMANDS.get(subject) or server.extra_commands.get(subject)
    if spec is None or spec.handler.__doc__ is None:
        rb.numeric(n.ERR_HELPNOTFOUND, msg.params[0], "No help available on this topic")
        return
    lines = [line.strip() for line in spec.handler.__doc__.strip().splitlines()]
    rb.numeric(n.RPL_HELPSTART, subject, lines[0])
    for line in lines[1:]:
        rb.numeric(n.RPL_HELPTXT, subject, line)
    rb.numeric(n.RPL_ENDOFHELP, subject, "End of /HELP")


def helpop(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """HELPOP [<command>]

    The same as HELP (the name InspIRCd and Ergo also answer to).
    """
    help_(server, client, msg, rb)


COMMANDS: Final = MappingProxyType(
    {
        # registration.py
        "PASS": CommandSpec(registration.pass_, 1, allowed_before_registration=True),
        "NICK": CommandSpec(registration.nick, 0, allowed_before_registration=True),
        "USER": CommandSpec(registration.user, 4, allowed_before_registration=True),
        "CAP": CommandSpec(registration.cap, 1, allowed_before_registration=True),
        "PING": CommandSpec(registration.ping, 1, allowed_before_registration=True),
        "PONG": CommandSpec(registration.pong, 0, allowed_before_registration=True),
        "QUIT": CommandSpec(registration.quit_, 0, allowed_before_registration=True),
        "AUTHENTICATE": CommandSpec(sasl.authenticate, 1, allowed_before_registration=True),
        # ircv3.py
        "SETNAME": CommandSpec(ircv3.setname, 1),
        "MONITOR": CommandSpec(ircv3.monitor, 1),
        "CHATHISTORY": CommandSpec(ircv3.chathistory, 1),
        "MARKREAD": CommandSpec(ircv3.markread, 0),
        # channel.py
        "JOIN": CommandSpec(channel.join, 1),
        "PART": CommandSpec(channel.part, 1),
        "TOPIC": CommandSpec(channel.topic, 1),
        "NAMES": CommandSpec(channel.names, 0),
        "KICK": CommandSpec(channel.kick, 2),
        "INVITE": CommandSpec(channel.invite, 0),
        "RENAME": CommandSpec(channel.rename, 2),
        # mode.py
        "MODE": CommandSpec(mode.mode, 1),
        # message.py
        "PRIVMSG": CommandSpec(message.privmsg, 0),
        "NOTICE": CommandSpec(message.notice, 0),
        "TAGMSG": CommandSpec(message.tagmsg, 1),
        "AWAY": CommandSpec(message.away, 0),
        # metadata.py
        "METADATA": CommandSpec(metadata.metadata, 0, allowed_before_registration=True),
        # multiline.py
        "BATCH": CommandSpec(multiline.batch, 1),
        # redaction.py
        "REDACT": CommandSpec(redaction.redact, 2),
        # info.py
        "WHO": CommandSpec(info.who, 1),
        "WHOIS": CommandSpec(info.whois, 1),
        "LUSERS": CommandSpec(info.lusers, 0),
        "MOTD": CommandSpec(info.motd, 0),
        "VERSION": CommandSpec(info.version, 0),
        "ISON": CommandSpec(info.ison, 1),
        "USERHOST": CommandSpec(info.userhost, 1),
        "HELP": CommandSpec(help_, 0),
        "HELPOP": CommandSpec(helpop, 0),
        # query.py
        "LIST": CommandSpec(query.list_, 0),
        "WHOWAS": CommandSpec(query.whowas, 1),
        # admin.py
        "TIME": CommandSpec(admin.time_, 0),
        "INFO": CommandSpec(admin.info, 0),
        "ADMIN": CommandSpec(admin.admin, 0),
        "LINKS": CommandSpec(admin.links, 0),
        "WALLOPS": CommandSpec(admin.wallops, 1, oper_only=True),
        "REHASH": CommandSpec(admin.rehash, 0, oper_only=True),
        "DIE": CommandSpec(admin.die, 0, oper_only=True),
        # oper.py
        "OPER": CommandSpec(oper.oper, 2),
        "KILL": CommandSpec(oper.kill, 2, oper_only=True),
        # xline.py
        "KLINE": CommandSpec(xline.kline, 1, oper_only=True),
        "GLINE": CommandSpec(xline.gline, 1, oper_only=True),
        "ZLINE": CommandSpec(xline.zline, 1, oper_only=True),
        "UNKLINE": CommandSpec(xline.unkline, 1, oper_only=True),
        "UNGLINE": CommandSpec(xline.ungline, 1, oper_only=True),
        "UNZLINE": CommandSpec(xline.unzline, 1, oper_only=True),
        "SHUN": CommandSpec(xline.shun, 1, oper_only=True),
        "UNSHUN": CommandSpec(xline.unshun, 1, oper_only=True),
        "STATS": CommandSpec(xline.stats, 1, oper_only=True),
        # override.py
        "SAJOIN": CommandSpec(override.sajoin, 2, oper_only=True),
        "SAPART": CommandSpec(override.sapart, 2, oper_only=True),
        "SANICK": CommandSpec(override.sanick, 2, oper_only=True),
        "CHGHOST": CommandSpec(override.chghost, 2, oper_only=True),
        "GLOBOPS": CommandSpec(override.globops, 1, oper_only=True),
        "CHECK": CommandSpec(override.check, 1, oper_only=True),
        # spamfilter.py
        "SPAMFILTER": CommandSpec(spamfilter.spamfilter, 0, oper_only=True),
    }
)


def add_extra_command(extra: dict[str, CommandSpec], name: str, spec: CommandSpec) -> None:
    """Add `spec` as `name` to a server's own commands `extra` (`Server.add_command`).

    Raises ValueError for a malformed name, a built-in name, or too many commands.
    """
    name = name.upper()
    if not _COMMAND_NAME.match(name) or name in COMMANDS or name in extra:
        raise ValueError(f"{name!r} is not 1-32 letters, or the command exists already")
    if len(extra) >= MAX_EXTRA_COMMANDS:
        raise ValueError(f"at most {MAX_EXTRA_COMMANDS} added commands")
    extra[name] = spec


def dispatch(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """Run `msg` for `client`: 421, 451, 481 and 461 are answered here, once, in that order."""
    spec = COMMANDS.get(msg.command) or server.extra_commands.get(msg.command)
    if spec is None:
        rb.numeric(n.ERR_UNKNOWNCOMMAND, msg.command, "Unknown command")
        return None
    if not client.registered and not spec.allowed_before_registration:
        rb.numeric(n.ERR_NOTREGISTERED, "You have not registered")
        return None
    if spec.oper_only and client.oper is None:
        rb.numeric(n.ERR_NOPRIVILEGES, "Permission Denied- You're not an IRC operator")
        return None
    if len(msg.params) < spec.min_params:
        rb.numeric(n.ERR_NEEDMOREPARAMS, msg.command, "Not enough parameters")
        return None
    bans = server.admission
    # Shuns are rare: with none, a command pays one attribute read.
    if bans.xlines.shuns and msg.command not in ("PING", "PONG") and bans.shunned(client):
        if msg.command == "QUIT":  # as InspIRCd's allowquitmsg="no": a last word is a word
            msg = Message(command="QUIT", params=(), source=msg.source)
        elif msg.command not in SHUN_ALLOWED:
            text = f"*** Command {msg.command} not processed, as you have been blocked from"
            server_notice(server, rb, text + " issuing commands.")
            return None
    return spec.handler(server, client, msg, rb)
