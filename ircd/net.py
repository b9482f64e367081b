"""The asyncio adapter: listeners, TLS, and `IrcServer` (connections: `ircd.connection`).

This module only moves bytes between sockets and the `Server` core (uvicorn style). The
embedding gateway uses `IrcServer`::

    irc = IrcServer(config, hooks=my_hooks)
    await irc.start()        # binds every irc.listen entry
    irc.reload(new_config)   # limits, MOTD, opers, ... (listeners need a restart)
    await irc.stop()         # ERROR to every client, then close
"""

from __future__ import annotations

import asyncio
import logging
import resource
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import Any, Final, TypeVar

from ircd.config import IrcConfig, Listener, TlsConfig
from ircd.connection import IrcConnection, _State
from ircd.faults import pace_loop_faults
from ircd.hooks import Accounts, Control, ServerHooks
from ircd.server import Server
from ircd.websocket import WebSocketTransport
from ircd.xlines import BanStore, FileBanStore, XLine

log = logging.getLogger("ircd.net")
T = TypeVar("T")

#: Descriptors wanted beyond the clients: TLS handshakes (no slot bounds them, only the
#: registration timeout), listeners, and the embedder's own files and sockets.
FD_MARGIN: Final = 1024
#: The soft limit asked for at least (if the hard one allows): room for TLS handshakes,
#: which a flood holds for `registration_timeout` each (3,000 a second for 20 s).
FD_WANTED: Final = 65_536


def raise_fd_limit(config: IrcConfig) -> int:
    """Raise the soft limit of open files so that the configured clients fit; returns it.

    systemd's default soft limit is 1,024, which `max_clients` alone reaches: past it
    accept() fails, asyncio tries again each second (its complaint paced by
    `faults.LoopFaults`), and a socket flood would keep every newcomer out, logins and
    the gateway's other listeners too. The hard limit
    (524,288 under systemd) is never exceeded; short of what is needed, a warning.
    Asked for: `FD_WANTED`, or more if the limits need it.
    """
    lim = config.limits
    want = lim.max_clients + lim.max_unregistered + FD_MARGIN
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = max(want, FD_WANTED)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft
    new = target if hard == resource.RLIM_INFINITY else min(target, hard)
    if new > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        except (ValueError, OSError) as exc:  # a system with its own ceiling (macOS)
            log.warning("cannot raise the open files limit from %d: %s", soft, exc)
            new = soft
    if new < want:
        log.warning(
            "open files limited to %d (hard limit): max_clients + max_unregistered + %d "
            "want %d; raise LimitNOFILE",
            new,
            FD_MARGIN,
            want,
        )
    return max(new, soft)


