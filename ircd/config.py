"""The `irc:` configuration section: checked once, frozen, swapped whole on reload.

The section lives in the gateway's YAML file or in a file of its own. YAML is composed
(not loaded) so every node keeps its line number; every problem is collected and one
`ConfigError` lists them all, each line reading like
``irc.yaml:12: irc.listen[0].port: expected an integer 1-65535, got "80x"``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any, Final

from yaml.nodes import MappingNode, Node, ScalarNode

from ircd.casemap import CASEMAPPINGS, RFC1459
from ircd.cloak import MIN_KEY_LENGTH
from ircd.history import MAX_MESSAGES as HISTORY_MESSAGES
from ircd.history import MAX_SIZE as HISTORY_MAX_SIZE
from ircd.history import MAX_TARGETS as HISTORY_TARGETS
from ircd.masks import BUILTIN_GROUPS, MATCH_ALL, MaskItem
from ircd.passwords import check_hash_format
from ircd.protocol import MAX_LINE
from ircd.spamfilter import FilterSpec, read_spamfilters
from ircd.throttle import ThrottleConfig
from ircd.yamlreader import BOOL_TAG, NULL_TAG, STR_TAG, Reader, read_file
from ircd.yamlreader import ConfigError as ConfigError  # re-exported: ircd.config.ConfigError

_HOSTNAME: Final = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
_NETWORK: Final = re.compile(r"[A-Za-z0-9._-]{1,32}\Z")
_OPER_NAME: Final = re.compile(r"[A-Za-z0-9._\-\[\]\\`^{|}]{1,32}\Z")
HASH_COMMAND: Final = "python -m ircd hash-password"


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Certificate chain and private key files (PEM) of a TLS listener."""

    cert: str
    key: str
    #: PEM bundle of CAs and/or self-signed client certificates trusted for certfp
    #: (None: no client certificate is requested).
    client_ca: str | None = None


@dataclass(frozen=True, slots=True)
class Listener:
    """One address to listen on; TLS when `tls` is set, IRC over WebSocket when `websocket`."""

    host: str
    port: int
    tls: TlsConfig | None = None
    #: IRCv3 WebSocket (`ircd.websocket`) instead of raw IRC lines.
    websocket: bool = False
    #: Origins whose pages may connect to a WebSocket listener, as globs such as
    #: ``https://*.example.org`` (empty: no browser page; ``*``: any page, deliberately).
    #: Requests without an Origin header are not from a page and always pass.
    origins: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Limits:
    """Sizes, counts and timeouts. Every table keyed by outside data is bounded by one of these."""

    nicklen: int = 30
    channellen: int = 50
    topiclen: int = 390
    awaylen: int = 390
    kicklen: int = 390
    max_clients: int = 1024
    #: Connections at once from one IPv4 address or IPv6 /64 (0: no limit); clients
    #: attached in-process by the embedder do not count.
    max_per_address: int = 16
    max_channels: int = 1000
    max_channels_per_client: int = 20
    #: Bytes queued for a client before it is dropped with "SendQ exceeded".
    sendq: int = 262_144
    #: Unprocessed bytes held for a throttled client before "Excess Flood".
    recvq: int = 16_384
    ping_interval: float = 120.0
    ping_timeout: float = 60.0
    registration_timeout: float = 60.0
    #: Lines a client may send at once before it is throttled to `flood_rate`.
    flood_burst: int = 16
    #: Sustained lines per second; 0 disables flood control (benchmarks only).
    flood_rate: float = 2.0
    #: Argon2id checks running at once (each takes tens of milliseconds of CPU and 64 MiB),
    #: for logins (SASL, connection passwords) and, in a queue of their own, for OPER.
    max_password_checks: int = 2
    #: A K/G/Z-line that would disconnect more than this share of the users (and more
    #: than one) is refused unless the operator adds -force.
    ban_max_share: float = 0.25
    #: Seconds each failed OPER adds to its address's penalty; past three failures'
    #: worth the address waits (OpenSSH style), never more than `oper_penalty_max`.
    oper_penalty: float = 10.0
    oper_penalty_max: float = 600.0
    #: Entries in a channel's +b, +e and +I lists together (ISUPPORT MAXLIST).
    max_list_entries: int = 100
    #: K-, G- and Z-lines held at once.
    max_xlines: int = 10_000
    #: WHOWAS entries kept.
    whowas: int = 1000
    #: Spamfilters in force at once (configured plus added with SPAMFILTER).
    max_spamfilters: int = 100
    #: Mean time one spamfilter evaluation may take before the filter is disabled.
    spamfilter_budget_ms: float = 1.0
    #: Channels and conversations with chathistory kept (least recently used dropped).
    history_targets: int = HISTORY_TARGETS
    #: Chathistory messages kept in all, over every target.
    history_messages: int = HISTORY_MESSAGES


