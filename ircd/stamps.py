"""What marks each relayed message: its server-time, its msgid, and batch references.

One `Stamps` per server: message ids carry a random prefix per server start and a
counter, so two servers in one process never give the same id.
"""

from __future__ import annotations

import itertools
import math
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

#: The end of a server-time tag for each millisecond ("000Z" to "999Z").
_MILLIS: Final = tuple(f"{ms:03d}Z" for ms in range(1000))


def format_time(at: float) -> str:
    """`at` (Unix seconds) in IRCv3 server-time format: 2019-01-04T14:33:26.123Z."""
    when = datetime.fromtimestamp(at, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class Stamps:
    """Time, msgid and batch references for one server, read from its wall clock."""

    __slots__ = ("_batch_ids", "_msgid_prefix", "_msgids", "_time_prefix", "_time_second", "_wall")

    def __init__(self, wallclock: Callable[[], float]) -> None:
        self._wall = wallclock
        self._msgids = itertools.count(1)
        self._batch_ids = itertools.count(1)
        self._msgid_prefix = secrets.token_hex(4)
        self._time_second = -1  # the second `_time_prefix` formats (see `timestamp`)
        self._time_prefix = ""

    def relay_tags(self, client_tags: dict[str, str] | None = None) -> dict[str, str]:
        """Tags for a relayed message: time, msgid and the sender's client-only tags."""
        tags = {"time": self.timestamp(), "msgid": f"{self._msgid_prefix}{next(self._msgids):x}"}
        if client_tags:
            tags.update(client_tags)
        return tags

    def batch_id(self) -> str:
        """A batch reference unique on this server."""
        return f"b{next(self._batch_ids):x}"

    def timestamp(self) -> str:
        """The current time in IRCv3 server-time format (what `format_time` gives).

        Every relayed message takes one: the date and time down to the second are
        formatted once per second, and the milliseconds are rounded as datetime rounds
        a timestamp (to the microsecond, half to even).
        """
        at = self._wall()
        fraction, whole = math.modf(at)
        micros = round(fraction * 1e6)
        if at < 0 or micros >= 1_000_000:
            return format_time(at)  # the rare carry into the next second
        second = int(whole)
        if second != self._time_second:
            self._time_second = second
            self._time_prefix = format_time(whole)[:-4]  # "...T12:34:56."
        return self._time_prefix + _MILLIS[micros // 1000]
