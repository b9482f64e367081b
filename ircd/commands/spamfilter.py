"""SPAMFILTER for operators: add, remove and list filters at run time (see ircd.spamfilter)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.masks import parse_duration
from ircd.screening import server_notice
from ircd.snomask import actor, snotice
from ircd.spamfilter import TARGETS, FilterSpec, SpamFilterError

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.protocol import Message
    from ircd.replies import ReplyBuffer

log = logging.getLogger("ircd.oper")

_NO_DURATION: Final = frozenset({"-", "0"})


def spamfilter(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """SPAMFILTER [list] | add <targets> <action> <duration|-> <reason> :<regex> | del <id>

    Manages spam filters (operators only). Targets, comma-separated: private, channel,
    part, quit, topic, away, nick, user. Actions: block, kill, gline, warn. Underscores
    in the reason become spaces. Filters added here last until the server restarts.
    """
    sub = msg.params[0].lower() if msg.params else "list"
    if sub == "list":
        _list(server, rb)
    elif sub == "add" and len(msg.params) >= 6:
        _add(server, client, msg.params[1:6], rb)
    elif sub == "del" and len(msg.params) >= 2:
        _del(server, client, msg.params[1], rb)
    else:
        rb.numeric(n.ERR_NEEDMOREPARAMS, "SPAMFILTER", "Syntax: see HELP SPAMFILTER")


def _add(server: Context, client: Client, params: tuple[str, ...], rb: ReplyBuffer) -> None:
    targets, action, duration_text, reason, pattern = params
    duration = 0 if duration_text in _NO_DURATION else parse_duration(duration_text)
    if duration is None:
        server_notice(server, rb, f"Invalid duration (e.g. 3600, 30m, 1d): {duration_text}")
        return
    try:
        spec = FilterSpec.build(
            pattern, targets.lower().split(","), action.lower(), reason.replace("_", " "), duration
        )
        f = server.spamfilters.add(spec, client.oper or client.name)
    except SpamFilterError as e:
        server_notice(server, rb, f"Spamfilter not added: {e}")
        return
    text = f"Spamfilter {f.describe()} added by {actor(client)}: {spec.reason}"
    log.info("%s", text)
    snotice(server, "f", text, rb, title="FILTER")


def _del(server: Context, client: Client, ident: str, rb: ReplyBuffer) -> None:
    try:
        f = server.spamfilters.remove(int(ident.lstrip("#")))
    except ValueError as e:  # SpamFilterError, or an id that is not a number
        text = str(e) if isinstance(e, SpamFilterError) else f"not a filter id: {ident}"
        server_notice(server, rb, f"Spamfilter not removed: {text}")
        return
    text = f"Spamfilter {f.describe()} removed by {actor(client)}"
    log.info("%s", text)
    snotice(server, "f", text, rb, title="FILTER")


def _list(server: Context, rb: ReplyBuffer) -> None:
    # One RPL_STATSSPAMF per filter: id, targets, action, state, origin, matches,
    # evaluations, mean and worst microseconds, reason, and the pattern last.
    for f in server.spamfilters:
        mean_us = f.total_ns // f.evaluations // 1000 if f.evaluations else 0
        rb.numeric(
            n.RPL_STATSSPAMF,
            f"#{f.id}",
            ",".join(t for t in TARGETS if t in f.spec.targets),
            f.spec.action if f.spec.action != "gline" else f"gline:{f.spec.duration}",
            "enabled" if f.disabled is None else "disabled",
            f.origin,
            str(f.matches),
            str(f.evaluations),
            f"{mean_us}us",
            f"{f.max_ns // 1000}us",
            f.spec.reason.replace(" ", "_"),
            f.spec.match,
        )
    rb.numeric(n.RPL_ENDOFSTATS, "F", "End of /SPAMFILTER list")
