"""Glob matching of IRC masks, and mask items: who a configuration block applies to.

Globs (``*``, ``?``) are matched by `ircd.globs`, without backtracking.

A *mask item* follows UnrealIRCd's documentation (seed 004) exactly:

- The simple form is one host mask or a list of them: ``mask: "*.example.net"``.
- The full form is a mapping of criteria: ``mask``, ``ip``, ``identified``, ``webirc``,
  ``websocket``, ``tls``, ``connect-time``, ``security-group``, ``account``,
  ``realname``, ``certfp``, ``channel``, each also as ``exclude-<criterion>``.
- Criteria are ORed: one criterion that matches makes the item match. A boolean set to
  ``no`` is skipped (it does *not* mean "must not"). Any matching ``exclude-`` criterion
  makes the result "no match", whatever else matched. An item with no positive criterion
  never matches (as in UnrealIRCd), which is why the config loader refuses one.
- Inside a list an entry may be negated with ``!``: a matching negative entry means no
  match; otherwise a matching positive entry means a match; otherwise the default is a
  match when *every* entry is negative, and no match when positives and negatives mix.
  The document shows this for host masks; here it holds for every list criterion.

A host mask is ``host``, ``user@host`` or ``nick!user@host``; its host part is a glob
matched against both the real host name and the IP address (the document's "IP matching
dangers"), or a CIDR network matched against the IP. ``ip`` entries match only the IP.

Everything here is pure: `parse_mask_item` turns plain Python values (from YAML) into a
frozen `MaskItem`, and `MaskItem.matches(subject)` reads a frozen `Subject`.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from ircd.casemap import casefold
from ircd.globs import glob_match as glob_match  # re-exported: callers import it from here
from ircd.shown import shown

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def fold(text: str) -> str:
    """Case-fold for mask matching (rfc1459 rules, a superset of ASCII folding)."""
    return casefold(text)


def normalize_ip(ip: str) -> str:
    """The canonical text of an address; IPv4-mapped IPv6 becomes plain IPv4."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped)
    return str(addr)


def parse_network(text: str) -> IpNetwork | None:
    """A CIDR network like 192.168.0.0/16 (host bits allowed), or None."""
    if "/" not in text:
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def ip_in(ip: str, network: IpNetwork) -> bool:
    try:
        return ipaddress.ip_address(ip) in network
    except ValueError:
        return False


