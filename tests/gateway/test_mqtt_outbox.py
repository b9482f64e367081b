"""Events that outlive the gateway: kept in the store while the broker is away, and the
ends of sessions a crash cut short, published at the next start (real Mosquitto, real
gateway processes)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from gateway.config import Config, MqttConfig
from gateway.events import outbox
from gateway.events.bus import Event, Events
from gateway.events.mqtt import MqttLink, client_id
from gateway.store import Store
from tests.gateway.support import GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_mqtt_discovery import gateway_config, until
from tests.gateway.test_mqtt_e2e import Broker, broker, next_event, subscriber

__all__ = ["broker"]  # the fixture, shared
Spawn = Callable[[Path], GatewayProcess]


def test_the_store_keeps_the_newest_events_the_count_and_the_open_sessions(
    tmp_path: Path,
) -> None:
    config = Config(data_dir=tmp_path / "data")
    store = Store.open(config)
    try:
        ops = [outbox.Op(outbox.EVENT, i, "login", json.dumps({"n": i})) for i in range(1, 16)]
        ops += [outbox.Op(outbox.SENT, 15)]
        ops += [outbox.Op(outbox.OPEN, 20, "N0TEST-5", '{"nick": "old"}'),
                outbox.Op(outbox.OPEN, 21, "N0TEST-5", '{"nick": "new"}'),
                outbox.Op(outbox.CLOSE, kind="N0TEST-5")]  # fmt: skip
        outbox.write(store, ops, 10, {"dropped": 3, "logins_today": 2})
    finally:
        store.close()
    store = Store.open(config)  # as a restarted gateway does
    try:
        kept = outbox.load(store, 10)
        # 14 unsent, 10 kept: the oldest 4 dropped, counted with the 3 before.
        assert [i for i, _, _ in kept.events] == list(range(5, 15))
        assert kept.counts == {"dropped": 3, "logins_today": 2}
        # The session taken over ended first; the new one is still open.
        assert kept.sessions == [(21, '{"nick": "new"}')]
        assert kept.last_id == 21
        assert outbox.load(store, 5).counts["dropped"] == 3 + 5
    finally:
        store.close()


def test_the_client_id_is_fixed_by_the_prefix_and_the_name() -> None:
    assert client_id("club/gw", "N0GW-10") == "club-gw-N0GW-10"


def test_logins_today_start_again_at_local_midnight() -> None:
    now = [datetime(2026, 12, 7, 23, 59).timestamp()]
    bus = Events(lambda: now[0])
    link = MqttLink(MqttConfig(), "gw", bus, None, lambda: now[0])  # type: ignore[arg-type]
    for _ in range(2):
        link._on_event(Event("login", now[0], {"callsign": "N0TEST"}))
    assert link._today() == (2, "2026-12-07")
    assert link._till_midnight() == 60.0  # when the count is published again
    now[0] += 90
    assert link._today() == (0, "2026-12-08")
    link._on_event(Event("login", now[0], {"callsign": "N0TEST"}))
    assert link._today() == (1, "2026-12-08")


@pytest.mark.slow
async def test_events_of_a_gateway_stopped_while_the_broker_was_down_go_out_after_restart(
    tmp_path: Path, broker: Broker, spawn_gateway: Spawn
) -> None:
    config, bpq, _ = gateway_config(tmp_path, broker)
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    await gw.wait_log("MQTT: connected to")
    broker.stop()
    await gw.wait_log("MQTT: .*retrying")
    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    ham.send(b"/b\r")
    await ham.expect_close()
    await gw.wait_log("N0TEST-5 logged out")
    assert await gw.stop() == 0, "\n".join(gw.log[-30:])

    broker.start()
    sub = await subscriber(broker.port)
    again = spawn_gateway(config)
    await again.start()
    await again.wait_log(r"MQTT: \d+ event\(s\) kept from the last run")
    login = await next_event(sub, "test/N0GW-10/login")
    start = await next_event(sub, "test/N0GW-10/session_start")
    end = await next_event(sub, "test/N0GW-10/session_end")
    assert isinstance(login, dict) and isinstance(start, dict) and isinstance(end, dict)
    assert login["callsign"] == "N0TEST" and start["nick"] == end["nick"] == "N0TEST-5"
    assert login["at"] <= start["at"] <= end["at"]
    assert end["bytes_to_user"] > 0 and "crashed" not in end
    assert await again.stop() == 0
    await sub.__aexit__(None, None, None)


@pytest.mark.slow
async def test_a_session_a_crash_ended_is_published_as_ended_at_the_next_start(
    tmp_path: Path, broker: Broker, spawn_gateway: Spawn
) -> None:
    config, bpq, _ = gateway_config(tmp_path, broker)
    totp = enroll(config, "N0TEST")
    sub = await subscriber(broker.port)
    gw = spawn_gateway(config)
    await gw.start()
    ham = await radio_login(bpq, "N0TEST-5", totp.now())
    start = await next_event(sub, "test/N0GW-10/session_start")
    assert isinstance(start, dict) and start["nick"] == "N0TEST-5"
    gw.kill()  # kill -9: no goodbye, no session_end
    assert await gw.exited() == -9
    ham.close()

    again = spawn_gateway(config)
    await again.start()
    # The end, and no session counted (in either order: the count waits for no event).
    got = await until(sub, {"test/N0GW-10/session_end", "test/N0GW-10/sessions"}, active=0)
    end = got["test/N0GW-10/session_end"]
    assert (end["callsign"], end["nick"], end["via"]) == ("N0TEST-5", "N0TEST-5", start["via"])
    assert end["crashed"] is True and end["started_at"] == start["at"]
    assert end["bytes_to_user"] is None
    # Told once: a clean stop and start publish no second end.
    assert await again.stop() == 0
    third = spawn_gateway(config)
    await third.start()
    await third.wait_log("MQTT: connected to")
    assert not any("ended with the last run" in line for line in third.log)
    assert await third.stop() == 0
    await sub.__aexit__(None, None, None)


async def test_a_broker_that_refuses_is_named_in_the_retry_line() -> None:
    port = free_port()  # nothing listens there: the connection is refused
    said = asyncio.Event()
    lines: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "retrying" in record.getMessage():
                lines.append(record.getMessage())
                said.set()

    catch = Catch()
    logging.getLogger("gateway").addHandler(catch)
    bus = Events(time.time)
    link = MqttLink(MqttConfig(port=port), "gw", bus, None, time.time)  # type: ignore[arg-type]
    try:
        await link.start()
        async with asyncio.timeout(30):
            await said.wait()
    finally:
        await link.stop()
        logging.getLogger("gateway").removeHandler(catch)
    assert lines[0].startswith(f"MQTT: broker 127.0.0.1:{port}: ")
