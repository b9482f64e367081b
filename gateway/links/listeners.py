"""The telnet listeners of `gateway run`: an asyncio server each, started, stopped with
a goodbye to every connection, and matched to the listeners of a reloaded config."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from gateway.config import TelnetListener
from gateway.links.telnet import ListenerState, TelnetConnection

log = logging.getLogger("gateway")

#: How long a stopping listener waits for its connections to close.
SHUTDOWN_TIMEOUT = 10.0

Key = tuple[str, int]


class _Listener:
    def __init__(self, state: ListenerState, server: asyncio.Server) -> None:
        self.state = state
        self.server = server


class TelnetListeners:
    def __init__(
        self, run_session: Callable[[TelnetConnection], Coroutine[Any, Any, None]]
    ) -> None:
        self._run_session = run_session
        self._running: dict[Key, _Listener] = {}

    def serving(self) -> tuple[str, ...]:
        """`host:port` of each listener accepting connections (`gateway status`)."""
        return tuple(
            f"{host}:{port}"
            for (host, port), listener in self._running.items()
            if listener.server.is_serving()
        )

    async def start(self, cfg: TelnetListener) -> None:
        state = ListenerState(cfg)
        try:
            server = await asyncio.get_running_loop().create_server(
                lambda: TelnetConnection(state, self._run_session), cfg.host, cfg.port
            )
        except OSError as exc:
            raise OSError(f"cannot listen on {cfg.host}:{cfg.port}: {exc.strerror}") from None
        self._running[(cfg.host, cfg.port)] = _Listener(state, server)
        mode = "BPQ, callsign first" if cfg.bpq else "callsign prompt"
        log.info("listening on %s:%d (%s)", cfg.host, cfg.port, mode)
        for warning in cfg.warnings():
            log.warning("%s", warning)

    async def stop(self, key: Key, farewell: str) -> None:
        listener = self._running.pop(key)
        listener.server.close()
        conns = list(listener.state.connections)
        await asyncio.gather(*(c.shutdown(farewell) for c in conns), return_exceptions=True)
        try:
            async with asyncio.timeout(SHUTDOWN_TIMEOUT):
                await listener.state.empty.wait()
        except TimeoutError:
            log.warning("%d connection(s) on %s did not close in time", len(conns), key)
        log.info("stopped listening on %s:%d", *key)

    def stopping_all(self, farewell: str) -> list[Coroutine[Any, Any, None]]:
        """The stops of every listener, for the caller to run with its other goodbyes."""
        return [self.stop(key, farewell) for key in list(self._running)]

    async def reload(self, configs: Sequence[TelnetListener]) -> None:
        """Those gone from the config stop, new ones start; the others keep running, and
        their new settings apply to new connections (existing ones keep theirs)."""
        wanted = {(x.host, x.port): x for x in configs}
        for key in set(self._running) - set(wanted):
            await self.stop(key, "This port is closing. 73!")
        for key, cfg in wanted.items():
            if key in self._running:
                self._running[key].state.config = cfg
            else:
                try:
                    await self.start(cfg)
                except OSError as exc:
                    log.error("%s", exc)
