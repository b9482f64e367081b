"""Bulletin posters: backoff on refusals, pacing within flood limits, one line's room,
and dropped bulletins logged once per burst."""

from __future__ import annotations

import asyncio
import logging

import pytest

from gateway.config import BulletinFeed, MqttConfig
from gateway.events import poster as P
from gateway.events.bus import Events
from gateway.events.mqtt import MqttLink
from gateway.irc import backoff as B
from gateway.irc.external import Unreachable
from gateway.irc.link import ConnectError, Identity
from ircd.protocol import Message


class FakeLink:
    def __init__(self, source: str | None = None) -> None:
        self.sent: list[str] = []
        self.source = source
        self.nick = "WX"
        self.caps: frozenset[str] = frozenset()
        self.closed = False
        self.quit_after = 0
        self._lines: asyncio.Queue[Message | None] = asyncio.Queue()

    def send(self, line: str) -> None:
        self.sent.append(line)
        if len(self.sent) == self.quit_after:
            self.quit()

    async def read(self) -> Message | None:
        return await self._lines.get()

    def quit(self, reason: str = "") -> None:
        self.closed = True
        self._lines.put_nowait(None)

    async def wait_closed(self) -> None:
        return None


class Refusing:
    """A connector that fails as told: unreachable (`u`), the nick in use (`r`) or
    refused otherwise (`b`, a ban), in turn."""

    mode = "external"

    def __init__(self, script: str) -> None:
        self.script = list(script)

    async def connect(self, identity: Identity) -> FakeLink:
        kind = self.script.pop(0) if self.script else "r"
        if kind == "u":
            raise Unreachable("cannot reach IRC network x:6667: Connection refused")
        if kind == "b":
            raise ConnectError("IRC network x:6667: banned: K-lined", fatal=True)
        raise ConnectError(
            "IRC network x:6667: nick WX refused: Nickname is already in use", taken=True
        )


def test_refusals_back_off_to_a_cap_and_unreachable_stays_quick() -> None:
    backoff = B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: low)
    assert [backoff.refused() for _ in range(6)] == [5, 10, 20, 40, 60, 60]
    assert backoff.unreachable() == B.RETRY_UNREACHABLE  # the network back: in seconds
    assert backoff.left(B.STAYED - 1) == 60  # dropped at once: still a refusal
    assert backoff.left(B.STAYED) == B.RETRY_UNREACHABLE  # stayed: the backoff starts again
    assert backoff.refused() == 5
    assert backoff.left(1, silent=True) == B.RETRY_UNREACHABLE  # a ping timeout: in doubt
    assert backoff.refused() == 5
    jittered = B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: high)
    assert jittered.refused() == 5 * 1.25 and jittered.unreachable() == 4.0


async def test_a_poster_whose_nick_is_taken_does_not_loop_every_few_seconds() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    poster = P.Poster(Refusing("rrurrrrr"), "WX", ["#wx"], "wx/#", lambda: 0.0,
                      B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: low), sleep)  # fmt: skip
    await poster.run(lambda: len(waits) >= 8)
    assert waits == [5, 10, B.RETRY_UNREACHABLE, 20, 40, 60, 60, 60]


async def test_a_poster_standing_by_logs_its_refusal_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another gateway's poster holds the nick: this one stands by, quietly."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    caplog.set_level(logging.INFO, "gateway.events.poster")
    poster = P.Poster(Refusing("rrrrrrurr"), "WX", ["#wx"], "wx/#", lambda: 0.0,
                      B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: low), sleep)  # fmt: skip
    await poster.run(lambda: len(waits) >= 9)
    refused = [r.getMessage() for r in caplog.records if "refused by IRC" in r.getMessage()]
    assert len(refused) == 1 and "Nickname is already in use" in refused[0]
    assert len([r for r in caplog.records if "cannot reach" in r.getMessage()]) == 1


