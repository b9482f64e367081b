"""The gateway's own IRC client, the service nick, and the channel archive it records.

It joins the archived channels and keeps what may go on air of them in the store
(`/NEW`, `/READ #chan` on air), sends the gateway's notices to IRC users (on an
external network, where its client is not flood-exempt, through a token bucket, with
what is over it waiting in a bounded queue, noticequeue.py, and a small budget per
sender: budget.py), and takes `/msg <service> CALL text` for a radio user who is off
the air: how an external network, where absent nicks do not exist, reaches the
mailbox. On a network with `service_nicks` it carries out forward.py's decisions:
mail for callsigns not enrolled here is kept in the store (relaystore.py) and passed
to the other gateways' verified service nicks until one answers. Connected again
whenever it leaves IRC: within seconds of the network's return, backing off while it
refuses (gateway/irc/backoff.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import secrets
from collections.abc import Callable
from typing import Any

from gateway import chatstore, relaystore
from gateway.bridge import forward, relay
from gateway.bridge.budget import SenderBudget, TokenBucket
from gateway.bridge.mailbox import MAX_PENDING_HOLDS, Mailbox, busy, full_text
from gateway.bridge.noticequeue import NoticeQueue
from gateway.bridge.trust import SERVICE_USER, Trust
from gateway.callsign import Callsign, parse_callsign
from gateway.config import BridgeConfig
from gateway.irc.backoff import Backoff
from gateway.irc.external import Unreachable, went_silent
from gateway.irc.link import ConnectError, Connector, Identity, IrcLink
from gateway.session.render import callsign_text, split_ctcp, strip_formatting
from gateway.session.thirdparty import RADIO_SUFFIX
from gateway.store import AsyncStore
from ircd.protocol import Message

log = logging.getLogger("gateway.bridge")

#: A refused service nick's wait doubles up to this (its nick taken, say).
SERVICE_REFUSED_MAX = 600.0
#: The service's lines on an external network: a burst, then this many a second (the
#: network's flood limit), of which the relay between gateways has a share of its own
#: that answers to people cannot use up (forward.py).
NOTICE_BURST = 8
NOTICE_RATE = 1.0
RELAY_BURST = 2
RELAY_RATE = 0.25
#: Each IRC user's requests to the service on a network: a burst, then one per this
#: many seconds (so that nobody can spend the whole bucket on their own answers).
SENDER_BURST = 5
SENDER_EVERY = 12.0
#: Mail each host (as the network shows it) may leave through the service on a
#: network with `service_nicks`: a burst, then one per this many seconds, on both paths
#: (held here or passed on), so that nobody fills what is kept for passing on.
MAIL_BURST = 20
MAIL_EVERY = 3600.0
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
        self._bucket = TokenBucket(
            NOTICE_BURST - RELAY_BURST, NOTICE_RATE - RELAY_RATE, monotonic()
        )
        own = TokenBucket(RELAY_BURST, RELAY_RATE, monotonic())
        self._senders = SenderBudget(SENDER_BURST, SENDER_EVERY)
        self._mail_quota = SenderBudget(MAIL_BURST, MAIL_EVERY)
        #: Mail requests in flight (held here or kept for passing on): one bound for both.
        self._requests: set[asyncio.Task[None]] = set()
        #: Notices over the bucket, waiting for its tokens (on a network), and the
        #: timer that sends them when the next token is due.
        self._notices = NoticeQueue(self._bucket, fold)
        self._notice_timer: asyncio.TimerHandle | None = None
        #: Dropped since the queue last ran empty (a burst of drops is logged once).
        self._dropping = 0
        self._forward = forward.Forwarder(
            config().service_nick, peers, fold, trust.peer_service, self._bucket, own
        )
        mailbox.expired_via = self._expired_via
        mailbox.tell_later = functools.partial(self.notice, later=True)
        #: Set when the relay may have something to do before its next wake-up.
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._backoff = Backoff(SERVICE_REFUSED_MAX)

    @property
    def nick(self) -> str:
        return self.link.nick if self.link is not None else self._config().service_nick

    # -- notices ------------------------------------------------------------------------------

    @property
    def notices_waiting(self) -> int:
        return len(self._notices)

    @property
    def notices_dropped(self) -> int:
        return self._notices.dropped

    def notice(self, nick: str, text: str, *, later: bool = False, once: bool = False) -> None:
        """A notice from the service nick, sent after the current command: hooks run in
        the middle of another client's command, where the server must not be re-entered.
        `later`: word nobody is waiting for (expired mail), sent after the answers;
        `once`: not queued again while the same notice waits."""
        asyncio.get_running_loop().call_soon(self._send_notice, nick, text, later, once)

    def _send_notice(self, nick: str, text: str, later: bool = False, once: bool = False) -> None:
        target = nick.split(" ", 1)[0]  # old mail's sender may be "NICK (unverified)"
        if self._connector.mode != "external":  # flood-exempt: at once
            if self.link is not None and not self.link.closed:
                self.link.send(f"NOTICE {target} :{text}")
            return
        # Over the network's flood limit the service would be disconnected: it waits.
        if not self._notices.push(target, text, later=later, once=once):
            self._dropping += 1
            if self._dropping == 1:
                log.warning("service notices dropped: too many waiting (flood limit)")
        self._send_due()

    def _send_due(self) -> None:
        """The notices the bucket allows now; the timer set for the next one. They wait
        while the link is down (sent once it is back: `_connect`)."""
        if self._notice_timer is not None:
            self._notice_timer.cancel()
            self._notice_timer = None
        link = self.link
        if link is None or link.closed or self._stopping:
            return
        now = self._monotonic()
        sent, next_at = self._notices.due(now)
        for target, text in sent:
            link.send(f"NOTICE {target} :{text}")
        if next_at is not None:
            loop = asyncio.get_running_loop()
            self._notice_timer = loop.call_later(next_at - now, self._send_due)
        elif self._dropping:
            log.warning("service notices dropped: %d in that burst, %d in all",
                        self._dropping, self._notices.dropped)  # fmt: skip
            self._dropping = 0

    # -- the client -----------------------------------------------------------------------------

    async def start(self) -> None:
        # An in-process client attaches at once: the service is there when start returns.
        # A network may take its time (or be down): the gateway does not wait for it.
        embedded = self._connector.mode == "embedded"
        now = self._monotonic()
        for row in await self._store.call(relaystore.kept):  # kept across a restart
            passed = relay.Passed(row.callsign, row.source, row.account, row.kind, row.text, row.id)
            self._forward.add(forward.Pending(passed, row.at, row.answered), now)
        first, wait = await self._connect() if embedded else (None, 0.0)
        self._spawn(self._keep(first, wait))
        self._spawn(self._relay())

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
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
        self._forward.link_up(self._monotonic())
        self._wake.set()
        self._send_due()  # what waited while the link was down
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
            self._forward.link_down()
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
            elif msg.command == "302" and len(msg.params) >= 2:  # USERHOST: the peers
                now = self._monotonic()
                self._carry_out(self._forward.userhost(conn.nick, msg.params[-1], now))
                self._wake.set()  # its next wake-up was the query's timeout
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
        where absent nicks do not exist, reaches the mailbox); and what the network's
        other gateways' service nicks say (relay.py), believed only from them."""
        sender = (msg.source or "").split("!", 1)[0]
        if not sender or "." in sender:
            return  # never a server
        if self._trust.peer_service(msg.source or "") and self._from_peer(msg):
            return
        if msg.command != "PRIVMSG" or not self._within_budget(msg, sender):
            return  # never answer a notice
        request = self._mail_request(msg, sender)
        if request is None:
            return
        call, passed = request
        others = self._others()
        if self._too_long(passed, others):
            return
        # The reader sees the sender's account: on a network callsign nicks are not kept
        # for their owners, so a nick alone may be anyone's (render.mail_sender).
        refusal = self._trust.refusal(msg)
        if not others or refusal is not None:
            self._mailbox.offer(sender, call, passed.kind, passed.text, refusal, tell=sender,
                                account=passed.account)  # fmt: skip
        elif self._may_leave_mail(passed, self._host(msg, sender)):
            task = asyncio.get_running_loop().create_task(self._take_mail(passed))
            self._requests.add(task)
            task.add_done_callback(self._requests.discard)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _mail_request(self, msg: Message, sender: str) -> tuple[Callsign, relay.Passed] | None:
        """`CALL text` read as mail for an off-air radio user, or None (the sender told
        how to write, or that CALL is on the air)."""
        call_text, _, text = msg.params[1].strip().partition(" ")
        call = parse_callsign(callsign_text(call_text))
        verb, body = split_ctcp(text)
        if call is None or not body.strip() or (verb is not None and verb != "ACTION"):
            self.notice(sender, f"To leave a radio user a message: /msg {self.nick} CALL text")
            return None
        on_air = self._nick_on_air(call)
        if on_air is not None:  # its nick is on IRC for all to see
            self.notice(sender, f"{call.base} is on the air as {on_air}: message them directly.")
            return None
        account = msg.tags.get("account") or ""
        kind = "ACTION" if verb else "PRIVMSG"
        passed = relay.Passed(call.base, msg.source or sender, account, kind, body.strip(),
                              secrets.token_hex(8))  # fmt: skip
        return call, passed

    def _may_leave_mail(self, passed: relay.Passed, host: str) -> bool:
        """The sender's mail quota and the requests in flight, the same answers whether
        or not the callsign is enrolled here (told if not)."""
        if self._mail_quota.charge(host, self._monotonic()) != "ok":
            self.notice(passed.nick, f"Not held for {passed.call}: too much mail from your"
                                     " address lately; try again later.")  # fmt: skip
            return False
        if len(self._requests) >= MAX_PENDING_HOLDS:
            self.notice(passed.nick, busy(passed.call))
            return False
        return True

    async def _take_mail(self, passed: relay.Passed) -> None:
        """Mail on a network with `service_nicks`: held here if the callsign is enrolled
        here, else kept and passed on; the room for it checked first on both paths, so
        that a full table answers the same whoever the callsign is."""
        base, limit = passed.call, self._config().mailbox_max_messages
        try:
            sender = relaystore.sender_of(passed.source, passed.account)
            why = await self._store.call(relaystore.room, base, limit, relaystore.OUT_MAX, sender)
        except Exception:
            log.exception("message from %s for %s not held", passed.nick, base)
            why = "failed"
        if why:
            self.notice(passed.nick, self._not_taken(why, base, limit))
        elif base in self._enrolled():
            await self._mailbox.hold(base, passed.nick, passed.kind,
                                     strip_formatting(passed.text), tell=passed.nick,
                                     account=passed.account)  # fmt: skip
        else:
            await self._pass_on(passed, self._mailbox.held_text(base))

    @staticmethod
    def _not_taken(why: str, base: str, limit: int) -> str:
        """What the sender reads when mail is not taken (the mailbox's own words)."""
        if why in (relaystore.FULL, relaystore.SHARE):
            return full_text(base, limit, why == relaystore.SHARE)
        if why == relaystore.BUSY:
            return busy(base)
        return f"Message for {base} not held: the gateway's store failed."

    def _too_long(self, passed: relay.Passed, others: list[str]) -> bool:
        """Too long to pass on to another gateway: refused here too (the same answer
        whether or not the callsign is enrolled here), and the sender told."""
        over = min((relay.room(self._via(), peer, passed) for peer in others), default=0)
        if over < 0:
            self.notice(passed.nick, f"Not held for {passed.call}: {-over} characters too long.")
        return over < 0

    def _within_budget(self, msg: Message, sender: str) -> bool:
        """Whether the sender may have an answer now (on a network, each sender has a
        budget of its own: budget.py). Every request costs the same, whatever it asks."""
        if self._connector.mode != "external":
            return True
        verdict = self._senders.charge(self._host(msg, sender), self._monotonic())
        if verdict == "tell":
            self.notice(sender, "Too many requests: nothing taken; try again in a minute.")
        return verdict == "ok"

    def _host(self, msg: Message, sender: str) -> str:
        """Whom a budget is charged to: the host the network shows."""
        return ((msg.source or "").rpartition("@")[2] or self._fold(sender)).lower()

    # -- mail between the network's gateways (relay.py, forward.py) -----------------------------

    def _others(self) -> list[str]:
        own = self._fold(self.nick)
        return [nick for nick in self._peers if self._fold(nick) != own]

    def _via(self) -> str:
        """Our full source as the network shows it (a long guess until it is known)."""
        link = self.link
        known = link.source if link is not None else None
        return known or f"{self.nick}!{SERVICE_USER}@{'f' * 39}"

    async def _pass_on(self, passed: relay.Passed, held: str) -> None:
        """Mail for a callsign not enrolled here: kept in the store, then the sender is
        told `held`, and forward.py passes it to the other gateways' service nicks until
        the one that serves the callsign answers."""
        row = relaystore.Row(passed.id, self._clock(), passed.call, passed.source,
                             passed.account, passed.kind, passed.text)  # fmt: skip
        limit = self._config().mailbox_max_messages
        try:
            why = await self._store.call(relaystore.keep, row, limit)
        except Exception:
            log.exception("message from %s for %s not kept", passed.nick, passed.call)
            why = "failed"
        if why:
            log.warning("message from %s for %s not kept: %s", passed.nick, passed.call, why)
            self.notice(passed.nick, self._not_taken(why, passed.call, limit))
            return
        self._forward.add(forward.Pending(passed, row.at), self._monotonic())
        self._wake.set()
        log.info("message %s from %s for %s kept, passed on to %s", passed.id, passed.nick,
                 passed.call, ", ".join(self._forward.peers()))  # fmt: skip
        self.notice(passed.nick, held)

    def _from_peer(self, msg: Message) -> bool:
        """A line from another gateway's service nick (believed: Trust.peer_service):
        mail passed on, an answer to ours, or HELLO. False: none of those."""
        source, text = msg.source or "", msg.params[1]
        now = self._monotonic()
        notice = msg.command == "NOTICE"
        passed = relay.parse(text) if not notice else None
        ack = relay.parse_ack(text) if notice else None
        expired = relay.parse_expired(text) if notice else None
        if passed is not None:
            self._forward.heard(source, now)
            self._take_passed(passed, source.partition("!")[0])
        elif ack is not None:
            self._carry_out(self._forward.ack(source, ack, now))
        elif expired is not None:  # mail we passed on: told from here, as if held here
            self._forward.heard(source, now)
            self.notice(expired.nick, relay.expired_text(expired.call), later=True)
        elif notice and relay.is_hello(text):
            self._forward.heard(source, now)
        else:
            return False
        self._wake.set()
        return True

    def _take_passed(self, passed: relay.Passed, peer: str) -> None:
        """Mail another gateway passed on: held if the callsign is enrolled here (under
        this gateway's third-party rule), else answered `not-here`; never passed on
        again. Every outcome goes back to that gateway, which tells the sender: our own
        nick says nothing, so nobody learns which gateway serves the callsign."""

        def answer(ack: relay.Ack) -> None:
            self._forward.answer(peer, ack)
            self._wake.set()

        call = parse_callsign(passed.call)
        if call is None or call.base not in self._enrolled():
            log.info("message from %s for %s, passed on: not enrolled here, dropped",
                     passed.nick, passed.call)  # fmt: skip
            answer(relay.Ack(passed.id, relay.NOT_HERE))
            return
        seen = Message(command="PRIVMSG", source=passed.source,
                       tags={"account": passed.account} if passed.account else {},
                       params=(self.nick, passed.text))  # fmt: skip
        refusal = self._trust.refusal(seen)
        if refusal is not None:
            told = f"Not held for {call.base}: {refusal} (third-party rule)."
            answer(relay.Ack(passed.id, relay.REFUSED, told))
            return
        self._mailbox.take_passed_soon(dataclasses.replace(passed, call=call.base), answer, peer)

    def _expired_via(self, peer: str, expired: relay.Expired) -> bool:
        """Mail `peer`'s gateway passed on expired unread here: it tells the sender.
        False: not queued (too many answers to peers waiting)."""
        queued = self._forward.answer(peer, expired)
        self._wake.set()
        return queued

    async def _relay(self) -> None:
        """Run forward.py: whatever is due, then sleep until the next thing is."""
        while not self._stopping:
            now = self._monotonic()
            self._carry_out(self._forward.tick(now, self._clock(), self._config().mailbox_max_age))
            wait = self._forward.wake_in(now)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    def _carry_out(self, actions: list[forward.Action]) -> None:
        for action in actions:
            if isinstance(action, forward.Send):
                if self.link is not None and not self.link.closed:
                    self.link.send(action.line)
            elif isinstance(action, forward.Tell):
                self.notice(action.nick, action.text, later=action.later, once=action.once)
            elif isinstance(action, forward.Done):
                log.info("message %s passed on: %s", action.id, action.why)
                self._spawn(self._store.call(relaystore.forget, action.id))
            elif isinstance(action, forward.Answered):
                self._spawn(self._store.call(relaystore.answered, action.id, action.answered))
            else:
                log.warning("%s", action.text)

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
        self._wake.set()  # the relay's loop ends
        if self._notice_timer is not None:  # what waits is not sent: none set again
            self._notice_timer.cancel()
        if self.link is not None:
            self.link.quit("Gateway stopping")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(QUIT_WAIT):  # let the QUIT leave
                    await self.link.wait_closed()

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks)
