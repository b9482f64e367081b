"""Radio-side warnings for IRC operators: log records turned into server notices.

The TNC going down and coming back, the transmitter switched, the duty-cycle limit
reached, IRC text refused for the air under the third-party rule: each is already a
log line; this handler also hands it to the operators on
IRC, at most `burst` notices per `period` seconds (the rest are counted and told in
one line), so a flapping TNC cannot flood an operator's client.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

#: Loggers whose records reach operators, with the lowest level that does.
SOURCES = {
    "radio.port": logging.INFO,
    "radio.station": logging.WARNING,
    "gateway.thirdparty": logging.INFO,
}
#: gateway records that do (the transmitter switch), by their message's start.
GATEWAY_PREFIXES = ("radio transmitter",)


class OperatorAlerts(logging.Handler):
    def __init__(
        self,
        notify: Callable[[str], None],
        loop: asyncio.AbstractEventLoop,
        clock: Callable[[], float],
        *,
        burst: int = 5,
        period: float = 60.0,
    ) -> None:
        super().__init__(logging.INFO)
        self._notify = notify
        self._loop = loop
        self._clock = clock
        self._burst = burst
        self._period = period
        self._tokens = float(burst)
        self._updated = clock()
        self._dropped = 0

    def wanted(self, record: logging.LogRecord) -> bool:
        level = SOURCES.get(record.name)
        if level is not None:
            return record.levelno >= level
        return record.name == "gateway" and record.getMessage().startswith(GATEWAY_PREFIXES)

    def emit(self, record: logging.LogRecord) -> None:
        if not self.wanted(record):
            return
        text = record.getMessage()
        # Records may come from another thread: notices go out on the loop.
        self._loop.call_soon_threadsafe(self._send, text)

    def _send(self, text: str) -> None:
        now = self._clock()
        self._tokens = min(
            self._burst, self._tokens + (now - self._updated) * self._burst / self._period
        )
        self._updated = now
        if self._tokens < 1:
            self._dropped += 1
            return
        self._tokens -= 1
        if self._dropped:
            self._notify(f"({self._dropped} more radio warnings in the log)")
            self._dropped = 0
        self._notify(f"Radio: {text}")

    def install(self) -> None:
        # gateway.* records reach the "gateway" logger's handlers by propagation: one
        # handler there sees each record once.
        for name in _LOGGERS:
            logging.getLogger(name).addHandler(self)

    def remove(self) -> None:
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(self)


_LOGGERS = ("radio.port", "radio.station", "gateway")
