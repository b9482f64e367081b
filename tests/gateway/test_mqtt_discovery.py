"""Home Assistant discovery with a real Mosquitto: the retained device and entities."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from pathlib import Path

import aiomqtt
import pytest

from gateway.config import BULLETIN_MAX, ConfigError, load_config
from gateway.events.hadiscovery import PACKAGE, discovery, object_id, version
from gateway.session.login import REFUSED
from tests.gateway.support import Client, GatewayProcess, enroll, free_port, run_cli
from tests.gateway.test_bridge_e2e import radio_login
from tests.gateway.test_mqtt_e2e import TIMEOUT, Broker, broker
from tests.ircd.conftest import LiveClient

__all__ = ["broker"]  # the fixture, shared
Spawn = Callable[[Path], GatewayProcess]


def test_discovery_messages_are_valid_and_name_the_event_topics() -> None:
    msgs = dict(discovery("pgw/N0GW-10", "N0GW-10", "ha"))
    online = json.loads(msgs["ha/binary_sensor/packetgw_n0gw-10_online/config"])
    assert online["state_topic"] == "pgw/N0GW-10/status"
    assert (online["payload_on"], online["payload_off"]) == ("online", "offline")
    login = json.loads(msgs["ha/sensor/packetgw_n0gw-10_login/config"])
    assert login["state_topic"] == "pgw/N0GW-10/state/login"  # the latest, retained
    assert login["value_template"] == "{{ value_json.callsign }}"
    assert login["device"] == online["device"]  # one device, several entities
    ids = [json.loads(body)["unique_id"] for body in msgs.values()]
    assert len(set(ids)) == len(ids) == 11
    assert object_id("a/b c", "x") == "packetgw_a_b_c_x"
    # A count, named as one; every entity says which software (and version) made it.
    active = json.loads(msgs["ha/sensor/packetgw_n0gw-10_sessions/config"])
    assert active["name"] == "Active sessions" and active["state_class"] == "measurement"
    assert active["value_template"] == "{{ value_json.active }}"
    assert active["state_topic"] == "pgw/N0GW-10/sessions"
    mail = json.loads(msgs["ha/sensor/packetgw_n0gw-10_mail/config"])
    assert (mail["name"], mail["value_template"]) == ("Mail waiting", "{{ value_json.waiting }}")
    logins = json.loads(msgs["ha/sensor/packetgw_n0gw-10_logins/config"])
    assert (logins["name"], logins["state_class"]) == ("Logins today", "total_increasing")
    assert {json.loads(body)["origin"]["name"] for body in msgs.values()} == {PACKAGE}
    assert login["origin"]["sw_version"] == version() != "unknown"
    held = json.loads(msgs["ha/sensor/packetgw_n0gw-10_mail_stored/config"])
    assert held["name"] == "Last message held for"  # a callsign, not a count


def test_no_transmitter_or_tnc_entities_without_radio_ports() -> None:
    topics = {topic for topic, _ in discovery("pgw/N0GW-10", "N0GW-10", "ha", radio=False)}
    assert len(topics) == 9
    assert not any("transmitter" in t or "tnc" in t for t in topics)
    assert "ha/sensor/packetgw_n0gw-10_login/config" in topics


def test_config_turns_discovery_on(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text("mqtt: {name: gw, home_assistant: true, discovery_prefix: ha/test}\n")
    mqtt = load_config(path).mqtt
    assert mqtt is not None and mqtt.home_assistant and mqtt.discovery_prefix == "ha/test"
    path.write_text("mqtt: {name: gw, discovery_prefix: 'a b'}\n")
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


def gateway_config(
    tmp_path: Path, broker: Broker, mqtt: str = "", extra: str = ""
) -> tuple[Path, int, int]:
    """A gateway N0GW-10 with a BPQ listener, publishing under `test/` (and `mqtt`):
    its config file, BPQ port and IRC port."""
    bpq, irc = free_port(), free_port()
    config = tmp_path / "gateway.yaml"
    config.write_text(
        f"data_dir: {tmp_path / 'data'}\ncallsign: N0GW-10\nauth: {{failure_pause: 0}}\n"
        f"irc:\n  listen: [{{host: 127.0.0.1, port: {irc}}}]\n"
        "telnet:\n  listen:\n"
        f"    - {{name: node1, host: 127.0.0.1, port: {bpq}, bpq: true,"
        " bytes_per_second: 1000000, packet_bytes: 4096}\n"
        f"mqtt: {{port: {broker.port}, prefix: test, {mqtt}}}\n{extra}"
    )
    return config, bpq, irc


def shown(config: dict, payload: bytes) -> object:
    """What Home Assistant shows for an entity given its state topic's payload."""
    match = re.fullmatch(r"\{\{ value_json\.(\w+) \}\}", config.get("value_template", ""))
    if match:
        return json.loads(payload)[match.group(1)]
    return {config["payload_on"]: "on", config["payload_off"]: "off"}[payload.decode()]


