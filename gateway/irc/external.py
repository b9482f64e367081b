"""Clients of an external IRC network (`irc.mode: external`).

Each radio user, the service nick and each bulletin poster is its own TCP (or TLS)
client of the network. `Registration` is the sans-IO part: the lines that register one
client (WEBIRC first, so the network shows the radio side as the host; CAP negotiation
of the capabilities the gateway can use; PASS; NICK and USER, with the fallback nicks on
433) and what each server line means for it. `ExternalConnector` and `ExternalLink` are
the asyncio adapter: a socket, a timeout, and a keepalive.

WEBIRC also carries an IP address. Radio users have none, so each gets a stable address
in the unique-local range derived from its user name (the callsign): bans and per-address
limits on the network then apply to one callsign, not to every radio user at once.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import ipaddress
import logging
import re
import ssl
from collections.abc import Callable, Mapping
from types import MappingProxyType

from gateway.config import ExternalIrc
from gateway.irc.link import ConnectError, Identity
from ircd.casemap import folder
from ircd.protocol import MAX_LINE, IrcParseError, Message, parse_line

log = logging.getLogger("gateway.irc.external")

#: Seconds within which a hung server is noticed: after half of it in silence we PING,
#: and a server still silent at the end of it is given up (the link closes, and its
#: owner reconnects). The config's `irc.external.ping_timeout` (default 60 s) sets it.
PING_TIMEOUT = 60.0
#: How long a QUIT may take to leave before the socket is closed anyway.
QUIT_GRACE = 5.0
#: Numerics that end registration for good (banned, wrong password, host refused).
_FATAL = {"465": "banned", "464": "wrong password", "463": "host not allowed"}
#: An ERROR that says the network sent this client away on purpose (not a failure).
SENT_AWAY = re.compile(r"\b(kill(ed)?|ban(ned)?|[kgzd]-?lined?|quit)\b", re.IGNORECASE)
#: An ERROR that says a side stopped hearing the other (ours, or the server's): the
#: network is in doubt, not refusing us, so it is tried again within seconds.
_SILENT = re.compile(r"\bping timeout\b", re.IGNORECASE)
#: `Closing link: (user@address) [reason]`, as InspIRCd words an ERROR.
_CLOSING = re.compile(r"^(Closing link):?\s*\([^)]*\)\s*\[(.*)\]\s*$", re.IGNORECASE)
#: Output waiting for a network that stopped reading; past it the link is closed.
MAX_WRITE_BUFFER = 256 * 1024
#: Capabilities remembered from CAP LS (a network lists a few dozen).
MAX_OFFERED = 256


class Unreachable(ConnectError):
    """The network could not be reached at all (not a refusal): worth trying again soon."""


def went_silent(reason: str | None) -> bool:
    """Whether a link's ERROR says it ended in silence (a ping timeout), not a refusal."""
    return reason is not None and _SILENT.search(reason) is not None


def sasl_plain(account: str, password: str) -> list[str]:
    """The AUTHENTICATE lines of SASL PLAIN: the payload in 400-byte chunks, and `+`
    after a last chunk of exactly 400 (IRCv3 SASL 3.1)."""
    payload = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
    chunks = [payload[i : i + 400] for i in range(0, len(payload), 400)]
    if len(chunks[-1]) == 400:
        chunks.append("+")
    return [f"AUTHENTICATE {chunk}" for chunk in chunks]


def closing_reason(text: str) -> str:
    """An ERROR's text without the user's own address, which says nothing to the user and
    takes the room of the reason on a packet screen."""
    found = _CLOSING.match(text)
    return f"{found.group(1)}: {found.group(2)}" if found else text


def radio_ip(user: str, key: str | None = None) -> str:
    """A stable unique-local IPv6 address for `user` (RFC 4193 range fd00::/8). With the
    network's `radio_key` it is an HMAC under that key, which only the network's
    gateways can make: they know each other's clients by it (gateway/bridge/trust.py)."""
    data = user.lower().encode()
    if key:
        digest = hmac.new(key.encode(), b"packet-gateway:" + data, hashlib.sha256).digest()
    else:
        digest = hashlib.sha256(b"packet-gateway:" + data).digest()
    return str(ipaddress.IPv6Address(b"\xfd" + digest[:15]))


