"""Reading the `irc:` section: one table of its keys, each with its reader, in one pass.

Keys are read in the table's order (limits before the spamfilters they bound, security
groups before the masks that name them), so problems are reported in that order too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from yaml.nodes import MappingNode, Node, ScalarNode

from ircd.casemap import CASEMAPPINGS
from ircd.config import sections
from ircd.config.schema import (
    DEFAULT_CONFIG,
    AdminConfig,
    ExemptConfig,
    IrcConfig,
    Limits,
    Listener,
)
from ircd.config.spamfilter import read_spamfilters
from ircd.history import MAX_SIZE as HISTORY_MAX_SIZE
from ircd.masks import BUILTIN_GROUPS, MaskItem
from ircd.spamfilter import FilterSpec
from ircd.yamlreader import NULL_TAG, ConfigError, Reader, read_file

#: Why two listeners on one port are refused though their addresses differ.
BOTH: Final = "cannot both listen (0.0.0.0 or :: takes the port on every address)"

_TOP_KEYS: Final = (
    "listen",
    "server_name",
    "network",
    "description",
    "motd",
    "casemapping",
    "limits",
    "opers",
    "allow",
    "security_groups",
    "history_size",
    "cloak",
    "throttle",
    "exempt",
    "bans_file",
    "admin",
    "spamfilter",
    "sasl",
)


@dataclasses.dataclass(slots=True)
class _Reading:
    """What the readers of one `irc:` section share."""

    r: Reader
    #: The directory of the file: relative file names are resolved against it.
    base: str
    #: Security group names known so far (built-in, then `security_groups`).
    groups: set[str]
    values: dict[str, Any]


def _listen(c: _Reading, node: Node) -> tuple[Listener, ...]:
    items = c.r.sequence(node, "irc.listen")
    if items is not None and not items:
        c.r.error(node, "irc.listen", "expected at least one listener")
    listeners: list[Listener] = []
    for i, item in enumerate(items or ()):
        listener = sections.read_listener(c.r, item, f"irc.listen[{i}]", c.base)
        if listener is None:
            continue
        where = f"{listener.host}:{listener.port}"
        if any((x.host, x.port) == (listener.host, listener.port) for x in listeners):
            c.r.error(item, f"irc.listen[{i}]", f"{where} is listed twice")
        else:
            for j, x in enumerate(listeners):
                if sections.same_socket((x.host, x.port), (listener.host, listener.port)):
                    taken = f"irc.listen[{j}] ({x.host}:{x.port})"
                    c.r.error(item, f"irc.listen[{i}]", f"{where} and {taken} {BOTH}")
        listeners.append(listener)
    return tuple(listeners)


def _network(c: _Reading, node: Node) -> str | None:
    return c.r.string(
        node,
        "irc.network",
        lambda v: None if sections.NETWORK.match(v) else "expected 1-32 letters, digits or ._-",
    )


def _motd(c: _Reading, node: Node) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == NULL_TAG:
        return None
    return c.r.string(node, "irc.motd")


def _casemapping(c: _Reading, node: Node) -> str | None:
    return c.r.string(
        node,
        "irc.casemapping",
        lambda v: None if v in CASEMAPPINGS else "expected one of " + ", ".join(CASEMAPPINGS),
    )


def _security_groups(c: _Reading, node: Node) -> tuple[tuple[str, MaskItem], ...]:
    groups = sections.read_security_groups(c.r, node)
    c.groups.update(name for name, _ in groups)
    return groups


def _exempt(c: _Reading, node: Node) -> ExemptConfig:
    em = c.r.mapping(node, "irc.exempt", ("flood", "throttle", "bans", "spamfilter"))
    return ExemptConfig(
        **{
            k: sections.read_mask(c.r, v, f"irc.exempt.{k}", c.groups)
            for k, v in (em or {}).items()
        }
    )


def _admin(c: _Reading, node: Node) -> AdminConfig:
    am = c.r.mapping(node, "irc.admin", ("name", "location", "email"))
    texts = {k: c.r.string(v, f"irc.admin.{k}") for k, v in (am or {}).items()}
    return AdminConfig(**{k: v[:200] for k, v in texts.items() if v is not None})


def _spamfilter(c: _Reading, node: Node) -> tuple[FilterSpec, ...]:
    limit = c.values.get("limits", Limits()).max_spamfilters
    return read_spamfilters(c.r, node, limit)


def _bans_file(c: _Reading, node: Node) -> str | None:
    name = c.r.string(node, "irc.bans_file")
    return None if name is None else os.path.join(c.base, os.path.expanduser(name))


#: Each key of `irc:` and its reader, in the order they are read.
_READERS: Final[Mapping[str, Callable[[_Reading, Node], Any]]] = MappingProxyType(
    {
        "listen": _listen,
        "server_name": lambda c, node: c.r.string(
            node, "irc.server_name", sections.check_server_name
        ),
        "network": _network,
        "description": lambda c, node: c.r.string(
            node,
            "irc.description",
            lambda v: (
                None if len(v) <= 100 and v.isprintable() else "expected 0-100 printable characters"
            ),
        ),
        "motd": _motd,
        "casemapping": _casemapping,
        "limits": lambda c, node: sections.read_limits(c.r, node),
        "security_groups": _security_groups,
        "opers": lambda c, node: sections.read_opers(c.r, node, c.groups),
        "allow": lambda c, node: sections.read_allow(c.r, node, c.groups),
        "history_size": lambda c, node: c.r.number(
            node, "irc.history_size", 0, HISTORY_MAX_SIZE, integer=True
        ),
        "cloak": lambda c, node: sections.read_cloak(c.r, node),
        "throttle": lambda c, node: sections.read_throttle(c.r, node),
        "exempt": _exempt,
        "admin": _admin,
        "sasl": lambda c, node: c.r.boolean(node, "irc.sasl"),
        "spamfilter": _spamfilter,
        "bans_file": _bans_file,
    }
)


def irc_config_from_node(node: Node | None, filename: str) -> IrcConfig:
    """Build an `IrcConfig` from the composed `irc:` node of `filename` (None: defaults).

    Relative TLS file names are resolved against the directory of `filename`.
    Raises `ConfigError` listing every problem found.
    """
    if node is None:
        return dataclasses.replace(DEFAULT_CONFIG, source=filename)
    r = Reader(filename)
    m = r.mapping(node, "irc", _TOP_KEYS)
    if m is None:
        raise ConfigError(r.problems)
    reading = _Reading(r, os.path.dirname(os.path.abspath(filename)), set(BUILTIN_GROUPS), {})
    for key, read in _READERS.items():
        if key in m:
            reading.values[key] = read(reading, m[key])
    if r.problems:
        raise ConfigError(r.problems)
    return IrcConfig(**reading.values, source=filename)


def load_irc_config(path: str | os.PathLike[str]) -> IrcConfig:
    """Load the `irc:` section from a gateway YAML file, or a file holding only that section."""
    filename = os.fspath(path)
    root = read_file(filename)
    if isinstance(root, MappingNode):
        for key_node, value in root.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "irc":
                return irc_config_from_node(value, filename)
    return irc_config_from_node(root, filename)
