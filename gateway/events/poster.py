"""A bulletin poster: one named IRC client of the gateway's that posts MQTT bulletins.

`Poster.run` keeps the nick on IRC (embedded or on the external network), in its
channels, answering pings, and sends what `post` queued at a pace the network's flood
limits allow (`Pacer`: a burst of a few lines, then one every two seconds, about what
RFC 1459's penalty and InspIRCd's or ngircd's defaults let a client send), so a burst of
bulletins waits in a short queue (the overflow is dropped and counted) instead of
getting the poster killed for flooding (`RecvQ exceeded`).

When the nick cannot join: a network out of reach is tried again within a few seconds
(with jitter: gateways do not all come back at once), but a refusal (the nick taken, a
registration refused) backs off, doubling up to a minute (`Backoff`,
gateway/irc/backoff.py), instead of knocking every few seconds for good.

Bulletins once per network: gateways that subscribe to the same feed give its poster
the same nick. The network lets one client hold a nick, so one gateway posts and the
others stand by, refused, trying again every minute or so; when the gateway posting
goes away, one of them takes the nick over within that minute. A refusal is logged
when it starts or changes, not at every try.

Its own ghost: a link lost in silence (our ping timeout, or the connection cut without
an ERROR) may still hold the nick on the server until the server's own ping timeout
(two to four minutes). A nick in use within GHOST_WAIT of such a loss is taken for
that ghost: the poster keeps queueing (what overflows is dropped and counted, as
ever) and tries every GHOST_RETRY seconds, then posts the queue once it has the nick.
Past GHOST_WAIT it is another gateway's poster, and this one stands by.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from gateway.irc.backoff import Backoff
from gateway.irc.external import Unreachable, went_silent
from gateway.irc.link import ConnectError, Connector, Identity, IrcLink
from ircd.protocol import MAX_BODY

log = logging.getLogger("gateway.events.poster")

BULLETIN_HOST = "bulletin.gateway"
#: A refused poster's wait doubles up to this (gateway/irc/backoff.py): a poster standing
#: by for another gateway's takes its nick over within about this long after it goes.
REFUSED_MAX = 60.0
#: Lines a poster may send at once, then one per PACE seconds.
BURST = 4
PACE = 2.0
#: Bulletins waiting for their turn; past it the newest are dropped (and counted).
QUEUE = 16
#: How long after a link lost in silence a nick in use is taken for its ghost: longer
#: than a server takes to notice (InspIRCd's default pingfreq twice, 240 s; ngircd 140 s).
GHOST_WAIT = 300.0
#: How often a poster waiting for its ghost to go asks for the nick again.
GHOST_RETRY = 10.0
#: The longest `:nick!user@host` the network may put in front of a line we send (nick 30,
#: user 10, host 63: what it relays is what must fit 512 bytes).
WORST_SOURCE = 1 + 30 + 1 + 10 + 1 + 63


class Pacer:
    """A token bucket: BURST lines at once, then one every PACE seconds. Sans-IO."""

    def __init__(self, now: float) -> None:
        self._tokens = float(BURST)
        self._at = now

    def wait(self, now: float) -> float:
        """Seconds until the next line may go (0: now; the line is then counted)."""
        self._tokens = min(float(BURST), self._tokens + (now - self._at) / PACE)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) * PACE


def room(link: IrcLink | None, channel: str) -> int:
    """Characters of text one PRIVMSG to `channel` carries once the network relays it."""
    source = link.source if link is not None and link.source else None
    prefix = len(f":{source}" if source else "x" * WORST_SOURCE) + len(f" PRIVMSG {channel} :")
    return MAX_BODY - 2 - prefix


class Poster:
    def __init__(
        self,
        connector: Connector,
        nick: str,
        channels: list[str],
        topics: str,
        monotonic: Callable[[], float],
        backoff: Backoff | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.nick = nick
        self.channels = channels
        self.identity = Identity(
            nicks=(nick,), user="bulletin", host=BULLETIN_HOST,
            realname=f"Bulletins from MQTT ({topics})"[:100], service=True,
        )  # fmt: skip
        self._connector = connector
        self._monotonic = monotonic
        self._backoff = backoff or Backoff(REFUSED_MAX)
        self._sleep = sleep
        self._queue: deque[tuple[str, str]] = deque()
        self._queued = asyncio.Event()
        self.link: IrcLink | None = None
        self.dropped = 0
        #: The refusal last logged (the same one again is not: a poster standing by).
        self._refusal: str | None = None
        #: Refused at the last try (another gateway's poster may hold the nick): what
        #: comes meanwhile is that one's to post, not queued here for later.
        self.standing_by = False
        #: When the last link ended in a way the server may not have noticed (its ghost
        #: may hold the nick until GHOST_WAIT later); None otherwise.
        self._lost_at: float | None = None

    def post(self, channel: str, text: str) -> bool:
        """Queue one bulletin (posted once the nick is on IRC: a bulletin that the broker
        kept for the gateway comes before that); False (and counted) when it is full."""
        if len(self._queue) >= QUEUE:
            self.dropped += 1
            return False
        if not self._queue and (self.link is None or self.link.closed):
            log.info("bulletins for %s kept until it is on IRC (%d at most)", self.nick, QUEUE)
        self._queue.append((channel, text))
        self._queued.set()
        return True

    async def run(self, stopping: Callable[[], bool]) -> None:
        """Keep the nick on IRC until `stopping()`; cancelled at the end."""
        while not stopping():
            try:
                link = await self._connector.connect(self.identity)
            except Unreachable as exc:
                wait = self._backoff.unreachable()
                log.warning("bulletin nick %s cannot reach IRC (%s); again in %.0f s",
                            self.nick, exc, wait)  # fmt: skip
            except ConnectError as exc:
                wait = self._refused(exc)
            else:
                self._refusal = None
                self.standing_by = False
                since = self._monotonic()
                reason = await self._serve(link)
                silent = reason is None or went_silent(reason)  # the server may not know
                self._lost_at = self._monotonic() if silent and not stopping() else None
                wait = self._backoff.left(self._monotonic() - since, silent=went_silent(reason))
                if not stopping():
                    log.warning("bulletin nick %s is off IRC; again in %.0f s", self.nick, wait)
            if not stopping():
                await self._sleep(wait)

    def _refused(self, exc: ConnectError) -> float:
        """Stand by, wait for the ghost, or keep the queue, as the refusal says; log a
        refusal when it starts or changes. The seconds until the next try."""
        wait = self._backoff.refused()
        # A nick held by another client is our own ghost for a while after a silent
        # loss (keep queueing, ask again soon), else another gateway's poster of the
        # feed (stand by: what comes is its to post). Any other refusal, a ban or a
        # throttle, keeps what is queued for when the poster gets on.
        lost = self._lost_at
        ghost = exc.taken and lost is not None and self._monotonic() - lost < GHOST_WAIT
        self.standing_by = exc.taken and not ghost
        if self.standing_by:
            self._queue.clear()
        if ghost:
            wait = min(wait, GHOST_RETRY)
        refusal = f"{exc} (ghost)" if ghost else str(exc)
        if refusal == self._refusal:
            log.debug("bulletin nick %s still refused; again in %.0f s", self.nick, wait)
        elif ghost:
            log.warning("bulletin nick %s refused by IRC (%s), probably held by its own lost"
                        " connection until the network notices; keeping up to %d bulletins"
                        " and trying again every %.0f s", self.nick, exc, QUEUE,
                        GHOST_RETRY)  # fmt: skip
        else:
            log.warning("bulletin nick %s refused by IRC (%s); trying again every minute at"
                        " most, logged again when this changes (another gateway holding the"
                        " nick posts the bulletins)", self.nick, exc)  # fmt: skip
        self._refusal = refusal
        return wait

    async def _serve(self, link: IrcLink) -> str | None:
        """Stay in the channels while the link lasts; the network's last ERROR then."""
        self.link = link
        reason: str | None = None
        for channel in self.channels:
            link.send(f"JOIN {channel}")
        log.info("bulletin nick %s is on IRC in %s", link.nick, ", ".join(self.channels))
        sender = asyncio.get_running_loop().create_task(self._send(link))
        try:
            while (msg := await link.read()) is not None:  # its channels' traffic
                if msg.command == "ERROR" and msg.params:
                    reason = msg.params[-1]
                elif msg.command == "PING":
                    link.send(f"PONG :{msg.params[0]}" if msg.params else "PONG")
        except Exception:  # a bug here must not end the bulletins for good
            log.exception("bulletin nick %s failed", self.nick)
            link.quit("Internal error")
        finally:
            sender.cancel()
        return reason

    async def _send(self, link: IrcLink) -> None:
        """Send the queue at the network's pace while the link lasts."""
        pacer = Pacer(self._monotonic())
        while not link.closed:
            if not self._queue:
                self._queued.clear()
                await self._queued.wait()
                continue
            wait = pacer.wait(self._monotonic())
            if wait > 0:
                await self._sleep(wait)
                continue
            channel, text = self._queue.popleft()
            limit = room(link, channel)
            if len(text) > limit:
                text = text[: limit - 3] + "..."
            link.send(f"PRIVMSG {channel} :{text}")
