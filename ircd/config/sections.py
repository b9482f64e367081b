"""Readers of the nested parts of `irc:` (listeners, limits, opers, allow, groups, ...).

Each takes the `Reader` (which collects every problem with its line) and the node, and
returns the frozen value, or None where the node is wrong (the problem is recorded).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import fields
from types import MappingProxyType
from typing import Any, Final

from yaml.nodes import Node, ScalarNode

from ircd.cloak import MIN_KEY_LENGTH
from ircd.config.schema import (
    AllowConfig,
    CloakConfig,
    Limits,
    Listener,
    OperConfig,
    TlsConfig,
)
from ircd.history import MAX_SIZE as HISTORY_MAX_SIZE
from ircd.masks import BUILTIN_GROUPS, MATCH_ALL, MaskItem
from ircd.passwords import check_hash_format
from ircd.protocol import MAX_LINE
from ircd.throttle import ThrottleConfig
from ircd.yamlreader import BOOL_TAG, STR_TAG, Reader

HOSTNAME: Final = re.compile(
    r"(?=.{1,253}\Z)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z"
)
NETWORK: Final = re.compile(r"[A-Za-z0-9._-]{1,32}\Z")
OPER_NAME: Final = re.compile(r"[A-Za-z0-9._\-\[\]\\`^{|}]{1,32}\Z")
HASH_COMMAND: Final = "python -m ircd hash-password"


# (minimum, maximum) for each numeric limit.
_LIMIT_RANGES: Final[Mapping[str, tuple[float, float]]] = MappingProxyType(
    {
        "nicklen": (1, 64),
        "channellen": (2, 64),
        "topiclen": (1, 390),
        "awaylen": (1, 390),
        "kicklen": (1, 390),
        "max_clients": (1, 1_000_000),
        "max_unregistered": (1, 1_000_000),
        "login_reserve": (0, 1_000_000),
        "max_per_address": (0, 1_000_000),
        "max_channels": (1, 1_000_000),
        "max_channels_per_client": (1, 1000),
        "max_channels_per_address": (1, 1_000_000),
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


def check_host(value: str) -> str | None:
    """None for an IP address or a host name ("::g", "[::1]" and "999.1.1.1" are neither;
    a name is not looked up: that could wait on DNS at every check and reload)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if value.startswith("[") and value.endswith("]"):
            return "expected an IP address without brackets"
        if HOSTNAME.match(value) and not all(label.isdigit() for label in value.split(".")):
            return None
        return "expected an IP address or a host name"
    return None


