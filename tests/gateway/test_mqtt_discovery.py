"""Home Assistant discovery with a real Mosquitto: the retained device and entities."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from gateway.config import BULLETIN_MAX, ConfigError, load_config
from gateway.events.hadiscovery import PACKAGE, discovery, object_id, version
from tests.gateway.support import GatewayProcess, enroll, free_port
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_mqtt_e2e import TIMEOUT, Broker, broker, subscriber

__all__ = ["broker"]  # the fixture, shared
Spawn = Callable[[Path], GatewayProcess]


def test_discovery_messages_are_valid_and_name_the_event_topics() -> None:
    msgs = dict(discovery("pgw/N0GW-10", "N0GW-10", "ha"))
    online = json.loads(msgs["ha/binary_sensor/packetgw_n0gw-10_online/config"])
    assert online["state_topic"] == "pgw/N0GW-10/status"
    assert (online["payload_on"], online["payload_off"]) == ("online", "offline")
    login = json.loads(msgs["ha/sensor/packetgw_n0gw-10_login/config"])
    assert login["state_topic"] == "pgw/N0GW-10/login"
    assert login["value_template"] == "{{ value_json.callsign }}"
    assert login["device"] == online["device"]  # one device, several entities
    ids = [json.loads(body)["unique_id"] for body in msgs.values()]
    assert len(set(ids)) == len(ids) == 9
    assert object_id("a/b c", "x") == "packetgw_a_b_c_x"
    # A count, named as one; every entity says which software (and version) made it.
    active = json.loads(msgs["ha/sensor/packetgw_n0gw-10_sessions/config"])
    assert active["name"] == "Active sessions" and active["state_class"] == "measurement"
    assert active["value_template"] == "{{ value_json.active }}"
    assert {json.loads(body)["origin"]["name"] for body in msgs.values()} == {PACKAGE}
    assert login["origin"]["sw_version"] == version() != "unknown"
    held = json.loads(msgs["ha/sensor/packetgw_n0gw-10_mail_stored/config"])
    assert held["name"] == "Last message held for"  # a callsign, not a count


def test_no_transmitter_or_tnc_entities_without_radio_ports() -> None:
    topics = {topic for topic, _ in discovery("pgw/N0GW-10", "N0GW-10", "ha", radio=False)}
    assert len(topics) == 7
    assert not any("transmitter" in t or "tnc" in t for t in topics)
    assert "ha/sensor/packetgw_n0gw-10_login/config" in topics


def test_config_turns_discovery_on(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("mqtt: {home_assistant: true, discovery_prefix: ha/test}\n")
    mqtt = load_config(path).mqtt
    assert mqtt is not None and mqtt.home_assistant and mqtt.discovery_prefix == "ha/test"
    path.write_text("mqtt: {discovery_prefix: 'a b'}\n")
    with pytest.raises(ConfigError, match="discovery_prefix"):
        load_config(path)


async def until(sub: aiomqtt.Client, topics: set[str], active: int | None = None) -> dict:
    """The next message on each of `topics` (and, with `active`, the sessions count at it)."""
    got: dict[str, dict] = {}
    async with asyncio.timeout(TIMEOUT):
        async for message in sub.messages:
            topic = str(message.topic)
            if topic not in topics:
                continue
            body = json.loads(bytes(message.payload))  # type: ignore[arg-type]
            if topic.endswith("/sessions") and active is not None and body["active"] != active:
                continue
            got[topic] = body
            if got.keys() == topics:
                return got
    raise AssertionError("unreachable")


@pytest.mark.slow
async def test_home_assistant_sees_the_gateway_and_its_logins(
    tmp_path: Path, broker: Broker, spawn_gateway: Spawn
) -> None:
    bpq, irc = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\ncallsign: N0GW-10\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc}}}]\n"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        " bytes_per_second: 1000000, packet_bytes: 4096}\n"
        f"mqtt: {{port: {broker.port}, prefix: test, home_assistant: true}}\n"
    )
    totp = enroll(config, "N0TEST")
    sub = await subscriber(broker.port)
    await sub.subscribe("homeassistant/#", qos=1)
    gw = spawn_gateway(config)
    await gw.start()
    seen: dict[str, dict] = {}
    async with asyncio.timeout(TIMEOUT):
        async for message in sub.messages:
            if message.topic.matches("homeassistant/#"):
                seen[str(message.topic)] = json.loads(bytes(message.payload))  # type: ignore[arg-type]
            if len(seen) == 7:  # no radio ports: no transmitter nor TNC
                break
    login = seen["homeassistant/sensor/packetgw_n0gw-10_login/config"]
    assert login["availability_topic"] == "test/N0GW-10/status"

    ham = await radio_login(bpq, "N0TEST", totp.now())
    states = await until(sub, {login["state_topic"], "test/N0GW-10/sessions"}, active=1)
    assert states[login["state_topic"]]["callsign"] == "N0TEST"
    # Home Assistant restarts: its birth message brings the discovery and the states again.
    await sub.publish("homeassistant/status", b"online")
    again = await until(sub, {login["state_topic"], *seen})
    assert again[login["state_topic"]]["callsign"] == "N0TEST"
    ham.send(b"/b\r")
    await ham.expect_close()
    await until(sub, {"test/N0GW-10/sessions"}, active=0)
    await sub.__aexit__(None, None, None)

    # Retained: a Home Assistant that starts later still finds the device.
    late = aiomqtt.Client("127.0.0.1", broker.port)
    async with late:
        await late.subscribe("homeassistant/binary_sensor/#")
        async with asyncio.timeout(TIMEOUT):
            async for message in late.messages:
                assert message.retain
                assert json.loads(bytes(message.payload))["name"] == "Online"  # type: ignore[arg-type]
                break
    assert await gw.stop() == 0


def test_check_config_refuses_what_one_line_or_one_name_cannot_carry(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    external = "irc: {mode: external, external: {host: irc.test}}\n"
    feed = "bulletins: [{topic: wx, channel: wx, nick: WX, max_length: %d}]"
    path.write_text(f"callsign: N0GW-10\nmqtt: {{{feed % 2000}}}\n")
    with pytest.raises(ConfigError, match="max_length"):
        load_config(path)
    path.write_text(f"callsign: N0GW-10\nmqtt: {{{feed % BULLETIN_MAX}}}\n")
    assert load_config(path).mqtt is not None
    # Two gateways on one network, neither with a callsign: both would be irc.localhost.
    path.write_text(external + "mqtt: {prefix: club}\n")
    with pytest.raises(ConfigError, match=r"mqtt\.name"):
        load_config(path)
    path.write_text(external + "mqtt: {prefix: club, name: hilltop}\n")
    mqtt = load_config(path).mqtt
    assert mqtt is not None and mqtt.name == "hilltop"
    path.write_text(external + "callsign: N0GW-10\nmqtt: {prefix: club}\n")
    assert load_config(path).mqtt is not None
    path.write_text("mqtt: {prefix: club}\n")  # one embedded server: one gateway
    assert load_config(path).mqtt is not None
    path.write_text(external + "mqtt: {name: 'a/b'}\n")
    with pytest.raises(ConfigError, match="name"):
        load_config(path)
