"""The command language of radio users: one table of commands, each with its handler.

As on XRchat, convers and BPQ Chat: a command starts with `/`, case does not matter,
and any unique prefix works (`/J` = `/JOIN`). Each command also has a documented
shortest form that wins over the others (`/A` is `/ALERT`, as on XRchat, though
`/AWAY` starts with A too; `/S` is BPQ Chat's send, though `/STAMP` starts with S).
`/SHOWNAMES` is BPQ Chat's name for its own switch of what each line names.

A handler gets the session's state (`chatstate.ChatState`), its own table entry and
the rest of the line, and says, asks or fetches through the state's primitives.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from gateway.session.chatanswers import NO_SUCH_MESSAGE
from gateway.session.chatstate import MAX_HISTORY, ChatState
from gateway.session.chattypes import Fetch, SavePref
from gateway.session.render import nick_from_typed

#: A message number as typed: ASCII digits only (str.isdigit takes "²"), bounded.
NUMBER = re.compile(r"[0-9]{1,9}")
#: What was meant as a number, good or not (`/READ -1`): never a channel's name.
BAD_NUMBER = re.compile(r"[-+]?[0-9]+")
#: Commands /? does not list, nor an ambiguous prefix: offered where they are needed.
HIDDEN = frozenset({"NOTME"})

Handler = Callable[[ChatState, "Command", str], None]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    shortest: str
    syntax: str
    help: str
    handler: Handler = field(repr=False, compare=False)


# -- the handlers, in the order of the table --------------------------------------------------


def _join(s: ChatState, _c: Command, args: str) -> None:
    name = s.channel_name(args)
    if name is None:
        s.say("Usage: /JOIN #chan")
        return
    _one_channel(s, args)
    if s.fold(name) in s.channels:
        s.current = s.fold(name)
        s.say(f"Now in {s.channels[s.current]}.")
        return
    lines = [f"JOIN {name}"]
    history = s.settings.join_history if s.join_history is None else s.join_history
    if history and s.history:
        lines.append(f"CHATHISTORY LATEST {name} * {history}")
    s.ask("join", *lines, target=name)


def _one_channel(s: ChatState, args: str) -> None:
    """/JOIN, /LEAVE and /WHO take one channel, as on convers: the words after it are
    said to be ignored rather than dropped silently."""
    rest = args.split()[1:]
    if rest:
        s.say(f"One channel at a time: {' '.join(rest)} ignored.")


def _leave(s: ChatState, _c: Command, args: str) -> None:
    target = s.channel_arg(args)
    if target is None:
        return
    _one_channel(s, args)
    if s.fold(target) not in s.channels:
        s.say(f"You are not in {target}.")
        return
    s.ask("leave", f"PART {target}", target=target)


def _channel(s: ChatState, _c: Command, args: str) -> None:
    if args:
        name = s.channel_name(args)
        if name is None or s.fold(name) not in s.channels:
            s.say(f"You are not in {args}: /J {args} to join.")
            return
        s.current = s.fold(name)
        s.say(f"Now in {s.channels[s.current]}.")
        return
    if not s.channels:
        s.say("You are in no channel.")
        return
    names = [("*" if f == s.current else "") + n for f, n in s.channels.items()]
    s.say("Channels: " + " ".join(names))


def _list(s: ChatState, _c: Command, _args: str) -> None:
    s.ask("list", "LIST")


def _who(s: ChatState, _c: Command, args: str) -> None:
    target = s.channel_arg(args)
    if target is not None:
        _one_channel(s, args)
        s.ask("who", f"WHO {target}", target=target)


def _msg(s: ChatState, command: Command, args: str) -> None:
    to, _, text = args.partition(" ")
    if not to or not text.strip():
        s.say(f"Usage: {command.syntax}")
    else:
        s.send_text(nick_from_typed(to), text.strip())


def _me(s: ChatState, _c: Command, args: str) -> None:
    if s.current is None or not args:
        s.say("Usage: /ME text, in a channel")
    else:
        s.send_text(s.current, f"\x01ACTION {args}\x01")


def _topic(s: ChatState, _c: Command, args: str) -> None:
    if s.current is None:
        s.say("You are in no channel.")
        return
    name = s.channels[s.current]
    if args:
        s.ask("topic", f"TOPIC {name} :{args}", target=name)
    else:
        s.ask("topic", f"TOPIC {name}", target=name)


def _away(s: ChatState, _c: Command, args: str) -> None:
    s.ask("away", f"AWAY :{args}" if args else "AWAY")


def _on_off(name: str, args: str, current: bool, say: Callable[[str], None]) -> bool | None:
    """ON, OFF or nothing (toggle) for /ALERT, /STAMP, /SHOWNAMES; None (and why)
    otherwise."""
    word = args.upper()
    if word in ("ON", "OFF"):
        return word == "ON"
    if not word:
        return not current
    say(f"Usage: /{name} [ON|OFF]")
    return None


def _alert(s: ChatState, c: Command, args: str) -> None:
    value = _on_off(c.name, args, s.alert, s.say)
    if value is not None:
        s.alert = value
        s.emit(SavePref("alert", int(value)))
        s.say(f"Alert {'on' if value else 'off'}.")


def _stamp(s: ChatState, c: Command, args: str) -> None:
    value = _on_off(c.name, args, s.stamp, s.say)
    if value is not None:
        s.stamp = value
        s.emit(SavePref("stamp", int(value)))
        s.say(f"Stamp {'on' if value else 'off'}.")


def _show_names(s: ChatState, c: Command, args: str) -> None:
    value = _on_off(c.name, args, s.show_names, s.say)
    if value is not None:
        s.show_names = value
        s.emit(SavePref("shownames", int(value)))
        s.say(f"ShowNames {'on' if value else 'off'}.")


def _history(s: ChatState, c: Command, args: str) -> None:
    if args and (not NUMBER.fullmatch(args) or int(args) > MAX_HISTORY):
        s.say(f"Usage: {c.syntax}, n up to {MAX_HISTORY}")
        return
    if args:
        s.join_history = int(args)
        s.emit(SavePref("history", s.join_history))
    lines = s.settings.join_history if s.join_history is None else s.join_history
    s.say(f"History on /JOIN: {lines} lines.")


def _read(s: ChatState, _c: Command, args: str) -> None:
    words = args.split()
    if not words:
        s.fetch(Fetch("mail"))
        return
    if BAD_NUMBER.fullmatch(words[0]) and len(words) == 1:
        if NUMBER.fullmatch(words[0]):
            s.fetch(Fetch("mail", number=int(words[0])), answer="message")
        else:  # -1, or past any number a mailbox holds: not a channel's name
            s.say(NO_SUCH_MESSAGE)
        return
    name = s.channel_name(words[0])
    start = words[1] if len(words) > 1 else None
    if name is None or (start is not None and not NUMBER.fullmatch(start)) or len(words) > 2:
        s.say("Usage: /READ, /READ n, /READ #chan [n]")
        return
    _read_channel(s, name, int(start) if start is not None else None)


def _read_channel(s: ChatState, name: str, number: int | None) -> None:
    """/READ #chan [n]: the gateway's archive, else the server's history."""
    limit = s.settings.read_lines
    folded = s.fold(name)
    if folded in s.settings.archived:
        s.fetch(Fetch("archive", number=number, channel=folded, limit=limit))
    elif folded not in s.channels:
        s.say(f"{name} is not archived here: /J {name} to join it.")
    elif not s.history:
        s.say(f"This IRC network keeps no history of {name}.")
    else:
        s.ask("history", f"CHATHISTORY LATEST {name} * {limit}", target=name)


