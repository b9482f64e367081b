"""The gateway's configuration: one YAML file, validated into frozen dataclasses.

`load_config(path)` reads and checks everything at once and raises one ConfigError
listing every problem with its line. `default_config()` is what runs without a file:
loopback only. On SIGHUP the application builds a new Config and swaps it in whole.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from yaml.nodes import MappingNode

from gateway.callsign import parse_callsign
from ircd.config import DEFAULT_CONFIG as DEFAULT_IRC
from ircd.config import IrcConfig, irc_config_from_node
from ircd.yamlreader import ConfigError, Reader, Section, read_file

__all__ = [
    "AuthConfig",
    "BridgeConfig",
    "BulletinFeed",
    "CallsignDelayConfig",
    "Config",
    "ConfigError",
    "ExternalIrc",
    "MqttConfig",
    "NodeBudgetConfig",
    "RadioConfig",
    "RadioPort",
    "SourcePenaltyConfig",
    "TelnetListener",
    "default_config",
    "load_config",
]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, slots=True)
class SourcePenaltyConfig:
    """OpenSSH-style penalties per source: each failure adds time, enforced past a grace."""

    per_failure: float = 30.0
    grace: float = 60.0
    max: float = 600.0
    max_entries: int = 65536


@dataclass(frozen=True, slots=True)
class CallsignDelayConfig:
    """The guessing budget per callsign: a leaky bucket of checked failures (SECURITY.md).

    At most `burst` wrong codes are checked at once; the bucket then leaks one failure
    every `leak_every` seconds, so no strategy gets more than burst + T / leak_every
    checks in any T seconds. A good login does not empty it; nothing but the sysop does.
    A warning goes out when `warn_after` failures accrue faster than `warn_after` per
    `warn_window`. A quiet callsign's row is dropped `forget_after` seconds after its
    counters have run down.
    """

    burst: int = 10
    leak_every: float = 28800.0
    warn_after: int = 5
    warn_window: float = 7 * 86400.0
    forget_after: float = 86400.0
    max_entries: int = 65536


@dataclass(frozen=True, slots=True)
class NodeBudgetConfig:
    """The same bucket per node across callsigns: bounds spraying many callsigns at once.

    A node is what the source can least forge: the listener behind a BPQ node, the radio
    port, the address (the /64 for IPv6) on a direct telnet listener or of a SASL client.
    """

    burst: int = 20
    leak_every: float = 300.0
    warn_after: int = 20
    warn_window: float = 86400.0
    max_entries: int = 4096


@dataclass(frozen=True, slots=True)
class AuthConfig:
    issuer: str = "Packet IRC Gateway"
    attempts_per_connection: int = 3
    failure_pause: float = 2.0
    source: SourcePenaltyConfig = field(default_factory=SourcePenaltyConfig)
    callsign: CallsignDelayConfig = field(default_factory=CallsignDelayConfig)
    node: NodeBudgetConfig = field(default_factory=NodeBudgetConfig)


@dataclass(frozen=True, slots=True)
class TelnetListener:
    host: str = "127.0.0.1"
    port: int = 8023
    bpq: bool = True
    name: str = ""
    allow: tuple[Network, ...] = ()
    max_connections: int = 20
    #: Connections still logging in; past it one of them is dropped (MaxStartups; which
    #: one: `gateway.links.startups`).
    max_unauthenticated: int = 5
    max_per_ip: int = 0
    login_timeout: float = 180.0
    idle_timeout: float = 900.0
    max_line: int = 256
    #: The radio's pace for output (0: none). A BPQ node buffers without limit, so its
    #: listener paces at about 1200 baud; a direct listener only if the sysop asks.
    bytes_per_second: float = 100.0
    packet_bytes: int = 256
    #: What leaves at once after a pause (about a page): answers do not crawl, while a
    #: sustained stream is held at the pace, where it can be stopped and summarised.
    burst_bytes: int = 2048

    @property
    def label(self) -> str:
        """Stable name of the listener, used in penalty keys and logs."""
        return self.name or f"{self.host}:{self.port}"

    def allows(self, address: str) -> bool:
        """CIDR safelist check; an empty list allows everyone."""
        if not self.allow:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in net for net in self.allow)


@dataclass(frozen=True, slots=True)
class RadioPort:
    """One KISS TNC: `tcp: HOST:PORT` or `serial: DEVICE` (with `baud`), and AX.25 settings."""

    name: str
    tcp: tuple[str, int] | None = None
    serial: str | None = None
    baud: int = 9600
    tnc_port: int = 0
    #: This port's own callsign (with SSID); None: the top-level `callsign`.
    callsign: str | None = None
    k: int = 4
    #: Window on an AX.25 v2.2 link (1-127); v22 false answers SABME with DM.
    k_extended: int = 32
    v22: bool = True
    paclen: int = 256
    n2: int = 10
    t1: float = 3.0
    #: Acknowledgement delay (s); None: just over one full frame's airtime.
    t2: float | None = None
    t3: float = 300.0
    bit_rate: int = 1200
    tx_delay: float = 0.3
    #: Sent to the TNC as KISS commands at start and on reconnect (tnc_setup false: not).
    tnc_setup: bool = True
    persistence: float = 0.25
    slot_time: float = 0.1
    tx_tail: float = 0.1
    full_duplex: bool = False
    max_links: int = 8
    #: Links still logging in; past it one of them is dropped (MaxStartups; which one:
    #: `gateway.links.startups`).
    max_unauthenticated: int = 3
    login_timeout: float = 180.0
    idle_timeout: float = 900.0
    #: Percent of any 10 minutes this port may transmit (None: no limit).
    duty_cycle: float | None = None


@dataclass(frozen=True, slots=True)
class RadioConfig:
    #: False: the transmitter switch starts off (no frames at all but DM refusals).
    transmit: bool = True
    id_text: str | None = None
    id_interval: float = 600.0
    ports: tuple[RadioPort, ...] = ()


THIRD_PARTY = ("all", "identified", "radio")


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """How radio users chat on IRC (`bridge:`)."""

    #: Whose IRC text goes on air: all, identified (logged-in accounts), radio (radio users).
    third_party: str = "identified"
    #: Lines are wrapped at this width (0: never).
    width: int = 80
    #: Long replies stop after this many lines with `more? (Enter/N)` (0: never).
    page_lines: int = 20
    #: Live chat lines queued for a slow link before the rest is counted and summarised.
    queue_lines: int = 30
    #: Lines of a channel shown on /JOIN (0: none).
    join_history: int = 3
    #: Lines /READ #chan shows at once.
    read_lines: int = 20
    #: Channels every radio user joins at login.
    autojoin: tuple[str, ...] = ()
    #: The gateway's own nick on IRC (mailbox notices, the archive).
    service_nick: str = "Gateway"
    #: Channels whose every message is kept for /NEW and /READ #chan.
    archive_channels: tuple[str, ...] = ()
    archive_max_messages: int = 10000
    archive_max_age: float = 90 * 86400.0
    #: Messages held per callsign, and for how long.
    mailbox_max_messages: int = 50
    mailbox_max_age: float = 30 * 86400.0


MQTT_MESSAGES = ("off", "metadata", "text")
IRC_MODES = ("embedded", "external")


#: The longest bulletin one IRC line carries whole: 512 bytes less CRLF, the longest
#: `:nick!user@host` a network puts in front (106), ` PRIVMSG `, a channel of 50 and ` :`.
BULLETIN_MAX = 340


@dataclass(frozen=True, slots=True)
class BulletinFeed:
    """An MQTT topic whose messages a named pseudo-user posts in a channel."""

    topic: str
    channel: str
    nick: str
    #: Longest bulletin posted (longer ones are cut, with "..."); at most BULLETIN_MAX.
    max_length: int = 300
    #: At most one bulletin per this many seconds; the rest are dropped and counted.
    min_interval: float = 60.0
    #: The sysop vouches that this feed may go on air to radio users (third-party rule).
    on_air: bool = False


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """`mqtt:`: events out, bulletins in. None in Config when the section is absent."""

    host: str = "127.0.0.1"
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None
    prefix: str = "packetgw"
    qos: int = 0
    #: Events kept while the broker is away (the oldest go first, counted).
    queue: int = 1000
    #: Chat relayed to or from the air: off, metadata (no text) or text.
    messages: str = "off"
    bulletins: tuple[BulletinFeed, ...] = ()
    #: Publish Home Assistant discovery messages (retained) under `discovery_prefix`.
    home_assistant: bool = False
    discovery_prefix: str = "homeassistant"
    #: This gateway's name in its topics and in Home Assistant (`<prefix>/<name>/...`);
    #: None: the callsign. Required on a network without a callsign: two gateways
    #: would share topics, and one's last will would mark the other offline.
    name: str | None = None


@dataclass(frozen=True, slots=True)
class ExternalIrc:
    """`irc.external` (with `irc.mode: external`): the IRC network radio users join."""

    host: str
    port: int = 6667
    tls: bool = False
    #: Check the network's certificate (turn off only for a self-signed test network).
    tls_verify: bool = True
    #: The network's connection password (PASS), if it has one.
    password: str | None = field(default=None, repr=False)
    #: The WEBIRC password the network gave this gateway; none sends no WEBIRC.
    webirc_password: str | None = field(default=None, repr=False)
    #: The gateway name WEBIRC gives (InspIRCd logs it; ngircd takes it as the user name).
    webirc_gateway: str = "packet-gateway"
    connect_timeout: float = 30.0
    #: Seconds within which a hung server is noticed (PING at half of it), then reconnect.
    ping_timeout: float = 60.0


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None
    data_dir: Path = Path("data")
    key_file: Path | None = None
    log_level: str = "info"
    #: Seconds a stop (SIGTERM, DIE) may take; every step has its share, then it is left.
    shutdown_timeout: float = 10.0
    auth: AuthConfig = field(default_factory=AuthConfig)
    telnet_listen: tuple[TelnetListener, ...] = (TelnetListener(),)
    #: The gateway's own callsign with SSID, e.g. N0GW-10 (needed by radio ports).
    callsign: str | None = None
    radio: RadioConfig = field(default_factory=RadioConfig)
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    mqtt: MqttConfig | None = None
    #: The embedded IRC server (`irc:`; validated by ircd itself).
    irc: IrcConfig = DEFAULT_IRC
    #: `irc.mode: external`: the network to join instead (no embedded server runs).
    irc_external: ExternalIrc | None = None

    @property
    def secret_key_path(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "secret.key"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "gateway.db"


def default_config() -> Config:
    """Built-in defaults: data in ./data, one BPQ listener on 127.0.0.1:8023."""
    return Config()


_TOP = frozenset(
    {
        "data_dir", "key_file", "log_level", "shutdown_timeout", "auth", "telnet", "irc",
        "radio", "callsign", "mqtt", "bridge",
    }
)  # fmt: skip
_BRIDGE = frozenset(
    {
        "third_party", "width", "page_lines", "queue_lines", "join_history", "read_lines",
        "autojoin", "service_nick", "archive", "mailbox",
    }
)  # fmt: skip
_ARCHIVE = frozenset({"channels", "max_messages", "max_age"})
_EXTERNAL = frozenset(
    {
        "host", "port", "tls", "tls_verify", "password", "webirc_password", "webirc_gateway",
        "connect_timeout", "ping_timeout",
    }
)  # fmt: skip
#: `irc:` keys that still mean something in external mode (the network's name, for the
#: login banner and the MQTT topic).
_EXTERNAL_ALSO = frozenset({"network", "server_name"})
_MQTT = frozenset(
    {"host", "port", "tls", "username", "password", "prefix", "qos", "queue", "messages",
     "bulletins", "home_assistant", "discovery_prefix", "name"}
)  # fmt: skip
_FEED = frozenset({"topic", "channel", "nick", "max_length", "min_interval", "on_air"})
_MAILBOX = frozenset({"max_messages", "max_age"})
_AUTH = frozenset(
    {
        "issuer", "attempts_per_connection", "failure_pause", "source_penalty",
        "callsign_delay", "node_budget",
    }
)  # fmt: skip
_SOURCE = frozenset({"per_failure", "grace", "max", "max_entries"})
_CALL = frozenset(
    {
        "burst", "leak_every", "warn_after", "warn_window", "forget_after", "max_entries",
        # Names from the T x A delays this budget replaced (see _auth).
        "free_failures", "max", "step",
    }
)  # fmt: skip
_NODE = frozenset({"burst", "leak_every", "warn_after", "warn_window", "max_entries"})
_TELNET = frozenset({"listen"})
_RADIO = frozenset({"transmit", "id_text", "id_interval", "ports"})
_PORT = frozenset(
    {
        "name", "tcp", "serial", "baud", "tnc_port", "callsign", "k", "paclen", "n2", "t1",
        "t3", "bit_rate", "tx_delay", "max_links", "max_unauthenticated", "duty_cycle",
        "k_extended", "v22", "t2", "tnc_setup", "persistence", "slot_time", "tx_tail",
        "full_duplex",
        "login_timeout",
        "idle_timeout",
    }
)  # fmt: skip
_LISTEN = frozenset(
    {
        "host", "port", "bpq", "name", "allow", "max_connections", "max_unauthenticated",
        "max_per_ip",
        "login_timeout", "idle_timeout", "max_line", "bytes_per_second", "packet_bytes",
        "burst_bytes",
    }
)  # fmt: skip
DAY = 86400.0
_CHANNEL = re.compile(r"#[^\s,\x00-\x1f]{1,49}")
_SERVICE_NICK = re.compile(r"[A-Za-z][A-Za-z0-9]{0,29}")
_TOPIC_PART = re.compile(r"[A-Za-z0-9_/-]{1,100}")
_MQTT_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read, parse and validate a config file; raise ConfigError listing every problem."""
    return config_from_node(read_file(path), os.fspath(path))


