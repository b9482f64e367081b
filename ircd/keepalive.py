"""Keep-alive: a periodic tick that pings idle clients and drops the silent and the unregistered.

Owned by the server (`Server.start`, `Server.stop`, `Server.check_timeouts`); the tick
also runs the server's other periodic work it is handed (admission's expiries).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ircd.protocol import Message

if TYPE_CHECKING:
    from ircd.client import TimerHandle
    from ircd.intake import Core


class Keepalive:
    """The tick of one server: started once, stopped with the server."""

    __slots__ = ("_also", "_core", "_handle")

    def __init__(self, core: Core, also: Callable[[], None]) -> None:
        self._core = core
        self._also = also
        self._handle: TimerHandle | None = None

    def start(self) -> None:
        """Start ticking (needs a scheduler or a running loop); a second start does nothing."""
        if self._handle is None:
            self._handle = self._core.scheduler().call_later(self._period(), self._tick)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _period(self) -> float:
        lim = self._core.config.limits
        shortest = min(lim.ping_interval, lim.ping_timeout, lim.registration_timeout)
        return min(max(shortest / 4, 0.05), 5.0)

    def _tick(self) -> None:
        self._handle = self._core.scheduler().call_later(self._period(), self._tick)
        self.check()
        self._also()

    def check(self) -> None:
        """Ping idle clients, drop those that do not answer or never register."""
        core = self._core
        now = core.clock()
        lim = core.config.limits
        for client in list(core.clients.values()):
            if not client.registered and now - client.connected_at > lim.registration_timeout:
                core.disconnect(client, "Registration timed out")
            elif client.ping_sent is not None:
                if now - client.ping_sent > lim.ping_timeout:
                    core.disconnect(client, f"Ping timeout: {int(now - client.last_recv)} seconds")
            elif now - client.last_recv > lim.ping_interval:
                client.ping_sent = now
                core.send(client, Message(command="PING", params=(core.name,)))