def same_socket(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """Whether listeners on `a` and `b` (host, port) cannot both bind: the same port and
    address, or the port on one family's wildcard address (0.0.0.0 or ::) and any address
    of that family (a host name: any wildcard). asyncio binds :: for IPv6 only, so
    0.0.0.0 and :: go together."""
    if a[1] != b[1]:
        return False
    if a[0] == b[0] or "" in (a[0], b[0]):
        return True
    try:
        x, y = ipaddress.ip_address(a[0]), ipaddress.ip_address(b[0])
    except ValueError:
        # A host name: its addresses are not known here, but a wildcard takes them all.
        return any(_wildcard(h) for h in (a[0], b[0]))
    return x.version == y.version and (x.is_unspecified or y.is_unspecified or x == y)


def _wildcard(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def read_listener(r: Reader, node: Node, path: str, base: str) -> Listener | None:
    m = r.mapping(node, path, ("host", "port", "tls", "websocket", "origins"))
    if m is None:
        return None
    for key in ("host", "port"):
        if key not in m:
            r.error(node, path, f"missing key {key!r}")
    host = r.string(m["host"], f"{path}.host", check_host) if "host" in m else None
    port = r.number(m["port"], f"{path}.port", 1, 65535, integer=True) if "port" in m else None
    tls = None
    tm = r.mapping(m["tls"], f"{path}.tls", ("cert", "key", "client_ca")) if "tls" in m else None
    if tm is not None:
        tls = read_tls(r, m["tls"], tm, f"{path}.tls", base)
        if tls is None:
            return None
    websocket = bool(r.boolean(m["websocket"], f"{path}.websocket")) if "websocket" in m else False
    origins = read_origins(r, m["origins"], f"{path}.origins") if "origins" in m else ()
    if origins and not websocket:
        r.error(m["origins"], f"{path}.origins", "only WebSocket listeners check origins")
    if host is None or port is None:
        return None
    return Listener(host=host, port=port, tls=tls, websocket=websocket, origins=origins)


def read_tls(r: Reader, node: Node, tm: dict[str, Node], path: str, base: str) -> TlsConfig | None:
    """A listener's `tls` (`tm`, its keys): cert and key (and client_ca), files that exist."""
    files: dict[str, str] = {}
    for key in ("cert", "key", "client_ca"):
        if key not in tm:
            if key != "client_ca":
                r.error(node, path, f"missing key {key!r}")
            continue
        name = r.string(tm[key], f"{path}.{key}")
        if name is None:
            continue
        full = os.path.join(base, os.path.expanduser(name))
        if not os.path.isfile(full):
            missing = "is a directory, not a file" if os.path.isdir(full) else "file not found"
            r.error(tm[key], f"{path}.{key}", f"{missing}: {full}")
            continue
        files[key] = full
    if "cert" in files and "key" in files and ("client_ca" in files) == ("client_ca" in tm):
        wrong = _tls_problem(files)
        if wrong is not None:
            r.error(tm[wrong[0]], f"{path}.{wrong[0]}", wrong[1])
            return None
        return TlsConfig(cert=files["cert"], key=files["key"], client_ca=files.get("client_ca"))
    return None


def _tls_problem(files: dict[str, str]) -> tuple[str, str] | None:
    """Load the files as the server will (`ircd.net.make_tls_context`), so that what it
    would refuse at start is a problem of check-config, naming the key and the file."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert, key, ca = files["cert"], files["key"], files.get("client_ca")
    try:
        step = "cert"
        context.load_verify_locations(cafile=cert)  # the certificate alone
        step = "key"
        context.load_cert_chain(cert, key, password=b"")  # never a passphrase prompt
        if ca is not None:
            step = "client_ca"
            context.load_verify_locations(cafile=ca)
    except ssl.SSLError as exc:
        if step == "key" and exc.reason == "KEY_VALUES_MISMATCH":
            return ("key", f"is not the key of tls.cert ({cert}): {key}")
        what = {
            "cert": "a PEM certificate",
            "key": "a PEM private key without a passphrase",
            "client_ca": "PEM certificates",
        }[step]
        return (step, f"expected {what}: {files[step]}")
    except OSError as exc:
        return (step, f"cannot read: {exc.strerror}: {files[step]}")
    return None


def check_origin(value: str) -> str | None:
    if value != "*" and not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s/]+", value):
        return 'expected an origin such as https://chat.example.org (globs allowed, "*": any)'
    return None


def read_origins(r: Reader, node: Node, path: str) -> tuple[str, ...]:
    items = r.sequence(node, path) or []
    names = [r.string(item, f"{path}[{i}]", check_origin) for i, item in enumerate(items)]
    return tuple(name for name in names if name is not None)


def read_password_hash(
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


def read_opers(r: Reader, node: Node, groups: set[str]) -> tuple[OperConfig, ...]:
    items = r.sequence(node, "irc.opers")
    opers: list[OperConfig] = []
    seen: set[str] = set()
    for i, item in enumerate(items or ()):
        path = f"irc.opers[{i}]"
        m = r.mapping(item, path, ("name", "password_hash", "password", "mask"))
        if m is None:
            continue
        name = r.string(m["name"], f"{path}.name", check_oper_name) if "name" in m else None
        if "name" not in m:
            r.error(item, path, "missing key 'name'")
        digest = read_password_hash(r, item, m, path, required=True)
        mask = read_mask(r, m["mask"], f"{path}.mask", groups) if "mask" in m else None
        if name is not None and name in seen:
            r.error(m["name"], f"{path}.name", f"duplicate oper name {json.dumps(name)}")
        elif name is not None and digest is not None:
            seen.add(name)
            opers.append(OperConfig(name=name, password_hash=digest, mask=mask))
    return tuple(opers)


def read_mask(r: Reader, node: Node, path: str, groups: set[str]) -> MaskItem | None:
    item = r.mask(node, path)
    if item is not None:
        for name in sorted(item.groups_used - groups):
            r.error(node, path, f"unknown security group {json.dumps(name)}")
    return item


def read_allow(r: Reader, node: Node, groups: set[str]) -> tuple[AllowConfig, ...]:
    blocks: list[AllowConfig] = []
    for i, item in enumerate(r.sequence(node, "irc.allow") or ()):
        path = f"irc.allow[{i}]"
        m = r.mapping(item, path, ("mask", "password_hash", "password"))
        if m is None:
            continue
        mask = read_mask(r, m["mask"], f"{path}.mask", groups) if "mask" in m else MATCH_ALL
        digest = read_password_hash(r, item, m, path, required=False)
        if mask is not None:
            blocks.append(AllowConfig(mask=mask, password_hash=digest))
    return tuple(blocks)


def read_security_groups(r: Reader, node: Node) -> tuple[tuple[str, MaskItem], ...]:
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
        name = r.string(m["name"], f"{path}.name", check_oper_name) if "name" in m else None
        mask = read_mask(r, m["mask"], f"{path}.mask", known) if "mask" in m else None
        if name is not None and name in known:
            r.error(m["name"], f"{path}.name", f"security group {json.dumps(name)} exists already")
        elif name is not None and mask is not None:
            known.add(name)
            groups.append((name, mask))
    return tuple(groups)


def check_oper_name(value: str) -> str | None:
    return None if OPER_NAME.match(value) else "expected 1-32 letters, digits or -_.[]\\`^{|}"


def read_limits(r: Reader, node: Node) -> Limits:
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


def read_cloak(r: Reader, node: Node) -> CloakConfig | None:
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
                lambda v: None if HOSTNAME.match(v) and len(v) <= 16 else "expected a short label",
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
        "per_address": (1, 1_000_000),
        "per_address_period": (1, 86_400),
    }
)


def read_throttle(r: Reader, node: Node) -> ThrottleConfig | None:
    if isinstance(node, ScalarNode) and node.tag == BOOL_TAG:
        on = r.boolean(node, "irc.throttle")
        return ThrottleConfig() if on else None
    m = r.mapping(node, "irc.throttle", _THROTTLE_RANGES)
    values: dict[str, Any] = {}
    for key, value in (m or {}).items():
        lo, hi = _THROTTLE_RANGES[key]
        integer = key in ("new_users", "per_address")
        got = r.number(value, f"irc.throttle.{key}", lo, hi, integer=integer)
        if got is not None:
            values[key] = got
    return ThrottleConfig(**values)


def check_server_name(value: str) -> str | None:
    # A server name needs a dot so that clients can tell it from a nickname.
    if "." not in value or not HOSTNAME.match(value) or len(value) > 63:
        return "expected a host name with at least one dot, at most 63 characters"
    return None
