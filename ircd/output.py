"""Serializing a message for one kind of client: which IRCv3 tags it gets.

A client's `tag_mode` (bits TAGS_MESSAGE, TAGS_TIME, TAGS_ACCOUNT of `ircd.client`)
decides; fan-out serializes once per mode, so this runs at most `TAG_MODES` times
per message however many recipients there are.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final, NamedTuple

from ircd.client import TAGS_ACCOUNT, TAGS_MESSAGE, TAGS_TIME
from ircd.protocol import Message, serialize

if TYPE_CHECKING:
    from ircd.client import Client, Sink

#: Tags a client without message-tags may still get: label and batch are only ever
#: added for clients that asked for them.
_BARE_TAGS: Final = frozenset({"label", "batch"})


# radon D (23), kept: it runs for every serialization, where a helper call costs more.
def encode(msg: Message, tag_mode: int, timestamp: Callable[[], str]) -> bytes:
    """`msg` as bytes with the tags a client of `tag_mode` has asked for.

    `timestamp()` gives the server-time tag for a message that has none yet.
    """
    tags = msg.tags
    if tags:
        if not tag_mode and "label" not in tags and "batch" not in tags:
            # A client without IRCv3 tags, the common case: none of the tags is for it.
            return serialize({}, msg.source, msg.command, msg.params)
        if tag_mode & TAGS_MESSAGE:
            if (not tag_mode & TAGS_TIME and "time" in tags) or (
                not tag_mode & TAGS_ACCOUNT and "account" in tags
            ):
                tags = {
                    k: v
                    for k, v in tags.items()
                    if (k != "time" or tag_mode & TAGS_TIME)
                    and (k != "account" or tag_mode & TAGS_ACCOUNT)
                }
        else:
            # Without message-tags only the tags of the capabilities asked for pass;
            # label and batch are only ever added for clients that asked for them.
            tags = {
                k: v
                for k, v in tags.items()
                if k in _BARE_TAGS
                or (k == "time" and tag_mode & TAGS_TIME)
                or (k == "account" and tag_mode & TAGS_ACCOUNT)
            }
    if tag_mode & TAGS_TIME and "time" not in tags:
        tags = {"time": timestamp(), **tags}
    return serialize(tags, msg.source, msg.command, msg.params)


class FanoutGroup(NamedTuple):
    """The members of one tag mode: their sinks, and where each client's sink is."""

    mode: int
    sinks: list[Sink]
    where: dict[Client, int]


#: How a channel message reaches the members of one group: `(sinks, data, skip, mine)`,
#: where `skip` and `mine` are indices into `sinks` that must not get `data` (-1: none).
#: The core's own is `write_each`; an I/O layer may pass a cheaper one to `Server`.
Multicast = Callable[["list[Sink]", bytes, int, int], None]


def write_each(sinks: list[Sink], data: bytes, skip: int, mine: int) -> None:
    """`Multicast` by one `sink.write` per member."""
    if skip < 0 and mine < 0:
        targets = sinks
    elif skip < 0 or mine < 0:
        cut = max(skip, mine)
        targets = sinks[:cut] + sinks[cut + 1 :]  # copies at C speed
    else:
        targets = [s for i, s in enumerate(sinks) if i != skip and i != mine]
    for sink in targets:
        sink.write(data)


def fanout_plan(members: Iterable[Client]) -> tuple[FanoutGroup, ...]:
    """A channel's members grouped by tag mode, closed clients left out.

    Kept on the channel until its membership, or a member's capabilities or liveness,
    changes (`Channel.plan`): a message to the channel then costs one serialization
    per group and one `sink.write` per member, with no per-member checks.
    """
    groups: dict[int, FanoutGroup] = {}
    for client in members:
        if client.closed:
            continue
        group = groups.get(client.tag_mode)
        if group is None:
            group = groups[client.tag_mode] = FanoutGroup(client.tag_mode, [], {})
        group.where[client] = len(group.sinks)
        group.sinks.append(client.sink)
    return tuple(groups.values())
