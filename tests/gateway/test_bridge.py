"""The bridge adapter over an in-memory transport, a real ircd core and a real store."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway import chatstore
from gateway.bridge import Bridge, RadioSession
from gateway.bridge.session import STORE_FAILED
from gateway.callsign import Callsign
from gateway.config import BridgeConfig, Config
from gateway.irc.hooks import CallsignNicks
from gateway.irc.link import EmbeddedConnector, EmbeddedLink
from gateway.session import chat
from gateway.session.render import to_ascii
from gateway.session.transport import TransportEvents
from gateway.store import AsyncStore, Store
from ircd.config import IrcConfig
from ircd.inprocess import InProcessConnection
from ircd.notify import set_account
from ircd.server import Server
from ircd.throttle import ThrottleConfig
from tests.ircd.conftest import CoreClient

TIMEOUT = 10.0


class MemoryTransport:
    """A transport whose link is always ready; it records output and input pauses."""

    via = "memory"
    host_kind = "memory.test"
    chunk_bytes = 256
    bytes_in = 0
    bytes_out = 0

    def __init__(self) -> None:
        self.events: TransportEvents | None = None
        self.output = ""
        self.paused: list[bool] = []
        self.closed: str | None = None
        self.changed = asyncio.Event()
        self.code_prompts = 0
        self.familiar_claims = 0

    def bind(self, events: TransportEvents) -> None:
        self.events = events

    def write(self, text: str) -> None:
        self.output += to_ascii(text)
        self.changed.set()
        asyncio.get_running_loop().call_soon(self._ready)

    def _ready(self) -> None:
        if self.events is not None and self.closed is None:
            self.events.ready()

    def set_input_paused(self, paused: bool) -> None:
        if not self.paused or self.paused[-1] != paused:
            self.paused.append(paused)

    #: What the source key starts with ("memory": never a familiar source).
    way_in = "memory"

    def source_key(self, callsign: Callsign) -> str:
        return f"{self.way_in}:{callsign.base}"

    def at_code_prompt(self, callsign: Callsign) -> None:
        self.code_prompts += 1

    def familiar_claim(self) -> None:
        self.familiar_claims += 1
        self.changed.set()

    def logged_in(self) -> None:
        pass

    async def close(self, farewell: str | None = None) -> None:
        if farewell:
            self.output += farewell + "\n"
        self.closed = farewell or ""
        self.changed.set()
        if self.events is not None:
            self.events.gone()

    def type(self, *lines: str) -> None:
        assert self.events is not None
        for line in lines:
            self.events.line(line)

    async def expect(self, text: str) -> str:
        async with asyncio.timeout(TIMEOUT):
            while text not in self.output:
                self.changed.clear()
                await self.changed.wait()
        head, _, self.output = self.output.partition(text)
        return head + text


@contextlib.asynccontextmanager
async def running_bridge(
    tmp_path: Path,
    clock: Callable[[], float],
    third_party: str = "all",
    check_code: Callable[[Callsign, str, str], Awaitable[bool]] | None = None,
) -> AsyncIterator[Bridge]:
    """A bridge on a real ircd core and store; `clock` is its wall clock. Codes are
    checked against three good ones, each good once, unless `check_code` is given."""
    store = await AsyncStore.open(Config(data_dir=tmp_path / "data"))
    nicks = CallsignNicks()
    nicks.enrolled = frozenset({"N0TEST"})
    irc = dataclasses.replace(
        IrcConfig(), throttle=ThrottleConfig(new_users=1, period=3600, known_after=1, start_delay=0)
    )
    server = Server(irc, hooks=nicks)
    codes = {"123456", "234567", "345678"}

    async def check(callsign: Callsign, code: str, source: str) -> bool:
        return code in codes and not codes.discard(code)

    b = Bridge(
        BridgeConfig(third_party=third_party), EmbeddedConnector(server), store,
        check_code or check,
        clock=clock, monotonic=asyncio.get_running_loop().time, enrolled=lambda: nicks.enrolled,
        fold=server.fold,
    )  # fmt: skip
    nicks.absent = b.message_to_absent
    await b.start()
    try:
        yield b
    finally:
        await b.stop()
        server.stop()
        await store.close()


@pytest.fixture
async def bridge(tmp_path: Path) -> AsyncIterator[Bridge]:
    async with running_bridge(tmp_path, asyncio.get_running_loop().time) as b:
        yield b


async def start(bridge: Bridge, call: str = "N0TEST-5") -> tuple[MemoryTransport, asyncio.Task]:
    transport = MemoryTransport()
    settings = bridge.settings(transport, 60, 600, 3, 0)
    session = RadioSession(
        bridge, transport, settings, callsign_first=False, known=Callsign(*_split(call))
    )
    task = asyncio.create_task(session.run())
    await transport.expect("Code: ")
    assert transport.code_prompts == 1  # its startup slot is dropped last for a while
    return transport, task


def _split(call: str) -> tuple[str, int]:
    base, _, ssid = call.partition("-")
    return base, int(ssid or 0)


async def test_second_login_takes_over_and_ssids_coexist(bridge: Bridge) -> None:
    first, first_task = await start(bridge)
    first.type("123456")
    await first.expect("/? for help.\n")
    other, _ = await start(bridge, "N0TEST-7")
    other.type("234567")
    await other.expect("/? for help.\n")
    second, _ = await start(bridge)
    second.type("345678")
    await second.expect("/? for help.\n")
    await first.expect("Logged in again elsewhere; this session ends.\n")
    async with asyncio.timeout(TIMEOUT):
        await first_task
    assert bridge.connector.server.find_nick("N0TEST-5") is not None
    assert bridge.connector.server.find_nick("N0TEST-7") is not None
    assert {s.callsign for s in bridge.by_base["N0TEST"]} == {
        Callsign("N0TEST", 5), Callsign("N0TEST", 7),
    }  # fmt: skip


async def test_a_claim_through_a_familiar_source_is_told_to_the_transport(
    bridge: Bridge,
) -> None:
    """Issue 19: the session looks the claimed callsign's source up in the store; a
    familiar one outlasts strangers in the login slots (gateway.links.startups)."""
    home = "telnet:node1:call:N0TEST"
    now = asyncio.get_running_loop().time()  # the bridge's wall clock in these tests
    await bridge.store.call(Store.note_login, "N0TEST", home, now, True)
    cases = [
        ("telnet:node1:call", "N0TEST", 1),
        ("telnet:node2:call", "N0TEST", 0),  # another way in
        ("telnet:node1:call", "K1NEW", 0),  # another callsign
        ("memory", "N0TEST", 0),  # a source that is never familiar
    ]
    for way_in, call, told in cases:
        transport = MemoryTransport()
        transport.way_in = way_in
        settings = bridge.settings(transport, 60, 600, 3, 0)
        session = RadioSession(
            bridge, transport, settings, callsign_first=False, known=Callsign(call)
        )
        task = asyncio.create_task(session.run())
        await transport.expect("Code: ")
        # The session's lookup is asked once its task runs; the store answers in order:
        # once it has answered a later question, it has answered this one.
        for _ in range(3):
            await asyncio.sleep(0)
        await bridge.store.call(Store.is_familiar, "N0TEST", home, 0.0)
        await asyncio.sleep(0)
        assert transport.familiar_claims == told, (way_in, call)
        session.end("bye", "test")
        async with asyncio.timeout(TIMEOUT):
            await task


async def test_the_transport_hears_of_the_code_prompt_once(bridge: Bridge) -> None:
    radio, _ = await start(bridge)
    radio.type("000000")
    await radio.expect("Login failed.\nCode: ")  # asked again: not a new protection
    radio.type("123456")
    await radio.expect("/? for help.\n")
    assert radio.code_prompts == 1


async def test_owner_on_irc_keeps_the_nick_and_radio_takes_nick_underscore(
    bridge: Bridge,
) -> None:
    InProcessConnection.attach(
        bridge.connector.server, nick="N0TEST-5", user="ham", host="irc.client", account="N0TEST"
    )
    radio, _ = await start(bridge)
    radio.type("123456")
    await radio.expect("/? for help.\n")
    # Told at once which nick they have, and why (issue 20).
    assert await radio.expect("\n") == (
        "On IRC you are N0TEST-5_: N0TEST-5 is held by your own IRC login.\n"
    )
    radio.type("/i")
    assert "IRC nick: N0TEST-5_" in await radio.expect("\n")


async def test_typed_ahead_lines_pause_input_then_all_run(bridge: Bridge) -> None:
    radio, _ = await start(bridge)
    radio.type("123456")
    await radio.expect("/? for help.\n")
    radio.type("/j #test")
    # While /j waits for the server, 18 more lines arrive in one read (the bound is 16).
    radio.type(*[f"/msg N0TEST-7 {i}" for i in range(18)])
    assert radio.paused[-1] is True  # the transport was told to stop reading
    await radio.expect("Joined #test")
    async with asyncio.timeout(TIMEOUT):
        while radio.paused[-1]:
            await asyncio.sleep(0)
    # Every line ran: the absent N0TEST-7's mailbox holds all 18 (enrolled callsign).
    from gateway import chatstore

    async with asyncio.timeout(TIMEOUT):
        while await bridge.store.call(chatstore.count_unread, "N0TEST") < 18:
            await asyncio.sleep(0.01)


async def test_the_first_step_tells_the_transport_to_read(bridge: Bridge) -> None:
    # An AX.25 link is busy (RNR) when lines came before the session was attached: the
    # session's first step must say to read, though nothing told the link to stop.
    radio, _ = await start(bridge)
    assert radio.paused == [False]
    radio.type("123456")
    await radio.expect("/? for help.\n")
    assert radio.paused == [False]


async def test_a_store_failing_at_the_code_check_is_said_as_such(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(callsign: Callsign, code: str, source: str) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    loop = asyncio.get_running_loop()
    async with running_bridge(tmp_path, loop.time, check_code=failing) as bridge:
        radio, task = await start(bridge)
        radio.type("123456")
        async with asyncio.timeout(TIMEOUT):
            await task
        assert radio.closed == STORE_FAILED
        assert "Internal error" not in radio.output
    (warning,) = [r for r in caplog.records if "code not checked" in r.getMessage()]
    assert warning.exc_info is None and "disk is full" in warning.getMessage()
    assert "123456" not in caplog.text  # never the code


async def test_a_bug_in_the_core_ends_only_that_session(bridge: Bridge, monkeypatch) -> None:
    radio, task = await start(bridge)
    radio.type("123456")
    await radio.expect("/? for help.\n")
    calm, _ = await start(bridge, "N0TEST-7")

    def broken(self, text: str, now: float) -> list:
        raise RuntimeError("a bug")

    monkeypatch.setattr(chat.ChatSession, "line", broken)
    radio.type("anything")  # raises inside the core: logged, the session closes
    await radio.expect("Internal error; disconnecting.")
    async with asyncio.timeout(TIMEOUT):
        await task
    assert bridge.connector.server.find_nick("N0TEST-5") is None
    assert calm.closed is None


async def test_in_process_clients_pass_the_connection_throttle(bridge: Bridge) -> None:
    # new_users=1 per hour: a socket client after the first is throttled ...
    first = CoreClient(bridge.connector.server, "192.0.2.1").register("first")
    late = CoreClient(bridge.connector.server, "192.0.2.2")
    late.send("NICK late", "USER late 0 * :late")
    assert late.sink.closed and first.client.registered
    # ... but every radio user still gets in.
    for call, code in (("N0TEST-1", "123456"), ("N0TEST-2", "234567")):
        radio, _ = await start(bridge, call)
        radio.type(code)
        await radio.expect("/? for help.\n")


async def test_gateway_nicks_are_reserved_and_never_flood_limited(bridge: Bridge) -> None:
    from gateway.irc.hooks import CallsignNicks

    hooks = bridge.connector.server.hooks
    assert isinstance(hooks, CallsignNicks)
    hooks.gateway_nicks = frozenset({"gateway"})
    squatter = CoreClient(bridge.connector.server, "192.0.2.9")
    squatter.send("NICK Gateway", "USER s 0 * :s")
    assert "433" in [m.command for m in squatter.take()]
    service = bridge.service
    assert isinstance(service, EmbeddedLink) and service.conn.client is not None
    assert service.conn.client.flood_exempt  # IRC users cannot get it an Excess Flood
    # Nor may an operator KILL it (issue 22: it came back after 5 s, for nothing).
    op = CoreClient(bridge.connector.server, "192.0.2.1").register("op")
    bridge.connector.server.set_oper(op.client, "root")
    op.send("KILL Gateway :bye")
    assert [m.command for m in op.take()] == ["481"]
    assert bridge.connector.server.find_nick("Gateway") is service.conn.client


async def test_mail_answers_alike_whether_or_not_the_callsign_is_enrolled(bridge: Bridge) -> None:
    alice = CoreClient(bridge.connector.server, "192.0.2.1").register("alice")
    alice.take()
    alice.send("PRIVMSG N0TEST :are you there?", "PRIVMSG N0XYZ :are you there?")
    alice.send("PRIVMSG NOTACALL :hello")  # not a callsign: no such nick, as ever
    notices: list[str] = []
    async with asyncio.timeout(5):
        while len(notices) < 2:
            await asyncio.sleep(0.01)
            msgs = alice.take()
            assert "401" not in [m.command for m in msgs if "N0" in " ".join(m.params)]
            notices += [m.params[-1] for m in msgs if m.command == "NOTICE"]
    assert sorted(n.replace("N0XYZ", "N0TEST") for n in notices) == 2 * [
        "Message held if N0TEST uses this gateway (kept 30 days)."
    ]
    held = await bridge.store.call(chatstore.read_mail, "N0TEST", None)
    assert [m.text for m in held] == ["are you there?"]  # only an enrolled one is kept
    assert await bridge.store.call(chatstore.count_unread, "N0XYZ") == 0


async def test_own_settings_outlive_the_session(bridge: Bridge) -> None:
    radio, task = await start(bridge, "N0TEST-5")
    radio.type("123456")
    await radio.expect("/? for help.\n")
    radio.type("/stamp on")
    radio.type("/b")  # at once: the setting is kept all the same
    await asyncio.wait_for(task, TIMEOUT)
    async with asyncio.timeout(TIMEOUT):
        while bridge._writes:
            await asyncio.wait(set(bridge._writes))
    radio, task = await start(bridge, "N0TEST-7")
    radio.type("234567")
    await radio.expect("/? for help.\n")
    radio.type("/st")  # toggles what the last login kept
    await radio.expect("Stamp off.\n")


async def test_mail_for_a_callsign_on_the_air_says_so(bridge: Bridge) -> None:
    radio, _ = await start(bridge, "N0TEST-5")
    radio.type("123456")
    await radio.expect("/? for help.\n")
    alice = CoreClient(bridge.connector.server, "192.0.2.1").register("alice")
    alice.take()
    alice.send("PRIVMSG N0TEST :are you there?")  # the bare callsign: held, N0TEST-5 told
    await radio.expect("New message from alice (not logged in), /READ\n")
    notices = [m.params[-1] for m in alice.take() if m.command == "NOTICE"]
    assert notices == ["N0TEST is on the air: message held, N0TEST is told."]


async def test_sessions_fold_names_as_the_server_does(bridge: Bridge) -> None:
    """The chat core folds channel names by the server's configured casemapping."""
    settings = bridge.settings(MemoryTransport(), 60, 600, 3, 0)
    assert settings.fold is bridge.connector.server.fold


