"""A channel: members with their status, modes, topic and pending invites."""

from __future__ import annotations

import hmac
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import numerics as n
from ircd.chanlists import ChannelLists

if TYPE_CHECKING:
    from ircd.client import Client
    from ircd.output import FanoutGroup

#: Membership modes, highest first, and their NAMES/WHO prefixes (ISUPPORT PREFIX).
STATUS_MODES: Final = "ov"
STATUS_PREFIXES: Final = MappingProxyType({"o": "@", "v": "+"})
#: Channel modes without parameter (ISUPPORT CHANMODES type D). Beyond RFC 2811's i m n s t,
#: as on InspIRCd and UnrealIRCd: C no CTCP but ACTION, M speaking needs an account (or
#: voice), R joining needs an account (or an invite, or +I), T no NOTICE.
FLAG_MODES: Final = "CMRTimnst"
#: Invites remembered per channel; the oldest is forgotten first.
MAX_INVITES: Final = 100


def _is_ctcp(text: str) -> bool:
    """A CTCP request or reply other than ACTION (which +C lets through: it is just "/me")."""
    if not text.startswith("\x01"):
        return False
    name = text[1:].split(" ", 1)[0].rstrip("\x01")
    return name.upper() != "ACTION"


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
        "metadata",
        "modes",
        "name",
        "plan",
        "topic",
        "topic_account",
        "topic_at",
        "topic_by",
    )

    def __init__(self, name: str, folded: str, created: float) -> None:
        self.name = name
        self.folded = folded
        self.created = created
        self.members: dict[Client, str] = {}
        #: Members grouped for fan-out (`ircd.output.fanout_plan`); None: to be rebuilt.
        self.plan: tuple[FanoutGroup, ...] | None = None
        self.modes: set[str] = {"n", "t"}
        self.key: str | None = None
        self.limit: int | None = None
        self.topic = ""
        self.topic_by = ""
        self.topic_at = 0.0
        #: The account its setter was logged in to (None: none); the embedder may ask
        #: (a radio user's gateway judges a topic set before the user joined by it).
        self.topic_account: str | None = None
        # Folded nicks invited past +i; a dict keeps insertion order for eviction.
        self.invites: dict[str, None] = {}
        self.lists = ChannelLists()
        #: metadata keys (at most ircd.metadata.MAX_KEYS).
        self.metadata: dict[str, str] = {}

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
        # An invitation lets in past +l, +i and +R (Modern IRC's optional behaviour, as
        # on InspIRCd and Ergo); an invite exception (+I) past +i and +R only.
        invited = folded_nick in self.invites
        if self.limit is not None and len(self.members) >= self.limit and not invited:
            return n.ERR_CHANNELISFULL
        needs_invite = "i" in self.modes
        needs_account = "R" in self.modes and client.account is None
        if (needs_invite or needs_account) and not invited and not self.lists.match("I", client):
            return n.ERR_INVITEONLYCHAN if needs_invite else n.ERR_NEEDREGGEDNICK
        if self.lists.banned(client):
            return n.ERR_BANNEDFROMCHAN
        return None

    def send_refusal(self, client: Client, command: str, text: str) -> str | None:
        """The mode letter that keeps `client` from sending `command` with `text`, or None.

        "b" stands for a ban, "m:" for a mute (the `m:` extban in +b). Voice or op speaks
        past +m, +M, bans and mutes; only op also passes +C and +T (UnrealIRCd exempts
        channel staff the same way; we have no halfop).
        """
        modes = self.modes
        status = self.members.get(client)
        if status is None and "n" in modes:
            return "n"
        if not status:
            if "m" in modes:
                return "m"
            if "M" in modes and client.account is None:
                return "M"
            # A member's verdict is kept (`ChannelLists.refusal`): one message from each
            # of many members no longer matches every ban each time.
            refusal = self.lists.refusal(client, member=status is not None)
            if refusal is not None:
                return refusal
        if "o" not in (status or ""):
            if "T" in modes and command == "NOTICE":
                return "T"
            if "C" in modes and _is_ctcp(text):
                return "C"
        return None

    def banned_member(self, client: Client) -> bool:
        """A member without voice or op who is banned or muted (kept quiet, may not change
        nick: renaming would slip out of a nick mask)."""
        status = self.members.get(client)
        return not status and self.lists.refusal(client, member=status is not None) is not None

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