def config_from_node(root: yaml.Node | None, name: str) -> Config:
    """Validate a composed YAML tree (from file `name`) into a Config."""
    r = Reader(name)
    top = Section(r, root, "", _TOP)
    base = Path(name).resolve().parent
    data_dir = _path(base, top.string("data_dir", "data"))
    key_text = top.string("key_file", "") if "key_file" in top.entries else ""
    config = Config(
        path=name,
        data_dir=data_dir,
        key_file=_path(base, key_text) if key_text else None,
        log_level=top.choice("log_level", "info", LOG_LEVELS),
        shutdown_timeout=top.number("shutdown_timeout", 10.0, 1, 600),
        auth=_auth(top.section("auth", _AUTH)),
        telnet_listen=_telnet(top.section("telnet", _TELNET)),
        callsign=_station_callsign(top, "callsign"),
        radio=_radio(top.section("radio", _RADIO)),
        bridge=_bridge(top.section("bridge", _BRIDGE)),
        mqtt=_mqtt(top.section("mqtt", _MQTT)) if "mqtt" in top.entries else None,
    )
    irc, external = _irc(r, top.entries.get("irc"), name)
    config = replace(config, irc=irc, irc_external=external)
    if config.mqtt and external and config.callsign is None and config.mqtt.name is None:
        top.problem("mqtt", "give callsign or mqtt.name: without either, every gateway on the "
                    "network publishes as the same one")  # fmt: skip
    if config.radio.ports and config.callsign is None:
        missing = [p.name for p in config.radio.ports if p.callsign is None]
        if missing:
            top.problem("callsign", "required by radio.ports (the gateway's own, e.g. N0GW-10)")
    r.raise_if_problems()
    return config


