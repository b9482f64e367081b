"""One connection to the server, registered or not, and the interface it writes through."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ircd.masks import Subject, normalize_ip
from ircd.protocol import LineBuffer

if TYPE_CHECKING:
    from ircd.channel import Channel
    from ircd.exchanges import Multiline, SaslState
    from ircd.listing import Listing
    from ircd.replies import ReplyBuffer
    from ircd.runner import Job

#: Bits of `Client.tag_mode`: which IRCv3 tags the client wants to see.
TAGS_MESSAGE = 1  # message-tags: msgid and client-only tags
TAGS_TIME = 2  # server-time
TAGS_ACCOUNT = 4  # account-tag
#: Distinct values of `tag_mode` (fan-out keeps one serialized line per value).
TAG_MODES = 8


class Sink(Protocol):
    """Where a client's output goes: a socket adapter, or an in-process queue.

    Implementations must not call back into the `Server` synchronously: `write()` is
    called in the middle of fan-out loops. Report problems (a full send queue) later,
    for example with `loop.call_soon(server.disconnect, client, "SendQ exceeded")`.
    """

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer."""
        ...

    def close(self) -> None:
        """Flush what is queued, then close."""
        ...

    def pause_reading(self) -> None:
        """Stop delivering input until `resume_reading()` (a command is still running)."""
        ...

    def resume_reading(self) -> None:
        """Deliver input again."""
        ...


class PacedSink(Sink, Protocol):
    """A sink that says when its peer has taken what it holds; LIST waits for it
    between chunks (`ircd.listing`). A sink without `when_drained` gets LIST at once."""

    def when_drained(self, callback: Callable[[], None]) -> None:
        """Call `callback` once, later (never from inside this call, nor from `write`),
        when what waits for the peer is below the sink's low-water mark. A later call
        replaces the callback; a sink that closes never calls it."""
        ...


class TimerHandle(Protocol):
    """A scheduled callback; `asyncio.TimerHandle` is one."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Runs callbacks later; an asyncio event loop is one, tests pass a fake one."""

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any
    ) -> TimerHandle: ...


