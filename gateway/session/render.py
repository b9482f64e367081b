"""Text for the air: 7-bit ASCII bytes, nick <-> callsign mapping, formatting and CTCP
stripped, wrapping.

A BPQ node takes 0xFF as a telnet command and many packet terminals show nothing
sensible for 8-bit bytes, so accents are folded (é -> e) and anything else becomes '?'.

The nick of a radio user is the callsign as it arrived (`KN4XYZ-5`). A callsign that
starts with a digit (`2E0ABC`) is not a legal IRC nick, so it gets one leading
underscore (`_2E0ABC`): no callsign contains an underscore, so the mapping is
reversible, and radio users always see and type the plain callsign.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata

from gateway.callsign import Callsign, parse_callsign

#: mIRC formatting: bold, colour (with its digits), hex colour, reset, reverse, italics,
#: strike-through, underline, monospace.
_FORMATTING = re.compile(
    r"\x03(?:\d{1,2}(?:,\d{1,2})?)?|\x04(?:[0-9a-fA-F]{6}(?:,[0-9a-fA-F]{6})?)?"
    r"|[\x02\x0f\x11\x16\x1d\x1e\x1f]"
)
CTCP = "\x01"

REPLACEMENT = "?"


def to_ascii(text: str) -> str:
    """Fold `text` to printable ASCII; line breaks become '\\n'."""
    if text.isascii() and text.isprintable():
        return text
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    for ch in text:
        if ch == "\n" or " " <= ch <= "~":
            out.append(ch)
        elif ch == "\t":
            out.append(" ")
        else:
            folded = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
            folded = "".join(c for c in folded if " " <= c <= "~")
            out.append(folded or REPLACEMENT)
    return "".join(out)


def encode_text(text: str, eol: bytes = b"\r\n") -> bytes:
    """ASCII bytes for `text`, with '\\n' turned into the transport's line end."""
    return to_ascii(text).encode("ascii").replace(b"\n", eol)


def nick_for(call: Callsign) -> str:
    """The IRC nick of a radio user."""
    text = str(call)
    return "_" + text if text[0].isdigit() else text


def nick_from_typed(text: str) -> str:
    """The nick for what a radio user typed (a callsign or any nick)."""
    return "_" + text if text[:1].isdigit() else text


def callsign_text(nick: str) -> str:
    """How a nick is shown on air: a mapped callsign loses its underscore."""
    return nick[1:] if nick.startswith("_") and nick[1:2].isdigit() else nick


def strip_formatting(text: str) -> str:
    return _FORMATTING.sub("", text) if any(ord(c) < 32 for c in text) else text


def split_ctcp(text: str) -> tuple[str | None, str]:
    """('ACTION', text) for an action, (verb, '') for other CTCP, (None, text) otherwise."""
    if not text.startswith(CTCP):
        return None, text
    body = text[1:].removesuffix(CTCP)
    verb, _, rest = body.partition(" ")
    return verb.upper(), rest if verb.upper() == "ACTION" else ""


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most `width` characters (0: no wrapping); continuations are indented.

    The text is folded to 7-bit ASCII first: a character that expands (`⒇` -> `(20)`)
    must be measured as it will go on air. Trailing spaces are dropped: unseen, they
    would still take airtime."""
    text = to_ascii(text).rstrip(" ")
    if width <= 0 or len(text) <= width:
        return [text]
    return textwrap.wrap(
        text, width, subsequent_indent="  ", break_long_words=True, break_on_hyphens=False
    ) or [""]


def nick_of(source: str | None) -> str | None:
    """The nick of a message source (`nick!user@host`), or None without one."""
    return source.split("!", 1)[0] if source else None


def who(nick: str | None) -> str:
    """A nick as shown on air: radio users by their callsign."""
    return callsign_text(nick) if nick else "?"


def reason_kind(reason: str) -> str:
    """The kind of a server's closing reason, without the words of whoever caused it:
    `Closing Link: host (Killed (op (words)))` is `Killed`, `K-lined: words` is
    `K-lined`."""
    inner = reason.removeprefix("Closing Link: ")
    if inner != reason and "(" in inner:
        inner = inner.partition("(")[2]
    return re.split(r"[(:]", inner, maxsplit=1)[0].strip() or "closed"


def mail_sender(nick: str, account: str | None) -> str:
    """A held message's sender as shown on air: the nick, and the account it was logged
    in to unless the nick is that account's callsign or name (`NOTEST (acct K9EVIL)`,
    `alice (not logged in)`), since a nick alone can pass for someone else."""
    shown = who(nick)
    if account is None:
        return f"{shown} (account not kept)"
    if not account:
        return f"{shown} (not logged in)"
    bare = nick.split(" ", 1)[0]  # old mail may read "NICK (unverified)"
    call = parse_callsign(callsign_text(bare))
    if bare.upper() == account.upper() or (call is not None and call.base == account.upper()):
        return shown
    return f"{shown} (acct {account})"
