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

Entries are matched against a `Seen`: the client's names folded once, built from its
`identity` alone, so nothing else about a client can sway a verdict. A member's verdict
(banned, muted or neither) is kept with the identity it was reached for, and judged
again when that identity differs (a nick, host, account ... changed) or when a list
changes (which forgets every verdict). The hostile review's finding 2: a message from a
member without voice matched every ban each time.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple

from ircd.globs import Glob
from ircd.masks import IpNetwork, normalize_ip, parse_network

if TYPE_CHECKING:
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
#: Longest list entry accepted, in UTF-8 bytes (normalizing adds at most 4): bytes, not
#: characters, so that its MODE line fits in 512 bytes whoever sets it (`ircd.modelines`).
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
    if not raw or len(raw.encode()) > MAX_MASK_LEN or _FORBIDDEN.search(raw) or raw[0] == ":":
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


#: What of a client an entry may match (`identity`): nick, user, displayed host, real
#: host, IP, account, certificate fingerprint.
Identity = tuple[str | None, str | None, str, str, str, str | None, str | None]


def identity(client: Client) -> Identity:
    """Everything of `client` that entries are matched against: a verdict reached for
    one identity holds as long as the client's is equal to it."""
    c = client
    return (c.nick, c.user, c.host, c.realhost, c.ip, c.account, c.certfp)


class Seen(NamedTuple):
    """A client's identity as entries read it, folded once for all of them."""

    #: ``nick!user``, folded.
    who: str
    #: Displayed host and real host (folded), and the IP address.
    hosts: tuple[str, ...]
    ip: str
    account: str | None
    certfp: str | None

    @classmethod
    def of(cls, ident: Identity, fold: Callable[[str], str]) -> Seen:
        nick, user, host, realhost, ip, account, certfp = ident
        address = normalize_ip(ip)
        return cls(
            fold(f"{nick}!{user}"),
            (fold(host), fold(realhost), address),
            address,
            fold(account) if account is not None else None,
            certfp,
        )


Matcher = Callable[[Seen], bool]


def entry_matcher(mask: str, fold: Callable[[str], str]) -> Matcher:
    """A predicate telling whether a client (as `Seen`) matches the normalized `mask`."""
    if mask.startswith(_MUTE):
        return entry_matcher(mask[len(_MUTE) :], fold)
    kind, colon, value = mask.partition(":")
    if colon and kind in _LETTERS:
        if kind == "f":
            want = value.encode()
            return lambda s: s.certfp is not None and hmac.compare_digest(s.certfp.encode(), want)
        if value == "0":
            return lambda s: s.account is None
        account = Glob(fold(value))
        return lambda s: s.account is not None and account.match(s.account)
    nick_user, _, host = fold(mask).rpartition("@")
    who = Glob(nick_user)
    network: IpNetwork | None = parse_network(host)
    if network is not None:
        return lambda s: who.match(s.who) and _in_network(s.ip, network)
    if host == "*":
        return lambda s: who.match(s.who)
    where = Glob(host)
    return lambda s: who.match(s.who) and any(map(where.match, s.hosts))


def _in_network(ip: str, network: IpNetwork) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False


class ChannelLists:
    """The +b, +e and +I lists of one channel, with compiled matchers, and the verdicts
    on its members."""

    __slots__ = ("_entries", "_fold", "_matchers", "_mute_exceptions", "_mutes", "_verdicts")

    def __init__(self) -> None:
        # Mode letter -> folded mask -> entry; dicts keep the order entries were set in.
        self._entries: dict[str, dict[str, ListEntry]] = {m: {} for m in LIST_MODES}
        self._matchers: dict[str, dict[str, Matcher]] = {m: {} for m in LIST_MODES}
        # The `m:` entries: in +b they keep from speaking, not from joining; in +e they
        # lift a mute, not a ban.
        self._mutes: dict[str, Matcher] = {}
        self._mute_exceptions: dict[str, Matcher] = {}
        # The server's case folding, given with every entry added.
        self._fold: Callable[[str], str] = str.lower
        # Member -> (the identity judged, its refusal): at most one per member, dropped
        # by `forget` when it leaves, all dropped when an entry comes or goes.
        self._verdicts: dict[Client, tuple[Identity, str | None]] = {}

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
        self._fold = fold
        self._verdicts.clear()
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
        self._verdicts.clear()
        self._matchers[mode].pop(key, None)
        if mode == "b":
            self._mutes.pop(key, None)
        elif mode == "e":
            self._mute_exceptions.pop(key, None)
        return self._entries[mode].pop(key, None)

    def seen(self, client: Client) -> Seen:
        return Seen.of(identity(client), self._fold)

    def match(self, mode: str, client: Client | Seen) -> bool:
        """Whether any entry of list `mode` matches `client` (an empty list never does)."""
        matchers = self._matchers[mode]
        if not matchers:
            return False
        seen = client if isinstance(client, Seen) else self.seen(client)
        return any(test(seen) for test in matchers.values())

    def banned(self, client: Client | Seen) -> bool:
        """Matched by a ban and by no ban exception."""
        if not self._matchers["b"]:
            return False
        seen = client if isinstance(client, Seen) else self.seen(client)
        return self.match("b", seen) and not self.match("e", seen)

    def muted(self, client: Client | Seen) -> bool:
        """Matched by a mute (``m:`` in +b) and by no exception (``+e`` or ``+e m:``)."""
        mutes = self._mutes
        if not mutes:
            return False
        seen = client if isinstance(client, Seen) else self.seen(client)
        if not any(t(seen) for t in mutes.values()):
            return False
        lifts = self._mute_exceptions
        return not self.match("e", seen) and not any(t(seen) for t in lifts.values())

    def refusal(self, client: Client, member: bool) -> str | None:
        """The refusal of `client`: "b" if banned, "m:" if muted, else None.

        Called once per message a member without voice sends: without bans or mutes it
        is two dict tests; a `member`'s verdict is kept until its identity or a list
        changes (`forget` it when it leaves).
        """
        if not self._matchers["b"] and not self._mutes:
            return None
        ident = identity(client)
        if member:
            kept = self._verdicts.get(client)
            if kept is not None and kept[0] == ident:
                return kept[1]
        verdict = self.judge(Seen.of(ident, self._fold))
        if member:
            self._verdicts[client] = (ident, verdict)
        return verdict

    def judge(self, seen: Seen) -> str | None:
        """The refusal for a client seen as `seen`, worked out entry by entry."""
        if self.banned(seen):
            return "b"
        return "m:" if self.muted(seen) else None

    def forget(self, client: Client) -> None:
        """Drop the verdict on a member that left."""
        self._verdicts.pop(client, None)
