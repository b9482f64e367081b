"""`gateway run`: the store, the telnet listeners, sessions, reload and shutdown.

The Gateway owns everything that lives as long as the process: the store thread, one
asyncio server per listener, the table of logged-in sessions. SIGHUP re-reads the
config and swaps it in whole (an invalid file keeps the old one); SIGTERM says goodbye
to every session and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sqlite3
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from gateway import health, transmit
from gateway.auth import admin, airlogins, audit, credentials
from gateway.auth.airlogins import AirLogins
from gateway.auth.service import Authenticator
from gateway.bridge import Bridge, RadioSession
from gateway.callsign import Callsign, parse_callsign
from gateway.codecheck import check_code
from gateway.config import (
    Config,
    ConfigError,
    RadioPort,
    keep_running,
    load_config,
    loopback_host,
    restart_keys,
    restart_warnings,
)
from gateway.events.bus import Events
from gateway.events.mqtt import MqttLink
from gateway.instance_lock import InstanceLock
from gateway.irc.external import ExternalConnector
from gateway.irc.hooks import (
    CallsignNicks,
    OperAudit,
    StoreBanStore,
    TotpAccounts,
    end_stale_logins,
)
from gateway.irc.link import Connector, EmbeddedConnector
from gateway.irc.operators import RadioCommands
from gateway.irc.opernotices import LoginNotices, OperatorAlerts
from gateway.links.ax25 import AX25Stream
from gateway.links.listeners import TelnetListeners
from gateway.links.radio_ports import RadioPorts
from gateway.links.telnet import TelnetConnection
from gateway.private_files import write_private_file
from gateway.session.transport import Transport
from gateway.shutdown import Shutdown
from gateway.store import AsyncStore, Store
from ircd.faults import pace_loop_faults
from ircd.hooks import Control, rehash_refused
from ircd.net import IrcServer

log = logging.getLogger("gateway")
T = TypeVar("T")

SHUTDOWN_FAREWELL = "Gateway shutting down. 73!"
REVOKED = "Your access has been revoked."
#: How often the store is asked whether the CLI changed something (revocations).
WATCH_INTERVAL = 2.0
#: A store watch failing again and again is logged at the first failure, then once
#: every this many (10 minutes at WATCH_INTERVAL).
WATCH_FAILURES_LOGGED = 300
PRUNE_INTERVAL = 3600.0


async def _all(work: list[Any]) -> None:
    """Await every awaitable in `work` together; the first error is raised after all end."""
    results = await asyncio.gather(*work, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
            raise result


class Gateway:
    def __init__(
        self,
        config: Config,
        clock: Callable[[], float] = time.time,
        on_stopping: Callable[[float], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        #: For intervals and timers (a step of the wall clock moves none of them).
        self.monotonic = monotonic
        self._health: tuple[health.Snapshot, float] | None = None
        self._started = clock()
        #: Told the shutdown budget when a stop begins (the CLI arms its watchdog).
        self._on_stopping = on_stopping
        self.clock = clock
        self.store: AsyncStore | None = None
        self.authenticator = Authenticator()
        #: Radio logins in progress: a code off the air is refused meanwhile.
        self.air_logins = AirLogins(monotonic)
        self.listeners = TelnetListeners(self._run_session)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop = asyncio.Event()
        self.irc: IrcServer | None = None
        self.bridge: Bridge | None = None
        self._alerts: OperatorAlerts | None = None
        self._login_notices: LoginNotices | None = None
        self.events = Events(clock)
        self.mqtt: MqttLink | None = None
        self.radio = RadioPorts(self._run_radio_session, self.events)
        self.nicks = CallsignNicks()
        self.transmitting = False
        #: Radio ports whose own transmitter switch is off.
        self.ports_off: frozenset[str] = frozenset()
        self._pid_written = False
        self._lock = InstanceLock(config.data_dir)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        # The telnet listeners' accept() failing at the open files limit is one line a
        # minute, on an external network too (the embedded server installs it as well).
        pace_loop_faults(asyncio.get_running_loop())
        self.store = await AsyncStore.open(self.config)
        try:
            # One gateway per store: a second would answer for the same callsigns.
            self._lock.acquire(self._pid_path)
            self.nicks.enrolled = await self.store.call(Store.enrolled_callsigns)
            # Codes heard on the air just before a restart stay refused off the air.
            wall = self.clock()
            self.air_logins.restore(await self.store.call(airlogins.recent, wall), wall)
            legacy = await self.store.call(credentials.legacy_app_passwords)
            if legacy:
                log.warning(
                    "%d application password(s) made by version 0.1.0 no longer log in:"
                    " make new ones (`gateway apppass list` marks them)",
                    legacy,
                )
            connector = await self._start_irc()
            mqtt = self.config.mqtt
            self.nicks.gateway_nicks = frozenset(
                n.lower()
                for n in (
                    self.config.bridge.service_nick,
                    *(f.nick for f in (mqtt.bulletins if mqtt else ())),
                )
            )
            network = self.config.irc.network
            self.bridge = Bridge(
                self.config.bridge,
                connector,
                self.store,
                self._check_code,
                clock=self.clock,
                monotonic=self.monotonic,
                enrolled=lambda: self.nicks.enrolled,
                fold=connector.fold,
                intro=f"{self.config.callsign or network} IRC gateway",
                events=self.events,
                air_logins=self.air_logins,
                network=self.config.irc_external,
            )
            if mqtt is not None:
                self.bridge.report_relayed = mqtt.messages != "off"
                # check-config refuses an MQTT section with neither (read.py).
                name = (mqtt.name or self.config.callsign or "").replace("/", "-")
                self.mqtt = MqttLink(mqtt, name, self.events, connector, self.clock, self.monotonic,
                                     radio=bool(self.config.radio.ports),
                                     store=self.store)  # fmt: skip
                self.bridge.trusted_links = self.mqtt.on_air_links
                await self.mqtt.start()
            await self.bridge.start()
            if self.irc is not None:
                self._serve_operators(self.irc, self.bridge)
            for listener in self.config.telnet_listen:
                await self.listeners.start(listener)
            self.transmitting, self.ports_off = await self._switches()
            self.radio.start(self.config, self.transmitting, self.ports_off)
            if self.config.radio.ports and not self.transmitting:
                log.warning("the radio transmitter is OFF (gateway radio on)")
            pid = f"{os.getpid()}\n".encode()
            await asyncio.to_thread(write_private_file, self._pid_path, pid)
            self._pid_written = True
            await self._report_health()  # `gateway status` has an answer once we say running
        except BaseException:
            await self.stop()
            raise
        self._spawn(self._watch_store())
        log.info("gateway running (data in %s)", self.config.data_dir.resolve())

    async def _start_irc(self) -> Connector:
        """The embedded server, or nothing but a connector to the external network."""
        external = self.config.irc_external
        if external is not None:
            connector = ExternalConnector(external)
            log.info("IRC: external network %s (radio users connect as its clients)",
                     connector.address)  # fmt: skip
            on_loopback = all(loopback_host(host) for host, _ in external.servers)
            if not (external.tls and external.tls_verify) and not on_loopback:
                log.warning("irc.external: without verified TLS, the WEBIRC, PASS and SASL "
                            "passwords cross the network in the clear (tls: true)")  # fmt: skip
            return connector
        assert self.store is not None
        self.irc = IrcServer(
            self.config.irc,
            hooks=self.nicks,
            ban_store=StoreBanStore(self.store),
            control=Control(
                rehash=self._rehash_from_irc,
                die=self.request_stop,
                audit=OperAudit(self.store, self.clock, self._spawn),
            ),
            accounts=TotpAccounts(
                self._check_callsign_code, self.store, lambda: self.config.auth.source, self.clock
            ),
        )
        try:
            await self.irc.start()
        except OSError as exc:
            raise OSError(f"cannot start the IRC server: {exc}") from None
        for endpoint in self.irc.endpoints:
            log.info("IRC server listening on %s", endpoint)
        return EmbeddedConnector(self.irc.server)

    def _serve_operators(self, irc: IrcServer, bridge: Bridge) -> None:
        """What only the embedded server offers: mail to absent nicks, RADIO, notices."""
        assert self.store is not None
        self.nicks.absent = bridge.message_to_absent
        server = irc.server

        def notify(text: str, letter: str, kind: str, source: str) -> None:
            server.notice_opers(text, None, letter, kind=kind, source=source)

        self._alerts = OperatorAlerts(notify, asyncio.get_running_loop())
        self._alerts.install()
        self._login_notices = LoginNotices(notify)

        self.nicks.radio_whois = bridge.radio_whois
        RadioCommands(
            bridge,
            self.store,
            clock=self.clock,
            transmitting=lambda: self.transmitting,
            ports=lambda: self.radio.port_states(self.config.radio.ports, self.ports_off),
            set_transmit=self.set_transmit,
            revoked=self._revoked,
            auth=lambda: self.config.auth,
            nodes=lambda: admin.known_nodes(self.config),
        ).install(irc.server)

    @property
    def _pid_path(self) -> Path:
        return self.config.data_dir / health.PID_FILE

    async def stop(self) -> None:
        """Say goodbye and stop, each step bounded (`shutdown_timeout`, shares below)."""
        shutdown = Shutdown(self.config.shutdown_timeout)
        if self.bridge is not None:
            self.bridge.end_all(SHUTDOWN_FAREWELL, "shutdown")  # logged with its reason
        goodbyes = [self.radio.stop(SHUTDOWN_FAREWELL)]
        goodbyes += self.listeners.stopping_all(SHUTDOWN_FAREWELL)
        await shutdown.step("goodbyes to radio and telnet sessions", _all(goodbyes), 0.4)
        if self.mqtt is not None:
            mqtt_share = 0.25  # the link divides it (offline, flush, QUITs), ending first
            await shutdown.step(
                "the MQTT link", self.mqtt.stop(0.9 * shutdown.bound(mqtt_share)), mqtt_share
            )
            self.mqtt = None
        if self._alerts is not None:
            self._alerts.remove()
            self._alerts = None
        self._login_notices = None
        self.nicks.radio_whois = None
        if self.bridge is not None:
            self.nicks.absent = None
            await shutdown.step("the bridge's IRC clients", self.bridge.stop(), 0.1)
            self.bridge = None
        if self.irc is not None:
            await shutdown.step("the IRC server", self.irc.stop(), 0.1)
            self.irc = None
        for task in list(self._tasks):
            task.cancel()
        await shutdown.step("background tasks", _all(list(self._tasks)), 0.05)
        if self.store is not None:
            await shutdown.step("the store", self.store.close(), 0.1)
            self.store = None
        if self._pid_written:  # never remove the file of another instance
            with contextlib.suppress(FileNotFoundError):
                self._pid_path.unlink()
            self._pid_written = False
        self._lock.release()
        if shutdown.abandoned:
            log.warning("gateway stopped; abandoned: %s", ", ".join(shutdown.abandoned))
        else:
            log.info("gateway stopped")

    async def run(self) -> None:
        """Start, then serve until SIGTERM or SIGINT; SIGHUP reloads the config."""
        loop = asyncio.get_running_loop()
        # A stop asked for while starting (systemd's stop right after its start) is
        # taken once the start is done, never the default action's sudden death.
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        loop.add_signal_handler(signal.SIGINT, self._stop.set)
        # So is a reload (SIGHUP, whose default action kills: a `systemctl reload` just
        # after the start) and `gateway radio off|on`, which writes the store, then sends
        # SIGUSR1 so it acts at once.
        asked: set[signal.Signals] = set()
        for sig in (signal.SIGHUP, signal.SIGUSR1):
            loop.add_signal_handler(sig, asked.add, sig)
        try:
            await self.start()  # stops what it started if it fails
        except BaseException:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
            raise
        for sig in (signal.SIGHUP, signal.SIGUSR1):
            loop.add_signal_handler(sig, self._signalled, sig)
        for sig in sorted(asked) if not self._stop.is_set() else ():
            self._signalled(sig)
        try:
            await self._stop.wait()
            log.info("stopping")
        finally:
            # While stopping, a reload or a `radio off` is too late, and their default
            # action would end the stop half-way (no goodbyes, the pid file left).
            for sig in (signal.SIGHUP, signal.SIGUSR1):
                loop.add_signal_handler(sig, log.info, "%s ignored: stopping", sig.name)
            if self._on_stopping is not None:
                self._on_stopping(self.config.shutdown_timeout)
            try:
                await self.stop()
            finally:
                for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
                    loop.remove_signal_handler(sig)

    def _signalled(self, sig: signal.Signals) -> None:
        if sig is signal.SIGHUP:
            self._spawn(self.reload())
        else:
            self._spawn(self.apply_transmit())

    def request_stop(self) -> None:
        self._stop.set()

    def _rehash_from_irc(self) -> Awaitable[str]:
        """REHASH from an IRC operator: the same reload as SIGHUP, its outcome for the
        operators. Shielded: the operator quitting must not cut a reload in half."""
        return asyncio.shield(self._spawn(self.reload()))

    async def reload(self) -> str:
        """Re-read the config file; keep the old config if the new one is invalid.

        Returns the outcome in one line (REHASH answers it; SIGHUP has the log)."""
        if self.config.path is None:
            log.info("SIGHUP: running on built-in defaults, nothing to reload")
            return "nothing to reload: running on built-in defaults"
        try:
            new = load_config(self.config.path)
        except ConfigError as exc:
            log.error("reload failed, keeping the running config:\n%s", exc)
            return rehash_refused(exc.problems)
        for warning in restart_warnings(self.config, new):
            log.warning(warning)
        keys = restart_keys(self.config, new)
        new = keep_running(self.config, new)
        if new.log_level != self.config.log_level:  # `gateway run` set it on the root logger
            logging.getLogger().setLevel(new.log_level.upper())
            log.warning("log level now %s", new.log_level)
        self.config = new
        if self.bridge is not None:
            self.bridge.reconfigure(new.bridge)  # running sessions too (hub.LIVE_KEYS)
        if self.irc is not None:
            self.irc.reload(new.irc)
        await self.listeners.reload(new.telnet_listen)
        log.info("configuration reloaded from %s", new.path)
        kept = f", but these keep their running value until a restart: {', '.join(keys)}"
        return f"reloaded {new.path}" + (kept if keys else "")

    # -- the transmitter switch --------------------------------------------------

    async def _switches(self) -> tuple[bool, frozenset[str]]:
        """Transmitting (the config allows it, the store's switch is not off), and the
        ports whose own switch is off (`gateway radio off --port NAME`)."""
        assert self.store is not None
        names = [p.name for p in self.config.radio.ports]
        switch, off = await self.store.call(transmit.switches, names)
        return self.config.radio.transmit and switch, off

    async def apply_transmit(self) -> None:
        """Re-read the switches and apply them to the radio ports at once."""
        wanted, off = await self._switches()
        if wanted != self.transmitting:
            self.transmitting = wanted
            log.warning("radio transmitter %s", "ON" if wanted else "OFF")
            self.events.emit("transmitter", state="on" if wanted else "off", port=None)
        for name in sorted(set(off) ^ set(self.ports_off)):
            log.warning("radio transmitter %s on port %s", "OFF" if name in off else "ON", name)
            self.events.emit("transmitter", state="off" if name in off else "on", port=name)
        self.ports_off = off
        self.radio.set_transmit(wanted, off)

    async def set_transmit(self, enabled: bool, port: str | None = None) -> None:
        """The kill switch, for callers inside the gateway (IRC operator commands):
        every port, or one (its own switch, under the one for all)."""
        assert self.store is not None
        await self.store.call(transmit.set_switch, enabled, port)
        await self.apply_transmit()

    # -- sessions ----------------------------------------------------------------

    async def _run_radio_session(self, stream: AX25Stream, port: RadioPort) -> None:
        # The AX.25 source address is the caller's callsign: no prompt for it.
        known = parse_callsign(str(stream.conn.remote))
        await self._session(stream, False, known, port.login_timeout, port.idle_timeout)

    async def _run_session(self, conn: TelnetConnection) -> None:
        cfg = conn.config
        await self._session(conn, cfg.bpq, None, cfg.login_timeout, cfg.idle_timeout)

    async def _session(
        self,
        transport: Transport,
        callsign_first: bool,
        known: Callsign | None,
        login_timeout: float,
        idle_timeout: float,
    ) -> None:
        assert self.bridge is not None
        auth = self.config.auth
        settings = self.bridge.settings(
            transport,
            login_timeout,
            idle_timeout,
            auth.attempts_per_connection,
            auth.failure_pause,
        )
        session = RadioSession(
            self.bridge, transport, settings, callsign_first=callsign_first, known=known
        )
        await session.run()

    async def _check_callsign_code(
        self, callsign: str, code: str, source: str, *, familiar: bool = True
    ) -> bool:
        return await self._check_code(Callsign(callsign), code, source, familiar=familiar)

    async def _check_code(
        self, callsign: Callsign, code: str, source: str, *, familiar: bool = True
    ) -> bool:
        assert self.store is not None
        return await check_code(
            self.store, self.authenticator, self.config.auth, self.air_logins,
            self._login_notices, self.events, self.clock, callsign, code, source,
            familiar=familiar,
        )  # fmt: skip

    async def _revoked(self, base: str) -> None:
        """A callsign was revoked from IRC: its nick is free and its sessions end now,
        on the air and on IRC."""
        assert self.store is not None
        self.nicks.enrolled = await self.store.call(Store.enrolled_callsigns)
        if self.bridge is not None:
            self.bridge.end_sessions(base, REVOKED, "revoked")
        if self.irc is not None:
            self.irc.server.end_logins(base, REVOKED)

    # -- background work ---------------------------------------------------------

    def _spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    async def _watch_store(self) -> None:
        """Notice CLI changes (a revocation ends live sessions) and prune old rows.

        A store error is logged and the watch goes on: stopping here would leave
        revocations and the transmitter switch unnoticed until a restart.
        """
        assert self.store is not None
        version: int | None = None
        next_prune = 0.0
        failures = 0  # in a row; a disk full for a day is not 43,200 lines of it
        while True:
            try:
                version, next_prune = await self._watch_once(version, next_prune)
            except (sqlite3.Error, OSError) as exc:
                failures += 1
                if failures == 1 or failures % WATCH_FAILURES_LOGGED == 0:
                    log.error("store watch failed %s(trying again every %.0f s): %s",
                              f"{failures} times in a row " if failures > 1 else "",
                              WATCH_INTERVAL, exc)  # fmt: skip
            else:
                if failures:
                    log.warning("store watch works again, after %d failures", failures)
                failures = 0
            await asyncio.sleep(WATCH_INTERVAL)

    def _snapshot(self) -> health.Snapshot:
        if self.irc is not None:
            irc = "embedded " + ", ".join(self.irc.endpoints)
        elif self.bridge is not None and isinstance(self.bridge.connector, ExternalConnector):
            irc = "external " + self.bridge.connector.status
        else:
            irc = "not started"
        return health.Snapshot(
            pid=os.getpid(),
            started=self._started,
            listeners=self.listeners.serving(),
            listeners_wanted=len(self.config.telnet_listen),
            irc=irc,
            radio={
                p.name: self.radio.state.get(p.name, "not started") for p in self.config.radio.ports
            },
            mqtt=None if self.mqtt is None else self.mqtt.connected.is_set(),
            notices_waiting=None if self.bridge is None else self.bridge.notices_waiting,
            notices_dropped=0 if self.bridge is None else self.bridge.notices_dropped,
        )

    async def _report_health(self) -> None:
        """Write what is up for `gateway status`: when it changes, and every HEARTBEAT s."""
        assert self.store is not None
        snapshot, now = self._snapshot(), self.monotonic()
        last = self._health
        if last is not None and last[0] == snapshot and now - last[1] < health.HEARTBEAT:
            return
        await self.store.call(health.record, snapshot, self.clock(), now)
        self._health = (snapshot, now)

    async def _watch_once(self, version: int | None, next_prune: float) -> tuple[int, float]:
        assert self.store is not None
        await self._report_health()
        now = self.clock()  # the rows' times are wall times; the interval is not
        if self.monotonic() >= next_prune:
            await self.store.call(Store.prune, now, self.config.auth.callsign.forget_after)
            if self.bridge is not None:
                await self.bridge.prune()
            await self.store.call(audit.prune, now)
            await self.store.call(admin.prune_locks, now)
            next_prune = self.monotonic() + PRUNE_INTERVAL
        if self.irc is not None:
            await end_stale_logins(self.irc.server, self.store, now)
        current = await self.store.call(Store.data_version)
        if current == version or version is None:
            return current, next_prune
        await self.apply_transmit()
        if self.irc is not None:  # `gateway bans remove`
            await self.irc.resync_bans()
        enrolled = await self.store.call(Store.enrolled_callsigns)
        self.nicks.enrolled = enrolled
        bridge = self.bridge
        if bridge is not None:
            for base in [b for b in bridge.by_base if b not in enrolled]:
                log.warning("%s was revoked; ending its sessions", base)
                bridge.end_sessions(base, REVOKED, "revoked")
        return current, next_prune
