"""What the gateway's configuration holds: frozen dataclasses, each field declaring its
key, range or choices, default, and whether a reload may change it (`fields.spec`).

`read.py` reads the file by these declarations; `restart.py` keeps what only a restart
may change.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config.fields import spec
from ircd.config import DEFAULT_CONFIG as DEFAULT_IRC
from ircd.config import IrcConfig

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

DAY = 86400.0
LOG_LEVELS = ("debug", "info", "warning", "error")
THIRD_PARTY = ("all", "identified", "radio")
MQTT_MESSAGES = ("off", "metadata", "text")
IRC_MODES = ("embedded", "external")
#: The longest bulletin one IRC line carries whole: 512 bytes less CRLF, the longest
#: `:nick!user@host` a network puts in front (106), ` PRIVMSG `, a channel of 50 and ` :`.
BULLETIN_MAX = 340

#: What a reload that changes a restart-only setting logs, in this order.
RESTART_DATA = "data_dir and key_file changes need a restart; keeping the old ones"
RESTART_MQTT = "mqtt changes need a restart; keeping the old settings"
RESTART_EXTERNAL = "irc.mode and irc.external changes need a restart; keeping the old ones"
RESTART_RADIO = "radio and callsign changes need a restart; keeping the old ones"
RESTART_BRIDGE = "bridge archive channels and service_nick changes need a restart"
RESTART_WARNINGS = (RESTART_DATA, RESTART_MQTT, RESTART_EXTERNAL, RESTART_RADIO, RESTART_BRIDGE)


@dataclass(frozen=True, slots=True)
class SourcePenaltyConfig:
    """OpenSSH-style penalties per source: each failure adds time, enforced past a grace."""

    per_failure: float = field(default=30.0, metadata=spec(1, DAY))
    grace: float = field(default=60.0, metadata=spec(0, DAY))
    max: float = field(default=600.0, metadata=spec(1, 7 * DAY))
    max_entries: int = field(default=65536, metadata=spec(16, 10**7))


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

    # `free_failures` was the burst and `max` the sustained interval of the T x A delays
    # this budget replaced, so they keep their meaning (`step` has none any more).
    burst: int = field(default=10, metadata=spec(1, 100, old="free_failures"))
    leak_every: float = field(default=28800.0, metadata=spec(1, 30 * DAY, old="max"))
    warn_after: int = field(default=5, metadata=spec(1, 10**6))
    warn_window: float = field(default=7 * 86400.0, metadata=spec(60, 365 * DAY))
    forget_after: float = field(default=86400.0, metadata=spec(60, 365 * DAY))
    max_entries: int = field(default=65536, metadata=spec(16, 10**7))


@dataclass(frozen=True, slots=True)
class NodeBudgetConfig:
    """The same bucket per node across callsigns: bounds spraying many callsigns at once.

    A node is what the source can least forge: the listener behind a BPQ node, the radio
    port, the address (the /64 for IPv6) on a direct telnet listener or of a SASL client.
    """

    burst: int = field(default=20, metadata=spec(1, 10**6))
    leak_every: float = field(default=300.0, metadata=spec(0.01, 30 * DAY))
    warn_after: int = field(default=20, metadata=spec(1, 10**6))
    warn_window: float = field(default=86400.0, metadata=spec(60, 365 * DAY))
    max_entries: int = field(default=4096, metadata=spec(16, 10**7))


@dataclass(frozen=True, slots=True)
class GatewayBudgetConfig:
    """Buckets across every callsign: for sources that are not familiar, one off the
    air and one on it, and one per radio node for the familiar sources there: bounds a
    spray from any number of addresses. With R BPQ listeners and AX.25 ports,
    `leak_every` defaults to what keeps the 2 + R buckets at 2 x (100 + 1,461) checks a
    year in all, under 1 % that any account's code is found
    (`read._gateway_budget_for_nodes`)."""

    burst: int = field(default=100, metadata=spec(1, 10**6))
    leak_every: float = field(default=21600.0, metadata=spec(1, 30 * DAY))
    warn_after: int = field(default=20, metadata=spec(1, 10**6))
    warn_window: float = field(default=86400.0, metadata=spec(60, 365 * DAY))


@dataclass(frozen=True, slots=True)
class AuthConfig:
    issuer: str = field(default="Packet IRC Gateway", metadata=spec())
    attempts_per_connection: int = field(default=3, metadata=spec(1, 10))
    failure_pause: float = field(default=2.0, metadata=spec(0, 60))
    source: SourcePenaltyConfig = field(
        default_factory=SourcePenaltyConfig, metadata=spec(key="source_penalty", custom=True)
    )
    callsign: CallsignDelayConfig = field(
        default_factory=CallsignDelayConfig, metadata=spec(key="callsign_delay", custom=True)
    )
    node: NodeBudgetConfig = field(
        default_factory=NodeBudgetConfig, metadata=spec(key="node_budget", custom=True)
    )
    gateway: GatewayBudgetConfig = field(
        default_factory=GatewayBudgetConfig, metadata=spec(key="gateway_budget", custom=True)
    )


def loopback_host(host: str) -> bool:
    """Whether a configured host is this machine's loopback (only local peers reach it)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass(frozen=True, slots=True)
