"""Mail through the service nick on a network with `service_nicks` (gateway/bridge/
service.py, relaystore.py): what is kept for passing on is bounded per host, per
callsign and in all, and when a bound is reached the sender reads the same answer
whether or not the callsign is enrolled here. The attack of the review: fill the table
from many hosts while one listed gateway is away, then ask for an enrolled and a made-up
callsign. The real store, mailbox, trust and service; only the socket is a recorder."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from gateway import chatstore, relaystore
from gateway.bridge import forward, noticequeue, relay
from gateway.bridge import service as service_mod
from gateway.bridge.mailbox import Mailbox
from gateway.bridge.service import ServiceNick
from gateway.bridge.trust import SERVICE_USER, NetworkPeers, Trust
from gateway.config import BridgeConfig, Config, ExternalIrc
from gateway.events.bus import Events
from gateway.irc.external import radio_ip
from gateway.store import AsyncStore
from ircd.casemap import folder
from ircd.protocol import Message, parse_line

FOLD = folder("rfc1459")
ENROLLED = "N0AAA"
KEY = "a-long-club-secret"
W2 = f"W2GWmail!{SERVICE_USER}@{radio_ip(SERVICE_USER, KEY)}"  # B's service, verified


@dataclass
class Link:
    """The service's link: what it sends is recorded."""

    nick: str = "N0GWmail"
    source: str | None = None
    closed: bool = False
    sent: list[str] = field(default_factory=list)
    #: What the network says to the service, read by `_serve` (then the link is gone).
    incoming: list[str] = field(default_factory=list)

    def send(self, line: str) -> None:
        self.sent.append(line)

    async def read(self) -> Message | None:
        return parse_line(self.incoming.pop(0).encode()) if self.incoming else None

    def quit(self, reason: str) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        return None


class External:
    mode = "external"
    fold = FOLD


@dataclass
class Rig:
    service: ServiceNick
    mailbox: Mailbox
    link: Link
    clock: list[float]

    async def ask(self, host: str, call: str, nick: str = "alice") -> str:
        """`nick` at `host` leaves mail for `call`: the notice they read."""
        before = len(self.link.sent)
        self.clock[0] += 2.0  # within the service's notice bucket
        line = f":{nick}!a@{host} PRIVMSG N0GWmail :{call} hello"
        self.service._to_service(parse_line(line.encode()))
        await asyncio.gather(*self.service.tasks(), *self.mailbox.pending())
        await asyncio.sleep(0)  # notices go after the current command
        told = self.link.sent[before:]
        assert len(told) == 1, told
        return told[0].partition(" :")[2]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = await AsyncStore.open(Config(data_dir=tmp_path / "data"))
    network = ExternalIrc("irc.example", radio_key=KEY, service_nicks=("N0GWmail", "W2GWmail"))
    config = BridgeConfig(third_party="all", service_nick="N0GWmail")
    clock = [1000.0]
    trust = Trust(lambda: "all", tuple, NetworkPeers(network, FOLD))
    holder: list[ServiceNick] = []
    mailbox = Mailbox(
        lambda: config, store, clock=lambda: 1.8e9 + clock[0], events=Events(lambda: 1.8e9),
        enrolled=lambda: frozenset({ENROLLED}), notice=lambda n, t: holder[0].notice(n, t),
        recipients=lambda base: [], trust=trust, network_wide=True,
    )  # fmt: skip
    service = ServiceNick(
        lambda: config, External(), store, clock=lambda: 1.8e9 + clock[0],
        monotonic=lambda: clock[0], fold=FOLD, trust=trust, mailbox=mailbox,
        nick_on_air=lambda call: None, enrolled=lambda: frozenset({ENROLLED}),
        peers=network.service_nicks,
    )  # fmt: skip
    holder.append(service)
    link = Link()
    service.link = link  # type: ignore[assignment]
    yield Rig(service, mailbox, link, clock)
    await store.close()


def same(a: str, b: str, call_a: str, call_b: str) -> bool:
    return a.replace(call_a, "CALL") == b.replace(call_b, "CALL")