async def test_a_step_of_the_wall_clock_moves_no_session_timer(tmp_path: Path) -> None:
    """NTP stepping the clock a day ahead (a Raspberry Pi without a real-time clock)
    neither times out a login nor an idle session: their deadlines are monotonic."""
    wall = [1_000_000_000.0]
    async with running_bridge(tmp_path, lambda: wall[0]) as bridge:
        transport = MemoryTransport()
        settings = bridge.settings(transport, 60, 600, 3, 0.05)
        session = RadioSession(bridge, transport, settings, callsign_first=False,
                               known=Callsign("N0TEST", 5))  # fmt: skip
        task = asyncio.create_task(session.run())
        await transport.expect("Code: ")
        wall[0] += 86400
        transport.type("000000")  # wrong: a failure pause (a timer), then the prompt again
        await transport.expect("Login failed.")
        await transport.expect("Code: ")
        transport.type("123456")
        await transport.expect("/? for help.\n")
        assert transport.closed is None and session.idle < 60
        transport.type("/b")
        await asyncio.wait_for(task, TIMEOUT)


async def test_a_digit_callsign_is_found_as_typed(bridge: Bridge) -> None:
    """Issue 22: `2E0ABC` cannot be a nick (it is `_2E0ABC`), yet IRC users find it by the
    callsign they read, as radio users do."""
    ham, _ = await start(bridge, "2E0ABC")
    ham.type("123456")
    await ham.expect("/? for help.\n")
    alice = CoreClient(bridge.connector.server, "192.0.2.1").register("alice")
    alice.send("WHOIS 2E0ABC")
    replies = alice.take()
    assert [m.params[1] for m in replies if m.command == "311"] == ["_2E0ABC"]
    alice.send("PRIVMSG 2E0ABC :hello by callsign")
    assert alice.take() == []  # no 401
    await ham.expect("*alice* hello by callsign\n")
    # On the air the callsign was always enough.
    other, _ = await start(bridge, "N0TEST-5")
    other.type("234567")
    await other.expect("/? for help.\n")
    other.type("/m 2E0ABC hi")
    await ham.expect("*N0TEST-5* hi\n")