@dataclass(frozen=True, slots=True)
class OperConfig:
    """An operator block: a name, an Argon2id hash of the password, and who may use it."""

    name: str
    password_hash: str = field(repr=False)
    #: Only clients matching this mask item may use the block (None: anyone).
    mask: MaskItem | None = None


@dataclass(frozen=True, slots=True)
class AllowConfig:
    """An allow block: who may connect, and the connection password (PASS) they need.

    The first block (in file order) whose mask matches a registering client decides.
    With no allow blocks at all, everyone may connect.
    """

    mask: MaskItem = MATCH_ALL
    #: Argon2id hash the client's PASS must match (None: no password needed).
    password_hash: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class CloakConfig:
    """Host cloaking: the HMAC key (never sent anywhere) and the suffix of cloaked IPs."""

    key: str = field(repr=False)
    suffix: str = "IP"


DEFAULT_THROTTLE: Final = ThrottleConfig()


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """What ADMIN shows."""

    name: str = ""
    location: str = ""
    email: str = ""


@dataclass(frozen=True, slots=True)
class ExemptConfig:
    """Mask items exempting clients from flood control, throttling, server bans, spamfilter."""

    flood: MaskItem | None = None
    throttle: MaskItem | None = None
    bans: MaskItem | None = None
    spamfilter: MaskItem | None = None


@dataclass(frozen=True, slots=True)
class IrcConfig:
    """The whole `irc:` section."""

    listen: tuple[Listener, ...] = (Listener("127.0.0.1", 6667),)
    server_name: str = "irc.localhost"
    network: str = "PacketNet"
    motd: str | None = None
    casemapping: str = RFC1459
    limits: Limits = Limits()
    opers: tuple[OperConfig, ...] = ()
    allow: tuple[AllowConfig, ...] = ()
    #: Named mask items, usable as `security-group` criteria in later masks.
    security_groups: tuple[tuple[str, MaskItem], ...] = ()
    #: Host cloaking; None shows real addresses.
    cloak: CloakConfig | None = None
    #: Throttling of new unknown clients; None disables it.
    throttle: ThrottleConfig | None = DEFAULT_THROTTLE
    exempt: ExemptConfig = ExemptConfig()
    admin: AdminConfig = AdminConfig()
    #: Standalone: JSON file keeping K/G/Z-lines across restarts (None: memory only).
    bans_file: str | None = None
    #: Messages kept per target for chathistory (0 disables history), at most 1000.
    history_size: int = 100
    #: Offer SASL when the embedder provides accounts (no: never; see CAP DEL on reload).
    sasl: bool = True
    #: Spamfilters from the configuration (see `ircd.spamfilter`).
    spamfilter: tuple[FilterSpec, ...] = ()
    #: The file this section was read from (REHASH names it); None for built-in defaults.
    source: str | None = field(default=None, compare=False)


DEFAULT_CONFIG: Final = IrcConfig()

# (minimum, maximum) for each numeric limit.
_LIMIT_RANGES: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {
        "nicklen": (1, 64),
        "channellen": (2, 64),
        "topiclen": (1, 390),
        "awaylen": (1, 390),
        "kicklen": (1, 390),
        "max_clients": (1, 1_000_000),
        "max_per_address": (0, 1_000_000),
        "max_channels": (1, 1_000_000),
        "max_channels_per_client": (1, 1000),
        "sendq": (1024, 64 * 1024 * 1024),
        "recvq": (MAX_LINE + 2, 16 * 1024 * 1024),
        "ping_interval": (1, 86_400),
        "ping_timeout": (1, 86_400),
        "registration_timeout": (1, 86_400),
        "flood_burst": (1, 100_000),
        "flood_rate": (0, 100_000),
        "max_password_checks": (1, 64),
        "ban_max_share": (0, 1),
        "oper_penalty": (0, 86_400),
        "oper_penalty_max": (0, 7 * 86_400),
        "max_list_entries": (1, 10_000),
        "max_xlines": (1, 1_000_000),
        "whowas": (0, 1_000_000),
        "max_spamfilters": (0, 10_000),
        "spamfilter_budget_ms": (0.001, 1000),
        "history_targets": (1, 100_000),
        "history_messages": (HISTORY_MAX_SIZE, 10_000_000),
    }
)


