"""METADATA (IRCv3 draft/metadata-2): key/value pairs on users and channels.

Users set keys on themselves, channel operators on their channels, IRC operators on
anyone. Clients subscribe to the keys they understand (`SUB`) and hear of changes to
those keys on themselves (made by others), their channels and the users sharing one.
Nothing is stored beyond the connection or the channel: a user's keys go when they quit.
Bounds: `MAX_KEYS` keys per user or channel, `MAX_VALUE` bytes per value, `MAX_SUBS`
subscriptions per client; joining a channel of more than `SYNC_NOW` members answers
ERR_METADATASYNCLATER instead of sending everyone's keys at once.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from ircd import caps
from ircd import numerics as n
from ircd.channel import Channel
from ircd.protocol import Message

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

CAP: Final = caps.METADATA
MAX_KEYS: Final = caps.METADATA_MAX_KEYS
MAX_SUBS: Final = caps.METADATA_MAX_SUBS
MAX_VALUE: Final = 300
MAX_KEY_LEN: Final = 64
SYNC_NOW: Final = 100
CAP_VALUE: Final = caps.METADATA_VALUE
_KEY: Final = re.compile(r"[a-z0-9_.\-][a-z0-9_.:\-]*\Z")


def valid_key(key: str) -> bool:
    return len(key) <= MAX_KEY_LEN and bool(_KEY.match(key))


def metadata(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """METADATA <target> GET|LIST|SET|CLEAR|SUB|UNSUB|SUBS|SYNC [<key>...] [:<value>]

    Reads and writes key/value metadata of users and channels (draft/metadata-2);
    "*" is yourself. SUB chooses the keys you hear about.
    """
    if len(msg.params) < 2:
        rb.numeric(n.ERR_NEEDMOREPARAMS, "METADATA", "Not enough parameters")
        return
    raw_target, sub, args = msg.params[0], msg.params[1].upper(), list(msg.params[2:])
    if sub in ("SUB", "UNSUB", "SUBS"):
        _subscriptions(client, sub, args, rb)
        return
    if sub not in ("GET", "LIST", "SET", "CLEAR", "SYNC"):
        rb.fail("METADATA", "INVALID_SUBCOMMAND", msg.params[1], text="Invalid subcommand")
        return
    found = _target(server, client, raw_target)
    if found is None:
        rb.fail("METADATA", "INVALID_TARGET", raw_target, text="Invalid metadata target")
        return
    name, store, owner = found
    if sub == "GET":
        out = []
        for key in args:
            key = key.lower()
            if not valid_key(key):
                rb.fail("METADATA", "KEY_INVALID", key, name, text="Invalid key")
            elif key in store:
                out.append(_numeric(server, client, n.RPL_KEYVALUE, name, key, "*", store[key]))
            else:
                text = "No matching key"
                out.append(_numeric(server, client, n.ERR_NOMATCHINGKEY, name, key, text))
        rb.batch("metadata", (), out)
    elif sub == "LIST":
        items = [
            _numeric(server, client, n.RPL_KEYVALUE, name, key, "*", value)
            for key, value in store.items()
        ]
        rb.batch("metadata", (), items)
    elif sub == "SYNC":
        rb.batch("metadata", (), _sync(server, client, owner))
    elif not _may_set(client, owner):
        key = args[0].lower() if sub == "SET" and args else "*"
        rb.fail("METADATA", "KEY_NO_PERMISSION", name, key, text="Permission denied")
    elif sub == "CLEAR":
        cleared = list(store)
        store.clear()
        for key in cleared:
            _notify(server, client, owner, name, key, None)
        rb.batch(
            "metadata",
            (),
            [_numeric(server, client, n.RPL_KEYVALUE, name, key, "*") for key in cleared],
        )
    else:
        _set(server, client, owner, name, store, args, rb)


def _target(
    server: Context, client: Client, raw: str
) -> tuple[str, dict[str, str], Client | Channel] | None:
    """(display name, its key/value table, the user or channel) or None."""
    if raw == "*":
        return client.name, client.metadata, client
    if raw.startswith("#"):
        channel = server.find_channel(raw)
        return None if channel is None else (channel.name, channel.metadata, channel)
    user = server.find_nick(raw)
    return None if user is None else (user.name, user.metadata, user)


def _may_set(client: Client, owner: Client | Channel) -> bool:
    if client.oper is not None or owner is client:
        return True
    return isinstance(owner, Channel) and owner.is_op(client)


def _set(
    server: Context,
    client: Client,
    owner: Client | Channel,
    name: str,
    store: dict[str, str],
    args: list[str],
    rb: ReplyBuffer,
) -> None:
    if not args:
        rb.numeric(n.ERR_NEEDMOREPARAMS, "METADATA", "Not enough parameters")
        return
    key = args[0].lower()
    if not valid_key(key):
        rb.fail("METADATA", "KEY_INVALID", key, name, text="Invalid key")
        return
    value = args[1] if len(args) > 1 else None
    if value is None:
        if key not in store:
            rb.numeric(n.ERR_KEYNOTSET, name, key, "Key not set")
            return
        del store[key]
    elif len(value.encode()) > MAX_VALUE:
        rb.fail("METADATA", "VALUE_INVALID", name, key, text=f"At most {MAX_VALUE} bytes")
        return
    elif key not in store and len(store) >= MAX_KEYS:
        rb.fail("METADATA", "LIMIT_REACHED", name, text="Metadata limit reached")
        return
    else:
        store[key] = value
    if value is None:
        rb.numeric(n.RPL_KEYVALUE, name, key, "*")
    else:
        rb.numeric(n.RPL_KEYVALUE, name, key, "*", value)
    _notify(server, client, owner, name, key, value)


def _notify(
    server: Context,
    client: Client,
    owner: Client | Channel,
    name: str,
    key: str,
    value: str | None,
) -> None:
    """METADATA to those who follow `owner` and subscribed to `key`; not to the setter."""
    audience: Iterable[Client]
    if isinstance(owner, Channel):
        audience = owner.members
    elif owner is client:
        audience = server.peers(client)
    else:
        audience = [owner, *server.peers(owner)]
    params = (name, key, "*", value) if value is not None else (name, key, "*")
    msg = Message(source=client.prefix, command="METADATA", params=params)
    server.fanout(
        (c for c in audience if CAP in c.caps and key in c.meta_subs and c is not client), msg
    )


def _subscriptions(client: Client, sub: str, keys: list[str], rb: ReplyBuffer) -> None:
    subs = client.meta_subs
    if sub == "SUBS":
        rb.numeric_list(n.RPL_METADATASUBS, (), list(subs))
        return
    done: list[str] = []
    for i, key in enumerate(k.lower() for k in keys):
        if not valid_key(key):
            rb.fail("METADATA", "KEY_INVALID", key, text="Invalid key")
        elif sub == "UNSUB":
            subs.pop(key, None)
            done.append(key)
        elif key in subs:
            done.append(key)
        elif len(subs) >= MAX_SUBS:
            rb.fail("METADATA", "TOO_MANY_SUBS", keys[i], text="Too many subscriptions")
            break
        else:
            subs[key] = None
            done.append(key)
    if done:
        code = n.RPL_METADATASUBOK if sub == "SUB" else n.RPL_METADATAUNSUBOK
        rb.numeric_list(code, (), done)


def _sync(server: Context, client: Client, owner: Client | Channel) -> list[Message]:
    """METADATA messages for the subscribed keys of `owner` (and, a channel, its members)."""
    subs = client.meta_subs
    out = []
    users = list(owner.members) if isinstance(owner, Channel) else [owner]
    if isinstance(owner, Channel):
        out += [_message(server, owner.name, k, v) for k, v in owner.metadata.items() if k in subs]
    for user in users:
        out += [_message(server, user.name, k, v) for k, v in user.metadata.items() if k in subs]
    return out


def after_join(server: Context, client: Client, channel: Channel, rb: ReplyBuffer) -> None:
    """A joining client with the capability gets the channel's keys it subscribed to."""
    if CAP not in client.caps or not client.meta_subs:
        return
    if len(channel.members) > SYNC_NOW:
        rb.numeric(n.ERR_METADATASYNCLATER, channel.name, "Use METADATA SYNC later")
        return
    found = _sync(server, client, channel)
    if found:
        rb.batch("metadata", (), found)


def _message(server: Context, target: str, key: str, value: str) -> Message:
    return Message(source=server.name, command="METADATA", params=(target, key, "*", value))


def _numeric(server: Context, client: Client, code: str, *params: str) -> Message:
    return Message(source=server.name, command=code, params=(client.name, *params))
