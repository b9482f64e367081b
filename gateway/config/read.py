"""Reading the gateway's YAML file into a `Config`: every problem at once, with its line.

The fields' declarations (`schema.py`) say how most keys are read (`fields.build`); the
readers here add what a declaration cannot: lists of channels, paths relative to the
file, the cross-field checks, and the `irc:` section (the embedded server's, read by
`ircd.config`, or `mode: external`).
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, SequenceNode

from gateway.callsign import parse_callsign
from gateway.config.fields import build, keys, read_field
from gateway.config.schema import (
    IRC_MODES,
    AuthConfig,
    BridgeConfig,
    BulletinFeed,
    CallsignDelayConfig,
    Config,
    ExternalIrc,
    GatewayBudgetConfig,
    MqttConfig,
    NodeBudgetConfig,
    RadioConfig,
    RadioPort,
    SourcePenaltyConfig,
    TelnetListener,
)
from ircd.config import DEFAULT_CONFIG as DEFAULT_IRC
from ircd.config import IrcConfig, irc_config_from_node
from ircd.config.read import BOTH
from ircd.config.sections import check_host, same_socket
from ircd.shown import shown_text
from ircd.yamlreader import ConfigError, Reader, Section, describe, is_null, read_file

#: `irc:` keys that still mean something in external mode (the network's name, for the
#: login banner and the MQTT topic).
_EXTERNAL_ALSO = frozenset({"network", "server_name"})
_CHANNEL = re.compile(r"#[^\s,\x00-\x1f]{1,49}")
_SERVICE_NICK = re.compile(r"[A-Za-z][A-Za-z0-9]{0,29}")
_TOPIC_PART = re.compile(r"[A-Za-z0-9_/-]{1,100}")
_MQTT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
#: Servers in an `irc.external.host` list.
MAX_SERVERS = 16
#: The shortest `irc.external.radio_key`: guessing it must not be cheap.
MIN_RADIO_KEY = 16


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, parse and validate a config file; raise ConfigError listing every problem."""
    return config_from_node(read_file(path), os.fspath(path))


def config_from_node(root: yaml.Node | None, name: str) -> Config:
    """Validate a composed YAML tree (from file `name`) into a Config."""
    r = Reader(name)
    top = Section(r, root, "", keys(Config))
    base = Path(name).resolve().parent
    irc: list[tuple[IrcConfig, ExternalIrc | None]] = []
    #: Whether the file gives auth.gateway_budget.leak_every (else it follows the nodes).
    leak_given: list[bool] = []

    def auth(section: Section, key: str) -> AuthConfig:
        a = section.section(key, keys(AuthConfig))
        node = a.entries.get("gateway_budget")  # read as a section once, by _auth
        given = isinstance(node, yaml.MappingNode) and any(
            getattr(k, "value", None) == "leak_every" for k, _ in node.value
        )
        leak_given.append(given)
        return _auth(a)

    def irc_pair(section: Section, key: str) -> tuple[IrcConfig, ExternalIrc | None]:
        if not irc:  # `irc:` holds both the embedded server's settings and `mode`
            irc.append(_irc(r, section.entries.get(key), name))
        return irc[0]

    def _data_dir(section: Section, key: str) -> Path | None:
        path = _path(base, section.string(key, "data"))
        if path is not None and path.exists() and not path.is_dir():
            section.problem(key, f"is not a directory: {path}")  # `run` would stop there
        return path

    config = build(
        top,
        Config,
        given={"path": name},
        custom={
            "data_dir": _data_dir,
            "key_file": lambda s, k: _path(base, s.string(k, "")) if k in s.entries else None,
            "auth": auth,
            "telnet_listen": lambda s, k: _telnet(s.section(k, {"listen"})),
            "callsign": _station_callsign,
            "radio": lambda s, k: _radio(s.section(k, keys(RadioConfig))),
            "bridge": lambda s, k: _bridge(s.section(k, keys(BridgeConfig))),
            "mqtt": lambda s, k: _mqtt(s.section(k, keys(MqttConfig))) if k in s.entries else None,
            "irc": lambda s, k: irc_pair(s, k)[0],
            "irc_external": lambda s, k: irc_pair(s, k)[1],
        },
    )
    if config.mqtt and config.callsign is None and config.mqtt.name is None:
        # The name is the broker's client id and the topics: two gateways with the
        # same one would take each other's session and publish as one.
        top.problem("mqtt", "give callsign or mqtt.name: the gateway's name on the broker "
                    "(client id <prefix>-<name>, topics <prefix>/<name>/...), unique among "
                    "the gateways that share it")  # fmt: skip
    ext = config.irc_external
    service = config.bridge.service_nick.lower()
    if ext and ext.service_nicks and service not in (n.lower() for n in ext.service_nicks):
        own = config.bridge.service_nick
        where = _node_at(root, "irc", "external", "service_nicks")
        same = f"list bridge.service_nick ({own}) too: the same list on every gateway"
        r.error(where, "irc.external.service_nicks", same)
    _ports_taken_twice(top, config)
    if config.radio.ports and config.callsign is None:
        missing = [p.name for p in config.radio.ports if p.callsign is None]
        if missing:
            top.problem("callsign", "required by radio.ports (the gateway's own, e.g. N0GW-10)")
    r.raise_if_problems()
    return config if any(leak_given) else _gateway_budget_for_nodes(config)


