"""The bridge's parts wired together: what the application holds as `Bridge`.

The registry of sessions on the air (registry.py), the mailbox (mailbox.py), the
service nick with the archive (service.py) and trust (trust.py) each live in a module
of their own; `Bridge` builds them, hands each the others' few functions it needs,
and makes the settings of each new session (session.py).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from gateway import prefs
from gateway.auth import airlogins
from gateway.auth.airlogins import AirLogins
from gateway.bridge.mailbox import Mailbox
from gateway.bridge.registry import Registry
from gateway.bridge.service import ServiceNick
from gateway.bridge.session import CheckCode, RadioSession
from gateway.bridge.trust import NetworkPeers, Trust
from gateway.config import BridgeConfig, ExternalIrc
from gateway.events.bus import Events
from gateway.irc.link import Connector, IrcLink
from gateway.irc.opernotices import whois_lines
from gateway.logpace import LogPace
from gateway.session import chat
from gateway.session.thirdparty import RADIO_SUFFIX
from gateway.session.transport import Transport
from gateway.store import BUSY, AsyncStore, is_busy
from ircd.client import Client

log = logging.getLogger("gateway.bridge")

#: What a reload changes in running sessions: what reaches the user and how.
LIVE_KEYS = ("third_party", "width", "page_lines", "queue_lines", "join_history", "read_lines")


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        connector: Connector,
        store: AsyncStore,
        check_code: CheckCode,
        *,
        clock: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
        enrolled: Callable[[], frozenset[str]],
        fold: Callable[[str], str],
        intro: str = "",
        events: Events | None = None,
        air_logins: AirLogins | None = None,
        network: ExternalIrc | None = None,
    ) -> None:
        #: Swapped whole on reload; the parts read it through `lambda: self.config`.
        self.config = config
        self.connector = connector
        self.store = store
        self.check_code = check_code
        #: Radio logins in progress, which make a code off the air suspect.
        self.air_logins = air_logins if air_logins is not None else AirLogins(monotonic)
        self._enrolled = enrolled
        #: Wall time, for what a person reads: mailbox and archive dates, events.
        self.clock = clock
        #: Every session's deadlines (login, idle, failure pause) and the notice bucket:
        #: a step of the wall clock moves none of them.
        self.monotonic = monotonic
        #: The ends of sessions that never logged in, logged at most 20 a minute.
        self.prelogin_log = LogPace(clock=monotonic)
        self._fold = fold
        self.intro = intro
        self.events = events if events is not None else Events(clock)
        #: The gateway's other clients whose text the sysop vouches for on air (bulletin
        #: posters with on_air); set by the application once they exist.
        self.trusted_links: Callable[[], Iterable[IrcLink]] = tuple
        #: Whether anyone listens for each chat line (MQTT `messages:` not off).
        self.report_relayed = False
        self.registry: Registry[RadioSession] = Registry(fold, self.events)
        #: Store writes a session asked for, which outlive it (settings, Code: prompts).
        self._writes: set[asyncio.Task[None]] = set()
        #: Warnings that the store failed (disk full, locked), which anyone can repeat
        #: by naming an enrolled callsign: paced together.
        self.store_log = LogPace(clock=monotonic)
        #: The external network's settings (None with the embedded server).
        self.network = network
        self.trust = Trust(
            lambda: self.config.third_party,
            lambda: (self.service, *self.trusted_links()),
            NetworkPeers(network, fold) if network is not None else None,
        )
        self.mailbox = Mailbox(
            lambda: self.config,
            store,
            clock=clock,
            events=self.events,
            enrolled=enrolled,
            notice=self.notice,
            recipients=self.registry.of_base,
            trust=self.trust,
            network_wide=network is not None and bool(network.service_nicks),
        )
        self._service = ServiceNick(
            lambda: self.config,
            connector,
            store,
            clock=clock,
            monotonic=monotonic,
            fold=fold,
            trust=self.trust,
            mailbox=self.mailbox,
            nick_on_air=self.registry.nick_on_air,
            enrolled=enrolled,
            peers=network.service_nicks if network is not None else (),
        )

    # -- sessions -----------------------------------------------------------------------------

    def reconfigure(self, config: BridgeConfig) -> None:
        """A reload: the rules of LIVE_KEYS apply to running sessions at once, the rest
        (autojoin, the archive) at their next login."""
        self.config = config
        live = self.live_settings()
        for session in self.registry.sessions():
            session.reconfigure(live)

    def live_settings(self) -> dict[str, object]:
        """The `bridge:` settings a running session takes from a reload."""
        return {key: getattr(self.config, key) for key in LIVE_KEYS}

    def settings(
        self,
        transport: Transport,
        login_timeout: float,
        idle_timeout: float,
        attempts: int,
        failure_pause: float,
    ) -> chat.Settings:
        c = self.config
        return chat.Settings(
            login_timeout=login_timeout,
            idle_timeout=idle_timeout,
            attempts=attempts,
            failure_pause=failure_pause,
            chunk_bytes=transport.chunk_bytes,
            width=c.width,
            page_lines=c.page_lines,
            queue_lines=c.queue_lines,
            join_history=c.join_history,
            read_lines=c.read_lines,
            third_party=c.third_party,
            radio_suffix=RADIO_SUFFIX,
            callsign_nicks_kept=self.connector.mode == "embedded",
            confirm_sent=self.connector.mode != "embedded",
            archived=frozenset(self._fold(ch) for ch in c.archive_channels),
            autojoin=c.autojoin,
            via=transport.via,
            service_nick=c.service_nick,
            intro=self.intro,
            trusted=self.trust.trusted_source,
            topic_account=self.connector.topic_account,
            squatted=self.trust.squatted,
            report_relayed=self.report_relayed,
            wall_clock=self.clock,
            fold=self._fold,
        )

    @property
    def by_nick(self) -> dict[str, RadioSession]:
        """Folded nick -> the session holding it."""
        return self.registry.by_nick

    def radio_whois(self, user: Client) -> list[str]:
        """An operator's WHOIS of a radio user: node or port, path, login time."""
        session = self.by_nick.get(self._fold(user.name)) if user.in_process else None
        call = session.callsign if session is not None else None
        if session is None or call is None:
            return []
        return whois_lines(str(call), session.transport.source_key(call), session.core.since)

    @property
    def by_base(self) -> dict[str, set[RadioSession]]:
        """Base callsign -> its logged-in sessions (one per SSID at most)."""
        return self.registry.by_base

    def take_over(self, nick: str, new: RadioSession) -> None:
        self.registry.take_over(nick, new)

    def logged_in(self, session: RadioSession, nick: str) -> None:
        self.registry.logged_in(session, nick)

    def logged_out(self, session: RadioSession) -> None:
        self.registry.logged_out(session)

    def sessions(self) -> list[RadioSession]:
        return self.registry.sessions()

    def find(self, call: str) -> RadioSession | None:
        return self.registry.find(call)

    def of_base(self, base: str) -> list[RadioSession]:
        """The sessions of a base callsign, any SSID."""
        return self.registry.of_base(base)

    def end_all(self, farewell: str, reason: str) -> None:
        self.registry.end_all(farewell, reason)

    def end_sessions(self, base: str, farewell: str, reason: str) -> None:
        self.registry.end_sessions(base, farewell, reason)

    # -- the mailbox --------------------------------------------------------------------------

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        """ServerHooks: a message to the nick of a callsign that is off the air."""
        return self.mailbox.message_to_absent(client, nick, command, text)

    def save_pref(self, base: str, key: str, value: int) -> None:
        """Keep a user's own setting; the write outlives the session that asked for it
        (a /STAMP ON just before /BYE is kept)."""
        self._write_soon(self.store.call_impatient(prefs.save, base, key, value))

    def _write_soon(self, write: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(write)
        self._writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task: asyncio.Task[None]) -> None:
        self._writes.discard(task)
        exc = None if task.cancelled() else task.exception()
        if isinstance(exc, sqlite3.Error):  # locked by the sysop, disk full: no fault here
            # One line, paced: each connection naming an enrolled callsign writes twice.
            more = self.store_log.admit()
            if more is not None:
                log.warning("a radio user's setting or Code: prompt was not kept in the "
                            "store: %s%s", BUSY if is_busy(exc) else exc, more)  # fmt: skip
        elif exc is not None:
            log.error("a radio user's setting or Code: prompt was not kept in the store",
                      exc_info=exc)  # fmt: skip

    def hold_soon(
        self, base: str, sender: str, kind: str, text: str, *, tell: str, account: str = ""
    ) -> None:
        self.mailbox.hold_soon(base, sender, kind, text, tell=tell, account=account)

    def air_prompt(self, base: str, opened: bool) -> None:
        """A radio session opened or left a Code: prompt for `base` (enrolled callsigns
        only are kept, so invented ones cannot grow the table)."""
        if not opened:
            if not self.air_logins.closed(base):
                return
        elif base in self._enrolled():
            self.air_logins.opened(base)
        else:
            return
        # Kept in the store too, so that a restart within the window forgets nothing.
        prompts = self.air_logins.open_count(base)
        self._write_soon(self.store.call_impatient(airlogins.remember, base, self.clock(), prompts))

    async def hold(
        self,
        base: str,
        sender: str,
        kind: str,
        text: str,
        *,
        tell: str | None = None,
        account: str = "",
    ) -> None:
        await self.mailbox.hold(base, sender, kind, text, tell=tell, account=account)

    async def prune(self) -> None:
        await self.mailbox.prune()

    # -- the service nick -----------------------------------------------------------------------

    @property
    def service(self) -> IrcLink | None:
        """The service nick's IRC client, while it is connected."""
        return self._service.link

    @property
    def service_nick(self) -> str:
        return self._service.nick

    @property
    def notices_dropped(self) -> int:
        return self._service.notices_dropped

    @property
    def notices_waiting(self) -> int:
        return self._service.notices_waiting

    def notice(self, nick: str, text: str) -> None:
        self._service.notice(nick, text)

    def trusted_source(self, source: str) -> bool:
        return self.trust.trusted_source(source)

    async def start(self) -> None:
        await self._service.start()

    async def stop(self) -> None:
        await self._service.stop()
        tasks = [*self._service.tasks(), *self.mailbox.pending()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
