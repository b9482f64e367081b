"""An embedded IRC server, usable on its own (`python -m ircd`).

The public surface for embedders (the gateway):

- `IrcServer(config, hooks=...)`: `await start()`, `await stop()`, `reload(config)`.
- `ServerHooks` (protocol) and `NoHooks` (defaults): nick reservation, messages to absent nicks.
- `load_irc_config(path)`, `irc_config_from_node(node, filename)`, `IrcConfig`, `ConfigError`.
- `Server`: the sans-socket core; `Server.attach(...)` and `InProcessConnection` give
  in-process clients with a trusted identity, `Server.add_command(...)` extra commands.
- `Control` (what REHASH and DIE do), `BanStore` / `FileBanStore` / `XLine` (server bans).
- `Message`, `parse_line`, `IrcParseError`: the wire format.

Limits: every table that grows with outside data has an owner and a bound.

================================  ==========================================================
Table (owner)                     Bound
================================  ==========================================================
clients, nicks (Server)           ``limits.max_clients`` (excess connections get ERROR)
connections per source            ``limits.max_per_address`` each; sources bounded by clients
(Admission.connections)
operators (Server.opers)          the number of clients
OPER penalties (FailurePenalties) ``sources.MAX_PENALIZED`` sources
channels (Server)                 ``limits.max_channels``
a client's channels               ``limits.max_channels_per_client``
channel members                   the number of clients
channel +b/+e/+I lists            ``limits.max_list_entries`` per channel (ISUPPORT MAXLIST)
channel invites                   ``channel.MAX_INVITES`` per channel
MONITOR lists (Monitors)          ``monitor.LIMIT`` per client
WHOWAS (WhoWas)                   ``limits.whowas`` entries
read markers (ReadMarkers)        ``readmarkers.MAX_OWNERS`` owners,
                                  ``readmarkers.MAX_PER_OWNER`` targets each
chathistory (History)             ``history_size`` (<= 1000) per target,
                                  ``limits.history_targets`` targets,
                                  ``limits.history_messages`` messages in all
server bans (XLineTable)          ``limits.max_xlines``
known addresses (ConnThrottle)    ``throttle.MAX_KNOWN_IPS``
spamfilters (SpamFilters)         ``limits.max_spamfilters``, ``spamfilter.MAX_PATTERN``
                                  characters and ``spamfilter.RE2_MAX_MEM`` bytes each
Argon2id checks (PasswordChecker) ``limits.max_password_checks`` at once, for logins
                                  and, in a queue of their own, for OPER
added commands                    ``commands.MAX_EXTRA_COMMANDS``
input per client (LineBuffer)     ``protocol.MAX_LINE`` per line, ``limits.recvq`` queued
output per client                 ``limits.sendq`` (then "SendQ exceeded")
SASL message                      ``commands.sasl.MAX_MESSAGE`` bytes, state per client
metadata of a user or channel     ``metadata.MAX_KEYS`` keys of
                                  ``metadata.MAX_VALUE`` bytes
metadata subscriptions            ``metadata.MAX_SUBS`` per client
multiline batch being received    ``exchanges.MAX_LINES`` lines and
                                  ``exchanges.MAX_BYTES`` bytes, per client
pending tasks (Server.runner)     one deferred command per client, one per ban write
command tracebacks (FaultLog)     ``faults.BURST`` per ``faults.PERIOD`` seconds, then counted
================================  ==========================================================
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
