"""Serializing a message for one kind of client: which IRCv3 tags it gets.

A client's `tag_mode` (bits TAGS_MESSAGE, TAGS_TIME, TAGS_ACCOUNT of `ircd.client`)
decides; fan-out serializes once per mode, so this runs at most `TAG_MODES` times
per message however many recipients there are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ircd.client import TAGS_ACCOUNT, TAGS_MESSAGE, TAGS_TIME
from ircd.protocol import Message

#: Tags a client without message-tags may still get: label and batch are only ever
#: added for clients that asked for them.
_BARE_TAGS: Final = frozenset({"label", "batch"})


def encode(msg: Message, tag_mode: int, timestamp: Callable[[], str]) -> bytes:
    """`msg` as bytes with the tags a client of `tag_mode` has asked for.

    `timestamp()` gives the server-time tag for a message that has none yet.
    """
    tags = msg.tags
    if tags:
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
    if tags is not msg.tags:
        msg = msg.with_tags(tags)
    return msg.to_bytes()