def _node_at(node: yaml.Node | None, *keys: str) -> yaml.Node | None:
    """The node under `keys` in nested mappings (for its line), or None."""
    for key in keys:
        if not isinstance(node, MappingNode):
            return None
        node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
    return node


#: Seconds in a year (as `gateway.auth.penalties.YEAR`, which this module may not import).
_YEAR = 365.25 * 86400.0


def _gateway_budget_for_nodes(config: Config) -> Config:
    """The gateway-wide buckets: strangers off the air, and with R radio nodes (BPQ
    listeners, AX.25 ports) strangers on the air and each node's familiar sources, so
    2 + R buckets. The default leak slows so that they allow no more checks a year in
    all than two buckets at the default (2 x (100 + YEAR / 6 h) = 3,122: under 1 % that
    any account's code is found), each bucket's burst counted."""
    nodes = sum(1 for t in config.telnet_listen if t.bpq) + len(config.radio.ports)
    base = config.auth.gateway
    lanes = 2 + nodes if nodes else 1
    if lanes <= 2:
        return config
    per_lane = 2 * (base.burst + _YEAR / base.leak_every) / lanes - base.burst
    slower = _YEAR / per_lane if per_lane > 0 else 30 * 86400.0  # the field's most
    gateway = replace(base, leak_every=max(base.leak_every, slower))
    return replace(config, auth=replace(config.auth, gateway=gateway))


def _path(base: Path, text: str) -> Path | None:
    """Relative paths in the file are relative to the file's directory ("": none)."""
    if not text:
        return None
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _station_callsign(section: Section, name: str) -> str | None:
    if name not in section.entries:
        return None
    text = section.reader.string(section.entries[name], section.path(name), numbers=True)
    if text is None:  # the problem is told
        return None
    call = parse_callsign(text)
    if call is None:
        section.problem(
            name, f"expected a callsign with optional SSID (N0GW-10), got {shown_text(text)}"
        )
        return None
    return str(call)


def _auth(a: Section) -> AuthConfig:
    s = a.section("source_penalty", keys(SourcePenaltyConfig))
    source = build(s, SourcePenaltyConfig)
    if source.grace >= source.max:
        s.problem("grace", f"must be less than {s.path('max')} ({source.max:g})")
    c = a.section("callsign_delay", keys(CallsignDelayConfig, extra={"step"}))
    if "step" in c.entries:
        c.problem("step", "no longer used: the budget leaks one failure every leak_every seconds")
    given = {
        "source": source,
        "callsign": build(c, CallsignDelayConfig),
        "node": build(a.section("node_budget", keys(NodeBudgetConfig)), NodeBudgetConfig),
        "gateway": build(
            a.section("gateway_budget", keys(GatewayBudgetConfig)), GatewayBudgetConfig
        ),
    }
    return build(a, AuthConfig, given=given)