class Registration:
    """Registers one client; feed it the server's messages until `done` or `error`."""

    def __init__(self, identity: Identity, settings: ExternalIrc) -> None:
        self.identity = identity
        self.settings = settings
        self._nicks = list(identity.nicks)
        self.nick = self._nicks[0]
        #: Capabilities the server acknowledged.
        self.caps: frozenset[str] = frozenset()
        self._offered: dict[str, str] = {}
        self._cap_done = False
        self.welcomed = False
        self.done = False
        self.error: str | None = None
        #: The error means the network refused this client for good (a ban, a password).
        self.fatal = False
        #: Every nick was refused as in use (433), not invalid: other clients hold them.
        self.taken = False
        self._only_in_use = True
        #: The account SASL logged in to, or why it did not.
        self.account: str | None = None
        self.sasl_error: str | None = None

    def start(self) -> list[str]:
        s, ident = self.settings, self.identity
        lines = []
        if s.webirc_password:
            lines.append(
                f"WEBIRC {s.webirc_password} {s.webirc_gateway} {ident.host} "
                f"{radio_ip(ident.user, s.radio_key)}"
            )
        if s.password:
            lines.append(f"PASS :{s.password}")
        lines.append("CAP LS 302")
        lines.append(f"NICK {self.nick}")
        lines.append(f"USER {ident.user} 0 * :{ident.realname}")
        return lines

    def receive(self, msg: Message) -> list[str]:
        """One message from the server while registering: the lines to answer it with."""
        react = _REACTIONS.get(msg.command)
        return react(self, msg.params) if react is not None else []

    # -- the reactions, one per command (the table is below the class) ---------------------

    def _ping(self, params: Params) -> list[str]:
        return [f"PONG :{params[0]}" if params else "PONG"]

    def _on_cap(self, params: Params) -> list[str]:
        return self._cap(params[1].upper(), params[2:]) if len(params) >= 3 else []

    def _authenticate(self, params: Params) -> list[str]:
        ready = params == ("+",) and self.identity.sasl
        return sasl_plain(*self.identity.sasl) if ready and self.identity.sasl else []

    def _logged_in(self, params: Params) -> list[str]:  # 900 RPL_LOGGEDIN
        if len(params) >= 3:
            self.account = params[2]
        return []

    def _sasl_failed(self, params: Params) -> list[str]:
        self.sasl_error = params[-1] if params else "SASL failed"
        return self._end_cap()  # registered without an account, as a guest would be

    def _welcome(self, params: Params) -> list[str]:  # 001
        self.welcomed = True
        self.nick = params[0] if params else self.nick
        return self._end_cap()

    def _motd_end(self, params: Params) -> list[str]:  # 376 or 422: registration is over
        self.done = self.done or self.welcomed
        return []

    def _nick_refused(self, params: Params) -> list[str]:
        if self.welcomed:
            return []
        self._only_in_use = False  # 432, 436, 437: not simply held by someone
        return self._next_nick(params[-1] if params else "nick refused")

    def _nick_taken(self, params: Params) -> list[str]:  # 433
        if self.welcomed:
            return []
        return self._next_nick(params[-1] if params else "nick in use")

    def _refused(self, params: Params, why: str) -> list[str]:  # 463, 464, 465
        self.error = f"{why}: {params[-1]}" if params else why
        self.fatal = True
        return []

    def _on_error(self, params: Params) -> list[str]:
        self.error = self.error or (params[-1] if params else "closed by the server")
        self.fatal = self.fatal or SENT_AWAY.search(self.error) is not None
        return []

    def _cap(self, sub: str, args: tuple[str, ...]) -> list[str]:
        if sub == "LS":
            more = len(args) >= 2 and args[0] == "*"
            for item in args[-1].split():
                if len(self._offered) < MAX_OFFERED:
                    name, _, value = item.partition("=")
                    self._offered[name] = value
            if more:
                return []
            wanted = set(self.identity.caps & self._offered.keys())
            mechanisms = self._offered.get("sasl")
            if self.identity.sasl and mechanisms is not None:
                if not mechanisms or "PLAIN" in mechanisms.upper().split(","):
                    wanted.add("sasl")
                else:
                    self.sasl_error = f"the network offers SASL {mechanisms}, not PLAIN"
            return [f"CAP REQ :{' '.join(sorted(wanted))}"] if wanted else self._end_cap()
        if sub == "ACK":
            for name in args[-1].split():
                if name.startswith("-"):
                    self.caps = self.caps - {name[1:]}
                else:
                    self.caps = self.caps | {name.lstrip("~=")}
            if "sasl" in self.caps and self.identity.sasl and self.account is None:
                return ["AUTHENTICATE PLAIN"]
            return self._end_cap()
        if sub == "NAK":
            return self._end_cap()  # go on without them
        return []

    def _end_cap(self) -> list[str]:
        if self._cap_done:
            return []
        self._cap_done = True
        return ["CAP END"]

    def _next_nick(self, reason: str) -> list[str]:
        self._nicks.pop(0)
        if not self._nicks:
            self.error = f"nick {self.identity.nicks[0]} refused: {reason}"
            self.taken = self._only_in_use
            return []
        self.nick = self._nicks[0]
        return [f"NICK {self.nick}"]


Params = tuple[str, ...]
#: What `_next_line` returns when the server stopped answering.
_HUNG = b"hung"
_Reaction = Callable[[Registration, Params], list[str]]