async def test_identified_users_topics_and_kick_reasons_reach_the_air(tmp_path: Path) -> None:
    """Under `third_party: identified` a topic or a kick reason goes on air when its
    sender is logged in: the embedded server tags every message a user sends with the
    account (account-tag), not only JOIN and PRIVMSG; before the login it stays off."""
    async with running_bridge(
        tmp_path, asyncio.get_running_loop().time, third_party="identified"
    ) as bridge:
        server = bridge.connector.server
        alice = CoreClient(server, "192.0.2.1").register("alice")
        alice.send("JOIN #test")
        ham, _ = await start(bridge, "N0TEST-5")
        ham.type("123456")
        await ham.expect("/? for help.\n")
        ham.type("/j #test")
        await ham.expect("#test")
        alice.send("TOPIC #test :not logged in yet")
        set_account(server, alice.client, "ALICE")
        alice.send("TOPIC #test :net at 8", "KICK #test N0TEST-5 :off topic")
        await ham.expect("#test topic by alice: net at 8\n")
        await ham.expect("Kicked from #test by alice: off topic\n")
        assert "not logged in yet" not in ham.output


async def test_a_topic_an_identified_user_set_before_the_ham_joined_shows(
    tmp_path: Path,
) -> None:
    """Issue 18: the embedded server remembers the account of whoever set the topic, so a
    topic set by a logged-in user under any nick shows under `identified`."""
    async with running_bridge(
        tmp_path, asyncio.get_running_loop().time, third_party="identified"
    ) as bridge:
        server = bridge.connector.server
        alice = CoreClient(server, "192.0.2.1").register("alice")
        set_account(server, alice.client, "ALICE")
        alice.send("JOIN #net", "TOPIC #net :net at 8", "JOIN #anon")
        set_account(server, alice.client, None)
        alice.send("TOPIC #anon :set while not logged in")
        ham, _ = await start(bridge, "N0TEST-5")
        ham.type("123456")
        await ham.expect("/? for help.\n")
        ham.type("/j #net")
        await ham.expect("Topic: net at 8\n")
        ham.type("/t")
        await ham.expect("Topic of #net, set by alice: net at 8\n")
        ham.type("/j #anon", "/t")
        await ham.expect("This topic is not relayed on air here (third-party rule).\n")
        assert "set while not logged in" not in ham.output


