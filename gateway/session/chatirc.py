"""What a chat session does with each IRC message no command of the user waits for.

One table, `REACTIONS`: each IRC command the core reacts to is one entry (the fewest
parameters it needs and its handler); commands not in it (MODE, CAP, BATCH, ...) are
not for the air. Error numerics (4xx, 5xx) share one entry. PING and PONG are the
session's own exchange with the server and stay in the core (`chat.py`), as do the
replies collected for a command that waits for them.

Under a third-party rule other than `all`, no name an IRC user who may not be on air
chose reaches the air either: such users are `someone` (`ChatState.name_of`), a
channel the server put the user in without a /JOIN is left, and a server's notice to
a channel (which quotes nicks) is not shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.session.chatanswers import FORWARDED
from gateway.session.chatnames import SOMEONE
from gateway.session.chatstate import ChatState
from gateway.session.chattypes import HoldMail, Irc, LeftUnasked, Relayed
from gateway.session.outbox import PRIVATE
from gateway.session.render import callsign_text, nick_of, reason_kind, split_ctcp, who
from gateway.session.render import strip_formatting as _clean
from ircd.protocol import Message

#: Quit reasons a server writes with an operator's words in them (a kill, a ban).
_SERVER_QUIT = re.compile(r"Killed \(|[A-Z]-[Ll]ined: |Banned|Closing Link: ")
#: A netsplit's QUIT reason: the two servers' names (`*.net *.split` where hidden).
_SPLIT = re.compile(r"[\w*-]+(?:\.[\w*-]+)+ [\w*-]+(?:\.[\w*-]+)+")
#: Numerics that refuse a JOIN (no such channel, full, invite only, banned, key...).
JOIN_REFUSED = frozenset({"403", "405", "471", "473", "474", "475", "477", "489"})
#: The reason of the PART from a channel the server put the user in (seen on IRC).
UNASKED_PART = "Put here without /JOIN; left (third-party rule)"


@dataclass(frozen=True, slots=True)
class Reaction:
    #: Fewer parameters than this and the message is not shown.
    min_params: int
    handler: Callable[[ChatState, Message, float], None]


def reaction_for(command: str) -> Reaction | None:
    """The entry for `command`, or None when the core ignores it."""
    found = REACTIONS.get(command)
    if found is None and command.isdigit() and command[0] in "45":
        return _ERROR
    return found


def _message(s: ChatState, msg: Message, now: float) -> None:
    """PRIVMSG and NOTICE: to a channel, to the user, or a server's notice."""
    target, raw = msg.params[0], msg.params[1]
    verb, text = split_ctcp(raw)
    if verb is not None and verb != "ACTION":
        return  # CTCP queries are not for the air
    source = nick_of(msg.source)
    if source is None or "!" not in (msg.source or ""):
        if target.lstrip("@%+~&").startswith("#") and not s.names_shown():
            return  # to a channel's members: InspIRCd's "X invited Y", knocks...
        s.note(f"-{msg.source or 'server'}- {_clean(text)}")  # a server notice
        return
    refusal = s.saw_sender(msg, tagged=True)
    if target.startswith("#") and s.foreign(target):
        return
    if refusal is not None:
        s.refuse(source, refusal, now)
        return
    text = _clean(text)
    name = who(source)
    body = _body(msg.command, verb, name, text, private=_marked(s, msg, target))
    if s.settings.report_relayed:
        s.emit(Relayed("to_air", target, source, text))
    if target.startswith("#"):
        said = msg.command == "PRIVMSG" and verb is None
        s.chat(target, body, sender=name if said else None)
    elif not s.chat(PRIVATE, body, current=True):
        kind = "ACTION" if verb else msg.command
        s.hold_private(HoldMail(source, kind, text, msg.tags.get("account") or ""))


def _marked(s: ChatState, msg: Message, target: str) -> bool:
    """Whether a line to `target` carries the private mark: not this gateway's own
    notices (its service nick, by its full source), which are private by nature."""
    if target.startswith("#"):
        return False
    if msg.command != "NOTICE":
        return True
    nick = nick_of(msg.source) or ""
    own = s.fold(nick) == s.fold(s.settings.service_nick)
    return not (own and s.settings.trusted(msg.source or ""))


def _body(command: str, verb: str | None, name: str, text: str, *, private: bool) -> str:
    # A private action or notice carries the mark of private messages, `*name*`, for
    # two bytes: else it would pass for one said in the current channel.
    if verb == "ACTION":
        return f"*{name}* * {text}" if private else f"* {name} {text}"
    if command == "NOTICE":
        return f"*-{name}-* {text}" if private else f"-{name}- {text}"
    return f"*{name}* {text}" if private else f"{name}: {text}"


def _join(s: ChatState, msg: Message, now: float) -> None:
    channel = msg.params[0]
    source = nick_of(msg.source)
    if s.is_me(source):
        if not s.names_shown() and not s.asked_to_join(channel):
            # Put there by the server (a RENAME, a forward, SAJOIN): the name was chosen
            # by someone the rule may keep off the air, and would head every line.
            s.emit(Irc(f"PART {channel} :{UNASKED_PART}"))
            s.emit(LeftUnasked(channel))  # the operator who did it hears of it
            s.note("Put in a channel you did not join; left it (third-party rule).")
            return
        if s.fold(channel) not in s.channels:  # a rejoin keeps the current
            s.current = s.fold(channel)
        s.rejoining.discard(s.fold(channel))
        s.channels[s.fold(channel)] = channel
        return
    s.saw_sender(msg, tagged=True)
    if s.alert and not s.foreign(channel):
        s.alert_line(channel, f"* {s.name_of(msg.source)} joined {channel}", now)