def _ports_taken_twice(top: Section, config: Config) -> None:
    """A telnet listener on a port the embedded IRC server listens on (check-config
    said OK and `run` failed with "cannot listen")."""
    if config.irc_external is not None:
        return
    irc = [(x.host, x.port) for x in config.irc.listen]
    for t in config.telnet_listen:
        for host, port in irc:
            if same_socket((host, port), (t.host, t.port)):
                top.problem("telnet", f"listener {t.label}: port {port} is the IRC server's "
                            f"(irc.listen {host}:{port})")  # fmt: skip


def _telnet(t: Section) -> tuple[TelnetListener, ...]:
    if t.node is None:
        return (TelnetListener(),)
    out: list[TelnetListener] = []
    seen: dict[tuple[str, int], str] = {}
    if is_null(t.entries.get("listen", t.node)):  # `listen:` with every item commented out
        t.problem("listen", "expected a list of listeners (listen: [] for none), got nothing")
    for key, item in t.items("listen"):
        if not isinstance(item, MappingNode):  # `- ~` is no default listener
            t.reader.error(item, key, f"expected a mapping, got {describe(item)}")
            continue
        m = Section(t.reader, item, key, keys(TelnetListener))
        bpq = m.boolean("bpq", True)
        # Off a BPQ node: a per-IP limit, a shorter login, no pace (see TelnetListener).
        defaults = {} if bpq else {"max_per_ip": 3, "login_timeout": 60.0, "bytes_per_second": 0.0}
        listener = build(m, TelnetListener, given={"bpq": bpq}, defaults=defaults)
        where = (listener.host, listener.port)
        wrong = check_host(listener.host)
        if wrong:
            m.problem("host", f"{wrong}, got {shown_text(listener.host)}")
        if where in seen:
            m.problem("port", f"same host and port as {seen[where]}")
        for other, name in seen.items():
            if other != where and same_socket(other, where):
                m.problem("port", f"{listener.host}:{listener.port} and {name} "
                          f"({other[0]}:{other[1]}) {BOTH}")  # fmt: skip
        seen[where] = key
        out.append(listener)
    labels = [x.label for x in out]
    if len(set(labels)) != len(labels):
        t.problem("listen", "listener names must be unique")
    return tuple(out)


def _radio(section: Section) -> RadioConfig:
    ports: list[RadioPort] = []
    for key, item in section.items("ports"):
        ports.append(_radio_port(Section(section.reader, item, key, keys(RadioPort)), len(ports)))
    names = [p.name for p in ports]
    if len(set(names)) != len(names):
        section.problem("ports", "port names must be unique")
    radio = build(section, RadioConfig, given={"ports": tuple(ports)})
    text = radio.id_text
    if text and not (text.isascii() and text.isprintable() and len(text) <= 200):
        section.problem("id_text", "expected up to 200 printable ASCII characters")
    return radio


def _tcp(m: Section, key: str) -> tuple[str, int] | None:
    if key not in m.entries:
        return None
    text = m.string(key, "")
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        m.problem(key, f"expected HOST:PORT (e.g. 127.0.0.1:8001), got {shown_text(text)}")
        return None
    return (host.strip("[]"), int(port))


def _radio_port(m: Section, index: int) -> RadioPort:
    given = {"tcp": _tcp(m, "tcp"), "serial": read_field(m, RadioPort, "serial")}
    if ("tcp" in m.entries) == ("serial" in m.entries):
        m.problem("tcp", "give exactly one of tcp: HOST:PORT or serial: DEVICE")
    return build(
        m,
        RadioPort,
        given=given,
        defaults={"name": f"radio{index}"},
        custom={"callsign": _station_callsign},
    )