async def test_a_poster_dropped_by_a_ping_timeout_comes_back_within_seconds() -> None:
    """A ping timeout is a network in doubt, not a refusal in disguise: a poster that
    lost it soon after joining comes back within seconds; one dropped otherwise waits."""
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    links = [FakeLink(), FakeLink()]
    reasons = ("Ping timeout: 60 seconds", "Closing link: Excess Flood")
    for link, reason in zip(links, reasons, strict=True):
        link._lines.put_nowait(Message(command="ERROR", params=(reason,)))
        link._lines.put_nowait(None)

    class Twice:
        mode = "external"

        async def connect(self, identity: Identity) -> FakeLink:
            return links.pop(0)

    poster = P.Poster(Twice(), "WX", ["#wx"], "wx/#", lambda: 0.0,
                      B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: low), sleep)  # fmt: skip
    await poster.run(lambda: len(waits) >= 2)
    assert waits == [B.RETRY_UNREACHABLE, B.REFUSED_FIRST]


async def test_a_burst_is_paced_and_the_overflow_dropped() -> None:
    clock = [100.0]
    link = FakeLink("WX!bulletin@bulletin.gateway")
    link.quit_after = 1 + P.QUEUE  # the JOIN, then every bulletin queued
    gaps: list[float] = []

    async def sleep(seconds: float) -> None:
        gaps.append(seconds)
        clock[0] += seconds
        await asyncio.sleep(0)

    class Once:
        mode = "external"

        async def connect(self, identity: Identity) -> FakeLink:
            return link

    poster = P.Poster(Once(), "WX", ["#wx"], "wx/#", lambda: clock[0], sleep=sleep)
    accepted = [poster.post("#wx", f"bulletin {i}") for i in range(P.QUEUE + 3)]
    assert accepted.count(False) == 3 and poster.dropped == 3
    await poster.run(lambda: link.closed)
    lines = [s for s in link.sent if s.startswith("PRIVMSG")]
    assert lines == [f"PRIVMSG #wx :bulletin {i}" for i in range(P.QUEUE)]
    # A burst of BURST lines, then one per PACE seconds: never faster.
    assert sum(g for g in gaps[: P.QUEUE - P.BURST]) >= (P.QUEUE - P.BURST) * P.PACE - 1e-9
    pacer = P.Pacer(0.0)
    assert [pacer.wait(0.0) for _ in range(P.BURST + 1)] == [0.0] * P.BURST + [P.PACE]
    assert pacer.wait(P.PACE) == 0.0 and pacer.wait(P.PACE) == P.PACE


def test_a_line_carries_what_the_network_relays_whole() -> None:
    link = FakeLink("WX!bulletin@bulletin.gateway")
    line = f":{link.source} PRIVMSG #wx :" + "x" * P.room(link, "#wx") + "\r\n"
    assert len(line) == 512
    # Before the network said how it shows the poster, the longest source is assumed.
    assert P.room(None, "#wx") == 512 - 2 - P.WORST_SOURCE - len(" PRIVMSG #wx :")


async def test_dropped_bulletins_are_logged_once_per_burst(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [0.0]
    feed = BulletinFeed(topic="wx/alerts", channel="#wx", nick="WX", min_interval=60.0)
    link = MqttLink(MqttConfig(bulletins=(feed,)), "N0GW", Events(lambda: 0.0), Refusing(""),
                    lambda: 0.0, lambda: clock[0])  # fmt: skip
    poster = P.Poster(Refusing(""), "WX", ["#wx"], "wx/alerts", lambda: clock[0])
    poster.link = FakeLink()
    link._posters["WX"] = poster
    caplog.set_level(logging.INFO, "gateway.events.mqtt")
    for i in range(50):  # one posted, then 49 too soon
        link._bulletin(feed, f"alert {i}".encode())
    clock[0] = 61.0
    link._bulletin(feed, b"the next")
    messages = [r.getMessage() for r in caplog.records]
    assert link.bulletins_dropped == 49
    assert len(messages) == 2, messages
    assert "dropped" in messages[0] and messages[1].startswith("49 bulletin(s) on wx/alerts")
    assert [text for _, text in poster._queue] == ["alert 0", "the next"]


async def test_only_a_nick_in_use_makes_a_poster_stand_by_and_drop() -> None:
    """Another gateway's poster holds the nick: stand by, drop what comes (it posts
    them). Refused otherwise (a ban, a throttle): keep what is queued, counted as ever."""
    for script, standing in (("r", True), ("b", False)):
        slept: list[float] = []

        async def sleep(seconds: float, slept: list[float] = slept) -> None:
            slept.append(seconds)

        backoff = B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: low)
        poster = P.Poster(Refusing(script), "WX", ["#wx"], "wx/#", lambda: 0.0, backoff, sleep)
        poster.post("#wx", "storm warning")
        await poster.run(lambda slept=slept: bool(slept))  # type: ignore[misc]
        assert poster.standing_by is standing
        assert len(poster._queue) == (0 if standing else 1)


