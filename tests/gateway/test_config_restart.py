"""What a reload may not change: one pure function over the running and the new config."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gateway.config import (
    BridgeConfig,
    Config,
    ExternalIrc,
    MqttConfig,
    RadioConfig,
    keep_running,
    restart_keys,
    restart_warnings,
)

OLD = Config(data_dir=Path("/srv/gw"), callsign="N0GW-10")


def test_a_reload_of_live_settings_needs_no_restart() -> None:
    new = replace(OLD, log_level="debug", bridge=replace(OLD.bridge, width=40))
    assert restart_warnings(OLD, new) == []
    assert restart_keys(OLD, new) == []
    assert keep_running(OLD, new) == new


def test_each_restart_only_group_warns_once_in_order_and_keeps_the_running_value() -> None:
    new = replace(
        OLD,
        log_level="debug",
        data_dir=Path("/elsewhere"),
        key_file=Path("/elsewhere/key"),
        callsign="N0GW-11",
        radio=RadioConfig(transmit=False),
        mqtt=MqttConfig(host="broker"),
        irc_external=ExternalIrc(host="irc.example.net"),
        bridge=BridgeConfig(width=40, service_nick="Other", archive_channels=("#news",)),
    )
    assert restart_warnings(OLD, new) == [
        "data_dir and key_file changes need a restart; keeping the old ones",
        "mqtt changes need a restart; keeping the old settings",
        "irc.mode and irc.external changes need a restart; keeping the old ones",
        "radio and callsign changes need a restart; keeping the old ones",
        "bridge archive channels and service_nick changes need a restart",
    ]
    # REHASH names the keys; `irc` is irc.mode and irc.external.
    assert restart_keys(OLD, new) == [
        "data_dir", "key_file", "callsign", "radio", "bridge.service_nick",
        "bridge.archive.channels", "mqtt", "irc",
    ]  # fmt: skip
    kept = keep_running(OLD, new)
    assert (kept.data_dir, kept.key_file, kept.callsign) == (OLD.data_dir, None, "N0GW-10")
    assert (kept.radio, kept.mqtt, kept.irc_external) == (OLD.radio, None, None)
    assert kept.bridge == replace(OLD.bridge, width=40)  # the live part of bridge: taken
    assert kept.log_level == "debug"


def test_one_group_changed_keeps_only_that_group() -> None:
    new = replace(OLD, bridge=replace(OLD.bridge, service_nick="Other"), callsign="N0GW-11")
    assert restart_warnings(OLD, new) == [
        "radio and callsign changes need a restart; keeping the old ones",
        "bridge archive channels and service_nick changes need a restart",
    ]
    assert keep_running(OLD, new) == OLD
    assert restart_keys(OLD, new) == ["callsign", "bridge.service_nick"]


def test_the_key_file_is_compared_by_the_path_it_names() -> None:
    """Naming the default key file explicitly changes nothing that runs."""
    new = replace(OLD, key_file=OLD.data_dir / "secret.key")
    assert restart_warnings(OLD, new) == []
    assert keep_running(OLD, new) == new
    moved = replace(OLD, key_file=Path("/keys/gw.key"))
    assert restart_warnings(OLD, moved) == [
        "data_dir and key_file changes need a restart; keeping the old ones"
    ]
    assert keep_running(OLD, moved) == OLD
