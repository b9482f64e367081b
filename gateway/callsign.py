"""Amateur radio callsigns: validation and the base/SSID split.

Authentication keys on the base callsign (`KN4XYZ`); a session remembers the full
one (`KN4XYZ-5`), because the SSID only tells stations of one operator apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# ITU shape: a prefix of 1-3 letters/digits, one digit, a suffix ending in a letter.
# Six characters at most, because an AX.25 address cannot carry more.
_BASE = re.compile(r"[A-Z0-9]{1,3}[0-9][A-Z0-9]{0,3}[A-Z]")
_FULL = re.compile(r"(?P<base>[A-Z0-9]{1,6})(?:-(?P<ssid>[0-9]{1,2}))?")

MAX_SSID = 15


@dataclass(frozen=True, slots=True)
class Callsign:
    """A validated callsign with its SSID (0 when none was given)."""

    base: str
    ssid: int = 0

    def __str__(self) -> str:
        return self.base if self.ssid == 0 else f"{self.base}-{self.ssid}"


def is_base_callsign(text: str) -> bool:
    """True for an upper-case base callsign without SSID."""
    return len(text) <= 6 and _BASE.fullmatch(text) is not None


def parse_callsign(text: str) -> Callsign | None:
    """Parse `kn4xyz-5` style text (any case, surrounding blanks ignored); None if invalid."""
    match = _FULL.fullmatch(text.strip().upper())
    if match is None or not is_base_callsign(match["base"]):
        return None
    ssid_text = match["ssid"]
    if ssid_text is None:
        return Callsign(match["base"])
    if len(ssid_text) > 1 and ssid_text.startswith("0"):
        return None
    ssid = int(ssid_text)
    if ssid > MAX_SSID:
        return None
    return Callsign(match["base"], ssid)


def parse_base_callsign(text: str) -> str | None:
    """Parse a callsign that must not carry an SSID (enrollment, revocation)."""
    call = parse_callsign(text)
    if call is None or "-" in text:
        return None
    return call.base
