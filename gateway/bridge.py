"""The bridge: every logged-in radio user is an IRC client of the embedded server.

`Bridge.run(transport, ...)` drives one connection from its first byte to its close:
a `ChatSession` core (gateway/session/chat.py) between the transport (telnet or
AX.25) and, after login, an IRC client: in-process on the embedded server, or a client
of an external network (gateway/irclink.py; the same code for both).
This module is the thin asyncio adapter: it carries out the core's actions (code
checks, store requests, IRC lines, text for the user), owns the one timer handle
and the tasks, and turns transport events and IRC messages into core inputs.

It also owns the gateway's own IRC client (the service nick): it records the
archived channels into the store, tells IRC users about held messages, and takes
`/msg <service> CALL text` for a radio user who is off the air.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from typing import Any

from gateway import chatstore, netlogin
from gateway.auth.secretbox import SecretKeyError
from gateway.callsign import Callsign, parse_callsign
from gateway.config import BridgeConfig
from gateway.events import Events
from gateway.ircexternal import SENT_AWAY
from gateway.irclink import ConnectError, Connector, Identity, IrcLink
from gateway.session import chat, thirdparty
from gateway.session.chatrender import (
    callsign_text,
    nick_for,
    nick_from_typed,
    split_ctcp,
    strip_formatting,
)
from gateway.session.transport import Transport
from gateway.store import AsyncStore
from ircd.client import Client
from ircd.protocol import Message

log = logging.getLogger("gateway.bridge")
#: Refusals under the third-party rule: operators hear of them (gateway/opernotices.py).
third_party_log = logging.getLogger("gateway.thirdparty")

CheckCode = Callable[[Callsign, str, str], Awaitable[bool]]
#: Where radio users' IRC hosts end: `bpq.node1.radio`, `ax25.vhf.radio`.
RADIO_SUFFIX = thirdparty.RADIO_SUFFIX
TAKEN_OVER = "Logged in again elsewhere; this session ends."
SERVICE_RETRY = 5.0
#: Reconnecting a radio user to an external network: first wait, then doubling up to.
RECONNECT_FIRST = 2.0
RECONNECT_MAX = 60.0
#: The service's notices on an external network: a burst, then this many a second.
NOTICE_BURST = 8
NOTICE_RATE = 1.0
#: How long stopping waits for the service nick's QUIT to leave.
QUIT_WAIT = 3.0
#: Mailbox writes in flight at once; past this a sender is asked to try again.
MAX_PENDING_HOLDS = 256


def radio_host(kind: str) -> str:
    """An IRC host for a transport kind: letters, digits, dots and dashes only."""
    clean = "".join(c if c.isalnum() or c in ".-" else "-" for c in kind.lower())
    return clean.strip(".-")[:50] + RADIO_SUFFIX


class RadioSession:
    """One connection: the adapter between a transport, a core and an IRC client."""

    def __init__(
        self,
        bridge: Bridge,
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
            settings, bridge.clock(), callsign_first=callsign_first, known_callsign=known
        )
        self.irc: IrcLink | None = None
        self._identity: Identity | None = None
        #: The next wait before connecting again to an external network (halved: the
        #: first loss doubles it to RECONNECT_FIRST).
        self._delay = RECONNECT_FIRST / 2
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished = asyncio.Event()
        self._closing = False
        self._told_code_prompt = False

    @property
    def callsign(self) -> Callsign | None:
        return self.core.callsign

    async def run(self) -> None:
        self.transport.bind(self)
        self._do(self.core.start(self.bridge.clock()))
        try:
            await self._finished.wait()
        finally:
            self._cleanup()

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
            log.info("%s on %s: session ends (link closed)", self.callsign or "?",
                     self.transport.via)  # fmt: skip
        self._guarded(self.core.gone)
        self._finished.set()

    def mail_arrived(self, sender: str) -> None:
        self._guarded(lambda now: self.core.mail_arrived(sender, now))

    def _guarded(self, step: Callable[[float], list[chat.Action]]) -> None:
        """Run one core input from a transport or the bridge: a bug ends this session
        only, never the listener or the radio port that called us."""
        try:
            self._do(step(self.bridge.clock()))
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
            elif isinstance(action, chat.HoldMail):
                self._spawn(self._hold(action))
            elif isinstance(action, chat.Close):
                self._spawn(self._close(action.farewell, action.reason))
        if self.core.at_code_prompt and not self._told_code_prompt:
            self._told_code_prompt = True
            self.transport.at_code_prompt()
        self._schedule()
        self.transport.set_input_paused(not self.core.wants_input)

    def _schedule(self) -> None:
        at = self.core.deadline
        if at == self._timer_at:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._timer_at = at
        if at is not None:
            delay = max(0.0, at - self.bridge.clock())
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

    async def _check(self, action: chat.CheckCode) -> None:
        source = self.transport.source_key(action.callsign)
        ok = await self.bridge.check_code(action.callsign, action.code, source)
        self._do(self.core.checked(ok, self.bridge.clock()))

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
            realname=f"{callsign} ({self.transport.via})",
            caps=chat.CAPS,
            sasl=(callsign.base, password) if password else None,
        )
        self._identity = identity
        try:
            conn = await bridge.connector.connect(identity)
        except ConnectError as exc:
            log.warning("%s cannot join IRC: %s", callsign, exc)  # details stay off the air
            self._do(self.core.close("Cannot join the chat now; try later.", bridge.clock()))
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
        self._spawn(self._read_irc(conn))
        self._do(self.core.chat_started(bridge.clock(), nick, unread, conn.caps))

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
        since = self.bridge.clock()
        reason: str | None = None
        while (msg := await conn.read()) is not None:
            if msg.command == "ERROR" and msg.params:
                reason = msg.params[-1]
            self._do(self.core.irc(msg, self.bridge.clock()))
        if self._closing:
            return
        if self.bridge.connector.mode == "external" and not _sent_away(reason):
            log.warning("%s lost the IRC network (%s); reconnecting", self.callsign,
                        reason or "connection lost")  # fmt: skip
            self._do(self.core.irc_lost(reason or "connection lost", self.bridge.clock()))
            # A link that lived long starts the backoff again; one dropped at once keeps
            # doubling it, so a network that takes us and drops us is not hammered.
            lived = self.bridge.clock() - since
            self._delay = RECONNECT_FIRST if lived > RECONNECT_MAX else self._delay * 2
            self._spawn(self._reconnect())
        else:
            self._do(self.core.irc_closed(reason or "closed", self.bridge.clock()))

    async def _reconnect(self) -> None:
        """Connect again with backoff while the radio user stays; rejoin when back."""
        assert self._identity is not None
        while not self._closing:
            self._delay = min(self._delay, RECONNECT_MAX)
            await asyncio.sleep(self._delay * random.uniform(0.8, 1.2))
            self._delay *= 2
            try:
                conn = await self.bridge.connector.connect(self._identity)
            except ConnectError as exc:
                log.info("%s: IRC still unreachable (%s)", self.callsign, exc)
                if exc.fatal:  # banned meanwhile: no point trying again
                    self._do(self.core.irc_closed("refused by the network", self.bridge.clock()))
                    return
                continue
            if self._closing:
                conn.quit("Link lost")
                return
            self.irc = conn
            log.info("%s is back on IRC as %s", self.callsign, conn.nick)
            self._spawn(self._read_irc(conn))
            self._do(self.core.irc_back(self.bridge.clock(), conn.nick, conn.caps))
            return

    async def _fetch(self, request: chat.Fetch) -> None:
        callsign = self.callsign
        assert callsign is not None
        store, base = self.bridge.store, callsign.base
        result: object
        if request.what == "mail":
            result = await store.call(chatstore.read_mail, base, request.number)
            unread = [m for m in result if not m.read]
            if unread:
                self.bridge.events.emit("mail_delivered", callsign=base, count=len(unread))
        elif request.what == "kill":
            result = await store.call(chatstore.kill_mail, base, request.number or 0)
        elif request.what == "new":
            channels = sorted(self.core.settings.archived)
            result = await store.call(chatstore.archive_new, base, channels)
        else:
            assert request.channel is not None
            result = await store.call(
                chatstore.archive_read, base, request.channel, request.number, request.limit
            )
        self._do(self.core.fetched(result, self.bridge.clock()))

    async def _hold(self, action: chat.HoldMail) -> None:
        callsign = self.callsign
        if callsign is not None:
            self.bridge.hold_soon(
                callsign.base, action.sender, action.kind, action.text, tell=action.sender
            )

    async def _close(self, farewell: str | None, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        log.info("%s on %s: session ends (%s)", self.callsign or "?", self.transport.via, reason)
        try:
            self._quit_irc("73" if reason == "bye" else reason)
            await self.transport.close(farewell)
        finally:
            self._finished.set()

    def _quit_irc(self, reason: str) -> None:
        if self.irc is not None:
            self.irc.quit(reason)
        self.bridge.logged_out(self)

    def _cleanup(self) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        self._quit_irc("Link lost")
        for task in list(self._tasks):
            if task is not asyncio.current_task():
                task.cancel()


class Bridge:
    def __init__(
        self,
        config: BridgeConfig,
        connector: Connector,
        store: AsyncStore,
        check_code: CheckCode,
        *,
        clock: Callable[[], float],
        enrolled: Callable[[], frozenset[str]],
        fold: Callable[[str], str],
        intro: str = "",
        events: Events | None = None,
    ) -> None:
        self.config = config
        self.connector = connector
        self.store = store
        self.check_code = check_code
        self.clock = clock
        self._enrolled = enrolled
        self._fold = fold
        self.intro = intro
        self.events = events if events is not None else Events(clock)
        #: The gateway's other clients whose text the sysop vouches for on air (bulletin
        #: posters with on_air); set by the application once they exist.
        self.trusted_links: Callable[[], Iterable[IrcLink]] = tuple
        #: Whether anyone listens for each chat line (MQTT `messages:` not off).
        self.report_relayed = False
        #: Folded nick -> the session holding it.
        self.by_nick: dict[str, RadioSession] = {}
        #: Folded nick -> the session connecting to IRC with it (logged in on the air).
        self._claims: dict[str, RadioSession] = {}
        #: Base callsign -> its logged-in sessions (one per SSID at most).
        self.by_base: dict[str, set[RadioSession]] = {}
        self.service: IrcLink | None = None
        self._notice_tokens = float(NOTICE_BURST)
        self._notice_at = clock()
        self.notices_dropped = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._holds: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- sessions -----------------------------------------------------------------------------

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
            archived=frozenset(self._fold(ch) for ch in c.archive_channels),
            autojoin=c.autojoin,
            via=transport.via,
            service_nick=c.service_nick,
            intro=self.intro,
            trusted=self.trusted_source,
            report_relayed=self.report_relayed,
            fold=self._fold,
        )

    def take_over(self, nick: str, new: RadioSession) -> None:
        """A second login of the same callsign and SSID replaces the first one, even one
        still connecting to IRC (`new` holds the claim until `logged_in`)."""
        key = self._fold(nick)
        for old in (self.by_nick.get(key), self._claims.get(key)):
            if old is not None and old is not new:
                log.info("%s logged in again via %s; ending the older session", nick,
                         new.transport.via)  # fmt: skip
                old._quit_irc("Reconnected")
                old.end(TAKEN_OVER, f"logged in again via {new.transport.via}")
        self._claims[key] = new

    def logged_in(self, session: RadioSession, nick: str) -> None:
        assert session.callsign is not None
        self.events.emit("session_start", callsign=str(session.callsign), nick=nick,
                         via=session.transport.via)  # fmt: skip
        # Keyed by the callsign's own nick, even when it had to take `nick_`.
        key = self._fold(nick_for(session.callsign))
        if self._claims.get(key) is session:
            del self._claims[key]
        self.by_nick[key] = session
        self.by_base.setdefault(session.callsign.base, set()).add(session)

    def logged_out(self, session: RadioSession) -> None:
        if session.callsign is None:
            return
        key = self._fold(nick_for(session.callsign))
        if self.by_nick.get(key) is session:
            del self.by_nick[key]
        if self._claims.get(key) is session:
            del self._claims[key]
        sessions = self.by_base.get(session.callsign.base)
        if sessions is not None and session in sessions:
            log.info("%s logged out", session.callsign)
            t = session.transport
            self.events.emit("session_end", callsign=str(session.callsign),
                             nick=session.core.nick, via=t.via, bytes_to_user=t.bytes_out,
                             bytes_from_user=t.bytes_in)  # fmt: skip
            sessions.discard(session)
            if not sessions:
                del self.by_base[session.callsign.base]

    def sessions(self) -> list[RadioSession]:
        """Every logged-in radio session."""
        return list(self.by_nick.values())

    def find(self, call: str) -> RadioSession | None:
        """The session of a callsign as typed (`KN4XYZ-5`, `2E0ABC`), or None."""
        return self.by_nick.get(self._fold(nick_from_typed(call.strip())))

    def end_all(self, farewell: str, reason: str) -> None:
        for session in list(self.by_nick.values()):
            session.end(farewell, reason)

    def end_sessions(self, base: str, farewell: str, reason: str) -> None:
        for session in list(self.by_base.get(base, ())):
            session.end(farewell, reason)

    # -- the mailbox --------------------------------------------------------------------------

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        """ServerHooks: a message to the nick of a callsign that is off the air."""
        call = parse_callsign(callsign_text(nick))
        verb, body = split_ctcp(text)
        if call is None or (verb is not None and verb != "ACTION"):
            return False  # not a callsign (401), or a CTCP query, which is not mail
        refusal = thirdparty.refusal_for(self.config.third_party, client, radio_suffix=RADIO_SUFFIX)
        self._offer_mail(client.name, call, "ACTION" if verb else command, body, refusal)
        return True

    def _offer_mail(
        self,
        sender: str,
        call: Callsign,
        kind: str,
        body: str,
        refusal: str | None,
        tell: str | None = None,
    ) -> None:
        """Hold mail for an enrolled callsign. Whether or not `call` is enrolled, the
        sender (`tell`, by default `sender`) reads the same answer: mail must not tell
        who uses the gateway."""
        tell = tell or sender
        if refusal is not None:
            self.notice(tell, f"Not held for {call}: {refusal} (third-party rule).")
            third_party_log.info("message from %s not held for %s (third-party rule)",
                                 sender, call)  # fmt: skip
        elif call.base in self._enrolled():
            self.hold_soon(call.base, sender, kind, strip_formatting(body), tell=tell)
        else:
            self.notice(tell, self._held_text(call.base))

    def _held_text(self, base: str) -> str:
        days = self.config.mailbox_max_age / 86400
        return (
            f"{base} is off the air: message held if {base} uses this gateway (kept {days:g} days)."
        )

    def hold_soon(self, base: str, sender: str, kind: str, text: str, *, tell: str) -> None:
        """Start committing a message, unless too many writes are in flight (told)."""
        if len(self._holds) >= MAX_PENDING_HOLDS:
            self.notice(tell, f"Not held for {base}: the gateway is busy, try again.")
            return
        task = asyncio.get_running_loop().create_task(
            self.hold(base, sender, kind, text, tell=tell)
        )
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)

    async def hold(
        self, base: str, sender: str, kind: str, text: str, *, tell: str | None = None
    ) -> None:
        """Commit a message to `base`'s mailbox, then tell the sender and the recipient."""
        limit = self.config.mailbox_max_messages
        try:
            n = await self.store.call(
                chatstore.hold_mail, base, sender, kind, text, self.clock(), limit
            )
        except chatstore.MailboxFull:
            log.info("mailbox of %s full; message from %s not held", base, sender)
            if tell:
                self.notice(tell, f"{base}'s mailbox is full ({limit}); message not held.")
            return
        except Exception:
            log.exception("message from %s for %s not held", sender, base)
            if tell:
                self.notice(tell, f"Message for {base} not held: the gateway's store failed.")
            return
        log.info("message %d held for %s from %s", n, base, sender)
        self.events.emit("mail_stored", callsign=base, sender=sender)
        if tell:
            self.notice(tell, self._held_text(base))
        for session in list(self.by_base.get(base, ())):
            session.mail_arrived(sender)

    async def prune(self) -> None:
        cfg = self.config
        expired = await self.store.call(
            chatstore.prune_chat, self.clock(), cfg.mailbox_max_age, cfg.archive_max_age
        )
        for recipient, sender, _at in expired:
            self.notice(sender, f"Your message to {recipient} expired unread.")

    # -- the service client -------------------------------------------------------------------

    def notice(self, nick: str, text: str) -> None:
        """A notice from the service nick, sent after the current command: hooks run in
        the middle of another client's command, where the server must not be re-entered."""
        asyncio.get_running_loop().call_soon(self._send_notice, nick, text)

    def _send_notice(self, nick: str, text: str) -> None:
        if self.service is None or self.service.closed:
            return
        if self.connector.mode == "external" and not self._notice_allowed():
            return  # over the network's flood limit the service would be disconnected
        target = nick.split(" ", 1)[0]  # a held sender may be "NICK (unverified)"
        self.service.send(f"NOTICE {target} :{text}")

    def _notice_allowed(self) -> bool:
        """A token bucket for the service's notices on a network (its own client is
        flood-exempt only on the embedded server): a burst, then one a second."""
        now = self.clock()
        tokens = min(NOTICE_BURST, self._notice_tokens + (now - self._notice_at) * NOTICE_RATE)
        self._notice_at = now
        if tokens < 1:
            self._notice_tokens = tokens
            self.notices_dropped += 1
            if self.notices_dropped % 100 == 1:
                log.warning("service notices dropped: %d so far (flood limit)",
                            self.notices_dropped)  # fmt: skip
            return False
        self._notice_tokens = tokens - 1
        return True

    async def start(self) -> None:
        # An in-process client attaches at once: the service is there when start returns.
        # A network may take its time (or be down): the gateway does not wait for it.
        embedded = self.connector.mode == "embedded"
        first = await self._connect_service() if embedded else None
        task = asyncio.get_running_loop().create_task(
            self._keep_service(first, wait=embedded and first is None)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect_service(self) -> IrcLink | None:
        identity = Identity(
            nicks=(self.config.service_nick,),
            user="gateway",
            host="gateway" + RADIO_SUFFIX,
            realname="Packet radio gateway: mailbox and archive",
            caps=frozenset({"account-tag"}),  # the archive applies the third-party rule
        )
        try:
            link = await self.connector.connect(identity)
        except ConnectError as exc:
            log.error("the service nick cannot join IRC (%s); retrying", exc)
            return None
        for channel in self.config.archive_channels:
            link.send(f"JOIN {channel}")
        self.service = link
        log.info("the service nick %s is on IRC", link.nick)
        return link

    async def _keep_service(self, link: IrcLink | None, wait: bool) -> None:
        """Serve the service nick; connect it again whenever it leaves IRC. `wait`: the
        first attempt failed already, so wait before the next."""
        while not self._stopping:
            try:
                if link is None:
                    if wait:
                        await asyncio.sleep(SERVICE_RETRY)
                    wait = True
                    link = await self._connect_service()
                    continue
                await self._serve(link)
            except Exception:  # a bug here must not end the mailbox and archive for good
                log.exception("the service nick failed")
                if link is not None:
                    link.quit("Internal error")
            link, wait = None, True
            if not self._stopping:
                log.warning("the service nick left IRC; connecting it again")

    async def _serve(self, conn: IrcLink) -> None:
        """Record archived channels, take messages for absent radio users, answer pings."""
        while (msg := await conn.read()) is not None:
            if msg.command == "PING":
                conn.send(f"PONG :{msg.params[0]}" if msg.params else "PONG")
            elif msg.command in ("PRIVMSG", "NOTICE") and len(msg.params) >= 2:
                try:
                    if self._fold(msg.params[0]) == self._fold(conn.nick):
                        self._to_service(msg)
                    else:
                        await self._archive(msg)
                except Exception:  # a store error loses one line, not the archive
                    log.exception("service: a message was not handled")

    def _to_service(self, msg: Message) -> None:
        """`/msg <service> CALL text`: mail for a radio user (how an external network,
        where absent nicks do not exist, reaches the mailbox)."""
        sender = (msg.source or "").split("!", 1)[0]
        if msg.command != "PRIVMSG" or not sender or "." in sender:
            return  # never answer a notice, nor a server
        call_text, _, text = msg.params[1].strip().partition(" ")
        call = parse_callsign(callsign_text(call_text))
        verb, body = split_ctcp(text)
        if call is None or not body.strip() or (verb is not None and verb != "ACTION"):
            self.notice(sender, f"To leave a radio user a message: /msg {self.service_nick} "
                        "CALL text")  # fmt: skip
            return
        online = self.find(str(call)) or next(iter(self.by_base.get(call.base, ())), None)
        if online is not None and online.core.nick:  # its nick is on IRC for all to see
            self.notice(sender, f"{call.base} is on the air as {online.core.nick}: "
                        "message them directly.")  # fmt: skip
            return
        # On a network callsign nicks are not kept for their owners: one without the
        # account of its callsign is marked, so nobody leaves mail in a ham's name.
        claimed = parse_callsign(callsign_text(sender))
        account = (msg.tags.get("account") or "").upper()
        shown = f"{sender} (unverified)" if claimed and claimed.base != account else sender
        self._offer_mail(shown, call, "ACTION" if verb else "PRIVMSG", body,
                         self._tag_refusal(msg), tell=sender)  # fmt: skip

    @property
    def service_nick(self) -> str:
        return self.service.nick if self.service is not None else self.config.service_nick

    def _tag_refusal(self, msg: Message) -> str | None:
        """Why text of `msg` may not go on air, judged by its account tag and host."""
        return thirdparty.refusal_for(
            self.config.third_party, msg, radio_suffix=RADIO_SUFFIX, trusted=self.trusted_source
        )

    def trusted_source(self, source: str) -> bool:
        """Whether `source` (`nick!user@host`) is the service nick or an on-air bulletin
        poster of this gateway, connected now: the full source, since on an external
        network anyone may take the nick while ours is away."""
        links = (self.service, *self.trusted_links())
        return bool(source) and any(
            link is not None and not link.closed and link.source == source for link in links
        )

    async def _archive(self, msg: Message) -> None:
        channel = self._fold(msg.params[0])
        if channel not in {self._fold(c) for c in self.config.archive_channels}:
            return
        verb, text = split_ctcp(msg.params[1])
        if verb is not None and verb != "ACTION":
            return
        nick = (msg.source or "?").split("!", 1)[0]
        if self._tag_refusal(msg):
            return  # what may not go on air is not kept for reading on air
        await self.store.call(
            chatstore.archive_add, channel, nick, "ACTION" if verb else msg.command,
            strip_formatting(text), self.clock(), self.config.archive_max_messages,
        )  # fmt: skip

    async def stop(self) -> None:
        self._stopping = True
        if self.service is not None:
            self.service.quit("Gateway stopping")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUIT_WAIT):  # let the QUIT leave
                    await self.service.wait_closed()
        for task in [*self._tasks, *self._holds]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._holds, return_exceptions=True)


def _sent_away(reason: str | None) -> bool:
    """Whether the network's ERROR says it removed this client on purpose."""
    return reason is not None and SENT_AWAY.search(reason) is not None
