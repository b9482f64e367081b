"""The command language of radio users: names, shortest forms, help.

As on XRchat, convers and BPQ Chat: a command starts with `/`, case does not matter,
and any unique prefix works (`/J` = `/JOIN`). Each command also has a documented
shortest form that wins over the others (`/A` is `/ALERT`, as on XRchat, though
`/AWAY` starts with A too; `/S` is BPQ Chat's send, though `/STAMP` starts with S).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    shortest: str
    syntax: str
    help: str


_TABLE = (
    Command("JOIN", "J", "/J[OIN] #chan", "join a channel; it becomes current (/J 22 = #22)"),
    Command("LEAVE", "LE", "/LE[AVE] [#chan]", "leave the current channel, or #chan"),
    Command("PART", "P", "/P[ART] [#chan]", "same as /LEAVE"),
    Command("CHANNEL", "C", "/C[HANNEL] [#chan]", "show your channels, or make #chan current"),
    Command("LIST", "LI", "/LI[ST]", "channels with user counts and topics"),
    Command("WHO", "W", "/W[HO] [#chan]", "who is in the current channel, or #chan"),
    Command("MSG", "M", "/M[SG] CALL text", "private message (also /S CALL text)"),
    Command("S", "S", "/S CALL text", "private message, as in BPQ Chat"),
    Command("ME", "ME", "/ME text", "an action: * CALL text"),
    Command("TOPIC", "T", "/T[OPIC] [text]", "show or set the current channel's topic"),
    Command("AWAY", "AW", "/AW[AY] [text]", "mark yourself away, or back without text"),
    Command("ALERT", "A", "/A[LERT] [ON|OFF]", "join/leave notices (default off)"),
    Command("STAMP", "ST", "/ST[AMP] [ON|OFF]", "HH:MM (UTC) before each line (default off)"),
    Command("READ", "R", "/R[EAD] [n | #chan [n]]", "new private messages, or a channel's news"),
    Command("KILL", "K", "/K[ILL] n", "delete private message n"),
    Command("NEW", "N", "/N[EW]", "new messages per archived channel"),
    Command("INFO", "I", "/I[NFO]", "your callsign, link and login time"),
    Command("HELP", "H", "/H[ELP] [cmd]", "this list, or help on one command (also /?)"),
    Command("BYE", "B", "/B[YE]", "log out"),
    Command("QUIT", "Q", "/Q[UIT]", "log out"),
)
COMMANDS: Mapping[str, Command] = MappingProxyType({c.name: c for c in _TABLE})
#: Words that work without a slash while the user is in no channel, as at a node prompt.
BARE_WORDS: frozenset[str] = frozenset({"B", "BYE", "Q", "QUIT", "H", "HELP", "?", "I", "INFO"})

HELP_TEXT = "\n".join(
    ["Commands (any unique prefix works; text without / goes to the current channel):"]
    + [f" {c.syntax:<24}{c.help}" for c in _TABLE if c.name not in ("PART", "QUIT", "S")]
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
    matches = [c for c in _TABLE if c.name.startswith(word)]
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
