"""The server core: every table, registration, fan-out, flood control and timeouts.

Sans-socket: input arrives through `receive(client, bytes)`, output leaves through each
client's `Sink`, time comes from the injected `clock`, and timers go through the injected
`Scheduler`. Two `Server` instances in one process share nothing.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Final

from ircd import logins as loginlist
from ircd import numerics as n
from ircd import snomask as snomasks
from ircd.admission import Admission
from ircd.caps import announce_caps, offered_caps
from ircd.casemap import folder
from ircd.channel import Channel
from ircd.client import TAG_MODES, Client, Scheduler, Sink
from ircd.cloak import Cloaker
from ircd.commands import add_extra_command
from ircd.config import IrcConfig, OperConfig
from ircd.context import CommandSpec, Handler
from ircd.faults import FaultLog
from ircd.founders import Founders
from ircd.history import History
from ircd.hooks import Accounts, Control, NoHooks, ServerHooks
from ircd.intake import Intake
from ircd.isupport import isupport_tokens
from ircd.keepalive import Keepalive
from ircd.masks import SecurityGroups, Subject
from ircd.monitor import Monitors
from ircd.notify import monitor_offline, monitor_online
from ircd.output import Multicast, encode, fanout_plan, write_each
from ircd.passwords import PasswordChecker
from ircd.protocol import MAX_BODY, MAX_LINE, Message
from ircd.readmarkers import ReadMarkers
from ircd.repeats import Repeats
from ircd.replies import ReplyBuffer
from ircd.runner import AsyncioRunner, Pending, Runner, loop_scheduler
from ircd.screening import announce_disabled
from ircd.sources import FailurePenalties
from ircd.spamfilter import SpamFilters
from ircd.stamps import Stamps, format_time
from ircd.whowas import WhoWas
from ircd.xlines import BanStore

log = logging.getLogger("ircd")

_NICK: Final = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}\-]*\Z")
_CHANNEL_FORBIDDEN: Final = re.compile(r"[\s,\x07\x00]")

__all__ = ("Pending", "Server")


#: Disconnect reasons that are flood kills (snomask f).
_FLOOD_REASONS: Final = frozenset({"Excess Flood", "SendQ exceeded"})


def _cloaker(config: IrcConfig) -> Cloaker | None:
    return Cloaker(config.cloak.key, config.cloak.suffix) if config.cloak is not None else None


class Server:
    """An IRC server without sockets. Create one per configuration; see `ircd.net` for I/O.

    It wires the parts together: the tables are its own, input runs through its
    `Intake`, and handlers see it only as an `ircd.context.Context`.
    """

    #: Take bytes from a client and run every command they complete, as flood control
    #: allows (`Intake.receive`); the bytes may be a view of a reused buffer: copied.
    receive: Callable[[Client, bytes | memoryview], None]
    format_time = staticmethod(format_time)

    def __init__(
        self,
        config: IrcConfig,
        *,
        hooks: ServerHooks | None = None,
        clock: Callable[[], float] = time.monotonic,
        wallclock: Callable[[], float] = time.time,
        scheduler: Scheduler | None = None,
        ban_store: BanStore | None = None,
        accounts: Accounts | None = None,
        control: Control | None = None,
        perf_timer: Callable[[], int] = time.perf_counter_ns,
        runner: Runner | None = None,
        multicast: Multicast = write_each,
    ) -> None:
        """`perf_timer` (nanoseconds) times spamfilter evaluations; tests inject one.

        `runner` runs deferred commands (default: tasks of the running asyncio loop).
        `multicast` hands a channel message to the members of one tag mode (default: a
        `write` per member; `ircd.connection` passes one that holds a loop pass's messages once).
        """
        self._config = config
        self.hooks: ServerHooks = hooks if hooks is not None else NoHooks()
        self.clock = clock
        self.wallclock = wallclock
        self._scheduler = scheduler
        self.name = config.server_name
        self.fold = folder(config.casemapping)
        self.created = wallclock()
        # Folded nick -> client, for registered clients and those holding a nick before
        # registration; bounded because clients are bounded by limits.max_clients (registered)
        # plus limits.max_unregistered (registering).
        self.nicks: dict[str, Client] = {}
        self.clients: dict[int, Client] = {}
        self.channels: dict[str, Channel] = {}
        #: Channels founded per address (`limits.max_channels_per_address`).
        self.founders = Founders()
        # Failed OPERs and connection passwords, per source: one budget of guesses.
        self.oper_penalties = FailurePenalties(
            config.limits.oper_penalty, config.limits.oper_penalty_max
        )
        self._make_checkers(config.limits.max_password_checks)
        self.registered_count = 0
        self.invisible_count = 0
        self.oper_count = 0
        # Operators, for server notices without a walk over every client.
        self.opers: set[Client] = set()
        self.max_registered = 0
        self._ids = itertools.count(1)
        stamps = Stamps(wallclock)
        # Tags for a relayed message (time, msgid, the sender's client-only tags), batch
        # references, server-time: bound once, as every relayed message takes them.
        self.relay_tags = stamps.relay_tags
        self.batch_id = stamps.batch_id
        self.timestamp = stamps.timestamp
        self.runner: Runner = runner if runner is not None else AsyncioRunner()
        self.multicast = multicast
        self.faults = FaultLog(clock)
        # The reply buffer of the command being run: messages for its client go there.
        self.replying: ReplyBuffer | None = None
        self._intake = Intake(self)
        # Bound once: the per-read path calls the intake directly, no delegation.
        self.receive = self._intake.receive
        self.isupport = isupport_tokens(self._config)
        self._groups = SecurityGroups(config.security_groups)
        self.cloaker = _cloaker(config)
        self.admission = Admission(self, ban_store)
        #: Server notices held as repeats (`ircd.snomask`).
        self.snotice_repeats = Repeats()
        self._keepalive = Keepalive(self, self._periodic)
        self.control = control if control is not None else Control()
        self.whowas = WhoWas(config.limits.whowas)
        self.read_markers = ReadMarkers()
        self.monitors = Monitors()
        lim = config.limits
        self.history = History(config.history_size, lim.history_targets, lim.history_messages)
        self.spamfilters = SpamFilters(
            config.spamfilter,
            max_filters=config.limits.max_spamfilters,
            budget_ms=config.limits.spamfilter_budget_ms,
            on_disable=lambda f: announce_disabled(self, f),
            timer=perf_timer,
        )
        #: Where SASL logs in (None: SASL is not offered).
        self.accounts = accounts
        # Commands the embedder added (see `add_command`); never more than MAX_EXTRA_COMMANDS.
        self.extra_commands: dict[str, CommandSpec] = {}

    # -- configuration ---------------------------------------------------------------

    @property
    def config(self) -> IrcConfig:
        """The current configuration; read it once per operation (reload swaps it whole)."""
        return self._config

    def reload(self, config: IrcConfig) -> None:
        """Swap in a new configuration. Server name and case mapping cannot change live.

        Capabilities that appear or go (SASL with `irc.sasl`) are announced: CAP NEW/DEL.
        """
        offered = offered_caps(self)
        if config.server_name != self.name or config.casemapping != self._config.casemapping:
            log.warning("server_name and casemapping changes need a restart; keeping the old ones")
            config = dataclasses.replace(
                config, server_name=self.name, casemapping=self._config.casemapping
            )
        if config.limits.max_password_checks != self._config.limits.max_password_checks:
            self._make_checkers(config.limits.max_password_checks)
        self.oper_penalties.per_failure = config.limits.oper_penalty
        self.oper_penalties.most = config.limits.oper_penalty_max
        self._config = config
        self.isupport = isupport_tokens(self._config)
        self._groups = SecurityGroups(config.security_groups)
        # Connected clients keep their cloak; new ones get the new key's.
        self.cloaker = _cloaker(config)
        self.admission.reload()
        self.whowas.max_entries = config.limits.whowas
        lim = config.limits
        self.history.configure(config.history_size, lim.history_targets, lim.history_messages)
        self.spamfilters.reload(
            config.spamfilter, config.limits.max_spamfilters, config.limits.spamfilter_budget_ms
        )
        announce_caps(self, offered)

    def _make_checkers(self, at_once: int) -> None:
        # Queues of their own, so that a flood of OPER attempts cannot starve SASL logins
        # (issue 12), nor guesses at OPER or PASS account logins; in each, sources with
        # recent failures wait behind those without (`ircd.passwords`).
        self.passwords = PasswordChecker(at_once, self.oper_penalties, self.clock)
        self.oper_passwords = PasswordChecker(at_once, self.oper_penalties, self.clock)
        self.sasl_checks = PasswordChecker(at_once)

    def set_accounts(self, accounts: Accounts | None) -> None:
        """Start (or, with None, stop) offering SASL against `accounts`; CAP NEW/DEL tell."""
        offered = offered_caps(self)
        self.accounts = accounts
        announce_caps(self, offered)

    def find_oper(self, name: str) -> OperConfig | None:
        return next((o for o in self._config.opers if o.name == name), None)

    def subject(self, client: Client) -> Subject:
        """A snapshot of `client` for mask items, with its security groups resolved."""
        return self._groups.resolve(client.subject(self.clock()))

    # -- extension interface (see ircd.hooks) -----------------------------------------

    def add_command(
        self, name: str, handler: Handler, *, min_params: int = 0, oper_only: bool = True
    ) -> None:
        """Add a command for this server only, e.g. an operator command of the gateway.

        `handler(server, client, msg, rb)` has the signature of the built-in handlers: it
        writes replies to `rb` and returns None or a coroutine. Its docstring is its HELP.
        The dispatcher checks registration, `oper_only` (481) and `min_params` (461).
        Raises ValueError for a malformed name, a built-in name, or too many commands.
        """
        spec = CommandSpec(handler, min_params, oper_only=oper_only)
        add_extra_command(self.extra_commands, name, spec)

    def attach(self, sink: Sink, *, service: bool = False, **identity: str | None) -> Client:
        """Connect and register an in-process client with a trusted identity.

        See `Admission.attach` for the fields; raises `AttachError` when refused.
        """
        return self.admission.attach(sink, service=service, **identity)  # type: ignore[arg-type]

    # -- input (see ircd.intake) ------------------------------------------------------

    def replies(self, client: Client) -> ReplyBuffer:
        """Where a deferred command writes its result: the buffer (and label) it started with."""
        return self._intake.replies(client)

    def run_background(self, coro: Pending) -> None:
        """Run a coroutine that answers nobody (e.g. a store write); failures are logged."""
        self._intake.run_background(coro)

    # -- lifecycle ---------------------------------------------------------------------

    def scheduler(self) -> Scheduler:
        """The injected scheduler, or the running event loop's."""
        return self._scheduler if self._scheduler is not None else loop_scheduler()

    def start(self) -> None:
        """Start the periodic ping and timeout check (needs a scheduler or a running loop)."""
        self._keepalive.start()

    def stop(self, reason: str = "Server shutting down") -> None:
        """Stop timers and disconnect every client with `reason`."""
        self._keepalive.stop()
        for client in list(self.clients.values()):
            self.disconnect(client, reason)

    # -- connections -------------------------------------------------------------------

    def connect(
        self,
        sink: Sink,
        *,
        ip: str,
        tls: bool = False,
        certfp: str | None = None,
        websocket: bool = False,
        port: int | None = None,
    ) -> Client | None:
        """Accept a new connection; return None (after telling the peer) if it is refused
        (a Z-line, `max_per_address`, or every registering slot held by a logged-in client)."""
        client = Client(
            self.new_client_id(), sink, ip=ip, tls=tls, now=self.clock(), max_line=MAX_LINE
        )
        client.certfp = certfp
        client.websocket = websocket
        client.port = port
        if self.cloaker is not None:
            client.host = self.cloaker.cloak(client.realhost)
        self.clients[client.id] = client
        log.debug("connection %d from %s%s", client.id, ip, " (TLS)" if tls else "")
        refusal = self.admission.at_connect(client)
        if refusal is not None:
            log.debug("refused %s: %s", ip, refusal.reason)  # the notice (t, x) is logged
            self.disconnect(client, refusal.reason)
            return None
        client.flood_exempt = self.admission.flood_exempt(client)
        return client

    def new_client_id(self) -> int:
        return next(self._ids)

    def opers_with(self, letter: str | None) -> list[Client]:
        """Registered operators, or those whose snomask holds `letter`."""
        return [
            c
            for c in self.opers
            if c.registered and not c.closed and (letter is None or letter in c.snomask)
        ]

    def notice_opers(
        self,
        text: str,
        rb: ReplyBuffer | None = None,
        snomask: str = "a",
        *,
        kind: str = "",
        source: str = "",
    ) -> None:
        """`*** TITLE: text` to the operators whose mask holds the letter `snomask`
        (`ircd.snomask`: a, announcements, unless told), repeats collapsed per `kind` and
        `source`; for the embedder's notices (RADIO, radio alerts, logins).

        The operator whose command caused it gets it through `rb`, after their replies.
        """
        snomasks.snotice(self, snomask, text, rb, kind=kind, source=source)

    def _periodic(self) -> None:
        """The keepalive tick's other work: expired bans, notices' repeat counts."""
        self.admission.expire()
        snomasks.flush_repeats(self)

    def disconnect(self, client: Client, reason: str) -> None:
        """Remove `client` everywhere, tell its peers, and close its sink. Idempotent."""
        if client.closed:
            return
        client.closed = True
        for channel in client.channels.values():
            channel.plan = None  # fan-out must not reach it, though it is a member a while yet
        if client.resume_handle is not None:
            client.resume_handle.cancel()
            client.resume_handle = None
        if client.pending is not None:
            client.pending.cancel()
            client.pending = None
        client.held = None
        self.admission.disconnected(client)
        client.sasl = None
        client.listing = None  # a LIST going out ends with it
        self.monitors.clear(client)
        if client.account is None:
            self.read_markers.forget(f"c:{client.id}")  # its own markers go with it
        if client.registered:
            snomasks.snotice(self, "q", f"Client exiting: {snomasks.address(client)} ({reason})")
            if reason in _FLOOD_REASONS:
                text = f"{snomasks.address(client)}: {reason}"
                snomasks.snotice(self, "f", text, kind=reason, source=client.ip)
            self.remember_nick(client)
            monitor_offline(self, client.name)
            self.fanout(
                self.peers(client),
                Message(source=client.prefix, command="QUIT", params=(reason,), tags=client.tags()),
            )
            self.registered_count -= 1
            self.invisible_count -= client.invisible
        if client.oper is not None:
            self.oper_count -= 1
            self.opers.discard(client)
        for channel in list(client.channels.values()):
            self.remove_member(channel, client)
        if client.nick is not None and self.nicks.get(self.fold(client.nick)) is client:
            del self.nicks[self.fold(client.nick)]
        self.clients.pop(client.id, None)
        client.sink.write(f"ERROR :Closing Link: {client.host} ({reason})\r\n".encode())
        client.sink.close()

    def end_logins(self, account: str, reason: str, credential: str | None = None) -> int:
        """Disconnect the socket clients logged in to `account` (with `credential`, if
        given; `ircd.logins`): what the embedder does when it revokes or locks."""
        clients = list(self.clients.values())
        return loginlist.end_logins(clients, self.disconnect, account, reason, credential)

    def logins(self) -> set[tuple[str, str | None]]:
        """(account, credential) of the socket clients logged in (`ircd.logins`)."""
        return loginlist.logins(self.clients.values())

    def check_timeouts(self) -> None:
        """Ping idle clients, drop those that do not answer or never register."""
        self._keepalive.check()

    # -- names -------------------------------------------------------------------------

    def valid_nick(self, nick: str) -> bool:
        return len(nick) <= self._config.limits.nicklen and bool(_NICK.match(nick))

    def valid_channel(self, name: str) -> bool:
        return (
            name.startswith("#")
            and 1 < len(name) <= self._config.limits.channellen
            and not _CHANNEL_FORBIDDEN.search(name)
        )

    def find_nick(self, nick: str) -> Client | None:
        client = self.nicks.get(self.fold(nick))
        return client if client is not None and client.registered else None

    def find_target(self, name: str) -> Client | None:
        """The user a command's target names: a nick, or for a name that cannot be one,
        the nick the embedder's optional `target_alias` hook maps it to."""
        user = self.find_nick(name)
        if user is not None or self.valid_nick(name):
            return user
        alias = getattr(self.hooks, "target_alias", None)
        nick = alias(name) if alias is not None else None
        return self.find_nick(nick) if nick else None

    def find_channel(self, name: str) -> Channel | None:
        return self.channels.get(self.fold(name))

    def set_nick(self, client: Client, nick: str) -> None:
        """Give `client` a nick (the caller checked it is free) and tell whoever must know."""
        old = client.nick
        if old is not None:
            self.nicks.pop(self.fold(old), None)
            if client.registered:
                self.remember_nick(client)
        self.nicks[self.fold(nick)] = client
        if client.registered and old is not None:
            msg = Message(source=client.prefix, command="NICK", params=(nick,), tags=client.tags())
            self.fanout(itertools.chain((client,), self.peers(client)), msg)
            where = f"{client.user}@{client.realhost}"
            snomasks.snotice(self, "n", f"{old} ({where}) changed nick to {nick}")
        client.nick = nick
        if client.registered and old is not None and self.fold(old) != self.fold(nick):
            # Watchers of the old nick see it go, watchers of the new one see it come;
            # a change of case only is the same nick to MONITOR.
            monitor_offline(self, old)
            monitor_online(self, client)

    def remember_nick(self, client: Client) -> None:
        """Record a registered client's nick for WHOWAS (on QUIT or NICK)."""
        if client.nick is not None:
            self.whowas.record(self.fold(client.nick), client, self.wallclock())

    def set_invisible(self, client: Client, on: bool) -> None:
        """Set or clear user mode +i, keeping the LUSERS count right."""
        if client.invisible == on:
            return
        if on:
            client.modes.add("i")
        else:
            client.modes.discard("i")
        if client.registered:
            self.invisible_count += 1 if on else -1

    def set_oper(self, client: Client, name: str | None) -> None:
        """Make `client` operator `name` (user mode +o), or drop operator status with None."""
        if (client.oper is None) != (name is None):
            self.oper_count += 1 if name is not None else -1
            client.snomask = snomasks.DEFAULT if name is not None else ""
        client.oper = name
        if name is not None:
            client.modes.add("o")
            self.opers.add(client)
        else:
            client.modes.discard("o")
            self.opers.discard(client)
        if client.snomask:
            client.modes.add("s")
        else:
            client.modes.discard("s")

    # -- registration ------------------------------------------------------------------

    def try_register(self, client: Client, rb: ReplyBuffer) -> Pending | None:
        """Finish registration when NICK, USER and CAP are done (see `Admission`)."""
        return self.admission.try_register(client, rb)

    def send_isupport(self, rb: ReplyBuffer) -> None:
        tokens = self.isupport
        for i in range(0, len(tokens), 12):
            rb.numeric(n.RPL_ISUPPORT, *tokens[i : i + 12], "are supported by this server")

    # -- channels ----------------------------------------------------------------------

    def get_or_create_channel(self, name: str) -> tuple[Channel | None, bool]:
        """Return (channel, created); (None, False) if the channel table is full."""
        folded = self.fold(name)
        channel = self.channels.get(folded)
        if channel is not None:
            return channel, False
        if len(self.channels) >= self._config.limits.max_channels:
            return None, False
        channel = Channel(name, folded, self.wallclock())
        self.channels[folded] = channel
        return channel, True

    def rename_channel(self, channel: Channel, name: str) -> None:
        """Give `channel` a new name (the caller checked it is valid and free)."""
        old, folded = channel.folded, self.fold(name)
        del self.channels[old]
        self.channels[folded] = channel
        self.founders.renamed(old, folded)
        channel.name, channel.folded = name, folded
        for member in channel.members:
            del member.channels[old]
            member.channels[folded] = channel
        self.history.rename(old, folded)

    def add_member(self, channel: Channel, client: Client, status: str) -> None:
        channel.members[client] = status
        channel.plan = None
        client.channels[channel.folded] = channel
        if client.nick is not None:
            channel.invites.pop(self.fold(client.nick), None)

    def remove_member(self, channel: Channel, client: Client) -> None:
        channel.members.pop(client, None)
        channel.lists.forget(client)
        channel.plan = None
        client.channels.pop(channel.folded, None)
        if not channel.members:
            self.channels.pop(channel.folded, None)
            self.founders.gone(channel.folded)

    def peers(self, client: Client) -> Iterable[Client]:
        """Every other client sharing a channel with `client`, each once."""
        seen: dict[Client, None] = {}
        for channel in client.channels.values():
            seen.update(dict.fromkeys(channel.members))
        seen.pop(client, None)
        return seen.keys()

    # -- output ------------------------------------------------------------------------

    def encode(self, msg: Message, tag_mode: int) -> bytes:
        """Serialize `msg` with the tags a client of `tag_mode` has asked for."""
        return encode(msg, tag_mode, self.timestamp)

    def send(self, client: Client, msg: Message) -> None:
        rb = self.replying
        if rb is not None and client is rb.client:
            rb.add(msg)  # the issuing client's own copy joins its replies (labels, order)
        elif not client.closed:
            client.sink.write(self.encode(msg, client.tag_mode))

    def fanout(
        self, recipients: Iterable[Client], msg: Message, exclude: Client | None = None
    ) -> None:
        """Send one message to many clients (all but `exclude`), serializing once per tag mode.

        The hot path of channel traffic: each mode's line is built on first use and kept
        in a list indexed by the mode (cheaper than a dict), and nothing is allocated per
        recipient, so callers pass the member table itself rather than a generator.
        """
        lines: list[bytes | None] = [None] * TAG_MODES
        rb = self.replying
        own = rb.client if rb is not None else None
        for client in recipients:
            if client is exclude or client.closed:
                continue
            if client is own:
                rb.add(msg)  # type: ignore[union-attr]
                continue
            mode = client.tag_mode
            data = lines[mode]
            if data is None:
                data = lines[mode] = encode(msg, mode, self.timestamp)
            client.sink.write(data)

    def fanout_channel(self, channel: Channel, msg: Message, exclude: Client | None = None) -> None:
        """`fanout` to the members of `channel`, through its cached plan.

        The hot path of channel traffic: one serialization per tag mode, handed to the
        group's members by `multicast` (by default one `sink.write` per member).
        """
        plan = channel.plan
        if plan is None:
            plan = channel.plan = fanout_plan(channel.members)
        rb = self.replying
        own = rb.client if rb is not None and rb.client is not exclude else None
        for mode, sinks, index in plan:
            skip = index.get(exclude, -1) if exclude is not None else -1
            mine = index.get(own, -1) if own is not None else -1
            if mine >= 0:
                rb.add(msg)  # type: ignore[union-attr]
            if len(sinks) > (skip >= 0) + (mine >= 0):  # someone else to send it to
                self.multicast(sinks, encode(msg, mode, self.timestamp), skip, mine)

    def text_budget(self, client: Client, command: str, target: str) -> int:
        """Bytes left for the trailing text of `:prefix COMMAND target :text` in 512."""
        return MAX_BODY - 2 - len(f":{client.prefix} {command} {target} :".encode())
