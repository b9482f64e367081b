"""Server bans for operators: KLINE, GLINE, ZLINE, SHUN, their UN- forms, and STATS."""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple

from ircd import numerics as n
from ircd.commands.oper import audit
from ircd.masks import parse_duration
from ircd.protocol import Message
from ircd.replies import ReplyBuffer
from ircd.snomask import actor
from ircd.xlines import XLine, describe_expiry, line_name, normalize_xline_mask

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.runner import Pending

log = logging.getLogger("ircd.oper")

_NAMES: Final = MappingProxyType({"KLINE": "K", "GLINE": "G", "ZLINE": "Z", "SHUN": "S"})
_TARGETS: Final = MappingProxyType(
    {"K": "<user@host|nick>", "G": "<user@host|nick>", "Z": "<ip|cidr|nick>",
     "S": "<user@host|nick>"}
)  # fmt: skip
#: InspIRCd's STATS letters and numerics: K-lines k 216, G- and Z-lines g, z 223,
#: shuns H 223.
_STATS: Final = MappingProxyType(
    {"k": ("K", n.RPL_STATSKLINE), "g": ("G", n.RPL_STATSGLINE),
     "z": ("Z", n.RPL_STATSGLINE), "h": ("S", n.RPL_STATSGLINE)}
)  # fmt: skip
#: What a line does to the users it matches (a shunned user stays, silenced).
_DOES: Final = MappingProxyType(
    {"K": "disconnect", "G": "disconnect", "Z": "disconnect", "S": "silence"}
)


