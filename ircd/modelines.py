"""Applied mode changes as MODE lines that each fit in 512 bytes, source and CRLF counted.

One MODE command can apply changes that make a longer line than the command was: the
server adds its `:nick!user@host` source and normalizes masks (`u@h` -> `*!u@h`). Cut on
the wire, members would see fewer changes than were applied, or a broken last mask. As
InspIRCd (`ClientProtocol::Messages::Mode`) and Ergo do, the changes go out over as many
lines as needed, in the order applied, each line a complete set of (sign, letter,
argument) that starts with its sign and holds at most ISUPPORT MODES arguments.

Each change fits in a line of its own: list masks are at most `MAX_MASK_LEN` bytes plus
the 4 normalizing adds, keys `KEYLEN` characters, nicks `nicklen` (at most 64), so with
the longest source (nick, `USERLEN`, `HOSTLEN`) and channel name (64) a line still has
room for one. (A change too long anyway would go alone on its line, never dropped.)
"""

from __future__ import annotations

from collections.abc import Iterable

from ircd.isupport import MAX_MODES
from ircd.protocol import MAX_BODY, Message

#: One applied change: (sign, letter, the argument shown in the MODE line or None).
Change = tuple[str, str, str | None]


def mode_messages(
    source: str, target: str, changes: Iterable[Change], tags: dict[str, str]
) -> list[Message]:
    """The MODE messages announcing `changes` to `target`, from `source`, with `tags`
    (the tags have a budget of their own: only the body counts toward 512 bytes)."""
    budget = MAX_BODY - len(f":{source} MODE {target} \r\n".encode())
    return [
        Message(source=source, command="MODE", params=(target, *format_changes(chunk)), tags=tags)
        for chunk in split_changes(changes, budget)
    ]


def split_changes(changes: Iterable[Change], budget: int) -> list[list[Change]]:
    """`changes` in order, cut into runs whose modestring and arguments (spaces between
    them counted) take at most `budget` bytes and hold at most MAX_MODES arguments."""
    runs: list[list[Change]] = []
    run: list[Change] = []
    used = args = 0
    sign = ""
    for change in changes:
        change_sign, letter, arg = change
        size = len(letter) + (0 if arg is None else 1 + len(arg.encode()))
        full = arg is not None and args == MAX_MODES
        if run and (full or used + size + (change_sign != sign) > budget):
            runs.append(run)
            run, used, args, sign = [], 0, 0, ""
        used += size + (change_sign != sign)
        args += arg is not None
        sign = change_sign
        run.append(change)
    if run:
        runs.append(run)
    return runs


def format_changes(changes: Iterable[Change]) -> tuple[str, ...]:
    """("+", "o", "nick"), ("-", "t", None) -> ("+o-t", "nick")."""
    letters = ""
    args: list[str] = []
    sign = ""
    for change_sign, letter, arg in changes:
        if change_sign != sign:
            letters += change_sign
            sign = change_sign
        letters += letter
        if arg is not None:
            args.append(arg)
    return (letters, *args)