async def test_writes_a_full_disk_refuses_are_paced_warning_lines(
    bridge: Bridge, caplog: pytest.LogCaptureFixture
) -> None:
    # Each connection naming an enrolled callsign writes its Code: prompt twice: on a
    # full disk that was two tracebacks per connection (exhaustion audit F3).
    async def full() -> None:
        raise sqlite3.OperationalError("database or disk is full")

    for _ in range(50):
        bridge._write_soon(full())
    async with asyncio.timeout(TIMEOUT):
        while bridge._writes:  # each leaves it when its failure is logged
            await asyncio.sleep(0)
    kept = [r for r in caplog.records if "not kept in the store" in r.getMessage()]
    assert len(kept) == 20 and all(r.exc_info is None for r in kept)  # LogPace's burst
    assert "disk is full" in kept[0].getMessage()


async def test_a_setting_the_locked_store_refused_is_one_warning_line(
    bridge: Bridge, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    holder = sqlite3.connect(tmp_path / "data" / "gateway.db", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")  # a sysop's open sqlite3 shell, mid-transaction
        bridge.save_pref("N0TEST", "stamp", 1)
        await asyncio.gather(*bridge._writes, return_exceptions=True)
    finally:
        holder.close()
    kept = [r for r in caplog.records if "not kept in the store" in r.getMessage()]
    assert [(r.levelname, r.exc_info) for r in kept] == [("WARNING", None)]
    assert "the store is busy: locked by another process" in kept[0].getMessage()


async def test_bookkeeping_writes_wait_briefly_for_a_lock(bridge: Bridge) -> None:
    # A Code: prompt's or a setting's write waits IMPATIENT_MS for a lock someone else
    # holds, not 10 s: the code checks queued behind it on the store's one thread are
    # not held up (exhaustion audit F6). The usual wait is back after it.
    from gateway.store import BUSY_TIMEOUT_MS, IMPATIENT_MS

    def waits(store: Store) -> int:
        return int(store._conn.execute("PRAGMA busy_timeout").fetchone()[0])

    assert await bridge.store.call_impatient(waits) == IMPATIENT_MS
    assert await bridge.store.call(waits) == BUSY_TIMEOUT_MS
