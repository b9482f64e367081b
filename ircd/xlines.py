"""Server bans: K-lines and G-lines (user@host), Z-lines (IP), with expiry and a store;
shuns (user@host, kind S): connected but silenced, as InspIRCd's SHUN.

The table lives in memory and is what the server checks; a `BanStore` makes it durable.
Standalone, `FileBanStore` keeps it in a JSON file (atomic replace, 0600). Embedded, the
gateway implements `BanStore` over its SQLite file; ircd never imports the gateway.

On one server a G-line acts like a K-line; it is kept apart because it is meant for the
whole network once servers are linked.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Final, Protocol

from ircd.masks import IpNetwork, glob_match, parse_network

log = logging.getLogger("ircd.xlines")

KINDS: Final = ("K", "G", "Z", "S")
#: The kinds that keep a client out (a shun lets it in, silenced).
BANS: Final = ("K", "G", "Z")
#: Masks that would ban everyone; refused.
_EVERYONE: Final = frozenset({"*", "*@*", "*!*@*", "0.0.0.0/0", "::/0", "*.*", "*@*.*"})


@dataclass(frozen=True, slots=True, kw_only=True)
class XLine:
    """One ban. `mask` is ``user@host`` for K/G and an IP glob or CIDR for Z.

    Times are wall-clock seconds; `expires` None means permanent.
    """

    kind: str
    mask: str
    reason: str
    set_by: str
    set_at: float
    expires: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires

    def to_json(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> XLine:
        """Raises ValueError or TypeError on malformed data."""
        kind = data["kind"]
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        expires = data.get("expires")
        return cls(
            kind=str(kind),
            mask=str(data["mask"]),
            reason=str(data["reason"]),
            set_by=str(data["set_by"]),
            set_at=float(data["set_at"]),  # type: ignore[arg-type]
            expires=None if expires is None else float(expires),  # type: ignore[arg-type]
        )


def line_name(kind: str) -> str:
    """What operators call a line of `kind`: `K-line`, `G-line`, `Z-line`, `shun`."""
    return "shun" if kind == "S" else f"{kind}-line"


def normalize_xline_mask(kind: str, raw: str) -> str | None:
    """The stored form of a mask, or None if malformed or matching everyone."""
    raw = raw.strip()
    if not raw or len(raw) > 200 or any(c.isspace() or c in ",!" for c in raw):
        return None
    if kind == "Z":
        if "@" in raw:
            return None
        mask = raw.lower()
    else:
        user, _, host = raw.rpartition("@") if "@" in raw else ("*", "", raw)
        mask = f"{user or '*'}@{host or '*'}".lower()
    if mask in _EVERYONE or mask.replace("*", "") in ("", "@", ".", "@."):
        return None
    return mask


class _Compiled:
    """A mask split for matching: user glob, host glob or network."""

    __slots__ = ("host", "network", "user")

    def __init__(self, kind: str, mask: str) -> None:
        self.user, _, self.host = mask.rpartition("@") if kind != "Z" else ("*", "", mask)
        self.network: IpNetwork | None = parse_network(self.host)

    def matches(self, user: str, hosts: Iterable[str], ip: str) -> bool:
        if not glob_match(self.user, user.lower()):
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(ip) in self.network
            except ValueError:
                return False
        return any(glob_match(self.host, h.lower()) for h in hosts)


class XLineTable:
    """The active bans, at most `max_entries` of them."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._lines: dict[tuple[str, str], tuple[XLine, _Compiled]] = {}
        #: How many shuns there are: none (the usual case) costs a command nothing.
        self.shuns = 0

    def __len__(self) -> int:
        return len(self._lines)

    def lines(self, kind: str | None = None) -> list[XLine]:
        return [line for line, _ in self._lines.values() if kind is None or line.kind == kind]

    def get(self, kind: str, mask: str) -> XLine | None:
        found = self._lines.get((kind, mask))
        return found[0] if found is not None else None

    def add(self, line: XLine) -> bool:
        """Add or replace a line; False if the table is full."""
        key = (line.kind, line.mask)
        if key not in self._lines and len(self._lines) >= self.max_entries:
            return False
        if line.kind == "S" and key not in self._lines:
            self.shuns += 1
        self._lines[key] = (line, _Compiled(line.kind, line.mask))
        return True

    def remove(self, kind: str, mask: str) -> XLine | None:
        found = self._lines.pop((kind, mask), None)
        if found is None:
            return None
        if kind == "S":
            self.shuns -= 1
        return found[0]

    def expire(self, now: float) -> list[XLine]:
        """Drop and return the lines that have expired."""
        gone = [line for line, _ in self._lines.values() if line.expired(now)]
        for line in gone:
            self.remove(line.kind, line.mask)
        return gone

    def find_ip(self, ip: str, now: float) -> XLine | None:
        """The Z-line matching `ip`, if any."""
        for line, compiled in self._lines.values():
            if line.kind == "Z" and not line.expired(now) and compiled.matches("*", (ip,), ip):
                return line
        return None

    def find_user(
        self, user: str, hosts: Iterable[str], ip: str, now: float, kinds: Iterable[str] = BANS
    ) -> XLine | None:
        """The line of `kinds` (K-, G- or Z-lines: those keeping a registering client out)
        matching a client, if any."""
        hosts = (*hosts, ip)
        for line, compiled in self._lines.values():
            if line.kind not in kinds or line.expired(now):
                continue
            if line.kind == "Z":
                if compiled.matches("*", (ip,), ip):
                    return line
            elif compiled.matches(user.lstrip("~"), hosts, ip) or compiled.matches(user, hosts, ip):
                return line
        return None


