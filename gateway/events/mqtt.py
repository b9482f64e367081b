"""MQTT with aiomqtt: gateway events out, bulletins in. Never in the way of a session.

Events go to `<prefix>/<gateway>/<kind>` as JSON (QoS from the config). A retained
`<prefix>/<gateway>/status` says `online`, and the broker's last will says `offline`
when the gateway vanishes. With `home_assistant: true`, retained discovery messages
(gateway/events/hadiscovery.py) make the gateway a Home Assistant device on each connect,
and again whenever Home Assistant says it is back (`online` on `<discovery
prefix>/status`, its birth message), with the latest event of each kind it shows, so
its entities never read "unknown" after a restart. A retained `<prefix>/<gateway>/sessions`
(`{"active": n}`) counts the radio sessions open, from the session events.
While the broker is away, events wait in a bounded queue (the oldest are dropped first
and counted; the count is published as `dropped` when the link is back), and the link
retries with backoff (1 s, doubling, up to a minute).
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

import aiomqtt

from gateway.config import BulletinFeed, MqttConfig
from gateway.events.bus import Event, Events
from gateway.events.hadiscovery import SHOWN, discovery
from gateway.events.poster import Poster
from gateway.irc.link import Connector, IrcLink
from gateway.session.render import to_ascii
from gateway.shutdown import settle

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
    ) -> None:
        self.config = config
        self._radio = radio  # the gateway has radio ports (Home Assistant's TNC entities)
        self.base = f"{config.prefix}/{gateway_name}"
        self.name = gateway_name
        self._events = events
        self._connector = connector
        self._clock = clock  # wall time, for what a person reads (the events' "at")
        self._monotonic = monotonic  # for the bulletins' min_interval
        self._queue: deque[Event] = deque()
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
        #: Radio sessions open, and whether that count is yet to be published.
        self.active = 0
        self._active_due = True
        #: The latest published payload of each kind Home Assistant shows (bounded by
        #: the kinds), republished when Home Assistant says it is back.
        self._latest: dict[str, str] = {}
        self._birth = False

    # -- events in ---------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        if event.kind in ("session_start", "session_end"):
            self.active = max(0, self.active + (1 if event.kind == "session_start" else -1))
            self._active_due = True
            self._wake.set()
        if event.kind == "message" and self.config.messages == "off":
            return
        if event.kind == "message" and self.config.messages == "metadata":
            event = Event(event.kind, event.at, {k: v for k, v in event.fields.items()
                                                 if k != "text"})  # fmt: skip
        if len(self._queue) >= self.config.queue:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(event)
        self._wake.set()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._events.subscribe(self._on_event)
        channels: dict[str, list[str]] = {}
        for feed in self.config.bulletins:
            channels.setdefault(feed.nick, []).append(feed.channel)
        for nick, joins in channels.items():
            topics = ", ".join(f.topic for f in self.config.bulletins if f.nick == nick)
            poster = Poster(self._connector, nick, joins, topics, self._monotonic)
            self._posters[nick] = poster
            task = asyncio.get_running_loop().create_task(poster.run(lambda: self._stopping))
            self._drains.add(task)
            task.add_done_callback(self._drains.discard)
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self, within: float = STOP_WAIT) -> None:
        """Flush, say offline and disconnect, then the posters' QUITs, in `within` seconds.

        The link's task is asked to end (`_stopped`) and ends on its own: a cancelled
        publish can swallow its CancelledError (Python 3.11's `wait_for`, which aiomqtt
        awaits through, does when the acknowledgement arrives in the same loop pass),
        and the retry loop would then go on for good. Cancellation is kept for a task
        that has not ended in its half of the time, and then it is left behind.
        """
        self._stopping = True
        self._stopped.set()
        self._events.unsubscribe(self._on_event)
        if self._task is not None:
            await settle("the MQTT link", (self._task,), within / 2)
        links = [p.link for p in self._posters.values() if p.link is not None]
        for conn in links:
            conn.quit("Gateway stopping")
        # Let the QUITs leave.
        await settle("bulletin nicks' QUIT", (c.wait_closed() for c in links), within / 4)
        for task in self._drains:
            task.cancel()
        await settle("bulletin nicks", list(self._drains), within / 4)

    async def _run(self) -> None:
        backoff = BACKOFF_INITIAL
        cfg = self.config
        will = aiomqtt.Will(f"{self.base}/status", b"offline", qos=1, retain=True)
        tls = ssl.create_default_context() if cfg.tls else None
        while not self._stopping:
            try:
                async with aiomqtt.Client(
                    cfg.host, cfg.port, username=cfg.username, password=cfg.password,
                    will=will, tls_context=tls, keepalive=30, timeout=OPERATION_TIMEOUT,
                ) as client:  # fmt: skip
                    log.info("MQTT: connected to %s:%d", cfg.host, cfg.port)
                    backoff = BACKOFF_INITIAL
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                if self._stopping:
                    return
                log.warning("MQTT: %s; retrying in %.0f s", exc, backoff)
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
            self._active_due = True
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
        """Home Assistant's discovery, then the latest state of what it shows."""
        cfg = self.config
        for topic, body in discovery(self.base, self.name, cfg.discovery_prefix, radio=self._radio):
            await publish(topic, body, qos=1, retain=True)
        for kind, body in list(self._latest.items()):
            await publish(f"{self.base}/{kind}", body, qos=cfg.qos)

    async def _publish(
        self, client: aiomqtt.Client, reader: asyncio.Task[None], topic: str,
        payload: str | bytes, *, qos: int, retain: bool = False,
    ) -> None:  # fmt: skip
        await _racing(client.publish(topic, payload, qos=qos, retain=retain), reader)

    async def _serve(
        self, publish: Callable[..., Awaitable[None]], reader: asyncio.Task[None]
    ) -> None:
        """Publish queued events until stopped (and flushed); raise the link's error."""
        stopped = asyncio.ensure_future(self._stopped.wait())
        said_offline = False
        try:
            while True:
                if self._stopping and not said_offline:
                    # First: a clean disconnect cancels the last will, so a stop that runs
                    # out of time while flushing must already have said offline.
                    said_offline = await self._say_offline(publish)
                if self.dropped:
                    dropped, self.dropped = self.dropped, 0
                    body = {"event": "dropped", "count": dropped, "at": round(self._clock(), 3)}
                    await publish(f"{self.base}/dropped", json.dumps(body), qos=self.config.qos)
                if self._birth:
                    self._birth = False
                    log.info("MQTT: Home Assistant is back; announcing the gateway again")
                    await self._announce(publish)
                while self._queue:  # on a stop too: the sessions' ends are news
                    event = self._queue[0]
                    text = json.dumps(event.payload())
                    await publish(f"{self.base}/{event.kind}", text, qos=self.config.qos)
                    self._queue.popleft()  # only once it went out
                    if event.kind in SHOWN:
                        self._latest[event.kind] = text
                if self._active_due:
                    self._active_due = False
                    count = json.dumps({"active": self.active})
                    await publish(f"{self.base}/sessions", count, qos=self.config.qos, retain=True)
                if self._stopping:
                    if not said_offline:  # the stop came during the flush
                        await self._say_offline(publish)
                    return
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                await asyncio.wait({waiter, reader, stopped}, return_when=FIRST_COMPLETED)
                waiter.cancel()
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
        if poster is None or poster.link is None or poster.link.closed:
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
