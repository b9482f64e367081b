"""The answers a radio user reads: IRC replies and store results rendered as short lines.

Pure functions used by the session core (`chat.py`): each takes what the server or the
store answered and returns the lines to show (a listing, paged by the core).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.session.render import (
    callsign_text,
    mail_sender,
    nick_of,
    split_ctcp,
    strip_formatting,
    who,
    wrap,
)
from ircd.protocol import Message

MAX_CHANNELS_SHOWN = 200


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def hhmm(server_time: str) -> str:
    """'HH:MM ' from an IRCv3 server-time tag (UTC), or '' if there is none."""
    ok = len(server_time) >= 16 and server_time[13] == ":"
    return f"{server_time[11:16]} " if ok else ""


@dataclass(frozen=True, slots=True)
class Context:
    """What the session knows that an answer needs."""

    #: Folded channel -> its name as the server spells it; the current one (folded).
    channels: Mapping[str, str]
    current: str | None
    width: int
    #: The server's case folding (its `casemapping`).
    fold: Callable[[str], str]
    #: The third-party rule for replayed messages.
    allowed: Callable[[Message], bool] = lambda m: True
    #: Whether topics (which name no account) may go on air.
    topics: bool = True
    #: Whether a channel's topic may go on air all the same: (channel, setter as 333
    #: names it, text) -> True when the user set it or saw an allowed sender set it.
    topic_vouched: Callable[[str, str, str], bool] = lambda _c, _s, _t: False
    #: Whether names IRC users chose go on air whoever chose them (`all`); if not, only
    #: channels `known_channel` (the user's, the sysop's) and nicks `named` (nick,
    #: host) are shown.
    names: bool = True
    known_channel: Callable[[str], bool] = lambda _channel: True
    named: Callable[[str, str], bool] = lambda _nick, _host: True
    #: Every replayed line names its sender, never `: ` (/SHOWNAMES).
    every_name: bool = False
    #: Replies past the session's bound, counted by command (rows of a long /LIST).
    more: Mapping[str, int] = field(default_factory=dict)


Answer = Callable[[str, list[Message], list[Message], Context], list[str]]


def answer_lines(kind: str, target: str, replies: list[Message], ctx: Context) -> list[str]:
    """What to show for a command the server answered (`replies` up to its PONG)."""
    errors = [m for m in replies if m.command.isdigit() and m.command[0] in "45"]
    if errors and kind not in _OWN_ERRORS:
        return [strip_formatting(errors[0].params[-1])]
    answer = _ANSWERS.get(kind)
    return answer(target, replies, errors, ctx) if answer is not None else []


#: A refused JOIN whose text names the channel someone else chose to send the user to.
FORWARDED = "470"


def _join(target: str, replies: list[Message], errors: list[Message], ctx: Context) -> list[str]:
    if ctx.fold(target) not in ctx.channels:
        if errors and not (errors[0].command == FORWARDED and not ctx.names):
            return [strip_formatting(errors[0].params[-1])]
        return [f"Could not join {target}."]
    count = sum(len(m.params[-1].split()) for m in replies if m.command == "353")
    topic = next((m.params[-1] for m in replies if m.command == "332"), "")
    users = plural(count, "user")
    if "353" in ctx.more:  # names past the session's bound: counted no further
        users = f"{count}+ users"
    text = f"Joined {ctx.channels[ctx.fold(target)]}, {users}."
    if topic and _topic_allowed(target, replies, topic, ctx):
        text += f" Topic: {strip_formatting(topic)}"
    return wrap(text, ctx.width) + history_lines(replies, ctx.width, ctx.allowed, ctx.every_name)


def _leave(target: str, _r: list[Message], _e: list[Message], ctx: Context) -> list[str]:
    name = ctx.channels.get(ctx.current) if ctx.current is not None else None
    now_in = f" Now in {name}." if name is not None else ""
    return [f"Left {target}.{now_in}"]


def _list(_t: str, replies: list[Message], _e: list[Message], ctx: Context) -> list[str]:
    rows = [m for m in replies if m.command == "322" and len(m.params) >= 4]
    shown = [m for m in rows if ctx.names or ctx.known_channel(m.params[1])]
    shown = shown[:MAX_CHANNELS_SHOWN]
    lines = [
        f"{m.params[1]} ({m.params[2]}) {_topic(m.params[3]) if ctx.topics else ''}".rstrip()
        for m in shown
    ]
    rest = len(rows) + ctx.more.get("322", 0) - len(shown)
    if rest:  # past the ones shown, or names chosen by anyone (third-party rule)
        why = "." if ctx.names else ", not named here."
        lines.append(f"+{plural(rest, 'other channel')}{why}")
    return lines or ["No channels."]


def _who(target: str, replies: list[Message], _e: list[Message], ctx: Context) -> list[str]:
    rows = [m for m in replies if m.command == "352" and len(m.params) >= 7]
    calls = [
        callsign_text(m.params[5]) + ("+" if "G" in m.params[6] else "")  # + is away
        for m in rows
        if ctx.named(m.params[5], m.params[3])
    ]
    total = len(rows) + ctx.more.get("352", 0)
    others = total - len(calls)  # nicks the rule keeps off the air, or past the bound
    if not rows:  # no such channel, an empty one, or one the server hides from us
        return [f"Nobody in {target}."]
    text = f"{target} ({total}): " + " ".join(calls)
    if others:
        text += (", " if calls else "") + plural(others, "other")
    return wrap(text, ctx.width)


def names_listed(replies: list[Message]) -> list[str]:
    """The nicks of NAMES replies (353), without their prefixes (@, +, multi-prefix)
    and hosts (userhost-in-names)."""
    return [
        entry.lstrip("~&@%+").split("!", 1)[0]
        for m in replies
        if m.command == "353" and m.params
        for entry in m.params[-1].split()
    ]


def _topic_answer(
    target: str, replies: list[Message], _e: list[Message], ctx: Context
) -> list[str]:
    if not any(m.command in ("331", "332") for m in replies):
        return ["Topic set."]
    topic = next((m.params[-1] for m in replies if m.command == "332"), None)
    if not topic:
        return ["No topic set."]
    if not _topic_allowed(target, replies, topic, ctx):
        return ["This topic is not relayed on air here (third-party rule)."]
    # Who set it, as the server's 333 says (a full source, a nick or a server), when
    # that name may go on air.
    setter = _setter(replies)
    nick = nick_of(setter)
    host = setter.rpartition("@")[2] if "@" in setter else ""
    by = f", set by {who(nick)}" if nick and (ctx.names or ctx.named(nick, host)) else ""
    return wrap(f"Topic of {target}{by}: {strip_formatting(topic)}", ctx.width)


def _setter(replies: list[Message]) -> str:
    return next((m.params[2] for m in replies if m.command == "333" and len(m.params) > 2), "")


def _topic_allowed(target: str, replies: list[Message], topic: str, ctx: Context) -> bool:
    return ctx.topics or ctx.topic_vouched(target, _setter(replies), topic)


def _away(_t: str, replies: list[Message], _e: list[Message], _ctx: Context) -> list[str]:
    return ["You are back." if any(m.command == "305" for m in replies) else "You are away."]


def _history(target: str, replies: list[Message], _e: list[Message], ctx: Context) -> list[str]:
    shown = history_lines(replies, ctx.width, ctx.allowed, ctx.every_name)
    return shown or [f"Nothing kept for {target}."]


#: One entry per kind of command the server answers (`ChatState.ask`).
_ANSWERS: Mapping[str, Answer] = MappingProxyType(
    {
        "join": _join,
        "leave": _leave,
        "list": _list,
        "who": _who,
        "topic": _topic_answer,
        "away": _away,
        "history": _history,
    }
)
#: Kinds that show errors their own way: a refused JOIN; history shows what came.
_OWN_ERRORS = frozenset({"join", "history"})


def history_lines(
    replies: list[Message],
    width: int,
    allowed: Callable[[Message], bool] = lambda m: True,
    every_name: bool = False,
) -> list[str]:
    """Messages replayed by CHATHISTORY (those `allowed` on air), each with its time
    unless it is the previous one's, and its sender's name unless the previous line
    is the same sender's (`: text`, as live lines; `every_name`: always): every byte
    on air counts."""
    out: list[str] = []
    last = ""
    above: str | None = None  # who said the line above (None: an action, a notice)
    for m, verb, text in _replayed(replies, allowed):
        name = who(nick_of(m.source))
        said = _said(m, verb)
        shown = "" if said and name == above and not every_name else name
        body = f"* {name} {text}" if verb else f"{shown}: {text}"
        stamp = hhmm(m.tags.get("time", ""))
        out += wrap(f"{stamp if stamp != last else ''}{body}", width)
        last = stamp
        above = name if said else None
    return out


def last_sayer(
    replies: list[Message], allowed: Callable[[Message], bool] = lambda m: True
) -> str | None:
    """Who said the last line `history_lines` shows, unless it is an action or a notice
    (a live line of theirs right under it starts with `: `)."""
    above = None
    for m, verb, _text in _replayed(replies, allowed):
        above = who(nick_of(m.source)) if _said(m, verb) else None
    return above


def _replayed(
    replies: list[Message], allowed: Callable[[Message], bool]
) -> Iterator[tuple[Message, str | None, str]]:
    """(message, CTCP verb, text) of each replayed message that may go on air."""
    for m in replies:
        if m.command not in ("PRIVMSG", "NOTICE") or len(m.params) < 2 or not allowed(m):
            continue
        verb, text = split_ctcp(m.params[1])
        if verb is None or verb == "ACTION":
            yield m, verb, strip_formatting(text)


def _said(m: Message, verb: str | None) -> bool:
    return verb is None and m.command == "PRIVMSG"


NO_SUCH_MESSAGE = "No such message."
#: `/NOTME`'s answer (gateway/auth/loginnotes.py `not_me`).
NOT_ME_DONE = (
    "Done: codes no longer log in on IRC as you (those logins end), and every place"
    " but this one is forgotten. Tell the sysop."
)


def fetched_lines(kind: str, target: str, result: object, width: int) -> list[str]:
    """What to show for a store answer (`gateway.chatstore` results)."""
    rows = list(result) if isinstance(result, list) else []
    if kind == "kill":
        return ["Deleted." if result else NO_SUCH_MESSAGE]
    if kind == "notme":
        return [NOT_ME_DONE]
    if kind == "new":
        parts = [f"{name} {count}" for name, count in rows if count]
        return ["New: " + ", ".join(parts) if parts else "Nothing new."]
    if kind in ("mail", "message"):  # all new (or kept) ones, or one by its number
        if not rows:
            return ["No messages." if kind == "mail" else NO_SUCH_MESSAGE]
        rows = [(m.n, m.at, mail_sender(m.sender, m.account), m.kind, m.text) for m in rows]
        return _numbered(rows, width)
    if not rows:
        return [f"Nothing new in {target}."]
    return _numbered([(r.n, r.at, who(r.nick), r.kind, r.text) for r in rows], width)


def _numbered(rows: list[tuple[int, float, str, str, str]], width: int) -> list[str]:
    """Stored messages, numbered; the day only when it is not the previous one's."""
    lines: list[str] = []
    day = ""
    for n, at, sender, kind, text in rows:
        when = _when(at)
        shown = when if when[:6] != day else when[7:]
        day = when[:6]
        sep = " " if kind == "ACTION" else ": "
        lines += wrap(f"{n} {shown} {sender}{sep}{strip_formatting(text)}", width)
    return lines


def _topic(text: str) -> str:
    """A LIST topic without the channel modes servers put before it ("[+nt] ...")."""
    return strip_formatting(_LIST_MODES.sub("", text, count=1))


_LIST_MODES = re.compile(r"\A\[\+[^\]]*\]\s*")


def _when(at: float) -> str:
    return time.strftime("%d %b %H:%MZ", time.gmtime(at))