def _part(s: ChatState, msg: Message, now: float) -> None:
    channel = msg.params[0]
    source = nick_of(msg.source)
    mine = s.is_me(source)
    s.saw_sender(msg, tagged=False)
    if s.alert and not mine and not s.foreign(channel):
        s.alert_line(channel, f"* {s.name_of(msg.source)} left {channel}", now)
    if mine and s.fold(channel) in s.channels and not s.asked_to_leave(channel):
        # SAPART (or a RENAME): told in one line, as a kick is; the reason is the
        # operator's words, shown only when the rule lets anyone's names on air.
        reason = _clean(msg.params[1]) if len(msg.params) > 1 and s.names_shown() else ""
        s.note(f"Removed from {channel} by an operator" + (f": {reason}" if reason else "."))
    if mine:
        s.forget_channel(channel)


def _kick(s: ChatState, msg: Message, now: float) -> None:
    channel = msg.params[0]
    victim = msg.params[1] if len(msg.params) > 1 else ""
    reason = msg.params[2] if len(msg.params) > 2 and s.allowed(msg) else ""
    s.saw_sender(msg, tagged=False)
    if s.foreign(channel):
        return
    if s.is_me(victim):
        s.note(f"Kicked from {channel} by {s.name_of(msg.source)}" + (
            f": {_clean(reason)}" if reason else "."))  # fmt: skip
        s.forget_channel(channel)
    elif s.alert:
        s.alert_line(channel, f"* {s.name_of(victim)} was kicked from {channel}", now)


def _quit(s: ChatState, msg: Message, now: float) -> None:
    s.saw_sender(msg, tagged=False)
    name = s.name_of(msg.source)
    s.vouched.forget(s.fold(nick_of(msg.source) or ""))
    if msg.params and _SPLIT.fullmatch(msg.params[0]):
        s.split_seen(msg.params[0], now, named=s.allowed(msg))
    if not s.alert:
        return
    shown = msg.params and msg.params[0] and s.allowed(msg)
    reason = _clean(msg.params[0]) if shown else ""
    if _SERVER_QUIT.match(reason) and not s.names_shown():
        reason = reason_kind(reason)  # `Killed (op (words))`: the operator's words
    reason = f" ({reason})" if reason else ""
    s.alert_line(None, f"* {name} quit{reason}", now)


def _nick(s: ChatState, msg: Message, now: float) -> None:
    source = nick_of(msg.source) or ""
    s.saw_sender(msg, tagged=False)
    new = msg.params[0]
    # Both nicks are named when the old one may be (its holder chose the new one);
    # otherwise neither is.
    named = s.name_of(msg.source) != SOMEONE
    s.vouched.renamed(s.fold(source), s.fold(new), named)
    if s.alert and not s.is_me(source):
        text = f"* {who(source)} is now {who(new)}" if named else "* someone changed nick"
        s.alert_line(None, text, now)


def _topic(s: ChatState, msg: Message, _now: float) -> None:
    s.saw_sender(msg, tagged=False)  # a setter the rule allows is named in /TOPIC
    s.topic_seen(msg.params[0], msg.params[1], s.allowed(msg))
    # The user's own change is not echoed (their /TOPIC answers `Topic set.`).
    if s.allowed(msg) and not s.foreign(msg.params[0]) and not s.is_me(nick_of(msg.source)):
        s.chat(msg.params[0], f"{msg.params[0]} topic by {who(nick_of(msg.source))}: "
               f"{_clean(msg.params[1])}")  # fmt: skip


def _kill(s: ChatState, msg: Message, _now: float) -> None:
    reason = _clean(msg.params[-1]) if len(msg.params) > 1 else ""
    by = who(msg.source)  # a server's (its name and words are the sysop's)
    if "!" in (msg.source or ""):
        # An operator's: named, and their words shown, only as the rule allows.
        by = s.name_of(msg.source)
        if by == SOMEONE and not s.allowed(msg):
            reason = ""
    s.note(f"Killed by {by}" + (f": {reason}" if reason else "."))


def _error(s: ChatState, msg: Message, _now: float) -> None:
    """An error numeric no command waited for (a /MSG to nobody, a refused rejoin)."""
    about = f"{callsign_text(msg.params[1])}: " if len(msg.params) >= 3 else ""
    text = _clean(msg.params[-1])
    if msg.command == FORWARDED and not s.names_shown():
        text = "forwarded to another channel"  # whose name someone else chose
    if msg.command == "404":  # "Cannot send to channel (+b m:): you are muted" -> short
        text = "not sent, " + text.rpartition("): ")[2]
    s.note(about + text)
    if msg.command in JOIN_REFUSED and s.fold(msg.params[1]) in s.rejoining:
        s.rejoining.discard(s.fold(msg.params[1]))  # not back in it after all
        s.forget_channel(msg.params[1])


def _away(s: ChatState, msg: Message, _now: float) -> None:
    """301: the target of a /MSG is away."""
    text = f": {_clean(msg.params[2])}" if s.topics_shown() else "."
    s.note(f"{callsign_text(msg.params[1])} is away{text}")


_ERROR = Reaction(2, _error)
REACTIONS: Mapping[str, Reaction] = MappingProxyType(
    {
        "PRIVMSG": Reaction(2, _message),
        "NOTICE": Reaction(2, _message),
        "JOIN": Reaction(1, _join),
        "PART": Reaction(1, _part),
        "KICK": Reaction(1, _kick),
        "QUIT": Reaction(0, _quit),
        "NICK": Reaction(1, _nick),
        "TOPIC": Reaction(2, _topic),
        "KILL": Reaction(0, _kill),
        "301": Reaction(3, _away),
    }
)