class TelnetListener:
    host: str = field(default="127.0.0.1", metadata=spec())
    port: int = field(default=8023, metadata=spec(1, 65535))
    bpq: bool = field(default=True, metadata=spec())
    name: str = field(default="", metadata=spec())
    allow: tuple[Network, ...] = field(default=(), metadata=spec())
    max_connections: int = field(default=20, metadata=spec(1, 10000))
    #: Connections still logging in; past it one of them is dropped (MaxStartups; which
    #: one: `gateway.links.startups`).
    max_unauthenticated: int = field(default=5, metadata=spec(1, 10000))
    #: Behind a BPQ node every user arrives from 127.0.0.1: a per-IP limit there would
    #: limit the whole node, so it is off (0) on BPQ listeners unless set (3 elsewhere).
    max_per_ip: int = field(default=0, metadata=spec(0, 10000))
    #: A radio user behind a node may need minutes; a telnet user on a LAN does not, and
    #: every second a silent connection holds a slot is the attacker's (60 s off BPQ).
    login_timeout: float = field(default=180.0, metadata=spec(5, 3600))
    idle_timeout: float = field(default=900.0, metadata=spec(10, DAY))
    max_line: int = field(default=256, metadata=spec(16, 4096))
    #: The radio's pace for output (0: none). A BPQ node buffers without limit, so its
    #: listener paces at about 1200 baud; a direct listener only if the sysop asks (0).
    bytes_per_second: float = field(default=100.0, metadata=spec(0, 10**7))
    packet_bytes: int = field(default=256, metadata=spec(16, 65536))
    #: What leaves at once after a pause (about a page): answers do not crawl, while a
    #: sustained stream is held at the pace, where it can be stopped and summarised.
    burst_bytes: int = field(default=2048, metadata=spec(0, 10**6))

    @property
    def label(self) -> str:
        """Stable name of the listener, used in penalty keys and logs."""
        return self.name or f"{self.host}:{self.port}"

    @property
    def open_to_all_as_node(self) -> bool:
        """A BPQ listener any address may reach: whoever connects is taken for a node
        (penalties keyed on the callsign sent first, no per-address limit)."""
        return self.bpq and not self.allow and not loopback_host(self.host)

    def warnings(self) -> list[str]:
        """What `run` and `check-config` warn of in this listener's settings."""
        if not self.open_to_all_as_node:
            return []
        return [f"telnet listener {self.label} is a BPQ listener (bpq: true, the default) "
                "open to every address: set allow: [the node's address], or bpq: false "
                "for people connecting directly"]  # fmt: skip

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

    #: `radio<N>` (its place in the list) unless named.
    name: str = field(metadata=spec())
    tcp: tuple[str, int] | None = field(default=None, metadata=spec(custom=True))
    serial: str | None = field(default=None, metadata=spec())
    baud: int = field(default=9600, metadata=spec(300, 1_000_000))
    tnc_port: int = field(default=0, metadata=spec(0, 15))
    #: This port's own callsign (with SSID); None: the top-level `callsign`.
    callsign: str | None = field(default=None, metadata=spec(custom=True))
    k: int = field(default=4, metadata=spec(1, 7))
    #: Window on an AX.25 v2.2 link (1-127); v22 false answers SABME with DM.
    k_extended: int = field(default=32, metadata=spec(1, 127))
    v22: bool = field(default=True, metadata=spec())
    paclen: int = field(default=256, metadata=spec(16, 256))
    n2: int = field(default=10, metadata=spec(1, 50))
    t1: float = field(default=3.0, metadata=spec(0.5, 60))
    #: Acknowledgement delay (s); None: just over one full frame's airtime.
    t2: float | None = field(default=None, metadata=spec(0, 30))
    t3: float = field(default=300.0, metadata=spec(10, 3600))
    bit_rate: int = field(default=1200, metadata=spec(300, 1_000_000))
    tx_delay: float = field(default=0.3, metadata=spec(0, 2.55))
    #: Sent to the TNC as KISS commands at start and on reconnect (tnc_setup false: not).
    tnc_setup: bool = field(default=True, metadata=spec())
    persistence: float = field(default=0.25, metadata=spec(1 / 256, 1))
    slot_time: float = field(default=0.1, metadata=spec(0, 2.55))
    tx_tail: float = field(default=0.1, metadata=spec(0, 2.55))
    full_duplex: bool = field(default=False, metadata=spec())
    max_links: int = field(default=8, metadata=spec(1, 100))
    #: Links still logging in; past it one of them is dropped (MaxStartups; which one:
    #: `gateway.links.startups`).
    max_unauthenticated: int = field(default=3, metadata=spec(1, 100))
    login_timeout: float = field(default=180.0, metadata=spec(5, 3600))
    idle_timeout: float = field(default=900.0, metadata=spec(10, DAY))
    #: Percent of any 10 minutes this port may transmit (None: no limit).
    duty_cycle: float | None = field(default=None, metadata=spec(1, 100))