def _check_host(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return None if _HOSTNAME.match(value) else "expected an IP address or a host name"
    return None


def _read_listener(r: Reader, node: Node, path: str, base: str) -> Listener | None:
    m = r.mapping(node, path, ("host", "port", "tls", "websocket", "origins"))
    if m is None:
        return None
    for key in ("host", "port"):
        if key not in m:
            r.error(node, path, f"missing key {key!r}")
    host = r.string(m["host"], f"{path}.host", _check_host) if "host" in m else None
    port = r.number(m["port"], f"{path}.port", 1, 65535, integer=True) if "port" in m else None
    tls = None
    if "tls" in m:
        tm = r.mapping(m["tls"], f"{path}.tls", ("cert", "key", "client_ca"))
        if tm is not None:
            files: dict[str, str] = {}
            for key in ("cert", "key", "client_ca"):
                if key not in tm:
                    if key == "client_ca":
                        continue
                    r.error(m["tls"], f"{path}.tls", f"missing key {key!r}")
                    continue
                name = r.string(tm[key], f"{path}.tls.{key}")
                if name is None:
                    continue
                full = os.path.join(base, os.path.expanduser(name))
                if not os.path.isfile(full):
                    r.error(tm[key], f"{path}.tls.{key}", f"file not found: {full}")
                    continue
                files[key] = full
            if "cert" in files and "key" in files and ("client_ca" in files) == ("client_ca" in tm):
                tls = TlsConfig(
                    cert=files["cert"], key=files["key"], client_ca=files.get("client_ca")
                )
            else:
                return None
    websocket = bool(r.boolean(m["websocket"], f"{path}.websocket")) if "websocket" in m else False
    origins = _read_origins(r, m["origins"], f"{path}.origins") if "origins" in m else ()
    if origins and not websocket:
        r.error(m["origins"], f"{path}.origins", "only WebSocket listeners check origins")
    if host is None or port is None:
        return None
    return Listener(host=host, port=port, tls=tls, websocket=websocket, origins=origins)


def _check_origin(value: str) -> str | None:
    if value != "*" and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/]+", value):
        return 'expected an origin such as https://chat.example.org (globs allowed, "*": any)'
    return None


def _read_origins(r: Reader, node: Node, path: str) -> tuple[str, ...]:
    items = r.sequence(node, path) or []
    names = [r.string(item, f"{path}[{i}]", _check_origin) for i, item in enumerate(items)]
    return tuple(name for name in names if name is not None)


def _read_password_hash(
    r: Reader, item: Node, m: dict[str, Node], path: str, required: bool
) -> str | None:
    """`password_hash` of a block; a plaintext `password` is refused with the fix named."""
    if "password" in m:
        r.error(
            m["password"],
            f"{path}.password",
            "plaintext passwords are not accepted; run `"
            + HASH_COMMAND
            + "` and put its output in password_hash instead",
        )
    if "password_hash" in m:
        return r.string(m["password_hash"], f"{path}.password_hash", check_hash_format)
    if required and "password" not in m:
        r.error(item, path, f"missing key 'password_hash' (make one with `{HASH_COMMAND}`)")
    return None


