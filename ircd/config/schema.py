"""What the `irc:` section holds: frozen dataclasses and their defaults (no reading here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from ircd.casemap import RFC1459
from ircd.history import MAX_MESSAGES as HISTORY_MESSAGES
from ircd.history import MAX_TARGETS as HISTORY_TARGETS
from ircd.masks import MATCH_ALL, MaskItem
from ircd.spamfilter import FilterSpec
from ircd.throttle import ThrottleConfig


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
    #: Registered clients at once (the embedder's in-process clients too); connections
    #: still registering have slots of their own (`max_unregistered`).
    max_clients: int = 1024
    #: Connections still registering at once; past it a newcomer gets in and one of them
    #: makes room (`ircd.unregistered` says which: never one logged in by SASL).
    max_unregistered: int = 1024
    #: Registered places only clients logged in to an account may take: without one a
    #: client is refused ("Server is full") once `max_clients - login_reserve` are taken.
    #: At most half of `max_clients` is kept (`open_places`).
    login_reserve: int = 64
    #: Connections at once from one IPv4 address or IPv6 /64 (0: no limit); clients
    #: attached in-process by the embedder do not count.
    max_per_address: int = 16
    max_channels: int = 1000
    max_channels_per_client: int = 20
    #: Channels that clients from one IPv4 address or IPv6 /64 may have created and that
    #: still exist (`ircd.founders`); the embedder's in-process clients are not counted.
    max_channels_per_address: int = 50
    #: Bytes waiting for a client past what its socket took, before it is dropped with
    #: "SendQ exceeded" (`ircd.connection`: output is written as it grows).
    sendq: int = 262_144
    #: Unprocessed bytes held for a throttled client before "Excess Flood".
    recvq: int = 16_384
    ping_interval: float = 120.0
    ping_timeout: float = 60.0
    #: Seconds a connection may take to register (short: a waiting socket holds a slot).
    registration_timeout: float = 20.0
    #: Lines a client may send at once before it is throttled to `flood_rate`.
    flood_burst: int = 16
    #: Sustained lines per second; 0 disables flood control (benchmarks only).
    flood_rate: float = 2.0
    #: Argon2id checks running at once (each takes tens of milliseconds of CPU and 64 MiB),
    #: for logins (SASL, connection passwords) and, in a queue of their own, for OPER;
    #: each queue serves addresses without recent failures first (`ircd.passwords`).
    max_password_checks: int = 2
    #: A K/G/Z-line that would disconnect more than this share of the users (and more
    #: than one) is refused unless the operator adds -force.
    ban_max_share: float = 0.25
    #: Seconds each failed OPER or connection password adds to its address's penalty;
    #: past three failures' worth the address waits (OpenSSH style), never more than
    #: `oper_penalty_max`, and no password of it is checked meanwhile.
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
    #: Chathistory messages kept in all, over every target; their memory is bounded
    #: too, at this many times `ircd.history.ENTRY_BYTES` (1.5 KiB).
    history_messages: int = HISTORY_MESSAGES

    def open_places(self) -> int:
        """Registered places a client without an account may take."""
        return self.max_clients - min(self.login_reserve, self.max_clients // 2)


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
    #: What LINKS says of this server (InspIRCd's <server description>).
    description: str = "Packet radio gateway"
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
