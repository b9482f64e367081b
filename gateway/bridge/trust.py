"""Whose text the bridge lets on air: the gateway's own clients, the network's other
gateways' clients, and the third-party rule.

The service nick and the on-air bulletin posters are trusted by their full source
(`nick!user@host`), never by nick alone: on an external network anyone may take the
nick while ours is away. On a network whose gateways share `irc.external.radio_key`,
another gateway's radio user or service nick is known by the address the network shows
as its host: WEBIRC gave it an HMAC of its callsign (or of the service user) under the
key, which nobody else can make (`external.radio_ip`). Without the key the address is a
plain hash: enough to tell a squatter of a callsign nick, who connects from an address
of its own, from the radio user, not to vouch for anyone. Everyone else is judged by
`thirdparty.refusal_for`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from gateway import lookalike
from gateway.callsign import parse_callsign
from gateway.config import ExternalIrc
from gateway.irc.external import radio_ip
from gateway.irc.link import IrcLink
from gateway.session import thirdparty
from gateway.session.render import callsign_text
from ircd.client import Client
from ircd.protocol import Message

#: The WEBIRC user name of every gateway's service nick (`service.py`): its address.
SERVICE_USER = "gateway"


class NetworkPeers:
    """What the host the network shows says of a client, on an external network."""

    def __init__(self, settings: ExternalIrc, fold: Callable[[str], str]) -> None:
        #: The network's `radio_key` (None: addresses are a plain hash of the user).
        self.key = settings.radio_key
        self._services = frozenset(fold(nick) for nick in settings.service_nicks)
        self._fold = fold

    def radio_user(self, source: str) -> bool:
        """Whether `source` is a radio user of one of the network's gateways (the key's)."""
        base = _callsign_of(source)
        return bool(self.key) and base is not None and _at(source, radio_ip(base, self.key))

    def service(self, source: str) -> bool:
        """Whether `source` is the service nick of one of the network's gateways."""
        nick = source.partition("!")[0]
        return (
            bool(self.key)
            and self._fold(nick) in self._services
            and _at(source, radio_ip(SERVICE_USER, self.key))
        )

    def squatter(self, source: str, account: str) -> bool:
        """Whether `source`'s nick names or imitates a callsign (`lookalike.imitated`:
        `N0AAA-16`, `N0AAA1`, `_N0AAA`, `N0AAA|away`, `NOAAA`) without being its radio
        user: not at the address of a callsign it names (the key's, or the plain hash
        without one), and not logged in to an account that may hold the nick (the
        callsign's, or for a lookalike one that folds alike)."""
        nick = source.partition("!")[0]
        claims = lookalike.imitated(nick)
        if not claims or (account and lookalike.may_use(account, nick)):
            return False
        return not any(exact and _at(source, radio_ip(call, self.key)) for call, exact in claims)


def _callsign_of(source: str) -> str | None:
    """The base callsign a radio user's nick stands for (`N0AAA-5`, `_2E0ABC`,
    `N0AAA_`), or None."""
    nick = source.partition("!")[0]
    call = parse_callsign(callsign_text(nick.rstrip("_")))
    return call.base if call is not None else None


def _at(source: str, address: str) -> bool:
    """Whether the host of `source` is `address` (however the network writes it)."""
    host = source.rpartition("@")[2] if "@" in source else ""
    try:
        return ipaddress.ip_address(host) == ipaddress.ip_address(address)
    except ValueError:
        return False


class Trust:
    def __init__(
        self,
        policy: Callable[[], str],
        links: Callable[[], Iterable[IrcLink | None]],
        peers: NetworkPeers | None = None,
    ) -> None:
        #: The configured `bridge.third_party` (read each time: a reload may change it).
        self._policy = policy
        #: The gateway's own clients whose text goes on air, connected or not.
        self._links = links
        #: On an external network: the other gateways' clients (None when embedded).
        self._peers = peers

    def trusted_source(self, source: str) -> bool:
        """Whether `source` is the service nick or an on-air bulletin poster of this
        gateway, connected now, or a radio user or service nick of another gateway
        of the network (by the address only they can have)."""
        if not source:
            return False
        if any(link is not None and not link.closed and link.source == source
               for link in self._links()):  # fmt: skip
            return True
        return self._peers is not None and (
            self._peers.radio_user(source) or self._peers.service(source)
        )

    def peer_service(self, source: str) -> bool:
        """Whether `source` is the service nick of a gateway of this network (by the
        address only the holders of `radio_key` can give)."""
        return self._peers is not None and self._peers.service(source)

    def squatted(self, source: str, account: str) -> bool:
        """Whether `source` holds the nick of a callsign whose radio user it is not (only
        on a network: the embedded server keeps those nicks for their owners; and only
        where the network shows the address WEBIRC gave, else no address tells)."""
        return (
            self._peers is not None
            and self._peers.squatter(source, account)
            and self.addresses_shown()
            and not self.trusted_source(source)
        )

    def addresses_shown(self) -> bool:
        """Whether the network shows the WEBIRC address as the host, as our own service
        nick's source says (InspIRCd 3 and ngircd without DNS do; a network that shows
        the host name, cloaks, or a gateway without `webirc_password` does not: there
        the squatter rule would take the gateway's own radio users for squatters)."""
        if self._peers is None:
            return False
        own = radio_ip(SERVICE_USER, self._peers.key)
        return any(
            link is not None and not link.closed and link.source is not None
            and _at(link.source, own)
            for link in self._links()
        )  # fmt: skip

    def refusal(self, sender: Message | Client) -> str | None:
        """Why text of `sender` may not go on air (see session/thirdparty.py), or None."""
        return thirdparty.refusal_for(
            self._policy(),
            sender,
            radio_suffix=thirdparty.RADIO_SUFFIX,
            trusted=self.trusted_source,
            squatted=self.squatted,
        )