async def home_assistant_shows(port: int, expected: dict[str, object]) -> None:
    """Start a Home Assistant-like subscriber (discovery, its birth message, then each
    entity's state topic), wait until it shows `expected` (entity name -> state), drop it."""
    states: dict[str, object] = {}
    async with aiomqtt.Client("127.0.0.1", port) as ha:
        await ha.subscribe("homeassistant/#", qos=1)
        await ha.publish("homeassistant/status", b"online", qos=1)
        by_topic: dict[str, dict] = {}
        try:
            async with asyncio.timeout(TIMEOUT):
                async for message in ha.messages:
                    topic, payload = str(message.topic), bytes(message.payload)  # type: ignore[arg-type]
                    if topic.startswith("homeassistant/") and topic.endswith("/config"):
                        config = json.loads(payload)
                        if config["state_topic"] not in by_topic:
                            by_topic[config["state_topic"]] = config
                            await ha.subscribe(config["state_topic"], qos=1)
                    elif topic in by_topic:
                        states[by_topic[topic]["name"]] = shown(by_topic[topic], payload)
                    if states == expected:
                        return
        except TimeoutError:
            raise AssertionError(f"Home Assistant shows {states}, not {expected}") from None


@pytest.mark.slow
async def test_home_assistant_finds_every_state_again_after_its_restart_and_the_gateways(
    tmp_path: Path, broker: Broker, spawn_gateway: Spawn
) -> None:
    # third_party all: alice's message is held for N0TEST.
    config, bpq, irc_port = gateway_config(tmp_path, broker, "home_assistant: true",
                                           "bridge: {third_party: all}\n")  # fmt: skip
    totp = enroll(config, "N0TEST")
    gw = spawn_gateway(config)
    await gw.start()
    ham = await radio_login(bpq, "N0TEST", totp.now())
    ham.send(b"/b\r")
    await ham.expect_close()
    wrong = await Client.connect(bpq, b"N0TEST-7\r\n")
    await wrong.expect("Code: ")
    wrong.send(b"000000\r")
    await wrong.expect(REFUSED)
    irc = await LiveClient.connect(irc_port)
    await irc.register("alice")
    await irc.send("PRIVMSG N0TEST :are you there?")
    notice = (await irc.expect("NOTICE")).params[-1]
    assert "held" in notice and "not held" not in notice
    await irc.close()
    wrong.close()
    # Every entity of a gateway without radio ports (no transmitter, no TNC) has a state.
    expected: dict[str, object] = {
        "Online": "on", "Active sessions": 0, "Mail waiting": 1, "Logins today": 1,
        "Last login": "N0TEST", "Last refused login": "N0TEST", "Last session start": "N0TEST",
        "Last session end": "N0TEST", "Last message held for": "N0TEST",
    }  # fmt: skip
    await home_assistant_shows(broker.port, expected)
    # Home Assistant restarts: the same again.
    await home_assistant_shows(broker.port, expected)
    # The gateway restarts too (its counts come from the store), then Home Assistant.
    assert await gw.stop() == 0
    again = spawn_gateway(config)
    await again.start()
    await home_assistant_shows(broker.port, expected)
    assert await again.stop() == 0
    await home_assistant_shows(broker.port, expected | {"Online": "off"})


def test_check_config_refuses_what_one_line_or_one_name_cannot_carry(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    external = "irc: {mode: external, external: {host: irc.test}}\n"
    feed = "bulletins: [{topic: wx, channel: wx, nick: WX, max_length: %d}]"
    path.write_text(f"callsign: N0GW-10\nmqtt: {{{feed % 2000}}}\n")
    with pytest.raises(ConfigError, match="max_length"):
        load_config(path)
    path.write_text(f"callsign: N0GW-10\nmqtt: {{{feed % BULLETIN_MAX}}}\n")
    assert load_config(path).mqtt is not None
    # Two gateways on one broker, neither with a callsign or a name: nothing tells them apart.
    path.write_text(external + "mqtt: {prefix: club}\n")
    with pytest.raises(ConfigError, match=r"mqtt\.name"):
        load_config(path)
    path.write_text(external + "mqtt: {prefix: club, name: hilltop}\n")
    mqtt = load_config(path).mqtt
    assert mqtt is not None and mqtt.name == "hilltop"
    path.write_text(external + "callsign: N0GW-10\nmqtt: {prefix: club}\n")
    assert load_config(path).mqtt is not None
    # The same on the embedded server: two such gateways on one broker would be one.
    path.write_text("mqtt: {prefix: club}\n")
    with pytest.raises(ConfigError, match=r"give callsign or mqtt\.name: .*client id"):
        load_config(path)
    path.write_text("mqtt: {prefix: club, name: hilltop}\n")
    assert load_config(path).mqtt is not None
    path.write_text(external + "mqtt: {name: 'a/b'}\n")
    with pytest.raises(ConfigError, match="name"):
        load_config(path)


def test_check_config_names_the_missing_mqtt_name_on_the_embedded_server(tmp_path: Path) -> None:
    """What a sysop reads: a gateway without a callsign, on its own embedded server, with
    MQTT and no name, is refused by check-config (and so by `gateway run`)."""
    path = tmp_path / "gateway.yaml"
    path.write_text(f"data_dir: {tmp_path / 'd'}\nmqtt: {{prefix: club}}\n")
    result = run_cli(path, "check-config")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{path}:2: mqtt: give callsign or mqtt.name: the gateway's name on the broker"
        " (client id <prefix>-<name>, topics <prefix>/<name>/...), unique among the"
        " gateways that share it"
    )
    path.write_text(f"data_dir: {tmp_path / 'd'}\nmqtt: {{prefix: club, name: hilltop}}\n")
    assert run_cli(path, "check-config").returncode == 0