def _channels(section: Section, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for key, item in section.items(name):
        text = section.reader.string(item, key)
        if text is None:
            continue
        # '#' starts a YAML comment unless quoted: "hamradio" means #hamradio too.
        text = text if text.startswith("#") else "#" + text
        if not _CHANNEL.fullmatch(text):
            section.reader.error(
                item, key, f"expected a channel like #hamradio, got {shown_text(text)}"
            )
        else:
            out.append(text)
    return tuple(out)


def _bridge(b: Section) -> BridgeConfig:
    bridge = build(b, BridgeConfig, custom={"autojoin": _channels, "archive_channels": _channels})
    if not _SERVICE_NICK.fullmatch(bridge.service_nick):
        b.problem(
            "service_nick",
            f"expected a nick of letters and digits, got {shown_text(bridge.service_nick)}",
        )
    return bridge


def _feed_channel(f: Section, key: str) -> str:
    channel = f.string(key, "#bulletins")
    channel = channel if channel.startswith("#") else "#" + channel
    if not _CHANNEL.fullmatch(channel):
        f.problem(key, f"expected a channel like #wx, got {shown_text(channel)}")
    return channel


def _feed(f: Section) -> BulletinFeed:
    feed = build(
        f,
        BulletinFeed,
        defaults={"topic": "#", "nick": "Bulletin"},
        custom={"channel": _feed_channel},
    )
    if not _SERVICE_NICK.fullmatch(feed.nick):
        f.problem("nick", f"expected a nick of letters and digits, got {shown_text(feed.nick)}")
    if "\0" in feed.topic or len(feed.topic) > 200:
        f.problem("topic", "expected an MQTT topic filter up to 200 characters")
    return feed


def _mqtt(m: Section) -> MqttConfig:
    feeds = tuple(_feed(Section(m.reader, item, key, keys(BulletinFeed)))
                  for key, item in m.items("bulletins"))  # fmt: skip
    mqtt = build(m, MqttConfig, given={"bulletins": feeds})
    if mqtt.name is not None and not _MQTT_NAME.fullmatch(mqtt.name):
        m.problem("name", f'expected letters, digits, "-" and "_", got {shown_text(mqtt.name)}')
    for key in ("prefix", "discovery_prefix"):
        value = getattr(mqtt, key)
        if not _TOPIC_PART.fullmatch(value):
            m.problem(key, f'expected letters, digits, "-", "_" and "/", got {shown_text(value)}')
    return mqtt


def _irc(r: Reader, node: yaml.Node | None, name: str) -> tuple[IrcConfig, ExternalIrc | None]:
    """`irc:`: the embedded server's settings (checked by ircd), or `mode: external`."""
    ours = {"mode", "external"}
    if isinstance(node, MappingNode) and any(k.value in ours for k, _ in node.value):
        mine = MappingNode(node.tag, [kv for kv in node.value if kv[0].value in ours])
        rest = [kv for kv in node.value if kv[0].value not in ours]
        node = MappingNode(node.tag, rest, node.start_mark, node.end_mark)
        m = Section(r, mine, "irc", ours)
        if m.choice("mode", "embedded", IRC_MODES) == "external":
            for key, _ in rest:
                if key.value not in _EXTERNAL_ALSO:
                    m.problem("mode", f"irc.{key.value} is for the embedded server only; "
                              "remove it in external mode")  # fmt: skip
            return _irc_embedded(r, node, name), _external(m.section("external", keys(ExternalIrc)))
        if "external" in m.entries:
            m.problem("external", "only read with irc.mode: external")
    return _irc_embedded(r, node, name), None


def _irc_embedded(r: Reader, node: yaml.Node | None, name: str) -> IrcConfig:
    try:
        return irc_config_from_node(node, name)
    except ConfigError as exc:
        r.merge(exc)
        return DEFAULT_IRC


def _external(e: Section) -> ExternalIrc:
    if "host" not in e.entries:
        e.problem("host", "the IRC network's host name is required in external mode")
    tls = e.boolean("tls", False)
    given: dict[str, Any] = {"tls": tls}
    port = given["port"] = read_field(e, ExternalIrc, "port", 6697 if tls else 6667)
    if isinstance(e.entries.get("host"), SequenceNode):
        servers = _servers(e, port) or [("", port)]
        (given["host"], given["port"]), given["failover"] = servers[0], tuple(servers[1:])
    for key in ("host", "webirc_password", "webirc_gateway"):
        if key in given:
            continue
        # The host has no default: "" when missing (a problem above).
        default = "" if key == "host" else dataclasses.MISSING
        text = given[key] = read_field(e, ExternalIrc, key, default)
        if text and not _one_word(text):
            e.problem(key, "expected one word, without spaces (and not starting with ':')")
    given["password"] = read_field(e, ExternalIrc, "password")
    if any(c in (given["password"] or "") for c in "\0\r\n"):
        e.problem("password", "expected one line")
    key = given["radio_key"] = read_field(e, ExternalIrc, "radio_key")
    if key is not None and (len(key) < MIN_RADIO_KEY or not _one_word(key)):
        e.problem("radio_key", f"expected one word of at least {MIN_RADIO_KEY} characters")
    external = build(e, ExternalIrc, given=given, custom={"service_nicks": _service_nicks})
    if external.service_nicks and key is None:
        e.problem("service_nicks", "needs radio_key: mail is taken only from the gateways "
                  "that hold it")  # fmt: skip
    return external


def _service_nicks(section: Section, name: str) -> tuple[str, ...]:
    """`service_nicks: [N0GWmail, W2GWmail]`: every gateway's service nick on the network."""
    out: list[str] = []
    for key, item in section.items(name):
        text = section.reader.string(item, key)
        if text is None:
            continue
        if not _SERVICE_NICK.fullmatch(text):
            section.reader.error(
                item, key, f"expected a nick of letters and digits, got {shown_text(text)}"
            )
        elif text.lower() not in (nick.lower() for nick in out):
            out.append(text)
    if len(out) > MAX_SERVERS:
        section.problem(name, f"at most {MAX_SERVERS} service nicks")
    return tuple(out[:MAX_SERVERS])


def _one_word(text: str) -> bool:
    return not text.startswith(":") and not any(c.isspace() or c == "\0" for c in text)


def _servers(e: Section, port: int) -> list[tuple[str, int]]:
    """`host: [irc1.example.net, "irc2.example.net:6668", "[2001:db8::1]:6697"]`: the
    servers to try in order, each on `port` unless it says its own."""
    found: list[tuple[str, int]] = []
    for path, node in e.items("host"):
        text = e.reader.string(node, path)
        if text is None:
            continue
        server = _server(text, port)
        if server is None or not _one_word(text):
            e.reader.error(node, path, f'expected "host" or "host:port", got {shown_text(text)}')
        elif server in found:
            e.reader.error(node, path, f'"{text}" is listed twice')
        else:
            found.append(server)
    if not found:
        e.problem("host", "expected at least one server")
    elif len(found) > MAX_SERVERS:
        e.problem("host", f"at most {MAX_SERVERS} servers")
    return found[:MAX_SERVERS]


def _server(text: str, port: int) -> tuple[str, int] | None:
    """`host`, `host:port`, `[v6]:port` or a bare IPv6 address; None if malformed."""
    if text.startswith("["):
        host, bracket, tail = text[1:].partition("]")
        if not bracket or (tail and not tail.startswith(":")):
            return None
        tail = tail[1:]
    elif text.count(":") == 1:
        host, _, tail = text.partition(":")
    else:
        host, tail = text, ""  # no port, or a bare IPv6 address
    if tail:
        if not tail.isdigit() or not 1 <= int(tail) <= 65535:
            return None
        port = int(tail)
    if not host or "[" in host or "]" in host:
        return None
    return host, port