def _station_callsign(section: Section, name: str) -> str | None:
    if name not in section.entries:
        return None
    text = section.string(name, "")
    call = parse_callsign(text)
    if call is None:
        section.problem(name, f'expected a callsign with optional SSID (N0GW-10), got "{text}"')
        return None
    return str(call)


def _radio(section: Section) -> RadioConfig:
    d = RadioConfig()
    id_text = section.string("id_text", "") if "id_text" in section.entries else ""
    if id_text and not (id_text.isascii() and id_text.isprintable() and len(id_text) <= 200):
        section.problem("id_text", "expected up to 200 printable ASCII characters")
    ports: list[RadioPort] = []
    for key, item in section.items("ports"):
        m = Section(section.reader, item, key, _PORT)
        ports.append(_radio_port(m, len(ports)))
    names = [p.name for p in ports]
    if len(set(names)) != len(names):
        section.problem("ports", "port names must be unique")
    return RadioConfig(
        transmit=section.boolean("transmit", d.transmit),
        id_text=id_text or None,
        id_interval=section.number("id_interval", d.id_interval, 60, 600),
        ports=tuple(ports),
    )


def _radio_port(m: Section, index: int) -> RadioPort:
    d = RadioPort(name="")
    tcp = None
    if "tcp" in m.entries:
        text = m.string("tcp", "")
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            m.problem("tcp", f'expected HOST:PORT (e.g. 127.0.0.1:8001), got "{text}"')
        else:
            tcp = (host.strip("[]"), int(port))
    serial = m.string("serial", "") if "serial" in m.entries else None
    if ("tcp" in m.entries) == ("serial" in m.entries):
        m.problem("tcp", "give exactly one of tcp: HOST:PORT or serial: DEVICE")
    duty = m.number("duty_cycle", 0, 1, 100) if "duty_cycle" in m.entries else None
    return RadioPort(
        name=m.string("name", f"radio{index}"),
        tcp=tcp,
        serial=serial or None,
        baud=m.integer("baud", d.baud, 300, 1_000_000),
        tnc_port=m.integer("tnc_port", d.tnc_port, 0, 15),
        callsign=_station_callsign(m, "callsign"),
        k=m.integer("k", d.k, 1, 7),
        k_extended=m.integer("k_extended", d.k_extended, 1, 127),
        v22=m.boolean("v22", d.v22),
        paclen=m.integer("paclen", d.paclen, 16, 256),
        n2=m.integer("n2", d.n2, 1, 50),
        t1=m.number("t1", d.t1, 0.5, 60),
        t2=m.number("t2", 0, 0, 30) if "t2" in m.entries else None,
        t3=m.number("t3", d.t3, 10, 3600),
        bit_rate=m.integer("bit_rate", d.bit_rate, 300, 1_000_000),
        tx_delay=m.number("tx_delay", d.tx_delay, 0, 2.55),
        tnc_setup=m.boolean("tnc_setup", d.tnc_setup),
        persistence=m.number("persistence", d.persistence, 1 / 256, 1),
        slot_time=m.number("slot_time", d.slot_time, 0, 2.55),
        tx_tail=m.number("tx_tail", d.tx_tail, 0, 2.55),
        full_duplex=m.boolean("full_duplex", d.full_duplex),
        max_links=m.integer("max_links", d.max_links, 1, 100),
        max_unauthenticated=m.integer("max_unauthenticated", d.max_unauthenticated, 1, 100),
        login_timeout=m.number("login_timeout", d.login_timeout, 5, 3600),
        idle_timeout=m.number("idle_timeout", d.idle_timeout, 10, DAY),
        duty_cycle=duty,
    )


