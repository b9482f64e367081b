"""An embedded IRC server, usable on its own (`python -m ircd`).

The public surface for embedders (the gateway):

- `IrcServer(config, hooks=...)`: `await start()`, `await stop()`, `reload(config)`.
- `ServerHooks` (protocol) and `NoHooks` (defaults): nick reservation, messages to absent nicks.
- `load_irc_config(path)`, `irc_config_from_node(node, filename)`, `IrcConfig`, `ConfigError`.
- `Server`: the sans-socket core; `Server.attach(...)` and `InProcessConnection` give
  in-process clients with a trusted identity, `Server.add_command(...)` extra commands.
- `Control` (what REHASH and DIE do), `BanStore` / `FileBanStore` / `XLine` (server bans).
- `Message`, `parse_line`, `IrcParseError`: the wire format.
"""

from ircd.admission import AttachError
from ircd.client import Client, Sink
from ircd.config import ConfigError, IrcConfig, irc_config_from_node, load_irc_config
from ircd.hooks import Control, NoHooks, ServerHooks
from ircd.inprocess import InProcessConnection
from ircd.net import IrcServer
from ircd.protocol import IrcParseError, Message, parse_line
from ircd.server import Server
from ircd.xlines import BanStore, FileBanStore, XLine

__all__ = (
    "AttachError",
    "BanStore",
    "Client",
    "ConfigError",
    "Control",
    "FileBanStore",
    "InProcessConnection",
    "IrcConfig",
    "IrcParseError",
    "IrcServer",
    "Message",
    "NoHooks",
    "Server",
    "ServerHooks",
    "Sink",
    "XLine",
    "irc_config_from_node",
    "load_irc_config",
    "parse_line",
)