class BanStore(Protocol):
    """Durable storage of server bans, implemented by the embedder (or `FileBanStore`).

    Methods are coroutines so an implementation can do its I/O off the event loop; the
    server awaits `add` and `remove` before it confirms a change to the operator.
    """

    async def load(self) -> list[XLine]:
        """Every stored line (expired ones may be included; the server drops them)."""
        ...

    async def add(self, line: XLine) -> None:
        """Store `line`, replacing one of the same kind and mask."""
        ...

    async def remove(self, kind: str, mask: str) -> None:
        """Forget the line of that kind and mask, if stored."""
        ...


class MemoryBanStore:
    """Keeps nothing across restarts (the default when no file is configured)."""

    def __init__(self) -> None:
        self.lines: dict[tuple[str, str], XLine] = {}

    async def load(self) -> list[XLine]:
        return list(self.lines.values())

    async def add(self, line: XLine) -> None:
        self.lines[(line.kind, line.mask)] = line

    async def remove(self, kind: str, mask: str) -> None:
        self.lines.pop((kind, mask), None)


class FileBanStore:
    """A JSON file rewritten atomically (temp file, fsync, rename, fsync the directory).

    Writes run in a worker thread, one at a time, so the event loop never waits on disk.
    """

    def __init__(self, path: str, max_entries: int = 10_000) -> None:
        self.path = path
        self.max_entries = max_entries
        self._lines: dict[tuple[str, str], XLine] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> list[XLine]:
        lines = await asyncio.to_thread(self._read)
        self._lines = {(x.kind, x.mask): x for x in lines[: self.max_entries]}
        return list(self._lines.values())

    def _read(self) -> list[XLine]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as e:
            # A damaged file must not stop the server; say so loudly and start empty.
            log.error("cannot read bans from %s: %s", self.path, e)
            return []
        lines = []
        for item in data.get("lines", []) if isinstance(data, dict) else []:
            try:
                lines.append(XLine.from_json(item))
            except (KeyError, ValueError, TypeError) as e:
                log.error("skipping a malformed ban in %s: %s", self.path, e)
        return lines

    async def add(self, line: XLine) -> None:
        async with self._lock:
            self._lines[(line.kind, line.mask)] = line
            await asyncio.to_thread(self._write, list(self._lines.values()))

    async def remove(self, kind: str, mask: str) -> None:
        async with self._lock:
            if self._lines.pop((kind, mask), None) is not None:
                await asyncio.to_thread(self._write, list(self._lines.values()))

    def _write(self, lines: list[XLine]) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        data = json.dumps({"lines": [x.to_json() for x in lines]}, indent=1).encode()
        fd, tmp = tempfile.mkstemp(prefix=".bans-", dir=directory)  # mode 0600
        replaced = False
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            replaced = True
        finally:
            if not replaced:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def describe_expiry(line: XLine, now: Callable[[], float]) -> str:
    """ "permanent" or "expires in N seconds", for replies to operators."""
    if line.expires is None:
        return "permanent"
    return f"expires in {max(0, int(line.expires - now()))} seconds"
