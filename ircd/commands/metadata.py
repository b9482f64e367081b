"""METADATA (IRCv3 draft/metadata-3; draft/metadata-2 for the clients that ask for it).

Users set keys on themselves, channel operators on their channels, IRC operators on
anyone. Clients subscribe to the keys they understand (`SUB`) and hear of changes to
those keys on themselves (made by others), their channels, the users sharing one and
(metadata-3) the users they MONITOR. With `before-connect` (metadata-3), a client may
set its keys and subscriptions before registering, on `*` only. The rules, bounds and
message forms are in `ircd.metadata`; this module answers the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from ircd import metadata as md
from ircd import numerics as n
from ircd.channel import Channel
from ircd.protocol import Message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ircd.client import Client
    from ircd.context import Context
    from ircd.replies import ReplyBuffer

#: Keys per 770/771/772 line: few enough for 15 parameters and 512 bytes.
_KEYS_PER_LINE: Final = 12


@dataclass(frozen=True, slots=True)
class _Request:
    server: Context
    client: Client
    rb: ReplyBuffer
    #: The client speaks draft/metadata-2 (its replies and FAIL codes).
    old: bool
    sub: str
    target: str
    args: list[str]

    def numeric(self, code: str, *params: str) -> Message:
        """A numeric built for a batch (`rb.numeric` adds at once)."""
        return Message(source=self.server.name, command=code, params=(self.client.name, *params))

    def bad_params(self, text: str) -> None:
        if self.old:
            self.rb.numeric(n.ERR_NEEDMOREPARAMS, "METADATA", text)
        else:
            self.rb.fail("METADATA", "INVALID_PARAMS", self.sub or "*", text=text)

    def batch(self, name: str, messages: list[Message]) -> None:
        # metadata-3's batch names its target (so an empty one means something).
        self.rb.batch("metadata", () if self.old else (name,), messages)


def metadata(server: Context, client: Client, msg: Message, rb: ReplyBuffer) -> None:
    """METADATA <target> GET|LIST|SET|CLEAR|SUB|UNSUB|SUBS|SYNC [<key>...] [:<value>]

    Reads and writes key/value metadata of users and channels (draft/metadata-3);
    "*" is yourself. SUB chooses the keys you hear about; SYNC *ALL sends them all.
    """
    if not client.registered and md.V3 not in client.caps:
        rb.numeric(n.ERR_NOTREGISTERED, "You have not registered")
        return
    old = md.v2(client)
    sub = msg.params[1].upper() if len(msg.params) > 1 else ""
    request = _Request(server, client, rb, old, sub, "", [])
    if len(msg.params) < 2:
        request.bad_params("Not enough parameters")
        return
    handler = _SUBCOMMANDS.get(sub)
    if handler is None:
        code = "INVALID_SUBCOMMAND" if old else "INVALID_PARAMS"
        rb.fail("METADATA", code, msg.params[1], text=f"Unknown subcommand {msg.params[1]}")
        return
    handler(_Request(server, client, rb, old, sub, msg.params[0], list(msg.params[2:])))


def _target(r: _Request) -> tuple[str, Client | Channel] | None:
    """(display name, the user or channel), or None after FAIL INVALID_TARGET."""
    server, client, raw = r.server, r.client, r.target
    owner: Client | Channel | None
    if raw == "*":
        owner = client
    elif not client.registered:
        owner = None  # before registration, only "*"
    elif raw.startswith("#"):
        owner = server.find_channel(raw)
    else:
        owner = server.find_nick(raw)
    if owner is None:
        r.rb.fail("METADATA", "INVALID_TARGET", raw, text="Invalid metadata target")
        return None
    return owner.name, owner


def _key(r: _Request, raw: str) -> str:
    return raw.lower() if r.old else raw


def _get(r: _Request) -> None:
    if not r.args:
        r.bad_params("Not enough parameters")
        return
    found = _target(r)
    if found is None:
        return
    name, owner = found
    store = owner.metadata if md.visible(r.client, owner) else {}
    out = []
    for raw in r.args:
        key = _key(r, raw)
        if not md.valid_key(key, r.old):
            if r.old:
                r.rb.fail("METADATA", "KEY_INVALID", key, name, text="Invalid key")
            else:
                out.append(md.warn(r.server, "INVALID_KEY", raw, "Invalid key"))
        elif key in store:
            out.append(r.numeric(n.RPL_KEYVALUE, name, key, "*", store[key]))
        else:
            text = "No matching key" if r.old else "Key not set"
            out.append(r.numeric(n.RPL_KEYNOTSET, name, key, text))
    r.batch(name, out)


def _list(r: _Request) -> None:
    found = _target(r)
    if found is None:
        return
    name, owner = found
    store = owner.metadata if md.visible(r.client, owner) else {}
    r.batch(name, [r.numeric(n.RPL_KEYVALUE, name, k, "*", v) for k, v in store.items()])


def _sync(r: _Request) -> None:
    if not r.client.registered:
        r.rb.numeric(n.ERR_NOTREGISTERED, "You have not registered")
        return
    subs = r.client.meta_subs
    if r.target == md.ALL and not r.old:
        r.batch(md.ALL, md.values_of_all(r.server, r.client, subs))
        return
    found = _target(r)
    if found is not None:
        r.batch(found[0], md.values_of(r.server, r.client, found[1], subs))


def _may_set(client: Client, owner: Client | Channel) -> bool:
    if client.oper is not None or owner is client:
        return True
    return isinstance(owner, Channel) and owner.is_op(client)


def _permitted(r: _Request, owner: Client | Channel, name: str, key: str) -> bool:
    if _may_set(r.client, owner):
        return True
    r.rb.fail("METADATA", "KEY_NO_PERMISSION", name, key, text="Permission denied")
    return False


def _set(r: _Request) -> None:
    if not r.args:
        r.bad_params("Not enough parameters")
        return
    found = _target(r)
    if found is None:
        return
    name, owner = found
    key = _key(r, r.args[0])
    if not _permitted(r, owner, name, key):
        return
    if not md.valid_key(key, r.old):
        code, params = ("KEY_INVALID", (key, name)) if r.old else ("INVALID_KEY", (key,))
        r.rb.fail("METADATA", code, *params, text="Invalid key")
        return
    value = r.args[1] if len(r.args) > 1 else None
    if value == "" and not r.old:
        value = None  # metadata-3: an empty value removes the key
    if _stored(r, owner, name, key, value):
        if r.old:
            rest = (value,) if value is not None else ()
            r.rb.numeric(n.RPL_KEYVALUE, name, key, "*", *rest)
        else:
            r.rb.add(md.key_value(r.server, r.client, name, key, value))


def _stored(r: _Request, owner: Client | Channel, name: str, key: str, value: str | None) -> bool:
    """Change the key (and tell its subscribers); False after a refusal."""
    store = owner.metadata
    if value is None:
        if key not in store:
            if r.old:
                r.rb.numeric(n.ERR_KEYNOTSET, name, key, "Key not set")
            return not r.old  # metadata-3: removing a missing key succeeds
        del store[key]
    elif len(value.encode()) > md.MAX_VALUE:
        code, params = ("VALUE_INVALID", (name, key)) if r.old else ("INVALID_VALUE", (key,))
        r.rb.fail("METADATA", code, *params, text=f"At most {md.MAX_VALUE} bytes")
        return False
    elif key not in store and len(store) >= md.MAX_KEYS:
        params = (name,) if r.old else (name, str(md.MAX_KEYS))
        r.rb.fail("METADATA", "LIMIT_REACHED", *params, text="Metadata limit reached")
        return False
    else:
        store[key] = value
    if r.client.registered:
        md.notify(r.server, r.client, owner, key, value)
    return True


def _clear(r: _Request) -> None:
    found = _target(r)
    if found is None:
        return
    name, owner = found
    if not _permitted(r, owner, name, "*"):
        return
    cleared = list(owner.metadata)
    owner.metadata.clear()
    for key in cleared:
        md.notify(r.server, r.client, owner, key, None)
    if r.old:
        r.batch(name, [r.numeric(n.RPL_KEYVALUE, name, key, "*") for key in cleared])
    else:
        r.batch(name, [md.key_value(r.server, r.client, name, key, None) for key in cleared])


def _own(r: _Request) -> bool:
    """SUB, UNSUB and SUBS are about the client itself: `*` or its nick (metadata-3)."""
    if r.old or r.target == "*" or r.server.fold(r.target) == r.server.fold(r.client.name):
        return True
    r.rb.fail("METADATA", "INVALID_TARGET", r.target, text="Invalid metadata target")
    return False


def _key_lines(r: _Request, code: str, keys: Iterable[str]) -> None:
    """`code` with the keys as parameters (metadata-3), or as one trailing list (-2)."""
    keys = list(keys)
    if r.old:
        r.rb.numeric_list(code, (), keys)
        return
    for i in range(0, len(keys), _KEYS_PER_LINE):
        r.rb.numeric(code, *keys[i : i + _KEYS_PER_LINE])


def _subs(r: _Request) -> None:
    if not _own(r):
        return
    keys = list(r.client.meta_subs)
    if r.old:
        r.rb.numeric_list(n.RPL_METADATASUBS, (), keys)
        return
    lines = [
        r.numeric(n.RPL_METADATASUBS, *keys[i : i + _KEYS_PER_LINE])
        for i in range(0, len(keys), _KEYS_PER_LINE)
    ]
    r.rb.batch("metadata-subs", (), lines)


def _unsub(r: _Request) -> None:
    if not r.args:
        r.bad_params("Not enough parameters")
        return
    if not _own(r):
        return
    done = []
    for raw in r.args:
        key = _key(r, raw)
        if _check_key(r, raw, key):
            r.client.meta_subs.pop(key, None)
            done.append(key)
    if done:
        _key_lines(r, n.RPL_METADATAUNSUBOK, done)


def _check_key(r: _Request, raw: str, key: str) -> bool:
    if md.valid_key(key, r.old):
        return True
    if r.old:
        r.rb.fail("METADATA", "KEY_INVALID", key, text="Invalid key")
    else:
        r.rb.add(md.warn(r.server, "INVALID_KEY", raw, "Invalid key"))
    return False


def _sub(r: _Request) -> None:
    if not r.args:
        r.bad_params("Not enough parameters")
        return
    if not _own(r):
        return
    subs = r.client.meta_subs
    done: list[str] = []
    new: list[str] = []
    for raw in r.args:
        key = _key(r, raw)
        if not _check_key(r, raw, key):
            continue
        if key not in subs and len(subs) >= md.MAX_SUBS:
            limit = () if r.old else (str(md.MAX_SUBS),)
            code = "TOO_MANY_SUBS" if r.old else "LIMIT_REACHED"
            r.rb.fail("METADATA", code, raw, *limit, text="Too many subscriptions")
            break
        if key not in subs:
            subs[key] = None
            new.append(key)
        done.append(key)
    if done:
        _key_lines(r, n.RPL_METADATASUBOK, done)
    if new and not r.old and r.client.registered:
        _sync_new(r, new)


def _sync_new(r: _Request, keys: list[str]) -> None:
    """metadata-3, after new subscriptions: their values (a batch), or 774 to SYNC later."""
    found = md.values_of_all(r.server, r.client, keys)
    if found and len(found) <= md.SYNC_NOW:
        r.batch(md.ALL, found)
    else:
        # Nothing to send, or too much for one answer: postponed (the spec's MUST is one
        # of the two), so a SUB never bursts.
        r.rb.numeric(n.RPL_METADATASYNCLATER, md.ALL, "0", "Use METADATA SYNC")


_SUBCOMMANDS: Final[MappingProxyType[str, Callable[[_Request], None]]] = MappingProxyType(
    {
        "GET": _get,
        "LIST": _list,
        "SET": _set,
        "CLEAR": _clear,
        "SUB": _sub,
        "UNSUB": _unsub,
        "SUBS": _subs,
        "SYNC": _sync,
    }
)