#: Built-in security groups (UnrealIRCd names), computed from the subject.
BUILTIN_GROUPS: Final = (
    "known-users",
    "unknown-users",
    "tls-users",
    "tls-and-known-users",
    "webirc-users",
    "websocket-users",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """What a mask item is matched against: a snapshot of one client."""

    nick: str = "*"
    user: str = "*"
    host: str
    ip: str
    realname: str = ""
    account: str | None = None
    tls: bool = False
    certfp: str | None = None
    #: Seconds since the connection was accepted.
    connected_for: float = 0.0
    webirc: bool = False
    websocket: bool = False
    #: Channel name -> the member's status letters ("o", "v", "ov", "").
    channels: Mapping[str, str] = field(default_factory=dict)
    #: Security groups the subject belongs to; see `SecurityGroups.resolve`.
    groups: frozenset[str] = frozenset()


# -- compiled list entries ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HostMask:
    """One `nick!user@host` mask, folded; the host part may be a CIDR network."""

    nick: str
    user: str
    host: str
    network: IpNetwork | None

    @classmethod
    def parse(cls, text: str) -> HostMask:
        nick, _, rest = text.rpartition("!") if "!" in text else ("*", "", text)
        user, _, host = rest.rpartition("@") if "@" in rest else ("*", "", rest)
        return cls(fold(nick or "*"), fold(user or "*"), fold(host or "*"), parse_network(host))

    def matches(self, subject: Subject) -> bool:
        if not glob_match(self.nick, fold(subject.nick)):
            return False
        if not glob_match(self.user, fold(subject.user)):
            return False
        if self.network is not None:
            return ip_in(subject.ip, self.network)
        return glob_match(self.host, fold(subject.host)) or glob_match(self.host, subject.ip)


@dataclass(frozen=True, slots=True)
class IpMask:
    """An IP glob (``127.*``) or a CIDR network (``127.0.0.0/8``)."""

    glob: str
    network: IpNetwork | None

    @classmethod
    def parse(cls, text: str) -> IpMask:
        return cls(fold(text), parse_network(text))

    def matches(self, subject: Subject) -> bool:
        if self.network is not None:
            return ip_in(subject.ip, self.network)
        return glob_match(self.glob, fold(subject.ip))


@dataclass(frozen=True, slots=True)
class Entries:
    """A list criterion: positive and ``!``-negated entries, and the documented defaults."""

    positive: tuple[Any, ...]
    negative: tuple[Any, ...]

    def matches(self, test: Callable[[Any], bool]) -> bool:
        if any(test(e) for e in self.negative):
            return False
        if any(test(e) for e in self.positive):
            return True
        # All entries negative: match by default. Mixed: no match by default.
        return not self.positive


@dataclass(frozen=True, slots=True)
class TimeBound:
    """connect-time: connected for at least `seconds`, or (`less`) for less than that."""

    seconds: int
    less: bool

    def matches(self, connected_for: float) -> bool:
        return connected_for < self.seconds if self.less else connected_for >= self.seconds


def _match_account(account: str | None) -> Callable[[str], bool]:
    folded = fold(account) if account is not None else None
    return lambda entry: folded is not None and entry == folded


def _match_certfp(certfp: str | None) -> Callable[[str], bool]:
    have = certfp.lower().encode() if certfp else None
    return lambda entry: have is not None and hmac.compare_digest(entry.encode(), have)


def _match_channel(channels: Mapping[str, str]) -> Callable[[tuple[str, str]], bool]:
    folded = {fold(name): status for name, status in channels.items()}

    def test(entry: tuple[str, str]) -> bool:
        wanted, name = entry
        status = folded.get(name)
        if status is None:
            return False
        # "+#c" means voice or better; "@#c" means op.
        return not wanted or "o" in status or (wanted == "v" and "v" in status)

    return test


@dataclass(frozen=True, slots=True)
class Criteria:
    """One side (include or exclude) of a mask item; unset criteria are None or False."""

    mask: Entries | None = None
    ip: Entries | None = None
    identified: bool = False
    webirc: bool = False
    websocket: bool = False
    tls: bool = False
    connect_time: TimeBound | None = None
    security_group: Entries | None = None
    account: Entries | None = None
    realname: Entries | None = None
    certfp: Entries | None = None
    channel: Entries | None = None

    @property
    def empty(self) -> bool:
        return self == _NO_CRITERIA

    def any_match(self, s: Subject) -> bool:
        """True if any set criterion matches `s` (criteria are ORed)."""
        return self._any_flag(s) or self._any_entries(s)

    def _any_flag(self, s: Subject) -> bool:
        return bool(
            (self.identified and s.account is not None)
            or (self.webirc and s.webirc)
            or (self.websocket and s.websocket)
            or (self.tls and s.tls)
            or (self.connect_time is not None and self.connect_time.matches(s.connected_for))
        )

    def _any_entries(self, s: Subject) -> bool:
        return bool(
            (self.mask is not None and self.mask.matches(lambda m: m.matches(s)))
            or (self.ip is not None and self.ip.matches(lambda m: m.matches(s)))
            or (
                self.security_group is not None
                and self.security_group.matches(s.groups.__contains__)
            )
            or (self.account is not None and self.account.matches(_match_account(s.account)))
            or (
                self.realname is not None
                and self.realname.matches(lambda g: glob_match(g, fold(s.realname)))
            )
            or (self.certfp is not None and self.certfp.matches(_match_certfp(s.certfp)))
            or (self.channel is not None and self.channel.matches(_match_channel(s.channels)))
        )


_NO_CRITERIA: Final = Criteria()


@dataclass(frozen=True, slots=True)
class MaskItem:
    """A parsed mask item; `matches()` applies the document's rules."""

    include: Criteria
    exclude: Criteria = _NO_CRITERIA

    def matches(self, subject: Subject) -> bool:
        if not self.exclude.empty and self.exclude.any_match(subject):
            return False
        return self.include.any_match(subject)

    @property
    def groups_used(self) -> frozenset[str]:
        """Security groups named anywhere in this item (for reference checks)."""
        names: set[str] = set()
        for side in (self.include, self.exclude):
            if side.security_group is not None:
                names.update(side.security_group.positive, side.security_group.negative)
        return frozenset(names)


#: Matches everyone (the default of an allow block without a mask).
MATCH_ALL: Final = MaskItem(Criteria(mask=Entries((HostMask.parse("*"),), ())))


class SecurityGroups:
    """Named mask items; `resolve` fills `Subject.groups` with built-ins and these.

    A configured group may only name built-in groups and groups defined before it, so
    evaluating them in order is enough and no cycle is possible.
    """

    def __init__(self, groups: tuple[tuple[str, MaskItem], ...] = ()) -> None:
        self._groups = groups

    def resolve(self, subject: Subject) -> Subject:
        known = subject.account is not None
        names = {"known-users" if known else "unknown-users"}
        if subject.tls:
            names.add("tls-users")
            if known:
                names.add("tls-and-known-users")
        if subject.webirc:
            names.add("webirc-users")
        if subject.websocket:
            names.add("websocket-users")
        for name, item in self._groups:
            if item.matches(_with_groups(subject, names)):
                names.add(name)
        return _with_groups(subject, names)


def _with_groups(subject: Subject, names: set[str]) -> Subject:
    return Subject(
        nick=subject.nick,
        user=subject.user,
        host=subject.host,
        ip=subject.ip,
        realname=subject.realname,
        account=subject.account,
        tls=subject.tls,
        certfp=subject.certfp,
        connected_for=subject.connected_for,
        webirc=subject.webirc,
        websocket=subject.websocket,
        channels=subject.channels,
        groups=frozenset(names),
    )


# -- parsing -----------------------------------------------------------------------------

_LISTS: Final = ("mask", "ip", "security-group", "account", "realname", "certfp", "channel")
_BOOLS: Final = ("identified", "webirc", "websocket", "tls")
_CRITERIA: Final = (*_LISTS, *_BOOLS, "connect-time")
#: Criteria of the document this server cannot evaluate; refused rather than ignored.
UNSUPPORTED: Final = MappingProxyType(
    {
        "reputation-score": "this server keeps no reputation scores",
        "country": "this server has no GeoIP data",
        "asn": "this server has no GeoIP data",
        "rule": "crules are not supported",
        "destination": "destination is only meaningful in UnrealIRCd's restrict-commands",
    }
)
KNOWN_KEYS: Final = (*_CRITERIA, *(f"exclude-{c}" for c in _CRITERIA))
_TIME_PART: Final = re.compile(r"(\d+)([smhdw]?)")
_TIME_UNITS: Final = MappingProxyType({"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800})
_CERTFP: Final = re.compile(r"[0-9a-f]{64}\Z")
_CHANNEL: Final = re.compile(r"([@+]?)(#[^\s,\x07\x00]{1,63})\Z")
#: Entries per list: a config file is trusted, but matching cost grows with it.
MAX_ENTRIES: Final = 1000


class MaskError(ValueError):
    """A mask item is malformed; `problems` lists (sub-path, text) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {t}" if p else t for p, t in problems))
        self.problems = problems


def parse_duration(text: str) -> int | None:
    """Seconds in "300", "5m", "1h30m", "2d" ...; None if malformed."""
    pos = 0
    total = 0
    text = text.strip().lower()
    if not text:
        return None
    while pos < len(text):
        m = _TIME_PART.match(text, pos)
        if m is None:
            return None
        total += int(m.group(1)) * _TIME_UNITS[m.group(2)]
        pos = m.end()
    return total


def parse_mask_item(value: object) -> MaskItem:
    """Build a `MaskItem` from a string, a list of strings, or a mapping of criteria.

    Mapping keys may use ``-`` (as in the document) or ``_``. Raises `MaskError` listing
    every problem.
    """
    problems: list[tuple[str, str]] = []
    if isinstance(value, str | list):
        entries = _entries("mask", value, problems, "")
        item = MaskItem(Criteria(mask=entries))
    elif isinstance(value, dict):
        include: dict[str, Any] = {}
        exclude: dict[str, Any] = {}
        seen: set[str] = set()
        for raw_key, raw in value.items():
            key = str(raw_key).replace("_", "-")
            if key in seen:
                problems.append((key, "given twice (as - and _ spellings)"))
                continue
            seen.add(key)
            name = key.removeprefix("exclude-")
            side = exclude if key.startswith("exclude-") else include
            attr = name.replace("-", "_")
            if name in UNSUPPORTED:
                problems.append((key, f"not supported: {UNSUPPORTED[name]}"))
            elif name not in _CRITERIA:
                problems.append((key, "unknown mask criterion"))
            elif name in _BOOLS:
                if not isinstance(raw, bool):
                    problems.append((key, f"expected true or false, got {shown(raw)}"))
                else:
                    side[attr] = raw
            elif name == "connect-time":
                bound = _time_bound(raw)
                if bound is None:
                    problems.append((key, f"expected a time like 300, 5m or <5m, got {shown(raw)}"))
                else:
                    side[attr] = bound
            else:
                side[attr] = _entries(name, raw, problems, key)
        item = MaskItem(Criteria(**include), Criteria(**exclude))
        if item.include.empty and not problems:
            problems.append(
                ("", 'has no positive criterion, so it would never match (add mask: "*")')
            )
    else:
        problems.append(("", f"expected a mask, a list of masks or a mapping, got {shown(value)}"))
        item = MATCH_ALL
    if problems:
        raise MaskError(problems)
    return item


def _time_bound(raw: object) -> TimeBound | None:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        return None
    text = str(raw).strip()
    less = text.startswith("<")
    seconds = parse_duration(text.removeprefix("<"))
    return None if seconds is None else TimeBound(seconds, less)


def _entries(name: str, raw: object, problems: list[tuple[str, str]], key: str) -> Entries | None:
    items = [raw] if isinstance(raw, str | int) and not isinstance(raw, bool) else raw
    if not isinstance(items, list) or not items:
        problems.append((key, "expected a string or a non-empty list of strings"))
        return None
    if len(items) > MAX_ENTRIES:
        problems.append((key, f"at most {MAX_ENTRIES} entries"))
        return None
    positive: list[Any] = []
    negative: list[Any] = []
    for text in items:
        if isinstance(text, bool) or not isinstance(text, str | int):
            problems.append((key, f"expected strings, got {shown(text)}"))
            continue
        text = str(text).strip()
        negated = text.startswith("!")
        body = text[1:] if negated else text
        try:
            compiled = _compile(name, body)
        except ValueError as e:
            problems.append((key, f"{e}, got {shown(text)}"))
        else:
            (negative if negated else positive).append(compiled)
    return Entries(tuple(positive), tuple(negative))


def _compile(name: str, body: str) -> object:
    """The compiled form of one list entry; ValueError says what is wrong."""
    if not body:
        raise ValueError("expected a non-empty entry")
    if name == "realname":
        return fold(body)  # real names may contain spaces
    if any(c.isspace() for c in body):
        raise ValueError("expected an entry without spaces")
    if name == "mask":
        return HostMask.parse(body)
    if name == "ip":
        if "/" in body and parse_network(body) is None:
            raise ValueError("expected an IP glob or a CIDR network")
        return IpMask.parse(body)
    if name == "certfp":
        digest = body.lower().replace(":", "")
        if not _CERTFP.match(digest):
            raise ValueError("expected a SHA-256 fingerprint (64 hex)")
        return digest
    if name == "channel":
        m = _CHANNEL.match(body)
        if m is None:
            raise ValueError("expected a channel, optionally prefixed by @ or +")
        return ({"@": "o", "+": "v", "": ""}[m.group(1)], fold(m.group(2)))
    if name == "account":
        return fold(body)
    return body  # security-group names stay as written