def _refuse(reg: Registration, params: Params, *, why: str) -> list[str]:
    return reg._refused(params, why)


#: Each message the registration reacts to, and how (every other one is ignored).
_REACTIONS: Mapping[str, _Reaction] = MappingProxyType(
    {
        "PING": Registration._ping,
        "CAP": Registration._on_cap,
        "AUTHENTICATE": Registration._authenticate,
        "900": Registration._logged_in,
        "903": lambda reg, _: reg._end_cap(),
        **dict.fromkeys(("902", "904", "905", "906", "908"), Registration._sasl_failed),
        "001": Registration._welcome,
        "376": Registration._motd_end,
        "422": Registration._motd_end,
        **dict.fromkeys(("432", "436", "437"), Registration._nick_refused),
        "433": Registration._nick_taken,
        **{code: functools.partial(_refuse, why=why) for code, why in _FATAL.items()},
        "ERROR": Registration._on_error,
    }
)


class ExternalLink:
    """A registered client of the network (`IrcLink`)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        nick: str,
        caps: frozenset[str],
        fold: Callable[[str], str],
        ping_timeout: float = PING_TIMEOUT,
    ) -> None:
        self._reader = reader
        self._ping_timeout = ping_timeout
        self._writer = writer
        self._nick = nick
        self._caps = caps
        self._fold = fold
        self._closed = False
        self._closer: asyncio.Task[None] | None = None
        self._gone = asyncio.Event()
        #: `nick!user@host` as the network shows this client (from USERHOST or an echo).
        self.source: str | None = None
        #: The server went silent for the ping timeout (we closed the link).
        self.hung = False

    @property
    def nick(self) -> str:
        return self._nick

    @property
    def caps(self) -> frozenset[str]:
        return self._caps

    @property
    def closed(self) -> bool:
        return self._closed

    def send(self, line: str) -> None:
        if self._closed or self._writer.is_closing():
            return
        if "\r" in line or "\n" in line or "\0" in line:
            log.warning("a line with CR, LF or NUL was not sent to the network")
            return
        self._writer.write(line.encode() + b"\r\n")
        if self._writer.transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            log.warning("%s: the network stopped reading; closing the link", self._nick)
            self._close_now()

    async def read(self) -> Message | None:
        """The next message; None once the link is closed. A hung server is told as an
        ERROR of our own (`Ping timeout`) before the None, so its reader knows why."""
        while not self._closed:
            line = await self._next_line()
            if line is None:
                break
            if line is _HUNG:
                self.hung = True
                self._close_now()
                return Message(
                    command="ERROR", params=(f"Ping timeout: {self._ping_timeout:g} seconds",)
                )
            try:
                msg = parse_line(line.rstrip(b"\r\n"), replace_invalid=True)
            except IrcParseError as exc:
                log.debug("a line from the network was skipped: %s", exc.reason)
                continue
            self._learn(msg)
            if msg.command == "ERROR" and msg.params:
                msg = Message(command="ERROR", params=(closing_reason(msg.params[-1]),))
            return msg
        self._close_now()
        return None

    def _learn(self, msg: Message) -> None:
        """Follow our own nick and learn how the network shows us (`source`)."""
        if self._mine(msg.source):
            if msg.command == "NICK" and msg.params:
                self._nick = msg.params[0]
            if msg.source is not None and "!" in msg.source:
                self.source = msg.source if msg.command != "NICK" else None
        elif msg.command == "302" and len(msg.params) >= 2:  # USERHOST nick=+user@host
            for reply in msg.params[-1].split():
                nick, _, rest = reply.partition("=")
                if self._fold(nick.rstrip("*")) == self._fold(self._nick) and "@" in rest:
                    self.source = f"{nick.rstrip('*')}!{rest[1:]}"

    def _mine(self, source: str | None) -> bool:
        return source is not None and self._fold(source.split("!", 1)[0]) == self._fold(self._nick)

    async def _next_line(self) -> bytes | None:
        """The next non-empty line; None when the link is gone or the server hung (no
        line at all within the ping timeout, our own PING at half of it included)."""
        pinged = False
        while True:
            try:
                async with asyncio.timeout(self._ping_timeout / 2):
                    line = await self._reader.readuntil(b"\n")
            except TimeoutError:
                if pinged:
                    log.warning("%s: the network did not answer for %g s; closing the link",
                                self._nick, self._ping_timeout)  # fmt: skip
                    return _HUNG
                self.send("PING :keepalive")
                pinged = True
                continue
            except asyncio.LimitOverrunError:
                log.warning("%s: the network sent an overlong line; closing", self._nick)
                return None
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                return None
            if line.strip():
                return line

    def quit(self, reason: str = "") -> None:
        if self._closed or self._closer is not None:
            return
        self.send(f"QUIT :{reason}" if reason else "QUIT")
        self._closer = asyncio.get_running_loop().create_task(self._close_after_quit())

    async def _close_after_quit(self) -> None:
        with contextlib.suppress(TimeoutError, ConnectionError, OSError):
            async with asyncio.timeout(QUIT_GRACE):
                await self._writer.drain()
        self._close_now()

    def _close_now(self) -> None:
        self._closed = True
        self._gone.set()
        if not self._writer.is_closing():
            self._writer.close()

    async def wait_closed(self) -> None:
        """Until the link is closed (after `quit`, at most QUIT_GRACE)."""
        await self._gone.wait()


class ExternalConnector:
    mode = "external"

    def topic_account(self, channel: str, text: str) -> str | None:
        return None  # a network's 333 names no account

    def __init__(self, settings: ExternalIrc) -> None:
        self.settings = settings
        #: Nicks and channels are folded as RFC 1459 says (the IRC default). A network
        #: with CASEMAPPING=ascii folds less; the difference is `[]\\~` only.
        self.fold: Callable[[str], str] = folder("rfc1459")
        self._ssl: ssl.SSLContext | None = None
        if settings.tls:
            self._ssl = ssl.create_default_context()
            if not settings.tls_verify:
                self._ssl.check_hostname = False
                self._ssl.verify_mode = ssl.CERT_NONE
        #: The index in `settings.servers` of the server reached last: tried first.
        self._last = 0
        self._reached = False

    @property
    def address(self) -> str:
        """The server or servers, for the log (`host:port, host:port`)."""
        return ", ".join(_address(host, port) for host, port in self.settings.servers)

    @property
    def status(self) -> str:
        """Every server, the one reached last marked (`gateway status`)."""
        return ", ".join(
            _address(host, port) + (" (last reached)" if i == self._last and self._reached else "")
            for i, (host, port) in enumerate(self.settings.servers)
        )

    async def connect(self, identity: Identity) -> ExternalLink:
        """Try the servers in order, starting from the one reached last, and move on to
        the next when one cannot be reached; a refusal is the network's answer (a ban, a
        nick taken) and is not taken elsewhere."""
        servers = self.settings.servers
        order = servers[self._last :] + servers[: self._last]
        failure: Unreachable | None = None
        for host, port in order:
            try:
                link = await self._connect_to(host, port, identity)
            except Unreachable as exc:
                failure = exc
                continue
            self._reached = True
            if len(servers) > 1:
                where = servers.index((host, port))
                if where != self._last:
                    log.warning("IRC: %s cannot be reached; using %s (%s)",
                                _address(*servers[self._last]), _address(host, port),
                                failure)  # fmt: skip
                self._last = where
                log.info("%s: on IRC server %s", link.nick, _address(host, port))
            return link
        assert failure is not None
        raise failure

    async def _connect_to(self, host: str, port: int, identity: Identity) -> ExternalLink:
        address = _address(host, port)
        try:
            async with asyncio.timeout(self.settings.connect_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._ssl, limit=MAX_LINE + 2
                )
        except TimeoutError:
            raise Unreachable(f"IRC network {address} did not answer") from None
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
            raise Unreachable(f"cannot reach IRC network {address}: {reason}") from None
        try:
            return await self._register(reader, writer, identity, address)
        except BaseException:
            writer.close()
            raise

    async def _register(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        identity: Identity,
        address: str,
    ) -> ExternalLink:
        reg = Registration(identity, self.settings)
        link = ExternalLink(
            reader, writer, reg.nick, frozenset(), self.fold, self.settings.ping_timeout
        )
        for line in reg.start():
            link.send(line)
        try:
            async with asyncio.timeout(self.settings.connect_timeout):
                while not reg.done and reg.error is None:
                    msg = await link.read()
                    if msg is None:
                        reg.error = reg.error or "the network closed the connection"
                        break
                    for line in reg.receive(msg):
                        link.send(line)
        except TimeoutError:
            if not reg.welcomed:
                # No answer is not a refusal: a hung or overloaded server (Unreachable).
                raise Unreachable(f"IRC network {address}: registration timed out") from None
        if reg.error is not None and link.hung:  # silent while registering: not a refusal
            raise Unreachable(f"IRC network {address}: no answer while registering")
        if reg.error is not None:
            error = f"IRC network {address}: {reg.error}"
            raise ConnectError(error, fatal=reg.fatal, taken=reg.taken)
        if reg.sasl_error is not None:
            log.warning("%s: the network refused the SASL login (%s); on IRC without an "
                        "account", reg.nick, reg.sasl_error)  # fmt: skip
        link._nick = reg.nick
        link._caps = reg.caps
        link.send(f"USERHOST {reg.nick}")  # how the network shows us: see `source`
        return link


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