class Scripted:
    """A connector that answers each try from a script: a FakeLink (lost at once, with
    the ERROR `reason` or none) for `l`, the nick in use for `r`, unreachable for `u`."""

    mode = "external"

    def __init__(self, script: str, reason: str | None = None) -> None:
        self.script = list(script)
        self.reason = reason
        self.links: list[FakeLink] = []

    async def connect(self, identity: Identity) -> FakeLink:
        kind = self.script.pop(0) if self.script else "r"
        if kind != "l":
            return await Refusing(kind).connect(identity)
        link = FakeLink("WX!bulletin@bulletin.gateway")
        if self.script:  # lost at once (the ERROR first, if any); the last link stays
            if self.reason is not None:
                link._lines.put_nowait(Message(command="ERROR", params=(self.reason,)))
            link._lines.put_nowait(None)
        self.links.append(link)
        return link


def ghost_poster(connector: Scripted, clock: list[float], waits: list[float]) -> P.Poster:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock[0] += seconds
        await asyncio.sleep(0)

    backoff = B.Backoff(P.REFUSED_MAX, uniform=lambda low, high: low)
    return P.Poster(connector, "WX", ["#wx"], "wx/#", lambda: clock[0], backoff, sleep)


@pytest.mark.parametrize("reason", [None, "Ping timeout: 60 seconds"])
async def test_a_poster_waits_for_its_own_ghost_and_posts_what_came_meanwhile(
    reason: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A link lost in silence (cut, or our ping timeout): the server may still hold the
    nick for the lost connection. The nick in use then is that ghost's: bulletins are
    kept (the overflow dropped and counted) and posted once the ghost is gone."""
    clock, waits = [1000.0], []
    connector = Scripted("lrrrrrrl", reason)
    poster = ghost_poster(connector, clock, waits)
    caplog.set_level(logging.INFO, "gateway.events.poster")

    accepted: list[bool] = []

    def stop() -> bool:
        if len(waits) == 3 and not accepted:  # three tries refused, after the loss
            accepted.extend(poster.post("#wx", f"storm {i}") for i in range(P.QUEUE + 2))
        return False

    task = asyncio.ensure_future(poster.run(stop))
    async with asyncio.timeout(5):
        while not (len(connector.links) == 2 and len(connector.links[1].sent) > P.BURST):
            assert not task.done(), task
            await asyncio.sleep(0)
    task.cancel()
    assert accepted.count(False) == 2 and poster.dropped == 2
    assert all(wait <= P.GHOST_RETRY for wait in waits[1:])  # asks again soon
    assert clock[0] - 1000.0 < P.GHOST_WAIT
    sent = connector.links[1].sent
    assert sent[0] == "JOIN #wx" and sent[1 : P.BURST + 1] == [
        f"PRIVMSG #wx :storm {i}" for i in range(P.BURST)
    ]
    refused = [r.getMessage() for r in caplog.records if "refused by IRC" in r.getMessage()]
    assert len(refused) == 1 and "its own lost connection" in refused[0]


async def test_past_the_ghost_wait_a_nick_in_use_is_another_gateways() -> None:
    clock, waits = [1000.0], []
    poster = ghost_poster(Scripted("l" + "r" * 60), clock, waits)
    await poster.run(lambda: poster.standing_by)
    assert P.GHOST_WAIT <= clock[0] - 1000.0 < P.GHOST_WAIT + P.REFUSED_MAX
    assert not poster._queue


async def test_a_poster_the_network_sent_away_stands_by_at_once() -> None:
    """An ERROR other than a ping timeout: the server saw the link go, so whoever holds
    the nick now is another client (another gateway's poster): stand by."""
    clock, waits = [1000.0], []
    poster = ghost_poster(Scripted("lr", "Closing link: Killed (sysop)"), clock, waits)
    poster.post("#wx", "storm")
    await poster.run(lambda: poster.standing_by)
    assert len(waits) == 1 and not poster._queue  # refused once: standing by
