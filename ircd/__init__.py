"""An embedded IRC server, usable on its own (`python -m ircd`).

The public surface for embedders (the gateway):

- `IrcServer(config, hooks=...)`: `await start()`, `await stop()`, `reload(config)`,
  `await resync_bans()` (after another program removed lines from the ban store).
- `ServerHooks` (protocol) and `NoHooks` (defaults): nick reservation, messages to absent nicks.
- `load_irc_config(path)`, `irc_config_from_node(node, filename)`, `IrcConfig`, `ConfigError`.
- `Server`: the sans-socket core; `Server.attach(...)` and `InProcessConnection` give
  in-process clients with a trusted identity, `Server.add_command(...)` extra commands.
- `Control` (what REHASH and DIE do, and the `OperAction`s to audit), `BanStore` /
  `FileBanStore` / `XLine` (server bans).
- `Message`, `parse_line`, `IrcParseError`: the wire format.

Limits: every table that grows with outside data has an owner and a bound.

================================  ==========================================================
Table (owner)                     Bound
================================  ==========================================================
clients, nicks (Server)           ``limits.max_clients`` registered (the last
                                  ``limits.login_reserve`` for logins) plus
                                  ``limits.max_unregistered`` registering
registering connections           ``limits.max_unregistered``; a newcomer takes the place
(Admission.unregistered)          of one (ircd/unregistered.py says which)
connections per source            ``limits.max_per_address`` each; sources bounded by clients
(Admission.connections)
operators (Server.opers)          the number of clients
OPER and PASS penalties          ``sources.MAX_PENALIZED`` sources
(FailurePenalties)
channels (Server)                 ``limits.max_channels``
channels founded per source       one entry per channel; ``limits.max_channels_per_address``
(Founders)                        channels each
a client's channels               ``limits.max_channels_per_client``
channel members                   the number of clients
channel +b/+e/+I lists            ``limits.max_list_entries`` per channel (ISUPPORT MAXLIST)
channel invites                   ``channel.MAX_INVITES`` per channel
MONITOR lists (Monitors)          ``monitor.LIMIT`` per client
WHOWAS (WhoWas)                   ``limits.whowas`` entries
read markers (ReadMarkers)        ``readmarkers.MAX_OWNERS`` owners,
                                  ``readmarkers.MAX_PER_OWNER`` targets each
chathistory (History)             ``history_size`` (<= 1000) messages and that many
                                  times ``history.ENTRY_BYTES`` bytes per target,
                                  ``limits.history_targets`` targets,
                                  ``limits.history_messages`` messages and that many
                                  times ``history.ENTRY_BYTES`` bytes in all (30 MiB);
                                  client-only tags: ``history.KEPT_CLIENT_TAGS`` only,
                                  ``history.MAX_KEPT_TAG_BYTES`` per message
server bans (XLineTable, and     ``limits.max_xlines``
Admission's known-stored keys)
known addresses (ConnThrottle)    ``throttle.MAX_KNOWN_IPS``
connection attempts per source    ``throttle.MAX_RATED_SOURCES`` sources
(ConnectionRate)
spamfilters (SpamFilters)         ``limits.max_spamfilters``, ``spamfilter.MAX_PATTERN``
                                  characters and ``spamfilter.RE2_MAX_MEM`` bytes each
Argon2id checks (PasswordChecker) ``limits.max_password_checks`` at once, for logins
                                  and, in a queue of their own, for OPER; waiting: one
                                  per client at most (its input waits for the check)
added commands                    ``commands.MAX_EXTRA_COMMANDS``
input per client (LineBuffer)     ``protocol.MAX_LINE`` per line, ``limits.recvq`` queued
a LIST going out                  one per client, a snapshot of at most
(Client.listing)                  ``limits.max_channels`` names
output per client                 ``limits.sendq`` (then "SendQ exceeded")
SASL message                      ``commands.sasl.MAX_MESSAGE`` bytes, state per client
metadata of a user or channel     ``metadata.MAX_KEYS`` keys of
                                  ``metadata.MAX_VALUE`` bytes
metadata subscriptions            ``metadata.MAX_SUBS`` per client
multiline batch being received    ``exchanges.MAX_LINES`` lines and
                                  ``exchanges.MAX_BYTES`` bytes, per client
pending tasks (Server.runner)     one deferred command per client, one per ban write
command tracebacks (FaultLog)     ``faults.BURST`` per ``faults.PERIOD`` seconds, then counted
notices held as repeats (Repeats) ``repeats.MAX_REPEAT_KEYS`` kinds and sources, at most
                                  ``repeats.MAX_KEYS_PER_LETTER`` of one letter, plus one
                                  overflow entry per snomask letter
================================  ==========================================================
"""

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING

# The public names load their modules on first use (PEP 562): `import ircd.config` (the
# gateway's config reader, every CLI command) need not import the whole server.
_PUBLIC = MappingProxyType(
    {
        "AttachError": "ircd.admission",
        "Client": "ircd.client",
        "Sink": "ircd.client",
        "ConfigError": "ircd.config",
        "IrcConfig": "ircd.config",
        "irc_config_from_node": "ircd.config",
        "load_irc_config": "ircd.config",
        "Control": "ircd.hooks",
        "NoHooks": "ircd.hooks",
        "OperAction": "ircd.hooks",
        "ServerHooks": "ircd.hooks",
        "InProcessConnection": "ircd.inprocess",
        "IrcServer": "ircd.net",
        "IrcParseError": "ircd.protocol",
        "Message": "ircd.protocol",
        "parse_line": "ircd.protocol",
        "Server": "ircd.server",
        "BanStore": "ircd.xlines",
        "FileBanStore": "ircd.xlines",
        "XLine": "ircd.xlines",
    }
)
__all__ = tuple(sorted(_PUBLIC))

if TYPE_CHECKING:
    from ircd.admission import AttachError as AttachError
    from ircd.client import Client as Client
    from ircd.client import Sink as Sink
    from ircd.config import ConfigError as ConfigError
    from ircd.config import IrcConfig as IrcConfig
    from ircd.config import irc_config_from_node as irc_config_from_node
    from ircd.config import load_irc_config as load_irc_config
    from ircd.hooks import Control as Control
    from ircd.hooks import NoHooks as NoHooks
    from ircd.hooks import OperAction as OperAction
    from ircd.hooks import ServerHooks as ServerHooks
    from ircd.inprocess import InProcessConnection as InProcessConnection
    from ircd.net import IrcServer as IrcServer
    from ircd.protocol import IrcParseError as IrcParseError
    from ircd.protocol import Message as Message
    from ircd.protocol import parse_line as parse_line
    from ircd.server import Server as Server
    from ircd.xlines import BanStore as BanStore
    from ircd.xlines import FileBanStore as FileBanStore
    from ircd.xlines import XLine as XLine


def __getattr__(name: str) -> object:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'ircd' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
