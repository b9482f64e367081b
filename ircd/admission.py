"""Who gets in: Z-lines at connect; K/G-lines, throttling and allow blocks at registration.

It also finishes registration (the welcome burst) once a client is let in.

`Admission` is owned by one `Server`. It holds the server-ban table and the throttle and
answers two questions, each with a refusal or None: `at_connect(client)` (only the IP
is known) and `at_registration(client)` (nick, user and account are known too). It also
makes ban changes durable through the `BanStore` before the server confirms them.
"""

from __future__ import annotations

import logging
import math
import re
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.client import Client
from ircd.masks import normalize_ip
from ircd.nickclaim import make_guest, take_back
from ircd.protocol import MAX_LINE
from ircd.replies import ReplyBuffer
from ircd.screening import screen
from ircd.snomask import address, snotice
from ircd.sources import ConnectionCounts, source_of
from ircd.throttle import ConnThrottle
from ircd.unregistered import Unregistered, network_of
from ircd.welcome import welcome
from ircd.xlines import BanStore, MemoryBanStore, XLine, XLineTable, line_name

if TYPE_CHECKING:
    from ircd.client import Sink
    from ircd.config import AllowConfig
    from ircd.context import Context
    from ircd.runner import Pending

log = logging.getLogger("ircd.admission")

#: Seconds between two warnings that the registering connections' slots are full.
FULL_WARNING_EVERY: Final = 60.0


#: User names and hosts an embedder may give an attached client.
_TRUSTED_PART: Final = re.compile(r"[^\s!@:]{1,64}\Z")