def run(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)` on uvloop when it is installed, else on the standard loop."""
    try:
        import uvloop
    except ImportError:
        # Run outside the except block: else every traceback logged while serving
        # would carry "No module named 'uvloop'" as its context.
        uvloop = None
    if uvloop is None:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def make_tls_context(tls: TlsConfig) -> ssl.SSLContext:
    """A server context with TLS 1.2 as the minimum; raises ssl.SSLError or OSError.

    Client certificates (for certfp) are requested only when `tls.client_ca` names a PEM
    bundle, and then optionally (CERT_OPTIONAL): a client without a certificate connects
    as usual. The standard library has no verify callback, and we would not want one
    that accepts everything (audit finding 3.6): a certificate the client does send must
    verify against that explicit trust store, which may hold CAs or the users' own
    self-signed certificates (VERIFY_X509_PARTIAL_CHAIN makes a listed certificate its
    own trust anchor). A client offering any other certificate fails the handshake and
    must reconnect without it. No system CAs are loaded.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(tls.cert, tls.key)
    if tls.client_ca is not None:
        context.verify_mode = ssl.CERT_OPTIONAL
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        context.load_verify_locations(cafile=tls.client_ca)
    return context


class IrcServer:
    """A `Server` core bound to the listeners of its configuration."""

    def __init__(
        self,
        config: IrcConfig,
        *,
        hooks: ServerHooks | None = None,
        ban_store: BanStore | None = None,
        control: Control | None = None,
        accounts: Accounts | None = None,
    ) -> None:
        """`ban_store` keeps server bans (default: `irc.bans_file` if set, else memory);
        `control` says what REHASH and DIE do (default: both refused); `accounts` is
        what SASL logs in to (default: no SASL)."""
        if ban_store is None and config.bans_file is not None:
            ban_store = FileBanStore(config.bans_file)
        self._state = _State()
        self.server = self._state.server = Server(
            config,
            hooks=hooks,
            ban_store=ban_store,
            control=control,
            accounts=accounts,
            multicast=self._state.multicast,
        )
        self._listeners: list[asyncio.Server] = []
        self._bound: tuple[Listener, ...] = ()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every bound socket (useful when a port was 0)."""
        return [sock.getsockname()[:2] for listener in self._listeners for sock in listener.sockets]

    @property
    def endpoints(self) -> list[str]:
        """Every bound socket for a log line: ``host:port``, then ``(TLS)``, ``(WebSocket)``
        or ``(WebSocket, TLS)`` where it applies."""
        out = []
        # (Empty once stopped: `stop` lets go of the listeners.)
        for config, listener in zip(self._bound, self._listeners, strict=False):
            kinds = ", ".join(
                kind
                for kind, on in (("WebSocket", config.websocket), ("TLS", config.tls is not None))
                if on
            )
            for sock in listener.sockets:
                host, port = sock.getsockname()[:2]
                out.append(f"{host}:{port} ({kinds})" if kinds else f"{host}:{port}")
        return out

    def protocol(self, tls: bool = False) -> IrcConnection:
        """A protocol for one more connection (e.g. for loop.connect_accepted_socket)."""
        return IrcConnection(self._state, tls)

    def websocket_protocol(self, tls: bool, origins: tuple[str, ...]) -> WebSocketTransport:
        """A protocol for one more connection speaking IRC over WebSocket."""
        return WebSocketTransport(IrcConnection(self._state, tls, websocket=True), origins)

    def _factory(self, listener: Listener, tls: bool) -> Callable[[], asyncio.BaseProtocol]:
        if listener.websocket:
            origins = listener.origins
            return lambda: self.websocket_protocol(tls, origins)
        return lambda: self.protocol(tls)

    async def start(self) -> None:
        """Bind every listener, then start the core's timers. On error nothing stays bound."""
        loop = asyncio.get_running_loop()
        config = self.server.config
        raise_fd_limit(config)
        pace_loop_faults(loop)
        await self.server.admission.load()
        bound = False
        try:
            for listener in config.listen:
                context = make_tls_context(listener.tls) if listener.tls else None
                self._listeners.append(
                    await loop.create_server(
                        self._factory(listener, context is not None),
                        listener.host,
                        listener.port,
                        ssl=context,
                        # A socket in its TLS handshake is not a client yet: no registering
                        # slot bounds it, so it gets no longer than registering (asyncio's
                        # default is 60 s). Read at start, as the listeners are.
                        ssl_handshake_timeout=(
                            config.limits.registration_timeout if context is not None else None
                        ),
                        reuse_address=True,
                        # asyncio's default of 100 overflows when hundreds connect at once.
                        backlog=socket.SOMAXCONN,
                    )
                )
            bound = True
        finally:
            if not bound:  # one listener failed: release the ones already bound
                await self._close_listeners()
        self._bound = config.listen
        for listener in config.listen:
            if listener.websocket and not listener.origins:
                log.info(
                    "WebSocket listener %s:%d: browser pages are refused until its origins "
                    "lists them (clients that are no browser connect)",
                    listener.host,
                    listener.port,
                )
        self.server.start()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, tell every client, wait up to `timeout` for them to close."""
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.close()
        self.server.stop("Server shutting down")
        try:
            async with asyncio.timeout(timeout):
                await self._state.idle.wait()
        except TimeoutError:
            log.warning(
                "%d connections did not close in time; dropping them", len(self._state.connections)
            )
            for connection in list(self._state.connections):
                connection.abort()
        # Only now: from Python 3.12 on, wait_closed() also waits for the connections.
        for listener in listeners:
            await listener.wait_closed()

    def reload(self, config: IrcConfig) -> None:
        """Swap in a new configuration (listeners stay as they are until a restart)."""
        if config.listen != self._bound:
            log.warning("irc.listen changed: restart to bind the new listeners")
        self.server.reload(config)

    async def resync_bans(self) -> list[XLine]:
        """Drop the K/G/Z-lines another program removed from the ban store (the gateway's
        console, `gateway bans remove`); operators hear of each. Returns them."""
        return await self.server.admission.resync()

    def set_accounts(self, accounts: Accounts | None) -> None:
        """Offer SASL against `accounts` from now on (None: stop); clients hear CAP NEW/DEL."""
        self.server.set_accounts(accounts)

    async def _close_listeners(self) -> None:
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.close()
        for listener in listeners:
            await listener.wait_closed()
