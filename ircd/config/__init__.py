"""The `irc:` configuration section: checked once, frozen, swapped whole on reload.

The section lives in the gateway's YAML file or in a file of its own. YAML is composed
(not loaded) so every node keeps its line number; every problem is collected and one
`ConfigError` lists them all, each line reading like
``irc.yaml:12: irc.listen[0].port: expected an integer 1-65535, got "80x"``.

- `schema.py`: what the section holds (frozen dataclasses, `DEFAULT_CONFIG`);
- `read.py`: the table of its keys, `irc_config_from_node`, `load_irc_config`;
- `sections.py`: readers of the nested parts (listeners, limits, opers, allow, ...);
- `spamfilter.py`: the reader of `irc.spamfilter` (the engine is `ircd.spamfilter`).
"""

from ircd.config.read import irc_config_from_node, load_irc_config
from ircd.config.schema import (
    DEFAULT_CONFIG,
    DEFAULT_THROTTLE,
    AdminConfig,
    AllowConfig,
    CloakConfig,
    ExemptConfig,
    IrcConfig,
    Limits,
    Listener,
    OperConfig,
    TlsConfig,
)
from ircd.config.sections import HASH_COMMAND
from ircd.yamlreader import ConfigError

__all__ = (
    "DEFAULT_CONFIG",
    "DEFAULT_THROTTLE",
    "HASH_COMMAND",
    "AdminConfig",
    "AllowConfig",
    "CloakConfig",
    "ConfigError",
    "ExemptConfig",
    "IrcConfig",
    "Limits",
    "Listener",
    "OperConfig",
    "TlsConfig",
    "irc_config_from_node",
    "load_irc_config",
)
