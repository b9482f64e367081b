"""A channel: members with their status, modes, topic and pending invites."""

from __future__ import annotations

import hmac
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.chanlists import ChannelLists

if TYPE_CHECKING:
    from ircd.client import Client

#: Membership modes, highest first, and their NAMES/WHO prefixes (ISUPPORT PREFIX).
STATUS_MODES: Final = "ov"
STATUS_PREFIXES: Final = MappingProxyType({"o": "@", "v": "+"})
#: Channel modes without parameter (ISUPPORT CHANMODES type D).
FLAG_MODES: Final = "imnst"
#: Invites remembered per channel; the oldest is forgotten first.
MAX_INVITES: Final = 100


def prefix_for(status: str, multi: bool) -> str:
    """Prefix characters for a member's status: all of them (multi-prefix) or the highest."""
    prefixes = "".join(STATUS_PREFIXES[m] for m in STATUS_MODES if m in status)
    return prefixes if multi else prefixes[:1]


class Channel:
    """Members map each client to its status letters, kept in `STATUS_MODES` order."""

    __slots__ = (
        "created",
        "folded",
        "invites",
        "key",
        "limit",
        "lists",
        "members",
        "modes",
        "name",
        "topic",
        "topic_at",
        "topic_by",
    )

    def __init__(self, name: str, folded: str, created: float) -> None:
        self.name = name
        self.folded = folded
        self.created = created
        self.members: dict[Client, str] = {}
        self.modes: set[str] = {"n", "t"}
        self.key: str | None = None
        self.limit: int | None = None
        self.topic = ""
        self.topic_by = ""
        self.topic_at = 0.0
        # Folded nicks invited past +i; a dict keeps insertion order for eviction.
        self.invites: dict[str, None] = {}
        self.lists = ChannelLists()

    def __repr__(self) -> str:
        return f"<Channel {self.name} ({len(self.members)})>"

    @property
    def secret(self) -> bool:
        return "s" in self.modes

    def is_op(self, client: Client) -> bool:
        return "o" in self.members.get(client, "")

    def join_error(self, client: Client, folded_nick: str, key: str | None) -> str | None:
        """Return the numeric refusing `client` entry, or None if it may join."""
        # A channel key is a shared secret: compare in constant time.
        if self.key is not None and (
            key is None or not hmac.compare_digest(key.encode(), self.key.encode())
        ):
            return n.ERR_BADCHANNELKEY
        if self.limit is not None and len(self.members) >= self.limit:
            return n.ERR_CHANNELISFULL
        if (
            "i" in self.modes
            and folded_nick not in self.invites
            and not self.lists.match("I", client)
        ):
            return n.ERR_INVITEONLYCHAN
        if self.lists.banned(client):
            return n.ERR_BANNEDFROMCHAN
        return None

    def can_send(self, client: Client) -> bool:
        """Whether `client` may speak here: +n keeps outsiders out, +m and +b need voice."""
        status = self.members.get(client)
        if status:
            return True  # voice or op speaks even when banned or +m
        if "m" in self.modes or (status is None and "n" in self.modes):
            return False
        return not self.lists.banned(client)

    def banned_member(self, client: Client) -> bool:
        """A member without voice or op who is banned (kept quiet, may not change nick)."""
        return not self.members.get(client) and self.lists.banned(client)

    def set_status(self, client: Client, mode: str, on: bool) -> bool:
        """Give or take a status mode; return whether anything changed."""
        status = self.members[client]
        if (mode in status) == on:
            return False
        wanted = set(status) | {mode} if on else set(status) - {mode}
        self.members[client] = "".join(m for m in STATUS_MODES if m in wanted)
        return True

    def invite(self, folded_nick: str) -> None:
        self.invites.pop(folded_nick, None)
        self.invites[folded_nick] = None
        if len(self.invites) > MAX_INVITES:
            del self.invites[next(iter(self.invites))]

    def mode_string(self, show_key: bool) -> tuple[str, ...]:
        """The channel's modes as MODE parameters, e.g. ("+klnt", "key", "10")."""
        letters = "".join(sorted(self.modes))
        args: list[str] = []
        if self.key is not None:
            letters += "k"
            args.append(self.key if show_key else "*")
        if self.limit is not None:
            letters += "l"
            args.append(str(self.limit))
        return ("+" + letters, *args)
