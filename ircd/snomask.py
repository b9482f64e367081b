"""Server notice masks: which server notices an operator sees (user mode +s <mask>).

As on InspIRCd: `MODE <nick> +s +cq` adds letters, `-s` (or `+s -cq`) removes them;
RPL_SNOMASK (008) says what is set. Operators get `DEFAULT` when they OPER. Each notice
also goes to the log: at INFO for operator-relevant events, at DEBUG for the connection
traffic that `python -m ircd -v` promises.
"""

from __future__ import annotations

import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

log = logging.getLogger("ircd.snotice")

#: Letter -> what it shows, and the log level it is written at.
LETTERS: Final = MappingProxyType(
    {
        "c": ("connects, with address", logging.DEBUG),
        "q": ("quits, with address and reason", logging.DEBUG),
        "n": ("nick changes", logging.DEBUG),
        "o": ("OPER attempts, failed and successful", logging.INFO),
        "x": ("K/G/Z-lines set, removed and hit", logging.INFO),
        "k": ("kills by operators", logging.INFO),
        "f": ("flood disconnects (Excess Flood, SendQ exceeded)", logging.INFO),
        "a": ("operator overrides: SAJOIN, SAPART, SANICK, CHGHOST", logging.INFO),
        "g": ("GLOBOPS, messages to all operators", logging.INFO),
    }
)
#: What a new operator gets: the events that call for action, not the traffic.
DEFAULT: Final = "afgkox"
#: Words naming each letter in the notice, as InspIRCd writes them.
_TITLES: Final = MappingProxyType(
    {
        "c": "CONNECT",
        "q": "QUIT",
        "n": "NICK",
        "o": "OPER",
        "x": "XLINE",
        "k": "KILL",
        "f": "FLOOD",
        "a": "ANNOUNCEMENT",
        "g": "GLOBOPS",
    }
)


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


def snotice(server: Context, letter: str, text: str, rb: ReplyBuffer | None = None) -> None:
    """Send `text` to operators whose mask holds `letter`, and log it."""
    title = _TITLES[letter]
    log.log(LETTERS[letter][1], "%s: %s", title, text)
    line = f"*** {title}: {text}"
    for oper in server.opers_with(letter):
        notice = Message(source=server.name, command="NOTICE", params=(oper.name, line))
        if rb is not None and oper is rb.client:
            rb.add(notice)
        else:
            server.send(oper, notice)


def address(client: Client) -> str:
    """nick (user@realhost) [ip], how connect and quit notices show a client."""
    where = "in-process" if client.in_process else client.ip
    return f"{client.name} ({client.user or '*'}@{client.realhost}) [{where}]"
