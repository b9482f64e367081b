"""The gateway's own IRC client, the service nick, and the channel archive it records.

It joins the archived channels and keeps what may go on air of them in the store
(`/NEW`, `/READ #chan` on air), sends the gateway's notices to IRC users (a token
bucket on an external network, where its client is not flood-exempt), and takes
`/msg <service> CALL text` for a radio user who is off the air: how an external
network, where absent nicks do not exist, reaches the mailbox. Connected again
whenever it leaves IRC: within seconds of the network's return, backing off while it
refuses (gateway/irc/backoff.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from gateway import chatstore
from gateway.bridge import relay
from gateway.bridge.mailbox import Mailbox
from gateway.bridge.trust import SERVICE_USER, Trust
from gateway.callsign import Callsign, parse_callsign
from gateway.config import BridgeConfig
from gateway.irc.backoff import Backoff
from gateway.irc.external import Unreachable, went_silent
from gateway.irc.link import ConnectError, Connector, Identity, IrcLink
from gateway.session.chatrender import callsign_text, split_ctcp, strip_formatting
from gateway.session.thirdparty import RADIO_SUFFIX
from gateway.store import AsyncStore
from ircd.protocol import Message

log = logging.getLogger("gateway.bridge")

#: A refused service nick's wait doubles up to this (its nick taken, say).
SERVICE_REFUSED_MAX = 600.0
#: The service's notices on an external network: a burst, then this many a second.
NOTICE_BURST = 8
NOTICE_RATE = 1.0
#: How long stopping waits for the service nick's QUIT to leave.
QUIT_WAIT = 3.0


class ServiceNick:
    def __init__(
        self,
        config: Callable[[], BridgeConfig],
        connector: Connector,
        store: AsyncStore,
        *,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
        fold: Callable[[str], str],
        trust: Trust,
        mailbox: Mailbox,
        nick_on_air: Callable[[Callsign], str | None],
        enrolled: Callable[[], frozenset[str]] = frozenset,
        peers: tuple[str, ...] = (),
    ) -> None:
        self._config = config
        self._connector = connector
        self._store = store
        #: Wall time for the archive's dates; the notice bucket runs on `monotonic`.
        self._clock = clock
        self._monotonic = monotonic
        self._fold = fold
        self._trust = trust
        self._mailbox = mailbox
        self._nick_on_air = nick_on_air
        self._enrolled = enrolled
        #: Every gateway's service nick on the network (`irc.external.service_nicks`):
        #: mail for a callsign not enrolled here goes to the others (relay.py).
        self._peers = peers
        #: The service's IRC client while it is connected (or connecting again).
        self.link: IrcLink | None = None
        self._notice_tokens = float(NOTICE_BURST)
        self._notice_at = monotonic()
        self.notices_dropped = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._backoff = Backoff(SERVICE_REFUSED_MAX)

    @property
    def nick(self) -> str:
        return self.link.nick if self.link is not None else self._config().service_nick

    # -- notices ------------------------------------------------------------------------------

    def notice(self, nick: str, text: str) -> None:
        """A notice from the service nick, sent after the current command: hooks run in
        the middle of another client's command, where the server must not be re-entered."""
        asyncio.get_running_loop().call_soon(self._send_notice, nick, text)

    def _send_notice(self, nick: str, text: str) -> None:
        if self.link is None or self.link.closed:
            return
        if self._connector.mode == "external" and not self._notice_allowed():
            return  # over the network's flood limit the service would be disconnected
        target = nick.split(" ", 1)[0]  # old mail's sender may be "NICK (unverified)"
        self.link.send(f"NOTICE {target} :{text}")

    def _notice_allowed(self) -> bool:
        """A token bucket for the service's notices on a network (its own client is
        flood-exempt only on the embedded server): a burst, then one a second."""
        now = self._monotonic()
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

    # -- the client -----------------------------------------------------------------------------

    async def start(self) -> None:
        # An in-process client attaches at once: the service is there when start returns.
        # A network may take its time (or be down): the gateway does not wait for it.
        embedded = self._connector.mode == "embedded"
        first, wait = await self._connect() if embedded else (None, 0.0)
        task = asyncio.get_running_loop().create_task(self._keep(first, wait))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _connect(self) -> tuple[IrcLink | None, float]:
        """The service's link, or None and how long to wait before trying again."""
        config = self._config()
        identity = Identity(
            nicks=(config.service_nick,),
            user=SERVICE_USER,
            host="gateway" + RADIO_SUFFIX,
            realname="Packet radio gateway: mailbox and archive",
            caps=frozenset({"account-tag"}),  # the archive applies the third-party rule
            service=True,
        )
        try:
            link = await self._connector.connect(identity)
        except Unreachable as exc:
            wait = self._backoff.unreachable()
            log.error("the service nick cannot reach IRC (%s); again in %.0f s", exc, wait)
            return None, wait
        except ConnectError as exc:
            wait = self._backoff.refused()
            log.error("the service nick cannot join IRC (%s); again in %.0f s", exc, wait)
            return None, wait
        for channel in config.archive_channels:
            link.send(f"JOIN {channel}")
        self.link = link
        log.info("the service nick %s is on IRC", link.nick)
        return link, 0.0

    async def _keep(self, link: IrcLink | None, wait: float) -> None:
        """Serve the service nick; connect it again whenever it leaves IRC. `wait`:
        seconds before the next attempt when there is no link yet."""
        while not self._stopping:
            since = self._monotonic()
            reason: str | None = None
            try:
                if link is None:
                    await asyncio.sleep(wait)
                    link, wait = await self._connect()
                    continue
                reason = await self._serve(link)
            except Exception:  # a bug here must not end the mailbox and archive for good
                log.exception("the service nick failed")
                if link is not None:
                    link.quit("Internal error")
            stayed = self._monotonic() - since
            link, wait = None, self._backoff.left(stayed, silent=went_silent(reason))
            if not self._stopping:
                log.warning("the service nick left IRC; again in %.0f s", wait)

    async def _serve(self, conn: IrcLink) -> str | None:
        """Record archived channels, take messages for absent radio users, answer pings;
        the network's last ERROR once the link is gone."""
        reason: str | None = None
        while (msg := await conn.read()) is not None:
            if msg.command == "ERROR" and msg.params:
                reason = msg.params[-1]
            elif msg.command == "PING":
                conn.send(f"PONG :{msg.params[0]}" if msg.params else "PONG")
            elif msg.command in ("PRIVMSG", "NOTICE") and len(msg.params) >= 2:
                try:
                    if self._fold(msg.params[0]) == self._fold(conn.nick):
                        self._to_service(msg)
                    else:
                        await self._archive(msg)
                except Exception:  # a store error loses one line, not the archive
                    log.exception("service: a message was not handled")
        return reason

    def _to_service(self, msg: Message) -> None:
        """`/msg <service> CALL text`: mail for a radio user (how an external network,
        where absent nicks do not exist, reaches the mailbox)."""
        sender = (msg.source or "").split("!", 1)[0]
        if msg.command != "PRIVMSG" or not sender or "." in sender:
            return  # never answer a notice, nor a server
        passed = relay.parse(msg.params[1])
        if passed is not None and self._trust.peer_service(msg.source or ""):
            self._take_passed(passed)
            return
        call_text, _, text = msg.params[1].strip().partition(" ")
        call = parse_callsign(callsign_text(call_text))
        verb, body = split_ctcp(text)
        if call is None or not body.strip() or (verb is not None and verb != "ACTION"):
            self.notice(sender, f"To leave a radio user a message: /msg {self.nick} CALL text")
            return
        on_air = self._nick_on_air(call)
        if on_air is not None:  # its nick is on IRC for all to see
            self.notice(sender, f"{call.base} is on the air as {on_air}: message them directly.")
            return
        account = msg.tags.get("account") or ""
        kind = "ACTION" if verb else "PRIVMSG"
        passed = relay.Passed(call.base, msg.source or sender, account, kind, body.strip())
        others = self._others()
        if others:  # too long for another gateway: refused here too (the same answer)
            over = min(relay.room(self._via(), peer, passed) for peer in others)
            if over < 0:
                self.notice(sender, f"Not held for {call.base}: {-over} characters too long.")
                return
        # The reader sees the sender's account: on a network callsign nicks are not kept
        # for their owners, so a nick alone may be anyone's (chatrender.mail_sender).
        elsewhere = (lambda: self._pass_on(passed)) if others else None
        self._mailbox.offer(sender, call, kind, body, self._trust.refusal(msg), tell=sender,
                            account=account, elsewhere=elsewhere)  # fmt: skip

    # -- mail between the network's gateways (relay.py) -----------------------------------------

    def _others(self) -> list[str]:
        own = self._fold(self.nick)
        return [nick for nick in self._peers if self._fold(nick) != own]

    def _via(self) -> str:
        """Our full source as the network shows it (a long guess until it is known)."""
        link = self.link
        known = link.source if link is not None else None
        return known or f"{self.nick}!{SERVICE_USER}@{'f' * 39}"

    def _pass_on(self, passed: relay.Passed) -> None:
        """Mail for a callsign not enrolled here, to every other gateway's service nick:
        the one that serves the callsign holds it."""
        link = self.link
        if link is None or link.closed:
            return  # not on IRC: the notice that follows goes nowhere either
        if not self._notice_allowed():  # a flood of mail would get the service killed
            log.warning("message from %s for %s not passed on (flood limit)",
                        passed.nick, passed.call)  # fmt: skip
            return
        for peer in self._others():
            link.send(f"PRIVMSG {peer} :{passed.payload()}")
        log.info("message from %s for %s passed on to %s", passed.nick, passed.call,
                 ", ".join(self._others()))  # fmt: skip

    def _take_passed(self, passed: relay.Passed) -> None:
        """Mail another gateway passed on: held if the callsign is enrolled here (under
        this gateway's third-party rule), else dropped; never passed on again."""
        call = parse_callsign(passed.call)
        if call is None or call.base not in self._enrolled():
            log.info("message from %s for %s, passed on: not enrolled here, dropped",
                     passed.nick, passed.call)  # fmt: skip
            return
        seen = Message(command="PRIVMSG", source=passed.source,
                       tags={"account": passed.account} if passed.account else {},
                       params=(self.nick, passed.text))  # fmt: skip
        refusal = self._trust.refusal(seen)
        if refusal is not None:
            self.notice(passed.nick, f"Not held for {call.base}: {refusal} (third-party rule).")
            return
        self._mailbox.hold_soon(call.base, passed.nick, passed.kind, strip_formatting(passed.text),
                                tell=passed.nick, account=passed.account, quiet=True)  # fmt: skip

    async def _archive(self, msg: Message) -> None:
        config = self._config()
        channel = self._fold(msg.params[0])
        if channel not in {self._fold(c) for c in config.archive_channels}:
            return
        verb, text = split_ctcp(msg.params[1])
        if verb is not None and verb != "ACTION":
            return
        nick = (msg.source or "?").split("!", 1)[0]
        if self._trust.refusal(msg):
            return  # what may not go on air is not kept for reading on air
        await self._store.call(
            chatstore.archive_add, channel, nick, "ACTION" if verb else msg.command,
            strip_formatting(text), self._clock(), config.archive_max_messages,
        )  # fmt: skip

    async def stop(self) -> None:
        """QUIT (waited for a moment) and stop connecting again."""
        self._stopping = True
        if self.link is not None:
            self.link.quit("Gateway stopping")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUIT_WAIT):  # let the QUIT leave
                    await self.link.wait_closed()

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks)