def kline(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """KLINE [-force] <user@host|nick> [<duration>] [:<reason>]

    Bans matching users from this server (operators only). Durations: 300, 10m, 2h, 7d;
    0 or none means permanent. A nick stands for *@its address. A line that would drop
    more than limits.ban_max_share of the users, or that covers the address of the
    gateway's own (in-process) users, needs -force. Solanum's order (`KLINE 10m
    <mask> :<reason>`) is understood; InspIRCd's `KLINE <mask>` alone, on a mask that
    has a line, removes it.
    """
    return _add(server, client, msg, rb)


def gline(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """GLINE [-force] <user@host|nick> [<duration>] [:<reason>]

    Like KLINE, meant for the whole network (operators only).
    """
    return _add(server, client, msg, rb)


def zline(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """ZLINE [-force] <ip|cidr|nick> [<duration>] [:<reason>]

    Refuses connections from addresses before registration (operators only); -force as
    for KLINE.
    """
    return _add(server, client, msg, rb)


def shun(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """SHUN [-force] <user@host|nick> [<duration>] [:<reason>]

    Silences matching users without disconnecting them, as InspIRCd's SHUN: their
    commands other than ADMIN, OPER, PING, PONG and QUIT are dropped, each with a
    notice (operators only); -force as for KLINE.
    """
    return _add(server, client, msg, rb)


def unshun(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """UNSHUN <user@host>

    Removes a shun (operators only).
    """
    return _remove(server, client, msg, rb, "S")


def unkline(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """UNKLINE <user@host>

    Removes a K-line (operators only).
    """
    return _remove(server, client, msg, rb, "K")


def ungline(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """UNGLINE <user@host>

    Removes a G-line (operators only).
    """
    return _remove(server, client, msg, rb, "G")


def unzline(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    """UNZLINE <ip|cidr>

    Removes a Z-line (operators only).
    """
    return _remove(server, client, msg, rb, "Z")


def _notice(server: Context, client: Client, rb: ReplyBuffer, text: str) -> None:
    rb.add(Message(source=server.name, command="NOTICE", params=(client.name, text)))


def _usage(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """One line: the syntax, both orders, and what a duration looks like."""
    target = _TARGETS[_NAMES[msg.command]]
    _notice(
        server,
        client,
        rb,
        f"Usage: {msg.command} [-force] {target} [<duration>] [:<reason>] (or <duration> "
        f"{target} :<reason>); durations 300, 10m, 2h, 7d, 0 for permanent",
    )
    audit(server, client, " ".join((msg.command, *msg.params))[:200], "bad arguments")


class _Args(NamedTuple):
    forced: bool
    target: str
    duration: str | None  # as typed; None if none was
    reason: str | None


def _parse(params: tuple[str, ...]) -> _Args | None:
    """KLINE's arguments, in its order or Solanum's; None: answer the usage line."""
    rest = list(params)
    # "-force" cannot be a nick or a mask: no nick starts with "-".
    forced = rest[0].lower() == "-force"
    if forced:
        rest.pop(0)
    # Solanum (and ratbox, charybdis) put the duration first: KLINE 10m *@host :reason.
    if len(rest) > 1 and parse_duration(rest[0]) is not None:
        if parse_duration(rest[1]) is not None:
            return None
        rest[0], rest[1] = rest[1], rest[0]
    target = rest.pop(0)
    if parse_duration(target) is not None:  # `KLINE 10m` alone: a mask was forgotten
        return None
    duration = None
    if rest and (len(rest) > 1 or parse_duration(rest[0]) is not None):
        duration = rest.pop(0)
        if parse_duration(duration) is None:
            return None
    return _Args(forced, target, duration, rest[0] if rest else None)


def _add(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> Pending | None:
    kind = _NAMES[msg.command]
    if len(msg.params) == 1 and msg.params[0].lower() == "-force":
        rb.numeric(n.ERR_NEEDMOREPARAMS, msg.command, "Not enough parameters")
        return None
    args = _parse(msg.params)
    if args is None:
        _usage(server, client, msg, rb)
        return None
    forced, target = args.forced, args.target
    if args.duration is None and args.reason is None and not forced:
        # InspIRCd removes a line with its mask alone; it must never become permanent.
        existing = normalize_xline_mask(kind, target)
        if existing is not None and server.admission.xlines.get(kind, existing) is not None:
            return _drop(server, client, rb, kind, existing, f"{msg.command} {target}")
    return _set(server, client, rb, msg.command, args)


def _set(
    server: Context, client: Client, rb: ReplyBuffer, command: str, args: _Args
) -> Pending | None:
    """Set the line `args` describe, unless its mask is bad or too wide; tell and audit."""
    kind, target, forced = _NAMES[command], args.target, args.forced
    seconds = parse_duration(args.duration or "0") or 0
    duration = args.duration or "permanent"
    reason = (args.reason or "No reason")[: server.config.limits.kicklen]
    user = server.find_nick(target)
    if user is not None:  # a nick stands for its address
        target = user.ip if kind == "Z" else f"*@{user.ip}"
    mask = normalize_xline_mask(kind, target)
    action = f"{command} {mask or target} {duration if seconds else 'permanent'}: {reason}"
    if mask is None:
        _notice(server, client, rb, f"Invalid or too wide {line_name(kind)} mask: {target}")
        audit(server, client, action, "bad mask")
        return None
    if user is not None:
        _notice(
            server,
            client,
            rb,
            f"{user.name} is {user.user}@{user.realhost} [{user.ip}]: the {line_name(kind)} covers "
            f"{mask}, every connection from that address",
        )
    now = server.wallclock()
    line = XLine(
        kind=kind,
        mask=mask,
        reason=reason,
        set_by=client.name,
        set_at=now,
        expires=now + seconds if seconds else None,
    )
    refusal = None if forced else _too_wide(server, line)
    if refusal is not None:
        _notice(server, client, rb, f"{line_name(kind)} on {mask} refused: {refusal}")
        audit(server, client, action, "refused: needs -force")
        return None
    if not server.admission.xlines.add(line):
        _notice(server, client, rb, f"The ban table is full ({server.config.limits.max_xlines})")
        audit(server, client, action, "refused: the ban table is full")
        return None
    # The operator who sets a line over their own address stays (and is not counted).
    victims = [v for v in server.admission.matching_clients(line) if v is not client]
    expiry = describe_expiry(line, server.wallclock)
    text = f"{line_name(kind)} on {mask} ({expiry}) by {actor(client)}"
    done = f"{len(victims)} {_DOES[kind].removesuffix('e')}ed"
    log.info("%s: %s; %s", text, reason, done)
    server.notice_opers(f"{text}: {reason}", rb, snomask="x")
    for victim in victims:
        if kind != "S":  # a shunned user stays, silenced
            server.disconnect(victim, f"{kind}-lined: {reason}")
    audit(server, client, action, f"set, {done}")
    return _persist(server, client, server.admission.save(line), f"{line_name(kind)} saved")


def _too_wide(server: Context, line: XLine) -> str | None:
    """Why `line` needs -force (a typo like *@* or 127.* is one command from an outage)."""
    covered = server.admission.covered_clients(line)
    attached = sum(1 for c in covered if c.in_process)
    if attached:
        return (
            f"it covers the address of the {attached} in-process (gateway) users; "
            "they are never banned, but everyone else on that address would be; "
            "add -force to set it anyway"
        )
    victims = len(server.admission.matching_clients(line))
    users = server.registered_count
    share = server.config.limits.ban_max_share
    if victims > 1 and victims > share * users:
        return (
            f"it would {_DOES[line.kind]} {victims} of {users} users "
            f"({100 * victims // users}%, more than {share:.0%}); add -force to set it anyway"
        )
    return None


def _remove(
    server: Context, client: Client, msg: Message, rb: ReplyBuffer, kind: str
) -> Pending | None:
    mask = normalize_xline_mask(kind, msg.params[0])
    action = f"{msg.command} {msg.params[0]}"
    if mask is None or server.admission.xlines.get(kind, mask) is None:
        _notice(server, client, rb, f"No {line_name(kind)} on {msg.params[0]}")
        audit(server, client, action, "no such line")
        return None
    return _drop(server, client, rb, kind, mask, action)


def _drop(
    server: Context, client: Client, rb: ReplyBuffer, kind: str, mask: str, action: str
) -> Pending | None:
    """Remove the line of `kind` on `mask` (there is one), tell, audit and forget it."""
    server.admission.xlines.remove(kind, mask)
    text = f"{line_name(kind)} on {mask} removed by {actor(client)}"
    log.info("%s", text)
    server.notice_opers(text, rb, snomask="x")
    audit(server, client, action, "removed")
    write = server.admission.forget(kind, mask)
    return _persist(server, client, write, f"{line_name(kind)} on {mask} removed")


async def _persist(server: Context, client: Client, write: Pending, done: str) -> None:
    # The change is in force already; the operator hears whether it will survive a restart.
    try:
        await write
    except OSError as e:
        log.error("cannot save server bans: %s", e)
        done = f"Warning: the change is active but was not saved ({e.strerror})"
    if done and not client.closed:
        # After the replies held for this command, with its label (the server flushes).
        _notice(server, client, server.replies(client), done)


def stats(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """STATS <letter>

    Server statistics (operators only): k, g and z list K-, G- and Z-lines (216 for k,
    223 for g and z, as InspIRCd), H the shuns (223); u the uptime; o the operator
    blocks (243); p the operators online with their idle time (249).
    """
    letter = msg.params[0][:1]
    if letter.lower() in _STATS:
        kind, numeric = _STATS[letter.lower()]
        # As InspIRCd: <mask> <set at> <duration> <set by> :<reason> (duration 0: permanent).
        for line in server.admission.xlines.lines(kind):
            if line.expired(server.wallclock()):
                continue
            duration = 0 if line.expires is None else max(1, round(line.expires - line.set_at))
            rb.numeric(
                numeric,
                line.mask,
                str(int(line.set_at)),
                str(duration),
                line.set_by,
                line.reason,
            )
    elif letter == "u":
        up = int(server.wallclock() - server.created)
        days, rem = divmod(up, 86400)
        rb.numeric(
            n.RPL_STATSUPTIME,
            f"Server Up {days} days {rem // 3600}:{rem % 3600 // 60:02d}:{rem % 60:02d}",
        )
    elif letter == "o":
        for block in server.config.opers:
            where = "*" if block.mask is None else "(mask)"
            rb.numeric(n.RPL_STATSOLINE, "O", where, "*", block.name, "operator")
    elif letter in ("p", "P"):
        opers = [c for c in server.opers_with(None) if c.oper is not None]
        for oper in opers:
            idle = int(server.clock() - oper.last_active)
            who = f"{oper.name} ({oper.user}@{oper.realhost})"
            rb.numeric(n.RPL_STATSDEBUG, "p", f"{who} oper {oper.oper}, idle {idle}s")
        rb.numeric(n.RPL_STATSDEBUG, "p", f"{len(opers)} operator(s) online")
    rb.numeric(n.RPL_ENDOFSTATS, letter or "*", "End of /STATS report")
