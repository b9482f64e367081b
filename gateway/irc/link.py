"""One IRC client of the gateway, whichever server it talks to (DESIGN.md principle 4).

The bridge, the service nick and the bulletin posters never care where IRC is: they ask
a `Connector` for an `IrcLink` with an `Identity`, send lines, read parsed messages, and
quit. Two connectors exist:

- `EmbeddedConnector` (here): an in-process client of the embedded server, attached
  with a trusted identity (no registration, no socket).
- `ExternalConnector` (gateway/irc/external.py): a TCP (or TLS) client of an IRC network,
  registered with WEBIRC so the network shows the radio side as its host.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ircd.admission import AttachError
from ircd.inprocess import InProcessConnection
from ircd.protocol import Message
from ircd.server import Server


class ConnectError(Exception):
    """The IRC side refused or could not be reached; the message says why, briefly.
    `fatal`: refused for good (a ban, a wrong password): trying again will not help.
    `taken`: every nick asked for is held by another client (433)."""

    def __init__(self, reason: str, *, fatal: bool = False, taken: bool = False) -> None:
        super().__init__(reason)
        self.fatal = fatal
        self.taken = taken


@dataclass(frozen=True)
class Identity:
    """Who a link is on IRC. `nicks`: the wanted nick first, then fallbacks to try."""

    nicks: tuple[str, ...]
    user: str
    host: str
    realname: str
    #: Trusted account (embedded mode only; an external network decides its accounts).
    account: str | None = None
    #: Capabilities wanted; a link gets those the server offers (`IrcLink.caps`).
    caps: frozenset[str] = frozenset()
    #: SASL PLAIN (account, password) toward an external network that has accounts.
    sasl: tuple[str, str] | None = field(default=None, repr=False)
    #: The gateway's own service or bulletin nick: the embedded server refuses to KILL it.
    service: bool = False


class IrcLink(Protocol):
    """A registered IRC client: lines out, parsed messages in."""

    @property
    def nick(self) -> str: ...

    @property
    def caps(self) -> frozenset[str]: ...

    @property
    def closed(self) -> bool: ...

    @property
    def source(self) -> str | None:
        """`nick!user@host` as the server shows this client, once known."""

    def send(self, line: str) -> None:
        """Send one line (no CR LF), in order; never blocks."""

    async def read(self) -> Message | None:
        """The next message from the server, or None once the link is closed."""

    def quit(self, reason: str = "") -> None:
        """Leave IRC with `reason`; `read` returns None afterwards."""

    async def wait_closed(self) -> None:
        """Until the link is closed (a QUIT had its chance to leave)."""


class Connector(Protocol):
    #: How the server folds nicks and channel names (its CASEMAPPING).
    fold: Callable[[str], str]
    #: "embedded" or "external", for logs and for what only the embedded server offers.
    mode: str

    async def connect(self, identity: Identity) -> IrcLink:
        """A registered link with the first free nick of `identity`; `ConnectError` if not."""
        ...

    def topic_account(self, channel: str, text: str) -> str | None:
        """The account of who set `channel`'s topic, if it is still `text` and the
        server tells (the embedded one remembers; an external network says nothing)."""
        ...


class EmbeddedLink:
    """An `InProcessConnection` seen as an `IrcLink`."""

    def __init__(self, conn: InProcessConnection, caps: frozenset[str]) -> None:
        self.conn = conn
        self._caps = caps

    @property
    def nick(self) -> str:
        client = self.conn.client
        return client.nick or "" if client is not None else ""

    @property
    def caps(self) -> frozenset[str]:
        return self._caps

    @property
    def closed(self) -> bool:
        return self.conn.closed

    @property
    def source(self) -> str | None:
        client = self.conn.client
        return client.prefix if client is not None else None

    def send(self, line: str) -> None:
        self.conn.send(line)

    async def read(self) -> Message | None:
        return await self.conn.read()

    def quit(self, reason: str = "") -> None:
        self.conn.quit(reason)

    async def wait_closed(self) -> None:
        """An in-process client is gone as soon as it quits."""


class EmbeddedConnector:
    mode = "embedded"

    def __init__(self, server: Server) -> None:
        self.server = server
        self.fold: Callable[[str], str] = server.fold

    async def connect(self, identity: Identity) -> EmbeddedLink:
        return self.attach(identity)

    def topic_account(self, channel: str, text: str) -> str | None:
        found = self.server.find_channel(channel)
        return found.topic_account if found is not None and found.topic == text else None

    def attach(self, identity: Identity) -> EmbeddedLink:
        """`connect` without waiting: an in-process client registers at once."""
        error: AttachError | None = None
        taken = True  # every nick held by another client
        for nick in identity.nicks:
            try:
                conn = InProcessConnection.attach(
                    self.server, nick=nick, user=identity.user, host=identity.host,
                    realname=identity.realname, account=identity.account,
                    service=identity.service,
                )  # fmt: skip
            except AttachError as exc:
                error = error or exc
                taken = taken and exc.taken
                continue
            conn.pending()  # the welcome burst says nothing a gateway client needs
            if identity.caps:
                conn.send("CAP REQ :" + " ".join(sorted(identity.caps)))
            return EmbeddedLink(conn, identity.caps)  # the embedded server has them all
        raise ConnectError(str(error) if error else "no nick to try", taken=taken and bool(error))
