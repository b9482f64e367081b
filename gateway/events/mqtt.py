"""MQTT with aiomqtt: gateway events out, bulletins in. Never in the way of a session.

Events go to `<prefix>/<gateway>/<kind>` as JSON (QoS from the config, 1 by default).
The link connects with a fixed client id (`<prefix>-<gateway>`) and a persistent session
(clean_session false), so the broker keeps the bulletins' subscriptions, and what they
bring, while the gateway is away. A retained `<prefix>/<gateway>/status` says `online`,
and the broker's last will says `offline` when the gateway vanishes.

State for dashboards is retained, so a subscriber that comes back finds it at once:
`sessions` (`{"active": n}`, radio sessions open, from the session events), `mail`
(`{"waiting": n}`, unread messages held, read from the store), `logins`
(`{"today": n, "day": "YYYY-MM-DD"}`, logins since local midnight, kept in the store),
and `state/<kind>`, the latest event of each kind Home Assistant shows. With
`home_assistant: true`, retained discovery messages (gateway/events/hadiscovery.py) make
the gateway a Home Assistant device on each connect, and again whenever Home Assistant
says it is back (`online` on `<discovery prefix>/status`, its birth message).

Events wait in a bounded queue (the oldest are dropped first and counted; the count is
published as `dropped` when the link is back), mirrored in the store (outbox.py), so
that a gateway restarted, or killed, while the broker is away publishes them at its next
connection; the link retries with backoff (1 s, doubling, up to a minute). A radio
session a crash ended gets its `session_end` (`"crashed": true`) at the next start.
Nothing here is awaited by a session: `Events` listeners only append to the queue.

Bulletins: each configured topic is posted in its channel by a named pseudo-user
(gateway/events/poster.py: an IRC client of the gateway's, paced within the network's
flood limits, connected again if it leaves), folded to 7-bit ASCII, cut to `max_length`
(and to what one IRC line carries), at most one per `min_interval`. The bulletins
dropped in a burst (too soon after the last, or the poster's queue full) are logged
once when the burst starts and once, with their count, when the next one is posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import ssl
import time
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

import aiomqtt

from gateway import chatstore
from gateway.config import BulletinFeed, MqttConfig
from gateway.events import outbox
from gateway.events.bus import Event, Events
from gateway.events.hadiscovery import SHOWN, discovery, state_topic
from gateway.events.poster import Poster
from gateway.irc.link import Connector, IrcLink
from gateway.session.render import to_ascii
from gateway.shutdown import settle
from gateway.store import AsyncStore

log = logging.getLogger("gateway.events.mqtt")

BACKOFF_INITIAL = 1.0
BACKOFF_MAX = 60.0
#: How long a stop may take when the caller gives no bound.
STOP_WAIT = 6.0
#: The retained `offline` may take this long to be acknowledged at a stop.
OFFLINE_WAIT = 2.0
#: aiomqtt's bound on one operation (subscribe, a publish's acknowledgement).
OPERATION_TIMEOUT = 10.0


async def _racing(operation: Awaitable[object], reader: asyncio.Task[None]) -> None:
    """Await `operation` unless the link breaks first (the reader ends), then raise."""
    task = asyncio.ensure_future(operation)
    try:
        await asyncio.wait({task, reader}, return_when=FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
    if task.done() and not task.cancelled():
        task.result()
        return
    if reader.done() and not reader.cancelled():
        reader.result()
    raise aiomqtt.MqttError("the broker closed the connection")


#: The retained state topics besides `status` (what `_state` publishes).
STATES = ("sessions", "mail", "logins")


def client_id(prefix: str, name: str) -> str:
    """The link's fixed MQTT client id: the broker keeps its session across connections."""
    return f"{prefix}-{name}".replace("/", "-")


