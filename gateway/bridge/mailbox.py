"""Messages held for radio users who are off the air, in the store (`chatstore.py`).

A message to the nick of an enrolled callsign that is not connected, or one left with
`/msg <service> CALL text`, is committed to the mailbox before the sender is told; at
the recipient's next login, `2 new messages, /READ`. Whether or not a callsign is
enrolled, the sender reads the same answer: mail must not tell who uses the gateway.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from gateway import chatstore, relaystore
from gateway.bridge import relay
from gateway.bridge.registry import Member
from gateway.bridge.trust import Trust
from gateway.callsign import Callsign, parse_callsign
from gateway.config import BridgeConfig
from gateway.events.bus import Events
from gateway.session.render import callsign_text, split_ctcp, strip_formatting
from gateway.store import AsyncStore
from ircd.client import Client

log = logging.getLogger("gateway.bridge")
#: Refusals under the third-party rule: operators hear of them (gateway/irc/opernotices.py).
third_party_log = logging.getLogger("gateway.thirdparty")

#: Mailbox writes in flight at once; past this a sender is asked to try again.
MAX_PENDING_HOLDS = 256


def full_text(base: str, limit: int, share_full: bool) -> str:
    """Why a message was not held: the mailbox, or the sender's share of it, is full
    (the same words for mail kept for passing on: `service._not_taken`)."""
    if share_full:
        share = chatstore.sender_share(limit)
        return f"{base}'s mailbox holds {share} of yours, your share; message not held."
    return f"{base}'s mailbox is full ({limit}); message not held."


def busy(base: str) -> str:
    """The answer when too much is in flight (or kept for passing on)."""
    return f"Not held for {base}: the gateway is busy, try again."


class Mailbox:
    def __init__(
        self,
        config: Callable[[], BridgeConfig],
        store: AsyncStore,
        *,
        clock: Callable[[], float],
        events: Events,
        enrolled: Callable[[], frozenset[str]],
        notice: Callable[[str, str], None],
        recipients: Callable[[str], Iterable[Member]],
        trust: Trust,
        network_wide: bool = False,
    ) -> None:
        self._config = config
        #: Mail for a callsign not enrolled here is passed on to the network's other
        #: gateways (relay.py): the sender's answer names them all.
        self._network_wide = network_wide
        self._store = store
        #: Wall time: a message's date is read by a person.
        self._clock = clock
        self._events = events
        self._enrolled = enrolled
        self._notice = notice
        self._recipients = recipients
        self._trust = trust
        self._holds: set[asyncio.Task[None]] = set()
        #: How word of expired mail is told: after the answers to people, as flood
        #: limits allow (the service nick's notice queue, set by service.py).
        self.tell_later: Callable[[str, str], None] = notice
        #: How the expiry of mail another gateway passed on goes back to it (service.py):
        #: False if it is not queued (too many waiting).
        self.expired_via: Callable[[str, relay.Expired], bool] | None = None

    def message_to_absent(self, client: Client, nick: str, command: str, text: str) -> bool:
        """ServerHooks: a message to the nick of a callsign that is off the air."""
        call = parse_callsign(callsign_text(nick))
        verb, body = split_ctcp(text)
        if call is None or (verb is not None and verb != "ACTION"):
            return False  # not a callsign (401), or a CTCP query, which is not mail
        refusal = self._trust.refusal(client)
        kind = "ACTION" if verb else command
        self.offer(client.name, call, kind, body, refusal, account=client.account or "")
        return True

    def offer(
        self,
        sender: str,
        call: Callsign,
        kind: str,
        body: str,
        refusal: str | None,
        tell: str | None = None,
        *,
        account: str = "",
    ) -> None:
        """Hold mail for an enrolled callsign. Whether or not `call` is enrolled, the
        sender (`tell`, by default `sender`) reads the same answer: mail must not tell
        who uses the gateway. `account` is the sender's ("" if none): the reader sees
        it, since a nick alone can pass for someone else."""
        tell = tell or sender
        if refusal is not None:
            self._notice(tell, f"Not held for {call}: {refusal} (third-party rule).")
            third_party_log.info("message from %s not held for %s (third-party rule)",
                                 sender, call)  # fmt: skip
        elif call.base in self._enrolled():
            self.hold_soon(
                call.base, sender, kind, strip_formatting(body), tell=tell, account=account
            )
        else:
            self._notice(tell, self.held_text(call.base))

    def held_text(self, base: str) -> str:
        days = self._config().mailbox_max_age / 86400
        where = "a gateway of this network" if self._network_wide else "this gateway"
        # One line on air (a ham's /M to an off-air ham gets it each time): the same
        # whether or not `base` is enrolled, so it tells nobody who uses the gateway.
        return f"Message held if {base} uses {where} (kept {days:g} days)."

    def hold_soon(
        self,
        base: str,
        sender: str,
        kind: str,
        text: str,
        *,
        tell: str,
        account: str = "",
    ) -> None:
        """Start committing a message, unless too many writes are in flight (told)."""
        if len(self._holds) >= MAX_PENDING_HOLDS:
            self._notice(tell, busy(base))
            return
        task = asyncio.get_running_loop().create_task(
            self.hold(base, sender, kind, text, tell=tell, account=account)
        )
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)

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
        """Commit a message to `base`'s mailbox, then tell the sender and the recipient."""
        limit = self._config().mailbox_max_messages
        try:
            n = await self._store.call(
                chatstore.hold_mail, chatstore.Letter(base, sender, kind, text, account),
                self._clock(), limit,
            )  # fmt: skip
        except chatstore.MailboxFull as full:
            log.info("mailbox of %s full; message from %s not held", base, sender)
            if tell:
                self._notice(
                    tell, full_text(base, limit, isinstance(full, chatstore.SenderShareFull))
                )
            return
        except Exception:
            log.exception("message from %s for %s not held", sender, base)
            if tell:
                self._notice(tell, f"Message for {base} not held: the gateway's store failed.")
            return
        recipients = self._held(n, base, sender)
        if tell:
            # Logged in (a full live queue, or another SSID): held and told at once.
            on_air = f"{base} is on the air: message held, {base} is told."
            self._notice(tell, on_air if recipients else self.held_text(base))
        for session in recipients:
            session.mail_arrived(sender, account)

    def _held(self, n: int, base: str, sender: str) -> list[Member]:
        """Message `n` is held: logged, an event; its recipients on the air."""
        log.info("message %d held for %s from %s", n, base, sender)
        self._events.emit("mail_stored", callsign=base, sender=sender)
        return list(self._recipients(base))

    def take_passed_soon(
        self, passed: relay.Passed, answer: Callable[[relay.Ack], None], via: str
    ) -> None:
        """Hold a message the gateway of service nick `via` passed on (`passed.call`
        enrolled here, its text allowed by the third-party rule), then `answer` that
        gateway: held, or refused (a full mailbox). No answer when busy or the store
        failed: it is sent again. Nobody is told from here, not even its expiry (told
        through `via`): which gateway serves a callsign is not shown."""
        if len(self._holds) >= MAX_PENDING_HOLDS:
            log.info("message from %s for %s, passed on: busy, left for a resend",
                     passed.nick, passed.call)  # fmt: skip
            return
        task = asyncio.get_running_loop().create_task(self._take_passed(passed, answer, via))
        self._holds.add(task)
        task.add_done_callback(self._holds.discard)

    async def _take_passed(
        self, passed: relay.Passed, answer: Callable[[relay.Ack], None], via: str
    ) -> None:
        base, sender, limit = passed.call, passed.nick, self._config().mailbox_max_messages
        try:
            n = await self._store.call(
                relaystore.take, passed.id,
                chatstore.Letter(base, sender, passed.kind, strip_formatting(passed.text),
                                 passed.account, via),
                self._clock(), limit,
            )  # fmt: skip
        except chatstore.MailboxFull as full:
            log.info("mailbox of %s full; message from %s not held", base, sender)
            share_full = isinstance(full, chatstore.SenderShareFull)
            answer(relay.Ack(passed.id, relay.REFUSED, full_text(base, limit, share_full)))
            return
        except Exception:
            log.exception("message from %s for %s not held; left for a resend", sender, base)
            return
        if n is None:
            log.info("message from %s for %s, passed on again: held before", sender, base)
        else:
            for session in self._held(n, base, sender):
                session.mail_arrived(sender, passed.account)
        answer(relay.Ack(passed.id, relay.HELD))

    async def prune(self) -> None:
        cfg = self._config()
        expired = await self._store.call(
            chatstore.prune_chat, self._clock(), cfg.mailbox_max_age, cfg.archive_max_age
        )
        await self._store.call(relaystore.prune, self._clock(), cfg.mailbox_max_age)
        untold = 0
        for recipient, sender, _at, via in expired:  # each sender told, in order
            if via is None:  # (a full notice queue drops and counts the rest)
                self.tell_later(sender, relay.expired_text(recipient))
            elif self.expired_via is not None:  # that gateway tells the sender
                word = relay.Expired(sender.split(" ", 1)[0], recipient)
                if not self.expired_via(via, word):
                    untold += 1
        if untold:
            log.warning("%d senders of expired mail passed on not told: too many waiting",
                        untold)  # fmt: skip

    def pending(self) -> list[asyncio.Task[None]]:
        """The writes in flight (cancelled when the gateway stops)."""
        return list(self._holds)
