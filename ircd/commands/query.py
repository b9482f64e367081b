"""Listings: LIST (with ELIST filters) and WHOWAS."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from ircd import listing
from ircd import numerics as n
from ircd.globs import Glob

if TYPE_CHECKING:
    from collections.abc import Callable

    from ircd.channel import Channel
    from ircd.client import Client
    from ircd.context import Context
    from ircd.protocol import Message
    from ircd.replies import ReplyBuffer

#: ISUPPORT ELIST: mask (M), negated mask (N), user count (U), creation (C), topic (T) time.
ELIST: Final = "CMNTU"
#: LIST conditions accepted in one command.
MAX_CONDITIONS: Final = 8


def _condition(server: Context, text: str) -> Callable[[Channel], bool] | None:
    """One ELIST condition as a predicate, or None if it is not one."""
    now = server.wallclock()
    if len(text) > 1 and text[0] in "<>" and text[1:].isdigit():
        limit = int(text[1:])
        return (
            (lambda c: len(c.members) > limit)
            if text[0] == ">"
            else (lambda c: len(c.members) < limit)
        )
    if len(text) > 2 and text[0] in "CT" and text[1] in "<>" and text[2:].isdigit():
        minutes = int(text[2:])

        def age(c: Channel) -> float | None:
            when = c.created if text[0] == "C" else (c.topic_at if c.topic else None)
            return None if when is None else (now - when) / 60

        if text[1] == "<":  # set less than N minutes ago
            return lambda c: (a := age(c)) is not None and a < minutes
        return lambda c: (a := age(c)) is not None and a > minutes
    # One Glob for the whole listing: split once, matched against every channel.
    if text.startswith("!") and len(text) > 1:
        excluded = Glob(server.fold(text[1:]))
        return lambda c: not excluded.match(c.folded)
    if "*" in text or "?" in text:
        wanted = Glob(server.fold(text))
        return lambda c: wanted.match(c.folded)
    return None


def list_(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """LIST [<channel>{,<channel>}|<condition>{,<condition>}]

    Lists channels with their user counts and topics. Conditions (ELIST): a mask like
    *ham*, !mask, >5 or <20 users, C<60 / C>60 created N minutes ago, T<60 / T>60 topic
    set N minutes ago. A long list goes out as the client reads it (SAFELIST); a new
    LIST ends the one in progress.
    """
    wanted: list[str] | None = None
    tests: list[Callable[[Channel], bool]] = []
    if msg.params and msg.params[0]:
        for item in msg.params[0].split(",")[:MAX_CONDITIONS]:
            test = _condition(server, item)
            if test is not None:
                tests.append(test)
            elif (channel := server.find_channel(item)) is not None:
                wanted = [*(wanted or []), channel.folded]
    # A snapshot of the names: channels made while the list goes out are not in it.
    listing.start(
        server, client, rb, wanted if wanted is not None else list(server.channels), tests
    )


def whowas(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """WHOWAS <nick> [<count>]

    Shows who recently used a nick.
    """
    nick = msg.params[0]
    count = int(msg.params[1]) if len(msg.params) > 1 and msg.params[1].isdigit() else 0
    entries = server.whowas.get(server.fold(nick))
    if count > 0:
        entries = entries[:count]
    if not entries:
        rb.numeric(n.ERR_WASNOSUCHNICK, nick, "There was no such nickname")
    for entry in entries:
        rb.numeric(n.RPL_WHOWASUSER, entry.nick, entry.user, entry.host, "*", entry.realname)
        if entry.account is not None:
            rb.numeric(n.RPL_WHOISACCOUNT, entry.nick, entry.account, "was logged in as")
        rb.numeric(n.RPL_WHOISSERVER, entry.nick, server.name, _ctime(entry.left))
    rb.numeric(n.RPL_ENDOFWHOWAS, nick, "End of WHOWAS")


def _ctime(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).strftime("%a %b %d %H:%M:%S %Y UTC")
