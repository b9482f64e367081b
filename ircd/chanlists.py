"""Channel list modes: bans (+b), ban exceptions (+e) and invite exceptions (+I).

A list entry is a host mask, normalized to ``nick!user@host``, or an extban, named by
its letter (ISUPPORT ``EXTBAN=,afm``: no prefix, as on Ergo and InspIRCd) or its name;
the old ``~`` prefix is still read. Entries are shown by letter:

- ``a:<glob>`` (``account:``): the client's account matches the glob; ``a:0`` matches
  clients that are not logged in.
- ``f:<sha256 hex>`` (``certfp:``): the client's TLS certificate fingerprint.
- ``m:<mask>`` (``mute:``): who matches `<mask>` (a host mask or one of the above).
  In +b: may join but not speak, as a ban would keep them from (Ergo, InspIRCd); in +e:
  an exception to mutes only (InspIRCd's ``+e m:``); in +I it means nothing (kept,
  listed, never matched).

A host mask is matched against the displayed (cloaked) host, the real host and the IP
address, so a ban on any of the three holds; its host part may be a CIDR network. Each
channel's lists together hold at most `max_entries` (ISUPPORT MAXLIST).
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd.masks import IpNetwork, glob_match, normalize_ip, parse_network

if TYPE_CHECKING:
    from collections.abc import Callable

    from ircd.client import Client

#: The list modes (ISUPPORT CHANMODES type A).
LIST_MODES: Final = "beI"
#: Extban prefix and letters (ISUPPORT EXTBAN): no prefix, `m:mask` as on Ergo.
EXTBAN_PREFIX: Final = ""
EXTBAN_LETTERS: Final = "afm"
#: Read before an extban's name by older clients of this server (``~m:mask``).
_OLD_PREFIX: Final = "~"
_EXTBAN_LETTER: Final = MappingProxyType(
    {
        "a": "a",
        "account": "a",
        "f": "f",
        "certfp": "f",
        "m": "m",
        "mute": "m",
    }
)
_LETTERS: Final = frozenset(EXTBAN_LETTERS)
_MUTE: Final = f"{EXTBAN_PREFIX}m:"
#: Longest list entry accepted, in characters.
MAX_MASK_LEN: Final = 200
_FORBIDDEN: Final = re.compile(r"[\s,\x00-\x1f]")
_CERTFP: Final = re.compile(r"[0-9a-f]{64}\Z")


@dataclass(frozen=True, slots=True)
class ListEntry:
    """One +b/+e/+I entry: its normalized mask, who set it and when (wall clock)."""

    mask: str
    set_by: str
    set_at: float


def normalize_mask(raw: str) -> str | None:
    """The canonical form of a list entry, or None if it is malformed.

    ``nick`` -> ``nick!*@*``; ``user@host`` -> ``*!user@host``; ``a.b`` -> ``*!*@a.b``;
    ``mute:x`` and ``~m:x`` -> ``m:x!*@*``.
    """
    if not raw or len(raw) > MAX_MASK_LEN or _FORBIDDEN.search(raw) or raw.startswith(":"):
        return None
    old = raw.startswith(_OLD_PREFIX)
    kind, colon, value = raw[old:].partition(":")
    # Without a prefix, an IPv6 address or network ("f::1", "a::/64") is a host.
    if colon and (old or (kind.lower() in _EXTBAN_LETTER and not _ip_host(raw))):
        return _normalize_extban(kind, value)
    if "!" in raw:
        nick, _, rest = raw.partition("!")
        user, _, host = rest.rpartition("@") if "@" in rest else ("*", "", rest)
    elif "@" in raw:
        nick = "*"
        user, _, host = raw.rpartition("@")
    elif "." in raw or ":" in raw:
        nick, user, host = "*", "*", raw
    else:
        nick, user, host = raw, "*", "*"
    return f"{nick or '*'}!{user or '*'}@{host or '*'}"


def _ip_host(text: str) -> bool:
    if parse_network(text) is not None:
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _normalize_extban(kind: str, value: str) -> str | None:
    """``<letter>:value`` with the value checked, or None."""
    letter = _EXTBAN_LETTER.get(kind.lower())
    if letter is None or not value:
        return None
    if letter == "m":
        inner = normalize_mask(value)
        if inner is None or inner.startswith(_MUTE):
            return None
        return _MUTE + inner
    if letter == "f":
        value = value.lower().replace(":", "")
        if not _CERTFP.match(value):
            return None
    return f"{EXTBAN_PREFIX}{letter}:{value}"


def entry_matcher(mask: str, fold: Callable[[str], str]) -> Callable[[Client], bool]:
    """A predicate telling whether a client matches the normalized `mask`."""
    if mask.startswith(_MUTE):
        return entry_matcher(mask[len(_MUTE) :], fold)
    kind, colon, value = mask.partition(":")
    if colon and kind in _LETTERS:
        if kind == "f":
            want = value.encode()
            return lambda c: c.certfp is not None and hmac.compare_digest(c.certfp.encode(), want)
        if value == "0":
            return lambda c: c.account is None
        pattern = fold(value)
        return lambda c: c.account is not None and glob_match(pattern, fold(c.account))
    folded = fold(mask)
    nick_user, _, host = folded.rpartition("@")
    network: IpNetwork | None = parse_network(host)

    def test(c: Client) -> bool:
        who = fold(f"{c.nick}!{c.user}")
        if not glob_match(nick_user, who):
            return False
        ip = normalize_ip(c.ip)
        if network is not None:
            try:
                return ipaddress.ip_address(ip) in network
            except ValueError:
                return False
        return (
            glob_match(host, fold(c.host))
            or glob_match(host, fold(c.realhost))
            or glob_match(host, ip)
        )

    return test


class ChannelLists:
    """The +b, +e and +I lists of one channel, with compiled matchers."""

    __slots__ = ("_entries", "_matchers", "_mute_exceptions", "_mutes")

    def __init__(self) -> None:
        # Mode letter -> folded mask -> entry; dicts keep the order entries were set in.
        self._entries: dict[str, dict[str, ListEntry]] = {m: {} for m in LIST_MODES}
        self._matchers: dict[str, dict[str, Callable[[Client], bool]]] = {m: {} for m in LIST_MODES}
        # The `m:` entries: in +b they keep from speaking, not from joining; in +e they
        # lift a mute, not a ban.
        self._mutes: dict[str, Callable[[Client], bool]] = {}
        self._mute_exceptions: dict[str, Callable[[Client], bool]] = {}

    def __len__(self) -> int:
        return sum(len(e) for e in self._entries.values())

    def entries(self, mode: str) -> list[ListEntry]:
        return list(self._entries[mode].values())

    def has(self, mode: str, mask: str, fold: Callable[[str], str]) -> bool:
        return fold(mask) in self._entries[mode]

    def add(self, mode: str, entry: ListEntry, fold: Callable[[str], str]) -> bool:
        """Add an entry; False if it is already there (the caller checks the size bound)."""
        key = fold(entry.mask)
        if key in self._entries[mode]:
            return False
        self._entries[mode][key] = entry
        matcher = entry_matcher(entry.mask, fold)
        if not entry.mask.startswith(_MUTE):
            self._matchers[mode][key] = matcher
        elif mode == "b":
            self._mutes[key] = matcher
        elif mode == "e":
            self._mute_exceptions[key] = matcher
        # In +I a mute means nothing: kept (and listed), never matched.
        return True

    def remove(self, mode: str, mask: str, fold: Callable[[str], str]) -> ListEntry | None:
        key = fold(mask)
        self._matchers[mode].pop(key, None)
        if mode == "b":
            self._mutes.pop(key, None)
        elif mode == "e":
            self._mute_exceptions.pop(key, None)
        return self._entries[mode].pop(key, None)

    def match(self, mode: str, client: Client) -> bool:
        """Whether any entry of list `mode` matches `client` (an empty list never does)."""
        matchers = self._matchers[mode]
        return bool(matchers) and any(test(client) for test in matchers.values())

    def banned(self, client: Client) -> bool:
        """Matched by a ban and by no ban exception."""
        return self.match("b", client) and not self.match("e", client)

    def muted(self, client: Client) -> bool:
        """Matched by a mute (``m:`` in +b) and by no exception (``+e`` or ``+e m:``).

        Called once per message a member without voice sends; without mutes it is one
        dict test.
        """
        mutes = self._mutes
        if not mutes or not any(t(client) for t in mutes.values()):
            return False
        lifts = self._mute_exceptions
        return not self.match("e", client) and not any(t(client) for t in lifts.values())