def _kill(s: ChatState, _c: Command, args: str) -> None:
    if not NUMBER.fullmatch(args):
        s.say("Usage: /KILL n (the number /READ shows)")
    else:
        s.fetch(Fetch("kill", number=int(args)))


def _new(s: ChatState, _c: Command, _args: str) -> None:
    if not s.settings.archived:
        s.say("No channels are archived here.")
    else:
        s.fetch(Fetch("new"))


def _info(s: ChatState, _c: Command, _args: str) -> None:
    since = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(s.since))
    text = f"You are {s.callsign}, via {s.settings.via}, since {since}."
    if s.nick != str(s.callsign):
        text += f" IRC nick: {s.nick}"
    s.say(text)


def _help(s: ChatState, _c: Command, args: str) -> None:
    s.listing(help_for(args or "HELP").split("\n"))


def _not_me(s: ChatState, _c: Command, _args: str) -> None:
    # It forgets familiar sources at once: only as the answer to a note shown at this
    # login (`Not you? /NO`), never by a stray /NO.
    if not s.deniable:
        s.say("No login was reported to you at this login: nothing to undo.")
        return
    s.fetch(Fetch("notme"))


def _bye(s: ChatState, _c: Command, _args: str) -> None:
    s.end("73!", "bye")


_TABLE = (
    Command("JOIN", "J", "/J[OIN] #chan", "join a channel; it becomes current (/J 22 = #22)",
            _join),
    Command("LEAVE", "LE", "/LE[AVE] [#chan]", "leave the current channel, or #chan", _leave),
    Command("PART", "P", "/P[ART] [#chan]", "same as /LEAVE", _leave),
    Command("CHANNEL", "C", "/C[HANNEL] [#chan]", "show your channels, or make #chan current",
            _channel),
    Command("LIST", "LI", "/LI[ST]", "channels with user counts and topics", _list),
    Command("WHO", "W", "/W[HO] [#chan]", "who is in the current channel, or #chan", _who),
    Command("MSG", "M", "/M[SG] CALL text", "private message (also /S CALL text)", _msg),
    Command("S", "S", "/S CALL text", "private message, as in BPQ Chat", _msg),
    Command("ME", "ME", "/ME text", "an action: * CALL text", _me),
    Command("TOPIC", "T", "/T[OPIC] [text]", "show or set the current channel's topic", _topic),
    Command("AWAY", "AW", "/AW[AY] [text]", "mark yourself away, or back without text", _away),
    Command("ALERT", "A", "/A[LERT] [ON|OFF]", "join/leave notices (default off)", _alert),
    Command("STAMP", "ST", "/ST[AMP] [ON|OFF]", "HH:MM (UTC) before each line (default off)",
            _stamp),
    Command("SHOWNAMES", "SH", "/SH[OWNAMES] [ON|OFF]",
            "name the sender on every line (default off)", _show_names),
    Command("HISTORY", "HI", "/HI[STORY] [n]", "lines shown on /JOIN, kept for you",
            _history),
    Command("READ", "R", "/R[EAD] [n | #chan [n]]", "new private messages, or a channel's news",
            _read),
    Command("KILL", "K", "/K[ILL] n", "delete private message n", _kill),
    Command("NEW", "N", "/N[EW]", "new messages per archived channel", _new),
    Command("INFO", "I", "/I[NFO]", "your callsign, link and login time", _info),
    Command("HELP", "H", "/H[ELP] [cmd]", "this list, or help on one command (also /?)", _help),
    Command("NOTME", "NO", "/NO[TME]", "a login the gateway told you of was not yours",
            _not_me),
    Command("BYE", "B", "/B[YE]", "log out", _bye),
    Command("QUIT", "Q", "/Q[UIT]", "log out", _bye),
)  # fmt: skip
COMMANDS: Mapping[str, Command] = MappingProxyType({c.name: c for c in _TABLE})
#: Words that work without a slash while the user is in no channel, as at a node prompt.
BARE_WORDS: frozenset[str] = frozenset({"B", "BYE", "Q", "QUIT", "H", "HELP", "?", "I", "INFO"})