@dataclass(frozen=True, slots=True)
class RadioConfig:
    #: False: the transmitter switch starts off (no frames at all but DM refusals).
    transmit: bool = field(default=True, metadata=spec())
    id_text: str | None = field(default=None, metadata=spec())
    id_interval: float = field(default=600.0, metadata=spec(60, 600))
    ports: tuple[RadioPort, ...] = field(default=(), metadata=spec(custom=True))


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """How radio users chat on IRC (`bridge:`)."""

    #: Whose IRC text goes on air: all, identified (logged-in accounts), radio (radio users).
    third_party: str = field(default="identified", metadata=spec(choices=THIRD_PARTY))
    #: Lines are wrapped at this width (0: never).
    width: int = field(default=80, metadata=spec(0, 1000))
    #: Long replies stop after this many lines with `more? (Enter/N)` (0: never).
    page_lines: int = field(default=20, metadata=spec(0, 1000))
    #: Live chat lines queued for a slow link before the rest is counted and summarised.
    queue_lines: int = field(default=30, metadata=spec(1, 1000))
    #: Lines of a channel shown on /JOIN (0: none).
    join_history: int = field(default=3, metadata=spec(0, 100))
    #: Lines /READ #chan shows at once.
    read_lines: int = field(default=20, metadata=spec(1, 1000))
    #: Channels every radio user joins at login.
    autojoin: tuple[str, ...] = field(default=(), metadata=spec(custom=True))
    #: The gateway's own nick on IRC (mailbox notices, the archive).
    service_nick: str = field(default="Gateway", metadata=spec(restart=RESTART_BRIDGE))
    #: Channels whose every message is kept for /NEW and /READ #chan.
    archive_channels: tuple[str, ...] = field(
        default=(),
        metadata=spec(key="channels", under="archive", custom=True, restart=RESTART_BRIDGE),
    )
    archive_max_messages: int = field(
        default=10000, metadata=spec(1, 10**7, key="max_messages", under="archive")
    )
    archive_max_age: float = field(
        default=90 * 86400.0, metadata=spec(3600, 10 * 365 * DAY, key="max_age", under="archive")
    )
    #: Messages held per callsign, and for how long.
    mailbox_max_messages: int = field(
        default=50, metadata=spec(1, 10000, key="max_messages", under="mailbox")
    )
    mailbox_max_age: float = field(
        default=30 * 86400.0, metadata=spec(3600, 365 * DAY, key="max_age", under="mailbox")
    )


@dataclass(frozen=True, slots=True)
class BulletinFeed:
    """An MQTT topic whose messages a named pseudo-user posts in a channel."""

    topic: str = field(metadata=spec())
    channel: str = field(metadata=spec(custom=True))
    nick: str = field(metadata=spec())
    #: Longest bulletin posted (longer ones are cut, with "..."); at most BULLETIN_MAX.
    max_length: int = field(default=300, metadata=spec(20, BULLETIN_MAX))
    #: At most one bulletin per this many seconds; the rest are dropped and counted.
    min_interval: float = field(default=60.0, metadata=spec(0, DAY))
    #: The sysop vouches that this feed may go on air to radio users (third-party rule).
    on_air: bool = field(default=False, metadata=spec())


@dataclass(frozen=True, slots=True)
class MqttConfig:
    """`mqtt:`: events out, bulletins in. None in Config when the section is absent."""

    host: str = field(default="127.0.0.1", metadata=spec())
    port: int = field(default=1883, metadata=spec(1, 65535))
    tls: bool = field(default=False, metadata=spec())
    username: str | None = field(default=None, metadata=spec())
    password: str | None = field(default=None, repr=False, metadata=spec())
    prefix: str = field(default="packetgw", metadata=spec())
    #: QoS of the events (1: the broker acknowledges each, and they are kept until then).
    qos: int = field(default=1, metadata=spec(0, 2))
    #: Events kept while the broker is away (the oldest go first, counted).
    queue: int = field(default=1000, metadata=spec(10, 1_000_000))
    #: Chat relayed to or from the air: off, metadata (no text) or text.
    messages: str = field(default="off", metadata=spec(choices=MQTT_MESSAGES))
    bulletins: tuple[BulletinFeed, ...] = field(default=(), metadata=spec(custom=True))
    #: Publish Home Assistant discovery messages (retained) under `discovery_prefix`.
    home_assistant: bool = field(default=False, metadata=spec())
    discovery_prefix: str = field(default="homeassistant", metadata=spec())
    #: This gateway's name in its topics and in Home Assistant (`<prefix>/<name>/...`);
    #: None: the callsign. Required on a network without a callsign: two gateways
    #: would share topics, and one's last will would mark the other offline.
    name: str | None = field(default=None, metadata=spec())