async def test_a_full_table_answers_the_same_for_an_enrolled_callsign(rig: Rig) -> None:
    # W2 is away: nothing kept is ever answered. 200 hosts, 5 requests each (their budget).
    for n in range(relaystore.OUT_MAX // service_mod.SENDER_BURST):
        for k in range(service_mod.SENDER_BURST):
            said = await rig.ask(f"2001:db8::{n:x}", f"N{k}Z{n % 26 + 10:X}Z")
            assert said.startswith("Message held if N"), said
    enrolled = await rig.ask("2001:db8:1::1", ENROLLED)
    made_up = await rig.ask("2001:db8:1::2", "N9XYZ")
    assert same(enrolled, made_up, ENROLLED, "N9XYZ"), (enrolled, made_up)
    assert enrolled == f"Not held for {ENROLLED}: the gateway is busy, try again."


async def test_one_callsign_takes_no_more_than_its_mailbox(rig: Rig) -> None:
    limit = BridgeConfig().mailbox_max_messages
    answers: dict[str, list[str]] = {}
    for call in (ENROLLED, "N9XYZ"):
        for n in range(limit + 1):
            host = f"2001:db8:{call[-1].lower()}::{n // service_mod.SENDER_BURST:x}"
            # A nick each: one sender holds at most its share (the next test).
            answers.setdefault(call, []).append(await rig.ask(host, call, f"u{n}"))
    for a, b in zip(answers[ENROLLED], answers["N9XYZ"], strict=True):
        assert same(a, b, ENROLLED, "N9XYZ"), (a, b)
    assert answers["N9XYZ"][-1] == f"N9XYZ's mailbox is full ({limit}); message not held."


async def test_one_sender_takes_no_more_than_its_share_either_way(rig: Rig) -> None:
    """A sender's share of a mailbox (chatstore.sender_share) is kept for mail passed on
    too, with the same words: the answer does not tell where the callsign is enrolled."""
    share = chatstore.sender_share(BridgeConfig().mailbox_max_messages)
    answers: dict[str, list[str]] = {}
    for call in (ENROLLED, "N9XYZ"):
        for n in range(share + 1):
            host = f"2001:db8:{call[-1].lower()}::{n // service_mod.SENDER_BURST:x}"
            answers.setdefault(call, []).append(await rig.ask(host, call, "Mallory"))
    for a, b in zip(answers[ENROLLED], answers["N9XYZ"], strict=True):
        assert same(a, b, ENROLLED, "N9XYZ"), (a, b)
    assert answers["N9XYZ"][-1] == (
        f"N9XYZ's mailbox holds {share} of yours, your share; message not held."
    )


async def test_each_host_leaves_a_bounded_amount_of_mail(rig: Rig) -> None:
    host, said = "198.51.100.7", []
    for n in range(service_mod.MAIL_BURST + 1):
        rig.clock[0] += service_mod.SENDER_EVERY - 1  # within the request budget
        said.append(await rig.ask(host, f"N{n % 10}ZZZ" if n % 2 else ENROLLED))
    assert "held" in said[-2]
    assert said[-1] == f"Not held for {ENROLLED}: too much mail from your address lately;" \
        " try again later."  # fmt: skip
    rig.clock[0] += service_mod.SENDER_EVERY - 1
    assert same(await rig.ask(host, "N9XYZ"), said[-1], "N9XYZ", ENROLLED)


async def test_passed_mail_that_expires_is_told_by_the_gateway_that_passed_it(rig: Rig) -> None:
    """Here (as B): mail W2's gateway passed on expires unread; alice is not told from
    here (our nick would say which gateway serves N0AAA): W2's gateway is."""
    passed = relay.Passed(ENROLLED, "alice!a@198.51.100.7", "", "PRIVMSG", "hi", "ab" * 8)
    rig.service._to_service(parse_line(f":{W2} PRIVMSG N0GWmail :{passed.payload()}".encode()))
    await asyncio.gather(*rig.mailbox.pending())
    rig.clock[0] += 31 * 86400
    await rig.mailbox.prune()
    await asyncio.sleep(0)
    fwd = rig.service._forward
    fwd.link_up(rig.clock[0])  # (answers wait for the check that comes with it)
    rig.service._carry_out(fwd.tick(rig.clock[0], 1.8e9 + rig.clock[0], 30 * 86400))
    assert rig.link.sent[-1] == "USERHOST W2GWmail"
    shown = f"W2GWmail=+{W2.partition('!')[2]}"
    rig.service._carry_out(fwd.userhost("N0GWmail", shown, rig.clock[0]))
    assert [line for line in rig.link.sent if "alice" in line] == [
        "NOTICE W2GWmail :\x01GWMAIL-EXPIRED alice N0AAA\x01"
    ]
    # There (as A): word of it from a verified service nick is told to the sender.
    word = f":{W2} NOTICE N0GWmail :{relay.Expired('bob', 'N0BBB').payload()}"
    rig.service._to_service(parse_line(word.encode()))
    impostor = f":W2GWmail!x@198.51.100.9 NOTICE N0GWmail :{relay.Expired('eve', 'N0B').payload()}"
    rig.service._to_service(parse_line(impostor.encode()))
    await asyncio.sleep(0)
    assert rig.link.sent[-1] == "NOTICE bob :Your message to N0BBB expired unread."
    assert not [line for line in rig.link.sent if "eve" in line]


async def test_word_of_expiries_for_other_gateways_is_bounded(
    rig: Rig, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Mail W2's gateway passed on expires here: word for each goes back to W2 in order,
    up to forward.WORDS_MAX answers waiting; the rest are counted in the log."""
    for n in range(3):
        passed = relay.Passed(ENROLLED, f"s{n}!a@198.51.100.7", "", "PRIVMSG", "hi", f"{n:016x}")
        line = f":{W2} PRIVMSG N0GWmail :{passed.payload()}"
        rig.service._to_service(parse_line(line.encode()))
        await asyncio.gather(*rig.mailbox.pending())
    monkeypatch.setattr(forward, "WORDS_MAX", 5)  # 3 acks (held) wait: room for 2 words
    rig.clock[0] += 31 * 86400
    await rig.mailbox.prune()
    waiting = [line for _, line in rig.service._forward._acks]
    assert waiting[3:] == [f"NOTICE W2GWmail :{relay.Expired(f's{n}', ENROLLED).payload()}"
                           for n in range(2)]  # fmt: skip
    said = [r.getMessage() for r in caplog.records if "not told" in r.getMessage()]
    assert said == ["1 senders of expired mail passed on not told: too many waiting"]


async def test_expired_mail_is_told_one_sender_at_a_time(rig: Rig) -> None:
    """More messages expire at once than the service's bucket holds: the first senders
    are told at once, the others one per token as it comes (the notice queue), in
    order; none is dropped for the network's flood limit."""
    burst = service_mod.NOTICE_BURST - service_mod.RELAY_BURST
    senders = [f"sender{n}" for n in range(burst + 6)]
    for n, nick in enumerate(senders):
        assert "held" in await rig.ask(f"198.51.100.{n}", ENROLLED, nick)
    rig.clock[0] += 31 * 86400
    before = len(rig.link.sent)
    await rig.mailbox.prune()
    await asyncio.sleep(0)  # notices go after the current command
    told = [f"NOTICE {nick} :Your message to {ENROLLED} expired unread." for nick in senders]
    assert rig.link.sent[before:] == told[:burst]
    assert rig.service.notices_waiting == len(senders) - burst
    timer = rig.service._notice_timer
    assert timer is not None  # set for the next token
    every = 1 / (service_mod.NOTICE_RATE - service_mod.RELAY_RATE)
    assert 0 < timer.when() - asyncio.get_running_loop().time() <= every
    while rig.service.notices_waiting:  # as the timer does, at each token's time
        rig.clock[0] += every
        sent = len(rig.link.sent)
        rig.service._send_due()
        assert len(rig.link.sent) == sent + 1
    assert rig.link.sent[before:] == told
    assert rig.service.notices_dropped == 0 and rig.service._notice_timer is None


async def test_hello_to_the_peers_waits_for_the_notice_bucket(rig: Rig) -> None:
    """The service comes on IRC and polls its peers; the bucket is spent meanwhile on
    answers to people. The HELLO to the peer found at the poll's reply is not sent over
    the network's flood limit: it waits in the notice queue for the next token."""
    service, now = rig.service, rig.clock[0]
    service._forward.link_up(now)  # as `_connect` does
    service._carry_out(service._forward.tick(now, 1.8e9 + now, 30 * 86400.0))
    assert rig.link.sent == ["USERHOST W2GWmail"]  # a token of the bucket
    burst = service_mod.NOTICE_BURST - service_mod.RELAY_BURST
    for n in range(burst - 1):  # the rest of the bucket
        service._send_notice(f"nick{n}", "an answer")
    assert service.notices_waiting == 0
    rig.link.incoming.append(f":irc.example 302 N0GWmail :W2GWmail=+{W2.partition('!')[2]}")
    await service._serve(rig.link)  # type: ignore[arg-type]
    await asyncio.sleep(0)  # notices go after the current command
    hello = f"NOTICE W2GWmail :{relay.hello()}"
    assert hello not in rig.link.sent and service.notices_waiting == 1
    rig.clock[0] += 1 / (service_mod.NOTICE_RATE - service_mod.RELAY_RATE)
    service._send_due()  # as the timer does, at the token's time
    assert rig.link.sent[-1] == hello and service.notices_waiting == 0


async def test_the_notice_timer_sends_what_waits_and_is_cancelled_at_stop(rig: Rig) -> None:
    burst = service_mod.NOTICE_BURST - service_mod.RELAY_BURST
    for n in range(burst + 1):
        rig.service._send_notice(f"nick{n}", "hello")
    assert len(rig.link.sent) == burst and rig.service.notices_waiting == 1
    arrived = asyncio.Event()
    rig.link.send = lambda line: (rig.link.sent.append(line), arrived.set())  # type: ignore[method-assign]
    rig.clock[0] += 10.0  # the token is due: the timer, set for its time, sends it
    async with asyncio.timeout(30):
        await arrived.wait()
    assert rig.link.sent[-1] == f"NOTICE nick{burst} :hello"
    assert rig.service._notice_timer is None  # nothing waits: no timer
    for n in range(burst + 1):
        rig.service._send_notice(f"later{n}", "hello")
    timer, waiting = rig.service._notice_timer, rig.service.notices_waiting
    sent = list(rig.link.sent)
    assert timer is not None and waiting > 0
    await rig.service.stop()
    assert timer.cancelled() and rig.service.notices_waiting == waiting
    rig.clock[0] += 60.0
    rig.service._send_notice("after", "hello")  # stopped: nothing sent, no timer set
    assert rig.service._notice_timer is None and rig.link.sent == sent


async def test_answers_over_the_queue_are_dropped_and_logged_once_per_burst(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    burst = service_mod.NOTICE_BURST - service_mod.RELAY_BURST
    over = 40
    for n in range(burst + noticequeue.QUEUE_MAX + over):  # at one instant
        rig.service._send_notice(f"nick{n}", "hello")
    assert len(rig.link.sent) == burst
    assert rig.service.notices_waiting == noticequeue.QUEUE_MAX
    assert rig.service.notices_dropped == over
    while rig.service.notices_waiting:
        rig.clock[0] += 60.0
        rig.service._send_due()
    assert len(rig.link.sent) == burst + noticequeue.QUEUE_MAX
    assert rig.link.sent[-1] == f"NOTICE nick{burst + noticequeue.QUEUE_MAX - 1} :hello"
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped == [
        "service notices dropped: too many waiting (flood limit)",
        f"service notices dropped: {over} in that burst, {over} in all",
    ]