HELP_TEXT = "\n".join(
    ["Commands (any unique prefix works; text without / goes to the current channel):"]
    # /NOTME is offered where it is needed: with the notes at login.
    + [f" {c.syntax:<24}{c.help}" for c in _TABLE if c.name not in {"PART", "QUIT", "S"} | HIDDEN]
    + [" An empty line stops a long listing."]
)


def resolve(word: str) -> Command | list[Command]:
    """The command `word` names (without its slash), or the candidates if it is ambiguous
    (an empty list when nothing matches)."""
    word = word.upper()
    if word == "?":
        return COMMANDS["HELP"]
    exact = COMMANDS.get(word)
    if exact is not None:
        return exact
    for command in _TABLE:
        if word.startswith(command.shortest) and command.name.startswith(word):
            return command
    matches = [c for c in _TABLE if c.name.startswith(word) and c.name not in HIDDEN]
    return matches[0] if len(matches) == 1 else matches


def help_for(word: str) -> str:
    found = resolve(word.removeprefix("/"))
    if isinstance(found, Command):
        if found.name == "HELP":
            return HELP_TEXT
        return f"{found.syntax}: {found.help}"
    if found:
        return "Ambiguous: " + " ".join("/" + c.name for c in found)
    return f"No command {word}. /? lists them."
