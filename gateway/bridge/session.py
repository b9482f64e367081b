"""One radio connection from its first byte to its close: the asyncio adapter of a core.

`RadioSession.run()` drives a `ChatSession` core (gateway/session/chat.py) between the
transport (telnet or AX.25) and, after login, an IRC client: in-process on the
embedded server, or a client of an external network (gateway/irc/link.py; the same
code for both). It carries out the core's actions (code checks, store requests, IRC
lines, text for the user), owns the one timer handle and the tasks, and turns
transport events and IRC messages into core inputs. The core's `now` and its
deadlines are on the bridge's monotonic clock, so a step of the wall clock (NTP at
boot on a machine without a real-time clock) moves no login or idle timeout. What it
needs of the rest of the bridge is `Host` (the `Bridge` in hub.py), so this module
never imports it.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from gateway import chatstore, prefs
from gateway.auth import loginnotes, netlogin, penalties, penaltystore
from gateway.auth.secretbox import SecretKeyError
from gateway.callsign import Callsign
from gateway.db import Db
from gateway.events.bus import Events
from gateway.irc.backoff import Backoff
from gateway.irc.external import SENT_AWAY, Unreachable, went_silent
from gateway.irc.link import ConnectError, Connector, Identity, IrcLink
from gateway.logpace import LogPace
from gateway.session import chat
from gateway.session.render import nick_for
from gateway.session.thirdparty import RADIO_SUFFIX
from gateway.session.transport import Transport
from gateway.store import AsyncStore, Store

log = logging.getLogger("gateway.bridge")
#: Refusals under the third-party rule: operators hear of them (gateway/irc/opernotices.py).
third_party_log = logging.getLogger("gateway.thirdparty")

CheckCode = Callable[[Callsign, str, str], Awaitable[bool]]
#: Reconnecting a radio user to an external network: a few seconds while it is out of
#: reach, but a refusal's wait doubles up to this (gateway/irc/backoff.py).
RECONNECT_MAX = 60.0
#: The farewell when a code could not be checked because the store failed.
STORE_FAILED = "Cannot check codes now (the gateway's store failed); try again later."


class Host(Protocol):
    """What a session needs of the bridge (gateway/bridge/hub.py)."""

    @property
    def monotonic(self) -> Callable[[], float]: ...

    @property
    def clock(self) -> Callable[[], float]: ...

    @property
    def check_code(self) -> CheckCode: ...

    @property
    def connector(self) -> Connector: ...

    @property
    def store(self) -> AsyncStore: ...

    @property
    def events(self) -> Events: ...

    @property
    def prelogin_log(self) -> LogPace: ...

    @property
    def store_log(self) -> LogPace: ...

    def take_over(self, nick: str, new: RadioSession) -> None: ...

    def live_settings(self) -> dict[str, object]: ...

    def save_pref(self, base: str, key: str, value: int) -> None: ...

    def logged_in(self, session: RadioSession, nick: str) -> None: ...

    def logged_out(self, session: RadioSession) -> None: ...

    def notice(self, nick: str, text: str) -> None: ...

    def hold_soon(
        self, base: str, sender: str, kind: str, text: str, *, tell: str, account: str = ""
    ) -> None: ...

    def air_prompt(self, base: str, opened: bool) -> None: ...


def radio_host(kind: str) -> str:
    """An IRC host for a transport kind: letters, digits, dots and dashes only."""
    clean = "".join(c if c.isalnum() or c in ".-" else "-" for c in kind.lower())
    return clean.strip(".-")[:50] + RADIO_SUFFIX


class RadioSession:
    """One connection: the adapter between a transport, a core and an IRC client."""

    def __init__(
        self,
        bridge: Host,
        transport: Transport,
        settings: chat.Settings,
        *,
        callsign_first: bool,
        known: Callsign | None,
    ) -> None:
        self.bridge = bridge
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        self.core = chat.ChatSession(
            settings, bridge.monotonic(), callsign_first=callsign_first, known_callsign=known
        )
        self.irc: IrcLink | None = None
        self._identity: Identity | None = None
        #: The waits before connecting again to an external network.
        self._backoff = Backoff(RECONNECT_MAX)
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished = asyncio.Event()
        self._closing = False
        self._told_code_prompt = False
        #: What the transport was last told of reading: None until the first step,
        #: which always tells it (an AX.25 link may be busy with lines come early).
        self._wants_input: bool | None = None
        #: The callsign this session holds a Code: prompt open for on the air.
        self._air_prompt: str | None = None

    @property
    def callsign(self) -> Callsign | None:
        return self.core.callsign

    @property
    def nick(self) -> str:
        """The user's IRC nick ("" before the IRC client is attached)."""
        return self.core.nick

    async def run(self) -> None:
        self.transport.bind(self)
        self._do(self.core.start(self.bridge.monotonic()))
        try:
            await self._finished.wait()
        finally:
            self._cleanup()

    @property
    def idle(self) -> float:
        """Seconds since the user last typed a line (for operators)."""
        return self.core.idle(self.bridge.monotonic())

    def end(self, farewell: str, reason: str) -> None:
        """End this session from outside (revocation, a new login of the same nick)."""
        self._guarded(lambda now: self.core.close(farewell, now, reason))

    # -- transport events ------------------------------------------------------------------

    def line(self, text: str) -> None:
        self._guarded(lambda now: self.core.line(text, now))

    def line_too_long(self, limit: int) -> None:
        self._guarded(lambda now: self.core.line_too_long(limit, now))

    def ready(self) -> None:
        self._guarded(self.core.drained)

    def gone(self) -> None:
        if not self._closing:
            self._log_end("link closed")
        self._guarded(self.core.gone)
        self._finished.set()

    def mail_arrived(self, sender: str, account: str = "") -> None:
        self._guarded(lambda now: self.core.mail_arrived(sender, now, account))

    def reconfigure(self, changes: dict[str, object]) -> None:
        """A reload of `bridge:` settings (gateway/bridge/hub.py LIVE_KEYS)."""
        self._guarded(lambda now: self.core.reconfigure(changes, now))

    def _guarded(self, step: Callable[[float], list[chat.Action]]) -> None:
        """Run one core input from a transport or the bridge: a bug ends this session
        only, never the listener or the radio port that called us."""
        try:
            self._do(step(self.bridge.monotonic()))
        except Exception:
            log.exception("session of %s failed", self.callsign or "?")
            self._failed()

    def _failed(self) -> None:
        if not self._closing:
            self._spawn(self._close("Internal error; disconnecting.", "internal error"))

    # -- carrying out actions ----------------------------------------------------------------

    def _do(self, actions: list[chat.Action]) -> None:
        for action in actions:
            if isinstance(action, chat.Say):
                self.transport.write(action.text)
            elif isinstance(action, chat.Irc):
                if self.irc is not None:
                    self.irc.send(action.line)
            elif isinstance(action, chat.CheckCode):
                self._spawn(self._check(action))
            elif isinstance(action, chat.LoggedIn):
                self._spawn(self._attach(action.callsign))
            elif isinstance(action, chat.Fetch):
                self._spawn(self._fetch(action))
            elif isinstance(action, chat.Notify):
                self.bridge.notice(action.nick, action.text)
                third_party_log.info("text from %s not sent on air to %s (third-party rule)",
                                     action.nick, self.callsign)  # fmt: skip
            elif isinstance(action, chat.Relayed):
                call = str(self.callsign)
                self.bridge.events.emit("message", direction=action.direction, callsign=call,
                                        target=action.target, sender=action.sender,
                                        text=action.text)  # fmt: skip
            elif isinstance(action, chat.LeftUnasked):
                third_party_log.info("%s was put in %s without a /JOIN and left it (third-"
                                     "party rule)", self.callsign, action.channel)  # fmt: skip
            elif isinstance(action, chat.HoldMail):
                self._spawn(self._hold(action))
            elif isinstance(action, chat.SavePref) and self.callsign is not None:
                self.bridge.save_pref(self.callsign.base, action.key, action.value)
            elif isinstance(action, chat.Close):
                self._spawn(self._close(action.farewell, action.reason))
        status = self.core.status
        claimed = status.prompt_for
        if claimed is not None and not self._told_code_prompt:
            self._told_code_prompt = True
            self.transport.at_code_prompt(claimed)
            self._spawn(self._familiar_claim(claimed))
        self._track_air_prompt(claimed)
        self._schedule(status.deadline)
        if status.wants_input != self._wants_input:
            self._wants_input = status.wants_input
            self.transport.set_input_paused(not status.wants_input)

    def _track_air_prompt(self, claimed: Callsign | None) -> None:
        """Tell the bridge while this session sits at a Code: prompt on the air: a code
        for that callsign is then refused off the air (gateway/auth/airlogins.py)."""
        if self._closing:
            claimed = None
        want = None
        if claimed is not None and penalties.on_air(self.transport.source_key(claimed)):
            want = claimed.base
        if want == self._air_prompt:
            return
        if self._air_prompt is not None:
            self.bridge.air_prompt(self._air_prompt, False)
        self._air_prompt = want
        if want is not None:
            self.bridge.air_prompt(want, True)

    def _schedule(self, at: float | None) -> None:
        if at == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            delay = max(0.0, at - self.bridge.monotonic())
            self._timer = self._loop.call_later(delay, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._timer_at = None
        self._guarded(self.core.tick)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # The per-session boundary: log the bug, end this session only.
            log.error("session of %s failed", self.callsign or "?", exc_info=exc)
            self._failed()

    async def _familiar_claim(self, callsign: Callsign) -> None:
        """Tell the transport if the claim comes through the callsign's familiar source
        (its slot then outlasts strangers'); a flood of invented callsigns never is."""
        source = self.transport.source_key(callsign)
        since = self.core.settings.wall_clock() - penalties.FAMILIAR_FOR
        if not penalties.can_be_familiar(source) or self._closing:
            return
        try:
            familiar = await self.bridge.store.call(Store.is_familiar, callsign.base, source, since)
        except (sqlite3.Error, RuntimeError) as exc:  # the store closing at a stop
            # Only the slot's rank depends on it: the login goes on as a stranger's.
            more = self.bridge.store_log.admit()  # anyone can name an enrolled callsign
            if more is not None:
                log.warning("%s: cannot tell whether %s is familiar: %s%s",
                            callsign, source, exc, more)  # fmt: skip
            return
        if familiar and not self._closing:
            self.transport.familiar_claim()

    async def _check(self, action: chat.CheckCode) -> None:
        source = self.transport.source_key(action.callsign)
        try:
            ok = await self.bridge.check_code(action.callsign, action.code, source)
        except (sqlite3.Error, RuntimeError) as exc:  # disk full, locked; closing at a stop
            # Refused (nothing was written, the code is not spent), and said as it is:
            # not a wrong code, not an internal error.
            more = self.bridge.store_log.admit()
            if more is not None:
                log.warning("%s on %s: code not checked, the store failed: %s%s",
                            action.callsign, self.transport.via, exc, more)  # fmt: skip
            await self._close(STORE_FAILED, "store failed")
            return
        self._do(self.core.checked(ok, self.bridge.monotonic()))

    async def _attach(self, callsign: Callsign) -> None:
        if self._closing:
            return  # ended while the code was checked: no login now
        bridge = self.bridge
        nick = nick_for(callsign)
        bridge.take_over(nick, self)  # and holds the nick while we connect
        password = await self._network_password(callsign.base)
        identity = Identity(
            # The owner may hold the nick from an IRC client (SASL): take `nick_` then;
            # a network with a short NICKLEN (9 on ngircd) may only take the last form.
            nicks=tuple(dict.fromkeys((nick, nick + "_", nick[:8] + "_"))),
            user=callsign.base.lower(),
            host=radio_host(self.transport.host_kind),
            account=callsign.base,
            # The kind of link only: the node, port and path are for operators (320).
            realname=f"{callsign} ({self.transport.via.split()[0]})",
            caps=chat.CAPS,
            sasl=(callsign.base, password) if password else None,
        )
        self._identity = identity
        try:
            conn = await bridge.connector.connect(identity)
        except ConnectError as exc:
            log.warning("%s cannot join IRC: %s", callsign, exc)  # details stay off the air
            self._do(self.core.close("Cannot join the chat now; try later.", bridge.monotonic()))
            return
        if self._closing:  # the link went while the network registered us
            conn.quit("Link lost")
            return
        self.irc = conn
        self.transport.logged_in()
        nick = conn.nick
        bridge.logged_in(self, nick)
        log.info("%s logged in via %s as %s", callsign, self.transport.via, nick)
        unread = await bridge.store.call(chatstore.count_unread, callsign.base)
        kept = await bridge.store.call(prefs.load, callsign.base)
        source = self.transport.source_key(callsign)
        notes = await bridge.store.call(_notes_from_home, callsign.base, source, bridge.clock())
        deniable = loginnotes.NOT_ME_HINT in notes
        if bridge.connector.fold(conn.nick) != bridge.connector.fold(identity.nicks[0]):
            notes = (*notes, _nick_taken(conn.nick, identity.nicks[0], bridge.connector.mode))
        self._spawn(self._read_irc(conn))
        # A reload while this session logged in: its rules as of now.
        self.core.reconfigure(bridge.live_settings(), bridge.monotonic())
        self._do(
            self.core.chat_started(
                bridge.monotonic(), nick, unread, conn.caps, kept, notes, deniable=deniable
            )
        )

    async def _network_password(self, base: str) -> str | None:
        """The ham's password for the external network's SASL, if the sysop stored one.
        A row that does not open is logged and the session goes on without it."""
        if self.bridge.connector.mode != "external":
            return None  # the embedded server trusts the in-process client's account
        try:
            return await self.bridge.store.call(netlogin.password_for, base)
        except SecretKeyError:
            log.error("the IRC network login of %s does not open (gateway irc-login set)", base)
            return None

    async def _read_irc(self, conn: IrcLink) -> None:
        since = self.bridge.monotonic()
        reason: str | None = None
        while (msg := await conn.read()) is not None:
            if msg.command == "ERROR" and msg.params:
                reason = msg.params[-1]
            self._do(self.core.irc(msg, self.bridge.monotonic()))
        if self._closing:
            return
        if self.bridge.connector.mode == "external" and not _sent_away(reason):
            log.warning("%s lost the IRC network (%s); reconnecting", self.callsign,
                        reason or "connection lost")  # fmt: skip
            self._do(self.core.irc_lost(reason or "connection lost", self.bridge.monotonic()))
            # A ping timeout is a network in doubt: again within seconds. A link that lived
            # long starts the backoff again; one dropped at once keeps doubling it, so a
            # network that takes us and drops us is not hammered.
            lived = self.bridge.monotonic() - since
            silent = went_silent(reason)
            self._spawn(self._reconnect(self._backoff.left(lived, silent=silent)))
        else:
            self._do(self.core.irc_closed(reason or "closed", self.bridge.monotonic()))

    async def _reconnect(self, wait: float) -> None:
        """Connect again while the radio user stays: within seconds of the network's
        return, backing off while it refuses (`Backoff`); rejoin when back."""
        assert self._identity is not None
        while not self._closing:
            await asyncio.sleep(wait)
            try:
                conn = await self.bridge.connector.connect(self._identity)
            except Unreachable as exc:
                wait = self._backoff.unreachable()
                log.info("%s: IRC still unreachable (%s)", self.callsign, exc)
                continue
            except ConnectError as exc:
                if exc.fatal:  # banned meanwhile: no point trying again
                    log.info("%s: IRC refused for good (%s)", self.callsign, exc)
                    now = self.bridge.monotonic()
                    self._do(self.core.irc_closed("refused by the network", now))
                    return
                wait = self._backoff.refused()
                log.info("%s: IRC refused (%s); again in %.0f s", self.callsign, exc, wait)
                continue
            if self._closing:
                conn.quit("Link lost")
                return
            self.irc = conn
            log.info("%s is back on IRC as %s", self.callsign, conn.nick)
            self._spawn(self._read_irc(conn))
            self._do(self.core.irc_back(self.bridge.monotonic(), conn.nick, conn.caps))
            return

    async def _fetch(self, request: chat.Fetch) -> None:
        callsign = self.callsign
        assert callsign is not None
        store, base = self.bridge.store, callsign.base
        result: object
        if request.what == "mail":
            mail = await store.call(chatstore.read_mail, base, request.number)
            unread = [m for m in mail if not m.read]
            result = mail
            if unread:
                self.bridge.events.emit("mail_delivered", callsign=base, count=len(unread))
        elif request.what == "kill":
            result = await store.call(chatstore.kill_mail, base, request.number or 0)
        elif request.what == "notme":
            here = self.transport.source_key(callsign)
            result = await store.call(loginnotes.not_me, base, self.bridge.clock(), here)
            log.warning("%s says a login it was told of was not its own (/NOTME)", base)
        elif request.what == "new":
            channels = sorted(self.core.settings.archived)
            result = await store.call(chatstore.archive_new, base, channels)
        else:
            assert request.channel is not None
            result = await store.call(
                chatstore.archive_read, base, request.channel, request.number, request.limit
            )
        self._do(self.core.fetched(result, self.bridge.monotonic()))

    async def _hold(self, action: chat.HoldMail) -> None:
        callsign = self.callsign
        if callsign is not None:
            self.bridge.hold_soon(
                callsign.base, action.sender, action.kind, action.text, tell=action.sender,
                account=action.account,
            )  # fmt: skip

    def _log_end(self, reason: str) -> None:
        # A session that never logged in is what a flood is made of: those are paced.
        more = self.bridge.prelogin_log.admit() if self.callsign is None else ""
        if more is not None:
            who = self.core.claimed or "?"  # a refused login names the callsign it claimed
            log.info("%s on %s: session ends (%s)%s", who, self.transport.via, reason, more)

    async def _close(self, farewell: str | None, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self._log_end(reason)
        try:
            self.quit_irc("73" if reason == "bye" else reason)
            await self.transport.close(farewell)
        finally:
            self._finished.set()

    def quit_irc(self, reason: str) -> None:
        if self.irc is not None:
            self.irc.quit(reason)
        self.bridge.logged_out(self)

    def _cleanup(self) -> None:
        self._closing = True
        self._track_air_prompt(None)
        if self._timer is not None:
            self._timer.cancel()
        self.quit_irc("Link lost")
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()


def _nick_taken(got: str, wanted: str, mode: str) -> str:
    """Why the ham has another nick than their callsign's: the embedded server keeps it
    for the owner (their own IRC login holds it); on a network anyone may hold it, and
    a squatter's lines stay off the air (trust.py)."""
    if mode == "embedded":
        return f"On IRC you are {got}: {wanted} is held by your own IRC login."
    return (
        f"On IRC you are {got}: {wanted} is taken there by another client"
        " (its lines stay off the air unless it is yours)."
    )


def _notes_from_home(store: Db, base: str, source: str, now: float) -> tuple[str, ...]:
    """What the owner is told at a login from a familiar source (and only there: a
    thief logged in elsewhere does not read them first)."""
    if not penaltystore.is_familiar(store, base, source, now - penalties.FAMILIAR_FOR):
        return ()
    notes = loginnotes.take(store, base)
    texts = tuple(note.text for note in notes)
    return (*texts, loginnotes.NOT_ME_HINT) if notes else ()


def _sent_away(reason: str | None) -> bool:
    """Whether the network's ERROR says it removed this client on purpose."""
    return reason is not None and SENT_AWAY.search(reason) is not None