class MqttLink:
    def __init__(
        self,
        config: MqttConfig,
        gateway_name: str,
        events: Events,
        connector: Connector,
        clock: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
        *,
        radio: bool = True,
        store: AsyncStore | None = None,
    ) -> None:
        self.config = config
        self._radio = radio  # the gateway has radio ports (Home Assistant's TNC entities)
        self.base = f"{config.prefix}/{gateway_name}"
        self.name = gateway_name
        self.client_id = client_id(config.prefix, gateway_name)
        self._events = events
        self._connector = connector
        self._clock = clock  # wall time, for what a person reads (the events' "at")
        self._monotonic = monotonic  # for the bulletins' min_interval
        #: Events to publish: (sequence id, kind, JSON), oldest first, at most `queue`.
        self._queue: deque[tuple[int, str, str]] = deque()
        self._next_id = 1
        self.dropped = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self._posters: dict[str, Poster] = {}
        self._stopping = False
        self._stopped = asyncio.Event()
        self._last_post: dict[str, float] = {}
        self.bulletins_dropped = 0
        #: Per feed topic (bounded by the config): bulletins dropped in the current burst.
        self._burst: dict[str, int] = {}
        self._drains: set[asyncio.Task[None]] = set()
        #: Radio sessions open, and the retained state topics yet to be published.
        self.active = 0
        self._due: set[str] = set(STATES)
        #: Logins on the local day `_day` (a date's ordinal), kept in the store.
        self.logins_today = 0
        self._day = 0
        self._birth = False
        #: The store's mirror of the queue (outbox.py): changes not yet written.
        self._store = store
        self._ops: list[outbox.Op] = []
        self._ops_due = asyncio.Event()
        self._saver: asyncio.Task[None] | None = None
        #: Events up to this id are in the store: only those are published (a crash
        #: after a publish then never loses the row of the session it announced).
        self._kept = 0

    # -- events in ---------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        eid, self._next_id = self._next_id, self._next_id + 1
        if event.kind in ("session_start", "session_end"):
            self.active = max(0, self.active + (1 if event.kind == "session_start" else -1))
            self._due.add("sessions")
            callsign = str(event.fields.get("callsign", ""))
            if event.kind == "session_start":
                self._save(outbox.Op(outbox.OPEN, eid, callsign, json.dumps(event.payload())))
            else:
                self._save(outbox.Op(outbox.CLOSE, kind=callsign))
        elif event.kind in ("mail_stored", "mail_delivered"):
            self._due.add("mail")
        elif event.kind == "login":
            self._count_login(event.at)
        self._wake.set()
        if event.kind == "message" and self.config.messages == "off":
            return
        if event.kind == "message" and self.config.messages == "metadata":
            event = Event(event.kind, event.at, {k: v for k, v in event.fields.items()
                                                 if k != "text"})  # fmt: skip
        if len(self._queue) >= self.config.queue:
            self._queue.popleft()  # the store trims its copy to the same bound
            self.dropped += 1
        text = json.dumps(event.payload())
        self._queue.append((eid, event.kind, text))
        self._save(outbox.Op(outbox.EVENT, eid, event.kind, text))

    def _count_login(self, at: float) -> None:
        day = date.fromtimestamp(at).toordinal()  # the gateway's local day
        self.logins_today = self.logins_today + 1 if day == self._day else 1
        self._day = day
        self._due.add("logins")

    def _today(self) -> tuple[int, str]:
        """The logins of today (0 once the day of the last one is over), and the day."""
        today = date.fromtimestamp(self._clock())
        return (self.logins_today if today.toordinal() == self._day else 0), today.isoformat()

    # -- the store's copy --------------------------------------------------------------------

    def _save(self, op: outbox.Op) -> None:
        if self._store is not None:
            self._ops.append(op)
            self._ops_due.set()

    def _counts(self) -> dict[str, int]:
        return {"dropped": self.dropped, "logins_today": self.logins_today,
                "logins_day": self._day}  # fmt: skip

    async def _write(self) -> None:
        """Write the changes made since the last write, in one transaction."""
        if self._store is None:
            return
        ops, self._ops, through = self._ops, [], self._next_id - 1
        self._ops_due.clear()
        try:
            await self._store.call(outbox.write, ops, self.config.queue, self._counts())
        finally:  # written, or failed (logged): the events go out either way
            self._kept = max(self._kept, through)
            self._wake.set()

    async def _keep(self) -> None:
        """Write the changes as they come, a batch at a time (the store's thread is one),
        until the link stops: `stop` writes the last batch once this one is written."""
        while True:
            await self._ops_due.wait()
            if self._stopping:
                return
            try:
                await self._write()
            except Exception:  # a full disk must not end the events, nor the gateway
                log.exception("MQTT: the events could not be kept in the store")

    async def _load(self) -> list[dict[str, object]]:
        """The last run's events back in the queue; the sessions a crash ended."""
        if self._store is None:
            return []
        kept = await self._store.call(outbox.load, self.config.queue)
        self._queue.extend(kept.events)
        self._next_id = kept.last_id + 1
        self._kept = kept.last_id
        self.dropped = kept.counts.get("dropped", 0)
        self.logins_today = kept.counts.get("logins_today", 0)
        self._day = kept.counts.get("logins_day", 0)
        if kept.events or self.dropped:
            log.info("MQTT: %d event(s) kept from the last run wait for the broker",
                     len(kept.events))  # fmt: skip
        crashed = []
        for _, text in kept.sessions:
            with contextlib.suppress(ValueError, AttributeError):
                start = json.loads(text)
                crashed.append({k: start.get(k) for k in ("callsign", "nick", "via")}
                               | {"started_at": start.get("at")})  # fmt: skip
        return crashed

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        crashed = await self._load()
        self._events.subscribe(self._on_event)
        loop = asyncio.get_running_loop()
        if self._store is not None:
            self._saver = loop.create_task(self._keep())
        for fields in crashed:
            log.info("MQTT: %s's session ended with the last run; publishing its end",
                     fields["callsign"])  # fmt: skip
            self._events.emit("session_end", **fields, bytes_to_user=None,
                              bytes_from_user=None, crashed=True)  # fmt: skip
        channels: dict[str, list[str]] = {}
        for feed in self.config.bulletins:
            channels.setdefault(feed.nick, []).append(feed.channel)
        for nick, joins in channels.items():
            topics = ", ".join(f.topic for f in self.config.bulletins if f.nick == nick)
            poster = Poster(self._connector, nick, joins, topics, self._monotonic)
            self._posters[nick] = poster
            task = loop.create_task(poster.run(lambda: self._stopping))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        self._task = loop.create_task(self._run())

    async def stop(self, within: float = STOP_WAIT) -> None:
        """Flush, say offline and disconnect, keep what is left in the store, then the
        posters' QUITs, in `within` seconds.

        The link's task is asked to end (`_stopped`) and ends on its own: a cancelled
        publish can swallow its CancelledError (Python 3.11's `wait_for`, which aiomqtt
        awaits through, does when the acknowledgement arrives in the same loop pass),
        and the retry loop would then go on for good. Cancellation is kept for a task
        that has not ended in its share of the time, and then it is left behind.
        """
        self._stopping = True
        self._stopped.set()
        self._events.unsubscribe(self._on_event)
        if self._task is not None:
            await settle("the MQTT link", (self._task,), within * 0.4)
        if self._saver is not None:
            # Never cancelled mid-write: a cancelled store call may never run, and its
            # batch (an ended session's CLOSE) would be lost. It ends after its batch.
            self._ops_due.set()
            await settle("the MQTT events' store", (self._saver,), within * 0.1)
            await settle("the MQTT events' store", (self._write(),), within * 0.1)
        links = [p.link for p in self._posters.values() if p.link is not None]
        for conn in links:
            conn.quit("Gateway stopping")
        # Let the QUITs leave.
        await settle("bulletin nicks' QUIT", (c.wait_closed() for c in links), within * 0.2)
        for task in self._drains:
            task.cancel()
        await settle("bulletin nicks", list(self._drains), within * 0.2)

    async def _run(self) -> None:
        backoff = BACKOFF_INITIAL
        cfg = self.config
        will = aiomqtt.Will(f"{self.base}/status", b"offline", qos=1, retain=True)
        tls = ssl.create_default_context() if cfg.tls else None
        while not self._stopping:
            try:
                async with aiomqtt.Client(
                    cfg.host, cfg.port, username=cfg.username, password=cfg.password,
                    identifier=self.client_id, clean_session=False, will=will,
                    tls_context=tls, keepalive=30, timeout=OPERATION_TIMEOUT,
                ) as client:  # fmt: skip
                    log.info("MQTT: connected to %s:%d", cfg.host, cfg.port)
                    backoff = BACKOFF_INITIAL
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                if self._stopping:
                    return
                log.warning("MQTT: broker %s:%d: %s; retrying in %.0f s",
                            cfg.host, cfg.port, exc, backoff)  # fmt: skip
            finally:
                self.connected.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._stopped.wait()
            backoff = min(backoff * 2, BACKOFF_MAX)

    async def _session(self, client: aiomqtt.Client) -> None:
        """One connection: announce, subscribe, then publish events until stopped."""
        cfg = self.config
        # Reading starts first: it is what ends (with the link's error) when the broker
        # goes, and every publish below is raced against it (aiomqtt's publish does not
        # notice a lost connection and would wait out its own timeout).
        reader = asyncio.get_running_loop().create_task(self._read(client))
        try:
            publish = functools.partial(self._publish, client, reader)
            await publish(f"{self.base}/status", b"online", qos=1, retain=True)
            self._due.update(STATES)
            if cfg.home_assistant:
                await self._announce(publish)
                await _racing(client.subscribe(self._ha_status, qos=1), reader)
            for feed in cfg.bulletins:
                await _racing(client.subscribe(feed.topic, qos=cfg.qos), reader)
            self.connected.set()
            await self._serve(publish, reader)
        finally:
            reader.cancel()

    @property
    def _ha_status(self) -> str:
        return f"{self.config.discovery_prefix}/status"

    async def _announce(self, publish: Callable[..., Awaitable[None]]) -> None:
        """Home Assistant's discovery (the states it reads are retained)."""
        cfg = self.config
        for topic, body in discovery(self.base, self.name, cfg.discovery_prefix, radio=self._radio):
            await publish(topic, body, qos=1, retain=True)

    async def _publish(
        self, client: aiomqtt.Client, reader: asyncio.Task[None], topic: str,
        payload: str | bytes, *, qos: int, retain: bool = False,
    ) -> None:  # fmt: skip
        await _racing(client.publish(topic, payload, qos=qos, retain=retain), reader)

    async def _state(self, publish: Callable[..., Awaitable[None]], name: str) -> None:
        """Publish one retained state topic (STATES)."""
        if name == "sessions":
            body: dict[str, object] = {"active": self.active}
        elif name == "mail":
            if self._store is None:
                return
            body = {"waiting": await self._store.call(chatstore.count_waiting)}
        else:
            count, day = self._today()
            body = {"today": count, "day": day}
        await publish(f"{self.base}/{name}", json.dumps(body), qos=1, retain=True)

    def _till_midnight(self) -> float:
        """Seconds to the next local midnight, when the logins of the day start at 0."""
        now = datetime.fromtimestamp(self._clock())
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time())
        return max(1.0, (midnight - now).total_seconds())

    async def _serve(
        self, publish: Callable[..., Awaitable[None]], reader: asyncio.Task[None]
    ) -> None:
        """Publish queued events until stopped (and flushed); raise the link's error."""
        stopped = asyncio.ensure_future(self._stopped.wait())
        said_offline = False
        qos = self.config.qos
        try:
            while True:
                self._wake.clear()  # first: a wake while publishing below is not lost
                if self._stopping and not said_offline:
                    # First: a clean disconnect cancels the last will, so a stop that runs
                    # out of time while flushing must already have said offline.
                    said_offline = await self._say_offline(publish)
                if self.dropped:
                    dropped = self.dropped
                    body = {"event": "dropped", "count": dropped, "at": round(self._clock(), 3)}
                    await publish(f"{self.base}/dropped", json.dumps(body), qos=qos)
                    self.dropped -= dropped  # more may have gone meanwhile
                    self._ops_due.set()  # the store's count too
                if self._birth:
                    self._birth = False
                    log.info("MQTT: Home Assistant is back; announcing the gateway again")
                    await self._announce(publish)
                # On a stop too: the sessions' ends are news.
                while self._queue and (self._store is None or self._queue[0][0] <= self._kept):
                    eid, kind, text = self._queue[0]
                    await publish(f"{self.base}/{kind}", text, qos=qos)
                    if kind in SHOWN:
                        await publish(state_topic(self.base, kind), text, qos=1, retain=True)
                    if self._queue and self._queue[0][0] == eid:  # not dropped meanwhile
                        self._queue.popleft()  # only once it went out
                    self._save(outbox.Op(outbox.SENT, eid))
                while self._due:
                    await self._state(publish, self._due.pop())
                if self._stopping:
                    if not said_offline:  # the stop came during the flush
                        await self._say_offline(publish)
                    return
                waiter = asyncio.ensure_future(self._wake.wait())
                done, _ = await asyncio.wait({waiter, reader, stopped},
                                             timeout=self._till_midnight(),
                                             return_when=FIRST_COMPLETED)  # fmt: skip
                waiter.cancel()
                if not done:  # midnight: the day's count starts again (and old mail expires)
                    self._due.update(("logins", "mail"))
                if reader.done():
                    reader.result()  # the link broke: raise its error here
                    raise aiomqtt.MqttError("the broker closed the connection")
        finally:
            stopped.cancel()

    async def _say_offline(self, publish: Callable[..., Awaitable[None]]) -> bool:
        """The retained `offline` a clean stop owes (its last will is cancelled)."""
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            async with asyncio.timeout(OFFLINE_WAIT):
                await publish(f"{self.base}/status", b"offline", qos=1, retain=True)
        return True

    # -- bulletins ---------------------------------------------------------------------------

    async def _read(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            if self.config.home_assistant and message.topic.matches(self._ha_status):
                if message.payload == b"online":
                    self._birth = True
                    self._wake.set()
                continue
            for feed in self.config.bulletins:
                if message.topic.matches(feed.topic):
                    self._bulletin(feed, message.payload)

    def on_air_links(self) -> list[IrcLink]:
        """The posters of feeds the sysop vouches for on air (`on_air`)."""
        nicks = {f.nick for f in self.config.bulletins if f.on_air}
        return [p.link for n, p in self._posters.items() if n in nicks and p.link is not None]

    def _bulletin(self, feed: BulletinFeed, payload: object) -> None:
        now = self._monotonic()
        last = self._last_post.get(feed.topic)
        if last is not None and now - last < feed.min_interval:
            self._dropped(feed, f"less than {feed.min_interval:g} s after the last")
            return
        poster = self._posters.get(feed.nick)
        if poster is None or poster.standing_by:  # another gateway's poster posts it
            return
        raw = payload if isinstance(payload, bytes | bytearray) else str(payload).encode()
        text = " ".join(to_ascii(bytes(raw).decode("utf-8", "replace")).split())
        if not text:
            return
        if len(text) > feed.max_length:
            text = text[: feed.max_length - 3] + "..."
        if not poster.post(feed.channel, text):
            self._dropped(feed, f"{feed.nick} has too many bulletins waiting")
            return
        self._last_post[feed.topic] = now
        burst = self._burst.pop(feed.topic, 0)
        if burst:
            log.info("%d bulletin(s) on %s were dropped before this one", burst, feed.topic)

    def _dropped(self, feed: BulletinFeed, why: str) -> None:
        """Count a dropped bulletin; log only the first of a burst (the rest at its end)."""
        self.bulletins_dropped += 1
        burst = self._burst.get(feed.topic, 0)
        if not burst:
            log.info("bulletins on %s dropped: %s (counted until the next one is posted)",
                     feed.topic, why)  # fmt: skip
        self._burst[feed.topic] = burst + 1