class AttachError(ValueError):
    """`Server.attach` refused the identity; the message says why. `taken`: another
    client holds the nick (the embedder may stand by rather than give up)."""

    def __init__(self, reason: str, *, taken: bool = False) -> None:
        super().__init__(reason)
        self.taken = taken


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a client is turned away: an optional numeric, and the ERROR reason."""

    numeric: str | None
    text: str
    reason: str


class Admission:
    def __init__(self, server: Context, store: BanStore | None) -> None:
        self._server = server
        cfg = server.config
        self.store: BanStore = store if store is not None else MemoryBanStore()
        self.xlines = XLineTable(cfg.limits.max_xlines)
        self.throttle = (
            ConnThrottle(cfg.throttle, server.clock()) if cfg.throttle is not None else None
        )
        #: Sockets open per source (`limits.max_per_address`); attached clients never count.
        self.connections = ConnectionCounts()
        #: Connections still registering, in slots of their own (`ircd.unregistered`).
        self.unregistered = Unregistered()
        #: Newcomers that took a registering connection's slot, since start.
        self.made_room = 0
        self._warned_full: float | None = None
        #: (kind, mask) of the lines known to be in the store (bounded by the table's size).
        self._stored: set[tuple[str, str]] = set()

    def reload(self) -> None:
        cfg = self._server.config
        self.xlines.max_entries = cfg.limits.max_xlines
        if cfg.throttle is None:
            self.throttle = None
        elif self.throttle is None or self.throttle.config != cfg.throttle:
            self.throttle = ConnThrottle(cfg.throttle, self._server.clock())

    async def load(self) -> None:
        """Load the stored bans (at start-up, before listening)."""
        now = self._server.wallclock()
        lines = [x for x in await self.store.load() if not x.expired(now)]
        for line in lines:
            if not self.xlines.add(line):
                log.error("more than %d stored bans; the rest are ignored", len(self.xlines))
                break
            self._stored.add((line.kind, line.mask))
        log.info("loaded %d server bans", len(self.xlines))

    async def save(self, line: XLine) -> None:
        """Store a line set here (it is in force already)."""
        await self.store.add(line)
        self._stored.add((line.kind, line.mask))

    async def forget(self, kind: str, mask: str) -> None:
        """Remove a line from the store (it is out of the table already)."""
        self._stored.discard((kind, mask))
        await self.store.remove(kind, mask)

    async def resync(self) -> list[XLine]:
        """Drop the lines another program removed from the store (the embedder's console),
        tell the operators, and return them. Only lines known stored before the read
        count: one set meanwhile, whose write may not have landed yet, stays."""
        before = set(self._stored)
        kept = {(x.kind, x.mask) for x in await self.store.load()}
        gone = []
        for kind, mask in sorted(before - kept):
            self._stored.discard((kind, mask))
            line = self.xlines.remove(kind, mask)
            if line is not None:
                gone.append(line)
                text = f"{line_name(kind)} on {mask} removed outside IRC (gone from the ban store)"
                log.info("%s", text)
                self._server.notice_opers(text, snomask="x")
        return gone

    def try_register(self, client: Client, rb: ReplyBuffer) -> Pending | None:
        """Finish registration once NICK and USER are in and CAP negotiation is over.

        The allow blocks decide first; a connection password is checked off the loop,
        like OPER's, and the coroutine doing it is returned for the caller to run.
        """
        server = self._server
        if (
            client.registered
            or client.nick is None
            or client.user is None
            or client.cap_negotiating
        ):
            return None
        reason = server.hooks.nick_reserved(client, client.nick)
        if reason is not None:
            # Now that SASL is over, the nick is not this client's: it comes in as a guest
            # (a 433 here would make irssi and WeeChat try variants that are reserved too).
            make_guest(server, client, reason)
        password, client.password = client.password, None  # not kept longer than needed
        refusal = self.at_registration(client)
        if refusal is not None:
            # Through the notices' repeats (the log too): a flood is a few lines.
            letter = "x" if refusal.numeric == n.ERR_YOUREBANNEDCREEP else "t"
            text = f"{address(client)} refused: {refusal.reason}"
            snotice(server, letter, text, kind="refused", source=source_of(client.ip))
            if refusal.numeric is not None:
                rb.numeric(refusal.numeric, refusal.text)
                rb.flush()
            server.disconnect(client, refusal.reason)
            return None
        user_line = f"{client.nick}!{client.user}@{client.realhost}:{client.realname}"
        if screen(server, client, "user", user_line, rb) is not None:
            if not client.closed:
                rb.flush()
                server.disconnect(client, "Spamfilter: connection refused")
            return None
        allow = self.find_allow(client)
        if allow is None and self._server.config.allow:
            log.info("no allow block matches %s (%s)", client.prefix, client.ip)
            rb.numeric(n.ERR_NOPERMFORHOST, "You are not authorized to connect to this server")
            rb.flush()
            server.disconnect(client, "You are not authorized to connect to this server")
            return None
        if allow is not None and allow.password_hash is not None:
            source = source_of(client.ip)
            wait = server.oper_penalties.wait(source, server.clock())
            if wait > 0:
                # No check while the source waits (as for OPER): guessing costs it time,
                # not our CPU, and its connections cannot fill the checks' queue.
                reply = f"Password incorrect (too many failures: wait {math.ceil(wait)} seconds)"
                self._wrong_password(client, rb, "refused: penalty", reply)
                return None
            return self._check_connection_password(
                client, allow.password_hash, password or "", source, network_of(client.ip)
            )
        self.complete(client, rb)
        return None

    async def _check_connection_password(
        self, client: Client, password_hash: str, password: str, source: str, network: str
    ) -> None:
        server = self._server
        ok = await server.passwords.verify(password_hash, password, source, network)
        if client.closed:
            return
        rb = server.replies(client)
        if ok:
            self.complete(client, rb)
            rb.flush()
            return
        # The wrong PASS cost its source, as a failed OPER does (`verify` recorded it).
        self._wrong_password(client, rb, "checked", "Password incorrect")

    def _wrong_password(self, client: Client, rb: ReplyBuffer, why: str, reply: str) -> None:
        """Refuse a connection password; the operators (o) and the log hear of it once
        a window per source (`ircd.snomask`), the client only that it failed."""
        server = self._server
        text = f"Wrong connection password from {address(client)} ({why})"
        snotice(server, "o", text, kind="wrong PASS", source=source_of(client.ip))
        rb.numeric(n.ERR_PASSWDMISMATCH, reply)
        rb.flush()
        server.disconnect(client, "Bad password")

    def complete(self, client: Client, rb: ReplyBuffer) -> None:
        """Mark `client` registered and send the welcome burst."""
        server = self._server
        # The embedder paces its own (in-process) clients, a radio link carries 100 bytes
        # a second: flood control would only let IRC users get the gateway's nicks
        # disconnected by making them answer (Excess Flood).
        client.flood_exempt = client.in_process or self.flood_exempt(client)
        self.unregistered.remove(client)
        client.registered = True
        client.signon = server.wallclock()
        server.registered_count += 1
        server.invisible_count += client.invisible
        server.max_registered = max(server.max_registered, server.registered_count)
        welcome(server, client, rb)

    def find_allow(self, client: Client) -> AllowConfig | None:
        """The first allow block matching `client`, or None."""
        subject = self._server.subject(client)
        return next((a for a in self._server.config.allow if a.mask.matches(subject)), None)

    def attach(
        self,
        sink: Sink,
        *,
        nick: str,
        user: str,
        host: str,
        account: str | None = None,
        realname: str = "",
        ip: str = "127.0.0.1",
        service: bool = False,
    ) -> Client:
        """Connect and register an in-process client whose identity the embedder vouches for.

        No password, allow block, ban or throttle applies and the host is shown as given
        (no cloak); later bans never match it and a spamfilter's gline acts on it as a
        kill, since its address is the embedder's, shared by every attached client.
        The welcome burst goes to `sink`; afterwards feed the client's lines with
        `receive(client, data)` and end it with `disconnect(client, reason)`.
        Raises `AttachError` if the nick is malformed or held by a client that may hold it
        (a squatter on a nick the hooks reserve for this client is renamed to a guest), or
        the server is full.
        """
        server = self._server
        if server.registered_count >= server.config.limits.max_clients:
            raise AttachError("the server is full")
        if not server.valid_nick(nick):
            raise AttachError(f"invalid nick {nick!r}")
        if not _TRUSTED_PART.match(user) or not _TRUSTED_PART.match(host):
            raise AttachError("user and host must be 1-64 characters without spaces or !@:")
        client = Client(
            server.new_client_id(), sink, ip=ip, tls=False, now=server.clock(), max_line=MAX_LINE
        )
        client.host = client.realhost = host
        client.in_process = True
        client.service = service
        client.user = user
        client.realname = realname or nick
        client.account = account
        # The owner of a reserved nick (a radio user logging in) takes it from a squatter.
        if not take_back(server, client, nick):
            raise AttachError(f"nick {nick!r} is in use", taken=True)
        server.clients[client.id] = client
        server.set_nick(client, nick)
        rb = ReplyBuffer(server, client)
        self.complete(client, rb)
        rb.flush()
        return client

    def _exempt(self, client: Client, what: str) -> bool:
        mask = getattr(self._server.config.exempt, what)
        return mask is not None and mask.matches(self._server.subject(client))

    def zlined(self, client: Client) -> Refusal | None:
        """A Z-line on the client's address it is not exempt from (also looked at again
        when a browser page loses the exemption its certificate gave: `web_origin`)."""
        line = self.xlines.find_ip(normalize_ip(client.ip), self._server.wallclock())
        if line is not None and not self._exempt(client, "bans"):
            snotice(self._server, "x", f"Z-line on {line.mask} hit by {client.ip}")
            return Refusal(None, "", f"Z-lined: {line.reason}")
        return None

    def at_connect(self, client: Client) -> Refusal | None:
        refusal = self.zlined(client)
        if refusal is not None:
            return refusal
        # Silent sockets from one address must not fill max_clients (issue 12).
        # Interned: clients of one source share one string (memory per idle client).
        source = sys.intern(source_of(client.ip))
        limit = self._server.config.limits.max_per_address
        if limit and self.connections.count(source) >= limit:
            return self._refuse_at_connect(client, source, "Too many connections from your address")
        if not self._rate_admits(client, source):
            text = "Throttled: Too many connections from your address, please wait a while"
            return self._refuse_at_connect(client, source, text)
        self.connections.add(source)
        client.counted_source = source
        return self._make_room(client, source)

    def _rate_admits(self, client: Client, source: str) -> bool:
        """Take a connection attempt from the source's bucket (`ircd.throttle`); known
        addresses and the throttle exemption take none."""
        throttle = self.throttle
        return (
            throttle is None
            or throttle.is_known(client.ip)
            or self._exempt(client, "throttle")
            or throttle.rate.admit(source, self._server.clock())
        )

    def _refuse_at_connect(self, client: Client, source: str, reason: str) -> Refusal:
        snotice(self._server, "t", f"{client.ip} refused: {reason}", kind=reason, source=source)
        return Refusal(None, "", reason)

    def _make_room(self, client: Client, source: str) -> Refusal | None:
        """Give `client` a registering slot, dropping another's when they are full.

        Not refusing the newcomer is the point: it may be an owner about to log in,
        while the slots hold a flood's sockets. `Unregistered.victim` picks the one to
        drop (from the places holding most slots first, never one logged in).
        """
        server = self._server
        if len(self.unregistered) >= server.config.limits.max_unregistered:
            now = server.clock()
            if self._warned_full is None or now - self._warned_full >= FULL_WARNING_EVERY:
                self._warned_full = now
                log.warning(
                    "all %d slots of registering connections are full (a flood?); "
                    "newcomers take the place of the sources holding most",
                    len(self.unregistered),
                )
            victim = self.unregistered.victim()
            if victim is None:
                return self._refuse_at_connect(client, source, "Server is full")
            self.made_room += 1
            log.debug("dropped registering %s (%s) for a newcomer", victim.id, victim.ip)
            server.disconnect(victim, "Server busy: too many connections registering")
        self.unregistered.add(client, source)
        return None

    def at_registration(self, client: Client) -> Refusal | None:
        server = self._server
        line = self.xlines.find_user(
            client.user or "*",
            (client.realhost, client.host),
            normalize_ip(client.ip),
            server.wallclock(),
        )
        if line is not None and not self._exempt(client, "bans"):
            kind = "G-lined" if line.kind == "G" else f"{line.kind}-lined"
            return Refusal(
                n.ERR_YOUREBANNEDCREEP,
                f"You are banned from this server: {line.reason}",
                f"{kind}: {line.reason}",
            )
        places = server.config.limits.max_clients
        if client.account is None:
            places = server.config.limits.open_places()  # the rest is kept for logins
        if server.registered_count >= places:
            return Refusal(None, "", "Server is full")
        # After SASL (registration waits for CAP END): a client that logged in is never
        # throttled, and takes no token from those who did not.
        throttle = self.throttle
        if (
            throttle is not None
            and client.account is None
            and not throttle.is_known(client.ip)
            and not self._exempt(client, "throttle")
            and not throttle.admit_unknown(server.clock())
        ):
            return Refusal(
                None, "", "Throttled: Too many users trying to connect, please wait a while"
            )
        return None

    def flood_exempt(self, client: Client) -> bool:
        return self._exempt(client, "flood")

    def spamfilter_exempt(self, client: Client) -> bool:
        return self._exempt(client, "spamfilter")

    def disconnected(self, client: Client) -> None:
        self.unregistered.remove(client)
        if client.counted_source is not None:
            self.connections.remove(client.counted_source)
            client.counted_source = None
        if self.throttle is not None and client.registered and not client.in_process:
            self.throttle.remember(client.ip, self._server.clock() - client.connected_at)

    def covered_clients(self, line: XLine) -> list[Client]:
        """Connected clients whose address a new line covers, exempt or not."""
        table = XLineTable(1)
        table.add(line)
        now = self._server.wallclock()
        out = []
        for client in self._server.clients.values():
            if client.registered:
                hosts = (client.realhost, client.host)
                ip = normalize_ip(client.ip)
                hit = table.find_user(client.user or "*", hosts, ip, now, (line.kind,))
            else:
                hit = table.find_ip(normalize_ip(client.ip), now)
            if hit is not None:
                out.append(client)
        return out

    def matching_clients(self, line: XLine) -> list[Client]:
        """Connected clients a new line applies to (they are to be disconnected)."""
        return [
            c
            for c in self.covered_clients(line)
            if not c.in_process and not self._exempt(c, "bans")
        ]

    def shunned(self, client: Client) -> XLine | None:
        """The shun silencing registered `client`, if any: operators, the embedder's
        clients and those exempt from bans are never shunned."""
        if not self.xlines.shuns or not client.registered or client.oper or client.in_process:
            return None
        line = self.xlines.find_user(
            client.user or "*",
            (client.realhost, client.host),
            normalize_ip(client.ip),
            self._server.wallclock(),
            ("S",),
        )
        return None if line is None or self._exempt(client, "bans") else line

    def expire(self) -> None:
        """Drop expired lines here and in the store (from the periodic tick)."""
        for line in self.xlines.expire(self._server.wallclock()):
            log.info("%s-line on %s expired", line.kind, line.mask)
            self._server.run_background(self.forget(line.kind, line.mask))