class Client:
    """State of one connection. The server owns every instance and all mutation of it.

    Hooks may read `nick`, `user`, `host`, `realhost`, `ip`, `realname`, `account`,
    `certfp`, `tls`, `registered`, `in_process`, `web_origin`.
    """

    __slots__ = (
        "account",
        "away",
        "cap_negotiating",
        "cap_version",
        "caps",
        "certfp",
        "channels",
        "closed",
        "connected_at",
        "counted_source",
        "credential",
        "flood_exempt",
        "held",
        "host",
        "id",
        "in_process",
        "ip",
        "last_active",
        "last_recv",
        "lines",
        "listing",
        "meta_subs",
        "metadata",
        "modes",
        "monitoring",
        "multiline",
        "nick",
        "oper",
        "password",
        "penalty_until",
        "pending",
        "ping_sent",
        "port",
        "realhost",
        "realname",
        "registered",
        "resume_handle",
        "sasl",
        "sasl_failures",
        "service",
        "signon",
        "sink",
        "snomask",
        "tag_mode",
        "tls",
        "user",
        "wanted_nick",
        "web_origin",
        "websocket",
    )

    def __init__(
        self, client_id: int, sink: Sink, *, ip: str, tls: bool, now: float, max_line: int
    ) -> None:
        self.id = client_id
        self.sink = sink
        self.ip = ip
        # An IPv6 address starting with ':' would read as a trailing parameter.
        self.host = "0" + ip if ip.startswith(":") else ip
        # The host before cloaking: bans and mask items match it, only opers see it.
        self.realhost = self.host
        self.tls = tls
        #: SHA-256 of the TLS client certificate, lowercase hex (None without one).
        self.certfp: str | None = None
        #: Connected through a WebSocket listener (mask items: `websocket`).
        self.websocket = False
        #: The server's port it connected to (None: attached in-process, or unknown).
        self.port: int | None = None
        #: The Origin of the browser page a WebSocket client came from (None: not a
        #: browser). Such a connection gets no certificate login and no trust of its
        #: address: another site's script may be acting in the user's browser.
        self.web_origin: str | None = None
        self.nick: str | None = None
        #: A nick refused as in use before registration: a login may take it back
        #: from a squatter (`ircd.nickclaim`).
        self.wanted_nick: str | None = None
        self.user: str | None = None
        self.realname = ""
        self.account: str | None = None
        #: What logged in to `account`, as the embedder names it (`hooks.Login`).
        self.credential: str | None = None
        self.password: str | None = None
        self.registered = False
        self.closed = False
        self.caps: set[str] = set()
        self.cap_version = 0
        self.cap_negotiating = False
        self.tag_mode = 0
        self.modes: set[str] = set()
        self.oper: str | None = None
        #: Server notice letters this operator sees (`ircd.snomask`); "" for non-operators.
        self.snomask = ""
        self.away: str | None = None
        # Folded channel name -> channel, for the channels this client is in.
        self.channels: dict[str, Channel] = {}
        # Folded nicks this client MONITORs (insertion order, for MONITOR L).
        self.monitoring: dict[str, None] = {}
        #: Metadata: this user's keys, and the keys this client follows (bounded by
        #: ircd.metadata.MAX_KEYS and MAX_SUBS).
        self.metadata: dict[str, str] = {}
        self.meta_subs: dict[str, None] = {}
        self.lines = LineBuffer(max_line)
        self.connected_at = now
        self.last_recv = now
        self.last_active = now
        self.signon = 0.0  # wall-clock time of registration, for WHOIS
        self.ping_sent: float | None = None
        self.penalty_until = now
        # Matched by irc.exempt.flood: no command penalty (recvq and sendq still apply).
        self.flood_exempt = False
        #: Attached by the embedder (`Server.attach`): its address is the embedder's own,
        #: shared by every such client, so address-based bans and G-lines never apply.
        self.in_process = False
        #: An attached client the embedder runs as a service (the gateway's service and
        #: bulletin nicks): operators may not KILL it, as InspIRCd refuses for services.
        self.service = False
        # The source (`ircd.sources.source_of`) this socket is counted against, if any.
        self.counted_source: str | None = None
        self.resume_handle: TimerHandle | None = None
        # A command still running off the loop (OPER's password check); input waits for it,
        # and its replies (with their label) wait in `held` until it is done.
        self.pending: Job | None = None
        self.held: ReplyBuffer | None = None
        # A SASL exchange in progress (ircd.exchanges), and failures so far.
        self.sasl: SaslState | None = None
        self.sasl_failures = 0
        # A draft/multiline batch being received (ircd.exchanges).
        self.multiline: Multiline | None = None
        # A LIST going out as the sink drains (ircd.listing).
        self.listing: Listing | None = None

    def __repr__(self) -> str:
        return f"<Client {self.id} {self.nick or '*'}>"

    @property
    def name(self) -> str:
        """The nick, or "*" before one is chosen (the first parameter of numerics)."""
        return self.nick or "*"

    @property
    def prefix(self) -> str:
        """nick!user@host, the source of messages from this client."""
        return f"{self.nick}!{self.user}@{self.host}"

    def tags(self) -> dict[str, str]:
        """Tags describing this client as a message's sender: account (account-tag) and
        bot (bot mode)."""
        tags: dict[str, str] = {}
        if self.account is not None:
            tags["account"] = self.account
        if "B" in self.modes:
            tags["bot"] = ""
        return tags

    @property
    def invisible(self) -> bool:
        return "i" in self.modes

    def subject(self, now: float) -> Subject:
        """A snapshot of this client for mask items (security groups not resolved yet)."""
        return Subject(
            nick=self.nick or "*",
            user=self.user or "*",
            host=self.realhost,
            ip=normalize_ip(self.ip),
            realname=self.realname,
            account=self.account,
            tls=self.tls,
            certfp=self.certfp,
            websocket=self.websocket,
            connected_for=now - self.connected_at,
            channels={
                ch.name: status for ch in self.channels.values() for status in (ch.members[self],)
            },
        )

    def update_tag_mode(self) -> None:
        """Recompute `tag_mode` after `caps` changed (read on every fan-out)."""
        caps = self.caps
        for channel in self.channels.values():
            channel.plan = None  # its fan-out groups members by tag mode
        self.tag_mode = (
            (TAGS_MESSAGE if "message-tags" in caps else 0)
            | (TAGS_TIME if "server-time" in caps else 0)
            | (TAGS_ACCOUNT if "account-tag" in caps else 0)
        )