def _read_opers(r: Reader, node: Node, groups: set[str]) -> tuple[OperConfig, ...]:
    items = r.sequence(node, "irc.opers")
    opers: list[OperConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        path = f"irc.opers[{i}]"
        m = r.mapping(item, path, ("name", "password_hash", "password", "mask"))
        if m is None:
            continue
        name = r.string(m["name"], f"{path}.name", _check_oper_name) if "name" in m else None
        if "name" not in m:
            r.error(item, path, "missing key 'name'")
        digest = _read_password_hash(r, item, m, path, required=True)
        mask = _read_mask(r, m["mask"], f"{path}.mask", groups) if "mask" in m else None
        if name is not None and name in seen:
            r.error(m["name"], f"{path}.name", f"duplicate oper name {json.dumps(name)}")
        elif name is not None and digest is not None:
            seen.add(name)
            opers.append(OperConfig(name=name, password_hash=digest, mask=mask))
    return tuple(opers)


def _read_mask(r: Reader, node: Node, path: str, groups: set[str]) -> MaskItem | None:
    item = r.mask(node, path)
    if item is not None:
        for name in sorted(item.groups_used - groups):
            r.error(node, path, f"unknown security group {json.dumps(name)}")
    return item


def _read_allow(r: Reader, node: Node, groups: set[str]) -> tuple[AllowConfig, ...]:
    blocks: list[AllowConfig] = []
    for i, item in enumerate(r.sequence(node, "irc.allow") or ()):
        path = f"irc.allow[{i}]"
        m = r.mapping(item, path, ("mask", "password_hash", "password"))
        if m is None:
            continue
        mask = _read_mask(r, m["mask"], f"{path}.mask", groups) if "mask" in m else MATCH_ALL
        digest = _read_password_hash(r, item, m, path, required=False)
        if mask is not None:
            blocks.append(AllowConfig(mask=mask, password_hash=digest))
    return tuple(blocks)


def _read_security_groups(r: Reader, node: Node) -> tuple[tuple[str, MaskItem], ...]:
    # A group may use built-in groups and groups defined above it: no cycle is possible.
    groups: list[tuple[str, MaskItem]] = []
    known = set(BUILTIN_GROUPS)
    for i, item in enumerate(r.sequence(node, "irc.security_groups") or ()):
        path = f"irc.security_groups[{i}]"
        m = r.mapping(item, path, ("name", "mask"))
        if m is None:
            continue
        for key in ("name", "mask"):
            if key not in m:
                r.error(item, path, f"missing key {key!r}")
        name = r.string(m["name"], f"{path}.name", _check_oper_name) if "name" in m else None
        mask = _read_mask(r, m["mask"], f"{path}.mask", known) if "mask" in m else None
        if name is not None and name in known:
            r.error(m["name"], f"{path}.name", f"security group {json.dumps(name)} exists already")
        elif name is not None and mask is not None:
            known.add(name)
            groups.append((name, mask))
    return tuple(groups)


def _check_oper_name(value: str) -> str | None:
    return None if _OPER_NAME.match(value) else "expected 1-32 letters, digits or -_.[]\\`^{|}"


def _read_limits(r: Reader, node: Node) -> Limits:
    m = r.mapping(node, "irc.limits", _LIMIT_RANGES)
    values: dict[str, Any] = {}
    for f in fields(Limits):
        if m is not None and f.name in m:
            lo, hi = _LIMIT_RANGES[f.name]
            value = r.number(
                m[f.name], f"irc.limits.{f.name}", lo, hi, integer=isinstance(f.default, int)
            )
            if value is not None:
                values[f.name] = value
    return Limits(**values)


_TOP_KEYS: Final = (
    "listen",
    "server_name",
    "network",
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


def irc_config_from_node(node: Node | None, filename: str) -> IrcConfig:
    """Build an `IrcConfig` from the composed `irc:` node of `filename` (None: defaults).

    Relative TLS file names are resolved against the directory of `filename`.
    Raises `ConfigError` listing every problem found.
    """
    if node is None:
        return dataclasses.replace(DEFAULT_CONFIG, source=filename)
    r = Reader(filename)
    base = os.path.dirname(os.path.abspath(filename))
    m = r.mapping(node, "irc", _TOP_KEYS)
    if m is None:
        raise ConfigError(r.problems)
    values: dict[str, Any] = {}
    if "listen" in m:
        items = r.sequence(m["listen"], "irc.listen")
        if items is not None and not items:
            r.error(m["listen"], "irc.listen", "expected at least one listener")
        listeners: list[Listener] = []
        for i, item in enumerate(items or ()):
            listener = _read_listener(r, item, f"irc.listen[{i}]", base)
            if listener is None:
                continue
            if any((x.host, x.port) == (listener.host, listener.port) for x in listeners):
                r.error(
                    item, f"irc.listen[{i}]", f"{listener.host}:{listener.port} is listed twice"
                )
            listeners.append(listener)
        values["listen"] = tuple(listeners)
    if "server_name" in m:
        values["server_name"] = r.string(m["server_name"], "irc.server_name", _check_server_name)
    if "network" in m:
        values["network"] = r.string(
            m["network"],
            "irc.network",
            lambda v: None if _NETWORK.match(v) else "expected 1-32 letters, digits or ._-",
        )
    if "motd" in m:
        if isinstance(m["motd"], ScalarNode) and m["motd"].tag == NULL_TAG:
            values["motd"] = None
        else:
            values["motd"] = r.string(m["motd"], "irc.motd")
    if "casemapping" in m:
        values["casemapping"] = r.string(
            m["casemapping"],
            "irc.casemapping",
            lambda v: None if v in CASEMAPPINGS else "expected one of " + ", ".join(CASEMAPPINGS),
        )
    if "limits" in m:
        values["limits"] = _read_limits(r, m["limits"])
    groups = set(BUILTIN_GROUPS)
    if "security_groups" in m:
        values["security_groups"] = _read_security_groups(r, m["security_groups"])
        groups.update(name for name, _ in values["security_groups"])
    if "opers" in m:
        values["opers"] = _read_opers(r, m["opers"], groups)
    if "allow" in m:
        values["allow"] = _read_allow(r, m["allow"], groups)
    if "history_size" in m:
        values["history_size"] = r.number(
            m["history_size"], "irc.history_size", 0, HISTORY_MAX_SIZE, integer=True
        )
    if "cloak" in m:
        values["cloak"] = _read_cloak(r, m["cloak"])
    if "throttle" in m:
        values["throttle"] = _read_throttle(r, m["throttle"])
    if "exempt" in m:
        em = r.mapping(m["exempt"], "irc.exempt", ("flood", "throttle", "bans", "spamfilter"))
        values["exempt"] = ExemptConfig(
            **{k: _read_mask(r, v, f"irc.exempt.{k}", groups) for k, v in (em or {}).items()}
        )
    if "admin" in m:
        am = r.mapping(m["admin"], "irc.admin", ("name", "location", "email"))
        texts = {k: r.string(v, f"irc.admin.{k}") for k, v in (am or {}).items()}
        values["admin"] = AdminConfig(**{k: v[:200] for k, v in texts.items() if v is not None})
    if "sasl" in m:
        values["sasl"] = r.boolean(m["sasl"], "irc.sasl")
    if "spamfilter" in m:
        limit = values.get("limits", Limits()).max_spamfilters
        values["spamfilter"] = read_spamfilters(r, m["spamfilter"], limit)
    if "bans_file" in m:
        name = r.string(m["bans_file"], "irc.bans_file")
        if name is not None:
            values["bans_file"] = os.path.join(base, os.path.expanduser(name))
    if r.problems:
        raise ConfigError(r.problems)
    values["source"] = filename
    return IrcConfig(**values)


def _read_cloak(r: Reader, node: Node) -> CloakConfig | None:
    m = r.mapping(node, "irc.cloak", ("key", "suffix"))
    if m is None:
        return None
    if "key" not in m:
        r.error(node, "irc.cloak", "missing key 'key'")
        return None
    key_node = m["key"]
    # Checked by hand: the key must never be echoed into an error message or a log.
    if not isinstance(key_node, ScalarNode) or key_node.tag != STR_TAG:
        r.error(key_node, "irc.cloak.key", "expected a string")
        return None
    key = key_node.value
    if len(key) < MIN_KEY_LENGTH:
        r.error(
            key_node,
            "irc.cloak.key",
            f"must have at least {MIN_KEY_LENGTH} characters (has {len(key)}); make one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`",
        )
        return None
    suffix = "IP"
    if "suffix" in m:
        suffix = (
            r.string(
                m["suffix"],
                "irc.cloak.suffix",
                lambda v: None if _HOSTNAME.match(v) and len(v) <= 16 else "expected a short label",
            )
            or "IP"
        )
    return CloakConfig(key=key, suffix=suffix)


_THROTTLE_RANGES: Final = MappingProxyType(
    {
        "new_users": (1, 1_000_000),
        "period": (1, 86_400),
        "known_after": (0, 86_400 * 30),
        "start_delay": (0, 86_400),
    }
)


def _read_throttle(r: Reader, node: Node) -> ThrottleConfig | None:
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
        on = r.boolean(node, "irc.throttle")
        return ThrottleConfig() if on else None
    m = r.mapping(node, "irc.throttle", _THROTTLE_RANGES)
    values: dict[str, Any] = {}
    for key, value in (m or {}).items():
        lo, hi = _THROTTLE_RANGES[key]
        got = r.number(value, f"irc.throttle.{key}", lo, hi, integer=key == "new_users")
        if got is not None:
            values[key] = got
    return ThrottleConfig(**values)


def _check_server_name(value: str) -> str | None:
    # A server name needs a dot so that clients can tell it from a nickname.
    if "." not in value or not _HOSTNAME.match(value) or len(value) > 63:
        return "expected a host name with at least one dot, at most 63 characters"
    return None


def load_irc_config(path: str | os.PathLike[str]) -> IrcConfig:
    """Load the `irc:` section from a gateway YAML file, or a file holding only that section."""
    filename = os.fspath(path)
    root = read_file(filename)
    if isinstance(root, MappingNode):
        for key_node, value in root.value:
            if isinstance(key_node, ScalarNode) and key_node.value == "irc":
                return irc_config_from_node(value, filename)
    return irc_config_from_node(root, filename)
