"""Whose text the bridge lets on air: the gateway's own clients, and the third-party rule.

The service nick and the on-air bulletin posters are trusted by their full source
(`nick!user@host`), never by nick alone: on an external network anyone may take the
nick while ours is away. Everyone else is judged by `thirdparty.refusal_for`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from gateway.irc.link import IrcLink
from gateway.session import thirdparty
from ircd.client import Client
from ircd.protocol import Message


class Trust:
    def __init__(
        self, policy: Callable[[], str], links: Callable[[], Iterable[IrcLink | None]]
    ) -> None:
        #: The configured `bridge.third_party` (read each time: a reload may change it).
        self._policy = policy
        #: The gateway's own clients whose text goes on air, connected or not.
        self._links = links

    def trusted_source(self, source: str) -> bool:
        """Whether `source` is the service nick or an on-air bulletin poster of this
        gateway, connected now."""
        return bool(source) and any(
            link is not None and not link.closed and link.source == source for link in self._links()
        )

    def refusal(self, sender: Message | Client) -> str | None:
        """Why text of `sender` may not go on air (see session/thirdparty.py), or None."""
        return thirdparty.refusal_for(
            self._policy(),
            sender,
            radio_suffix=thirdparty.RADIO_SUFFIX,
            trusted=self.trusted_source,
        )
