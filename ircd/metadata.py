"""Metadata (IRCv3 draft/metadata-3, and draft/metadata-2 for the clients that ask for
it): key rules, who may see what, and the messages that carry values to clients.

Shared by the METADATA handler, JOIN, WHOIS, MONITOR, CAP and the welcome burst, so it
sits below the handlers. Values live on the `Client` and the `Channel` and go with them
(nothing is stored beyond the connection or the channel). Bounds: `MAX_KEYS` keys per
user or channel, `MAX_VALUE` bytes per value, `MAX_KEY_LEN` bytes per key, `MAX_SUBS`
subscriptions per client; a join or a new subscription answered with more than
`SYNC_NOW` values is postponed (774: the client asks with METADATA SYNC).

The two revisions differ in form only: metadata-3 tells subscribers with numerics
(761 RPL_KEYVALUE, 766 RPL_KEYNOTSET) addressed to each, metadata-2 with one METADATA
message from the setter; metadata-3's keys are `a-z0-9_./-`, metadata-2's also allow
`:` (and upper case, folded).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from ircd import caps, isupport
from ircd import numerics as n
from ircd.channel import Channel
from ircd.protocol import Message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

V3: Final = caps.METADATA_3
V2: Final = caps.METADATA
MAX_KEYS: Final = isupport.METADATA_MAX_KEYS
MAX_SUBS: Final = isupport.METADATA_MAX_SUBS
MAX_VALUE: Final = isupport.METADATA_MAX_VALUE
MAX_KEY_LEN: Final = isupport.METADATA_MAX_KEY
SYNC_NOW: Final = 100
#: The SYNC target meaning every target the client hears about (metadata-3).
ALL: Final = "*ALL"
_KEY_V3: Final = re.compile(r"[a-z0-9_./\-]+\Z")
_KEY_V2: Final = re.compile(r"[a-z0-9_.\-][a-z0-9_.:\-]*\Z")


def v2(client: Client) -> bool:
    """Whether `client` speaks draft/metadata-2 (everyone else gets metadata-3's replies)."""
    return V2 in client.caps


def aware(client: Client) -> bool:
    """A client that negotiated metadata (either revision) and batch."""
    return "batch" in client.caps and (V3 in client.caps or V2 in client.caps)


def valid_key(key: str, old: bool = False) -> bool:
    pattern = _KEY_V2 if old else _KEY_V3
    return len(key.encode()) <= MAX_KEY_LEN and bool(pattern.match(key))


def visible(client: Client, owner: Client | Channel) -> bool:
    """A secret or invite-only channel's values are for its members (and operators)."""
    if not isinstance(owner, Channel) or client.oper is not None:
        return True
    return client in owner.members or not ({"s", "i"} & owner.modes)


def key_value(server: Context, to: Client, target: str, key: str, value: str | None) -> Message:
    """761 RPL_KEYVALUE, or 766 RPL_KEYNOTSET without a value (metadata-3's forms)."""
    if value is None:
        unset = (to.name, target, key, "Key not set")
        return Message(source=server.name, command=n.RPL_KEYNOTSET, params=unset)
    params = (to.name, target, key, "*", value)
    return Message(source=server.name, command=n.RPL_KEYVALUE, params=params)


def warn(server: Context, code: str, *params: str) -> Message:
    """A standard reply WARN of METADATA (sent inside a batch, so built, not added)."""
    return Message(source=server.name, command="WARN", params=("METADATA", code, *params))


def notify(
    server: Context,
    setter: Client,
    owner: Client | Channel,
    key: str,
    value: str | None,
) -> None:
    """Tell the subscribers of `key` who follow `owner` of a change (never the setter).

    Followers: a channel's members; a user's peers, the user (when changed by another)
    and, for metadata-3, those who MONITOR the user.
    """
    watchers: Iterable[Client] = ()
    if isinstance(owner, Channel):
        followers = set(owner.members)
    else:
        followers = {owner, *server.peers(owner)}
        watchers = server.monitors.watchers(server.fold(owner.name))
    old = []
    for c in [*followers, *(w for w in watchers if w not in followers)]:
        if c is setter or key not in c.meta_subs:
            continue
        if V3 in c.caps:
            server.send(c, key_value(server, c, owner.name, key, value))
        elif V2 in c.caps and c in followers:
            old.append(c)  # metadata-2 has no MONITOR notifications (metadata-notify-2)
    if old:
        params = (owner.name, key, "*", value) if value is not None else (owner.name, key, "*")
        server.fanout(old, Message(source=setter.prefix, command="METADATA", params=params))


def values_of(
    server: Context, client: Client, owner: Client | Channel, keys: Iterable[str]
) -> list[Message]:
    """The subscribed `keys` set on `owner` (a channel: and on its members), as `client`'s
    revision writes them."""
    wanted = set(keys)
    found: list[tuple[str, str, str]] = []
    if isinstance(owner, Channel):
        if not visible(client, owner):
            return []
        found += _set_on(owner, wanted)
        for user in owner.members:
            found += _set_on(user, wanted)
    else:
        found += _set_on(owner, wanted)
    return _written(server, client, found)


def values_of_all(server: Context, client: Client, keys: Iterable[str]) -> list[Message]:
    """`values_of` every target `client` hears about: itself, its channels, the users
    sharing one, the users it monitors (each once)."""
    wanted = set(keys)
    found: list[tuple[str, str, str]] = []
    for channel in client.channels.values():
        found += _set_on(channel, wanted)
    for user in dict.fromkeys([client, *server.peers(client), *_monitored(server, client)]):
        found += _set_on(user, wanted)
    return _written(server, client, found)


def _set_on(owner: Client | Channel, wanted: set[str]) -> list[tuple[str, str, str]]:
    return [(owner.name, k, v) for k, v in owner.metadata.items() if k in wanted]


def _written(server: Context, client: Client, found: list[tuple[str, str, str]]) -> list[Message]:
    if v2(client):
        return [
            Message(source=server.name, command="METADATA", params=(target, key, "*", value))
            for target, key, value in found
        ]
    return [key_value(server, client, target, key, value) for target, key, value in found]


def _monitored(server: Context, client: Client) -> list[Client]:
    found = (server.find_nick(nick) for nick in client.monitoring)
    return [user for user in found if user is not None]


def after_join(server: Context, client: Client, channel: Channel, rb: ReplyBuffer) -> None:
    """What a metadata-aware client gets on joining: the channel's and its members'
    subscribed values in a batch, or 774 when there are too many members to send now."""
    if not aware(client) or (v2(client) and not client.meta_subs):
        return
    if len(channel.members) > SYNC_NOW:
        _sync_later(rb, client, channel.name)
        return
    found = values_of(server, client, channel, client.meta_subs)
    if found or not v2(client):  # metadata-3: the batch even when empty (MUST)
        rb.batch("metadata", () if v2(client) else (channel.name,), found)


def after_online(server: Context, watcher: Client, user: Client, rb: ReplyBuffer | None) -> None:
    """After 730 RPL_MONONLINE about `user`: its subscribed values (metadata-3 MUST)."""
    if V3 not in watcher.caps or "batch" not in watcher.caps:
        return
    found = values_of(server, watcher, user, watcher.meta_subs)
    if rb is not None:
        rb.batch("metadata", (user.name,), found)
        return
    ref = server.batch_id()
    opening = (f"+{ref}", "metadata", user.name)
    server.send(watcher, Message(source=server.name, command="BATCH", params=opening))
    for msg in found:
        server.send(watcher, msg.with_tags({"batch": ref}))
    server.send(watcher, Message(source=server.name, command="BATCH", params=(f"-{ref}",)))


def _sync_later(rb: ReplyBuffer, client: Client, target: str) -> None:
    if v2(client):
        rb.numeric(n.ERR_METADATASYNCLATER, target, "Use METADATA SYNC later")
    else:
        rb.numeric(n.RPL_METADATASYNCLATER, target, "0", "Use METADATA SYNC")


def burst(server: Context, client: Client, rb: ReplyBuffer) -> None:
    """metadata-3, in the welcome burst: the client's own keys (those it set before
    registration), every one of them, in a batch naming it (MUST, even empty)."""
    if V3 not in client.caps:
        return
    found = [key_value(server, client, client.name, k, v) for k, v in client.metadata.items()]
    rb.batch("metadata", (client.name,), found)


def whois(client: Client, user: Client, rb: ReplyBuffer) -> None:
    """760 RPL_WHOISKEYVALUE for each of `user`'s keys, to a client that asked for metadata."""
    if V3 in client.caps or V2 in client.caps:
        for key, value in user.metadata.items():
            rb.numeric(n.RPL_WHOISKEYVALUE, user.name, key, "*", value)


def cap_change(client: Client, wanted: list[str]) -> bool:
    """Whether a CAP REQ may go ahead (never both revisions at once); a client that drops
    metadata or batch loses its subscriptions (metadata-3)."""
    after = set(client.caps)
    for item in wanted:
        if item.startswith("-"):
            after.discard(item[1:])
        else:
            after.add(item)
    if V3 in after and V2 in after:
        return False
    if "batch" not in after or not ({V3, V2} & after):
        client.meta_subs.clear()
    return True
