"""The command loop after login: a seam for the full command language to come.

`handle(info, line)` is pure: it returns the text to send and whether to end the
session. Commands are short and case-insensitive, as on BPQ Chat and packet BBSes;
a leading '/' is accepted too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from gateway.callsign import Callsign

PROMPT = "> "


@dataclass(frozen=True, slots=True)
class SessionInfo:
    callsign: Callsign
    via: str  # e.g. "telnet 127.0.0.1:8023 (BPQ)"
    since: float  # Unix time of login


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    close: bool = False


HELP = (
    "Commands:\n"
    " H       this help\n"
    " I       who am I\n"
    " B       bye (log out)\n"
    "An empty line stops long output."
)


def _help(info: SessionInfo, args: str) -> Reply:
    return Reply(HELP)


def _whoami(info: SessionInfo, args: str) -> Reply:
    since = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(info.since))
    return Reply(f"You are {info.callsign}, via {info.via}, since {since}.")


def _bye(info: SessionInfo, args: str) -> Reply:
    return Reply("73!", close=True)


_COMMANDS: Mapping[str, Callable[[SessionInfo, str], Reply]] = MappingProxyType(
    {
        "H": _help,
        "HELP": _help,
        "?": _help,
        "I": _whoami,
        "WHOAMI": _whoami,
        "B": _bye,
        "BYE": _bye,
        "Q": _bye,
        "QUIT": _bye,
    }
)


def handle(info: SessionInfo, line: str) -> Reply | None:
    """Answer one line; None for an empty line (nothing to do but prompt again)."""
    text = line.strip()
    if not text:
        return None
    verb, _, args = text.partition(" ")
    handler = _COMMANDS.get(verb.upper().removeprefix("/"))
    if handler is None:
        return Reply("Unknown command. H for help.")
    return handler(info, args.strip())
