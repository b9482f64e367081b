"""The gateway's configuration: one YAML file, validated into frozen dataclasses.

`load_config(path)` reads and checks everything at once and raises one ConfigError
listing every problem with its line. `default_config()` is what runs without a file:
loopback only. On SIGHUP the application builds a new Config, keeps what only a
restart may change (`keep_running`, `restart_warnings`) and swaps it in whole.

`schema.py` declares the settings (each field's key, range, default, restart-only),
`fields.py` is the one reader of those declarations, `read.py` the file's sections,
`restart.py` what a reload may not change.
"""

from __future__ import annotations

from gateway.config.read import config_from_node, load_config
from gateway.config.restart import keep_running, restart_keys, restart_warnings
from gateway.config.schema import (
    BULLETIN_MAX,
    IRC_MODES,
    LOG_LEVELS,
    MQTT_MESSAGES,
    THIRD_PARTY,
    AuthConfig,
    BridgeConfig,
    BulletinFeed,
    CallsignDelayConfig,
    Config,
    ExternalIrc,
    GatewayBudgetConfig,
    MqttConfig,
    Network,
    NodeBudgetConfig,
    RadioConfig,
    RadioPort,
    SourcePenaltyConfig,
    TelnetListener,
    default_config,
    loopback_host,
)
from ircd.yamlreader import ConfigError

__all__ = [
    "BULLETIN_MAX",
    "IRC_MODES",
    "LOG_LEVELS",
    "MQTT_MESSAGES",
    "THIRD_PARTY",
    "AuthConfig",
    "BridgeConfig",
    "BulletinFeed",
    "CallsignDelayConfig",
    "Config",
    "ConfigError",
    "ExternalIrc",
    "GatewayBudgetConfig",
    "MqttConfig",
    "Network",
    "NodeBudgetConfig",
    "RadioConfig",
    "RadioPort",
    "SourcePenaltyConfig",
    "TelnetListener",
    "config_from_node",
    "default_config",
    "keep_running",
    "load_config",
    "loopback_host",
    "restart_keys",
    "restart_warnings",
]
