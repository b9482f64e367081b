"""Server notice masks: which server notices an operator sees (user mode +s <mask>).

As on InspIRCd: `MODE <nick> +s +cq` adds letters, `-s` (or `+s -cq`) removes them;
RPL_SNOMASK (008) says what is set. Operators get `DEFAULT` when they OPER. Every server
notice has a letter and reads `*** TITLE: text`; each also goes to the log: at INFO for
operator-relevant events, at DEBUG for the connection traffic that `python -m ircd -v`
promises.

Repeats are collapsed (`ircd.repeats`): a notice of the same kind from the same source
(or the same text) within 30 seconds of the one shown is held and counted, and one line
says `last message repeated N times: <the latest>` when the window ends (the
keepalive tick, or the next notice, notices the end). 200 failed OPERs from one address
are two lines a window, not 200, for operators and in the log alike: a flood of
connections failing SASL or a password must not fill the disk (hostile review, finding 6).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

log = logging.getLogger("ircd.snotice")


@dataclass(frozen=True, slots=True)
class Letter:
    #: The word in the notice (`*** TITLE: text`), as InspIRCd writes it.
    title: str
    #: What the letter shows, in short (docs/OPERATORS.md has the table).
    shows: str
    #: The log level its notices are written at.
    level: int


_I, _D = logging.INFO, logging.DEBUG
#: Letter -> its title, what it shows, and its log level. c to g as InspIRCd; r, p, l
#: and u are the gateway's (an embedder's notices use them through `notice_opers`).
LETTERS: Final = MappingProxyType(
    {
        "c": Letter("CONNECT", "connects: port, TLS, address, realname, account", _D),
        "q": Letter("QUIT", "quits, with address and reason", _D),
        "n": Letter("NICK", "nick changes", _D),
        "o": Letter("OPER", "OPER attempts, failed and successful; wrong PASS", _I),
        "x": Letter("XLINE", "K/G/Z-lines set, removed and hit", _I),
        "t": Letter("THROTTLE", "connections refused: rate, count per address, throttle, full", _I),
        "k": Letter("KILL", "kills by operators", _I),
        "f": Letter("FLOOD", "flood disconnects; spamfilters set, removed, hit (FILTER)", _I),
        "a": Letter("ANNOUNCEMENT", "operator overrides (SA*, CHGHOST), REHASH, DIE", _I),
        "g": Letter("GLOBOPS", "GLOBOPS, messages to all operators", _I),
        "r": Letter("RADIO", "the radio side: TNC, transmitter, duty cycle, RADIO actions", _I),
        "p": Letter("THIRDPARTY", "IRC text kept off the air by the third-party rule", _I),
        "l": Letter("RADIOLOGIN", "radio logins and failed ones; guessing alerts", _I),
        "u": Letter("SASL", "SASL logins and failed ones", _I),
    }
)
#: What a new operator gets: the events that call for action, not the traffic (c, q, n).
DEFAULT: Final = "afgkloprux"


def apply(current: str, change: str) -> str:
    """`current` letters after `change` ("+cq-x", "cq" meaning "+cq"); unknown ones dropped."""
    letters = set(current)
    adding = True
    for ch in change:
        if ch in "+-":
            adding = ch == "+"
        elif ch == "*":
            letters = set(LETTERS) if adding else set()
        elif ch in LETTERS:
            (letters.add if adding else letters.discard)(ch)
    return "".join(sorted(letters))


def snotice(
    server: Context,
    letter: str,
    text: str,
    rb: ReplyBuffer | None = None,
    *,
    kind: str = "",
    source: str = "",
    title: str = "",
) -> None:
    """Send `*** TITLE: text` to operators whose mask holds `letter`, and log it.

    Repeats within the window are held: of the same `kind` from the same `source` when a
    kind is given, else of the same text. The operator whose command caused it gets it
    through `rb`, after their replies, whatever their mask and however often: it is the
    answer to what they did. `title` replaces the letter's (f: FILTER).
    """
    spec = LETTERS[letter]
    title = title or spec.title
    flush_repeats(server)
    line = f"*** {title}: {text}"
    acting = rb.client if rb is not None and rb.client.oper is not None else None
    if rb is not None and acting is not None:
        rb.add(Message(source=server.name, command="NOTICE", params=(acting.name, line)))
    key = (letter, kind, source) if kind else (letter, title, text)
    if server.snotice_repeats.offer(key, title, text, server.clock()):
        log.log(spec.level, "%s: %s", title, text)
        _send(server, letter, line, acting)


def flush_repeats(server: Context) -> None:
    """Send and log the "repeated" lines of the windows that ended (also on the keepalive
    tick)."""
    for letter, title, count, latest in server.snotice_repeats.ended(server.clock()):
        times = "1 time" if count == 1 else f"{count} times"
        text = f"last message repeated {times}: {latest}"
        log.log(LETTERS[letter].level, "%s: %s", title, text)
        _send(server, letter, f"*** {title}: {text}")


def _send(server: Context, letter: str, line: str, besides: Client | None = None) -> None:
    for oper in server.opers_with(letter):
        if oper is not besides:
            server.send(
                oper, Message(source=server.name, command="NOTICE", params=(oper.name, line))
            )


def address(client: Client) -> str:
    """nick (user@realhost) [ip], how connect and quit notices show a client."""
    where = "in-process" if client.in_process else client.ip
    return f"{client.name} ({client.user or '*'}@{client.realhost}) [{where}]"


def actor(client: Client) -> str:
    """nick (oper block): who acted, as the notices of operator actions name them."""
    return f"{client.name} (oper {client.oper})" if client.oper else client.name