def _channels(section: Section, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for key, item in section.items(name):
        text = section.reader.string(item, key) or ""
        # '#' starts a YAML comment unless quoted: "hamradio" means #hamradio too.
        text = text if text.startswith("#") else "#" + text
        if not _CHANNEL.fullmatch(text):
            section.reader.error(item, key, f'expected a channel like #hamradio, got "{text}"')
        else:
            out.append(text)
    return tuple(out)


def _bridge(b: Section) -> BridgeConfig:
    d = BridgeConfig()
    service = b.string("service_nick", d.service_nick)
    if not _SERVICE_NICK.fullmatch(service):
        b.problem("service_nick", f'expected a nick of letters and digits, got "{service}"')
    a = b.section("archive", _ARCHIVE)
    m = b.section("mailbox", _MAILBOX)
    return BridgeConfig(
        third_party=b.choice("third_party", d.third_party, THIRD_PARTY),
        width=b.integer("width", d.width, 0, 1000),
        page_lines=b.integer("page_lines", d.page_lines, 0, 1000),
        queue_lines=b.integer("queue_lines", d.queue_lines, 1, 1000),
        join_history=b.integer("join_history", d.join_history, 0, 100),
        read_lines=b.integer("read_lines", d.read_lines, 1, 1000),
        autojoin=_channels(b, "autojoin"),
        service_nick=service,
        archive_channels=_channels(a, "channels"),
        archive_max_messages=a.integer("max_messages", d.archive_max_messages, 1, 10**7),
        archive_max_age=a.number("max_age", d.archive_max_age, 3600, 10 * 365 * DAY),
        mailbox_max_messages=m.integer("max_messages", d.mailbox_max_messages, 1, 10000),
        mailbox_max_age=m.number("max_age", d.mailbox_max_age, 3600, 365 * DAY),
    )


def _mqtt(m: Section) -> MqttConfig:
    d = MqttConfig()
    prefix = m.string("prefix", d.prefix)
    name = m.string("name", "") or None
    if name is not None and not _MQTT_NAME.fullmatch(name):
        m.problem("name", f'expected letters, digits, "-" and "_", got "{name}"')
    discovery_prefix = m.string("discovery_prefix", d.discovery_prefix)
    for key, value in (("prefix", prefix), ("discovery_prefix", discovery_prefix)):
        if not _TOPIC_PART.fullmatch(value):
            m.problem(key, f'expected letters, digits, "-", "_" and "/", got "{value}"')
    feeds: list[BulletinFeed] = []
    for key, item in m.items("bulletins"):
        f = Section(m.reader, item, key, _FEED)
        topic = f.string("topic", "#")
        nick = f.string("nick", "Bulletin")
        channel = f.string("channel", "#bulletins")
        channel = channel if channel.startswith("#") else "#" + channel
        if not _CHANNEL.fullmatch(channel):
            f.problem("channel", f'expected a channel like #wx, got "{channel}"')
        if not _SERVICE_NICK.fullmatch(nick):
            f.problem("nick", f'expected a nick of letters and digits, got "{nick}"')
        if "\0" in topic or len(topic) > 200:
            f.problem("topic", "expected an MQTT topic filter up to 200 characters")
        feeds.append(
            BulletinFeed(
                topic=topic,
                channel=channel,
                nick=nick,
                max_length=f.integer("max_length", 300, 20, BULLETIN_MAX),
                min_interval=f.number("min_interval", 60.0, 0, DAY),
                on_air=f.boolean("on_air", False),
            )
        )
    return MqttConfig(
        host=m.string("host", d.host),
        port=m.integer("port", d.port, 1, 65535),
        tls=m.boolean("tls", d.tls),
        username=m.string("username", "") or None if "username" in m.entries else None,
        password=m.string("password", "") or None if "password" in m.entries else None,
        prefix=prefix,
        qos=m.integer("qos", d.qos, 0, 2),
        queue=m.integer("queue", d.queue, 10, 1_000_000),
        messages=m.choice("messages", d.messages, MQTT_MESSAGES),
        bulletins=tuple(feeds),
        home_assistant=m.boolean("home_assistant", d.home_assistant),
        discovery_prefix=discovery_prefix,
        name=name,
    )


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
            return _irc_embedded(r, node, name), _external(m.section("external", _EXTERNAL))
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
    d = ExternalIrc(host="")
    for key in ("host", "webirc_password", "webirc_gateway"):
        text = e.string(key, "x")
        if not text or text.startswith(":") or any(c.isspace() or c == "\0" for c in text):
            e.problem(key, "expected one word, without spaces (and not starting with ':')")
    if any(c in e.string("password", "") for c in "\0\r\n"):
        e.problem("password", "expected one line")
    return ExternalIrc(
        host=e.string("host", ""),
        port=e.integer("port", 6697 if tls else 6667, 1, 65535),
        tls=tls,
        tls_verify=e.boolean("tls_verify", d.tls_verify),
        password=e.string("password", "") or None,
        webirc_password=e.string("webirc_password", "") or None,
        webirc_gateway=e.string("webirc_gateway", d.webirc_gateway),
        connect_timeout=e.number("connect_timeout", d.connect_timeout, 1, 300),
        ping_timeout=e.number("ping_timeout", d.ping_timeout, 10, 600),
    )


def _path(base: Path, text: str) -> Path:
    """Relative paths in the file are relative to the file's directory."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else base / path


def _auth(a: Section) -> AuthConfig:
    d, ds, dc = AuthConfig(), SourcePenaltyConfig(), CallsignDelayConfig()
    s = a.section("source_penalty", _SOURCE)
    source = SourcePenaltyConfig(
        per_failure=s.number("per_failure", ds.per_failure, 1, DAY),
        grace=s.number("grace", ds.grace, 0, DAY),
        max=s.number("max", ds.max, 1, 7 * DAY),
        max_entries=s.integer("max_entries", ds.max_entries, 16, 10**7),
    )
    if source.grace >= source.max:
        s.problem("grace", f"must be less than {s.path('max')} ({source.max:g})")
    c = a.section("callsign_delay", _CALL)
    # The T x A delays this budget replaced: `free_failures` was the burst and `max`
    # the sustained interval, so they keep their meaning; `step` has none any more.
    burst_key = "free_failures" if "free_failures" in c.entries else "burst"
    leak_key = "max" if "max" in c.entries else "leak_every"
    for old, new in (("free_failures", "burst"), ("max", "leak_every")):
        if old in c.entries and new in c.entries:
            c.problem(old, f"give {c.path(new)} only ({old} is its old name)")
    if "step" in c.entries:
        c.problem("step", "no longer used: the budget leaks one failure every leak_every seconds")
    callsign = CallsignDelayConfig(
        burst=c.integer(burst_key, dc.burst, 1, 100),
        leak_every=c.number(leak_key, dc.leak_every, 1, 30 * DAY),
        warn_after=c.integer("warn_after", dc.warn_after, 1, 10**6),
        warn_window=c.number("warn_window", dc.warn_window, 60, 365 * DAY),
        forget_after=c.number("forget_after", dc.forget_after, 60, 365 * DAY),
        max_entries=c.integer("max_entries", dc.max_entries, 16, 10**7),
    )
    n, dn = a.section("node_budget", _NODE), NodeBudgetConfig()
    node = NodeBudgetConfig(
        burst=n.integer("burst", dn.burst, 1, 10**6),
        leak_every=n.number("leak_every", dn.leak_every, 0.01, 30 * DAY),
        warn_after=n.integer("warn_after", dn.warn_after, 1, 10**6),
        warn_window=n.number("warn_window", dn.warn_window, 60, 365 * DAY),
        max_entries=n.integer("max_entries", dn.max_entries, 16, 10**7),
    )
    return AuthConfig(
        issuer=a.string("issuer", d.issuer),
        attempts_per_connection=a.integer(
            "attempts_per_connection", d.attempts_per_connection, 1, 10
        ),
        failure_pause=a.number("failure_pause", d.failure_pause, 0, 60),
        source=source,
        callsign=callsign,
        node=node,
    )


def _telnet(t: Section) -> tuple[TelnetListener, ...]:
    if t.node is None:
        return (TelnetListener(),)
    out: list[TelnetListener] = []
    seen: dict[tuple[str, int], str] = {}
    for key, item in t.items("listen"):
        m = Section(t.reader, item, key, _LISTEN)
        d = TelnetListener()
        bpq = m.boolean("bpq", True)
        listener = TelnetListener(
            host=m.string("host", d.host),
            port=m.integer("port", d.port, 1, 65535),
            bpq=bpq,
            name=m.string("name", ""),
            allow=m.networks("allow"),
            max_connections=m.integer("max_connections", d.max_connections, 1, 10000),
            max_unauthenticated=m.integer("max_unauthenticated", d.max_unauthenticated, 1, 10000),
            # Behind a BPQ node every user arrives from 127.0.0.1: a per-IP limit there
            # would limit the whole node, so it defaults to off (0) on BPQ listeners.
            max_per_ip=m.integer("max_per_ip", 0 if bpq else 3, 0, 10000),
            # A radio user behind a node may need minutes; a telnet user on a LAN does not,
            # and every second a silent connection holds a slot is the attacker's.
            login_timeout=m.number("login_timeout", d.login_timeout if bpq else 60.0, 5, 3600),
            idle_timeout=m.number("idle_timeout", d.idle_timeout, 10, DAY),
            max_line=m.integer("max_line", d.max_line, 16, 4096),
            bytes_per_second=m.number(
                "bytes_per_second", d.bytes_per_second if bpq else 0.0, 0, 10**7
            ),
            packet_bytes=m.integer("packet_bytes", d.packet_bytes, 16, 65536),
            burst_bytes=m.integer("burst_bytes", d.burst_bytes, 0, 10**6),
        )
        where = (listener.host, listener.port)
        if where in seen:
            m.problem("port", f"same host and port as {seen[where]}")
        seen[where] = key
        out.append(listener)
    labels = [x.label for x in out]
    if len(set(labels)) != len(labels):
        t.problem("listen", "listener names must be unique")
    return tuple(out)
