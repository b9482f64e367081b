"""Text to bytes for the air: 7-bit printable ASCII only, one line end per transport.

A BPQ node takes 0xFF as a telnet command and many packet terminals show nothing
sensible for 8-bit bytes, so accents are folded (é -> e) and anything else becomes '?'.
"""

from __future__ import annotations

import unicodedata

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