@dataclass(frozen=True, slots=True)
class ExternalIrc:
    """`irc.external` (with `irc.mode: external`): the IRC network radio users join."""

    #: The first server; `host:` may also be a list of servers of the same network, tried
    #: in order when one cannot be reached (the others are `failover`).
    host: str = field(metadata=spec())
    #: 6697 with TLS unless given.
    port: int = field(default=6667, metadata=spec(1, 65535))
    tls: bool = field(default=False, metadata=spec())
    #: Check the network's certificate (turn off only for a self-signed test network).
    tls_verify: bool = field(default=True, metadata=spec())
    #: The network's connection password (PASS), if it has one.
    password: str | None = field(default=None, repr=False, metadata=spec())
    #: The WEBIRC password the network gave this gateway; none sends no WEBIRC.
    webirc_password: str | None = field(default=None, repr=False, metadata=spec())
    #: The gateway name WEBIRC gives (InspIRCd logs it; ngircd takes it as the user name).
    webirc_gateway: str = field(default="packet-gateway", metadata=spec())
    connect_timeout: float = field(default=30.0, metadata=spec(1, 300))
    #: Seconds within which a hung server is noticed (PING at half of it), then reconnect.
    ping_timeout: float = field(default=60.0, metadata=spec(10, 600))
    #: A secret shared by every gateway of the network: radio users' WEBIRC addresses are
    #: made with it, so each gateway knows the others' radio users and service nicks by
    #: the address the network shows (gateway/bridge/trust.py).
    radio_key: str | None = field(default=None, repr=False, metadata=spec())
    #: Every gateway's service nick on the network (this one's included): mail
    #: for a callsign not enrolled here is passed on to the others (needs `radio_key`).
    service_nicks: tuple[str, ...] = field(default=(), metadata=spec(custom=True))
    #: The servers after the first of a `host:` list, as (host, port) (read.py).
    failover: tuple[tuple[str, int], ...] = ()

    @property
    def servers(self) -> tuple[tuple[str, int], ...]:
        """Every server to try, in order: `host` and `port` first."""
        return ((self.host, self.port), *self.failover)


@dataclass(frozen=True, slots=True)
class Config:
    path: str | None = None
    data_dir: Path = field(default=Path("data"), metadata=spec(custom=True, restart=RESTART_DATA))
    key_file: Path | None = field(
        default=None, metadata=spec(custom=True, restart=RESTART_DATA, compare="secret_key_path")
    )
    log_level: str = field(default="info", metadata=spec(choices=LOG_LEVELS))
    #: Seconds a stop (SIGTERM, DIE) may take; every step has its share, then it is left.
    shutdown_timeout: float = field(default=10.0, metadata=spec(1, 600))
    auth: AuthConfig = field(default_factory=AuthConfig, metadata=spec(custom=True))
    telnet_listen: tuple[TelnetListener, ...] = field(
        default=(TelnetListener(),), metadata=spec(key="telnet", custom=True)
    )
    #: The gateway's own callsign with SSID, e.g. N0GW-10 (needed by radio ports).
    callsign: str | None = field(default=None, metadata=spec(custom=True, restart=RESTART_RADIO))
    radio: RadioConfig = field(
        default_factory=RadioConfig, metadata=spec(custom=True, restart=RESTART_RADIO)
    )
    bridge: BridgeConfig = field(default_factory=BridgeConfig, metadata=spec(custom=True))
    mqtt: MqttConfig | None = field(default=None, metadata=spec(custom=True, restart=RESTART_MQTT))
    #: The embedded IRC server (`irc:`; validated by ircd itself).
    irc: IrcConfig = field(default=DEFAULT_IRC, metadata=spec(custom=True))
    #: `irc.mode: external`: the network to join instead (no embedded server runs).
    irc_external: ExternalIrc | None = field(
        default=None, metadata=spec(key="irc", custom=True, restart=RESTART_EXTERNAL)
    )

    @property
    def secret_key_path(self) -> Path:
        return self.key_file if self.key_file is not None else self.data_dir / "secret.key"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "gateway.db"


def default_config() -> Config:
    """Built-in defaults: data in ./data, one BPQ listener on 127.0.0.1:8023."""
    return Config()
